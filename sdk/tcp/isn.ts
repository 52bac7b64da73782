// RFC 6528 initial sequence numbers: ISN = M + F(4-tuple, secret), M a
// 4-microsecond clock, F a keyed hash. F here is HalfSipHash-2-4 over the
// tuple's 32-bit words (no crypto API is assumed: QuickJS has none). The
// same hash, with the key's halves swapped, gives each connection its own
// timestamp offset (RFC 7323 5.4), so timestamps leak no uptime.

/** HalfSipHash-2-4 of `n` 32-bit words (little-endian message words).
 *  The rounds are written out: a closure over v0..v3 would move them to
 *  the heap and cost microseconds per connection. */
export function halfSipHash(k0: number, k1: number, words: Uint32Array, n: number): number {
  let v0 = k0 | 0, v1 = k1 | 0, v2 = (0x6c796765 ^ k0) | 0, v3 = (0x74656462 ^ k1) | 0;
  const total = 2 * n + 6; // 2 rounds per word, 2 after the length word, 4 to finish
  let m = 0;
  for (let r = 0, w = 0; r < total; r++) {
    if (r < 2 * n) { if ((r & 1) === 0) { m = words[w++] | 0; v3 ^= m; } }
    else if (r === 2 * n) { m = (n * 4) << 24; v3 ^= m; }
    else if (r === 2 * n + 2) v2 ^= 0xff;
    v0 = (v0 + v1) | 0; v1 = (v1 << 5) | (v1 >>> 27); v1 ^= v0; v0 = (v0 << 16) | (v0 >>> 16);
    v2 = (v2 + v3) | 0; v3 = (v3 << 8) | (v3 >>> 24); v3 ^= v2;
    v0 = (v0 + v3) | 0; v3 = (v3 << 7) | (v3 >>> 25); v3 ^= v0;
    v2 = (v2 + v1) | 0; v1 = (v1 << 13) | (v1 >>> 19); v1 ^= v2; v2 = (v2 << 16) | (v2 >>> 16);
    if (r < 2 * n + 2 && (r & 1) === 1) v0 ^= m; // after each pair: v0 ^= the word
  }
  return (v1 ^ v3) >>> 0;
}

/** A connection's 4-tuple, hashed for ISNs and timestamp offsets. */
export class IsnSource {
  private readonly w = new Uint32Array(9);
  /** key: two 32-bit words of secret, chosen once per stack. */
  constructor(private readonly k0: number, private readonly k1: number) {}

  private fill(laddr: Uint32Array, lport: number, raddr: Uint32Array, rport: number): void {
    const w = this.w;
    for (let i = 0; i < 4; i++) { w[i] = laddr[i]; w[4 + i] = raddr[i]; }
    w[8] = ((lport << 16) | rport) >>> 0;
  }

  /** The ISN for a new connection at time nowMs. */
  isn(laddr: Uint32Array, lport: number, raddr: Uint32Array, rport: number, nowMs: number): number {
    this.fill(laddr, lport, raddr, rport);
    const m = Math.floor(nowMs * 250) >>> 0; // 4 us ticks
    return (halfSipHash(this.k0, this.k1, this.w, 9) + m) >>> 0;
  }

  /** The per-connection offset added to the timestamp clock. */
  tsOffset(laddr: Uint32Array, lport: number, raddr: Uint32Array, rport: number): number {
    this.fill(laddr, lport, raddr, rport);
    return halfSipHash(this.k1, this.k0, this.w, 9);
  }
}
