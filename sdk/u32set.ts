// A set of uint32 keys (IPv4 addresses) in open addressing with linear
// probing over an Int32Array: has() is a multiply, a shift and a probe or
// two, with no allocation and no boxed keys. Key 0 (0.0.0.0) is tracked
// separately because 0 marks an empty slot.
//
// Tuned for a firewall, whose lookups mostly miss, next to a packet engine
// that sweeps the L1 cache with every batch (measured with perf: a quarter
// of a firewall loop's time went to loads from a 16 KB table). Beside the
// table sits a bit per slot, set while some key has that slot as its home:
// a key whose home bit is clear is not in the set. The table is kept at
// most 1/8 full (32 bytes a key), so nearly 9 misses in 10 end at that
// bitmap, which is small enough to stay cached (1 KB for 1,000 keys), and
// has() rarely goes past the home slot. has() has no loop: the rest of a
// probe run is another function, called rarely enough (under V8's 15%
// threshold) that V8 inlines has() alone into a packet loop.

const HASH = 0x9e3779b1; // Fibonacci hashing: the top bits of k * 2^32/phi

export class U32Set {
  declare private keys: Int32Array;
  /** Bit i set: some key's home slot is i. */
  declare private homes: Int32Array;
  declare private shift: number;
  private hasZero = false;
  private n = 0;

  constructor(capacity = 16) {
    let cap = 32;
    while (cap < capacity * 8) cap *= 2; // stay at most an eighth full
    this.keys = new Int32Array(cap);
    this.homes = new Int32Array(cap >>> 5);
    this.shift = 32 - Math.log2(cap);
  }

  get size(): number { return this.n; }

  has(key: number): boolean {
    const k = key | 0;
    // HASH as a literal: bundled, a module constant is a variable to V8.
    const h = Math.imul(k, 0x9e3779b1) >>> this.shift;
    return (this.homes[h >>> 5] & (1 << h)) !== 0 && (this.keys[h] === k || this.probe(k, h));
  }

  /** has() past the home slot h, which holds another key or none. */
  private probe(k: number, h: number): boolean {
    if (k === 0) return this.hasZero;
    const keys = this.keys, mask = keys.length - 1;
    for (let j = (h + 1) & mask; ; j = (j + 1) & mask) {
      const s = keys[j];
      if (s === k) return true;
      if (s === 0) return false;
    }
  }

  add(key: number): this {
    const k = key | 0;
    if (k === 0) {
      // 0 marks an empty slot, so key 0 lives in hasZero; its home bit
      // (slot 0's) is set too, and has(0) finds slot 0 empty or asks probe().
      if (!this.hasZero) { this.hasZero = true; this.homes[0] |= 1; this.n++; }
      return this;
    }
    if ((this.n + 1) * 8 > this.keys.length) this.grow();
    const keys = this.keys, mask = keys.length - 1;
    const h = Math.imul(k, HASH) >>> this.shift;
    for (let i = h; ; i = (i + 1) & mask) {
      const s = keys[i];
      if (s === k) return this;
      if (s === 0) {
        keys[i] = k;
        this.homes[h >>> 5] |= 1 << h;
        this.n++;
        return this;
      }
    }
  }

  delete(key: number): boolean {
    const k = key | 0;
    const keys = this.keys, mask = keys.length - 1;
    const h = Math.imul(k, HASH) >>> this.shift;
    if (k === 0) {
      if (!this.hasZero) return false;
      this.hasZero = false;
      this.n--;
      this.clearHome(0);
      return true;
    }
    let i = h;
    for (;; i = (i + 1) & mask) {
      const s = keys[i];
      if (s === 0) return false;
      if (s === k) break;
    }
    // Backward-shift deletion: pull later keys of the probe run into the gap
    // so lookups never need tombstones.
    let gap = i;
    for (let j = (i + 1) & mask; keys[j] !== 0; j = (j + 1) & mask) {
      const home = Math.imul(keys[j], HASH) >>> this.shift;
      // Move keys[j] if its home is not in the cyclic range (gap, j].
      if (((j - home) & mask) >= ((j - gap) & mask)) {
        keys[gap] = keys[j];
        gap = j;
      }
    }
    keys[gap] = 0;
    this.n--;
    this.clearHome(h);
    return true;
  }

  /** Clear h's home bit unless a key still calls h home: such keys sit in
   *  the run that starts at h (and key 0's home is 0). */
  private clearHome(h: number): void {
    if (h === 0 && this.hasZero) return;
    const keys = this.keys, mask = keys.length - 1;
    for (let j = h; keys[j] !== 0; j = (j + 1) & mask) {
      if ((Math.imul(keys[j], HASH) >>> this.shift) === h) return;
    }
    this.homes[h >>> 5] &= ~(1 << h);
  }

  /** The table as it is now, copied: for code that compiles a fixed set
   *  (sdk/acl's srcIn) with the same layout and lookup. Internal. */
  _frozen(): { keys: Int32Array; homes: Int32Array; shift: number; hasZero: boolean } {
    return { keys: this.keys.slice(), homes: this.homes.slice(), shift: this.shift, hasZero: this.hasZero };
  }

  clear(): void {
    this.keys.fill(0);
    this.homes.fill(0);
    this.hasZero = false;
    this.n = 0;
  }

  private grow(): void {
    const old = this.keys;
    this.keys = new Int32Array(old.length * 2);
    this.homes = new Int32Array(this.keys.length >>> 5);
    if (this.hasZero) this.homes[0] = 1;
    this.shift--;
    this.n = this.hasZero ? 1 : 0;
    for (let i = 0; i < old.length; i++) if (old[i] !== 0) this.add(old[i]);
  }
}
