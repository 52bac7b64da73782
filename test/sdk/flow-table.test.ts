import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FlowTable, FT_ADDED, FT_EVICTED, FT_EXPIRED, FT_REFUSED, hash4 } from "../../sdk";

type Op = ["add" | "find" | "remove", number, number, number] | ["tick", number, number, number];

describe("FlowTable", () => {
  it("behaves like a Map of tuples with expiry under random add/find/remove/tick", () => {
    // A small tuple space forces collisions, long probe runs, wrap-around
    // and backward shifts; time moves in steps around the timeouts.
    const t = fc.integer({ min: 0, max: 30 });
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.tuple(fc.constantFrom("add", "find", "remove"), t, t, fc.integer({ min: 0, max: 1 })) as fc.Arbitrary<Op>,
      fc.tuple(fc.constant("tick"), fc.integer({ min: 0, max: 150 }), fc.constant(0), fc.constant(0)) as fc.Arbitrary<Op>,
    );
    fc.assert(fc.property(fc.array(op, { maxLength: 400 }), fc.boolean(), (ops, v6) => {
      const ft = new FlowTable({ capacity: 24, ipv6: v6, timeouts: [100, 300], sweepMs: 50 }, 1000);
      const model = new Map<string, number>();   // key -> expiry
      let now = 1000;
      const key = (a: number, b: number): string => `${a},${b}`;
      const add = (a: number, b: number, cls: number): number =>
        v6 ? ft.add6(a, -1, 7, a * 3, b, 0, 0, 1, 1000 + a, 80 + b, 6, cls) : ft.add4(0xc6120000 + a, 0xc6130000 + b, 1000 + a, 80 + b, 6, cls);
      const find = (a: number, b: number): number =>
        v6 ? ft.find6(a, -1, 7, a * 3, b, 0, 0, 1, 1000 + a, 80 + b, 6) : ft.find4(0xc6120000 + a, 0xc6130000 + b, 1000 + a, 80 + b, 6);
      for (const [o, a, b, c] of ops) {
        for (const [k, e] of model) if (e <= now) model.delete(k);   // the model expires at once
        if (o === "tick") {
          now += a;
          ft.tick(now);
          continue;
        }
        const k = key(a, b);
        if (o === "add") {
          const live = model.has(k);
          const s = add(a, b, c);
          if (!live && ft.count >= 24 && s < 0) continue;   // full (expired entries still unswept)
          expect(s).toBeGreaterThanOrEqual(0);
          expect(ft.isNew).toBe(!live);
          ft.values[ft.at(s)] = a * 100 + b;
          model.set(k, now + (c ? 300 : 100));
        } else if (o === "find") {
          const s = find(a, b);
          expect(s >= 0).toBe(model.has(k));
          if (s >= 0) expect(ft.values[ft.at(s)]).toBe(a * 100 + b);
        } else {
          const s = find(a, b);
          if (s >= 0) ft.remove(s);
          model.delete(k);
          expect(find(a, b)).toBe(-1);
        }
        for (const [mk] of model) {
          const [x, y] = mk.split(",").map(Number);
          const s = find(x, y);
          expect(s).toBeGreaterThanOrEqual(0);
          expect(ft.values[ft.at(s)]).toBe(x * 100 + y);
        }
      }
    }), { numRuns: 200 });
  });

  it("expires a little per tick, never all at once, and counts it", () => {
    const ft = new FlowTable({ capacity: 10_000, timeouts: [1000] }, 0);
    for (let i = 0; i < 10_000; i++) expect(ft.add4(i, 1, 2, 3, 17, 0)).toBeGreaterThanOrEqual(0);
    expect(ft.count).toBe(10_000);
    expect(ft.tick(5000, 64)).toBeLessThanOrEqual(64);   // at most the budget per tick
    expect(ft.find4(5, 1, 2, 3, 17)).toBe(-1);           // expired entries no longer match
    let ticks = 1;
    while (ft.count > 0) { ft.tick(5000, 64); ticks++; }
    expect(ticks).toBeGreaterThan(10_000 / 64 - 1);
    expect(ft.stats[FT_EXPIRED]).toBe(10_000);
    expect(ft.stats[FT_ADDED]).toBe(10_000);
  });

  it("keeps a touched entry and drops an idle one; classes have their own timeouts", () => {
    const ft = new FlowTable({ capacity: 100, timeouts: [1000, 10_000] }, 0);
    const a = ft.add4(1, 2, 3, 4, 6, 0), b = ft.add4(5, 6, 7, 8, 6, 1);
    expect(ft.classOf(b)).toBe(1);
    ft.tick(900);
    ft.touch(ft.find4(1, 2, 3, 4, 6), 0);
    expect(a).not.toBe(b);
    ft.tick(1500);
    expect(ft.find4(1, 2, 3, 4, 6)).toBeGreaterThanOrEqual(0);   // touched at 900: lives to 1900
    ft.tick(2000);
    expect(ft.find4(1, 2, 3, 4, 6)).toBe(-1);
    expect(ft.find4(5, 6, 7, 8, 6)).toBeGreaterThanOrEqual(0);   // class 1: 10 s
  });

  it("refuses when full, and counts each refusal", () => {
    const ft = new FlowTable({ capacity: 100 }, 0);
    for (let i = 0; i < 100; i++) ft.add4(i, 0, 0, 0, 17, 0);
    expect(ft.add4(1000, 0, 0, 0, 17, 0)).toBe(-1);
    expect(ft.add4(1001, 0, 0, 0, 17, 0)).toBe(-1);
    expect(ft.stats[FT_REFUSED]).toBe(2);
    expect(ft.add4(5, 0, 0, 0, 17, 0)).toBeGreaterThanOrEqual(0);   // an existing one is still found
    expect(ft.count).toBe(100);
  });

  it("evicts the entry nearest expiry among those sampled when told to", () => {
    const ft = new FlowTable({ capacity: 64, whenFull: "evict", timeouts: [100_000] }, 0);
    for (let i = 0; i < 64; i++) { ft.tick(i); ft.add4(i, 0, 0, 0, 17, 0); }
    ft.tick(100);
    for (let i = 0; i < 1000; i++) expect(ft.add4(10_000 + i, 0, 0, 0, 17, 0)).toBeGreaterThanOrEqual(0);
    expect(ft.count).toBe(64);
    expect(ft.stats[FT_EVICTED]).toBe(1000);
    expect(ft.stats[FT_REFUSED]).toBe(0);
    expect(ft.find4(10_999, 0, 0, 0, 17)).toBeGreaterThanOrEqual(0);   // the newest is there
  });

  // Keys (src addresses) by the slot their hash calls home.
  const keyHomed = (slots: number, home: number, from: number): number => {
    for (let k = from; ; k++) if ((hash4(k, 0, 0, 17) & (slots - 1)) === home) return k;
  };

  it("evicts, when full, the entry nearest expiry among the slots from the new key's home on", () => {
    const ft = new FlowTable({ capacity: 8, whenFull: "evict", timeouts: [1_000_000, 100_000, 10_000] }, 0);
    expect(ft.slots).toBe(16);
    // Homes 0-6 and 12; the entry at 3 expires sooner than its neighbours
    // (a new key at home 0 samples 0-3), the one at 12 sooner still.
    const homes = [0, 1, 2, 3, 4, 5, 6, 12];
    const keys = homes.map((home) => keyHomed(16, home, 1));
    keys.forEach((k, i) => expect(ft.add4(k, 0, 0, 0, 17, homes[i] === 3 ? 1 : homes[i] === 12 ? 2 : 0)).toBe(homes[i]));
    ft.tick(50, 0);
    const a = keyHomed(16, 0, 1_000);
    expect(ft.add4(a, 0, 0, 0, 17, 0)).toBeGreaterThanOrEqual(0);
    expect(ft.find4(keys[3], 0, 0, 0, 17)).toBe(-1);
    for (const k of keys.filter((_, i) => homes[i] !== 3)) expect(ft.find4(k, 0, 0, 0, 17)).toBeGreaterThanOrEqual(0);
    expect(ft.stats[FT_EVICTED]).toBe(1);
    expect(ft.count).toBe(8);
  });

  it("evicts after the sweep position when the new key's sample is empty", () => {
    const ft = new FlowTable({ capacity: 12, whenFull: "evict", timeouts: [1_000_000, 100_000] }, 0);
    expect(ft.slots).toBe(32);
    const keys = Array.from({ length: 12 }, (_, home) => keyHomed(32, home, 1));
    keys.forEach((k, home) => ft.add4(k, 0, 0, 0, 17, home === 2 ? 1 : 0));
    const b = keyHomed(32, 20, 1_000);   // its sample, slots 20-23, is empty
    expect(ft.add4(b, 0, 0, 0, 17, 0)).toBeGreaterThanOrEqual(0);
    expect(ft.find4(keys[2], 0, 0, 0, 17)).toBe(-1);
    expect(ft.find4(b, 0, 0, 0, 17)).toBeGreaterThanOrEqual(0);
    expect(ft.stats[FT_EVICTED]).toBe(1);
    expect(ft.count).toBe(12);
  });

  it("re-attaches to the same buffer with its entries, values and counts", () => {
    const opts = { capacity: 1000, valueWords: 2, numberWords: 1, timeouts: [60_000] };
    const buf = new SharedArrayBuffer(FlowTable.bytesFor(opts));
    const a = new FlowTable({ ...opts, buffer: buf }, 10_000);
    expect(a.attached).toBe(false);
    for (let i = 0; i < 500; i++) {
      const s = a.add4(0x0a000000 + i, 0x0a000001, 40000 + i, 443, 6, 0);
      a.values[a.at(s) + 1] = i;
      a.numbers[s] = i * 1.5;
    }
    const b = new FlowTable({ ...opts, buffer: buf }, 20_000);
    expect(b.attached).toBe(true);
    expect(b.count).toBe(500);
    expect(b.stats[FT_ADDED]).toBe(500);
    const s = b.find4(0x0a000000 + 321, 0x0a000001, 40000 + 321, 443, 6);
    expect(b.values[b.at(s) + 1]).toBe(321);
    expect(b.numbers[s]).toBe(321 * 1.5);
    // Another shape in the same memory starts over instead of misreading it.
    const c = new FlowTable({ ...opts, valueWords: 1, buffer: buf }, 20_000);
    expect(c.attached).toBe(false);
    expect(c.count).toBe(0);
  });

  it("says what is wrong with its options", () => {
    expect(() => new FlowTable({ capacity: 0 })).toThrow(/capacity must be/);
    expect(() => new FlowTable({ capacity: 10, timeouts: [] })).toThrow(/timeouts/);
    expect(() => new FlowTable({ capacity: 10, whenFull: "drop" as "refuse" })).toThrow(/whenFull/);
    expect(() => new FlowTable({ capacity: 10, buffer: new ArrayBuffer(8) })).toThrow(/needs \d+/);
  });
});
