// The sender's SACK scoreboard (RFC 6675): which bytes past snd.una the
// receiver holds. Ranges are sequence pairs, sorted and merged. A hole is
// lost once more than (DupThresh - 1) * SMSS bytes above it are SACKed
// (IsLost); pipe counts what is still in flight.

import { seqGe, seqGt, seqLe, seqLt, seqMax } from "./seq";

const MAX_RANGES = 32;

export class Scoreboard {
  readonly s: number[] = [];
  readonly e: number[] = [];
  n = 0;
  /** Bytes SACKed in all ranges. */
  sacked = 0;

  clear(): void { this.n = 0; this.sacked = 0; }

  /** Highest SACKed sequence (the end of the last range); una when none. */
  high(una: number): number { return this.n > 0 ? this.e[this.n - 1] : una; }

  /** Add one block, checked against [una, max). Returns true if it told something new. */
  add(bs: number, be: number, una: number, max: number): boolean {
    if (!seqLt(bs, be) || seqLe(be, una) || seqGt(be, max)) return false; // D-SACK, stale, or bogus
    if (seqLt(bs, una)) bs = una;
    const s = this.s, e = this.e;
    let i = 0;
    while (i < this.n && seqLt(e[i], bs)) i++;
    if (i < this.n && seqLe(s[i], be)) {
      if (seqLe(s[i], bs) && seqGe(e[i], be)) return false;
      if (seqLt(bs, s[i])) s[i] = bs;
      if (seqGt(be, e[i])) e[i] = be;
      let j = i + 1;
      while (j < this.n && seqLe(s[j], e[i])) { if (seqGt(e[j], e[i])) e[i] = e[j]; j++; }
      const gone = j - i - 1;
      for (let k = i + 1; k + gone < this.n; k++) { s[k] = s[k + gone]; e[k] = e[k + gone]; }
      this.n -= gone;
    } else {
      if (this.n >= MAX_RANGES) return false;
      for (let k = this.n; k > i; k--) { s[k] = s[k - 1]; e[k] = e[k - 1]; }
      s[i] = bs; e[i] = be; this.n++;
    }
    this.recount();
    return true;
  }

  private recount(): void {
    let t = 0;
    for (let i = 0; i < this.n; i++) t += (this.e[i] - this.s[i]) >>> 0;
    this.sacked = t;
  }

  /** snd.una moved: forget what lies below it. */
  trim(una: number): void {
    let k = 0;
    while (k < this.n && seqLe(this.e[k], una)) k++;
    if (k > 0) {
      for (let i = k; i < this.n; i++) { this.s[i - k] = this.s[i]; this.e[i - k] = this.e[i]; }
      this.n -= k;
    }
    if (this.n > 0 && seqLt(this.s[0], una)) this.s[0] = una;
    this.recount();
  }

  /** Bytes SACKed at or above seq. */
  private sackedAbove(seq: number): number {
    let t = 0;
    for (let i = this.n - 1; i >= 0; i--) {
      if (seqLe(this.e[i], seq)) break;
      t += (this.e[i] - seqMax(this.s[i], seq)) >>> 0;
    }
    return t;
  }

  /** IsLost(seq) with DupThresh 3. */
  isLost(seq: number, mss: number): boolean { return this.sackedAbove(seq) > 2 * mss; }

  /** Bytes in lost holes at or above `from` that are not yet retransmitted:
   *  what pipe must not count. */
  lostBytes(una: number, from: number, mss: number): number {
    let t = 0, prevEnd = una;
    for (let i = 0; i < this.n; i++) {
      const hs = seqMax(prevEnd, from), he = this.s[i];
      if (seqLt(hs, he) && this.isLost(hs, mss)) t += (he - hs) >>> 0;
      prevEnd = this.e[i];
    }
    return t;
  }

  /** NextSeg rule 1: the first lost, unSACKed byte at or above `from`; -1 if none.
   *  `holeEnd` gets where that hole stops. */
  nextLost(una: number, from: number, mss: number): number {
    let prevEnd = una;
    for (let i = 0; i < this.n; i++) {
      const hs = seqMax(prevEnd, from), he = this.s[i];
      if (seqLt(hs, he) && this.isLost(hs, mss)) { this.holeEnd = he; return hs; }
      prevEnd = this.e[i];
    }
    return -1;
  }
  holeEnd = 0;
}
