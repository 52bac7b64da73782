import type { Packet } from "../packet";
import { macStr } from "../addr";
import { read48, write48 } from "../bytes";

/** Ethernet II header view. `o` is the absolute offset of the destination
 *  address. Reused: valid until its packet view moves. */
export class EthernetHeader {
  o = 0;
  constructor(readonly b: Uint8Array, readonly p: Packet) {}

  get dst(): number { return read48(this.b, this.o); }
  set dst(v: number) { write48(this.b, this.o, v); }
  get src(): number { return read48(this.b, this.o + 6); }
  set src(v: number) { write48(this.b, this.o + 6, v); }
  /** The type right after the addresses (0x8100 when VLAN-tagged; see pkt.etherType). */
  get etherType(): number { return (this.b[this.o + 12] << 8) | this.b[this.o + 13]; }
  set etherType(v: number) {
    this.b[this.o + 12] = v >>> 8; this.b[this.o + 13] = v;
    this.p.reparse();
  }
  get isBroadcast(): boolean {
    const b = this.b, o = this.o;
    return (b[o] & b[o + 1] & b[o + 2] & b[o + 3] & b[o + 4] & b[o + 5]) === 0xff;
  }
  /** Group bit of the destination (includes broadcast). */
  get isMulticast(): boolean { return (this.b[this.o] & 1) !== 0; }

  /** Swap source and destination in place (reflectors, ARP/ICMP replies). */
  swapAddresses(): void {
    const b = this.b, o = this.o;
    for (let i = 0; i < 6; i++) {
      const t = b[o + i]; b[o + i] = b[o + 6 + i]; b[o + 6 + i] = t;
    }
  }

  /** Allocates; for logs and tests. */
  get dstString(): string { return macStr(this.dst); }
  get srcString(): string { return macStr(this.src); }
}
