// vnfs/impair.ts on one core of the real engine (pipe ports), on a virtual
// clock: the test sets each batch's `now`, so delays are exact. Live traffic
// through it (ping, iperf3 TCP) is in test/live/impair.test.ts.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { makeCtx } from "../../sdk";
import impair, { DelayLine, readImpairConfig } from "../../vnfs/impair";
import { coreRig, type CoreRig } from "../helpers/core-rig";
import { readPcap } from "../helpers/pcap";
import { vnfrunJson } from "../helpers/tools";

const dir = mkdtempSync(join(tmpdir(), "vnfrun-impair-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CAUSES = ["sent", "lost", "duplicated", "delayed", "reordered", "overflow", "notDuplicated"];

/** Frame i: 60 bytes, its index in the first two. */
const frame = (i: number) => Uint8Array.from({ length: 60 }, (_, j) => (j === 0 ? i >> 8 : j === 1 ? i & 255 : j));
const indexOf = (f: Uint8Array) => (f[0] << 8) | f[1];

function vnf(rig: CoreRig, config: unknown) {
  const counts = new Float64Array(CAUSES.length);
  const ctx = { ...makeCtx(["in", "out"], { config }), counters: () => counts };
  const state = impair.init!(ctx);
  const counters = () => Object.fromEntries(CAUSES.map((k, i) => [k, counts[i]]));
  /** Frames in at virtual time `now` (ms), and what left "out" in that cycle. */
  const step = (now: number, frames: Uint8Array[] = []): number[] => {
    rig.cycle(frames, (b) => impair.process(b, state, ctx), now);
    rig.cycle([]);   // retire: what the VNF sent leaves
    return rig.received().map(indexOf);
  };
  return { state, step, counters };
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

describe("impair", () => {
  it("holds every frame for the delay, then lets it go in order", () => {
    const rig = coreRig(64);
    const v = vnf(rig, { delay: 10, seed: 1 });
    expect(v.step(0, range(0, 5).map(frame))).toEqual([]);
    expect(v.step(4, range(5, 5).map(frame))).toEqual([]);
    expect(v.step(9.99)).toEqual([]);
    expect(v.step(10)).toEqual([0, 1, 2, 3, 4]);
    expect(v.step(14)).toEqual([5, 6, 7, 8, 9]);
    expect(v.counters()).toMatchObject({ delayed: 10, sent: 10, lost: 0 });
    expect(rig.counters()).toMatchObject({ kept: 10, released: 10, keep_refused: 0, bad_releases: 0 });
    rig.close();
  });

  it("with jitter, lets each frame go at its own time: every frame once, some overtaken", () => {
    const rig = coreRig(512);
    const v = vnf(rig, { delay: 20, jitter: 10, seed: 7 });
    const out: number[] = [];
    for (let t = 0; t < 40; t++) out.push(...v.step(t, t < 10 ? range(t * 20, 20).map(frame) : []));
    expect([...out].sort((x, y) => x - y)).toEqual(range(0, 200));
    expect(out).not.toEqual(range(0, 200));
    rig.close();
  });

  it("drops and duplicates at about the configured rates", () => {
    const rig = coreRig(0);
    const v = vnf(rig, { loss: 20, duplicate: 10, seed: 3 });
    const out: number[] = [];
    for (let k = 0; k < 50; k++) out.push(...v.step(k, range(k * 40, 40).map(frame)));
    const c = v.counters();
    expect(c.lost / 2000).toBeGreaterThan(0.15);
    expect(c.lost / 2000).toBeLessThan(0.25);
    expect(c.duplicated / (2000 - c.lost)).toBeGreaterThan(0.06);
    expect(c.duplicated / (2000 - c.lost)).toBeLessThan(0.14);
    expect(out.length).toBe(2000 - c.lost + c.duplicated);
    expect(c.sent).toBe(out.length);
    expect(new Set(out).size).toBe(2000 - c.lost);
    rig.close();
  });

  it("sends `reorder` percent at once, past the delayed ones", () => {
    const rig = coreRig(256);
    const v = vnf(rig, { delay: 5, reorder: 25, seed: 5 });
    const early = v.step(0, range(0, 40).map(frame));
    const late = v.step(5);
    expect(early.length).toBe(v.counters().reordered);
    expect(early.length).toBeGreaterThan(3);
    expect(early.length).toBeLessThan(20);
    expect([...early, ...late].sort((x, y) => x - y)).toEqual(range(0, 40));
    rig.close();
  });

  it("drops what it cannot keep as overflow, and each direction has its own settings", () => {
    const rig = coreRig(8);
    const v = vnf(rig, { out: { delay: 1 }, delay: 10 });
    expect(v.step(0, range(0, 20).map(frame))).toEqual([]);
    expect(v.counters()).toMatchObject({ delayed: 8, overflow: 12 });
    expect(v.step(10)).toEqual(range(0, 8));
    expect(readImpairConfig({ out: { delay: 1 }, delay: 10 }).settings.map((s) => s.delay)).toEqual([10, 1]);
    rig.close();
  });

  it.each([["none", 1], ["sw1", 2]])("through vnfrun (%s, %i cores): a run whose input ends lets every delayed frame out first", (dist, cores) => {
    const out = join(dir, `impair-${dist}.pcap`);
    const s = vnfrunJson(["vnfs/impair.ts", "--port", "in=gen:count=3000", "--port", `out=pcap:${out},write`, "--cores", String(cores), "--dist", dist,
      "--config", '{"delay":30,"duplicate":10,"seed":2}']) as { seconds: number; vnf_counters: Record<string, number>; cores: Record<string, number>[] };
    const dup = s.vnf_counters.duplicated;
    expect(dup).toBeGreaterThan(150);
    expect(readPcap(out).length).toBe(3000 + dup);
    expect(s.seconds).toBeGreaterThanOrEqual(0.03);
    const kept = s.cores.reduce((t, c) => t + c.kept, 0), released = s.cores.reduce((t, c) => t + c.released, 0);
    expect([kept, released]).toEqual([3000 + dup, 3000 + dup]);
  });

  it("names the field to fix", () => {
    const bad = (c: unknown): string => { try { readImpairConfig(c); return ""; } catch (e) { return (e as Error).message; } };
    expect(bad({ loss: 101 })).toBe("impair config loss: 101 is not a number >= 0 and <= 100");
    expect(bad({ reorder: 5 })).toMatch(/^impair config: reorder sends some frames at once, past delayed ones: give a delay too$/);
    expect(bad({ in: { delay: -1 } })).toMatch(/^impair config in\.delay: -1 is not a number >= 0/);
    expect(bad({ lost: 1 })).toMatch(/^impair config lost: unknown field/);
    expect(bad({ seed: 1.5 })).toMatch(/^impair config seed: 1\.5 is not an integer/);
  });

  it("keeps its delay line in time order, ties in arrival order", () => {
    const line = new DelayLine();
    const dues = Array.from({ length: 500 }, (_, i) => Math.floor(((i * 7919) % 101) / 3));
    dues.forEach((d, i) => line.push(d, i, 0));
    const popped: [number, number][] = [];
    while (line.n > 0) { popped.push([line.due[0], line.ticket[0]]); line.pop(); }
    const expected = dues.map((d, i) => [d, i] as [number, number]).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    expect(popped).toEqual(expected);
  });
});
