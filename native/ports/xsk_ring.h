// The shared-memory rings of an AF_XDP socket (fill, rx, tx, completion),
// and the bitmap of the pool buffers the kernel holds through one socket.
// Used by xdp.cc.
#pragma once
#include <linux/if_xdp.h>
#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vnf {
namespace xsk {

// One mmap'd ring. Producer rings (fill, tx): we write descriptors, then
// publish `prod`. Consumer rings (rx, completion): we read what the kernel
// published, then release it through `cons`.
template <typename Desc>
struct XskRing {
  uint32_t* prod = nullptr;
  uint32_t* cons = nullptr;
  uint32_t* flags = nullptr;
  Desc* descs = nullptr;
  uint32_t mask = 0, size = 0;
  uint32_t cachedProd = 0, cachedCons = 0;
  void* map = nullptr;
  size_t mapLen = 0;

  bool mapRing(int fd, const xdp_ring_offset& off, uint32_t n, off_t pgoff) {
    mapLen = off.desc + size_t(n) * sizeof(Desc);
    void* p = mmap(nullptr, mapLen, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, pgoff);
    if (p == MAP_FAILED) return false;
    map = p;
    char* b = static_cast<char*>(p);
    prod = reinterpret_cast<uint32_t*>(b + off.producer);
    cons = reinterpret_cast<uint32_t*>(b + off.consumer);
    flags = reinterpret_cast<uint32_t*>(b + off.flags);
    descs = reinterpret_cast<Desc*>(b + off.desc);
    size = n;
    mask = n - 1;
    cachedProd = __atomic_load_n(prod, __ATOMIC_ACQUIRE);
    cachedCons = __atomic_load_n(cons, __ATOMIC_ACQUIRE);
    return true;
  }
  void unmap() {
    if (map) munmap(map, mapLen);
    map = nullptr;
  }

  // Producer side: free descriptors, looking at the kernel's progress only
  // when the cached view is short of `want`.
  uint32_t freeSpace(uint32_t want) {
    uint32_t free = size - (cachedProd - cachedCons);
    if (free >= want) return free;
    cachedCons = __atomic_load_n(cons, __ATOMIC_ACQUIRE);
    return size - (cachedProd - cachedCons);
  }
  void submit(uint32_t n) {
    cachedProd += n;
    __atomic_store_n(prod, cachedProd, __ATOMIC_RELEASE);
  }
  // Descriptors the kernel has not consumed yet (tx).
  uint32_t pending() const { return cachedProd - __atomic_load_n(cons, __ATOMIC_ACQUIRE); }

  // Consumer side.
  uint32_t available(uint32_t max) {
    uint32_t n = cachedProd - cachedCons;
    if (n == 0) {
      cachedProd = __atomic_load_n(prod, __ATOMIC_ACQUIRE);
      n = cachedProd - cachedCons;
    }
    return n < max ? n : max;
  }
  void release(uint32_t n) {
    cachedCons += n;
    __atomic_store_n(cons, cachedCons, __ATOMIC_RELEASE);
  }
  bool needsWakeup() const { return __atomic_load_n(flags, __ATOMIC_RELAXED) & XDP_RING_NEED_WAKEUP; }
};

// Which pool buffers the kernel holds for one socket, so close() can return
// them. One bit per buffer; each bitmap has one writer thread.
class Held {
 public:
  void resize(uint32_t n) { bits_.assign((n + 63) / 64, 0); }   // and forget every buffer
  void set(uint32_t b) { bits_[b >> 6] |= 1ull << (b & 63); }
  void clear(uint32_t b) { bits_[b >> 6] &= ~(1ull << (b & 63)); }
  template <typename F>
  void forEach(F f) const {
    for (size_t w = 0; w < bits_.size(); w++)
      for (uint64_t m = bits_[w]; m; m &= m - 1) f(uint32_t(w * 64 + __builtin_ctzll(m)));
  }

 private:
  std::vector<uint64_t> bits_;
};

}  // namespace xsk
}  // namespace vnf
