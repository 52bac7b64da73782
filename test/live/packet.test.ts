// The packet driver (AF_PACKET) end to end: vnfrun in namespace V forwards
// between veths v0 and v1, hosts A (10.200.0.1) and B (10.200.0.2) talk
// through it with ping, iperf3, nc and tcpreplay. Needs root (namespaces);
// each test skips, with the reason in its name, where a tool is missing.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canUseNetns, createTopology, whyNoNetns, type Topology } from "../helpers/netns";
import { frame, writePcap } from "../helpers/pcap";
import { CLI, ROOT, countBigFrames, iperf, missing, pings, quietHosts, readPcap, sleep, start, succeeds, waitFor, type Summary } from "./fixtures/live";

const L2FWD = "vnfs/l2fwd.ts";
const FIREWALL = "vnfs/firewall.ts";
const DENY_8081 = "test/live/fixtures/deny-port.ts";
const SLOW_WIRE = "test/live/fixtures/slow-wire.ts";
const HOLD_BIG = "test/live/fixtures/hold-big.ts";
const WIRE_PLAIN = ["--port", "in=packet:v0,novnet", "--port", "out=packet:v1,novnet"];
const WIRE_VNET = ["--port", "in=packet:v0", "--port", "out=packet:v1"];   // vnet is the default

function named(title: string, why: string): string {
  return why ? `${title} (skipped: ${why})` : title;
}

/** A topology for one test, removed whatever happens. */
async function withTopology(opts: { offloads?: boolean }, body: (t: Topology) => Promise<void>): Promise<void> {
  const topo = createTopology(opts);
  try {
    quietHosts(topo);
    await body(topo);
  } finally {
    topo.destroy();
  }
}

/** Start vnfrun in V and wait until A reaches B through it. */
async function forwarding(topo: Topology, vnf: string, ports: string[], seconds: number) {
  const run = start(topo, vnf, ports, seconds);
  try {
    await waitFor("ping from A to B through vnfrun", 15_000, () => pings(topo.a, topo.bIp), run);
  } catch (e) {
    run.kill();
    throw e;
  }
  return run;
}

function noDrops(s: Summary): void {
  for (const p of Object.values(s.ports)) {
    expect(p.rx_malformed, `${p.name} rx_malformed: ${p.driver}`).toBe(0);
    expect(p.tx_errors, `${p.name} tx_errors: ${p.driver}`).toBe(0);
    expect(p.tx_ring_full, `${p.name} tx_ring_full`).toBe(0);
  }
}

function promiscuity(topo: Topology, dev: string): number {
  const m = /promiscuity (\d+)/.exec(topo.exec(topo.v, ["ip", "-d", "link", "show", dev]));
  return m ? Number(m[1]) : -1;
}

describe("packet driver: AF_PACKET between namespaces", () => {
  const base = missing(canUseNetns, whyNoNetns, ["ping"]);
  const withIperf = missing(canUseNetns, whyNoNetns, ["ping", "iperf3", "ethtool"]);

  it.skipIf(!!base)(named("carries ping both ways through l2fwd, promiscuous only while it runs", base), async () => {
    await withTopology({}, async (topo) => {
      const run = await forwarding(topo, L2FWD, WIRE_VNET, 4);
      try {
        expect(promiscuity(topo, "v0")).toBe(1);
        const out = topo.exec(topo.a, ["ping", "-c", "5", "-i", "0.2", "-W", "1", topo.bIp]);
        expect(out).toMatch(/5 received/);
        const s = await run.done;
        expect(s.ports.in.driver).toMatch(/^packet v0 \(AF_PACKET TPACKET_V2.*qdisc bypass, promiscuous/);
        expect(s.ports.in.rx_packets).toBeGreaterThanOrEqual(6); // echo requests (+ ARP)
        expect(s.ports.out.rx_packets).toBeGreaterThanOrEqual(6); // replies
        expect(s.ports.in.tx_packets).toBe(s.ports.out.rx_packets);
        expect(s.ports.out.tx_packets).toBe(s.ports.in.rx_packets);
        noDrops(s);
        expect(promiscuity(topo, "v0")).toBe(0); // the membership went with the socket
      } finally {
        run.kill();
      }
    });
  });

  it.skipIf(!!withIperf)(named("novnet: carries iperf3 TCP and UDP through l2fwd (offloads off, checksums finished here)", withIperf), async () => {
    // GRO/TSO off: no super-frames. Transmit checksum offload stays on, so
    // veth hands frames over with the checksum undone (TP_STATUS_CSUMNOTREADY)
    // and the driver must finish it or B drops every segment.
    await withTopology({ offloads: false }, async (topo) => {
      const run = await forwarding(topo, L2FWD, WIRE_PLAIN, 10);
      try {
        const tcp = await iperf(topo, topo.bIp, []);
        expect(tcp.bitsPerSecond).toBeGreaterThan(20e6);
        const udp = await iperf(topo, topo.bIp, ["-u", "-b", "50M", "-l", "1400"]);
        expect(udp.bitsPerSecond).toBeGreaterThan(5e6);
        expect(udp.lostPercent!).toBeLessThan(20);
        const s = await run.done;
        noDrops(s);
        expect(s.ports.in.rx_bytes).toBeGreaterThan(5e6);
      } finally {
        run.kill();
      }
    });
  }, 90_000);

  const withCapture = missing(canUseNetns, whyNoNetns, ["ping", "iperf3", "tshark"]);
  it.skipIf(!!withCapture)(named("vnet: TSO super-frames cross the engine whole (iperf3 TCP, offloads on)", withCapture), async () => {
    await withTopology({}, async (topo) => {
      const run = await forwarding(topo, L2FWD, WIRE_VNET, 8);
      try {
        const big = countBigFrames(topo, topo.b, "b0", 3000, 4);
        await big.ready;
        const tcp = await iperf(topo, topo.bIp, []);
        expect(tcp.bitsPerSecond).toBeGreaterThan(20e6);
        expect(await big).toBeGreaterThan(0); // super-frames reached B whole
        const s = await run.done;
        expect(s.ports.in.driver).toMatch(/vnet header.*received without a copy/);
        // The VNF saw them whole too: split, they would average under 1514 bytes.
        expect(s.ports.in.rx_bytes / s.ports.in.rx_packets).toBeGreaterThan(4000);
        noDrops(s);
      } finally {
        run.kill();
      }
    });
  }, 90_000);

  const withNcSum = missing(canUseNetns, whyNoNetns, ["ping", "nc", "sha256sum"]);
  it.skipIf(!!withNcSum)(named("vnet: a 48 MiB stream crosses byte for byte while super-frames are lent from the rx ring, and held 2 ms a batch", withNcSum), async () => {
    const dir = mkdtempSync(join(tmpdir(), "vnfrun-stream-"));
    try {
      const file = join(dir, "data");
      spawnSync("head", ["-c", String(48 << 20), "/dev/urandom"], { stdio: ["ignore", openSync(file, "w"), "ignore"] });
      const want = spawnSync("sha256sum", [file], { encoding: "utf8" }).stdout.split(" ")[0];
      await withTopology({}, async (topo) => {
        const run = await forwarding(topo, SLOW_WIRE, WIRE_VNET, 20);
        const sink = topo.spawn(topo.b, ["sh", "-c", `timeout 70 nc -l ${topo.bIp} 9000 | sha256sum`]);
        let got = "";
        sink.stdout!.on("data", (d) => (got += d));
        try {
          await waitFor("the listener in B", 5000, () => succeeds(topo.b, ["sh", "-c", "ss -ltn | grep -q ':9000 '"]));
          topo.exec(topo.a, ["sh", "-c", `nc -N ${topo.bIp} 9000 < ${file}`], { timeoutMs: 60_000 });
          await waitFor("the checksum in B", 10_000, () => got.length >= 64);
          expect(got.split(" ")[0]).toBe(want);
          const s = await run.done;
          expect(s.ports.in.driver).toMatch(/received without a copy/);
          expect(s.ports.in.rx_bytes / s.ports.in.rx_packets).toBeGreaterThan(4000);  // it came as super-frames
          noDrops(s);
        } finally {
          run.kill();
          sink.kill("SIGKILL");
        }
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);

  const withPython = missing(canUseNetns, whyNoNetns, ["python3"]);
  it.skipIf(!!withPython)(named("vnet: a lent ring frame stays the engine's while the kernel fills the ring around it", withPython), async () => {
    // One GSO super-frame with a known payload, held by the VNF for 1.5 s,
    // then 2000 small frames from a sender nothing slows: the kernel goes
    // round the ring and must skip the lent frame (dropping instead), not
    // write over it before it leaves. --backlog 0: no stand-in takes the
    // small frames off the ring while the VNF holds the big one.
    const dir = mkdtempSync(join(tmpdir(), "vnfrun-lend-"));
    try {
      const out = join(dir, "out.pcap");
      await withTopology({}, async (topo) => {
        const run = start(topo, HOLD_BIG, ["--backlog", "0", "--port", "in=packet:v0,vnet", "--port", `out=pcap:${out}`], 5);
        try {
          await waitFor("the packet socket on v0", 10_000, () => promiscuity(topo, "v0") === 1, run);
          await sleep(1000); // the cores start after the ports open
          topo.exec(topo.a, ["python3", join(ROOT, "test", "live", "fixtures", "inject_gso.py"), "a0", "30000", "2000"], { timeoutMs: 20_000 });
          const s = await run.done;
          expect(s.ports.in.driver).toMatch(/received without a copy/);
          expect(s.ports.in.rx_ring_full, "the ring filled while the frame was lent").toBeGreaterThan(0);
          const big = readPcap(out).filter((f) => f.length > 10000);
          expect(big.length).toBe(1);
          const want = Buffer.from(Array.from({ length: 30000 }, (_, i) => (i * 7 + 3) % 251));
          expect(big[0].length).toBe(54 + 30000);
          expect(big[0].subarray(54).equals(want), "the super-frame's payload, byte for byte").toBe(true);
        } finally {
          run.kill();
        }
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  // With --large-buffers 0 the super-frames are all lent from the ring: the
  // engine must still know to cut them.
  it.skipIf(!!withIperf)(named("vnet in, plain out: the engine cuts super-frames into wire-size frames for the port that cannot take them (also with --large-buffers 0)", withIperf), async () => {
    for (const extra of [[], ["--large-buffers", "0"]]) {
      await withTopology({}, async (topo) => {
        const run = await forwarding(topo, L2FWD, [...extra, "--port", "in=packet:v0", "--port", "out=packet:v1,novnet"], 8);
        try {
          const tcp = await iperf(topo, topo.bIp, []);
          expect(tcp.bitsPerSecond).toBeGreaterThan(20e6);
          const s = await run.done;
          noDrops(s);
          expect(s.ports.in.rx_bytes / s.ports.in.rx_packets).toBeGreaterThan(4000);  // whole on the way in
          expect(s.ports.out.tx_packets).toBeGreaterThan(3 * s.ports.in.rx_packets);    // cut on the way out
          expect(s.ports.out.tx_no_buffer).toBe(0);
        } finally {
          run.kill();
        }
      });
    }
  }, 150_000);

  it.skipIf(!!withIperf)(named("vnet out on a device with TSO off: the engine cuts super-frames (a qdisc-bypass socket would have them dropped)", withIperf), async () => {
    await withTopology({}, async (topo) => {
      topo.exec(topo.v, ["ethtool", "-K", "v1", "tso", "off"]);
      const run = await forwarding(topo, L2FWD, WIRE_VNET, 8);
      try {
        const tcp = await iperf(topo, topo.bIp, []);
        expect(tcp.bitsPerSecond, "iperf3 TCP through a TSO-less output (it was 0.5 Mbit/s when super-frames left whole)").toBeGreaterThan(100e6);
        const s = await run.done;
        noDrops(s);
        expect(s.ports.out.driver).toMatch(/cut on transmit: v1 has TSO off/);
        expect(s.ports.in.rx_bytes / s.ports.in.rx_packets).toBeGreaterThan(4000);  // whole on the way in
        expect(s.ports.out.tx_packets).toBeGreaterThan(3 * s.ports.in.rx_packets);    // cut on the way out
      } finally {
        run.kill();
      }
    });
  }, 60_000);

  it.skipIf(!!withIperf)(named("novnet: a super-frame is counted under rx_oversize, and one line on stderr says to remove novnet", withIperf), async () => {
    await withTopology({}, async (topo) => {
      const run = await forwarding(topo, L2FWD, WIRE_PLAIN, 5);
      try {
        await iperf(topo, topo.bIp, [], 1).catch(() => undefined); // stalls: that is the point
        const s = await run.done;
        expect(s.ports.in.rx_oversize).toBeGreaterThan(0);
        expect(s.ports.in.driver).toMatch(/GSO super-frame\? use vnet, or turn GRO\/TSO off/);
        const lines = run.stderr().split("\n").filter((l) => l.includes("rx_oversize"));
        expect(lines.length, run.stderr()).toBeGreaterThanOrEqual(1);
        expect(lines.filter((l) => l.includes("port in ")).length, "once per cause and port").toBe(1);
        expect(lines[0]).toMatch(/^warning: port (in|out) \(packet:v[01],novnet\): frames longer than the largest buffer were dropped \(rx_oversize \d+\); fix: .*remove "novnet"/);
        expect(s.warnings).toEqual(expect.arrayContaining(lines));
      } finally {
        run.kill();
      }
    });
  }, 90_000);

  it.skipIf(!!withIperf)(named("carries iperf3 TCP and UDP through the firewall", withIperf), async () => {
    await withTopology({}, async (topo) => {
      const run = await forwarding(topo, FIREWALL, WIRE_VNET, 8);
      try {
        const tcp = await iperf(topo, topo.bIp, []);
        expect(tcp.bitsPerSecond).toBeGreaterThan(20e6);
        const udp = await iperf(topo, topo.bIp, ["-u", "-b", "50M", "-l", "1400"]);
        expect(udp.lostPercent!).toBeLessThan(20);
        noDrops(await run.done);
      } finally {
        run.kill();
      }
    });
  }, 90_000);

  const withNc = missing(canUseNetns, whyNoNetns, ["ping", "nc"]);
  it.skipIf(!!withNc)(named("a firewall rule closes one TCP port: 8081 unreachable, 8080 open", withNc), async () => {
    await withTopology({}, async (topo) => {
      const listeners = [8080, 8081].map((p) => topo.spawn(topo.b, ["nc", "-lk", topo.bIp, String(p)]));
      const run = await forwarding(topo, DENY_8081, WIRE_VNET, 8);
      try {
        await waitFor("the listeners in B", 5000, () => succeeds(topo.b, ["sh", "-c", "ss -ltn | grep -q ':8081 '"]));
        expect(succeeds(topo.a, ["nc", "-z", "-w", "3", topo.bIp, "8080"], 10_000)).toBe(true);
        expect(succeeds(topo.a, ["nc", "-z", "-w", "2", topo.bIp, "8081"], 10_000)).toBe(false);
        const s = await run.done;
        expect(s.drops.vnf_drops).toBeGreaterThan(0); // the SYNs to 8081
      } finally {
        run.kill();
        for (const l of listeners) l.kill("SIGKILL");
      }
    });
  }, 90_000);

  const withReplay = missing(canUseNetns, whyNoNetns, ["tcpreplay", "tshark"]);
  describe("tcpreplay into v0, the VNF's output into a pcap", () => {
    let dir = "";
    beforeAll(() => { dir = mkdtempSync(join(tmpdir(), "vnfrun-packet-")); });
    afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

    it.skipIf(!!withReplay)(named("every replayed frame comes out byte for byte, in order", withReplay), async () => {
      const input = join(dir, "in.pcap"), output = join(dir, "out.pcap");
      // Frames of three sizes from the generator (UDP and TCP, IPv4 and IPv6).
      const gen = spawnSync(process.execPath, [CLI, join(ROOT, L2FWD), "--port", "in=gen:count=300,size=64/594/1518,flows=50,ipv6=0.5,tcp=0.5",
        "--port", `out=pcap:${input}`, "--json"], { encoding: "utf8", timeout: 30_000 });
      expect(gen.status, gen.stderr).toBe(0);
      const sent = readPcap(input);
      expect(sent.length).toBe(300);

      await withTopology({}, async (topo) => {
        const run = start(topo, L2FWD, ["--port", "in=packet:v0", "--port", `out=pcap:${output}`], 5);
        try {
          await waitFor("the packet socket on v0", 10_000, () => promiscuity(topo, "v0") === 1, run);
          await sleep(1000); // the cores start after the ports open
          topo.exec(topo.a, ["tcpreplay", "-q", "--pps=5000", "-i", "a0", input], { timeoutMs: 20_000 });
          const s = await run.done;
          expect(s.ports.in.rx_packets).toBeGreaterThanOrEqual(300);
          expect(s.ports.out.tx_packets).toBe(s.ports.in.rx_packets);
        } finally {
          run.kill();
        }
      });

      // Anything A's own stack sent (it should send nothing) is left out by source address.
      const fromGen = (f: Buffer) =>
        (f.readUInt16BE(12) === 0x0800 && f[26] === 198 && (f[27] & 0xfe) === 18) ||
        (f.readUInt16BE(12) === 0x86dd && f.readUInt32BE(22) === 0x20010002);
      const got = readPcap(output).filter(fromGen);
      expect(got.length).toBe(300);
      for (let i = 0; i < sent.length; i++) expect(got[i].equals(sent[i]), `frame ${i}`).toBe(true);
      // An independent reader agrees.
      const t = spawnSync("tshark", ["-r", output, "-Y", "ip.src == 198.18.0.0/15 || ipv6.src == 2001:2::/48", "-T", "fields", "-e", "frame.len"], { encoding: "utf8" });
      const lens = t.stdout.trim().split("\n").map(Number);
      expect(lens).toEqual(sent.map((f) => f.length));
    }, 90_000);
  });

  it.skipIf(!!base)(named("a frame longer than the output's MTU counts under tx_oversize, and one line on stderr says how to fix it", base), async () => {
    const dir = mkdtempSync(join(tmpdir(), "vnfrun-mtu-"));
    try {
      const input = join(dir, "in.pcap");
      const f = { src: [10, 0, 0, 1], dst: [10, 0, 0, 2], sport: 1, dport: 2, proto: 17 as const };
      writePcap(input, [frame(f, 0, 100), frame(f, 1, 9000), frame(f, 2, 100), frame(f, 3, 9000)]);
      await withTopology({}, async (topo) => {
        const run = start(topo, L2FWD, ["--port", `in=pcap:${input}`, "--port", "out=packet:v1"], 2);
        const s = await run.done;
        expect(s.ports.out).toMatchObject({ tx_packets: 2, tx_oversize: 2, tx_errors: 0 });
        const lines = run.stderr().trim().split("\n");
        expect(lines).toEqual([expect.stringMatching(/^warning: port out \(packet:v1\): frames longer than the port sends were dropped \(tx_oversize [12]\); fix: raise the MTU of v1 \(ip link set v1 mtu N\)/)]);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it.skipIf(!!base)(named("says what to fix: missing interface, interface down, MTU too large", base), () => {
    const topo = createTopology();
    try {
      const cli = (port: string) => {
        const r = spawnSync("ip", ["netns", "exec", topo.v, process.execPath, CLI, join(ROOT, L2FWD), "--port", port, "--port", "sink"], { encoding: "utf8", timeout: 30_000 });
        expect(r.status).not.toBe(0);
        return r.stderr.trim();
      };
      expect(cli("packet:eth9")).toBe("vnfrun: port in (packet:eth9): no interface eth9 in this network namespace (ip link show lists them)");
      topo.exec(topo.v, ["ip", "link", "set", "v1", "down"]);
      expect(cli("packet:v1")).toBe("vnfrun: port in (packet:v1): v1 is down: ip link set dev v1 up");
      topo.exec(topo.v, ["ip", "link", "set", "v1", "mtu", "9000", "up"]);
      expect(cli("packet:v1")).toBe("vnfrun: port in (packet:v1): the MTU of v1 (9000) is larger than a buffer holds (1984-byte frames): ip link set dev v1 mtu 1500");
      expect(cli("packet:lo")).toMatch(/^vnfrun: port in \(packet:lo\): lo is not an Ethernet interface/);
      const nobody = spawnSync("ip", ["netns", "exec", topo.v, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
        process.execPath, CLI, join(ROOT, L2FWD), "--port", "packet:v0", "--port", "sink"], { encoding: "utf8", timeout: 30_000 });
      if (nobody.error === undefined && !/setpriv: /.test(nobody.stderr)) expect(nobody.stderr).toMatch(/needs CAP_NET_RAW/);
    } finally {
      topo.destroy();
    }
  }, 60_000);
});
