// --reload-diff: copies of the last packets a core received, as they
// arrived (before the VNF touched them), kept in a ring. A reload runs the
// old and the new version over them (v8-context.ts trial) and counts what
// changes. Copying costs a memcpy a packet on the hot path, so it is on only
// with --reload-diff.
import type { CoreView, Outcome, Sample } from "./v8-context";

export const SAMPLE_PACKETS = 4096;
const SLOT = 2048;   // longer frames are kept cut to this

export class Sampler {
  private bytes = new Uint8Array(SAMPLE_PACKETS * SLOT);
  private lengths = new Uint16Array(SAMPLE_PACKETS);
  private inPorts = new Uint8Array(SAMPLE_PACKETS);
  private next = 0;
  private filled = 0;

  constructor(private view: CoreView) {}

  record(count: number): void {
    const { pool, offsets, lengths, inPorts } = this.view;
    for (let i = 0; i < count; i++) {
      const k = this.next, len = Math.min(lengths[i], SLOT), at = offsets[i];
      this.bytes.set(pool.subarray(at, at + len), k * SLOT);
      this.lengths[k] = len;
      this.inPorts[k] = inPorts[i];
      this.next = (k + 1) % SAMPLE_PACKETS;
    }
    this.filled = Math.min(SAMPLE_PACKETS, this.filled + count);
  }

  /** The sample, oldest first. */
  take(): Sample {
    const frames: Uint8Array[] = [], inPorts = new Uint8Array(this.filled);
    for (let j = 0; j < this.filled; j++) {
      const k = (this.next - this.filled + j + SAMPLE_PACKETS) % SAMPLE_PACKETS;
      frames.push(this.bytes.slice(k * SLOT, k * SLOT + this.lengths[k]));
      inPorts[j] = this.inPorts[k];
    }
    return { frames, inPorts };
  }
}

/** How two versions' outcomes differ, packet by packet. */
export interface Diff {
  packets: number;
  verdicts: number;                       // packets whose verdict changed
  bytes: number;                          // same verdict, different bytes
  changes: Record<string, number>;        // "out->drop": n
}

export function compare(old: Outcome, next: Outcome, portNames: readonly string[]): Diff {
  const name = (v: number) => (v === 0 ? "drop" : portNames[v - 1] ?? `verdict ${v}`);
  const d: Diff = { packets: old.verdicts.length, verdicts: 0, bytes: 0, changes: {} };
  for (let i = 0; i < old.verdicts.length; i++) {
    const a = old.verdicts[i], b = next.verdicts[i];
    if (a !== b) {
      d.verdicts++;
      const k = `${name(a)}->${name(b)}`;
      d.changes[k] = (d.changes[k] ?? 0) + 1;
    } else if (a !== 0 && Buffer.compare(old.frames[i], next.frames[i]) !== 0) d.bytes++;
  }
  return d;
}

/** Sums the cores' diffs. */
export function addDiffs(diffs: Diff[]): Diff {
  const total: Diff = { packets: 0, verdicts: 0, bytes: 0, changes: {} };
  for (const d of diffs) {
    total.packets += d.packets;
    total.verdicts += d.verdicts;
    total.bytes += d.bytes;
    for (const [k, n] of Object.entries(d.changes)) total.changes[k] = (total.changes[k] ?? 0) + n;
  }
  return total;
}

export function describeDiff(d: Diff): string {
  const changes = Object.entries(d.changes).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(", ");
  const verdicts = `${d.verdicts} of ${d.packets} recent packets change verdict${changes ? `: ${changes}` : ""}`;
  return d.bytes ? `${verdicts}; ${d.bytes} more leave with other bytes` : verdicts;
}
