import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GREEN, Lpm4, parsePrefix, RED, SrTcm, TokenBucket, TrTcm, YELLOW } from "../../sdk";

describe("Lpm4 (DIR-16-8-8)", () => {
  it("agrees with a linear longest-prefix scan", () => {
    const prefix = fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }));
    fc.assert(fc.property(fc.array(prefix, { maxLength: 40 }), fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 50 }), (ps, probes) => {
      const routes = ps.map(([a, len], value) => ({ prefix: parsePrefix(`${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}/${len}`), value }));
      const lpm = new Lpm4(routes);
      const mask = (len: number): number => (len === 0 ? 0 : (~0 << (32 - len)) >>> 0);
      // Probe the prefixes' own addresses too, and their neighbours.
      for (const a of [...probes, ...routes.flatMap((r) => [r.prefix.addr, (r.prefix.addr + 1) >>> 0, (r.prefix.addr - 1) >>> 0])]) {
        let best = -1, bestLen = -1;
        routes.forEach((r) => { if (((a & mask(r.prefix.len)) >>> 0) === r.prefix.addr && r.prefix.len >= bestLen) { best = r.value; bestLen = r.prefix.len; } });
        expect(lpm.lookup(a)).toBe(best);
      }
    }), { numRuns: 300 });
  });
});

describe("meters", () => {
  it("token bucket: a burst, then the rate", () => {
    const b = new TokenBucket(1000, 100);   // 1000 a second, 100 saved
    let ok = 0;
    for (let i = 0; i < 200; i++) if (b.take(1, 0)) ok++;
    expect(ok).toBe(100);
    for (let t = 1; t <= 1000; t++) for (let i = 0; i < 5; i++) if (b.take(1, t)) ok++;
    expect(ok).toBe(100 + 1000);
  });

  it("srTCM (RFC 2697): green within CBS, yellow within EBS, then red; refills at CIR, C first", () => {
    const m = new SrTcm(1000, 300, 200);
    const c = [0, 0, 0];
    for (let i = 0; i < 6; i++) c[m.color(100, 0)]++;
    expect(c).toEqual([3, 2, 1]);
    expect(m.color(100, 100)).toBe(GREEN);   // 100 ms at 1000 B/s: 100 bytes into C
    expect(m.color(100, 100)).toBe(RED);
    expect(m.color(100, 700, undefined, 0, YELLOW)).toBe(YELLOW);   // colour-aware: yellow stays yellow (C refilled, E got the rest)
  });

  it("trTCM (RFC 2698): red beyond PIR's bucket, yellow beyond CIR's", () => {
    const m = new TrTcm(1000, 200, 2000, 500);
    const c = [0, 0, 0];
    for (let i = 0; i < 6; i++) c[m.color(100, 0)]++;
    expect(c).toEqual([2, 3, 1]);
    expect(m.color(100, 50)).toBe(YELLOW);   // P refilled 100, C 50
    expect(() => new TrTcm(2000, 1, 1000, 1)).toThrow(/PIR/);
    expect(m.color(1, 50, undefined, 0, RED)).toBe(RED);
  });

  it("keeps each flow's state in the caller's array", () => {
    const m = new SrTcm(1000, 100, 0);
    const s = new Float64Array(2 * SrTcm.STATE);
    m.reset(s, 0, 0); m.reset(s, SrTcm.STATE, 0);
    expect(m.color(100, 0, s, 0)).toBe(GREEN);
    expect(m.color(100, 0, s, 0)).toBe(RED);
    expect(m.color(100, 0, s, SrTcm.STATE)).toBe(GREEN);
  });
});
