// Receive-side scaling in software: the Toeplitz hash NICs use, over the
// same tuples (IPv4/IPv6 addresses, plus ports for TCP and UDP), and an
// indirection table from hash to core. The distributor, `hw` splitting of
// files and generators, and the SDK all use this one definition, so a flow
// lands on the same core whichever path it takes.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

namespace vnf {

class Toeplitz {
 public:
  static constexpr uint32_t kKeyLen = 40;
  static constexpr uint32_t kMaxInput = 36;  // IPv6 addresses and ports

  explicit Toeplitz(const uint8_t* key);

  // Hash of `len` input bytes (len <= kMaxInput).
  uint32_t hash(const uint8_t* in, uint32_t len) const {
    uint32_t h = 0;
    for (uint32_t i = 0; i < len; i++) h ^= table_[i][in[i]];
    return h;
  }

  // The hash NICs compute for a frame: 4-tuple for TCP/UDP (not fragments),
  // 2-tuple for other IP, 0 for anything else. Never reads past `len`.
  uint32_t frameHash(const uint8_t* frame, uint32_t len) const;

 private:
  // table_[i][b]: the hash contribution of byte value b at input position i.
  std::vector<std::array<uint32_t, 256>> table_;
};

// Microsoft's verification key, and the symmetric key (0x6d5a repeated) under
// which both directions of a flow hash alike.
extern const uint8_t kMicrosoftKey[Toeplitz::kKeyLen];
extern const uint8_t kSymmetricKey[Toeplitz::kKeyLen];

class Rss {
 public:
  static constexpr uint32_t kRetaSize = 128;

  Rss(const uint8_t* key, uint32_t queues);

  uint32_t queues() const { return queues_; }
  uint32_t queueOfHash(uint32_t h) const { return reta_[h & (kRetaSize - 1)]; }
  // Non-IP frames hash to 0 and so land on queue 0.
  uint32_t queueOf(const uint8_t* frame, uint32_t len, uint32_t& hash) const {
    hash = toeplitz_.frameHash(frame, len);
    return queueOfHash(hash);
  }
  const Toeplitz& toeplitz() const { return toeplitz_; }

 private:
  Toeplitz toeplitz_;
  uint32_t queues_;
  uint8_t reta_[kRetaSize];
};

}  // namespace vnf
