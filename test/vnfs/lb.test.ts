import { describe, expect, it } from "vitest";
import { Batch, ip4, makeCtx } from "../../sdk";
import lb, { readLbConfig } from "../../vnfs/lb";
import { fillL4v4, frame, ipv4, tcp } from "../sdk/frames";

const PORTS = ["in", "out"];
const t4 = (src: string, dst: string, sp: number, dp: number, flags = 0x18): Uint8Array =>
  frame(0x0800, fillL4v4(ipv4({ src: ip4(src), dst: ip4(dst), proto: 6 }, tcp({ sport: sp, dport: dp, flags })), 6, 20));
const SYN = 0x02, FIN_ACK = 0x11, RST = 0x04;
const dstOf = (b: Uint8Array): string => `${b[30]}.${b[31]}.${b[32]}.${b[33]}`;

function through(ctx: ReturnType<typeof makeCtx>, st: ReturnType<NonNullable<typeof lb.init>>, f: Uint8Array, from: number): Uint8Array {
  const b = Batch.fromFrames([f], PORTS);
  b.inPorts[0] = from;
  lb.process(b, st, ctx);
  return b.bytes.slice(b.offsets[0], b.offsets[0] + b.lengths[0]);
}

describe("lb", () => {
  const cfg = (backends: unknown[]) => ({ vips: [{ address: "192.0.2.10", port: 80, proto: "tcp", backends }] });

  it("keeps a connection's backend when the set changes, sends new ones by Maglev, none to a draining one", () => {
    const ctx = makeCtx(PORTS, { config: cfg([{ address: "10.0.0.1" }, { address: "10.0.0.2" }]) });
    const st = lb.init!(ctx);
    const first = new Map<number, string>();
    for (let p = 1000; p < 1200; p++) first.set(p, dstOf(through(ctx, st, t4("198.51.100.1", "192.0.2.10", p, 80), 0)));
    expect(new Set(first.values())).toEqual(new Set(["10.0.0.1", "10.0.0.2"]));
    // The next version: .1 draining, .3 added; the same core's memory.
    const ctx2 = { ...makeCtx(PORTS, { config: cfg([{ address: "10.0.0.1", state: "draining" }, { address: "10.0.0.2" }, { address: "10.0.0.3" }]) }), memory: ctx.memory };
    const st2 = lb.migrate!(st, ctx2, lb.init!(ctx2));
    for (const [p, b] of first) expect(dstOf(through(ctx2, st2, t4("198.51.100.1", "192.0.2.10", p, 80), 0))).toBe(b);
    const fresh = new Set<string>();
    for (let p = 2000; p < 2200; p++) fresh.add(dstOf(through(ctx2, st2, t4("198.51.100.1", "192.0.2.10", p, 80), 0)));
    expect(fresh).toEqual(new Set(["10.0.0.2", "10.0.0.3"]));
  });

  it("balances a SYN on a closed connection's ports afresh, and keeps a SYN on an open one where it was", () => {
    const ctx = makeCtx(PORTS, { config: cfg([{ address: "10.0.0.1" }, { address: "10.0.0.2" }]) });
    const st = lb.init!(ctx);
    const first = new Map<number, string>();
    for (let p = 1000; p < 1100; p++) first.set(p, dstOf(through(ctx, st, t4("198.51.100.1", "192.0.2.10", p, 80, SYN), 0)));
    // Ports 1000-1049 close (FIN, or RST for some), the others stay open; then .1 drains.
    for (let p = 1000; p < 1050; p++) through(ctx, st, t4("198.51.100.1", "192.0.2.10", p, 80, p % 2 ? RST : FIN_ACK), 0);
    const ctx2 = { ...makeCtx(PORTS, { config: cfg([{ address: "10.0.0.1", state: "draining" }, { address: "10.0.0.2" }]) }), memory: ctx.memory };
    const st2 = lb.migrate!(st, ctx2, lb.init!(ctx2));
    const opened = (p: number, flags: number): string => dstOf(through(ctx2, st2, t4("198.51.100.1", "192.0.2.10", p, 80, flags), 0));
    expect([...first.values()].filter((b) => b === "10.0.0.1").length).toBeGreaterThan(20);
    for (let p = 1000; p < 1050; p++) expect(opened(p, SYN), `port ${p}, reused after its close`).toBe("10.0.0.2");
    for (let p = 1050; p < 1100; p++) expect(opened(p, SYN), `port ${p}, a SYN resent on an open one`).toBe(first.get(p));
    // Data on a closing connection still goes where it went.
    through(ctx2, st2, t4("198.51.100.1", "192.0.2.10", 1050, 80, FIN_ACK), 0);
    expect(opened(1050, 0x10)).toBe(first.get(1050));
  });

  it("names the bad field of a config", () => {
    const bad = (c: unknown): string => { try { readLbConfig(c); return ""; } catch (e) { return (e as Error).message; } };
    expect(bad(cfg([{ address: "10.0.0.300" }]))).toMatch(/^lb config vips\[0\]\.backends\[0\]\.address: "10\.0\.0\.300" is not an IPv4 address/);
    expect(bad(cfg([]))).toBe("lb config vips[0].backends: give at least 1 entry");
    expect(bad(cfg([{ address: "10.0.0.1", weight: -1 }]))).toMatch(/backends\[0\]\.weight: -1 is not a number >= 0/);
    expect(bad(cfg([{ address: "10.0.0.1", state: "off" }]))).toMatch(/backends\[0\]\.state: "off" is not allowed; give one of "active", "draining"/);
    expect(bad({ vips: [{ address: "192.0.2.10", backends: [{ address: "10.0.0.1", wieght: 2 }] }] })).toMatch(/backends\[0\]\.wieght: unknown field/);
  });
});
