import { readFileSync } from "node:fs";
import { describe, expect, it, vi } from "vitest";
import { Batch, ip4, ip4str, makeCtx, RSS_SYMMETRIC_KEY, rssCore, rssHashOf, verifyIpv4HeaderChecksum } from "../../sdk";
import nat, { readNatConfig } from "../../vnfs/nat";
import type { NatState } from "../../vnfs/nat";
import { fillL4v4, frame, icmpEcho, ipv4, refChecksum, tcp, udp } from "../sdk/frames";

const PORTS = ["in", "out"];
const IN = 0, OUT = 1, TO_OUT = 2, TO_IN = 1, DROP = 0;
const BASE = { inside: ["10.0.0.0/8"], outside: ["192.0.2.1"] };

interface Run { ctx: ReturnType<typeof makeCtx>; st: NatState }
function start(config: unknown = BASE, core = 0, cores = 1): Run {
  const ctx = makeCtx(PORTS, { config, core, cores });
  return { ctx, st: nat.init!(ctx) };
}

interface Out { verdict: number; bytes: Uint8Array }
function send(r: Run, f: Uint8Array, from: number): Out {
  const b = Batch.fromFrames([f], PORTS);
  b.inPorts[0] = from;
  nat.process(b, r.st, r.ctx);
  return { verdict: b.verdicts[0], bytes: b.bytes.slice(b.offsets[0], b.offsets[0] + b.lengths[0]) };
}

// Frames with every checksum filled in, as hosts send them.
const u4 = (src: string, dst: string, sp: number, dp: number): Uint8Array =>
  frame(0x0800, fillL4v4(ipv4({ src: ip4(src), dst: ip4(dst), proto: 17 }, udp(sp, dp, [1, 2, 3, 4])), 17, 20));
const t4 = (src: string, dst: string, sp: number, dp: number, flags = 0x18): Uint8Array =>
  frame(0x0800, fillL4v4(ipv4({ src: ip4(src), dst: ip4(dst), proto: 6 }, tcp({ sport: sp, dport: dp, flags })), 6, 20));

// Fields of a frame (Ethernet + IPv4 without options).
const src = (b: Uint8Array): string => ip4str(((b[26] << 24) | (b[27] << 16) | (b[28] << 8) | b[29]) >>> 0);
const dst = (b: Uint8Array): string => ip4str(((b[30] << 24) | (b[31] << 16) | (b[32] << 8) | b[33]) >>> 0);
const sport = (b: Uint8Array): number => (b[34] << 8) | b[35];
const dport = (b: Uint8Array): number => (b[36] << 8) | b[37];

/** Every checksum of the frame right: IP header, and TCP/UDP/ICMP over their pseudo-header. */
function checksumsOk(b: Uint8Array): boolean {
  if (!verifyIpv4HeaderChecksum(b, 14)) return false;
  const proto = b[23], len = ((b[16] << 8) | b[17]) - 20;
  const l4 = Array.from(b.subarray(34, 34 + len));
  if (proto === 1) return refChecksum(l4) === 0;
  const pseudo = [...b.subarray(26, 34), 0, proto, len >> 8, len & 255];
  return refChecksum([...pseudo, ...l4]) === 0;
}

describe("nat", () => {
  it("maps an inside address and port to one outside port for every destination (EIM), checksums right", () => {
    const r = start();
    const a = send(r, u4("10.0.0.5", "198.51.100.1", 5000, 53), IN);
    expect(a.verdict).toBe(TO_OUT);
    expect(src(a.bytes)).toBe("192.0.2.1");
    expect(checksumsOk(a.bytes)).toBe(true);
    const b = send(r, u4("10.0.0.5", "203.0.113.9", 5000, 123), IN);
    expect(sport(b.bytes)).toBe(sport(a.bytes));
    const c = send(r, u4("10.0.0.5", "198.51.100.1", 5001, 53), IN);
    expect(sport(c.bytes)).not.toBe(sport(a.bytes));
    // The reply finds its way back, translated.
    const back = send(r, u4("198.51.100.1", "192.0.2.1", 53, sport(a.bytes)), OUT);
    expect(back.verdict).toBe(TO_IN);
    expect([dst(back.bytes), dport(back.bytes)]).toEqual(["10.0.0.5", 5000]);
    expect(checksumsOk(back.bytes)).toBe(true);
  });

  it("filters by address by default, by nothing or by address and port when told", () => {
    const addrDep = start();
    const p = sport(send(addrDep, u4("10.0.0.5", "198.51.100.1", 5000, 53), IN).bytes);
    expect(send(addrDep, u4("198.51.100.1", "192.0.2.1", 9999, p), OUT).verdict).toBe(TO_IN);   // same host, other port
    expect(send(addrDep, u4("198.51.100.2", "192.0.2.1", 53, p), OUT).verdict).toBe(DROP);     // another host
    const eif = start({ ...BASE, filtering: "endpoint-independent" });
    const q = sport(send(eif, u4("10.0.0.5", "198.51.100.1", 5000, 53), IN).bytes);
    expect(send(eif, u4("198.51.100.2", "192.0.2.1", 53, q), OUT).verdict).toBe(TO_IN);
    const apdf = start({ ...BASE, filtering: "address-and-port-dependent" });
    const s = sport(send(apdf, u4("10.0.0.5", "198.51.100.1", 5000, 53), IN).bytes);
    expect(send(apdf, u4("198.51.100.1", "192.0.2.1", 9999, s), OUT).verdict).toBe(DROP);
    expect(send(apdf, u4("198.51.100.1", "192.0.2.1", 53, s), OUT).verdict).toBe(TO_IN);
    expect(addrDep.st.n[8]).toBe(1);   // filtered
  });

  it("lets each remote a binding sent to answer for exactly its own timeout, the last one kept in the binding", () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      const t0 = Date.UTC(2026, 0, 1);
      const at = (s: number): void => { vi.setSystemTime(t0 + s * 1000); };
      const r = start({ ...BASE, timeouts: { udp: 120 } });
      const out = (to: string): number => { const o = send(r, u4("10.0.0.5", to, 5000, 53), IN); expect(o.verdict).toBe(TO_OUT); return sport(o.bytes); };
      const answers = (from: string, p: number): boolean => send(r, u4(from, "192.0.2.1", 53, p), OUT).verdict === TO_IN;
      const A = "198.51.100.1", B = "198.51.100.2", C = "198.51.100.3";
      at(0);
      const p = out(A);
      at(100);
      expect(out(B)).toBe(p);   // A moves to the filter table with 20 s left
      at(110);
      expect([answers(A, p), answers(B, p), answers(C, p)]).toEqual([true, true, false]);
      at(130);
      expect([answers(A, p), answers(B, p)]).toEqual([false, true]);   // A's 120 s from t=0 are over
      at(140);
      out(A);   // A back in the binding; B to the table with 80 s left
      at(200);
      expect([answers(A, p), answers(B, p)]).toEqual([true, true]);
      at(230);
      expect([answers(A, p), answers(B, p)]).toEqual([true, false]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("drops unsolicited inbound and traffic not from inside, counted", () => {
    const r = start();
    expect(send(r, u4("198.51.100.1", "192.0.2.1", 53, 40000), OUT).verdict).toBe(DROP);
    expect(send(r, u4("172.16.0.1", "198.51.100.1", 53, 40000), IN).verdict).toBe(DROP);
    expect(send(r, u4("198.51.100.1", "192.0.2.99", 53, 40000), OUT).verdict).toBe(DROP);
    expect([r.st.n[7], r.st.n[5], r.st.n[6]]).toEqual([1, 1, 1]);   // noBinding, notInside, notOurs
  });

  it("translates TCP with its checksum, and ICMP echo by its identifier", () => {
    const r = start();
    const s = send(r, t4("10.1.2.3", "198.51.100.80", 40000, 80, 0x02), IN);
    expect(checksumsOk(s.bytes)).toBe(true);
    const ack = send(r, t4("198.51.100.80", "192.0.2.1", 80, sport(s.bytes), 0x12), OUT);
    expect([dst(ack.bytes), dport(ack.bytes), checksumsOk(ack.bytes)]).toEqual(["10.1.2.3", 40000, true]);
    const ping = send(r, frame(0x0800, ipv4({ src: ip4("10.1.2.3"), dst: ip4("198.51.100.80"), proto: 1 }, icmpEcho(8, 4242, 1))), IN);
    expect(src(ping.bytes)).toBe("192.0.2.1");
    expect(checksumsOk(ping.bytes)).toBe(true);
    const id = sport(ping.bytes.subarray(4));   // the identifier sits 4 bytes after the ports' place
    const pong = send(r, frame(0x0800, ipv4({ src: ip4("198.51.100.80"), dst: ip4("192.0.2.1"), proto: 1 }, icmpEcho(0, id, 1))), OUT);
    expect(pong.verdict).toBe(TO_IN);
    expect(dst(pong.bytes)).toBe("10.1.2.3");
    expect((pong.bytes[38] << 8) | pong.bytes[39]).toBe(4242);
    expect(checksumsOk(pong.bytes)).toBe(true);
  });

  it("translates an ICMP error with the header it quotes (traceroute's time exceeded)", () => {
    const r = start();
    const probe = send(r, u4("10.0.0.5", "198.51.100.1", 33000, 33434), IN).bytes;
    // A router beyond quotes the translated probe: its IP header and 8 bytes.
    const quoted = Array.from(probe.subarray(14, 14 + 28));
    const err = frame(0x0800, ipv4({ src: ip4("203.0.113.254"), dst: ip4("192.0.2.1"), proto: 1 }, icmpWithChecksum([11, 0, 0, 0, 0, 0, 0, 0, ...quoted])));
    const got = send(r, err, OUT);
    expect(got.verdict).toBe(TO_IN);
    expect(dst(got.bytes)).toBe("10.0.0.5");
    expect(checksumsOk(got.bytes)).toBe(true);
    const q = got.bytes.subarray(42);   // the quoted packet now says what the inside host sent
    expect(src(new Uint8Array([...Array(14).fill(0), ...q]))).toBe("10.0.0.5");
    expect((q[20] << 8) | q[21]).toBe(33000);
    expect(verifyIpv4HeaderChecksum(q, 0)).toBe(true);
    expect(r.st.n[10]).toBe(1);
  });

  it("hairpins: an inside host reaches another through its outside address", () => {
    const r = start({ ...BASE, filtering: "endpoint-independent" });
    const server = sport(send(r, u4("10.0.0.7", "198.51.100.1", 7000, 53), IN).bytes);   // 10.0.0.7 gets a mapping
    const h = send(r, u4("10.0.0.5", "192.0.2.1", 5000, server), IN);
    expect(h.verdict).toBe(TO_IN);
    expect([src(h.bytes), dst(h.bytes), dport(h.bytes)]).toEqual(["192.0.2.1", "10.0.0.7", 7000]);
    expect(checksumsOk(h.bytes)).toBe(true);
  });

  it("forwards a static outside port to an inside server, and its replies back out", () => {
    const r = start({ ...BASE, forwards: [{ proto: "tcp", outside: "192.0.2.1:8080", inside: "10.0.0.10:80" }] });
    const i = send(r, t4("198.51.100.9", "192.0.2.1", 50000, 8080, 0x02), OUT);
    expect([i.verdict, dst(i.bytes), dport(i.bytes)]).toEqual([TO_IN, "10.0.0.10", 80]);
    const o = send(r, t4("10.0.0.10", "198.51.100.9", 80, 50000, 0x12), IN);
    expect([o.verdict, src(o.bytes), sport(o.bytes)]).toEqual([TO_OUT, "192.0.2.1", 8080]);
  });

  it("refuses new bindings when the table is full, and counts them", () => {
    const r = start({ ...BASE, capacity: 16 });
    let out = 0;
    for (let k = 0; k < 20; k++) if (send(r, u4("10.0.0.5", "198.51.100.1", 1000 + k, 53), IN).verdict === TO_OUT) out++;
    expect(out).toBe(16);
    expect(r.st.n[4]).toBe(4);   // tableFull
  });

  it("chooses outside ports whose replies land on the core that translated the flow (2 and 3 cores)", () => {
    for (const cores of [2, 3]) {
      const cfg = { inside: ["10.0.0.0/8"], outside: ["192.0.2.1", "192.0.2.2"] };
      const runs = Array.from({ length: cores }, (_, c) => start(cfg, c, cores));
      const coreOf = (f: Uint8Array): number => {
        const b = Batch.fromFrames([f], PORTS);
        return rssCore(rssHashOf(b.packet(0), RSS_SYMMETRIC_KEY), cores);
      };
      const seen = new Set<number>();
      for (let k = 0; k < 400; k++) {
        const req = u4(`10.0.${k & 255}.${(k * 7) & 255}`, `198.51.${k % 100}.${k % 250}`, 1024 + k * 13, 53 + (k % 7));
        const c = coreOf(req);
        seen.add(c);
        const t = send(runs[c], req, IN).bytes;
        const reply = u4(dst(t), src(t), dport(t), sport(t));
        expect(coreOf(reply), `cores ${cores}, flow ${k}`).toBe(c);
        expect(send(runs[c], reply, OUT).verdict).toBe(TO_IN);
      }
      expect(seen.size).toBe(cores);
    }
  });

  it("names the bad field of a config", () => {
    const bad = (c: unknown): string => { try { readNatConfig(c); return ""; } catch (e) { return (e as Error).message; } };
    expect(bad({ outside: ["192.0.2.1"] })).toBe("nat config inside: give at least 1 entry");
    expect(bad({ inside: ["10.0.0.0/8"], outside: [] })).toBe("nat config outside: give at least 1 entry");
    expect(bad({ inside: ["10.0.0.0/8"], outside: ["192.0.2.0/30", "192.0.2.2"] })).toBe("nat config outside[1]: 192.0.2.2 is already in outside[0]; each outside address once");
    expect(bad({ inside: ["10.0.0.0/8"], outside: ["10.1.1.1"] })).toMatch(/^nat config outside\[0\]: 10\.1\.1\.1 is inside inside\[0\]/);
    expect(bad({ inside: ["10.0.0.0/8"], outside: ["192.0.2.300"] })).toMatch(/^nat config outside\[0\]: "192\.0\.2\.300" is not an IPv4 address/);
    expect(bad({ ...BASE, timeouts: { udp: 30 } })).toBe("nat config timeouts.udp: 30 is not a number >= 120 and <= 2000000");
    expect(bad({ ...BASE, filter: "endpoint-independent" })).toMatch(/^nat config filter: unknown field/);
    expect(bad({ ...BASE, forwards: [{ proto: "tcp", outside: "192.0.2.9:80", inside: "10.0.0.1:80" }] })).toMatch(/forwards\[0\]\.outside: 192\.0\.2\.9 is not one of the outside addresses/);
  });

  it("runs its example config on gen's default traffic", () => {
    const cfg = JSON.parse(readFileSync(new URL("../../vnfs/nat.example.json", import.meta.url), "utf8"));
    const r = start(cfg);
    const o = send(r, u4("198.18.0.1", "198.19.0.1", 1024, 1), IN);
    expect(o.verdict).toBe(TO_OUT);
    expect(src(o.bytes)).toMatch(/^192\.0\.2\./);
  });
});

function icmpWithChecksum(m: number[]): number[] {
  const c = refChecksum(m);
  m[2] = c >>> 8; m[3] = c & 255;
  return m;
}
