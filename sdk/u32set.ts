// A set of uint32 keys (IPv4 addresses) in open addressing with linear
// probing over an Int32Array: has() is a multiply, a shift and a probe or
// two, with no allocation and no boxed keys. Key 0 (0.0.0.0) is tracked
// separately because 0 marks an empty slot.

export class U32Set {
  private keys: Int32Array;
  private shift: number;
  private hasZero = false;
  private n = 0;

  constructor(capacity = 16) {
    let cap = 16;
    while (cap < capacity * 2) cap *= 2; // stay at most half full
    this.keys = new Int32Array(cap);
    this.shift = 32 - Math.log2(cap);
  }

  get size(): number { return this.n; }

  has(key: number): boolean {
    const k = key | 0;
    if (k === 0) return this.hasZero;
    const keys = this.keys, mask = keys.length - 1;
    let i = Math.imul(k, 0x9e3779b1) >>> this.shift;
    for (;;) {
      const s = keys[i];
      if (s === k) return true;
      if (s === 0) return false;
      i = (i + 1) & mask;
    }
  }

  add(key: number): this {
    const k = key | 0;
    if (k === 0) {
      if (!this.hasZero) { this.hasZero = true; this.n++; }
      return this;
    }
    if ((this.n + 1) * 2 > this.keys.length) this.grow();
    const keys = this.keys, mask = keys.length - 1;
    let i = Math.imul(k, 0x9e3779b1) >>> this.shift;
    for (;;) {
      const s = keys[i];
      if (s === k) return this;
      if (s === 0) { keys[i] = k; this.n++; return this; }
      i = (i + 1) & mask;
    }
  }

  delete(key: number): boolean {
    const k = key | 0;
    if (k === 0) {
      const had = this.hasZero;
      if (had) { this.hasZero = false; this.n--; }
      return had;
    }
    const keys = this.keys, mask = keys.length - 1;
    let i = Math.imul(k, 0x9e3779b1) >>> this.shift;
    for (;;) {
      const s = keys[i];
      if (s === 0) return false;
      if (s === k) break;
      i = (i + 1) & mask;
    }
    // Backward-shift deletion: pull later keys of the probe run into the gap
    // so lookups never need tombstones.
    let gap = i;
    for (let j = (i + 1) & mask; keys[j] !== 0; j = (j + 1) & mask) {
      const home = Math.imul(keys[j], 0x9e3779b1) >>> this.shift;
      // Move keys[j] if its home is not in the cyclic range (gap, j].
      if (((j - home) & mask) >= ((j - gap) & mask)) {
        keys[gap] = keys[j];
        gap = j;
      }
    }
    keys[gap] = 0;
    this.n--;
    return true;
  }

  clear(): void {
    this.keys.fill(0);
    this.hasZero = false;
    this.n = 0;
  }

  private grow(): void {
    const old = this.keys;
    this.keys = new Int32Array(old.length * 2);
    this.shift--;
    this.n = this.hasZero ? 1 : 0;
    for (let i = 0; i < old.length; i++) if (old[i] !== 0) this.add(old[i]);
  }
}
