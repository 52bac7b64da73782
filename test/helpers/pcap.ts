// Builds test traffic as frames and classic pcap files, and reads ours back.
import { readFileSync, writeFileSync } from "node:fs";

export interface Flow {
  src: number[]; dst: number[];     // IPv4 addresses as 4 bytes
  sport: number; dport: number;
  proto: 6 | 17;
}

function sum16(bytes: number[], from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i += 2) s += (bytes[i] << 8) | (bytes[i + 1] ?? 0);
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return s;
}

/** An Ethernet/IPv4/UDP-or-TCP frame whose payload starts with `seq` (4 bytes). */
export function frame(f: Flow, seq: number, payloadLen = 18): Uint8Array {
  const l4len = (f.proto === 6 ? 20 : 8) + payloadLen;
  const b: number[] = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0,
    0x45, 0, 0, 0, 0, 0, 0, 0, 64, f.proto, 0, 0, ...f.src, ...f.dst];
  const tot = 20 + l4len;
  b[16] = tot >> 8; b[17] = tot & 255;
  const ipSum = ~sum16(b, 14, 34) & 0xffff;
  b[24] = ipSum >> 8; b[25] = ipSum & 255;
  b.push(f.sport >> 8, f.sport & 255, f.dport >> 8, f.dport & 255);
  if (f.proto === 6) b.push(0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0);
  else b.push(l4len >> 8, l4len & 255, 0, 0);
  const payload = Array(payloadLen).fill(0);
  payload[0] = (seq >>> 24) & 255; payload[1] = (seq >>> 16) & 255; payload[2] = (seq >>> 8) & 255; payload[3] = seq & 255;
  b.push(...payload);
  return Uint8Array.from(b);
}

export function writePcap(file: string, frames: Uint8Array[], snaplen = 65535): void {
  const parts: Buffer[] = [];
  const hdr = Buffer.alloc(24);
  hdr.writeUInt32LE(0xa1b2c3d4, 0); hdr.writeUInt16LE(2, 4); hdr.writeUInt16LE(4, 6);
  hdr.writeUInt32LE(snaplen, 16); hdr.writeUInt32LE(1, 20);
  parts.push(hdr);
  frames.forEach((f, i) => {
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(1_700_000_000 + i, 0); rec.writeUInt32LE(f.length, 8); rec.writeUInt32LE(f.length, 12);
    parts.push(rec, Buffer.from(f));
  });
  writeFileSync(file, Buffer.concat(parts));
}

/** Frames of a classic little-endian pcap (what our pcap port writes). */
export function readPcap(file: string): Uint8Array[] {
  const d = readFileSync(file);
  if (d.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error(`${file}: not a little-endian microsecond pcap`);
  const out: Uint8Array[] = [];
  for (let o = 24; o + 16 <= d.length;) {
    const cap = d.readUInt32LE(o + 8);
    out.push(new Uint8Array(d.subarray(o + 16, o + 16 + cap)));
    o += 16 + cap;
  }
  return out;
}

/** The same key for both directions of a flow. */
export function flowKey(fr: Uint8Array): string {
  const a = `${fr.slice(26, 30).join(".")}:${(fr[34] << 8) | fr[35]}`;
  const b = `${fr.slice(30, 34).join(".")}:${(fr[36] << 8) | fr[37]}`;
  return `${fr[23]} ${a < b ? `${a} ${b}` : `${b} ${a}`}`;
}
