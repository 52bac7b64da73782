// Parsing one IP packet carrying TCP into a reused Segment (no allocation):
// IPv4 or IPv6 (no extension headers), the TCP header and the options TCP
// negotiates: MSS, window scale, SACK-permitted, SACK blocks, timestamps.

import { fold, onesSum, pseudoSum4, pseudoSum6, verifyIpv4HeaderChecksum } from "../checksum";

export const FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10, URG = 0x20;

/** Why a packet was not taken as a segment (0 = it was). */
export const SEG_OK = 0, SEG_MALFORMED = 1, SEG_CHECKSUM = 2, SEG_FRAGMENT = 3, SEG_NOT_TCP = 4;

export class Segment {
  v6 = false;
  /** Addresses as 32-bit words; IPv4 uses word 0 and zeros elsewhere. */
  readonly src = new Uint32Array(4);
  readonly dst = new Uint32Array(4);
  srcPort = 0;
  dstPort = 0;
  seq = 0;
  ack = 0;
  flags = 0;
  /** The raw 16-bit window field (unscaled). */
  wnd = 0;
  /** Options; -1 / false when absent. */
  mss = -1;
  wscale = -1;
  sackOk = false;
  hasTs = false;
  tsVal = 0;
  tsEcr = 0;
  /** SACK blocks: start, end pairs. */
  nSack = 0;
  readonly sack = new Uint32Array(8);
  /** Payload: bytes[dataOff, dataOff + dataLen). */
  bytes: Uint8Array = new Uint8Array(0);
  dataOff = 0;
  dataLen = 0;

  /** Sequence space the segment takes: data, plus one each for SYN and FIN. */
  get seqLen(): number { return this.dataLen + (this.flags & SYN ? 1 : 0) + (this.flags & FIN ? 1 : 0); }
}

function readOptions(b: Uint8Array, o: number, end: number, s: Segment): boolean {
  s.mss = -1; s.wscale = -1; s.sackOk = false; s.hasTs = false; s.nSack = 0;
  while (o < end) {
    const kind = b[o];
    if (kind === 0) break;           // end of options
    if (kind === 1) { o++; continue; } // NOP
    if (o + 1 >= end) return false;
    const len = b[o + 1];
    if (len < 2 || o + len > end) return false;
    switch (kind) {
      case 2: if (len === 4) s.mss = (b[o + 2] << 8) | b[o + 3]; break;
      case 3: if (len === 3) s.wscale = Math.min(b[o + 2], 14); break; // RFC 7323 2.3: >14 is 14
      case 4: if (len === 2) s.sackOk = true; break;
      case 5:
        if ((len - 2) % 8 === 0) {
          let n = 0;
          for (let p = o + 2; p + 8 <= o + len && n < 4; p += 8, n++) {
            s.sack[2 * n] = ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
            s.sack[2 * n + 1] = ((b[p + 4] << 24) | (b[p + 5] << 16) | (b[p + 6] << 8) | b[p + 7]) >>> 0;
          }
          s.nSack = n;
        }
        break;
      case 8:
        if (len === 10) {
          s.hasTs = true;
          s.tsVal = ((b[o + 2] << 24) | (b[o + 3] << 16) | (b[o + 4] << 8) | b[o + 5]) >>> 0;
          s.tsEcr = ((b[o + 6] << 24) | (b[o + 7] << 16) | (b[o + 8] << 8) | b[o + 9]) >>> 0;
        }
        break;
      default: break;                  // unknown options are skipped
    }
    o += len;
  }
  return true;
}

/** Parse the IP packet at b[off, off+len) into s. Returns SEG_OK or why not.
 *  `checksum`: verify the TCP checksum (false where the NIC already did). */
export function parseSegment(b: Uint8Array, off: number, len: number, s: Segment, checksum: boolean): number {
  if (len < 20) return SEG_MALFORMED;
  const ver = b[off] >>> 4;
  let l4: number, l4Len: number, sum = 0;
  if (ver === 4) {
    const ihl = (b[off] & 0x0f) << 2;
    const total = (b[off + 2] << 8) | b[off + 3];
    if (ihl < 20 || total < ihl || total > len) return SEG_MALFORMED;
    if (b[off + 9] !== 6) return SEG_NOT_TCP;
    if (((b[off + 6] & 0x3f) | b[off + 7]) !== 0) return SEG_FRAGMENT; // MF or an offset
    if (!verifyIpv4HeaderChecksum(b, off)) return SEG_CHECKSUM;
    s.v6 = false;
    s.src[0] = ((b[off + 12] << 24) | (b[off + 13] << 16) | (b[off + 14] << 8) | b[off + 15]) >>> 0;
    s.dst[0] = ((b[off + 16] << 24) | (b[off + 17] << 16) | (b[off + 18] << 8) | b[off + 19]) >>> 0;
    s.src[1] = s.src[2] = s.src[3] = 0; s.dst[1] = s.dst[2] = s.dst[3] = 0;
    l4 = off + ihl; l4Len = total - ihl;
    if (checksum) sum = pseudoSum4(b, off, 6, l4Len);
  } else if (ver === 6) {
    if (len < 40) return SEG_MALFORMED;
    const plen = (b[off + 4] << 8) | b[off + 5];
    if (40 + plen > len) return SEG_MALFORMED;
    if (b[off + 6] !== 6) return SEG_NOT_TCP; // extension headers are not walked here
    s.v6 = true;
    for (let i = 0; i < 4; i++) {
      const a = off + 8 + 4 * i, d = off + 24 + 4 * i;
      s.src[i] = ((b[a] << 24) | (b[a + 1] << 16) | (b[a + 2] << 8) | b[a + 3]) >>> 0;
      s.dst[i] = ((b[d] << 24) | (b[d + 1] << 16) | (b[d + 2] << 8) | b[d + 3]) >>> 0;
    }
    l4 = off + 40; l4Len = plen;
    if (checksum) sum = pseudoSum6(b, off, 6, l4Len);
  } else return SEG_MALFORMED;
  if (l4Len < 20) return SEG_MALFORMED;
  const hlen = (b[l4 + 12] >>> 4) << 2;
  if (hlen < 20 || hlen > l4Len) return SEG_MALFORMED;
  if (checksum && fold(onesSum(b, l4, l4Len, sum)) !== 0xffff) return SEG_CHECKSUM;
  s.srcPort = (b[l4] << 8) | b[l4 + 1];
  s.dstPort = (b[l4 + 2] << 8) | b[l4 + 3];
  s.seq = ((b[l4 + 4] << 24) | (b[l4 + 5] << 16) | (b[l4 + 6] << 8) | b[l4 + 7]) >>> 0;
  s.ack = ((b[l4 + 8] << 24) | (b[l4 + 9] << 16) | (b[l4 + 10] << 8) | b[l4 + 11]) >>> 0;
  s.flags = b[l4 + 13] & 0x3f; // ECE/CWR are not used (no ECN)
  s.wnd = (b[l4 + 14] << 8) | b[l4 + 15];
  if (!readOptions(b, l4 + 20, l4 + hlen, s)) return SEG_MALFORMED;
  s.bytes = b;
  s.dataOff = l4 + hlen;
  s.dataLen = l4Len - hlen;
  return SEG_OK;
}
