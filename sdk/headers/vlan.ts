import type { Packet } from "../packet";

/** 802.1Q / 802.1ad tag view. `o` is the absolute offset of the TPID (the
 *  outer one sits where the Ethernet type would be); the tag's TCI follows,
 *  then the next type. Always 6 readable bytes from `o`. */
export class VlanHeader {
  o = 0;
  constructor(readonly b: Uint8Array, readonly p: Packet) {}

  /** 0x8100, 0x88a8 or 0x9100. */
  get tpid(): number { return (this.b[this.o] << 8) | this.b[this.o + 1]; }
  set tpid(v: number) { this.b[this.o] = v >>> 8; this.b[this.o + 1] = v; this.p.reparse(); }
  /** The whole 16-bit tag control information. */
  get tci(): number { return (this.b[this.o + 2] << 8) | this.b[this.o + 3]; }
  set tci(v: number) { this.b[this.o + 2] = v >>> 8; this.b[this.o + 3] = v; }
  /** Priority code point, 3 bits. */
  get pcp(): number { return this.b[this.o + 2] >>> 5; }
  set pcp(v: number) { this.b[this.o + 2] = (this.b[this.o + 2] & 0x1f) | ((v & 7) << 5); }
  /** Drop eligible indicator. */
  get dei(): boolean { return (this.b[this.o + 2] & 0x10) !== 0; }
  set dei(v: boolean) { this.b[this.o + 2] = v ? this.b[this.o + 2] | 0x10 : this.b[this.o + 2] & 0xef; }
  /** VLAN id, 12 bits. */
  get vid(): number { return ((this.b[this.o + 2] & 0x0f) << 8) | this.b[this.o + 3]; }
  set vid(v: number) {
    this.b[this.o + 2] = (this.b[this.o + 2] & 0xf0) | ((v >>> 8) & 0x0f);
    this.b[this.o + 3] = v;
  }
  /** The type after this tag (another TPID when double-tagged). */
  get etherType(): number { return (this.b[this.o + 4] << 8) | this.b[this.o + 5]; }
  set etherType(v: number) { this.b[this.o + 4] = v >>> 8; this.b[this.o + 5] = v; this.p.reparse(); }
}
