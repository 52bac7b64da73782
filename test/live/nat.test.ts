// The NAT between namespaces, with clients and servers no one here wrote:
//
//   [A 10.200.1.1] --a0/v0-- [V: nat] --v1/b0-- [B 10.200.2.1, a router] --b1/c0-- [C 10.200.3.2]
//
// A's inside network is 10.200.1.0/24; the NAT's outside address is
// 10.200.2.100. The NAT is a bump in the wire: A's gateway and B's
// neighbour 10.200.2.100 are static neighbour entries naming the MAC of the
// host across it. B routes to C, so traceroute from A shows B as the hop
// beyond the NAT (its time-exceeded messages, translated back to A).
import { execFileSync, spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { canUseNetns, createTopology, whyNoNetns, type Topology } from "../helpers/netns";
import { missing, quietHosts, sleep, start, succeeds, waitFor } from "./fixtures/live";

const VNF = "vnfs/nat.ts";
const A = "10.200.1.1", GW = "10.200.1.254", B = "10.200.2.1", NAT = "10.200.2.100", C = "10.200.3.2";
const CONFIG = JSON.stringify({ inside: ["10.200.1.0/24"], outside: [NAT], filtering: "address-dependent" });

const ip = (args: string[]): void => { execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] }); };
const macOf = (t: Topology, ns: string, dev: string): string => /link\/ether ([0-9a-f:]+)/.exec(t.exec(ns, ["ip", "link", "show", dev]))![1];

/** The topology above; C's namespace is removed by the returned cleanup (with the rest). */
function natTopology(): { t: Topology; c: string; destroy(): void } {
  const t = createTopology();
  const c = `${t.tag}c`;
  const destroy = (): void => { spawnSync("ip", ["netns", "del", c], { stdio: "ignore" }); t.destroy(); };
  try {
    quietHosts(t);
    ip(["netns", "add", c]);
    ip(["-n", t.a, "addr", "flush", "dev", "a0"]);
    ip(["-n", t.b, "addr", "flush", "dev", "b0"]);
    ip(["-n", t.a, "addr", "add", `${A}/24`, "dev", "a0"]);
    ip(["-n", t.a, "route", "add", "default", "via", GW]);
    ip(["-n", t.a, "neigh", "replace", GW, "lladdr", macOf(t, t.b, "b0"), "dev", "a0", "nud", "permanent"]);
    ip(["-n", t.b, "addr", "add", `${B}/24`, "dev", "b0"]);
    ip(["-n", t.b, "neigh", "replace", NAT, "lladdr", macOf(t, t.a, "a0"), "dev", "b0", "nud", "permanent"]);
    ip(["link", "add", "b1", "netns", t.b, "type", "veth", "peer", "name", "c0", "netns", c]);
    ip(["-n", t.b, "addr", "add", "10.200.3.1/24", "dev", "b1"]);
    ip(["-n", c, "addr", "add", `${C}/24`, "dev", "c0"]);
    for (const [ns, dev] of [[t.b, "b1"], [c, "c0"], [c, "lo"]]) ip(["-n", ns, "link", "set", dev, "up"]);
    ip(["-n", c, "route", "add", "default", "via", "10.200.3.1"]);
    t.exec(t.b, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
    t.exec(c, ["sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1"]);
  } catch (e) {
    destroy();
    throw e;
  }
  return { t, c, destroy };
}

function curl(t: Topology, ns: string, url: string, extra: string[] = []): string | null {
  const r = spawnSync("ip", ["netns", "exec", ns, "curl", "-sS", "--max-time", "3", ...extra, url], { encoding: "utf8", timeout: 10_000 });
  return r.status === 0 ? r.stdout : null;
}

describe("nat between namespaces", () => {
  const why = missing(canUseNetns, whyNoNetns, ["ping", "curl", "python3", "traceroute"]);
  it.skipIf(!!why)(`translates curl, ping and traceroute from inside; the server sees the outside address${why ? ` (skipped: ${why})` : ""}`, async () => {
    const { t, c, destroy } = natTopology();
    const procs: ReturnType<typeof t.spawn>[] = [];
    try {
      const serverB = t.spawn(t.b, ["python3", "-m", "http.server", "8080", "--bind", B, "--directory", "/etc"]);
      let log = "";
      serverB.stderr!.on("data", (d) => (log += d));
      procs.push(serverB);
      procs.push(t.spawn(c, ["python3", "-m", "http.server", "8080", "--bind", C, "--directory", "/etc"]));
      procs.push(t.spawn(t.a, ["python3", "-m", "http.server", "8081", "--bind", A, "--directory", "/etc"]));
      const run = start(t, VNF, ["--port", "in=packet:v0", "--port", "out=packet:v1", "--config", CONFIG], 40);
      try {
        await waitFor("ping from A to B through the NAT", 15_000, () => succeeds(t.a, ["ping", "-c", "1", "-W", "0.5", B], 2000), run);
        await waitFor("the http servers", 10_000, () => succeeds(t.b, ["sh", "-c", "ss -ltn | grep -q ':8080 '"]) && succeeds(c, ["sh", "-c", "ss -ltn | grep -q ':8080 '"]));
        expect(curl(t, t.a, `http://${B}:8080/hostname`)).toBe(t.exec(t.b, ["cat", "/etc/hostname"]));
        for (let i = 0; i < 5; i++) expect(curl(t, t.a, `http://${C}:8080/passwd`)).toMatch(/^root:/);
        // The server saw the NAT's outside address, never the inside one.
        await waitFor("the access log", 3000, () => log.includes("GET /hostname"));
        expect(log).toMatch(new RegExp(`^${NAT.replace(/\./g, "\\.")} - - .*"GET /hostname HTTP/1\\.1" 200`, "m"));
        expect(log).not.toContain(A);
        // ping through it, twice over (ICMP echo by identifier).
        expect(t.exec(t.a, ["ping", "-c", "3", "-i", "0.2", "-W", "1", C])).toMatch(/3 received/);
        // traceroute (UDP probes): the hop beyond the NAT is B, then C itself;
        // both answers are ICMP errors quoting the translated probe.
        const tr = t.exec(t.a, ["traceroute", "-n", "-q", "1", "-w", "1", "-m", "4", C], { timeoutMs: 20_000 });
        const hops = tr.split("\n").slice(1).map((l) => l.trim().split(/\s+/)[1]);
        expect(hops.slice(0, 2)).toEqual([B, C]);
        // Unsolicited inbound: nothing is mapped, so nothing gets in.
        expect(curl(t, t.b, `http://${NAT}:8081/hostname`)).toBeNull();
        expect(curl(t, t.b, `http://${A}:8081/hostname`, ["--connect-timeout", "2"])).toBeNull();
      } finally {
        await sleep(200);
        run.kill();
      }
      const s = await run.done.catch(() => null);
      void s;
    } finally {
      for (const p of procs) if (p.exitCode === null) p.kill("SIGKILL");
      destroy();
    }
  }, 120_000);

  // Replies must reach the core that made the binding, with no hand-off:
  // many connections, each a fresh source port, so both cores make bindings.
  // hw: each core a PACKET_FANOUT member, steered by the engine's own hash
  // (a classic BPF fanout program made from the key, native/rss_bpf.cc from
  // main); with the kernel's flow hash (before it) 10 of 24 curls passed.
  for (const dist of ["sw1", "sw2", "hw"]) {
    it.skipIf(!!why)(`brings every reply back to its binding's core: 2 cores, --dist ${dist}${why ? ` (skipped: ${why})` : ""}`, async () => {
      const { t, destroy } = natTopology();
      const procs: ReturnType<typeof t.spawn>[] = [];
      try {
        procs.push(t.spawn(t.b, ["python3", "-m", "http.server", "8080", "--bind", B, "--directory", "/etc"]));
        const run = start(t, VNF, ["--cores", "2", "--dist", dist, "--port", "in=packet:v0", "--port", "out=packet:v1", "--config", CONFIG], 30);
        let ok = 0;
        try {
          await waitFor("ping from A to B through the NAT", 15_000, () => succeeds(t.a, ["ping", "-c", "1", "-W", "0.5", B], 2000), run);
          await waitFor("the http server", 10_000, () => succeeds(t.b, ["sh", "-c", "ss -ltn | grep -q ':8080 '"]));
          for (let i = 0; i < 24; i++) if (curl(t, t.a, `http://${B}:8080/hostname`)?.length) ok++;
        } finally {
          run.proc.kill("SIGINT");   // ends the run with its summary
        }
        const s = await run.done;
        expect(ok).toBe(24);
        // No reply met a core without its binding, and both cores made bindings.
        const n = s.vnf_counters as Record<string, number>;
        expect(n.noBinding).toBe(0);
        expect(n.translatedIn).toBeGreaterThanOrEqual(24 * 3);
        expect(n.newBindings).toBeGreaterThanOrEqual(24);
        for (const core of s.cores as { packets: number }[]) expect(core.packets).toBeGreaterThan(24);   // both cores did their share
      } finally {
        for (const p of procs) if (p.exitCode === null) p.kill("SIGKILL");
        destroy();
      }
    }, 90_000);
  }
});
