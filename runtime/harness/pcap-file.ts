// Capture files for vnfrun/test: golden files, inputs, saved batches. Reads
// classic pcap (either byte order, µs or ns) and pcapng; writes classic pcap,
// little-endian, µs: what the engine's pcap port writes and every tool reads.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";

export interface CapturedFrame { data: Uint8Array; interface?: number; comment?: string }

/** The frames of a pcap or pcapng file, in order. */
export function readCapture(file: string): Uint8Array[] {
  return readCaptureRecords(file).map((r) => r.data);
}

export function readCaptureRecords(file: string): CapturedFrame[] {
  const d = readFileSync(file);
  if (d.length < 4) throw new Error(`${file}: not a capture (too short)`);
  const magic = d.readUInt32LE(0);
  if (magic === 0x0a0d0d0a) return readPcapng(d, file);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const be = d.readUInt32BE(0) === 0xa1b2c3d4 || d.readUInt32BE(0) === 0xa1b23c4d;
  if (!le && !be) throw new Error(`${file}: not a pcap or pcapng file (magic 0x${magic.toString(16)})`);
  const u32 = (o: number) => (le ? d.readUInt32LE(o) : d.readUInt32BE(o));
  if (u32(20) !== 1) throw new Error(`${file}: link type ${u32(20)}; vnfrun reads Ethernet (1) captures`);
  const out: CapturedFrame[] = [];
  for (let o = 24; o + 16 <= d.length; ) {
    const cap = u32(o + 8);
    if (o + 16 + cap > d.length) throw new Error(`${file}: truncated record at byte ${o}`);
    out.push({ data: new Uint8Array(d.subarray(o + 16, o + 16 + cap)) });
    o += 16 + cap;
  }
  return out;
}

function readPcapng(d: Buffer, file: string): CapturedFrame[] {
  const out: CapturedFrame[] = [];
  let le = true;
  for (let o = 0; o + 12 <= d.length; ) {
    if (d.readUInt32LE(o) === 0x0a0d0d0a) le = d.readUInt32LE(o + 8) === 0x1a2b3c4d;
    const u32 = (x: number) => (le ? d.readUInt32LE(x) : d.readUInt32BE(x));
    const u16 = (x: number) => (le ? d.readUInt16LE(x) : d.readUInt16BE(x));
    const type = u32(o), len = u32(o + 4);
    if (len < 12 || o + len > d.length) throw new Error(`${file}: truncated pcapng block at byte ${o}`);
    if (type === 6) {   // enhanced packet block: interface, time, caplen, origlen, data, options
      const cap = u32(o + 20);
      const rec: CapturedFrame = { data: new Uint8Array(d.subarray(o + 28, o + 28 + cap)), interface: u32(o + 8) };
      for (let p = o + 28 + Math.ceil(cap / 4) * 4; p + 4 <= o + len - 4; ) {
        const code = u16(p), olen = u16(p + 2);
        if (code === 0) break;
        if (code === 1) rec.comment = d.toString("utf8", p + 4, p + 4 + olen);
        p += 4 + Math.ceil(olen / 4) * 4;
      }
      out.push(rec);
    } else if (type === 3) {   // simple packet block
      const orig = u32(o + 8);
      out.push({ data: new Uint8Array(d.subarray(o + 12, o + 12 + Math.min(orig, len - 16))) });
    }
    o += len;
  }
  return out;
}

/** A classic pcap of `frames`, one per µs from a fixed time (so a file's
 *  bytes depend on its frames alone, as a golden file's must). */
export function pcapBytes(frames: readonly Uint8Array[]): Buffer {
  const hdr = Buffer.alloc(24);
  hdr.writeUInt32LE(0xa1b2c3d4, 0); hdr.writeUInt16LE(2, 4); hdr.writeUInt16LE(4, 6);
  hdr.writeUInt32LE(65535, 16); hdr.writeUInt32LE(1, 20);
  const parts: Buffer[] = [hdr];
  frames.forEach((f, i) => {
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(1_700_000_000, 0); rec.writeUInt32LE(i, 4);
    rec.writeUInt32LE(f.length, 8); rec.writeUInt32LE(f.length, 12);
    parts.push(rec, Buffer.from(f.buffer, f.byteOffset, f.byteLength));
  });
  return Buffer.concat(parts);
}

export function writeCapture(file: string, frames: readonly Uint8Array[]): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, pcapBytes(frames));
}
