import type { FieldView } from "../bytes";
import type { Packet } from "../packet";
import { macStr } from "../addr";

/** Ethernet II header view. `o` is the absolute offset of the destination
 *  address. Reused: valid until its packet view moves. */
export class EthernetHeader {
  /** Absolute offset of the frame (its destination address); pkt.eth sets it. */
  o = 0;
  declare readonly b: Uint8Array;
  declare readonly dv: FieldView;
  constructor(readonly p: Packet) { this.b = p.bytes; this.dv = p._dv; }

  get dst(): number { return this.dv.getUint16(this.o) * 0x100000000 + this.dv.getUint32(this.o + 2); }
  set dst(v: number) { this.dv.setUint16(this.o, Math.floor(v / 0x100000000)); this.dv.setUint32(this.o + 2, v >>> 0); }
  get src(): number { return this.dv.getUint16(this.o + 6) * 0x100000000 + this.dv.getUint32(this.o + 8); }
  set src(v: number) { this.dv.setUint16(this.o + 6, Math.floor(v / 0x100000000)); this.dv.setUint32(this.o + 8, v >>> 0); }
  /** The type right after the addresses (0x8100 when VLAN-tagged; see pkt.etherType). */
  get etherType(): number { return this.dv.getUint16(this.o + 12); }
  set etherType(v: number) { this.dv.setUint16(this.o + 12, v); this.p.reparse(); }
  get isBroadcast(): boolean {
    return this.dv.getUint16(this.o) === 0xffff && this.dv.getUint32(this.o + 2) === 0xffffffff;
  }
  /** Group bit of the destination (includes broadcast). */
  get isMulticast(): boolean { return (this.b[this.o] & 1) !== 0; }

  /** Swap source and destination in place (reflectors, ARP/ICMP replies). */
  swapAddresses(): void {
    const dv = this.dv, o = this.o;
    const hi = dv.getUint16(o), lo = dv.getUint32(o + 2);
    dv.setUint16(o, dv.getUint16(o + 6)); dv.setUint32(o + 2, dv.getUint32(o + 8));
    dv.setUint16(o + 6, hi); dv.setUint32(o + 8, lo);
  }

  /** Allocates; for logs and tests. */
  get dstString(): string { return macStr(this.dst); }
  get srcString(): string { return macStr(this.src); }
}
