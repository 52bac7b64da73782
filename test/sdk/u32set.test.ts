import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { U32Set } from "../../sdk";

describe("U32Set", () => {
  it("behaves like Set<number> under random add/delete/has", () => {
    // A small key space forces collisions, probe runs and wrap-around.
    const key = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 0xffffffff }));
    const op = fc.tuple(fc.constantFrom("add", "delete", "has"), key);
    fc.assert(fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
      const s = new U32Set(4);
      const m = new Set<number>();
      for (const [o, k] of ops) {
        if (o === "add") { s.add(k); m.add(k); }
        else if (o === "delete") expect(s.delete(k)).toBe(m.delete(k));
        else expect(s.has(k)).toBe(m.has(k));
        expect(s.size).toBe(m.size);
      }
      for (const k of m) expect(s.has(k)).toBe(true);
    }), { numRuns: 300 });
  });

  it("holds 100k addresses and treats numbers as uint32", () => {
    const s = new U32Set();
    for (let i = 0; i < 100_000; i++) s.add((0x0a000000 + i * 7) >>> 0);
    expect(s.size).toBe(100_000);
    expect(s.has(0x0a000000 + 7 * 99_999)).toBe(true);
    expect(s.has(0x0a000001)).toBe(false);
    s.add(0xffffffff);
    expect(s.has(-1)).toBe(true); // same 32 bits
    s.clear();
    expect(s.size).toBe(0);
    expect(s.has(0x0a000000)).toBe(false);
  });

  it("keeps its home bits right through deletes, key 0 included", () => {
    // Keys whose products by the multiplier have the same top bits share a
    // home slot; 0's home is slot 0, where 0 also marks an empty slot.
    const s = new U32Set(4);
    const home0: number[] = [];
    for (let k = 1; home0.length < 3; k++) if ((Math.imul(k, 0x9e3779b1) >>> 27) === 0) home0.push(k);
    s.add(0);
    for (const k of home0) s.add(k);
    for (const k of [0, ...home0]) expect(s.has(k)).toBe(true);
    s.delete(home0[0]);
    expect(s.has(0)).toBe(true);
    expect(s.has(home0[0])).toBe(false);
    s.delete(0);
    expect(s.has(0)).toBe(false);
    expect(s.has(home0[1]) && s.has(home0[2])).toBe(true);
    s.delete(home0[1]);
    s.delete(home0[2]);
    for (const k of [0, ...home0]) expect(s.has(k)).toBe(false);
    s.add(0);
    expect(s.has(0)).toBe(true);
    expect(s.size).toBe(1);
  });
});
