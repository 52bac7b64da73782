import { describe, expect, it } from "vitest";
import { Batch, ip4, makeCtx } from "../../sdk";
import lb, { readLbConfig } from "../../vnfs/lb";
import { fillL4v4, frame, ipv4, tcp } from "../sdk/frames";

const PORTS = ["in", "out"];
const t4 = (src: string, dst: string, sp: number, dp: number): Uint8Array =>
  frame(0x0800, fillL4v4(ipv4({ src: ip4(src), dst: ip4(dst), proto: 6 }, tcp({ sport: sp, dport: dp, flags: 0x18 })), 6, 20));
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

  it("names the bad field of a config", () => {
    const bad = (c: unknown): string => { try { readLbConfig(c); return ""; } catch (e) { return (e as Error).message; } };
    expect(bad(cfg([{ address: "10.0.0.300" }]))).toMatch(/^lb config vips\[0\]\.backends\[0\]\.address: "10\.0\.0\.300" is not an IPv4 address/);
    expect(bad(cfg([]))).toBe("lb config vips[0].backends: give at least 1 entry");
    expect(bad(cfg([{ address: "10.0.0.1", weight: -1 }]))).toMatch(/backends\[0\]\.weight: -1 is not a number >= 0/);
    expect(bad(cfg([{ address: "10.0.0.1", state: "off" }]))).toMatch(/backends\[0\]\.state: "off" is not allowed; give one of "active", "draining"/);
    expect(bad({ vips: [{ address: "192.0.2.10", backends: [{ address: "10.0.0.1", wieght: 2 }] }] })).toMatch(/backends\[0\]\.wieght: unknown field/);
  });
});
