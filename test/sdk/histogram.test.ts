import { describe, expect, it } from "vitest";
import { Histogram, makeCtx } from "../../sdk";

describe("Histogram", () => {
  it("counts each value under the first bound it does not exceed, the rest as +Inf, with sum and count", () => {
    const h = new Histogram([64, 128, 1518]);
    for (const v of [60, 64, 65, 128, 1000, 1518, 9000]) h.observe(v);
    expect(Array.from(h.values)).toEqual([2, 2, 2, 1, 60 + 64 + 65 + 128 + 1000 + 1518 + 9000, 7]);
    expect(h.count).toBe(7);
  });

  it("refuses bounds that are empty, not rising or not finite, and bad names, in one line", () => {
    const ctx = makeCtx(["in", "out"]);
    expect(() => ctx.histogram("sizes", [])).toThrow(/give 1 to 64 upper bounds/);
    expect(() => ctx.histogram("sizes", [10, 5])).toThrow(/finite and rising/);
    expect(() => ctx.histogram("sizes", [1, Infinity])).toThrow(/finite and rising/);
    expect(() => ctx.histogram("frame size", [1])).toThrow(/not a counter name/);
    expect(ctx.histogram("sizes", [1, 2]).bounds).toEqual(Float64Array.from([1, 2]));
  });
});
