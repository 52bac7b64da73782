#include "rss.h"

#include <cstring>

namespace vnf {

const uint8_t kMicrosoftKey[Toeplitz::kKeyLen] = {
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
    0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
    0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};

const uint8_t kSymmetricKey[Toeplitz::kKeyLen] = {
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a};

Toeplitz::Toeplitz(const uint8_t* key) : table_(kMaxInput) {
  // The 32 key bits starting at bit n, for every n an input bit can select.
  auto window = [&](uint32_t n) {
    uint32_t w = 0;
    for (uint32_t b = 0; b < 32; b++) {
      const uint32_t bit = n + b;
      const uint32_t v = bit < kKeyLen * 8 ? (key[bit / 8] >> (7 - bit % 8)) & 1 : 0;
      w = (w << 1) | v;
    }
    return w;
  };
  for (uint32_t i = 0; i < kMaxInput; i++)
    for (uint32_t v = 0; v < 256; v++) {
      uint32_t h = 0;
      for (uint32_t b = 0; b < 8; b++)
        if (v & (0x80 >> b)) h ^= window(i * 8 + b);
      table_[i][v] = h;
    }
}

uint32_t Toeplitz::frameHash(const uint8_t* f, uint32_t len) const {
  uint32_t l3 = 14;
  if (len < l3) return 0;
  uint32_t type = uint32_t(f[12]) << 8 | f[13];
  for (int tags = 0; tags < 2 && (type == 0x8100 || type == 0x88a8) && len >= l3 + 4; tags++) {
    type = uint32_t(f[l3 + 2]) << 8 | f[l3 + 3];
    l3 += 4;
  }
  uint8_t in[kMaxInput];
  if (type == 0x0800) {
    if (len < l3 + 20 || (f[l3] >> 4) != 4) return 0;
    const uint32_t ihl = (f[l3] & 15) * 4u;
    const bool fragment = ((f[l3 + 6] & 0x3f) | f[l3 + 7]) != 0;  // MF or offset
    memcpy(in, f + l3 + 12, 8);
    const uint8_t proto = f[l3 + 9];
    if (!fragment && (proto == 6 || proto == 17) && ihl >= 20 && len >= l3 + ihl + 4) {
      memcpy(in + 8, f + l3 + ihl, 4);
      return hash(in, 12);
    }
    return hash(in, 8);
  }
  if (type == 0x86dd) {
    if (len < l3 + 40 || (f[l3] >> 4) != 6) return 0;
    memcpy(in, f + l3 + 8, 32);
    const uint8_t next = f[l3 + 6];
    if ((next == 6 || next == 17) && len >= l3 + 44) {
      memcpy(in + 32, f + l3 + 40, 4);
      return hash(in, 36);
    }
    return hash(in, 32);
  }
  return 0;
}

Rss::Rss(const uint8_t* key, uint32_t queues) : toeplitz_(key), queues_(queues ? queues : 1) {
  for (uint32_t i = 0; i < kRetaSize; i++) reta_[i] = uint8_t(i % queues_);
}

}  // namespace vnf
