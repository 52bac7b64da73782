#include "pool.h"

#include <sys/mman.h>

#include <stdexcept>
#include <string>

namespace vnf {

Pool::Pool(uint32_t count, uint32_t bufSize, uint32_t stride, uint32_t large)
    : count_(count), bufSize_(bufSize), stride_(stride ? stride : bufSize + 64), large_(large) {
  largeSpan_ = (kLargeBytes + stride_ - 1) / stride_;
  if (stride_ < bufSize) throw std::runtime_error("buffer stride must be at least the buffer size");
  void* p = mmap(nullptr, bytes(), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (p == MAP_FAILED)
    throw std::runtime_error("cannot map a buffer pool of " + std::to_string(bytes() >> 20) +
                             " MiB: lower --buffers");
  madvise(p, bytes(), MADV_HUGEPAGE);
  base_ = static_cast<uint8_t*>(p);
  free_.reserve(count);
  // Lowest indices on top so a lightly loaded engine touches few pages.
  for (uint32_t i = count; i-- > 0;) free_.push_back(i);
  freeLarge_.reserve(large);
  for (uint32_t i = large; i-- > 0;) freeLarge_.push_back(count + i * largeSpan_);
}

Pool::~Pool() { munmap(base_, bytes()); }

uint32_t Pool::take(uint32_t* out, uint32_t n) {
  std::lock_guard<std::mutex> g(lock_);
  if (n > free_.size()) n = uint32_t(free_.size());
  for (uint32_t i = 0; i < n; i++) { out[i] = free_.back(); free_.pop_back(); }
  return n;
}

void Pool::give(const uint32_t* in, uint32_t n) {
  std::lock_guard<std::mutex> g(lock_);
  for (uint32_t i = 0; i < n; i++) (in[i] >= count_ ? freeLarge_ : free_).push_back(in[i]);
}

bool Pool::takeLarge(uint32_t& buf) {
  std::lock_guard<std::mutex> g(lock_);
  if (freeLarge_.empty()) return false;
  buf = freeLarge_.back();
  freeLarge_.pop_back();
  return true;
}

uint32_t Pool::available() {
  std::lock_guard<std::mutex> g(lock_);
  return uint32_t(free_.size());
}

}  // namespace vnf
