// Big-endian field access on the pool. Uint8Array stores truncate mod 256,
// so writes need no masking. Small enough that V8 inlines them.

export function read16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

export function write16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8; b[o + 1] = v;
}

/** Unsigned: >>> 0 keeps addresses >= 128.0.0.0 positive. */
export function read32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

export function write32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24; b[o + 1] = v >>> 16; b[o + 2] = v >>> 8; b[o + 3] = v;
}

/** A 48-bit value (MAC address) as a plain number. */
export function read48(b: Uint8Array, o: number): number {
  return ((b[o] << 8) | b[o + 1]) * 0x100000000 + read32(b, o + 2);
}

export function write48(b: Uint8Array, o: number, v: number): void {
  const hi = Math.floor(v / 0x100000000);
  b[o] = hi >>> 8; b[o + 1] = hi;
  write32(b, o + 2, v >>> 0);
}

/** A string's UTF-8 bytes. TextEncoder's job, here because a quickjs
 *  context has no TextEncoder: the same code runs in both. */
export function utf8(text: string): Uint8Array {
  const out: number[] = [];
  for (const ch of text) {
    const c = ch.codePointAt(0)!;   // a lone surrogate encodes as U+FFFD, as TextEncoder does
    const u = c >= 0xd800 && c <= 0xdfff ? 0xfffd : c;
    if (u < 0x80) out.push(u);
    else if (u < 0x800) out.push(0xc0 | (u >> 6), 0x80 | (u & 63));
    else if (u < 0x10000) out.push(0xe0 | (u >> 12), 0x80 | ((u >> 6) & 63), 0x80 | (u & 63));
    else out.push(0xf0 | (u >> 18), 0x80 | ((u >> 12) & 63), 0x80 | ((u >> 6) & 63), 0x80 | (u & 63));
  }
  return Uint8Array.from(out);
}

/** The part of DataView the SDK's headers use: big-endian fields. */
export interface FieldView {
  getUint16(o: number): number;
  getInt32(o: number): number;
  getUint32(o: number): number;
  setUint16(o: number, v: number): void;
  setUint32(o: number, v: number): void;
}

/** DataView's big-endian fields as byte loads, for an interpreter
 *  (QuickJS), where one DataView call costs several byte loads and a JS
 *  call together (V8 keeps DataView: it compiles to one load). */
export class ByteFields implements FieldView {
  constructor(readonly b: Uint8Array) {}
  getUint16(o: number): number { const b = this.b; return (b[o] << 8) | b[o + 1]; }
  getInt32(o: number): number { const b = this.b; return (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]; }
  getUint32(o: number): number { const b = this.b; return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0; }
  setUint16(o: number, v: number): void { const b = this.b; b[o] = v >>> 8; b[o + 1] = v; }
  setUint32(o: number, v: number): void { const b = this.b; b[o] = v >>> 24; b[o + 1] = v >>> 16; b[o + 2] = v >>> 8; b[o + 3] = v; }
}
