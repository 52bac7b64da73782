// Kept frames (native/core.h): a VNF keeps a frame past its batch with a
// ticket and lets it go in a later batch. Through the real engine, a core and
// the SDK's Batch over its memory; pipe ports, no root.
import { describe, expect, it } from "vitest";
import { CTL_FORGET_KEPT } from "../sdk/batch";
import { coreRig } from "./helpers/core-rig";

const frame = (tag: number) => Uint8Array.from({ length: 60 }, (_, j) => (j === 0 ? tag : j));

describe("kept frames", () => {
  it("leave in a later batch, in the order released, or are dropped", () => {
    const t = coreRig(8);
    const tickets: number[] = [];
    t.cycle([frame(1), frame(2), frame(3)], (b) => { for (let i = 0; i < b.count; i++) tickets.push(b.keep(i)); });
    expect(tickets.every((x) => x >= 0) && new Set(tickets).size).toBe(3);
    t.cycle([frame(4)], (b) => {
      b.packet(0).send("out");
      expect(b.release(tickets[2], 1)).toBe(true);
      expect(b.release(tickets[0], 1)).toBe(true);
    });
    t.cycle([]);
    expect(t.received().map((f) => f[0])).toEqual([3, 1, 4]);   // released frames go before the batch's own
    t.cycle([], (b) => b.release(tickets[1], -1));
    t.cycle([]);
    expect(t.received().map((f) => f[0])).toEqual([]);
    expect(t.counters()).toMatchObject({ kept: 3, released: 3, vnf_drops: 1, keep_refused: 0, bad_releases: 0 });
    expect(t.batch.keepable).toBe(8);
    t.close();
  });

  it("count forged, lost and doubled tickets without moving a frame", () => {
    const t = coreRig(4);
    let ticket = -1;
    t.cycle([frame(1), frame(2), frame(3)], (b) => {
      ticket = b.keep(0);
      b.keep(1);
      b.packet(1).send("out");         // a verdict after keep() wins; that ticket goes back
      b.verdicts[2] = 255;              // the keep verdict with a ticket never offered
      b.kept.tickets[2] = ticket;
    });
    t.cycle([]);
    expect(t.received().map((f) => f[0])).toEqual([2]);
    expect(t.counters()).toMatchObject({ kept: 1, keep_refused: 1 });
    expect(t.batch.keepable).toBe(3);
    t.cycle([], (b) => { b.release(ticket, 1); b.release(ticket, 1); b.release(99, 1); });
    t.cycle([]);
    expect(t.received().map((f) => f[0])).toEqual([1]);
    expect(t.counters()).toMatchObject({ released: 1, bad_releases: 2 });
    expect(t.batch.keepable).toBe(4);
    t.close();
  });

  it("are refused past --keep, and let go when a version starts fresh or the core stops", () => {
    const t = coreRig(2);
    const got: number[] = [];
    t.cycle([frame(1), frame(2), frame(3)], (b) => { for (let i = 0; i < b.count; i++) got.push(b.keep(i)); });
    expect(got[2]).toBe(-1);            // the third finds no ticket: its verdict stays "drop"
    t.cycle([], (b) => { b.ctl[CTL_FORGET_KEPT] = 1; });
    t.cycle([]);
    expect(t.counters()).toMatchObject({ kept: 2, kept_forgotten: 2, vnf_drops: 1 });
    expect(t.batch.keepable).toBe(2);
    t.cycle([frame(4)], (b) => b.keep(0));
    t.core.finish(0);
    expect(t.counters()).toMatchObject({ kept: 3, kept_forgotten: 3 });
    expect(t.received().map((f) => f[0])).toEqual([]);
    t.close();
  });
});
