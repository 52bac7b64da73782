import type { Packet } from "../packet";
import { read32, read48, write32, write48 } from "../bytes";

/** ARP for Ethernet + IPv4 (htype 1, ptype 0x0800, hlen 6, plen 4; other
 *  kinds give pkt.arp === null). 28 bytes from `o`. */
export class ArpHeader {
  o = 0;
  constructor(readonly b: Uint8Array, readonly p: Packet) {}

  get htype(): number { return (this.b[this.o] << 8) | this.b[this.o + 1]; }
  set htype(v: number) { this.b[this.o] = v >>> 8; this.b[this.o + 1] = v; this.p.reparse(); }
  get ptype(): number { return (this.b[this.o + 2] << 8) | this.b[this.o + 3]; }
  set ptype(v: number) { this.b[this.o + 2] = v >>> 8; this.b[this.o + 3] = v; this.p.reparse(); }
  get hlen(): number { return this.b[this.o + 4]; }
  set hlen(v: number) { this.b[this.o + 4] = v; this.p.reparse(); }
  get plen(): number { return this.b[this.o + 5]; }
  set plen(v: number) { this.b[this.o + 5] = v; this.p.reparse(); }
  /** 1 = request, 2 = reply. */
  get op(): number { return (this.b[this.o + 6] << 8) | this.b[this.o + 7]; }
  set op(v: number) { this.b[this.o + 6] = v >>> 8; this.b[this.o + 7] = v; }
  /** Sender hardware address (48-bit). */
  get sha(): number { return read48(this.b, this.o + 8); }
  set sha(v: number) { write48(this.b, this.o + 8, v); }
  /** Sender protocol address (uint32). */
  get spa(): number { return read32(this.b, this.o + 14); }
  set spa(v: number) { write32(this.b, this.o + 14, v); }
  /** Target hardware address (48-bit). */
  get tha(): number { return read48(this.b, this.o + 18); }
  set tha(v: number) { write48(this.b, this.o + 18, v); }
  /** Target protocol address (uint32). */
  get tpa(): number { return read32(this.b, this.o + 24); }
  set tpa(v: number) { write32(this.b, this.o + 24, v); }
}
