import type { FieldView } from "../bytes";
import type { Packet } from "../packet";
import { l4Checksum4, l4Checksum6, pendingChecksum, updateChecksum16, verifyL4Checksum4, verifyL4Checksum6 } from "../checksum";
import { L3_IPV4 } from "../kinds";

/** UDP header view (8 bytes from `o`, inside the IP packet). The length
 *  field is reported as is; checksums cover the IP payload from `o`. */
export class UdpHeader {
  /** Absolute offset of the header in the pool; the parser sets it. */
  o = 0;
  declare readonly b: Uint8Array;
  declare readonly dv: FieldView;
  constructor(readonly p: Packet) { this.b = p.bytes; this.dv = p._dv; }

  get srcPort(): number { return this.dv.getUint16(this.o); }
  set srcPort(v: number) { this.dv.setUint16(this.o, v); this.p.reparse(); } // pkt.srcPort caches it
  get dstPort(): number { return this.dv.getUint16(this.o + 2); }
  set dstPort(v: number) { this.dv.setUint16(this.o + 2, v); this.p.reparse(); }
  get length(): number { return this.dv.getUint16(this.o + 4); }
  set length(v: number) { this.dv.setUint16(this.o + 4, v); }
  /** 0 means "no checksum" over IPv4. */
  get checksum(): number { return this.dv.getUint16(this.o + 6); }
  set checksum(v: number) { this.dv.setUint16(this.o + 6, v); }

  /** NAT: set a port and fix the checksum incrementally (0 stays 0). */
  rewriteSrcPort(port: number): void { this.rewritePort(this.o, port); }
  rewriteDstPort(port: number): void { this.rewritePort(this.o + 2, port); }

  /** Full checksum (a computed 0 is returned as 0xffff, RFC 768). */
  computeChecksum(): number {
    const p = this.p, len = p._l3End - this.o;
    return p._l3Kind === L3_IPV4
      ? l4Checksum4(this.b, p._l3Off, this.o, len, 17)
      : l4Checksum6(this.b, p._l3Off, this.o, len, 17);
  }
  /** Over IPv4 a zero checksum verifies; over IPv6 it never does. */
  verifyChecksum(): boolean {
    const p = this.p, len = p._l3End - this.o;
    return p._l3Kind === L3_IPV4
      ? verifyL4Checksum4(this.b, p._l3Off, this.o, len, 17)
      : verifyL4Checksum6(this.b, p._l3Off, this.o, len, 17);
  }
  /** Store the full checksum, or, when the checksum is left to offload
   *  (packet.checksumPending), the pseudo-header sum offload expects. */
  updateChecksum(): void {
    const p = this.p;
    this.dv.setUint16(this.o + 6, p.checksumPending
      ? pendingChecksum(this.b, p._l3Off, p._l3Kind !== L3_IPV4, 17, p._l3End - this.o)
      : this.computeChecksum());
  }

  private rewritePort(at: number, port: number): void {
    const dv = this.dv;
    const old = dv.getUint16(at);
    dv.setUint16(at, port);
    this.p.reparse();
    if (this.p.checksumPending) return;  // ports are not in the pseudo-header sum it holds
    const cs = dv.getUint16(this.o + 6);
    if (cs === 0) return;
    const n = updateChecksum16(cs, old, port & 0xffff);
    dv.setUint16(this.o + 6, n === 0 ? 0xffff : n);
  }
}
