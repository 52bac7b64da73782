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

// An IPv4 header whose checksum is right sums to all ones. Summed as 32-bit
// words in host order (all ones reads the same either way round).
inline bool ipv4HeaderOk(const uint8_t* ip, uint32_t ihl) {
  uint64_t s = 0;
  for (uint32_t i = 0; i < ihl; i += 4) {
    uint32_t w;
    memcpy(&w, ip + i, 4);
    s += w;
  }
  s = (s & 0xffffffff) + (s >> 32);
  s = (s & 0xffffffff) + (s >> 32);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return s == 0xffff;
}

// Big-endian stores as single (unaligned) moves.
inline void put16(uint8_t* p, uint16_t v) { v = __builtin_bswap16(v); memcpy(p, &v, 2); }
inline void put32(uint8_t* p, uint32_t v) { v = __builtin_bswap32(v); memcpy(p, &v, 4); }
inline uint16_t get16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }

}  // namespace vnf
