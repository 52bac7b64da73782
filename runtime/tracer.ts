// vnfrun trace, the core's side: after process() and before the verdicts
// are carried out, copies the packets an attached trace asked for (by the
// cause of their drop, or passed) and posts them to the supervisor. The
// loop checks one control word per batch; nothing is copied while no trace
// is attached. At most PER_SECOND packets a second per core; the rest are
// counted as missed.
import type { CoreView } from "./v8-context";

// Bits of the control word CTL_TRACE: what the attached traces want.
export const TRACE = { vnf_drops: 1, vnf_error_drops: 2, bad_verdicts: 4, passed: 8 } as const;
export type TraceCause = keyof typeof TRACE;

const PER_SECOND = 20_000;

export interface TracedFrame { cause: TraceCause; in: number; out: number; data: Uint8Array }
export interface TraceMessage { type: "trace"; core: number; gen: number; at: number; frames: TracedFrame[]; missed: number }

export class Tracer {
  private budget = PER_SECOND;
  private window = 0;
  private missed = 0;
  constructor(private view: CoreView, private post: (m: TraceMessage) => void) {}

  capture(want: number, count: number, failed: boolean, gen: number): void {
    const now = performance.now();
    if (now - this.window >= 1000) { this.window = now; this.budget = PER_SECOND; }
    const { pool, offsets, lengths, inPorts, verdicts, portNames } = this.view;
    const frames: TracedFrame[] = [];
    for (let i = 0; i < count; i++) {
      const v = failed ? 0 : verdicts[i];
      const cause: TraceCause = failed ? "vnf_error_drops" : v === 0 ? "vnf_drops" : v > portNames.length ? "bad_verdicts" : "passed";
      if (!(want & TRACE[cause])) continue;
      if (this.budget === 0) { this.missed++; continue; }
      this.budget--;
      frames.push({ cause, in: inPorts[i], out: cause === "passed" ? v - 1 : -1, data: pool.slice(offsets[i], offsets[i] + lengths[i]) });
    }
    if (frames.length || this.missed) {
      this.post({ type: "trace", core: this.view.core, gen, at: Date.now(), frames, missed: this.missed });
      this.missed = 0;
    }
  }
}
