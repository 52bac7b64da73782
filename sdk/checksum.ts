// Internet checksum (RFC 1071) over the pool bytes, pseudo-headers for
// TCP/UDP/ICMPv6, and incremental updates (RFC 1624 eqn. 3). Offsets are
// absolute into the buffer; nothing here allocates.

/** Ones'-complement sum of 16-bit big-endian words, not folded. An odd
 *  trailing byte is padded with zero. `acc` lets sums chain. */
export function onesSum(b: Uint8Array, off: number, len: number, acc: number): number {
  let s = acc;
  const last = off + len - 1;
  let i = off;
  for (; i < last; i += 2) s += (b[i] << 8) | b[i + 1];
  if ((len & 1) !== 0) s += b[last] << 8;
  return s;
}

/** Folds carries back in until the sum fits 16 bits. */
export function fold(sum: number): number {
  let s = sum;
  // Division, not >>>, so sums past 2^32 (huge buffers) still fold right.
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return s;
}

/** The checksum of a byte range: ~fold(sum) (RFC 1071). */
export function internetChecksum(b: Uint8Array, off: number, len: number): number {
  return ~fold(onesSum(b, off, len, 0)) & 0xffff;
}

/** Checksum of [off, off+len) as if the 16-bit field at off+fieldAt were
 *  zero. fieldAt must be even so the words stay aligned. */
export function checksumSkipping(
  b: Uint8Array, off: number, len: number, fieldAt: number, acc: number,
): number {
  let s = onesSum(b, off, fieldAt, acc);
  s = onesSum(b, off + fieldAt + 2, len - fieldAt - 2, s);
  return ~fold(s) & 0xffff;
}

/** IPv4 header checksum to store (the stored field is ignored). */
export function ipv4HeaderChecksum(b: Uint8Array, ipOff: number): number {
  return checksumSkipping(b, ipOff, (b[ipOff] & 0x0f) << 2, 10, 0);
}

/** True when the stored IPv4 header checksum is right. */
export function verifyIpv4HeaderChecksum(b: Uint8Array, ipOff: number): boolean {
  return fold(onesSum(b, ipOff, (b[ipOff] & 0x0f) << 2, 0)) === 0xffff;
}

/** Sum of the IPv4 pseudo-header: src, dst, zero+protocol, upper-layer length. */
export function pseudoSum4(b: Uint8Array, ipOff: number, proto: number, l4Len: number): number {
  return onesSum(b, ipOff + 12, 8, proto + l4Len);
}

/** Sum of the IPv6 pseudo-header (RFC 8200 8.1): src, dst, length, next header. */
export function pseudoSum6(b: Uint8Array, ipOff: number, nextHeader: number, l4Len: number): number {
  // A 32-bit length is two words; lengths here never pass 16 bits, but be exact.
  return onesSum(b, ipOff + 8, 32, nextHeader + (l4Len >>> 16) + (l4Len & 0xffff));
}

/** Where the checksum field sits inside a transport header, or -1. */
export function checksumFieldOffset(proto: number): number {
  if (proto === 6) return 16; // TCP
  if (proto === 17) return 6; // UDP
  if (proto === 1 || proto === 58) return 2; // ICMP, ICMPv6
  return -1;
}

function fieldAt(proto: number): number {
  const at = checksumFieldOffset(proto);
  if (at < 0) throw new Error(`no known checksum field for IP protocol ${proto}`);
  return at;
}

/** Transport checksum to store for an IPv4 packet (UDP: 0 becomes 0xffff,
 *  RFC 768). ICMP has no pseudo-header; pass proto 1 to get plain ICMP. */
export function l4Checksum4(
  b: Uint8Array, ipOff: number, l4Off: number, l4Len: number, proto: number,
): number {
  const acc = proto === 1 ? 0 : pseudoSum4(b, ipOff, proto, l4Len);
  const c = checksumSkipping(b, l4Off, l4Len, fieldAt(proto), acc);
  return c === 0 && proto === 17 ? 0xffff : c;
}

/** True when the stored transport checksum of an IPv4 packet is right.
 *  UDP checksum 0 means "none" and verifies. */
export function verifyL4Checksum4(
  b: Uint8Array, ipOff: number, l4Off: number, l4Len: number, proto: number,
): boolean {
  const at = fieldAt(proto);
  if (proto === 17 && ((b[l4Off + at] << 8) | b[l4Off + at + 1]) === 0) return true;
  const acc = proto === 1 ? 0 : pseudoSum4(b, ipOff, proto, l4Len);
  return fold(onesSum(b, l4Off, l4Len, acc)) === 0xffff;
}

/** Transport checksum to store for an IPv6 packet (TCP, UDP, ICMPv6). */
export function l4Checksum6(
  b: Uint8Array, ipOff: number, l4Off: number, l4Len: number, proto: number,
): number {
  const c = checksumSkipping(b, l4Off, l4Len, fieldAt(proto), pseudoSum6(b, ipOff, proto, l4Len));
  return c === 0 && proto === 17 ? 0xffff : c;
}

/** True when the stored transport checksum of an IPv6 packet is right
 *  (UDP checksum 0 is invalid over IPv6, RFC 8200 8.1). */
export function verifyL4Checksum6(
  b: Uint8Array, ipOff: number, l4Off: number, l4Len: number, proto: number,
): boolean {
  fieldAt(proto);
  return fold(onesSum(b, l4Off, l4Len, pseudoSum6(b, ipOff, proto, l4Len))) === 0xffff;
}

/** RFC 1624 eqn. 3 for one 16-bit word: HC' = ~(~HC + ~m + m'). */
export function updateChecksum16(hc: number, oldWord: number, newWord: number): number {
  let s = (~hc & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** A checksum left to offload (CHECKSUM_PENDING) holds the pseudo-header
 *  sum itself, not its complement: a change to an address it covers is
 *  added in, uncomplemented (RFC 1624 with HC = ~sum). */
export function updatePendingSum32(sum: number, oldValue: number, newValue: number): number {
  return ~updateChecksum32(~sum & 0xffff, oldValue, newValue) & 0xffff;
}

/** What a TCP/UDP checksum field left to offload holds: the folded
 *  pseudo-header sum (as Linux writes it for CHECKSUM_PARTIAL). */
export function pendingChecksum(b: Uint8Array, ipOff: number, v6: boolean, proto: number, l4Len: number): number {
  return fold(v6 ? pseudoSum6(b, ipOff, proto, l4Len) : pseudoSum4(b, ipOff, proto, l4Len));
}

/** RFC 1624 eqn. 3 for a 32-bit field (an IPv4 address, a TCP sequence). */
export function updateChecksum32(hc: number, oldValue: number, newValue: number): number {
  let s = (~hc & 0xffff)
    + (~(oldValue >>> 16) & 0xffff) + (~oldValue & 0xffff)
    + (newValue >>> 16) + (newValue & 0xffff);
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}
