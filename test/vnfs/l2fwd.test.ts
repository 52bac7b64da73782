import { describe, expect, it } from "vitest";
import { Batch, makeCtx } from "../../sdk";
import l2fwd from "../../vnfs/l2fwd";
import { frame, ipv4, udp } from "../sdk/frames";

describe("l2fwd", () => {
  it("sends in->out and out->in and changes no byte", () => {
    const frames = [0, 1, 2, 3, 4].map((i) => frame(0x0800, ipv4({ id: i }, udp(i, i))));
    const b = Batch.fromFrames(frames, l2fwd.ports);
    b.inPorts.set([0, 1, 0, 1, 1]);
    const before = b.bytes.slice();
    const ctx = makeCtx(l2fwd.ports);
    l2fwd.process(b, l2fwd.init!(ctx), ctx);
    expect(Array.from(b.verdicts.subarray(0, b.count))).toEqual([2, 1, 2, 1, 1]); // out = 1 -> verdict 2
    expect(b.bytes).toEqual(before);
  });

  it("follows the port order it is given", () => {
    const ctx = makeCtx(["out", "in"]);
    const b = Batch.fromFrames([new Uint8Array(60)], ["out", "in"]);
    b.inPorts[0] = 1; // arrived on "in"
    l2fwd.process(b, l2fwd.init!(ctx), ctx);
    expect(b.verdicts[0]).toBe(1); // out of "out", index 0
  });
});
