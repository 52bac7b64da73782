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
}
