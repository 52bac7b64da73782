// Internet checksum arithmetic (RFC 1071, incremental per RFC 1624).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace vnf {

// Ones' complement sum of big-endian 16-bit words, not yet folded.
inline uint32_t csumPartial(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (; n > 1; p += 2, n -= 2) sum += uint32_t(p[0]) << 8 | p[1];
  if (n) sum += uint32_t(p[0]) << 8;
  return sum;
}

inline uint16_t csumFold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);
}

// A checksum after adding `words` (sum of 16-bit words) to what it covered:
// HC' = ~(~HC + m') when the fields changed from zero.
inline uint16_t csumAdd(uint16_t hc, uint32_t words) {
  uint32_t sum = uint32_t(uint16_t(~hc)) + words;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);
}

// Big-endian stores as single (unaligned) moves.
inline void put16(uint8_t* p, uint16_t v) { v = __builtin_bswap16(v); memcpy(p, &v, 2); }
inline void put32(uint8_t* p, uint32_t v) { v = __builtin_bswap32(v); memcpy(p, &v, 4); }
inline uint16_t get16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }

}  // namespace vnf
