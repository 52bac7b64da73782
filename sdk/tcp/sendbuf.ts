// A connection's send buffer: a byte ring holding what was written and not
// yet acknowledged. It grows (doubling, up to max) when a write needs room
// and the budget allows, and shrinks back to its first size once drained.
// A write takes what fits and says how much: that is the back-pressure.

import type { TcpMemory } from "./memory";

export class SendBuf {
  private buf: Uint8Array | null = null;
  cap = 0;
  private head = 0;
  /** Bytes held (written, not yet acknowledged). */
  length = 0;
  /** A growth the budget refused since the last drain. */
  refused = false;

  constructor(private readonly mem: TcpMemory, readonly initial: number, readonly max: number) {}

  /** Charge the first capacity; false when the budget has no room. */
  open(): boolean {
    if (!this.mem.take(this.initial)) return false;
    this.cap = this.initial;
    return true;
  }

  private grow(want: number): void {
    let top = this.cap;
    while (top < want && top < this.max) top = Math.min(this.max, top * 2);
    // The largest doubling the budget takes, trying smaller ones after a refusal.
    let ncap = top;
    while (ncap > this.cap && !this.mem.take(ncap - this.cap)) ncap = ncap === this.max && this.max !== this.cap * 2 ? this.ladderBelow(ncap) : ncap / 2;
    if (ncap < top) this.refused = true;
    if (ncap <= this.cap) return;
    const nb = this.mem.array(ncap);
    if (this.buf !== null) {
      if (this.length > 0) this.copyOut(0, this.length, nb, 0);
      this.mem.recycle(this.buf);
    }
    this.buf = nb; this.head = 0; this.cap = ncap;
  }

  /** The largest cap * 2^k below n. */
  private ladderBelow(n: number): number {
    let c = this.cap;
    while (c * 2 < n) c *= 2;
    return c;
  }

  /** Copy up to len bytes in; returns how many were taken. */
  write(src: Uint8Array, off: number, len: number): number {
    if (this.length + len > this.cap) this.grow(this.length + len);
    const n = Math.min(len, this.cap - this.length);
    if (n <= 0) return 0;
    if (this.buf === null) this.buf = this.mem.array(this.cap);
    const b = this.buf, cap = this.cap;
    let tail = this.head + this.length; if (tail >= cap) tail -= cap;
    const first = Math.min(n, cap - tail);
    b.set(first === len && off === 0 && src.length === len ? src : src.subarray(off, off + first), tail);
    if (first < n) b.set(src.subarray(off + first, off + n), 0);
    this.length += n;
    return n;
  }

  /** Copy len bytes starting `at` bytes past the head into dst. */
  copyOut(at: number, len: number, dst: Uint8Array, dstOff: number): void {
    const b = this.buf!, cap = this.cap;
    let s = this.head + at; if (s >= cap) s -= cap;
    const first = Math.min(len, cap - s);
    // Short copies by hand: subarray() allocates a view.
    if (first <= 64) for (let i = 0; i < first; i++) dst[dstOff + i] = b[s + i];
    else dst.set(b.subarray(s, s + first), dstOff);
    const rest = len - first;
    if (rest > 0) {
      if (rest <= 64) for (let i = 0; i < rest; i++) dst[dstOff + first + i] = b[i];
      else dst.set(b.subarray(0, rest), dstOff + first);
    }
  }

  /** n bytes were acknowledged. */
  consume(n: number): void {
    this.head += n; if (this.head >= this.cap) this.head -= this.cap;
    this.length -= n;
    if (this.length === 0) {
      this.head = 0;
      this.refused = false;
      if (this.cap > this.initial) { // shrink: give back what bulk took
        this.mem.give(this.cap - this.initial);
        if (this.buf !== null) this.mem.recycle(this.buf);
        this.cap = this.initial; this.buf = null;
      }
    }
  }

  /** Room a write would get without growing. */
  get free(): number { return this.cap - this.length; }

  release(): void {
    this.mem.give(this.cap);
    if (this.buf !== null) this.mem.recycle(this.buf);
    this.cap = 0; this.buf = null; this.length = 0; this.head = 0;
  }
}
