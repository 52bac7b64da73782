import { fold, onesSum } from "./checksum";
import { CHECKSUM_PENDING } from "./kinds";
import { Packet } from "./packet";
import { fillTuples, Tuples, TUPLES_WANTED } from "./tuples";

/** Frame spacing in Batch.fromFrames (a netmap-sized buffer). */
const FRAME_SLOT = 2048;
/** Fresh buffers a Batch.fromFrames batch offers for originated frames. */
const FROM_FRAMES_FRESH = 64;
/** Headroom left before each fresh frame in Batch.fromFrames, as the engine does. */
const FROM_FRAMES_HEADROOM = 64;

/** Words of Batch.ctl (native/core.h: kCtl*). */
export const CTL_USED = 0;
export const CTL_AVAILABLE = 1;
export const CTL_CAPACITY = 2;
/** JS: some entry has flags the engine reads at retire (FLAG_RESOLVE, or
 *  CHECKSUM_PENDING set by the VNF). */
export const CTL_FLAGS = 3;
export const CTL_KEEP_FREE = 4;
export const CTL_RELEASED = 5;
export const CTL_FORGET_KEPT = 6;
export const CTL_KEEP_LIMIT = 7;
/** The verdict of a kept entry (native/core.h kKeepVerdict). */
export const KEEP_VERDICT = 255;

/** The arrays behind Batch.keep() and release() (native/core.h: kept
 *  frames): per entry its ticket, (ticket, verdict) pairs to release, and
 *  the free tickets the core offers (JS takes from the top). */
export interface KeepArrays { tickets: Uint32Array; releases: Uint32Array; free: Uint32Array }
const NO_KEEP: KeepArrays = { tickets: new Uint32Array(0), releases: new Uint32Array(0), free: new Uint32Array(0) };

/** Out of line, so that packet() stays small enough for V8 to inline
 *  everywhere (a template string alone would double its bytecode). */
function badIndex(i: number, count: number): never {
  throw new RangeError(`packet(${i}): batch has ${count} packets`);
}

/** Reused iterator: one per Batch, one result object, so for-of over a
 *  batch allocates nothing. Iterating the same batch twice at once (nested
 *  loops) is not supported: both loops would share this state. The loop
 *  covers batch.count as it was when the loop began. next() is small and
 *  always the same function, so V8 inlines it into the loop; what is left
 *  of the iterator protocol costs about 10 instructions a packet more than
 *  an index loop (bench/js-ir.mjs). */
class PacketIterator implements Iterator<Packet> {
  i = 0;
  /** batch.count when the loop began: one field to compare per step. */
  n = 0;
  declare readonly result: { done: boolean; value: Packet };
  constructor(readonly batch: Batch, readonly pkt: Packet) {
    this.result = { done: false, value: pkt };
  }
  next(): IteratorResult<Packet> {
    const i = this.i;
    if (i < this.n) {
      this.pkt._moveTo(i); // no bounds check: i < count <= the arrays' length
      this.i = i + 1;
    } else {
      this.result.done = true;
    }
    return this.result as IteratorResult<Packet>;
  }
  [Symbol.iterator](): Iterator<Packet> { return this; }
}

/**
 * One batch of packets, as typed arrays the native side fills in place.
 * Packet i is bytes[offsets[i], offsets[i] + lengths[i]). A VNF decides by
 * writing verdicts[i]: 0 drops (the default), k + 1 sends out of port k.
 */
export class Batch implements Iterable<Packet> {
  /** Packets in this batch; the worker loop sets it before each process(). */
  count = 0;
  /** tuples() holds this batch's packets (parsed here, or by the host):
   *  the worker loop clears it with each new count, as must code that
   *  reuses a Batch by hand (tests). A field, not a setter on count: in an
   *  interpreter every access to an accessor is a call. */
  _tuplesFilled = false;
  /** Monotonic milliseconds, set per batch by the worker loop. */
  now = 0;
  /** The engine finishes TCP/UDP checksums a VNF leaves pending (in C at
   *  the output, or by a vnet port's offload): set by vnfrun, false for a
   *  Batch.fromFrames (l4Checksum then sums in JS). */
  checksumOffload = false;
  declare private readonly _pkt: Packet;
  declare private readonly _iter: PacketIterator;

  constructor(
    readonly bytes: Uint8Array,
    readonly offsets: Uint32Array,
    readonly lengths: Uint32Array,
    readonly inPorts: Uint8Array,
    readonly verdicts: Uint8Array,
    readonly portNames: readonly string[],
    /** Per packet: bit 0 (CHECKSUM_PENDING) when its TCP/UDP checksum is left
     *  to offload (it arrived on a vnet port): the field holds only the
     *  pseudo-header sum, and the next vnet port, or the engine, finishes it;
     *  bit 2 (CHECKSUM_GOOD) when the runtime checked it (sdk/kinds.ts). */
    readonly flags: Uint8Array = new Uint8Array(offsets.length),
    /** Fresh pool buffers for frames the VNF originates: the pool byte
     *  offset where each frame starts. Use originate(), not this. */
    readonly fresh: Uint32Array = new Uint32Array(0),
    /** [CTL_USED] fresh buffers taken this batch (JS), [CTL_AVAILABLE]
     *  offered (native), [CTL_CAPACITY] longest frame one holds. */
    readonly ctl: Uint32Array = new Uint32Array(4),
    /** Read fields with byte loads, not a DataView (an interpreter: the
     *  quickjs context sets it). */
    readonly byteFields = false,
    /** Where keep() and release() write (none: keep() returns -1). */
    readonly kept: KeepArrays = NO_KEEP,
    /** Where tuples() parses to (an interpreter context's, shared with
     *  the host that fills it; else made on the first call). */
    private _tuples?: Tuples,
  ) {
    this._pkt = new Packet(this);
    this._iter = new PacketIterator(this, this._pkt);
  }

  /** Iterate with the one reused Packet view. Allocates nothing. */
  [Symbol.iterator](): Iterator<Packet> {
    const it = this._iter;
    it.i = 0;
    it.n = this.count;
    it.result.done = false;
    return it;
  }

  /** Move the reused Packet view to packet i and return it. */
  packet(i: number): Packet {
    if (!(i >= 0 && i < this.count)) badIndex(i, this.count);
    const p = this._pkt;
    p._moveTo(i);
    return p;
  }

  /**
   * The batch's IPv4 5-tuples as columns (sdk/tuples.ts): parsed once per
   * batch, on the first call, as the packets arrived. For classifiers: a
   * typed-array read per field instead of a getter, several times faster
   * in the quickjs context, where the host parses them before process().
   */
  tuples(): Tuples {
    const t = this._tuples ??= new Tuples(this.offsets.length);
    if (!this._tuplesFilled) {
      fillTuples(t, this._pkt._dv, this.bytes, this.offsets, this.lengths, this.count);
      this._tuplesFilled = true;
      t.state[TUPLES_WANTED] = 1;
    }
    return t;
  }

  /**
   * A new frame from a fresh pool buffer, sent out of `port` (an index)
   * after process() returns: the entry index i (count <= i), its frame at
   * bytes[offsets[i], offsets[i] + length), or -1 when this batch has no
   * fresh buffer left (at most 256 a batch; the rest wait for the next) or
   * `length` does not fit one. Write the whole frame there (the buffer
   * holds old bytes); lengths[i] and verdicts[i] may still be changed
   * (verdict 0 frees it). No native call and no allocation: the engine
   * offers the buffers at each cycle and takes the used ones back at the
   * next, and keeps unused ones for the batch after. A reply that fits
   * should reuse the request's own buffer instead.
   */
  originate(port: number, length: number): number {
    const ctl = this.ctl;
    const k = ctl[CTL_USED];
    if (k >= ctl[CTL_AVAILABLE] || !(length > 0 && length <= ctl[CTL_CAPACITY])) return -1;
    ctl[CTL_USED] = k + 1;
    const i = this.count + k;
    this.offsets[i] = this.fresh[k];
    this.lengths[i] = length;
    this.verdicts[i] = port + 1;
    this.flags[i] = 0;
    return i;
  }

  /**
   * Sets the TCP/UDP checksum of entry i: the field at `field` (absolute),
   * over the segment [l4, l4 + len) and `pseudo` (the pseudo-header's
   * onesSum, checksum.ts). Where the engine finishes checksums it is left to
   * it, as Linux's CHECKSUM_PARTIAL (the field gets the pseudo-header sum,
   * and the entry CHECKSUM_PENDING): a vnet port hands it to the kernel or
   * NIC, any other output sums it in C. Else it is summed here.
   */
  l4Checksum(i: number, l4: number, len: number, field: number, pseudo: number): void {
    const b = this.bytes;
    if (this.checksumOffload) {
      const p = fold(pseudo);
      b[field] = p >> 8; b[field + 1] = p & 255;
      this.flags[i] |= CHECKSUM_PENDING;
      this.ctl[CTL_FLAGS] = 1;
      return;
    }
    b[field] = 0; b[field + 1] = 0;
    const c = ~fold(onesSum(b, l4, len, pseudo)) & 0xffff;
    const v = c === 0 ? 0xffff : c;   // UDP's 0 means "none"; for TCP the two are one
    b[field] = v >> 8; b[field + 1] = v & 255;
  }

  /** Frames originated in this batch so far (entries count .. count + originated - 1). */
  get originated(): number { return this.ctl[CTL_USED]; }

  /** The longest frame originate() takes. */
  get freshCapacity(): number { return this.ctl[CTL_CAPACITY]; }

  /** Move the reused Packet view to entry i, received or originated
   *  (i < count + originated), and return it. */
  entry(i: number): Packet {
    if (!(i >= 0 && i < this.count + this.ctl[CTL_USED])) badIndex(i, this.count + this.ctl[CTL_USED]);
    const p = this._pkt;
    p._moveTo(i);
    return p;
  }

  /**
   * Keep entry i past this batch, to send or drop in a later one with
   * release(ticket, port): a delay line, a reorder buffer. Returns the
   * ticket that names the frame from now on, or -1 when the core keeps no
   * more (--keep frames a core, default 4096): decide now instead. A kept frame is the engine's and opaque, so
   * change it before keeping it; a verdict written to entry i afterwards
   * overrides the keep (the ticket is then void). No native call: the core
   * takes the frame when the batch retires (counter `kept`). Tickets are
   * state: carry them across a reload with migrate(); a version that starts
   * fresh lets every kept frame go (counted as kept_forgotten).
   */
  keep(i: number): number {
    if (!(i >= 0 && i < this.count + this.ctl[CTL_USED])) badIndex(i, this.count + this.ctl[CTL_USED]);
    const ctl = this.ctl, top = ctl[CTL_KEEP_FREE];
    if (!(top > 0)) return -1;
    const t = this.kept.free[top - 1];
    ctl[CTL_KEEP_FREE] = top - 1;
    this.kept.tickets[i] = t;
    this.verdicts[i] = KEEP_VERDICT;
    return t;
  }

  /**
   * Let a kept frame go when this batch retires, before this batch's own
   * frames: out of `port` (an index), or dropped with -1. Returns false
   * when this batch has released its most already (256): release the rest
   * in the next one. A ticket that names no kept frame moves nothing and is
   * counted as bad_releases.
   */
  release(ticket: number, port: number): boolean {
    const ctl = this.ctl, k = ctl[CTL_RELEASED], r = this.kept.releases;
    if (!(2 * k < r.length)) return false;
    r[2 * k] = ticket;
    r[2 * k + 1] = port + 1;
    ctl[CTL_RELEASED] = k + 1;
    return true;
  }

  /** How many more frames keep() takes now. */
  get keepable(): number { return this.ctl[CTL_KEEP_FREE] ?? 0; }

  /** Port index by name. Resolve names once (in init) for the hot path. */
  port(name: string): number {
    const names = this.portNames;
    for (let i = 0; i < names.length; i++) if (names[i] === name) return i;
    throw new Error(`unknown port "${name}"; this VNF's ports are: ${names.join(", ")}`);
  }

  /**
   * A batch over copies of the given frames, in a fresh buffer with frames
   * at 2048-byte spacing (larger slots, in 2048 steps, if a frame needs it).
   * For tests and for contexts that cannot share the pool (QuickJS).
   */
  static fromFrames(frames: readonly Uint8Array[], portNames: readonly string[], inPort = 0): Batch {
    let slot = FRAME_SLOT;
    for (const f of frames) while (f.length > slot) slot += FRAME_SLOT;
    const n = frames.length;
    // After the frames, FROM_FRAMES_FRESH fresh 2048-byte buffers for originate().
    const F = FROM_FRAMES_FRESH;
    const freshAt = n * slot;
    const bytes = new Uint8Array(freshAt + F * FRAME_SLOT);
    const offsets = new Uint32Array(n + F);
    const lengths = new Uint32Array(n + F);
    const inPorts = new Uint8Array(n + F).fill(inPort);
    const verdicts = new Uint8Array(n + F);
    for (let i = 0; i < n; i++) {
      offsets[i] = i * slot;
      lengths[i] = frames[i].length;
      bytes.set(frames[i], i * slot);
    }
    const fresh = Uint32Array.from({ length: F }, (_, k) => freshAt + k * FRAME_SLOT + FROM_FRAMES_HEADROOM);
    const ctl = Uint32Array.of(0, F, FRAME_SLOT - FROM_FRAMES_HEADROOM, 0, 0, 0, 0, 0);
    const batch = new Batch(bytes, offsets, lengths, inPorts, verdicts, portNames, new Uint8Array(n + F), fresh, ctl);
    batch.count = n;
    return batch;
  }
}
