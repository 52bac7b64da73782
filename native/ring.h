// A single-producer single-consumer ring of slots, the netmap ring discipline:
// the producer owns [tail, head + size), the consumer owns [head, tail).
// Indices run free and wrap by mask, so full and empty need no extra flag.
#pragma once
#include <atomic>
#include <cstdint>
#include <vector>

#include "slot.h"

namespace vnf {

class Ring {
 public:
  explicit Ring(uint32_t size) : mask_(size - 1), slots_(size) {}

  uint32_t size() const { return mask_ + 1; }
  uint32_t readable() const { return tail_.load(std::memory_order_acquire) - head_.load(std::memory_order_relaxed); }
  uint32_t writable() const { return size() - (tail_.load(std::memory_order_relaxed) - head_.load(std::memory_order_acquire)); }
  bool empty() const { return readable() == 0; }

  // Producer side: copy up to n slots in; returns how many fit.
  uint32_t push(const Slot* in, uint32_t n) {
    uint32_t t = tail_.load(std::memory_order_relaxed);
    uint32_t room = size() - (t - head_.load(std::memory_order_acquire));
    if (n > room) n = room;
    for (uint32_t i = 0; i < n; i++) slots_[(t + i) & mask_] = in[i];
    tail_.store(t + n, std::memory_order_release);
    return n;
  }

  // Consumer side: copy up to n slots out; returns how many there were.
  uint32_t pop(Slot* out, uint32_t n) {
    uint32_t h = head_.load(std::memory_order_relaxed);
    uint32_t have = tail_.load(std::memory_order_acquire) - h;
    if (n > have) n = have;
    for (uint32_t i = 0; i < n; i++) out[i] = slots_[(h + i) & mask_];
    head_.store(h + n, std::memory_order_release);
    return n;
  }

 private:
  const uint32_t mask_;
  std::vector<Slot> slots_;
  alignas(64) std::atomic<uint32_t> head_{0};
  alignas(64) std::atomic<uint32_t> tail_{0};
};

inline bool isPowerOfTwo(uint32_t v) { return v && !(v & (v - 1)); }

}  // namespace vnf
