import { Packet } from "./packet";

/** Frame spacing in Batch.fromFrames (a netmap-sized buffer). */
const FRAME_SLOT = 2048;

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
  /** Monotonic milliseconds, set per batch by the worker loop. */
  now = 0;
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
     *  pseudo-header sum, and the next vnet port, or the engine, finishes it. */
    readonly flags: Uint8Array = new Uint8Array(offsets.length),
    /** Read fields with byte loads, not a DataView (an interpreter: the
     *  quickjs context sets it). */
    readonly byteFields = false,
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
    const bytes = new Uint8Array(Math.max(n, 1) * slot);
    const offsets = new Uint32Array(n);
    const lengths = new Uint32Array(n);
    const inPorts = new Uint8Array(n).fill(inPort);
    const verdicts = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      offsets[i] = i * slot;
      lengths[i] = frames[i].length;
      bytes.set(frames[i], i * slot);
    }
    const batch = new Batch(bytes, offsets, lengths, inPorts, verdicts, portNames);
    batch.count = n;
    return batch;
  }
}
