// A connection's receive side: a byte ring of `cap` bytes (the window it
// may promise) holding in-order data the application has not taken yet
// (`ready`, from `head`) followed by out-of-order data at its place.
// Out-of-order ranges are kept as sequence pairs, sorted, merged, and
// reported as SACK blocks (the most recent first, RFC 2018 4). The ring's
// bytes are allocated only when something must wait in it; in-order data
// the application takes at once never touches it.

import { seqGt, seqGe, seqLe, seqLt } from "./seq";
import type { TcpMemory } from "./memory";

const MAX_RANGES = 16;

export class RecvBuf {
  buf: Uint8Array | null = null;
  cap = 0;
  head = 0;
  ready = 0;
  /** Out-of-order ranges [start, end) in sequence space, sorted. */
  readonly rs: number[] = [];
  readonly re: number[] = [];
  nRanges = 0;
  /** Start of the range that took the latest segment (SACK's first block). */
  private recent = 0;

  constructor(private readonly mem: TcpMemory, readonly initial: number, readonly max: number) {}

  open(): boolean {
    if (!this.mem.take(this.initial)) return false;
    this.cap = this.initial;
    return true;
  }

  /** Room right of rcv.nxt: the most the window may promise. */
  get space(): number { return this.cap - this.ready; }

  /** Double the ring (autotuning) if the budget takes it. */
  grow(): boolean {
    if (this.cap >= this.max) return false;
    const ncap = Math.min(this.max, this.cap * 2);
    if (!this.mem.take(ncap - this.cap)) return false;
    if (this.buf !== null) {
      const nb = this.mem.array(ncap), b = this.buf, first = this.cap - this.head;
      nb.set(b.subarray(this.head), 0);
      nb.set(b.subarray(0, this.head), first);
      this.mem.recycle(b);
      this.buf = nb;
    }
    this.head = 0; this.cap = ncap;
    return true;
  }

  /** Copy len bytes that belong `rel` bytes past rcv.nxt into the ring. */
  store(rel: number, src: Uint8Array, off: number, len: number): void {
    if (this.buf === null) this.buf = this.mem.array(this.cap);
    const b = this.buf, cap = this.cap;
    let p = this.head + this.ready + rel; while (p >= cap) p -= cap;
    const first = Math.min(len, cap - p);
    b.set(src.subarray(off, off + first), p);
    if (first < len) b.set(src.subarray(off + first, off + len), 0);
  }

  /** Record out-of-order [s, e); false when there is no room for another range. */
  addRange(s: number, e: number): boolean {
    const rs = this.rs, re = this.re;
    let i = 0;
    while (i < this.nRanges && seqLt(re[i], s)) i++;
    if (i < this.nRanges && seqLe(rs[i], e)) {
      // Overlaps or touches range i: widen it, then swallow followers.
      if (seqLt(s, rs[i])) rs[i] = s;
      if (seqGt(e, re[i])) re[i] = e;
      let j = i + 1;
      while (j < this.nRanges && seqLe(rs[j], re[i])) { if (seqGt(re[j], re[i])) re[i] = re[j]; j++; }
      const gone = j - i - 1;
      if (gone > 0) {
        for (let k = i + 1; k + gone < this.nRanges; k++) { rs[k] = rs[k + gone]; re[k] = re[k + gone]; }
        this.nRanges -= gone;
      }
      this.recent = rs[i];
      return true;
    }
    if (this.nRanges >= MAX_RANGES) return false;
    for (let k = this.nRanges; k > i; k--) { rs[k] = rs[k - 1]; re[k] = re[k - 1]; }
    rs[i] = s; re[i] = e; this.nRanges++;
    this.recent = s;
    return true;
  }

  /** rcv.nxt reached the first range: take it; returns the new rcv.nxt. */
  joinRanges(rcvNxt: number): number {
    let nxt = rcvNxt;
    while (this.nRanges > 0 && seqLe(this.rs[0], nxt)) {
      if (seqGt(this.re[0], nxt)) { this.ready += (this.re[0] - nxt) >>> 0; nxt = this.re[0]; }
      for (let k = 1; k < this.nRanges; k++) { this.rs[k - 1] = this.rs[k]; this.re[k - 1] = this.re[k]; }
      this.nRanges--;
    }
    return nxt;
  }

  /** True when [s, e) is already held out of order. */
  holds(s: number, e: number): boolean {
    for (let i = 0; i < this.nRanges; i++) if (seqLe(this.rs[i], s) && seqGe(this.re[i], e)) return true;
    return false;
  }

  /** Fill SACK blocks (at most max), the most recent range first. */
  sackBlocks(out: Uint32Array, max: number): number {
    let n = 0;
    for (let i = 0; i < this.nRanges && n < max; i++) {
      if (this.rs[i] === this.recent) { out[0] = this.rs[i]; out[1] = this.re[i]; n = 1; break; }
    }
    for (let i = 0; i < this.nRanges && n < max; i++) {
      if (n > 0 && this.rs[i] === out[0]) continue;
      out[2 * n] = this.rs[i]; out[2 * n + 1] = this.re[i]; n++;
    }
    return n;
  }

  /** Length of the contiguous ready bytes from head (the first piece). */
  get firstPiece(): number { return Math.min(this.ready, this.cap - this.head); }

  consume(n: number): void {
    this.head += n; if (this.head >= this.cap) this.head -= this.cap;
    this.ready -= n;
    if (this.ready === 0 && this.nRanges === 0) this.head = 0;
  }

  release(): void {
    this.mem.give(this.cap);
    if (this.buf !== null) this.mem.recycle(this.buf);
    this.cap = 0; this.buf = null; this.ready = 0; this.nRanges = 0; this.head = 0;
  }
}
