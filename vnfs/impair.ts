// impair: a network emulator between "in" and "out", like Linux's netem but
// in any vnfrun deployment: drops, duplicates, delays (with jitter) and
// reorders frames at configured rates, each direction on its own.
//
//   { "loss": 1, "delay": 10 }                      // both directions
//   { "delay": 20, "jitter": 5, "in": { "loss": 5 }, "out": { "duplicate": 1 } }
//
// Fields (top level: both directions; "in" / "out": frames arriving on that
// port, each field defaulting to the top level's):
//   loss       percent of frames dropped
//   duplicate  percent of frames sent twice (the copy takes the same path)
//   delay      milliseconds every frame waits before it leaves
//   jitter     up to this many milliseconds more or less, uniform; frames
//              then leave in the order of their own times, so some overtake
//              others (as netem's jitter does)
//   reorder    percent of frames sent at once, past the delayed ones (needs
//              a delay, as in netem)
//   seed       the random sequence (default: a new one each start), for a
//              run that repeats exactly; core k uses seed + k
// Every frame is impaired, ARP included. On ports with the virtio-net
// header (packet/tap, the default) a local sender's TCP hands over 64 KiB
// super-frames, each then impaired as one (and too long to copy: counted as
// notDuplicated); turn offloads off on the hosts (ethtool -K DEV tso off gso
// off gro off) for wire-size frames, as with netem. A delayed frame is kept in the
// engine (batch.keep) and released when due, checked each batch and at
// least every --idle-us; the core keeps at most --keep frames (default
// 4096): past that, frames are dropped and counted as `overflow`. A reload
// carries the frames waiting (migrate).
import { ConfigReader, defineVnf } from "../sdk";
import type { Batch, Ctx } from "../sdk";

const PORTS = ["in", "out"] as const;
const SENT = 0, LOST = 1, DUPLICATED = 2, DELAYED = 3, REORDERED = 4, OVERFLOW = 5, NOT_DUPLICATED = 6;
const CAUSES = ["sent", "lost", "duplicated", "delayed", "reordered", "overflow", "notDuplicated"];

/** One direction's impairments: rates as fractions, times in ms. */
export interface Impairment { loss: number; duplicate: number; delay: number; jitter: number; reorder: number }

export interface ImpairConfig { settings: Impairment[]; seed: number }

function readImpairment(c: ConfigReader, d: Impairment): Impairment {
  const percent = (f: string, dflt: number): number => c.number(f, { min: 0, max: 100, default: dflt * 100 }) / 100;
  const ms = (f: string, dflt: number): number => c.number(f, { min: 0, max: 60_000, default: dflt });
  const s = { loss: percent("loss", d.loss), duplicate: percent("duplicate", d.duplicate), delay: ms("delay", d.delay), jitter: ms("jitter", d.jitter), reorder: percent("reorder", d.reorder) };
  if (s.reorder > 0 && s.delay === 0 && s.jitter === 0) c.fail("reorder sends some frames at once, past delayed ones: give a delay too");
  return s;
}

/** The per-direction settings (index: the port a frame arrives on). Throws a ConfigError naming the field. */
export function readImpairConfig(config: unknown): ImpairConfig {
  const c = new ConfigReader(config ?? {}, "impair");
  const top = readImpairment(c, { loss: 0, duplicate: 0, delay: 0, jitter: 0, reorder: 0 });
  const settings = PORTS.map((p) => readImpairment(c.obj(p), top));
  const seed = c.integer("seed", { min: 0, max: 0xffffffff, default: (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0 });
  c.done();
  return { settings, seed };
}

/**
 * Frames waiting, by the time they are due: a binary heap in typed arrays
 * (ties leave in arrival order), grown by doubling. A frame is its keep
 * ticket and the port it leaves by.
 */
export class DelayLine {
  n = 0;
  private seq = 0;
  due = new Float64Array(64);
  order = new Float64Array(64);
  ticket = new Uint32Array(64);
  port = new Uint8Array(64);

  push(due: number, ticket: number, port: number): void {
    if (this.n === this.due.length) this.grow();
    let i = this.n++;
    const order = this.seq++;
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (!this.before(due, order, up)) break;
      this.move(up, i);
      i = up;
    }
    this.set(i, due, order, ticket, port);
  }

  /** Removes the first frame (call only when n > 0). */
  pop(): void {
    const last = --this.n;
    if (last === 0) return;
    const due = this.due[last], order = this.order[last], ticket = this.ticket[last], port = this.port[last];
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= last) break;
      const r = l + 1;
      const c = r < last && this.earlier(r, l) ? r : l;
      if (!this.earlier(c, -1, due, order)) break;
      this.move(c, i);
      i = c;
    }
    this.set(i, due, order, ticket, port);
  }

  private before(due: number, order: number, j: number): boolean {
    return due < this.due[j] || (due === this.due[j] && order < this.order[j]);
  }
  private earlier(a: number, b: number, due = this.due[b], order = this.order[b]): boolean {
    return this.due[a] < due || (this.due[a] === due && this.order[a] < order);
  }
  private move(from: number, to: number): void {
    this.set(to, this.due[from], this.order[from], this.ticket[from], this.port[from]);
  }
  private set(i: number, due: number, order: number, ticket: number, port: number): void {
    this.due[i] = due; this.order[i] = order; this.ticket[i] = ticket; this.port[i] = port;
  }
  private grow(): void {
    const m = this.due.length * 2;
    const due = new Float64Array(m), order = new Float64Array(m), ticket = new Uint32Array(m), port = new Uint8Array(m);
    due.set(this.due); order.set(this.order); ticket.set(this.ticket); port.set(this.port);
    this.due = due; this.order = order; this.ticket = ticket; this.port = port;
  }
}

interface State { settings: Impairment[]; line: DelayLine; rand: number; n: Float64Array; other: number[] }

/** xorshift32: the next state (never 0 from a non-zero one). */
function next(x: number): number {
  x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
  return x >>> 0;
}

export default defineVnf<State>({
  ports: PORTS,
  originates: true,   // process() runs on idle cycles too, to release frames when due
  init(ctx: Ctx) {
    const { settings, seed } = readImpairConfig(ctx.config);
    const a = ctx.port("in"), b = ctx.port("out");
    const other: number[] = [];
    other[a] = b;
    other[b] = a;
    return { settings, line: new DelayLine(), rand: ((seed + ctx.core) >>> 0) || 1, n: ctx.counters(CAUSES), other };
  },
  process(batch: Batch, st: State) {
    const now = batch.now, line = st.line, n = st.n;
    // Due frames first: they leave before this batch's own.
    while (line.n > 0 && line.due[0] <= now) {
      if (!batch.release(line.ticket[0], line.port[0])) break;   // the rest next batch
      line.pop();
      n[SENT]++;
    }
    let x = st.rand;
    const count = batch.count;
    for (let i = 0; i < count; i++) {
      const from = batch.inPorts[i], s = st.settings[from], out = st.other[from];
      x = next(x);
      if (x / 4294967296 < s.loss) { n[LOST]++; continue; }   // verdict 0: dropped
      x = next(x);
      if (x / 4294967296 < s.duplicate) {
        const k = copyOf(batch, i, out);
        if (k >= 0) { n[DUPLICATED]++; x = schedule(batch, st, k, out, s, now, next(x)); } else n[NOT_DUPLICATED]++;
      }
      x = schedule(batch, st, i, out, s, now, next(x));
    }
    st.rand = x;
  },
  // Frames waiting are named by tickets in the delay line: carry it, and
  // the random sequence; the settings are this version's.
  migrate(prev, _ctx, fresh) {
    const p = prev as Partial<State> | null;
    if (p?.line) fresh.line = p.line;
    if (p && typeof p.rand === "number") fresh.rand = p.rand;
    return fresh;
  },
});

/** Entry i leaves by `out` now or later; returns the random state after. */
function schedule(batch: Batch, st: State, i: number, out: number, s: Impairment, now: number, x: number): number {
  const n = st.n;
  if (s.delay === 0 && s.jitter === 0) { batch.verdicts[i] = out + 1; n[SENT]++; return x; }
  if (x / 4294967296 < s.reorder) { batch.verdicts[i] = out + 1; n[SENT]++; n[REORDERED]++; return x; }
  x = next(x);
  const t = batch.keep(i);
  if (t < 0) { batch.verdicts[i] = 0; n[OVERFLOW]++; return x; }
  const wait = s.delay + s.jitter * (2 * (x / 4294967296) - 1);
  st.line.push(now + Math.max(0, wait), t, out);
  n[DELAYED]++;
  return next(x);
}

/** A copy of entry i as a new frame out of `out`: its index, or -1 when
 *  the batch has no fresh buffer left. A transport checksum left to offload
 *  is finished in the copy (it leaves with no offload request). */
function copyOf(batch: Batch, i: number, out: number): number {
  const len = batch.lengths[i];
  const k = batch.originate(out, len);
  if (k < 0) return -1;
  const from = batch.offsets[i];
  batch.bytes.copyWithin(batch.offsets[k], from, from + len);
  if (batch.packet(i).checksumPending) {
    const copy = batch.entry(k);
    (copy.tcp ?? copy.udp)?.updateChecksum();
  }
  return k;
}
