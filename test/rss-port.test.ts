// sdk/rss-port.ts: a core picks local ports whose replies land on it.
// Offline: every picked port's reply frame hashes (native frameHash, the
// distributor's) to the picking core, for several keys and core counts.
// Live: on 2 cores in hw (AF_PACKET fanout by the engine's Toeplitz, a
// classic BPF program), sw1 and sw2, each core sends datagrams from its
// picked ports to a kernel UDP echo server in another namespace, and every
// echo comes back to the core that picked the port.
import { describe, expect, it } from "vitest";
import { loadAddon } from "../runtime/addon";
import { MICROSOFT_KEY, SYMMETRIC_KEY } from "../runtime/rss";
import { RssPorts, ip4, replyCore4, replyCore6, rssCore } from "../sdk";
import { canUseNetns, createTopology, whyNoNetns } from "./helpers/netns";
import { missing, quietHosts, start, succeeds, waitFor } from "./live/fixtures/live";

const addon = loadAddon();

function udpFrame4(src: number, dst: number, sport: number, dport: number): Uint8Array {
  const f = new Uint8Array(60);
  f[12] = 0x08; f[14] = 0x45; f[16] = 0; f[17] = 46; f[22] = 64; f[23] = 17;
  const dv = new DataView(f.buffer);
  dv.setUint32(26, src); dv.setUint32(30, dst); dv.setUint16(34, sport); dv.setUint16(36, dport); dv.setUint16(38, 26);
  return f;
}
function udpFrame6(src: number[], dst: number[], sport: number, dport: number): Uint8Array {
  const f = new Uint8Array(14 + 40 + 8);
  f[12] = 0x86; f[13] = 0xdd; f[14] = 0x60; f[19] = 8; f[20] = 17; f[21] = 64;
  f.set(src, 22); f.set(dst, 38);
  const dv = new DataView(f.buffer);
  dv.setUint16(54, sport); dv.setUint16(56, dport); dv.setUint16(58, 8);
  return f;
}

describe("RssPorts: replies to picked ports hash to the picking core", () => {
  const local = ip4("10.0.0.1"), remote = ip4("192.0.2.77");
  for (const [name, key] of [["symmetric", SYMMETRIC_KEY], ["microsoft", MICROSOFT_KEY]] as const)
    for (const cores of [2, 3, 4])
      it(`${name} key, ${cores} cores, IPv4 and IPv6`, () => {
        const k = Array.from(key);
        for (let core = 0; core < cores; core++) {
          const ports = new RssPorts({ core, cores, rss: { key: k } });
          const got = new Set<number>();
          for (let n = 0; n < 200; n++) {
            const p = ports.pick4(local, remote, 53);
            expect(p).toBeGreaterThanOrEqual(32768);
            expect(got.has(p)).toBe(false);
            got.add(p);
            // The reply as the engine sees it: remote:53 -> local:p.
            expect(rssCore(addon.frameHash(key, udpFrame4(remote, local, 53, p)), cores)).toBe(core);
            expect(replyCore4(k, cores, local, p, remote, 53)).toBe(core);
          }
          const l6 = Array.from({ length: 16 }, (_, i) => (i === 0 ? 0x20 : i === 15 ? 1 : 0));
          const r6 = Array.from({ length: 16 }, (_, i) => (i === 0 ? 0x20 : i === 15 ? 2 : i));
          for (let n = 0; n < 50; n++) {
            const p = ports.pick6(l6, r6, 443);
            expect(rssCore(addon.frameHash(key, udpFrame6(r6, l6, 443, p)), cores)).toBe(core);
            expect(replyCore6(k, cores, l6, p, r6, 443)).toBe(core);
          }
        }
      });

  it("two cores never pick the same port; an exhausted pool says -1", () => {
    const a = new RssPorts({ core: 0, cores: 2 }, 40000, 40063), b = new RssPorts({ core: 1, cores: 2 }, 40000, 40063);
    const pa: number[] = [], pb: number[] = [];
    for (let p; (p = a.pick4(1, 2, 3)) >= 0; ) pa.push(p);
    for (let p; (p = b.pick4(1, 2, 3)) >= 0; ) pb.push(p);
    expect(pa.length + pb.length).toBe(64);
    expect(pa.filter((p) => pb.includes(p))).toEqual([]);
    a.release(pa[0]);
    expect(a.pick4(1, 2, 3)).toBe(pa[0]);
    expect(() => new RssPorts({ core: 0, cores: 1 }, 0, 10)).toThrow(/1-65535/);
  });
});

function linkMac(ns: string, dev: string): string {
  const r = JSON.parse(require("node:child_process").execFileSync("ip", ["-n", ns, "-j", "link", "show", "dev", dev], { encoding: "utf8" }));
  return r[0].address;
}

describe("RssPorts live: echoes from a kernel UDP server come back to the picking core", () => {
  const why = missing(canUseNetns, whyNoNetns, ["python3"]);
  const ECHO = "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('10.200.0.1',7007))\nwhile True:\n d,a=s.recvfrom(2048)\n s.sendto(d,a)\n";
  for (const dist of ["hw", "sw1", "sw2"])
    it.skipIf(!!why)(`${dist}, 2 cores, packet port${why ? ` (skipped: ${why})` : ""}`, async () => {
      const topo = createTopology();
      try {
        quietHosts(topo);
        const local = "10.200.0.99";
        const vMac = linkMac(topo.v, "v0"), aMac = linkMac(topo.a, "a0");
        topo.exec(topo.a, ["ip", "neigh", "replace", local, "lladdr", vMac, "dev", "a0"]);
        const echo = topo.spawn(topo.a, ["python3", "-c", ECHO]);
        try {
          await waitFor("the echo server", 10_000, () => succeeds(topo.a, ["sh", "-c", "ss -lun | grep -q ':7007 '"]));
          const count = 200;
          const cfg = JSON.stringify({ local, localMac: vMac, remote: "10.200.0.1", remoteMac: aMac, rport: 7007, count });
          const run = start(topo, "test/fixtures/rss-probe.ts", ["--port", "packet:v0", "--cores", "2", "--dist", dist, "--config", cfg], 4);
          const s = (await run.done) as any;
          expect(s.vnf_counters.sent).toBe(2 * count);
          expect(s.vnf_counters.foreign).toBe(0);
          expect(s.vnf_counters.mine, JSON.stringify(s.drops)).toBe(2 * count);
          if (dist === "hw") expect(s.ports.net.driver).toMatch(/fanout/);
        } finally {
          echo.kill("SIGKILL");
        }
      } finally {
        topo.destroy();
      }
    }, 60_000);
});
