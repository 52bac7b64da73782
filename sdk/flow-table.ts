// FlowTable: connections keyed by their 5-tuple (IPv4 or IPv6), in typed
// arrays. Open addressing with linear probing and backward-shift deletion
// (no tombstones, so a long run never degrades), one stored hash per slot
// so moving an entry never rehashes its key. A slot is one record: expiry,
// hash, timeout class, key and value words side by side (IPv4 with two
// values: 36 bytes), so finding, renewing and reading an entry touches one
// cache line (mostly), not one per array. Each entry has a timeout class
// (TCP states can each have their own) and an expiry time; `tick(now)` once
// per batch sweeps a few slots, so expiry is never a stop-the-world scan.
// Capacity is fixed; when it is reached the table refuses new entries or
// evicts the one nearest its expiry among the few beside the new key's
// home slot, and counts either.
//
// All of it lives in one buffer (FlowTable.bytesFor), which the caller may
// hand in: a SharedArrayBuffer kept by the host makes a reload or a
// restarted core find the same connections (`attach`).
//
// Slots are indices: valid until the next add/remove/tick (a removal shifts
// later entries back). Keep keys, not slots, across calls.

export interface FlowTableOptions {
  /** Most live entries (the slot array is the next power of two >= 4/3 of it). */
  capacity: number;
  /** IPv6 5-tuples (10 key words) instead of IPv4 (4). */
  ipv6?: boolean;
  /** uint32 value words per entry (default 1): `values[table.at(slot) + k]`. */
  valueWords?: number;
  /** float64 value words per entry (default 0), for byte counts: `numbers[slot * numberWords + k]`. */
  numberWords?: number;
  /** Idle timeout in ms of each timeout class (default one class of 30 s). */
  timeouts?: readonly number[];
  /** At capacity: refuse the new entry (default), or evict the one nearest
   *  expiry among the `EVICT_SAMPLE` slots from the new key's home on. */
  whenFull?: "refuse" | "evict";
  /** ms to pass over every slot once (expiring what is due), spread over
   *  the ticks by the time between them (default 1000). */
  sweepMs?: number;
  /** Memory to build in, at least bytesFor(options) long; when it already
   *  holds a table of the same shape, that table is attached as it is. */
  buffer?: ArrayBufferLike;
}

/** Counts in `stats`, by index. */
export const FT_ADDED = 0, FT_REMOVED = 1, FT_EXPIRED = 2, FT_REFUSED = 3, FT_EVICTED = 4;
export const FLOW_TABLE_STATS = ["added", "removed", "expired", "refused", "evicted"] as const;

const MAGIC = 0x464c4f59; // "FLOY": this layout
const HEADER = 16; // float64 words: shape, clock, cursor, count, stats
const H_MAGIC = 0, H_SLOTS = 1, H_KEYW = 2, H_VALW = 3, H_NUMW = 4, H_CAP = 5, H_EPOCH = 6, H_CURSOR = 7, H_COUNT = 8, H_STATS = 9;
const EVICT_SAMPLE = 4;   // slots an eviction compares
// Expiries are int32 ms after the table's epoch: timeouts up to 2^29 ms
// (6.2 days), and when the clock reaches 2^30 every expiry moves back 2^29
// (one pass over the table, once in 6 days).
const MAX_TIMEOUT = 2 ** 29, CLOCK_LIMIT = 2 ** 30, CLOCK_SHIFT = 2 ** 29;

function shape(o: FlowTableOptions): { slots: number; kw: number; vw: number; nw: number } {
  const cap = o.capacity;
  if (!Number.isInteger(cap) || cap < 1 || cap > 1 << 28) throw new RangeError(`FlowTable: capacity must be 1..${1 << 28}, got ${cap}`);
  const vw = o.valueWords ?? 1, nw = o.numberWords ?? 0;
  if (!Number.isInteger(vw) || vw < 0 || vw > 64) throw new RangeError(`FlowTable: valueWords must be 0..64, got ${vw}`);
  if (!Number.isInteger(nw) || nw < 0 || nw > 64) throw new RangeError(`FlowTable: numberWords must be 0..64, got ${nw}`);
  let slots = 8;
  while (slots < Math.ceil((cap * 4) / 3) + 1) slots *= 2;
  return { slots, kw: o.ipv6 ? 10 : 4, vw, nw };
}

export class FlowTable {
  /** Bytes a table of these options needs (for a buffer handed in). */
  static bytesFor(o: FlowTableOptions): number {
    const { slots, kw, vw, nw } = shape(o);
    // float64 parts first (header, numbers), then the 4-byte arrays, then classes.
    return 8 * HEADER + 8 * slots * nw + 4 * slots * (3 + kw + vw);
  }

  /**
   * A table in the core's named memory (ctx.memory): a reload, or a core
   * restarted with its memory, finds the same connections. The memory's
   * name carries the table's shape, so a version with another shape gets
   * memory of its own instead of overwriting what the running one uses.
   */
  static shared(ctx: { memory(name: string, bytes: number): ArrayBufferLike }, name: string, o: FlowTableOptions, now?: number): FlowTable {
    const { slots, kw, vw, nw } = shape(o);
    const buffer = ctx.memory(`${name}/${slots}x${kw}.${vw}.${nw}`, FlowTable.bytesFor(o));
    return new FlowTable({ ...o, buffer }, now);
  }

  readonly capacity: number;
  readonly slots: number;
  readonly valueWords: number;
  readonly numberWords: number;
  /** The records as uint32: a slot's value words start at at(slot). */
  readonly values: Uint32Array;
  /** float64 values, numberWords per slot. */
  readonly numbers: Float64Array;
  /** added, removed (by remove()), expired, refused, evicted: FLOW_TABLE_STATS order. */
  readonly stats: Float64Array;
  /** The memory the table lives in (hand it to a new table to re-attach). */
  readonly buffer: ArrayBufferLike;
  /** Whether the buffer already held this table (a re-attach). */
  readonly attached: boolean;
  private readonly mask: number;
  private readonly keyWords: number;
  /** Per slot, `stride` words: expiry (ms after the epoch; 0 = empty), hash,
   *  timeout class, key (keyWords), values (valueWords). */
  private readonly rec: Int32Array;
  private readonly stride: number;
  private readonly valueAt: number;   // 3 + keyWords
  private readonly timeouts: Uint32Array;
  private readonly header: Float64Array;
  private readonly evict: boolean;
  /** Slots owed to the sweep per ms. */
  private readonly perMs: number;
  private owed = 0;
  private epoch: number;
  /** Now, ms after the epoch (at least 1), set by tick(). */
  private now = 1;

  constructor(o: FlowTableOptions, now: number = Date.now()) {
    const { slots, kw, vw, nw } = shape(o);
    const t = o.timeouts ?? [30_000];
    if (!Array.isArray(t) || t.length < 1 || t.length > 255) throw new RangeError("FlowTable: timeouts must list 1..255 timeouts in ms");
    for (const x of t) if (!Number.isFinite(x) || x < 1 || x > MAX_TIMEOUT) throw new RangeError(`FlowTable: a timeout is 1..${MAX_TIMEOUT} ms (6 days), got ${x}`);
    if (o.whenFull !== undefined && o.whenFull !== "refuse" && o.whenFull !== "evict") {
      throw new RangeError(`FlowTable: whenFull must be "refuse" or "evict", got ${JSON.stringify(o.whenFull)}`);
    }
    this.capacity = o.capacity;
    this.slots = slots;
    this.mask = slots - 1;
    this.keyWords = kw;
    this.valueWords = vw;
    this.numberWords = nw;
    this.timeouts = Uint32Array.from(t, (x) => Math.round(x));
    this.evict = o.whenFull === "evict";
    const sweepMs = o.sweepMs ?? 1000;
    if (!(sweepMs >= 1)) throw new RangeError(`FlowTable: sweepMs must be 1 or more, got ${sweepMs}`);
    this.perMs = slots / sweepMs;
    const bytes = FlowTable.bytesFor(o);
    const buf = o.buffer ?? new ArrayBuffer(bytes);
    this.buffer = buf;
    if (buf.byteLength < bytes) throw new RangeError(`FlowTable: the buffer has ${buf.byteLength} bytes, this table needs ${bytes}`);
    let at = 0;
    const f64 = (n: number): Float64Array => { const a = new Float64Array(buf, at, n); at += 8 * n; return a; };
    const u32 = (n: number): Uint32Array => { const a = new Uint32Array(buf, at, n); at += 4 * n; return a; };
    this.header = f64(HEADER);
    this.numbers = f64(slots * nw);
    this.stride = 3 + kw + vw;
    this.valueAt = 3 + kw;
    this.rec = new Int32Array(buf, at, slots * this.stride);
    this.values = u32(slots * this.stride);
    this.stats = this.header.subarray(H_STATS, H_STATS + FLOW_TABLE_STATS.length);
    const h = this.header;
    this.attached = h[H_MAGIC] === MAGIC && h[H_SLOTS] === slots && h[H_KEYW] === kw && h[H_VALW] === vw && h[H_NUMW] === nw;
    if (!this.attached) {
      // A fresh table (or another shape: start over rather than misread it).
      if (o.buffer) { new Uint8Array(buf, 0, bytes).fill(0); }
      h[H_MAGIC] = MAGIC; h[H_SLOTS] = slots; h[H_KEYW] = kw; h[H_VALW] = vw; h[H_NUMW] = nw;
      h[H_EPOCH] = now - 1;
    }
    h[H_CAP] = o.capacity;
    this.epoch = h[H_EPOCH];
    this.now = this.clock(now);
  }

  /** Live entries (expired ones count until swept). */
  get count(): number { return this.header[H_COUNT]; }

  private clock(now: number): number {
    const t = now - this.epoch;
    if (t >= 1 && t < CLOCK_LIMIT) return Math.floor(t);
    if (t < 1) {   // a clock gone back (another host's epoch): start over
      this.clear();
      this.epoch = this.header[H_EPOCH] = now - 1;
      return 1;
    }
    const rec = this.rec, S = this.stride;
    for (let i = 0; i < this.slots; i++) {
      const e = rec[i * S];
      if (e !== 0) rec[i * S] = Math.max(1, e - CLOCK_SHIFT);
    }
    this.epoch = this.header[H_EPOCH] = this.epoch + CLOCK_SHIFT;
    return this.clock(now);
  }

  /** Sets the table's time (ms, Date.now() scale) and expires what is due
   *  in the slots the sweep owes since the last tick (a whole pass per
   *  sweepMs, at most 1/16 of the table per tick); once per batch. Returns
   *  how many entries expired. `budget` overrides the slots looked at. */
  tick(now: number, budget?: number): number {
    const before = this.now;
    this.now = this.clock(now);
    if (budget === undefined) {
      this.owed = Math.min(this.owed + (this.now - before) * this.perMs, this.slots / 16);
      budget = this.owed | 0;
      this.owed -= budget;
    }
    if (this.header[H_COUNT] === 0 || budget <= 0) return 0;
    const rec = this.rec, S = this.stride, mask = this.mask, t = this.now;
    let c = this.header[H_CURSOR], gone = 0;
    for (let k = 0; k < budget; k++) {
      const e = rec[c * S];
      if (e !== 0 && e <= t) {
        this.removeSlot(c);    // may pull a later entry into c: look again
        gone++;
        continue;
      }
      c = (c + 1) & mask;
    }
    this.header[H_CURSOR] = c;
    this.stats[FT_EXPIRED] += gone;
    return gone;
  }

  /** The slot of an IPv4 flow, or -1 (absent or expired). */
  find4(src: number, dst: number, sport: number, dport: number, proto: number): number {
    const ports = (sport << 16) | dport;
    const rec = this.rec, mask = this.mask;
    let i = hash4(src, dst, ports, proto) & mask;
    for (;;) {
      const b = i * this.stride;
      const e = rec[b];
      if (e === 0) return -1;
      if (rec[b + 3] === (src | 0) && rec[b + 4] === (dst | 0) && rec[b + 5] === ports && rec[b + 6] === proto) return e > this.now ? i : -1;
      i = (i + 1) & mask;
    }
  }

  /** Adds an IPv4 flow (or finds it, renewing it if it had expired): its
   *  slot with class `cls` and a fresh expiry, or -1 when the table is full
   *  and refuses. `isNew` says whether the entry was created (values zeroed). */
  add4(src: number, dst: number, sport: number, dport: number, proto: number, cls: number): number {
    const ports = (sport << 16) | dport;
    const h = hash4(src, dst, ports, proto);
    const i = this.probe(h, src | 0, dst | 0, ports, proto, 0, 0, 0, 0, 0, 0);
    return this.place(i, h, src | 0, dst | 0, ports, proto, 0, 0, 0, 0, 0, 0, cls);
  }

  /** The slot of an IPv6 flow (addresses as four big-endian words each), or -1. */
  find6(s0: number, s1: number, s2: number, s3: number, d0: number, d1: number, d2: number, d3: number,
    sport: number, dport: number, proto: number): number {
    const ports = (sport << 16) | dport;
    const h = hash6(s0, s1, s2, s3, d0, d1, d2, d3, ports, proto);
    const i = this.probe(h, s0, s1, ports, proto, s2, s3, d0, d1, d2, d3);
    return i >= 0 && this.rec[i * this.stride] > this.now ? i : -1;
  }

  /** add4 for IPv6. */
  add6(s0: number, s1: number, s2: number, s3: number, d0: number, d1: number, d2: number, d3: number,
    sport: number, dport: number, proto: number, cls: number): number {
    const ports = (sport << 16) | dport;
    const h = hash6(s0, s1, s2, s3, d0, d1, d2, d3, ports, proto);
    const i = this.probe(h, s0, s1, ports, proto, s2, s3, d0, d1, d2, d3);
    return this.place(i, h, s0, s1, ports, proto, s2, s3, d0, d1, d2, d3, cls);
  }

  /** Whether the last add created its entry. */
  isNew = false;

  /** Renews a slot's expiry under timeout class `cls`. */
  touch(slot: number, cls: number): void {
    const o = slot * this.stride;
    this.rec[o] = this.now + this.timeouts[cls];
    this.rec[o + 2] = cls;
  }

  /** Sets a slot's expiry `ms` from now (an entry that carries over time it had elsewhere). */
  expireIn(slot: number, ms: number): void {
    this.rec[slot * this.stride] = this.now + Math.max(1, Math.min(ms, MAX_TIMEOUT));
  }

  /** The slot's timeout class. */
  classOf(slot: number): number { return this.rec[slot * this.stride + 2]; }

  /** Index in `values` of the slot's first value word. */
  at(slot: number): number { return slot * this.stride + this.valueAt; }

  /** Removes a slot's entry (later entries may move back one slot). */
  remove(slot: number): void {
    if (this.rec[slot * this.stride] === 0) return;
    this.removeSlot(slot);
    this.stats[FT_REMOVED]++;
  }

  /** Whether a slot holds a live entry. */
  live(slot: number): boolean { return this.rec[slot * this.stride] > this.now; }

  /** ms until the slot's entry expires (<= 0: expired). */
  remaining(slot: number): number { return this.rec[slot * this.stride] - this.now; }

  /** Key word k of a slot (IPv4: src, dst, sport << 16 | dport, proto;
   *  IPv6: src 0..1, ports, proto, src 2..3, dst 0..3). */
  keyWord(slot: number, k: number): number { return this.rec[slot * this.stride + 3 + k]; }

  /** Calls f(slot) for each live entry (setup and reporting, not per packet). */
  forEach(f: (slot: number) => void): void {
    for (let i = 0; i < this.slots; i++) if (this.rec[i * this.stride] > this.now) f(i);
  }

  /** Empties the table (stats kept). */
  clear(): void {
    this.rec.fill(0);
    this.header[H_COUNT] = 0;
    this.header[H_CURSOR] = 0;
  }

  // Slot of the key, or ~(empty slot where it would go).
  private probe(h: number, a: number, b: number, ports: number, proto: number,
    c: number, d: number, e: number, f: number, g: number, k: number): number {
    const keys = this.rec, mask = this.mask, kw = this.keyWords, S = this.stride;
    let i = h & mask;
    for (;;) {
      const o = i * S + 3;
      if (keys[o - 3] === 0) return ~i;
      if (keys[o - 2] === h && keys[o] === a && keys[o + 1] === b && keys[o + 2] === ports && keys[o + 3] === proto &&
        (kw === 4 || (keys[o + 4] === c && keys[o + 5] === d && keys[o + 6] === e && keys[o + 7] === f && keys[o + 8] === g && keys[o + 9] === k))) return i;
      i = (i + 1) & mask;
    }
  }

  private place(i: number, h: number, a: number, b: number, ports: number, proto: number,
    c: number, d: number, e: number, f: number, g: number, k: number, cls: number): number {
    if (i >= 0) {
      // Present; an expired entry not yet swept is a new connection.
      this.isNew = this.rec[i * this.stride] <= this.now;
      if (this.isNew) this.zero(i);
      this.touch(i, cls);
      return i;
    }
    if (this.header[H_COUNT] >= this.capacity) {
      if (!this.evict || !this.evictNear(h & this.mask)) { this.stats[FT_REFUSED]++; this.isNew = false; return -1; }
      i = this.probe(h, a, b, ports, proto, c, d, e, f, g, k);  // the eviction may have moved slots
    }
    i = ~i;
    const kw = this.keyWords, keys = this.rec, o = i * this.stride + 3;
    keys[o - 2] = h;
    keys[o] = a; keys[o + 1] = b; keys[o + 2] = ports; keys[o + 3] = proto;
    if (kw === 10) { keys[o + 4] = c; keys[o + 5] = d; keys[o + 6] = e; keys[o + 7] = f; keys[o + 8] = g; keys[o + 9] = k; }
    this.zero(i);
    this.touch(i, cls);
    this.header[H_COUNT]++;
    this.stats[FT_ADDED]++;
    this.isNew = true;
    return i;
  }

  private zero(i: number): void {
    const vw = this.valueWords, nw = this.numberWords;
    const v = i * this.stride + this.valueAt;
    for (let k = 0; k < vw; k++) this.rec[v + k] = 0;
    for (let k = 0; k < nw; k++) this.numbers[i * nw + k] = 0;
  }

  // Evicts the entry nearest expiry among the EVICT_SAMPLE slots from the
  // new key's home on: a sampled LRU (as Redis's) taken where the probe
  // has just read, as Linux conntrack's early drop looks in the new
  // entry's own bucket. A walk from a cursor read ten fresh cache lines an
  // eviction; this reads one or two (new NAT bindings 0.9 -> 2.1 M/s, and
  // 1.7 with 8 slots). When none is occupied, it samples after the sweep.
  private evictNear(home: number): boolean {
    const rec = this.rec, S = this.stride, mask = this.mask;
    let best = -1, bestExpiry = 0;
    for (let k = 0, c = home; k < EVICT_SAMPLE; k++, c = (c + 1) & mask) {
      const e = rec[c * S];
      if (e !== 0 && (best < 0 || e < bestExpiry)) { best = c; bestExpiry = e; }
    }
    if (best < 0) return this.evictAfterCursor();
    this.evictSlot(best);
    return true;
  }

  private evictAfterCursor(): boolean {
    const rec = this.rec, S = this.stride, mask = this.mask;
    let c = this.header[H_CURSOR], best = -1, seen = 0;
    for (let k = 0; k <= mask && seen < EVICT_SAMPLE; k++, c = (c + 1) & mask) {
      if (rec[c * S] === 0) continue;
      seen++;
      if (best < 0 || rec[c * S] < rec[best * S]) best = c;
    }
    if (best < 0) return false;
    this.header[H_CURSOR] = (best + 1) & mask;
    this.evictSlot(best);
    return true;
  }

  private evictSlot(i: number): void {
    const expired = this.rec[i * this.stride] <= this.now;
    this.removeSlot(i);
    this.stats[expired ? FT_EXPIRED : FT_EVICTED]++;
  }

  // Backward-shift deletion: pull later entries of the probe run back so
  // every entry stays reachable from its home slot without tombstones.
  private removeSlot(i: number): void {
    const rec = this.rec, S = this.stride, mask = this.mask, nw = this.numberWords;
    const numbers = this.numbers;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      if (rec[j * S] === 0) break;
      const home = rec[j * S + 1] & mask;
      // j's entry may move to i only if its home is not in (i, j] (cyclically).
      if (i <= j ? i < home && home <= j : i < home || home <= j) continue;
      for (let k = 0; k < S; k++) rec[i * S + k] = rec[j * S + k];   // the whole record
      for (let k = 0; k < nw; k++) numbers[i * nw + k] = numbers[j * nw + k];
      i = j;
    }
    rec[i * S] = 0;
    this.header[H_COUNT]--;
  }
}

function mix(h: number, w: number): number {
  h = Math.imul(h ^ w, 0x85ebca6b);
  return h ^ (h >>> 13);
}

/** The table's hash of an IPv4 tuple (ports = sport << 16 | dport). */
export function hash4(src: number, dst: number, ports: number, proto: number): number {
  let h = mix(0x9e3779b9 ^ proto, src);
  h = mix(h, dst);
  h = mix(h, ports);
  h = Math.imul(h ^ (h >>> 16), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function hash6(s0: number, s1: number, s2: number, s3: number, d0: number, d1: number, d2: number, d3: number,
  ports: number, proto: number): number {
  let h = mix(0x7f4a7c15 ^ proto, s0);
  h = mix(h, s1); h = mix(h, s2); h = mix(h, s3);
  h = mix(h, d0); h = mix(h, d1); h = mix(h, d2); h = mix(h, d3);
  h = mix(h, ports);
  h = Math.imul(h ^ (h >>> 16), 0xc2b2ae35);
  return h ^ (h >>> 16);
}
