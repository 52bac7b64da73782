// The buffer pool: one mmap'd region of fixed-size buffers named by index.
// Every frame in the engine lives in exactly one buffer of this pool, so JS can
// see all packet bytes through a single ArrayBuffer.
//
// Buffers sit one `stride` apart. By default that is a cache line more than
// their size: with a power-of-two stride every in-flight frame header falls
// into the same few L1 sets (a 64-byte copy into rotating buffers: 2.4 ns
// at stride 2112 against 2.8 ns at 2048). AF_XDP zero copy needs buffers
// that never straddle a page, so an engine with xdp ports uses stride 2048.
//
// Large buffers (optional) hold whole GSO super-frames (up to 64 KiB, see
// ports/vnet.h). They sit after the small ones, each spanning several small
// strides, and are named by the index of the first: data() is one formula for
// both. They have their own free list; PoolCache hands out small buffers only
// and routes large ones back to that list when they are freed.
//
// Windows (optional) are address space after the large buffers where a
// driver maps memory the kernel writes into (the packet driver's rx ring), so
// a slot can name a frame there without a copy. A window's buffers are named
// like any other (data() is the same formula) and hold at least what a large
// buffer holds; when freed they go back to the window's owner, which hands
// the memory back to the kernel, not to a free list.
//
// Threads never share a free list directly: each owns a PoolCache and trades
// with the shared stack in bulk (the DPDK mempool cache idea), so the hot path
// takes no lock.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

namespace vnf {

// The owner of a window: takes back a buffer of it when that is freed (on
// any thread, under the pool's lock).
class PoolWindow {
 public:
  virtual void giveBack(uint32_t buf) = 0;

 protected:
  ~PoolWindow() = default;
};

class Pool {
 public:
  // What a large buffer holds: the biggest IPv4/IPv6 GSO frame (65535 bytes
  // of IP and an Ethernet header, VLAN included) after any headroom.
  static constexpr uint32_t kLargeBytes = 65536 + 1024;

  // stride 0: bufSize plus a cache line. `large`: how many large buffers.
  // `windowBytes`: address space to reserve for windows.
  Pool(uint32_t count, uint32_t bufSize, uint32_t stride = 0, uint32_t large = 0, size_t windowBytes = 0);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  uint8_t* base() const { return base_; }
  uint32_t bufSize() const { return bufSize_; }
  uint32_t stride() const { return stride_; }
  uint32_t count() const { return count_; }
  // The buffers' bytes (what AF_XDP registers), and everything a slot can
  // name, windows included (what JS sees).
  size_t bytes() const { return (size_t(count_) + size_t(large_) * largeSpan_) * stride_; }
  size_t span() const { return windowStart() + windowBytes_; }
  uint8_t* data(uint32_t buf) const { return base_ + size_t(buf) * stride_; }
  // Whether buf is a large buffer (or a window's, which holds as much).
  // Every buffer index below largeFirst() is small.
  uint32_t largeFirst() const { return count_; }
  bool isLarge(uint32_t buf) const { return buf >= count_; }
  // Bytes buffer `buf` holds (at least, for a window's).
  uint32_t capacity(uint32_t buf) const { return isLarge(buf) ? largeCapacity() : bufSize_; }
  // Whether buf lies in a window (a driver's ring, mapped: not for keeping).
  bool isWindow(uint32_t buf) const { return size_t(buf) * stride_ >= windowStart(); }
  uint32_t largeCapacity() const { return largeSpan_ * stride_; }
  // Whether there are large buffers to allocate (windows are not allocated).
  bool hasLarge() const { return large_ > 0; }
  // Whether any buffer can hold a super-frame: large buffers, or windows.
  bool holdsSuperFrames() const { return large_ > 0 || windowBytes_ > 0; }

  // A page-aligned window of `len` bytes for `owner` to map over with
  // MAP_FIXED; nullptr when the reserve has no room left. closeWindow maps
  // plain memory back over it (unmapping what the owner mapped there) and
  // forgets the owner: its buffers still in flight are then dropped when freed.
  uint8_t* openWindow(size_t len, PoolWindow* owner);
  void closeWindow(PoolWindow* owner);

  // Bulk trades with the shared stack; return how many moved.
  uint32_t take(uint32_t* out, uint32_t n);
  void give(const uint32_t* in, uint32_t n);
  uint32_t available();
  // One large buffer; false when none is free.
  bool takeLarge(uint32_t& buf);

 private:
  struct Window {
    size_t from, to;  // byte offsets from base_
    PoolWindow* owner;
  };
  size_t windowStart() const { return (bytes() + 4095) & ~size_t(4095); }
  // The window holding buf; nullptr when none does (or it was closed).
  PoolWindow* windowOwner(uint32_t buf) const;

  uint8_t* base_;
  uint32_t count_, bufSize_, stride_, large_, largeSpan_;
  size_t windowBytes_, windowUsed_ = 0;
  std::mutex lock_;
  std::vector<uint32_t> free_, freeLarge_;
  std::vector<Window> windows_;
};

// A thread's private stash of free buffers.
class PoolCache {
 public:
  static constexpr uint32_t kSize = 512;
  explicit PoolCache(Pool& pool) : pool_(pool), largeFirst_(pool.largeFirst()) {}
  ~PoolCache() { pool_.give(stash_, n_); }

  Pool& pool() const { return pool_; }

  // Returns false when the pool is empty.
  bool alloc(uint32_t& buf) {
    if (n_ == 0 && (n_ = pool_.take(stash_, kSize / 2)) == 0) return false;
    buf = stash_[--n_];
    return true;
  }
  // A large buffer (for a GSO super-frame); false when none is free.
  bool allocLarge(uint32_t& buf) { return pool_.takeLarge(buf); }
  // Up to n buffers at once; returns how many (fewer only when the pool is empty).
  uint32_t allocBulk(uint32_t* out, uint32_t n) {
    uint32_t got = 0;
    while (got < n) {
      if (n_ == 0 && (n_ = pool_.take(stash_, kSize / 2)) == 0) break;
      const uint32_t k = std::min(n - got, n_);
      const uint32_t* top = stash_ + n_ - k;   // the k on top, taken from the top down
      for (uint32_t i = 0; i < k; i++) out[got + i] = top[k - 1 - i];
      n_ -= k;
      got += k;
    }
    return got;
  }
  // The buffers of n slots (any type with a `buf` field).
  template <typename SlotT>
  void freeSlots(const SlotT* slots, uint32_t n) {
    stash(n, [slots](uint32_t i) { return slots[i].buf; });
  }
  void freeBufs(const uint32_t* bufs, uint32_t n) {
    stash(n, [bufs](uint32_t i) { return bufs[i]; });
  }
  void free(uint32_t buf) {
    if (buf >= largeFirst_) return pool_.give(&buf, 1);
    if (n_ == kSize) spill();
    stash_[n_++] = buf;
  }

 private:
  // Room for up to `want` more, spilling half the stash when it is full.
  uint32_t room(uint32_t want) {
    if (n_ == kSize) spill();
    return std::min(want, kSize - n_);
  }
  void spill() { pool_.give(stash_ + kSize / 2, kSize / 2); n_ = kSize / 2; }
  // Stash buffers bufAt(0..n-1); large ones go back to their own list.
  template <typename BufAt>
  void stash(uint32_t n, BufAt bufAt) {
    for (uint32_t done = 0; done < n;) {
      const uint32_t k = room(n - done);
      uint32_t* const to = stash_ + n_;   // a local: the stores below cannot move it
      uint32_t top = 0;
      for (uint32_t i = 0; i < k; i++) {
        to[i] = bufAt(done + i);
        top = std::max(top, to[i]);
      }
      n_ += k;
      done += k;
      if (top >= largeFirst_) sendLargeBack(k);
    }
  }
  // The last k stashed include large buffers: they go back to their own list.
  void sendLargeBack(uint32_t k) {
    uint32_t w = n_ - k;
    for (uint32_t i = n_ - k; i < n_; i++) {
      if (stash_[i] >= largeFirst_) pool_.give(&stash_[i], 1);
      else stash_[w++] = stash_[i];
    }
    n_ = w;
  }

  Pool& pool_;
  const uint32_t largeFirst_;
  uint32_t n_ = 0;
  uint32_t stash_[kSize];
};

}  // namespace vnf
