// The engine's receive-side scaling, in TS: the same Toeplitz hash, tuples
// and indirection table as native/rss.cc, so a VNF (or a test) can ask which
// core a flow lands on. Not a flow-table key: a symmetric key folds tuples.
import type { Packet } from "./packet";

export const RSS_SYMMETRIC_KEY: readonly number[] = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? 0x6d : 0x5a));
export const RSS_MICROSOFT_KEY: readonly number[] = [
  0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
  0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
  0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
];
const RETA_SIZE = 128;

/** Toeplitz hash of `input` (at most 36 bytes) under a 40-byte key. */
export function toeplitz(key: ArrayLike<number>, input: ArrayLike<number>): number {
  if (key.length !== 40) throw new RangeError("toeplitz: the key is 40 bytes");
  if (input.length > 36) throw new RangeError("toeplitz: at most 36 input bytes");
  let h = 0;
  for (let i = 0; i < input.length; i++) {
    for (let bit = 0; bit < 8; bit++) {
      if (!(input[i] & (0x80 >> bit))) continue;
      const n = i * 8 + bit; // the 32 key bits starting at bit n
      let w = 0;
      for (let k = 0; k < 32; k++) {
        const kb = n + k;
        w = (w << 1) | (kb < 320 ? (key[kb >> 3] >> (7 - (kb & 7))) & 1 : 0);
      }
      h ^= w;
    }
  }
  return h >>> 0;
}

/** The core RSS picks for a hash, with the engine's 128-entry table. */
export function rssCore(hash: number, cores: number): number {
  return ((hash >>> 0) % RETA_SIZE) % cores;
}

/**
 * The hash the engine gives this packet: addresses and, for TCP/UDP that is
 * not a fragment, ports; 0 for non-IP (such frames go to core 0).
 */
export function rssHashOf(pkt: Packet, key: ArrayLike<number> = RSS_SYMMETRIC_KEY): number {
  const b = pkt.bytes;
  const l3 = pkt.l3Offset;
  if (l3 < 0) return 0;
  const v4 = pkt.ipv4 !== null;
  // As NICs do: IPv4 ports unless fragmented; IPv6 ports only when TCP/UDP
  // follows the fixed header directly (no extension headers).
  const ports = pkt.srcPort >= 0 && (v4 ? ((b[l3 + 6] & 0x3f) | b[l3 + 7]) === 0 : b[l3 + 6] === 6 || b[l3 + 6] === 17);
  const addrs = v4 ? b.subarray(l3 + 12, l3 + 20) : b.subarray(l3 + 8, l3 + 40);
  const input = Array.from(addrs);
  if (ports) input.push(pkt.srcPort >> 8, pkt.srcPort & 255, pkt.dstPort >> 8, pkt.dstPort & 255);
  return toeplitz(key, input);
}
