import type { FieldView } from "../bytes";
import type { Packet } from "../packet";
import { ip6str } from "../addr";

/** IPv6 fixed header view (40 bytes from `o`; the parser guarantees
 *  40 + payloadLength fits the frame). Extension headers are walked by the
 *  parser: see pkt.l4Protocol / pkt.l4Offset for what follows them.
 *  Addresses are 128 bits, so they are read as four 32-bit words. */
export class Ipv6Header {
  /** Absolute offset of the header in the pool; the parser sets it. */
  o = 0;
  declare readonly b: Uint8Array;
  declare readonly dv: FieldView;
  constructor(readonly p: Packet) { this.b = p.bytes; this.dv = p._dv; }

  get version(): number { return this.b[this.o] >>> 4; }
  set version(v: number) { this.b[this.o] = (this.b[this.o] & 0x0f) | (v << 4); this.p.reparse(); }
  get trafficClass(): number { return ((this.b[this.o] & 0x0f) << 4) | (this.b[this.o + 1] >>> 4); }
  set trafficClass(v: number) {
    this.b[this.o] = (this.b[this.o] & 0xf0) | ((v >>> 4) & 0x0f);
    this.b[this.o + 1] = (this.b[this.o + 1] & 0x0f) | (v << 4);
  }
  /** 20 bits. */
  get flowLabel(): number {
    return ((this.b[this.o + 1] & 0x0f) << 16) | (this.b[this.o + 2] << 8) | this.b[this.o + 3];
  }
  set flowLabel(v: number) {
    this.b[this.o + 1] = (this.b[this.o + 1] & 0xf0) | ((v >>> 16) & 0x0f);
    this.b[this.o + 2] = v >>> 8; this.b[this.o + 3] = v;
  }
  /** Bytes after the fixed header (extension headers included). */
  get payloadLength(): number { return this.dv.getUint16(this.o + 4); }
  set payloadLength(v: number) { this.dv.setUint16(this.o + 4, v); this.p.reparse(); }
  /** The first next-header value (maybe an extension header). */
  get nextHeader(): number { return this.b[this.o + 6]; }
  set nextHeader(v: number) { this.b[this.o + 6] = v; this.p.reparse(); }
  get hopLimit(): number { return this.b[this.o + 7]; }
  set hopLimit(v: number) { this.b[this.o + 7] = v; }

  /** Word i (0..3, most significant first) of the source address, uint32. */
  srcWord(i: number): number { return this.dv.getUint32(this.o + 8 + ((i & 3) << 2)); }
  setSrcWord(i: number, v: number): void { this.dv.setUint32(this.o + 8 + ((i & 3) << 2), v); }
  dstWord(i: number): number { return this.dv.getUint32(this.o + 24 + ((i & 3) << 2)); }
  setDstWord(i: number, v: number): void { this.dv.setUint32(this.o + 24 + ((i & 3) << 2), v); }
  /** Set a whole address from four words (as ip6() returns). */
  setSrc(words: ArrayLike<number>): void { for (let i = 0; i < 4; i++) this.setSrcWord(i, words[i]); }
  setDst(words: ArrayLike<number>): void { for (let i = 0; i < 4; i++) this.setDstWord(i, words[i]); }

  /** Hop limit minus one; returns the new value (0 stays 0). No checksum. */
  decrementHopLimit(): number {
    const h = this.b[this.o + 7];
    if (h === 0) return 0;
    this.b[this.o + 7] = h - 1;
    return h - 1;
  }

  /** Allocate; for logs and tests. */
  get srcString(): string { return ip6str([this.srcWord(0), this.srcWord(1), this.srcWord(2), this.srcWord(3)]); }
  get dstString(): string { return ip6str([this.dstWord(0), this.dstWord(1), this.dstWord(2), this.dstWord(3)]); }
}
