import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileAcl4, compileAcl6, ip4, parsePrefix, parsePrefix6, prefixMask, prefixMask6 } from "../../sdk";
import type { AclRule4, AclRule6, PortRange } from "../../sdk";

// A naive reference: the rule semantics written as directly as possible.
const inRange = (r: PortRange | undefined, p: number): boolean => r === undefined || (p >= r[0] && p <= r[1]);
function ref4(rules: AclRule4[], from: number, src: number, dst: number, proto: number, sp: number, dp: number): number {
  for (const r of rules) {
    if (r.srcIn && ![...r.srcIn].some((a) => (a | 0) === (src | 0))) continue;
    if (r.from !== undefined && r.from >= 0 && r.from !== from) continue;
    if (r.proto !== undefined && r.proto >= 0 && r.proto !== proto) continue;
    if (!inRange(r.sport, sp) || !inRange(r.dport, dp)) continue;
    if (r.src && ((src & prefixMask(r.src.len)) >>> 0) !== ((r.src.addr & prefixMask(r.src.len)) >>> 0)) continue;
    if (r.dst && ((dst & prefixMask(r.dst.len)) >>> 0) !== ((r.dst.addr & prefixMask(r.dst.len)) >>> 0)) continue;
    return r.action;
  }
  return -1;
}
function match6words(p: { words: number[]; len: number } | undefined, w: number[]): boolean {
  return !p || [0, 1, 2, 3].every((k) => ((w[k] & prefixMask6(p.len, k)) >>> 0) === ((p.words[k] & prefixMask6(p.len, k)) >>> 0));
}
function ref6(rules: AclRule6[], from: number, s: number[], d: number[], proto: number, sp: number, dp: number): number {
  for (const r of rules) {
    if (r.from !== undefined && r.from >= 0 && r.from !== from) continue;
    if (r.proto !== undefined && r.proto >= 0 && r.proto !== proto) continue;
    if (!inRange(r.sport, sp) || !inRange(r.dport, dp)) continue;
    if (!match6words(r.src, s) || !match6words(r.dst, d)) continue;
    return r.action;
  }
  return -1;
}

// Small value pools so random packets often hit random rules.
const addr = fc.constantFrom(0x0a000001, 0x0a000102, 0x0a010000, 0xc0a80001, 0xffffffff, 0);
const port = fc.constantFrom(-1, 0, 22, 53, 80, 443, 1024, 65535);
const range = fc.option(fc.tuple(fc.constantFrom(0, 22, 53, 80, 1024), fc.constantFrom(22, 80, 443, 65535))
  .filter(([lo, hi]) => lo <= hi) as fc.Arbitrary<PortRange>, { nil: undefined });
const base = {
  action: fc.integer({ min: 0, max: 3 }),
  from: fc.option(fc.constantFrom(-1, 0, 1), { nil: undefined }),
  proto: fc.option(fc.constantFrom(-1, 1, 6, 17), { nil: undefined }),
  sport: range,
  dport: range,
};
const rule4: fc.Arbitrary<AclRule4> = fc.record({
  ...base,
  src: fc.option(fc.record({ addr, len: fc.constantFrom(0, 8, 16, 24, 31, 32) }), { nil: undefined }),
  dst: fc.option(fc.record({ addr, len: fc.constantFrom(0, 8, 16, 24, 32) }), { nil: undefined }),
}, { requiredKeys: ["action"] });
const words = fc.tuple(addr, addr, addr, addr).map((t) => [...t]);
const rule6: fc.Arbitrary<AclRule6> = fc.record({
  ...base,
  src: fc.option(fc.record({ words, len: fc.constantFrom(0, 16, 48, 64, 96, 100, 128) }), { nil: undefined }),
  dst: fc.option(fc.record({ words, len: fc.constantFrom(0, 32, 127, 128) }), { nil: undefined }),
}, { requiredKeys: ["action"] });
const head = fc.tuple(fc.constantFrom(0, 1), fc.constantFrom(1, 6, 17, 58), port, port);

describe("ACL compile", () => {
  it("IPv4: generated code == interpreter == reference", () => {
    fc.assert(fc.property(fc.array(rule4, { maxLength: 12 }), fc.array(fc.tuple(head, addr, addr), { minLength: 1, maxLength: 30 }),
      (rules, pkts) => {
        const gen = compileAcl4(rules), int = compileAcl4(rules, { codegen: false });
        for (const [[from, proto, sp, dp], src, dst] of pkts) {
          const want = ref4(rules, from, src, dst, proto, sp, dp);
          expect(gen(from, src, dst, proto, sp, dp)).toBe(want);
          expect(gen(from, src | 0, dst | 0, proto, sp, dp)).toBe(want); // int32 or uint32 addresses
          expect(int(from, src, dst, proto, sp, dp)).toBe(want);
        }
      }), { numRuns: 500 });
  });

  it("IPv6: generated code == interpreter == reference", () => {
    fc.assert(fc.property(fc.array(rule6, { maxLength: 10 }), fc.array(fc.tuple(head, words, words), { minLength: 1, maxLength: 30 }),
      (rules, pkts) => {
        const gen = compileAcl6(rules), int = compileAcl6(rules, { codegen: false });
        for (const [[from, proto, sp, dp], s, d] of pkts) {
          const want = ref6(rules, from, s, d, proto, sp, dp);
          expect(gen(from, s[0], s[1], s[2], s[3], d[0], d[1], d[2], d[3], proto, sp, dp)).toBe(want);
          expect(int(from, s[0], s[1], s[2], s[3], d[0], d[1], d[2], d[3], proto, sp, dp)).toBe(want);
        }
      }), { numRuns: 500 });
  });

  // Runs of rules alike but for dport are compiled to one port bit set, and
  // srcIn to a hash lookup: draw rules that exercise both, and compare.
  it("IPv4 port lists and srcIn sets: generated code == interpreter == reference", () => {
    const dport = fc.oneof(fc.constantFrom(0, 22, 53, 80, 443, 65535).map((p) => [p, p] as const),
      fc.constantFrom([0, 10], [20, 30], [1000, 2000], [65000, 65535]) as fc.Arbitrary<PortRange>);
    // A run of 1..8 rules alike but for dport (4 or more become a bit set).
    const portRun: fc.Arbitrary<AclRule4[]> = fc.tuple(
      fc.constantFrom(1, 2), fc.constantFrom(6, 17), fc.constantFrom(-1, 1), fc.array(dport, { minLength: 1, maxLength: 8 }),
    ).map(([action, proto, from, ports]) => ports.map((d) => ({ action, proto, from, dport: d })));
    const setRule: fc.Arbitrary<AclRule4> = fc.record({
      action: fc.constantFrom(1, 3),
      srcIn: fc.array(fc.oneof(addr, fc.integer({ min: 0, max: 0xffffffff })), { maxLength: 40 }),
      proto: fc.option(fc.constantFrom(6, 17), { nil: undefined }),
    }, { requiredKeys: ["action", "srcIn"] });
    const pkt = fc.tuple(fc.constantFrom(0, 1), fc.constantFrom(6, 17), fc.constantFrom(-1, 0, 5, 22, 25, 53, 80, 443, 1500, 65535),
      fc.oneof(addr, fc.integer({ min: 0, max: 0xffffffff })));
    const ruleList = fc.array(fc.oneof(portRun, portRun, setRule.map((r) => [r])), { maxLength: 5 }).map((runs) => runs.flat());
    fc.assert(fc.property(ruleList, fc.array(pkt, { minLength: 1, maxLength: 40 }),
      (rules, pkts) => {
        const gen = compileAcl4(rules), int = compileAcl4(rules, { codegen: false });
        // Sources from the sets too, so that lookups hit.
        const extra = rules.flatMap((r) => (r.srcIn ? [...r.srcIn].slice(0, 3) : []));
        for (const [from, proto, dp, src0] of pkts) {
          for (const src of [src0, ...extra]) {
            const want = ref4(rules, from, src, 7, proto, 1, dp);
            expect(gen(from, src, 7, proto, 1, dp)).toBe(want);
            expect(gen(from, src | 0, 7, proto, 1, dp)).toBe(want);
            expect(int(from, src, 7, proto, 1, dp)).toBe(want);
          }
        }
      }), { numRuns: 300 });
  });

  it("compiles a port list to one bit-set test and srcIn to a hash lookup", () => {
    const ports = [23, 25, 110, 135, 139].map((d) => ({ action: 2, proto: 17, dport: [d, d] as PortRange }));
    const src = compileAcl4([{ action: 1, srcIn: [1, 2, 3] }, ...ports]).toString();
    expect(src).toMatch(/dport >>> 5/);
    expect(src).not.toMatch(/dport === 23/);
    expect(src).toMatch(/in\d+\(src \| 0\)/);
    expect(compileAcl4(ports.slice(0, 3)).toString()).toMatch(/dport === 23/); // too few to be worth a table
  });

  it("srcIn: 1,000 addresses and 0.0.0.0", () => {
    const list = Array.from({ length: 1000 }, (_, i) => (0xc6120000 + i * 7) >>> 0);
    for (const codegen of [true, false]) {
      const m = compileAcl4([{ action: 5, srcIn: list }], { codegen });
      expect(m(0, 0xc6120000 + 7 * 999, 0, 6, 1, 1)).toBe(5);
      expect(m(0, 0xc6120001, 0, 6, 1, 1)).toBe(-1);
      expect(m(0, 0, 0, 6, 1, 1)).toBe(-1);
      expect(compileAcl4([{ action: 5, srcIn: [0] }], { codegen })(0, 0, 0, 6, 1, 1)).toBe(5);
    }
    expect(() => compileAcl4([{ action: 1, srcIn: [1.5] }])).toThrow(/rule 0 srcIn/);
    expect(() => compileAcl4([{ action: 1, srcIn: 7 as unknown as number[] }])).toThrow(/rule 0 srcIn/);
  });

  it("a catch-all rule ends the list; no rules never match", () => {
    const m = compileAcl4([{ action: 1, proto: 6 }, { action: 2 }, { action: 3, proto: 17 }]);
    expect(m(0, 1, 2, 6, 1, 1)).toBe(1);
    expect(m(0, 1, 2, 17, 1, 1)).toBe(2);
    expect(compileAcl4([])(0, 1, 2, 6, 1, 1)).toBe(-1);
    expect(compileAcl6([])(0, 1, 2, 3, 4, 5, 6, 7, 8, 6, 1, 1)).toBe(-1);
  });

  it("packets without ports never match a port rule, even [0, 65535]", () => {
    const m = compileAcl4([{ action: 1, dport: [0, 65535] }]);
    expect(m(0, 0, 0, 6, 5, 0)).toBe(1);
    expect(m(0, 0, 0, 1, -1, -1)).toBe(-1);
  });

  it("real prefixes", () => {
    const m = compileAcl4([{ action: 7, src: parsePrefix("10.0.0.0/8"), dst: parsePrefix("192.168.1.0/24") }]);
    expect(m(0, ip4("10.200.1.1"), ip4("192.168.1.77"), 6, 1, 1)).toBe(7);
    expect(m(0, ip4("11.200.1.1"), ip4("192.168.1.77"), 6, 1, 1)).toBe(-1);
    expect(m(0, ip4("10.200.1.1"), ip4("192.168.2.77"), 6, 1, 1)).toBe(-1);
    const p = parsePrefix6("2001:db8::/32");
    const m6 = compileAcl6([{ action: 4, src: p }]);
    expect(m6(0, 0x20010db8, 0xffffffff, 0, 1, 0, 0, 0, 0, 17, 1, 1)).toBe(4);
    expect(m6(0, 0x20010db9, 0, 0, 1, 0, 0, 0, 0, 17, 1, 1)).toBe(-1);
  });

  it("rejects values that are not small integers (nothing else reaches generated code)", () => {
    expect(() => compileAcl4([{ action: 256 }])).toThrow(/rule 0 action/);
    expect(() => compileAcl4([{ action: 1, proto: 1.5 }])).toThrow(/rule 0 proto/);
    expect(() => compileAcl4([{ action: 1, dport: [80, 70] }])).toThrow(/rule 0 dport: range \[80, 70\] is empty/);
    expect(() => compileAcl4([{ action: 1, src: { addr: -1, len: 8 } }])).toThrow(/rule 0 src address/);
    expect(() => compileAcl4([{ action: 1, src: { addr: 1, len: 33 } }])).toThrow(/prefix length/);
    expect(() => compileAcl4([{ action: "1; process.exit()" as unknown as number }])).toThrow(/action/);
    expect(() => compileAcl6([{ action: 1, dst: { words: [0, 0, 0, 2 ** 32], len: 128 } }])).toThrow(/rule 0 dst address/);
  });
});
