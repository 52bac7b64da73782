// The per-core memory budget every connection's buffers are charged to.
// A buffer grows only when the budget takes the bytes; a refusal is counted
// and the caller backs off (a short write, a window that stays small, a
// connection not made). Nothing is ever overwritten to make room.

export class TcpMemory {
  /** Bytes charged now (buffer capacity, allocated or promised as window). */
  used = 0;
  /** Highest `used` seen. */
  peak = 0;
  /** Requests the budget turned down. */
  refused = 0;
  constructor(readonly limit: number) {
    if (!(limit > 0)) throw new Error(`TCP memory budget must be a positive number of bytes, got ${limit}`);
  }
  /** Charge n bytes; false (and counted) when that would pass the limit. */
  take(n: number): boolean {
    if (this.used + n > this.limit) { this.refused++; return false; }
    this.used += n;
    if (this.used > this.peak) this.peak = this.used;
    return true;
  }
  give(n: number): void { this.used -= n; }

  // Byte arrays are recycled by size: a fresh 16 KiB array per connection
  // costs an allocation, zeroing and, at 100k connections a second, the
  // garbage collector's time. Free arrays are not charged (they hold no
  // data) but are kept only up to `keep` bytes.
  private readonly free = new Map<number, Uint8Array[]>();
  private freeBytes = 0;
  keep = 32 << 20;

  /** A byte array of exactly n bytes (contents undefined). */
  array(n: number): Uint8Array {
    const l = this.free.get(n);
    if (l !== undefined && l.length > 0) { this.freeBytes -= n; return l.pop()!; }
    return new Uint8Array(n);
  }

  /** An array no longer used. */
  recycle(b: Uint8Array): void {
    if (this.freeBytes + b.length > this.keep) return;
    let l = this.free.get(b.length);
    if (l === undefined) { l = []; this.free.set(b.length, l); }
    l.push(b);
    this.freeBytes += b.length;
  }
}
