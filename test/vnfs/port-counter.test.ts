// The reload example: version 2's migrate() reshapes version 1's state.
import { describe, expect, it } from "vitest";
import { Batch, makeCtx } from "../../sdk";
import v1 from "../../vnfs/port-counter-v1";
import v2 from "../../vnfs/port-counter";

const frames = [60, 100, 1500].map((n) => new Uint8Array(n));

function batchFrom(ports: number[]): Batch {
  const b = Batch.fromFrames(frames, v1.ports);
  b.inPorts.set(ports);
  return b;
}

describe("port-counter, versions 1 and 2", () => {
  it("carries v1's packet counts into v2 by reference and starts bytes at zero", () => {
    const logs: string[] = [];
    const ctx = makeCtx(v1.ports, { log: (...a) => logs.push(a.join(" ")) });
    const s1 = v1.init!(ctx);
    v1.process(batchFrom([0, 1, 0]), s1, ctx);
    const s2 = v2.migrate!(s1, ctx, v2.init!(ctx));
    expect(s2.packets).toBe(s1.packets);
    expect(Array.from(s2.bytes)).toEqual([0, 0]);
    expect(logs).toEqual(["byte counts start now (the previous version did not count bytes)"]);
    const b = batchFrom([1, 1, 0]);
    v2.process(b, s2, ctx);
    expect(Array.from(s2.packets)).toEqual([3, 3]);
    expect(Array.from(s2.bytes)).toEqual([1500, 160]);
    expect(Array.from(b.verdicts.subarray(0, 3))).toEqual([1, 1, 2]);
  });

  it("keeps both counts when v2 is reloaded onto itself", () => {
    const ctx = makeCtx(v2.ports);
    const s = v2.init!(ctx);
    v2.process(batchFrom([0, 0, 1]), s, ctx);
    const again = v2.migrate!(s, ctx, v2.init!(ctx));
    expect(Array.from(again.packets)).toEqual([2, 1]);
    expect(Array.from(again.bytes)).toEqual([160, 1500]);
  });
});
