// The VNF's own counters (ctx.counters in the SDK). A core's counters live
// in a SharedArrayBuffer the VNF adds to and the supervisor reads: the
// summary, --metrics and vnf-counters.json in the run's directory (for
// vnfrun top, written once a second) all sum them over cores.
import { checkCounterNames } from "../sdk/vnf";
import { Histogram } from "../sdk/histogram";
import type { HeldState } from "./control";

/** The worker's side: one array per set of names, the same one on every call. */
export class CoreCounters {
  private sets = new Map<string, Float64Array>();
  constructor(private core: number, private post: (m: VnfCountersMessage) => void) {}

  get(names: readonly string[]): Float64Array {
    checkCounterNames(names);
    const key = names.join(",");
    let arr = this.sets.get(key);
    if (!arr) {
      arr = new Float64Array(new SharedArrayBuffer(8 * names.length));
      this.sets.set(key, arr);
      this.post({ type: "vnf-counters", core: this.core, names: [...names], buffer: arr.buffer as SharedArrayBuffer });
    }
    return arr;
  }

  /** A dead worker's arrays (the supervisor held them): this core counts on in them. */
  adopt(held: HeldState): void {
    for (const c of held.counters) this.sets.set(c.names.join(","), new Float64Array(c.buffer));
    for (const h of held.histograms) this.histograms.set(`${h.name}(${h.bounds.join(",")})`, new Histogram(h.bounds, new Float64Array(h.buffer)));
  }

  histogram(name: string, bounds: readonly number[]): Histogram {
    checkCounterNames([name]);
    const key = `${name}(${bounds.join(",")})`;
    let h = this.histograms.get(key);
    if (!h) {
      h = new Histogram(bounds, new Float64Array(new SharedArrayBuffer(8 * (bounds.length + 3))));
      this.histograms.set(key, h);
      this.post({ type: "vnf-histogram", core: this.core, name, bounds: [...bounds], buffer: h.values.buffer as SharedArrayBuffer });
    }
    return h;
  }
  private histograms = new Map<string, Histogram>();
}

export type VnfCountersMessage =
  | { type: "vnf-counters"; core: number; names: string[]; buffer: SharedArrayBuffer }
  | { type: "vnf-histogram"; core: number; name: string; bounds: number[]; buffer: SharedArrayBuffer };

/** A histogram summed over cores: counts per bucket (the last +Inf), sum, count. */
export interface HistogramTotals { bounds: number[]; buckets: number[]; sum: number; count: number }

/** The supervisor's side: every core's sets. */
export class VnfCounters {
  private sets: { core: number; names: string[]; values: Float64Array }[] = [];
  private hists: { core: number; name: string; bounds: number[]; values: Float64Array }[] = [];

  add(m: VnfCountersMessage): void {
    if (m.type === "vnf-histogram") this.hists.push({ core: m.core, name: m.name, bounds: m.bounds, values: new Float64Array(m.buffer) });
    else this.sets.push({ core: m.core, names: m.names, values: new Float64Array(m.buffer) });
  }

  /** A core's arrays, for a worker started in place of its dead one. */
  heldBy(core: number): Pick<HeldState, "counters" | "histograms"> {
    return {
      counters: this.sets.filter((s) => s.core === core).map((s) => ({ names: s.names, buffer: s.values.buffer as SharedArrayBuffer })),
      histograms: this.hists.filter((h) => h.core === core).map((h) => ({ name: h.name, bounds: h.bounds, buffer: h.values.buffer as SharedArrayBuffer })),
    };
  }

  /** Per histogram name, per core: bounds and the raw values (histogram.ts layout). */
  histogramsPerCore(): Map<string, { core: number; bounds: number[]; values: Float64Array }[]> {
    const out = new Map<string, { core: number; bounds: number[]; values: Float64Array }[]>();
    for (const h of this.hists) {
      if (!out.has(h.name)) out.set(h.name, []);
      out.get(h.name)!.push(h);
    }
    return out;
  }

  /** Per histogram name, summed over cores (the first bounds seen win). */
  histograms(): Record<string, HistogramTotals> {
    const out: Record<string, HistogramTotals> = {};
    for (const [name, list] of this.histogramsPerCore()) {
      const bounds = list[0].bounds, n = bounds.length;
      const t: HistogramTotals = { bounds, buckets: Array(n + 1).fill(0), sum: 0, count: 0 };
      for (const h of list.filter((x) => x.bounds.join() === bounds.join())) {
        for (let i = 0; i <= n; i++) t.buckets[i] += h.values[i];
        t.sum += h.values[n + 1];
        t.count += h.values[n + 2];
      }
      out[name] = t;
    }
    return out;
  }

  /** Per name, per core. */
  perCore(): Map<string, Map<number, number>> {
    const out = new Map<string, Map<number, number>>();
    for (const s of this.sets)
      s.names.forEach((n, i) => {
        if (!out.has(n)) out.set(n, new Map());
        const byCore = out.get(n)!;
        byCore.set(s.core, (byCore.get(s.core) ?? 0) + s.values[i]);
      });
    return out;
  }

  /** Per name, summed over cores. */
  totals(): Record<string, number> {
    return Object.fromEntries([...this.perCore()].map(([n, byCore]) => [n, [...byCore.values()].reduce((a, b) => a + b, 0)]));
  }
}
