// Ip4Set: a fixed set of IPv4 addresses asked "is this one of them?" once
// a packet (a NAT's outside pool, a host's own addresses). Open addressing
// in one Int32Array: a multiply, a load and a compare or two, where a
// Map<number> lookup hashes a heap number (8% of the NAT's time).

export class Ip4Set {
  readonly size: number;
  private readonly slots: Int32Array;   // 0 = empty
  private readonly shift: number;

  /** Addresses as uint32 (or int32); 0.0.0.0 is never a member. */
  constructor(addrs: Iterable<number>) {
    const list = [...new Set(Array.from(addrs, (a) => a | 0))].filter((a) => a !== 0);
    let bits = 3;
    while (1 << bits < list.length * 2) bits++;
    this.slots = new Int32Array(1 << bits);
    this.shift = 32 - bits;
    this.size = list.length;
    const mask = this.slots.length - 1;
    for (const a of list) {
      let i = Math.imul(a, 0x9e3779b1) >>> this.shift;
      while (this.slots[i] !== 0) i = (i + 1) & mask;
      this.slots[i] = a;
    }
  }

  has(addr: number): boolean {
    const a = addr | 0, s = this.slots, mask = s.length - 1;
    if (a === 0) return false;
    for (let i = Math.imul(a, 0x9e3779b1) >>> this.shift; ; i = (i + 1) & mask) {
      const x = s[i];
      if (x === a) return true;
      if (x === 0) return false;
    }
  }
}
