// Building one outgoing segment (IP header, TCP header with options) in
// place. The caller puts the payload at o + headerLength(t) first; then
// writeSegment fills the headers and both checksums around it.

import { fold, onesSum, pseudoSum4, pseudoSum6, ipv4HeaderChecksum } from "../checksum";

/** What to send; one reused per stack. */
export class OutSegment {
  v6 = false;
  laddr: Uint32Array = new Uint32Array(4);
  raddr: Uint32Array = new Uint32Array(4);
  lport = 0;
  rport = 0;
  seq = 0;
  ack = 0;
  flags = 0;
  /** The 16-bit window field (already scaled down). */
  wnd = 0;
  mss = -1;
  wscale = -1;
  sackOk = false;
  ts = false;
  tsVal = 0;
  tsEcr = 0;
  nSack = 0;
  readonly sack = new Uint32Array(8);
  /** IPv4 identification counter (per stack). */
  ipId = 0;
}

function optionsLength(t: OutSegment): number {
  let n = 0;
  if (t.mss >= 0) n += 4;
  if (t.sackOk) n += t.ts ? 0 : 4;     // SACK-permitted rides with TS (2 + 10 = 12) or NOP NOP SACKOK
  if (t.ts) n += 12;                    // NOP NOP TS, or SACKOK TS
  if (t.wscale >= 0) n += 4;            // NOP WS
  if (t.nSack > 0) n += 4 + 8 * t.nSack; // NOP NOP SACK
  return n;
}

/** Bytes of IP + TCP headers t needs. */
export function headerLength(t: OutSegment): number {
  return (t.v6 ? 40 : 20) + 20 + optionsLength(t);
}

function w32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24; b[o + 1] = v >>> 16; b[o + 2] = v >>> 8; b[o + 3] = v;
}

/** Writes headers at b[o..] for a payload of dataLen already in place;
 *  returns the packet's length. `offload`: the TCP checksum field gets only
 *  the pseudo-header sum, for the output to finish. */
export function writeSegment(b: Uint8Array, o: number, t: OutSegment, dataLen: number, offload = false): number {
  const ipLen = t.v6 ? 40 : 20;
  const optLen = optionsLength(t);
  const tcpLen = 20 + optLen + dataLen;
  const total = ipLen + tcpLen;
  if (t.v6) {
    b[o] = 0x60; b[o + 1] = 0; b[o + 2] = 0; b[o + 3] = 0;
    b[o + 4] = tcpLen >>> 8; b[o + 5] = tcpLen; b[o + 6] = 6; b[o + 7] = 64;
    for (let i = 0; i < 4; i++) { w32(b, o + 8 + 4 * i, t.laddr[i]); w32(b, o + 24 + 4 * i, t.raddr[i]); }
  } else {
    b[o] = 0x45; b[o + 1] = 0; b[o + 2] = total >>> 8; b[o + 3] = total;
    t.ipId = (t.ipId + 1) & 0xffff;
    b[o + 4] = t.ipId >>> 8; b[o + 5] = t.ipId; b[o + 6] = 0x40; b[o + 7] = 0; // DF
    b[o + 8] = 64; b[o + 9] = 6; b[o + 10] = 0; b[o + 11] = 0;
    w32(b, o + 12, t.laddr[0]); w32(b, o + 16, t.raddr[0]);
    const c = ipv4HeaderChecksum(b, o);
    b[o + 10] = c >>> 8; b[o + 11] = c;
  }
  const h = o + ipLen;
  b[h] = t.lport >>> 8; b[h + 1] = t.lport; b[h + 2] = t.rport >>> 8; b[h + 3] = t.rport;
  w32(b, h + 4, t.seq); w32(b, h + 8, t.ack);
  b[h + 12] = ((20 + optLen) >>> 2) << 4; b[h + 13] = t.flags;
  b[h + 14] = t.wnd >>> 8; b[h + 15] = t.wnd;
  b[h + 16] = 0; b[h + 17] = 0; b[h + 18] = 0; b[h + 19] = 0;
  let p = h + 20;
  // Linux's SYN layout: MSS, SACKOK+TS, NOP+WS (20 bytes with all four).
  if (t.mss >= 0) { b[p] = 2; b[p + 1] = 4; b[p + 2] = t.mss >>> 8; b[p + 3] = t.mss; p += 4; }
  if (t.ts) {
    if (t.sackOk) { b[p] = 4; b[p + 1] = 2; } else { b[p] = 1; b[p + 1] = 1; }
    b[p + 2] = 8; b[p + 3] = 10; w32(b, p + 4, t.tsVal); w32(b, p + 8, t.tsEcr); p += 12;
  } else if (t.sackOk) { b[p] = 1; b[p + 1] = 1; b[p + 2] = 4; b[p + 3] = 2; p += 4; }
  if (t.wscale >= 0) { b[p] = 1; b[p + 1] = 3; b[p + 2] = 3; b[p + 3] = t.wscale; p += 4; }
  if (t.nSack > 0) {
    b[p] = 1; b[p + 1] = 1; b[p + 2] = 5; b[p + 3] = 2 + 8 * t.nSack; p += 4;
    for (let i = 0; i < t.nSack; i++) { w32(b, p, t.sack[2 * i]); w32(b, p + 4, t.sack[2 * i + 1]); p += 8; }
  }
  const sum = t.v6 ? pseudoSum6(b, o, 6, tcpLen) : pseudoSum4(b, o, 6, tcpLen);
  const c = offload ? fold(sum) : ~fold(onesSum(b, h, tcpLen, sum)) & 0xffff;
  b[h + 16] = c >>> 8; b[h + 17] = c;
  return total;
}
