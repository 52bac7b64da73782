import type { FieldView } from "../bytes";
import type { Packet } from "../packet";
import { l4Checksum4, l4Checksum6, pendingChecksum, updateChecksum16, verifyL4Checksum4, verifyL4Checksum6 } from "../checksum";
import { L3_IPV4 } from "../kinds";

/** TCP header view. The parser guarantees dataOffset >= 5 and that the
 *  header with options fits inside the IP packet. Names follow Linux's
 *  struct tcphdr: `seq`, `ackSeq` (the number), and flag booleans
 *  `syn ack fin rst psh urg ece cwr`. */
export class TcpHeader {
  /** Absolute offset of the header in the pool; the parser sets it. */
  o = 0;
  declare readonly b: Uint8Array;
  declare readonly dv: FieldView;
  constructor(readonly p: Packet) { this.b = p.bytes; this.dv = p._dv; }

  get srcPort(): number { return this.dv.getUint16(this.o); }
  set srcPort(v: number) { this.dv.setUint16(this.o, v); this.p.reparse(); } // pkt.srcPort caches it
  get dstPort(): number { return this.dv.getUint16(this.o + 2); }
  set dstPort(v: number) { this.dv.setUint16(this.o + 2, v); this.p.reparse(); }
  get seq(): number { return this.dv.getUint32(this.o + 4); }
  set seq(v: number) { this.dv.setUint32(this.o + 4, v); }
  /** Acknowledgment number (the ACK flag is `ack`). */
  get ackSeq(): number { return this.dv.getUint32(this.o + 8); }
  set ackSeq(v: number) { this.dv.setUint32(this.o + 8, v); }
  /** Header length in 32-bit words. */
  get dataOffset(): number { return this.b[this.o + 12] >>> 4; }
  set dataOffset(v: number) { this.b[this.o + 12] = (this.b[this.o + 12] & 0x0f) | (v << 4); this.p.reparse(); }
  /** Header length in bytes, options included. */
  get headerLength(): number { return (this.b[this.o + 12] >>> 4) << 2; }
  /** The 8 flag bits CWR ECE URG ACK PSH RST SYN FIN (see TCP_* constants). */
  get flags(): number { return this.b[this.o + 13]; }
  set flags(v: number) { this.b[this.o + 13] = v; }
  get fin(): boolean { return (this.b[this.o + 13] & 0x01) !== 0; }
  set fin(v: boolean) { this.flag(0x01, v); }
  get syn(): boolean { return (this.b[this.o + 13] & 0x02) !== 0; }
  set syn(v: boolean) { this.flag(0x02, v); }
  get rst(): boolean { return (this.b[this.o + 13] & 0x04) !== 0; }
  set rst(v: boolean) { this.flag(0x04, v); }
  get psh(): boolean { return (this.b[this.o + 13] & 0x08) !== 0; }
  set psh(v: boolean) { this.flag(0x08, v); }
  get ack(): boolean { return (this.b[this.o + 13] & 0x10) !== 0; }
  set ack(v: boolean) { this.flag(0x10, v); }
  get urg(): boolean { return (this.b[this.o + 13] & 0x20) !== 0; }
  set urg(v: boolean) { this.flag(0x20, v); }
  get ece(): boolean { return (this.b[this.o + 13] & 0x40) !== 0; }
  set ece(v: boolean) { this.flag(0x40, v); }
  get cwr(): boolean { return (this.b[this.o + 13] & 0x80) !== 0; }
  set cwr(v: boolean) { this.flag(0x80, v); }
  get window(): number { return this.dv.getUint16(this.o + 14); }
  set window(v: number) { this.dv.setUint16(this.o + 14, v); }
  get checksum(): number { return this.dv.getUint16(this.o + 16); }
  set checksum(v: number) { this.dv.setUint16(this.o + 16, v); }
  get urgent(): number { return this.dv.getUint16(this.o + 18); }
  set urgent(v: number) { this.dv.setUint16(this.o + 18, v); }

  /** NAT: set a port and fix the checksum incrementally. */
  rewriteSrcPort(port: number): void { this.rewritePort(this.o, port); }
  rewriteDstPort(port: number): void { this.rewritePort(this.o + 2, port); }

  /** Full checksum over pseudo-header, header and payload. */
  computeChecksum(): number {
    const p = this.p, len = p._l3End - this.o;
    return p._l3Kind === L3_IPV4
      ? l4Checksum4(this.b, p._l3Off, this.o, len, 6)
      : l4Checksum6(this.b, p._l3Off, this.o, len, 6);
  }
  verifyChecksum(): boolean {
    const p = this.p, len = p._l3End - this.o;
    return p._l3Kind === L3_IPV4
      ? verifyL4Checksum4(this.b, p._l3Off, this.o, len, 6)
      : verifyL4Checksum6(this.b, p._l3Off, this.o, len, 6);
  }
  /** Store the full checksum, or, when the checksum is left to offload
   *  (packet.checksumPending), the pseudo-header sum offload expects. */
  updateChecksum(): void {
    const p = this.p;
    this.dv.setUint16(this.o + 16, p.checksumPending
      ? pendingChecksum(this.b, p._l3Off, p._l3Kind !== L3_IPV4, 6, p._l3End - this.o)
      : this.computeChecksum());
  }

  private flag(bit: number, on: boolean): void {
    this.b[this.o + 13] = on ? this.b[this.o + 13] | bit : this.b[this.o + 13] & ~bit;
  }

  private rewritePort(at: number, port: number): void {
    const dv = this.dv;
    const old = dv.getUint16(at);
    dv.setUint16(at, port);
    this.p.reparse();
    if (this.p.checksumPending) return;  // ports are not in the pseudo-header sum it holds
    dv.setUint16(this.o + 16, updateChecksum16(dv.getUint16(this.o + 16), old, port & 0xffff));
  }
}
