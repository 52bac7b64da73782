// Longest-prefix match for IPv4: DIR-16-8-8 (DIR-24-8, Gupta et al., with
// a 16-bit first level: 256 KiB instead of 64 MiB, so it fits a core's
// cache beside the flow tables). A lookup is one load for prefixes up to
// /16, two up to /24, three beyond. Built once from the whole list
// (setup code; a changed list is a new Lpm4, which a reload makes).
// IPv6 is not here yet (a compressed trie would be its form).
import type { Prefix4 } from "./addr";

export class Lpm4 {
  /** Level 1, by the top 16 bits: value + 1, 0 for none, -(chunk + 1) for a 256-entry chunk in `t8`. */
  private readonly t16 = new Int32Array(65536);
  private t8: Int32Array;
  readonly size: number;

  /** `routes`: prefix and value (0 .. 2^30); longer prefixes win, and the later of two equal ones. */
  constructor(routes: readonly { prefix: Prefix4; value: number }[]) {
    for (const r of routes) {
      if (!Number.isInteger(r.value) || r.value < 0 || r.value >= 2 ** 30) throw new RangeError(`Lpm4: a value is 0..2^30, got ${r.value}`);
      if (!Number.isInteger(r.prefix.len) || r.prefix.len < 0 || r.prefix.len > 32) throw new RangeError(`Lpm4: a prefix length is 0..32, got ${r.prefix.len}`);
    }
    const sorted = routes.map((r, i) => ({ ...r, i })).sort((a, b) => a.prefix.len - b.prefix.len || a.i - b.i);
    const chunks: number[] = [];
    const chunkOf = (entry: number): number => {   // the chunk an entry points to, made if it holds a value
      if (entry < 0) return -entry - 1;
      const c = chunks.length / 256;
      for (let k = 0; k < 256; k++) chunks.push(entry);
      return c;
    };
    for (const { prefix, value } of sorted) {
      const a = prefix.addr >>> 0, len = prefix.len, e = value + 1;
      if (len <= 16) {
        const lo = a >>> 16;
        this.t16.fill(e, lo, lo + 2 ** (16 - len));
        continue;
      }
      const c2 = chunkOf(this.t16[a >>> 16]);
      this.t16[a >>> 16] = -c2 - 1;
      const i2 = (a >>> 8) & 255;
      if (len <= 24) {
        for (let k = 0; k < 2 ** (24 - len); k++) chunks[c2 * 256 + i2 + k] = e;
        continue;
      }
      const c3 = chunkOf(chunks[c2 * 256 + i2]);
      chunks[c2 * 256 + i2] = -c3 - 1;
      const i3 = a & 255;
      for (let k = 0; k < 2 ** (32 - len); k++) chunks[c3 * 256 + i3 + k] = e;
    }
    this.t8 = Int32Array.from(chunks);
    this.size = routes.length;
  }

  /** The value of the longest prefix holding `addr` (uint32 or int32), or -1. */
  lookup(addr: number): number {
    let e = this.t16[addr >>> 16];
    if (e >= 0) return e - 1;
    e = this.t8[(-e - 1) * 256 + ((addr >>> 8) & 255)];
    if (e >= 0) return e - 1;
    return this.t8[(-e - 1) * 256 + (addr & 255)] - 1;
  }
}
