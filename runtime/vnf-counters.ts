// The VNF's own counters (ctx.counters in the SDK). A core's counters live
// in a SharedArrayBuffer the VNF adds to and the supervisor reads: the
// summary, --metrics and vnf-counters.json in the run's directory (for
// vnfrun top, written once a second) all sum them over cores.
import { checkCounterNames } from "../sdk/vnf";

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
}

export interface VnfCountersMessage { type: "vnf-counters"; core: number; names: string[]; buffer: SharedArrayBuffer }

/** The supervisor's side: every core's sets. */
export class VnfCounters {
  private sets: { core: number; names: string[]; values: Float64Array }[] = [];

  add(m: VnfCountersMessage): void {
    this.sets.push({ core: m.core, names: m.names, values: new Float64Array(m.buffer) });
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
