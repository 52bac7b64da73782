import type { FieldView } from "../bytes";
import type { Packet } from "../packet";

/** ARP for Ethernet + IPv4 (htype 1, ptype 0x0800, hlen 6, plen 4; other
 *  kinds give pkt.arp === null). 28 bytes from `o`. */
export class ArpHeader {
  /** Absolute offset of the header in the pool; the parser sets it. */
  o = 0;
  declare readonly b: Uint8Array;
  declare readonly dv: FieldView;
  constructor(readonly p: Packet) { this.b = p.bytes; this.dv = p._dv; }

  get htype(): number { return this.dv.getUint16(this.o); }
  set htype(v: number) { this.dv.setUint16(this.o, v); this.p.reparse(); }
  get ptype(): number { return this.dv.getUint16(this.o + 2); }
  set ptype(v: number) { this.dv.setUint16(this.o + 2, v); this.p.reparse(); }
  get hlen(): number { return this.b[this.o + 4]; }
  set hlen(v: number) { this.b[this.o + 4] = v; this.p.reparse(); }
  get plen(): number { return this.b[this.o + 5]; }
  set plen(v: number) { this.b[this.o + 5] = v; this.p.reparse(); }
  /** 1 = request, 2 = reply. */
  get op(): number { return this.dv.getUint16(this.o + 6); }
  set op(v: number) { this.dv.setUint16(this.o + 6, v); }
  /** Sender hardware address (48-bit). */
  get sha(): number { return this.dv.getUint16(this.o + 8) * 0x100000000 + this.dv.getUint32(this.o + 10); }
  set sha(v: number) { this.dv.setUint16(this.o + 8, Math.floor(v / 0x100000000)); this.dv.setUint32(this.o + 10, v >>> 0); }
  /** Sender protocol address (uint32). */
  get spa(): number { return this.dv.getUint32(this.o + 14); }
  set spa(v: number) { this.dv.setUint32(this.o + 14, v); }
  /** Target hardware address (48-bit). */
  get tha(): number { return this.dv.getUint16(this.o + 18) * 0x100000000 + this.dv.getUint32(this.o + 20); }
  set tha(v: number) { this.dv.setUint16(this.o + 18, Math.floor(v / 0x100000000)); this.dv.setUint32(this.o + 20, v >>> 0); }
  /** Target protocol address (uint32). */
  get tpa(): number { return this.dv.getUint32(this.o + 24); }
  set tpa(v: number) { this.dv.setUint32(this.o + 24, v); }
}
