// Sequence-number arithmetic modulo 2^32 (RFC 9293 3.4): a is "before" b
// when the signed 32-bit distance from b to a is negative.

export function seqLt(a: number, b: number): boolean { return ((a - b) | 0) < 0; }
export function seqLe(a: number, b: number): boolean { return ((a - b) | 0) <= 0; }
export function seqGt(a: number, b: number): boolean { return ((a - b) | 0) > 0; }
export function seqGe(a: number, b: number): boolean { return ((a - b) | 0) >= 0; }
/** b - a as a signed distance (positive when b is after a). */
export function seqDiff(b: number, a: number): number { return (b - a) | 0; }
/** a + n, kept unsigned. */
export function seqAdd(a: number, n: number): number { return (a + n) >>> 0; }
export function seqMax(a: number, b: number): number { return seqLt(a, b) ? b : a; }
