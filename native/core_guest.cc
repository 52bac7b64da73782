// A guest context's batch copy (QuickJS): its memory is not the pool, so the
// batch goes in with one copy per frame and comes back as verdicts plus the
// frames the guest changed. Both run on the core's thread, between two
// cycles, in one native call each way: no host call per packet.
#include <cstring>

#include "core.h"

namespace vnf {

static uint32_t alignTo(uint32_t v, uint32_t a) { return (v + a - 1) / a * a; }

// A frame's slot in guest memory: the pool's headroom, the frame, and room
// to grow, like a pool buffer; larger frames get larger slots.
static constexpr uint32_t kGuestSlot = 2048;

GuestLayout guestLayout(uint32_t b) {
  GuestLayout g;
  g.offsets = 0;
  g.lengths = 4 * b;
  g.inPorts = 8 * b;
  g.verdicts = 9 * b;
  g.flags = 10 * b;
  g.meta = alignTo(11 * b, 8);
  g.bytes = alignTo(g.meta + 16, 64);
  return g;
}

uint32_t Core::guestSlot(uint32_t len) const { return alignTo(eng_.config().headroom + len, kGuestSlot); }

int64_t Core::guestIn(uint8_t* mem, size_t memLen, uint32_t base, uint32_t cap) {
  const GuestLayout g = guestLayout(cfg_.rxBatch);
  if (uint64_t(base) + g.bytes + cap > memLen) return -1;
  const uint32_t n = held_n_, head = eng_.config().headroom;
  uint64_t need = 0;
  for (uint32_t i = 0; i < n; i++) need += guestSlot(lengths_[i]);
  if (need > cap) return -int64_t(need);
  uint8_t* const G = mem + base;
  uint8_t* const frames = G + g.bytes;
  const uint8_t* const pool = eng_.pool().base();
  uint32_t cursor = 0;
  for (uint32_t i = 0; i < n; i++) {
    const uint32_t at = cursor + head, len = lengths_[i];
    memcpy(frames + at, pool + offsets_[i], len);
    memcpy(G + g.offsets + 4 * i, &at, 4);
    cursor += guestSlot(len);
  }
  memcpy(G + g.lengths, lengths_, 4 * n);
  memcpy(G + g.inPorts, inPorts_, n);
  memcpy(G + g.flags, flags_, n);
  memset(G + g.verdicts, 0, n);
  const double meta[2] = {double(n), meta_[0]};
  memcpy(G + g.meta, meta, sizeof meta);
  return n;
}

void Core::guestOut(const uint8_t* mem, size_t memLen, uint32_t base, uint32_t cap) {
  const GuestLayout g = guestLayout(cfg_.rxBatch);
  const uint32_t n = held_n_;
  if (uint64_t(base) + g.bytes + cap > memLen) { memset(verdicts_, 0, n); return; }
  const uint8_t* const G = mem + base;
  const uint8_t* const frames = G + g.bytes;
  uint8_t* const pool = eng_.pool().base();
  const Pool& p = eng_.pool();
  const uint32_t head = eng_.config().headroom, stride = p.stride();
  memcpy(verdicts_, G + g.verdicts, n);
  // Checksums the guest left to the engine, as the V8 context says them (kCtlFlags).
  memcpy(flags_, G + g.flags, n);
  for (uint32_t i = 0; i < n; i++)
    if ((flags_[i] & kFlagPending) && !(held_[i].flags & kSlotMeta)) ctl_[kCtlFlags] = 1;
  uint32_t cursor = 0;
  for (uint32_t i = 0; i < n; i++) {
    const uint32_t len = lengths_[i], slot = guestSlot(len), at = cursor + head;
    cursor += slot;
    if (verdicts_[i] == 0) continue;
    uint32_t gOff, gLen;
    memcpy(&gOff, G + g.offsets + 4 * i, 4);
    memcpy(&gLen, G + g.lengths + 4 * i, 4);
    uint8_t* const frame = pool + offsets_[i];
    if (gOff == at && gLen == len) {
      if (memcmp(frames + at, frame, len) != 0) memcpy(frame, frames + at, len);
      continue;
    }
    // Moved or resized (push/pop headers): inside the guest slot and the
    // pool buffer, or the frame is dropped (retire counts a length of 0 as
    // bad_bounds).
    const Slot& s = held_[i];
    const int64_t moved = int64_t(s.off) + int64_t(gOff) - int64_t(at);
    const uint32_t slotStart = at - head;
    if (gLen == 0 || gOff < slotStart || uint64_t(gOff) + gLen > uint64_t(slotStart) + slot || moved < 0 ||
        uint64_t(moved) + gLen > p.capacity(s.buf)) {
      lengths_[i] = 0;
      continue;
    }
    offsets_[i] = s.buf * stride + uint32_t(moved);
    lengths_[i] = gLen;
    memcpy(pool + offsets_[i], frames + gOff, gLen);
  }
}

}  // namespace vnf
