#include "pool.h"

#include <sys/mman.h>

#include <stdexcept>
#include <string>

namespace vnf {

Pool::Pool(uint32_t count, uint32_t bufSize, uint32_t stride, uint32_t large, size_t windowBytes)
    : count_(count), bufSize_(bufSize), stride_(stride ? stride : bufSize + 64), large_(large),
      windowBytes_((windowBytes + 4095) & ~size_t(4095)) {
  largeSpan_ = (kLargeBytes + stride_ - 1) / stride_;
  if (stride_ < bufSize) throw std::runtime_error("buffer stride must be at least the buffer size");
  // Batches name a frame by its 32-bit byte offset in the pool.
  if (span() >= (size_t(1) << 32))
    throw std::runtime_error("a buffer pool of " + std::to_string(span() >> 20) +
                             " MiB is over the 4 GiB a batch can address: lower --buffers or --large-buffers");
  // The whole span is reserved first, so windows sit right after the buffers.
  void* p = mmap(nullptr, span(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p != MAP_FAILED &&
      mmap(p, bytes(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE, -1, 0) == MAP_FAILED) {
    munmap(p, span());
    p = MAP_FAILED;
  }
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

Pool::~Pool() { munmap(base_, span()); }

uint32_t Pool::take(uint32_t* out, uint32_t n) {
  std::lock_guard<std::mutex> g(lock_);
  if (n > free_.size()) n = uint32_t(free_.size());
  for (uint32_t i = 0; i < n; i++) { out[i] = free_.back(); free_.pop_back(); }
  return n;
}

void Pool::give(const uint32_t* in, uint32_t n) {
  const uint32_t windowFirst = uint32_t(bytes() / stride_);
  std::lock_guard<std::mutex> g(lock_);
  for (uint32_t i = 0; i < n; i++) {
    if (in[i] < count_) free_.push_back(in[i]);
    else if (in[i] < windowFirst) freeLarge_.push_back(in[i]);
    else if (PoolWindow* w = windowOwner(in[i])) w->giveBack(in[i]);
  }
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

uint8_t* Pool::openWindow(size_t len, PoolWindow* owner) {
  len = (len + 4095) & ~size_t(4095);
  std::lock_guard<std::mutex> g(lock_);
  if (windowBytes_ - windowUsed_ < len) return nullptr;
  const size_t from = windowStart() + windowUsed_;
  windowUsed_ += len;
  windows_.push_back(Window{from, from + len, owner});
  return base_ + from;
}

void Pool::closeWindow(PoolWindow* owner) {
  std::lock_guard<std::mutex> g(lock_);
  for (Window& w : windows_) {
    if (w.owner != owner) continue;
    w.owner = nullptr;
    // Plain memory again: a stale slot still reads and writes harmlessly.
    mmap(base_ + w.from, w.to - w.from, PROT_READ | PROT_WRITE,
         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
  }
}

PoolWindow* Pool::windowOwner(uint32_t buf) const {
  const size_t at = size_t(buf) * stride_;
  for (const Window& w : windows_)
    if (at >= w.from && at < w.to) return w.owner;
  return nullptr;
}

}  // namespace vnf
