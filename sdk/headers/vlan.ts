import type { FieldView } from "../bytes";
import type { Packet } from "../packet";

/** 802.1Q / 802.1ad tag view. `o` is the absolute offset of the TPID (the
 *  outer one sits where the Ethernet type would be); the tag's TCI follows,
 *  then the next type. Always 6 readable bytes from `o`. */
export class VlanHeader {
  /** Absolute offset of the header in the pool; the parser sets it. */
  o = 0;
  declare readonly b: Uint8Array;
  declare readonly dv: FieldView;
  constructor(readonly p: Packet) { this.b = p.bytes; this.dv = p._dv; }

  /** 0x8100, 0x88a8 or 0x9100. */
  get tpid(): number { return this.dv.getUint16(this.o); }
  set tpid(v: number) { this.dv.setUint16(this.o, v); this.p.reparse(); }
  /** The whole 16-bit tag control information. */
  get tci(): number { return this.dv.getUint16(this.o + 2); }
  set tci(v: number) { this.dv.setUint16(this.o + 2, v); }
  /** Priority code point, 3 bits. */
  get pcp(): number { return this.b[this.o + 2] >>> 5; }
  set pcp(v: number) { this.b[this.o + 2] = (this.b[this.o + 2] & 0x1f) | ((v & 7) << 5); }
  /** Drop eligible indicator. */
  get dei(): boolean { return (this.b[this.o + 2] & 0x10) !== 0; }
  set dei(v: boolean) { this.b[this.o + 2] = v ? this.b[this.o + 2] | 0x10 : this.b[this.o + 2] & 0xef; }
  /** VLAN id, 12 bits. */
  get vid(): number { return this.dv.getUint16(this.o + 2) & 0x0fff; }
  set vid(v: number) {
    this.b[this.o + 2] = (this.b[this.o + 2] & 0xf0) | ((v >>> 8) & 0x0f);
    this.b[this.o + 3] = v;
  }
  /** The type after this tag (another TPID when double-tagged). */
  get etherType(): number { return this.dv.getUint16(this.o + 4); }
  set etherType(v: number) { this.dv.setUint16(this.o + 4, v); this.p.reparse(); }
}
