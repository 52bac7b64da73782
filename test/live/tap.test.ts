// The tap driver end to end. vnfrun runs in namespace V and creates two TAP
// devices; the test then moves each device into a host namespace (the TAP
// descriptor stays with vnfrun in V and keeps working), so the only path
// between host A (tA, 10.201.0.1) and host B (tB, 10.201.0.2) is through
// vnfrun. Needs root; tests skip, with the reason in their name, where a tool
// is missing.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { canUseNetns, createTopology, whyNoNetns, type Topology } from "../helpers/netns";
import { CLI, ROOT, countBigFrames, hasTool, iperf, missing, pings, quietHosts, start, succeeds, waitFor, sleep, type Running, type Summary } from "./fixtures/live";

const L2FWD = "vnfs/l2fwd.ts";
const A_IP = "10.201.0.1", B_IP = "10.201.0.2";

function named(title: string, why: string): string {
  return why ? `${title} (skipped: ${why})` : title;
}

const exists = (topo: Topology, ns: string, dev: string) => succeeds(ns, ["ip", "link", "show", dev]);

/** Wait for vnfrun's devices in V, then move each into its host and address it. */
async function plugIn(topo: Topology, run: Running, moves: [dev: string, ns: string, ip: string][]): Promise<void> {
  await waitFor("vnfrun's TAP devices", 15_000, () => moves.every(([dev]) => exists(topo, topo.v, dev)), run);
  for (const [dev, ns, ip] of moves) {
    topo.exec(topo.v, ["ip", "link", "set", dev, "netns", ns]);
    topo.exec(ns, ["ip", "addr", "add", `${ip}/24`, "dev", dev]);
    topo.exec(ns, ["ip", "link", "set", dev, "up"]);
  }
}

async function tapPair(topo: Topology, opts: string, seconds: number, extra: string[] = []): Promise<Running> {
  const run = start(topo, L2FWD, [...extra, "--port", `in=tap:tA${opts}`, "--port", `out=tap:tB${opts}`], seconds);
  try {
    await plugIn(topo, run, [["tA", topo.a, A_IP], ["tB", topo.b, B_IP]]);
    await waitFor("ping from A to B through vnfrun", 10_000, () => pings(topo.a, B_IP), run);
  } catch (e) {
    run.kill();
    throw e;
  }
  return run;
}

async function withTopology(body: (t: Topology) => Promise<void>): Promise<void> {
  const topo = createTopology();
  try {
    quietHosts(topo);
    await body(topo);
  } finally {
    topo.destroy();
  }
}

function clean(s: Summary): void {
  for (const p of Object.values(s.ports)) {
    expect(p.rx_malformed, `${p.name} rx_malformed: ${p.driver}`).toBe(0);
    expect(p.tx_errors, `${p.name} tx_errors: ${p.driver}`).toBe(0);
  }
}

describe("tap driver: TAP devices moved into host namespaces", () => {
  const base = missing(canUseNetns, whyNoNetns, ["ping"]);
  const withIperf = missing(canUseNetns, whyNoNetns, ["ping", "iperf3"]);

  it.skipIf(!!base)(named("carries ping through l2fwd and removes the devices it made", base), async () => {
    await withTopology(async (topo) => {
      const run = await tapPair(topo, "", 4);
      try {
        expect(topo.exec(topo.a, ["ping", "-c", "5", "-i", "0.2", "-W", "1", B_IP])).toMatch(/5 received/);
        const s = await run.done;
        expect(s.ports.in.driver).toMatch(/^tap tA \(created, removed at exit[,;].* one read\(\)\/write\(\) per frame/);
        expect(s.ports.in.rx_packets).toBeGreaterThanOrEqual(6);
        expect(s.ports.out.tx_packets).toBe(s.ports.in.rx_packets);
        expect(s.ports.in.tx_packets).toBe(s.ports.out.rx_packets);
        clean(s);
        expect(exists(topo, topo.a, "tA")).toBe(false);
        expect(exists(topo, topo.b, "tB")).toBe(false);
      } finally {
        run.kill();
      }
    });
  });

  for (const [opts, what] of [[",novnet", "novnet: plain frames"], ["", "the default, vnet header: checksum offload, TSO split and rebuilt"]]) {
    const capture = opts === "" && hasTool("tshark");
    it.skipIf(!!withIperf)(named(`carries iperf3 TCP and UDP (${what})`, withIperf), async () => {
      await withTopology(async (topo) => {
        const run = await tapPair(topo, opts, 10);
        try {
          // With vnet, TSO super-frames are split here and rebuilt on the
          // way out, so B's device sees frames no 1500-byte wire carries.
          const big = capture ? countBigFrames(topo, topo.b, "tB", 3000, 4) : undefined;
          await big?.ready;
          const tcp = await iperf(topo, B_IP, []);
          expect(tcp.bitsPerSecond).toBeGreaterThan(20e6);
          if (big) expect(await big).toBeGreaterThan(0);
          const udp = await iperf(topo, B_IP, ["-u", "-b", "50M", "-l", "1400"]);
          expect(udp.lostPercent!).toBeLessThan(20);
          const s = await run.done;
          if (!opts) expect(s.ports.in.driver).toMatch(/vnet header/);
          clean(s);
        } finally {
          run.kill();
        }
      });
    }, 90_000);
  }

  it.skipIf(!!withIperf)(named("vnet: super-frames cross whole in large buffers; with --large-buffers 0 they are split on receive and still arrive", withIperf), async () => {
    for (const [extra, whole] of [[[], true], [["--large-buffers", "0"], false]] as const) {
      await withTopology(async (topo) => {
        const run = await tapPair(topo, ",vnet", 5, [...extra]);
        try {
          const tcp = await iperf(topo, B_IP, []);
          expect(tcp.bitsPerSecond).toBeGreaterThan(20e6);
          const s = await run.done;
          const perFrame = s.ports.in.rx_bytes / s.ports.in.rx_packets;
          if (whole) expect(perFrame, "bytes per received frame").toBeGreaterThan(4000);
          else expect(perFrame, "bytes per received frame").toBeLessThan(1600);
          clean(s);
        } finally {
          run.kill();
        }
      });
    }
  }, 120_000);

  it.skipIf(!!withIperf)(named("carries iperf3 TCP over two queues (--cores 2 --dist hw: IFF_MULTI_QUEUE)", withIperf), async () => {
    await withTopology(async (topo) => {
      const run = await tapPair(topo, ",vnet", 6, ["--cores", "2", "--dist", "hw"]);
      try {
        const tcp = await iperf(topo, B_IP, ["-P", "4"]);
        expect(tcp.bitsPerSecond).toBeGreaterThan(20e6);
        const s = await run.done;
        expect(s.ports.in.driver).toMatch(/queue 0\/2/);
        clean(s);
      } finally {
        run.kill();
      }
    });
  }, 90_000);

  it.skipIf(!!withIperf)(named("packet (vnet) in, tap (vnet) out: TSO traffic from a veth reaches a TAP host", withIperf), async () => {
    await withTopology(async (topo) => {
      // A keeps its veth a0 (TSO on); B is reached through tB instead of b0.
      topo.exec(topo.b, ["ip", "addr", "flush", "dev", "b0"]);
      const run = start(topo, L2FWD, ["--port", "in=packet:v0,vnet", "--port", "out=tap:tB,vnet"], 6);
      try {
        await plugIn(topo, run, [["tB", topo.b, topo.bIp]]);
        await waitFor("ping from A to B through vnfrun", 10_000, () => pings(topo.a, topo.bIp), run);
        const tcp = await iperf(topo, topo.bIp, []);
        expect(tcp.bitsPerSecond).toBeGreaterThan(20e6);
        clean(await run.done);
      } finally {
        run.kill();
      }
    });
  }, 90_000);

  it.skipIf(!!base)(named("leaves a device it found as it was; refuses one that is not a TAP", base), async () => {
    await withTopology(async (topo) => {
      topo.exec(topo.v, ["ip", "tuntap", "add", "mode", "tap", "tP"]);
      const run = start(topo, L2FWD, ["--port", "in=tap:tP", "--port", "sink"], 2);
      try {
        await waitFor("tP up", 10_000, () => /state (UP|UNKNOWN)|<[^>]*\bUP\b/.test(topo.exec(topo.v, ["ip", "link", "show", "tP"])), run);
        const s = await run.done;
        expect(s.ports.in.driver).toMatch(/^tap tP \(existing device/);
      } finally {
        run.kill();
      }
      const after = topo.exec(topo.v, ["ip", "link", "show", "tP"]);
      expect(after).not.toMatch(/<[^>]*\bUP\b/); // down again, and still there

      const r = spawnSync("ip", ["netns", "exec", topo.v, process.execPath, CLI, join(ROOT, L2FWD), "--port", "tap:v0", "--port", "sink"], { encoding: "utf8", timeout: 30_000 });
      expect(r.status).not.toBe(0);
      expect(r.stderr.trim()).toBe("vnfrun: port in (tap:v0): v0 exists and is not a TAP device (it is a veth device): pick another name");
    });
  }, 60_000);
});
