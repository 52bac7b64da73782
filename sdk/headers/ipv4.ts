import type { FieldView } from "../bytes";
import type { Packet } from "../packet";
import { ip4str } from "../addr";
import {
  ipv4HeaderChecksum, updateChecksum16, updateChecksum32, updatePendingSum32, verifyIpv4HeaderChecksum,
} from "../checksum";
import { L4_TCP, L4_UDP } from "../kinds";

/** IPv4 header view. The parser guarantees version 4, IHL >= 5 and
 *  IHL*4 <= totalLength <= bytes left in the frame, so every field and the
 *  options are readable. Setters write bytes only; they do not fix the
 *  checksum (call updateChecksum(), or use the rewrite* helpers). */
export class Ipv4Header {
  /** Absolute offset of the header in the pool; the parser sets it. */
  o = 0;
  declare readonly b: Uint8Array;
  declare readonly dv: FieldView;
  constructor(readonly p: Packet) { this.b = p.bytes; this.dv = p._dv; }

  get version(): number { return this.b[this.o] >>> 4; }
  set version(v: number) { this.b[this.o] = (this.b[this.o] & 0x0f) | (v << 4); this.p.reparse(); }
  /** Header length in 32-bit words. */
  get ihl(): number { return this.b[this.o] & 0x0f; }
  set ihl(v: number) { this.b[this.o] = (this.b[this.o] & 0xf0) | (v & 0x0f); this.p.reparse(); }
  /** Header length in bytes (ihl * 4), options included. */
  get headerLength(): number { return (this.b[this.o] & 0x0f) << 2; }
  get dscp(): number { return this.b[this.o + 1] >>> 2; }
  set dscp(v: number) { this.b[this.o + 1] = (this.b[this.o + 1] & 3) | (v << 2); }
  get ecn(): number { return this.b[this.o + 1] & 3; }
  set ecn(v: number) { this.b[this.o + 1] = (this.b[this.o + 1] & 0xfc) | (v & 3); }
  get totalLength(): number { return this.dv.getUint16(this.o + 2); }
  set totalLength(v: number) { this.dv.setUint16(this.o + 2, v); this.p.reparse(); }
  get id(): number { return this.dv.getUint16(this.o + 4); }
  set id(v: number) { this.dv.setUint16(this.o + 4, v); }
  /** The 3 flag bits: 0b010 = don't fragment, 0b001 = more fragments. */
  get flags(): number { return this.b[this.o + 6] >>> 5; }
  set flags(v: number) { this.b[this.o + 6] = (this.b[this.o + 6] & 0x1f) | (v << 5); this.p.reparse(); }
  get dontFragment(): boolean { return (this.b[this.o + 6] & 0x40) !== 0; }
  get moreFragments(): boolean { return (this.b[this.o + 6] & 0x20) !== 0; }
  /** In 8-byte units; non-zero means a non-first fragment (no L4 header). */
  get fragmentOffset(): number { return this.dv.getUint16(this.o + 6) & 0x1fff; }
  set fragmentOffset(v: number) {
    this.b[this.o + 6] = (this.b[this.o + 6] & 0xe0) | ((v >>> 8) & 0x1f);
    this.b[this.o + 7] = v;
    this.p.reparse();
  }
  /** Part of a fragmented datagram (MF set or offset non-zero). */
  get isFragment(): boolean { return (this.dv.getUint16(this.o + 6) & 0x3fff) !== 0; }
  get ttl(): number { return this.b[this.o + 8]; }
  set ttl(v: number) { this.b[this.o + 8] = v; }
  get protocol(): number { return this.b[this.o + 9]; }
  set protocol(v: number) { this.b[this.o + 9] = v; this.p.reparse(); }
  get checksum(): number { return this.dv.getUint16(this.o + 10); }
  set checksum(v: number) { this.dv.setUint16(this.o + 10, v); }
  /** Addresses as uint32 (10.0.0.1 = 0x0a000001). In V8 a uint32 stays an
   *  unboxed machine word while it flows into inlined code or `| 0`; passed
   *  to a call V8 did not inline, one above 2^31 becomes a heap number. */
  get src(): number { return this.dv.getUint32(this.o + 12); }
  set src(v: number) { this.dv.setUint32(this.o + 12, v); }
  get dst(): number { return this.dv.getUint32(this.o + 16); }
  set dst(v: number) { this.dv.setUint32(this.o + 16, v); }

  /** The header checksum as it should be. */
  computeChecksum(): number { return ipv4HeaderChecksum(this.b, this.o); }
  verifyChecksum(): boolean { return verifyIpv4HeaderChecksum(this.b, this.o); }
  /** Recompute and store the header checksum (after raw field writes). */
  updateChecksum(): void { this.dv.setUint16(this.o + 10, ipv4HeaderChecksum(this.b, this.o)); }

  /** NAT: set the source address and fix, incrementally, the header checksum
   *  and the TCP/UDP checksum (whose pseudo-header holds the address). A UDP
   *  checksum of 0 ("none") stays 0. ICMP has no pseudo-header. */
  rewriteSrc(addr: number): void { this.rewriteAddr(this.o + 12, addr); }
  /** NAT: as rewriteSrc, for the destination. */
  rewriteDst(addr: number): void { this.rewriteAddr(this.o + 16, addr); }

  /** Decrement TTL with an incremental checksum fix; returns the new TTL.
   *  A TTL already 0 is left alone and 0 returned (the caller drops). */
  decrementTtl(): number {
    const b = this.b, dv = this.dv, o = this.o;
    const ttl = b[o + 8];
    if (ttl === 0) return 0;
    const proto = b[o + 9];
    b[o + 8] = ttl - 1;
    dv.setUint16(o + 10, updateChecksum16(dv.getUint16(o + 10), (ttl << 8) | proto, ((ttl - 1) << 8) | proto));
    return ttl - 1;
  }

  /** Allocates; for logs and tests. */
  get srcString(): string { return ip4str(this.src); }
  get dstString(): string { return ip4str(this.dst); }

  private rewriteAddr(at: number, addr: number): void {
    const dv = this.dv;
    const old = dv.getUint32(at);
    const nw = addr >>> 0;
    dv.setUint32(at, nw);
    dv.setUint16(this.o + 10, updateChecksum32(dv.getUint16(this.o + 10), old, nw));
    const p = this.p;
    const k = p._l4();
    if (p._l3Off !== this.o) return; // a stale view: don't touch what we can't see
    if ((k === L4_TCP || k === L4_UDP) && p.checksumPending) {
      // The field holds the pseudo-header sum, which covers the addresses.
      const c = p._l4Off + (k === L4_TCP ? 16 : 6);
      dv.setUint16(c, updatePendingSum32(dv.getUint16(c), old, nw));
    } else if (k === L4_TCP) {
      const c = p._l4Off + 16;
      dv.setUint16(c, updateChecksum32(dv.getUint16(c), old, nw));
    } else if (k === L4_UDP) {
      const c = p._l4Off + 6;
      const cs = dv.getUint16(c);
      if (cs !== 0) {
        const n = updateChecksum32(cs, old, nw);
        dv.setUint16(c, n === 0 ? 0xffff : n);
      }
    }
  }
}
