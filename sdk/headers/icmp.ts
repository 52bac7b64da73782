import type { FieldView } from "../bytes";
import type { Packet } from "../packet";
import { l4Checksum4, l4Checksum6, verifyL4Checksum4, verifyL4Checksum6 } from "../checksum";

/** ICMPv4 header view: 8 bytes from `o`. identifier/sequence are the echo
 *  fields (bytes 4..7; "rest of header" for other types). The checksum
 *  covers the ICMP message only. */
export class IcmpHeader {
  /** Absolute offset of the header in the pool; the parser sets it. */
  o = 0;
  declare readonly b: Uint8Array;
  declare readonly dv: FieldView;
  constructor(readonly p: Packet) { this.b = p.bytes; this.dv = p._dv; }

  get type(): number { return this.b[this.o]; }
  set type(v: number) { this.b[this.o] = v; }
  get code(): number { return this.b[this.o + 1]; }
  set code(v: number) { this.b[this.o + 1] = v; }
  get checksum(): number { return this.dv.getUint16(this.o + 2); }
  set checksum(v: number) { this.dv.setUint16(this.o + 2, v); }
  get identifier(): number { return this.dv.getUint16(this.o + 4); }
  set identifier(v: number) { this.dv.setUint16(this.o + 4, v); }
  get sequence(): number { return this.dv.getUint16(this.o + 6); }
  set sequence(v: number) { this.dv.setUint16(this.o + 6, v); }

  computeChecksum(): number { return l4Checksum4(this.b, this.p._l3Off, this.o, this.p._l3End - this.o, 1); }
  verifyChecksum(): boolean { return verifyL4Checksum4(this.b, this.p._l3Off, this.o, this.p._l3End - this.o, 1); }
  updateChecksum(): void { this.dv.setUint16(this.o + 2, this.computeChecksum()); }
}

/** ICMPv6 header view: 8 bytes from `o` (shorter messages give null).
 *  The checksum includes the IPv6 pseudo-header. */
export class Icmp6Header {
  /** Absolute offset of the header in the pool; the parser sets it. */
  o = 0;
  declare readonly b: Uint8Array;
  declare readonly dv: FieldView;
  constructor(readonly p: Packet) { this.b = p.bytes; this.dv = p._dv; }

  get type(): number { return this.b[this.o]; }
  set type(v: number) { this.b[this.o] = v; }
  get code(): number { return this.b[this.o + 1]; }
  set code(v: number) { this.b[this.o + 1] = v; }
  get checksum(): number { return this.dv.getUint16(this.o + 2); }
  set checksum(v: number) { this.dv.setUint16(this.o + 2, v); }
  get identifier(): number { return this.dv.getUint16(this.o + 4); }
  set identifier(v: number) { this.dv.setUint16(this.o + 4, v); }
  get sequence(): number { return this.dv.getUint16(this.o + 6); }
  set sequence(v: number) { this.dv.setUint16(this.o + 6, v); }

  computeChecksum(): number { return l4Checksum6(this.b, this.p._l3Off, this.o, this.p._l3End - this.o, 58); }
  verifyChecksum(): boolean { return verifyL4Checksum6(this.b, this.p._l3Off, this.o, this.p._l3End - this.o, 58); }
  updateChecksum(): void { this.dv.setUint16(this.o + 2, this.computeChecksum()); }
}
