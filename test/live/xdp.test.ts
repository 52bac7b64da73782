// The xdp driver end to end, with real tools across network namespaces:
//
//   [A: a0 10.200.0.1] --veth-- [V: v0 | vnfrun on AF_XDP | v1] --veth-- [B: b0 10.200.0.2]
//
// vnfrun runs inside V with --port in=xdp:v0 --port out=xdp:v1; A and B
// talk through it (ping, iperf3, nc). Needs root, iproute2, ping, iperf3, nc
// (netcat-openbsd) and ethtool, and a kernel with AF_XDP; skipped with the
// reason in the suite's name otherwise.
//
// A and B send with checksum offload off, so the counts below are of frames
// as sent; with it on (the default), a local sender leaves TCP and UDP
// checksums unfinished and the driver finishes them on receive: that set-up
// is tested in defaults.test.ts.
import { spawnSync, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canUseNetns, createTopology, whyNoNetns, type Topology } from "../helpers/netns";
import { hasTool, installHint, ROOT } from "../helpers/tools";

const CLI = join(ROOT, "bin", "vnfrun.js");
const L2FWD = join(ROOT, "vnfs", "l2fwd.ts");
const FIREWALL = join(__dirname, "fixtures", "xdp-firewall.ts");

const TOOLS = ["ping", "iperf3", "nc", "ethtool"];
const missing = TOOLS.filter((t) => !hasTool(t));
const APT: Record<string, string> = { ping: "iputils-ping", nc: "netcat-openbsd" };
const why = !canUseNetns ? whyNoNetns : installHint(missing.map((t) => APT[t] ?? t));

interface PortSummary { name: string; driver: string; [counter: string]: number | string }
interface Summary { drops: Record<string, number>; ports: PortSummary[] }
interface Run { summary: Summary; stderr: string; port: Record<string, PortSummary> }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!!why)(`xdp driver across namespaces${why ? ` (skipped: ${why})` : ""}`, () => {
  let topo: Topology;
  let noXdp = "";   // set when this kernel cannot run AF_XDP at all

  // What `ip -s` says a link has sent and received.
  function linkStats(ns: string, dev: string): { rx: number; tx: number } {
    const j = JSON.parse(topo.exec(ns, ["ip", "-j", "-s", "link", "show", dev]))[0];
    return { rx: j.stats64.rx.packets, tx: j.stats64.tx.packets };
  }

  function xdpOn(dev: string): boolean {
    return /prog\/xdp/.test(topo.exec(topo.v, ["ip", "link", "show", dev]));
  }

  // Starts vnfrun in V, waits until both ports carry the program, runs
  // `body`, then stops vnfrun with SIGINT and returns its summary.
  // --duration only caps a run that would otherwise hang.
  async function withVnf(vnf: string, ports: string[], body: (child: ChildProcess) => Promise<void>,
    opts: { args?: string[]; devs?: string[] } = {}): Promise<Run> {
    const devs = opts.devs ?? ["v0", "v1"];
    const child = topo.spawn(topo.v, [process.execPath, CLI, vnf, ...ports.flatMap((p) => ["--port", p]), ...(opts.args ?? []),
      "--duration", "90", "--json"]);
    let stdout = "", stderr = "";
    child.stdout!.on("data", (d) => (stdout += d));
    child.stderr!.on("data", (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    let done = false;
    exited.then(() => (done = true));
    try {
      for (let i = 0; !devs.every(xdpOn); i++) {
        if (done || i > 150) throw new Error(`vnfrun did not come up: ${stderr.trim() || "(no output)"}`);
        await sleep(100);
      }
      await sleep(300);   // the sockets join the XSKMAP just after the program is attached
      await body(child);
    } finally {
      if (!done) child.kill("SIGINT");
    }
    const code = await exited;
    if (code !== 0) throw new Error(`vnfrun exited ${code}: ${stderr.trim()}`);
    const summary = JSON.parse(stdout) as Summary;
    return { summary, stderr, port: Object.fromEntries(summary.ports.map((p) => [p.name, p])) };
  }

  function ping(count: number): string {
    return topo.exec(topo.a, ["ping", "-c", String(count), "-i", "0.2", "-W", "2", topo.bIp], { timeoutMs: 20_000 });
  }

  // A server in B for one iperf3 test, and the client's JSON report.
  async function iperf(args: string[], host = topo.bIp): Promise<any> {
    const server = topo.spawn(topo.b, ["iperf3", "-s", "-1", "-B", host]);
    try {
      for (let i = 0; i < 50; i++) {
        if (/:5201\b/.test(topo.exec(topo.b, ["ss", "-ltn"]))) break;
        await sleep(100);
      }
      return JSON.parse(topo.exec(topo.a, ["iperf3", "-c", host, "-J", ...args], { timeoutMs: 30_000 }));
    } finally {
      server.kill();
    }
  }

  beforeAll(() => {
    topo = createTopology();
    for (const [ns, dev] of [[topo.a, "a0"], [topo.b, "b0"]]) topo.exec(ns, ["ethtool", "-K", dev, "tx", "off"]);
    // Quiet namespaces: no IPv6 autoconfiguration chatter (V's own stack
    // would send it out of v0 and v1), so every frame on the links during a
    // run is one the test made.
    for (const ns of [topo.a, topo.b, topo.v]) topo.exec(ns, ["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
    const probe = spawnSync("ip", ["netns", "exec", topo.v, process.execPath, CLI, L2FWD,
      "--port", "in=xdp:v0", "--port", "out=sink", "--duration", "0.1"], { encoding: "utf8", timeout: 60_000 });
    if (probe.status !== 0 && /AF_XDP sockets|XSKMAP/.test(probe.stderr)) noXdp = probe.stderr.trim();
  });

  afterAll(() => topo?.destroy());

  const live = (name: string, fn: () => Promise<void>, timeout = 60_000) =>
    it(name, async (ctx) => {
      if (noXdp) ctx.skip();
      await fn();
    }, timeout);

  for (const mode of ["native", "generic"]) {
    live(`ping A -> B through l2fwd on xdp, ${mode} mode; the program is gone after exit`, async () => {
      let out = "";
      const run = await withVnf(L2FWD, [`in=xdp:v0,mode=${mode}`, `out=xdp:v1,mode=${mode}`], async () => {
        out = ping(5);
      });
      expect(out).toMatch(/5 packets transmitted, 5 received/);
      expect(run.port.in.driver).toMatch(new RegExp(`^xdp v0 queue 0: ${mode} XDP, (copy|zerocopy) bind`));
      expect(run.port.out.driver).toMatch(new RegExp(`^xdp v1 queue 0: ${mode} XDP`));
      // 5 echo requests one way, 5 replies back, plus ARP.
      expect(run.port.in.rx_packets).toBeGreaterThanOrEqual(5);
      expect(run.port.out.rx_packets).toBeGreaterThanOrEqual(5);
      expect(Object.values(run.summary.drops).every((n) => n === 0)).toBe(true);
      expect(xdpOn("v0")).toBe(false);
      expect(xdpOn("v1")).toBe(false);
    });
  }

  live("iperf3 TCP and UDP through l2fwd; the summary matches the links' own counters", async () => {
    let a0: { rx: number; tx: number }, b0: { rx: number; tx: number };
    let tcp: any, udp: any;
    const before = { a0: linkStats(topo.a, "a0"), b0: linkStats(topo.b, "b0") };
    const run = await withVnf(L2FWD, ["in=xdp:v0", "out=xdp:v1"], async () => {
      tcp = await iperf(["-t", "2"]);
      udp = await iperf(["-u", "-b", "100M", "-l", "1200", "-k", "5000"]);
      await sleep(200);
    });
    a0 = linkStats(topo.a, "a0");
    b0 = linkStats(topo.b, "b0");
    expect(tcp.end.sum_received.bits_per_second).toBeGreaterThan(10e6);
    expect(udp.end.sum.packets).toBe(5000);
    const { in: pin, out: pout } = run.port;
    // Every frame a0 sent reached vnfrun on v0 and left by v1 to b0, and back,
    // but for those the kernel dropped at the socket: TCP at full rate on a
    // loaded machine can outrun the forwarder for a moment (a full rx ring,
    // or an empty fill ring); those are counted and retransmitted. Nothing
    // else drops.
    const { rx_ring_full: ringFull, rx_no_buffer: noBuffer, ...others } = run.summary.drops;
    expect(Object.values(others).every((n) => n === 0), JSON.stringify(run.summary.drops)).toBe(true);
    const lost = (p: typeof pin) => (p.rx_ring_full as number) + (p.rx_no_buffer as number);
    expect((pin.rx_packets as number) + lost(pin)).toBe(a0.tx - before.a0.tx);
    expect(pout.tx_packets).toBe(pin.rx_packets);
    expect(b0.rx - before.b0.rx).toBe(pout.tx_packets);
    expect((pout.rx_packets as number) + lost(pout)).toBe(b0.tx - before.b0.tx);
    expect(ringFull + noBuffer).toBe(lost(pin) + lost(pout));
    expect(pin.tx_packets).toBe(pout.rx_packets);
    expect(a0.rx - before.a0.rx).toBe(pin.tx_packets);
    expect(pin.rx_packets as number).toBeGreaterThan(5000);
    // What iperf3 still loses is B's socket buffer (UdpRcvbufErrors): b0 got every frame.
    expect(udp.end.sum.lost_packets).toBeLessThan(1000);
  });

  live("firewall on xdp: TCP to the denied port fails, another port and iperf3 get through", async () => {
    const listen = (port: number) => topo.spawn(topo.b, ["nc", "-l", topo.bIp, String(port)]);
    const open = listen(5556), closed = listen(5555);
    let got = "";
    open.stdout!.on("data", (d) => (got += d));
    let tcp: any, udp: any, blocked = -1, allowed = -1;
    try {
      await sleep(200);
      await withVnf(FIREWALL, ["in=xdp:v0", "out=xdp:v1"], async () => {
        const nc = (port: number, input?: string) =>
          spawnSync("ip", ["netns", "exec", topo.a, "nc", "-N", "-w", "2", topo.bIp, String(port)],
            { input: input ?? "", encoding: "utf8", timeout: 10_000 }).status ?? -1;
        blocked = nc(5555, "");
        allowed = nc(5556, "through the firewall\n");
        tcp = await iperf(["-t", "2"]);
        udp = await iperf(["-u", "-b", "50M", "-k", "2000"]);
      });
    } finally {
      open.kill();
      closed.kill();
    }
    expect(blocked).not.toBe(0);
    expect(allowed).toBe(0);
    expect(got).toBe("through the firewall\n");
    expect(tcp.end.sum_received.bits_per_second).toBeGreaterThan(10e6);
    expect(udp.end.sum.packets).toBe(2000);
  });

  live("two-queue veths: one core serves both queues; --dist hw gives each core its own", async () => {
    // A second path beside the first, a1 -- [v2 | vnfrun | v3] -- b1 on
    // 10.201.0.0/24, with two rx queues per veth; four TCP streams spread
    // over them.
    topo.exec(topo.a, ["ip", "link", "add", "a1", "numtxqueues", "2", "numrxqueues", "2", "type", "veth", "peer", "name", "v2",
      "numtxqueues", "2", "numrxqueues", "2", "netns", topo.v]);
    topo.exec(topo.b, ["ip", "link", "add", "b1", "numtxqueues", "2", "numrxqueues", "2", "type", "veth", "peer", "name", "v3",
      "numtxqueues", "2", "numrxqueues", "2", "netns", topo.v]);
    topo.exec(topo.a, ["ip", "addr", "add", "10.201.0.1/24", "dev", "a1"]);
    topo.exec(topo.b, ["ip", "addr", "add", "10.201.0.2/24", "dev", "b1"]);
    for (const [ns, dev] of [[topo.a, "a1"], [topo.b, "b1"], [topo.v, "v2"], [topo.v, "v3"]]) {
      topo.exec(ns, ["ip", "link", "set", dev, "up"]);
      if (ns !== topo.v) topo.exec(ns, ["ethtool", "-K", dev, "tx", "off"]);
    }
    const ports = ["in=xdp:v2", "out=xdp:v3"], devs = ["v2", "v3"];
    let one: any, hw: any;
    const single = await withVnf(L2FWD, ports, async () => { one = await iperf(["-t", "2", "-P", "4"], "10.201.0.2"); }, { devs });
    expect(single.port.in.driver).toMatch(/^xdp v2 queues 0,1: native XDP/);
    expect(one.end.sum_received.bits_per_second).toBeGreaterThan(10e6);
    const multi = await withVnf(L2FWD, ports, async () => { hw = await iperf(["-t", "2", "-P", "4"], "10.201.0.2"); },
      { devs, args: ["--cores", "2", "--dist", "hw"] });
    expect(hw.end.sum_received.bits_per_second).toBeGreaterThan(10e6);
    const cores = (multi.summary as any).cores as { packets: number }[];
    expect(cores).toHaveLength(2);
    expect(cores.every((c) => c.packets > 0)).toBe(true);
  });

  live("the program is removed when vnfrun is killed with SIGKILL", async () => {
    const child = topo.spawn(topo.v, [process.execPath, CLI, L2FWD, "--port", "in=xdp:v0", "--port", "out=xdp:v1", "--duration", "60"]);
    const exited = new Promise((resolve) => child.on("exit", resolve));
    try {
      for (let i = 0; !(xdpOn("v0") && xdpOn("v1")); i++) {
        if (i > 150) throw new Error("vnfrun did not attach");
        await sleep(100);
      }
      expect(ping(1)).toMatch(/1 received/);
    } finally {
      child.kill("SIGKILL");
    }
    await exited;
    // The BPF link closes with the process; the kernel detaches at once.
    for (let i = 0; i < 20 && (xdpOn("v0") || xdpOn("v1")); i++) await sleep(100);
    expect(xdpOn("v0")).toBe(false);
    expect(xdpOn("v1")).toBe(false);
  });

  live("one-line errors: a missing interface, a queue the interface lacks, zerocopy on veth", async () => {
    const fail = (spec: string) => {
      const r = spawnSync("ip", ["netns", "exec", topo.v, process.execPath, CLI, L2FWD, "--port", `in=${spec}`, "--port", "out=sink",
        "--duration", "0.1"], { encoding: "utf8", timeout: 60_000 });
      expect(r.status).not.toBe(0);
      const lines = r.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      return lines[0];
    };
    expect(fail("xdp:nosuch0")).toMatch(/no interface nosuch0 in this network namespace/);
    expect(fail("xdp:v0@3")).toMatch(/v0 has 1 rx queue, so no queue 3/);
    expect(fail("xdp:v0,bind=zerocopy")).toMatch(/zerocopy.*: use bind=copy/);
    topo.exec(topo.v, ["ip", "link", "set", "v0", "down"]);
    try {
      expect(fail("xdp:v0")).toMatch(/v0 is down: ip link set dev v0 up/);
    } finally {
      topo.exec(topo.v, ["ip", "link", "set", "v0", "up"]);
    }
    expect(xdpOn("v0")).toBe(false);
  });
});
