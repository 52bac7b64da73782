// A guest context's batch copy (QuickJS): its memory is not the pool, so the
// batch goes in with one copy per frame and comes back as verdicts plus the
// frames the guest changed. Both run on the core's thread, between two
// cycles, in one native call each way: no host call per packet.
#include <algorithm>
#include <cstring>

#include "core.h"

namespace vnf {

static uint32_t alignTo(uint32_t v, uint32_t a) { return (v + a - 1) / a * a; }

// A frame's slot in guest memory: the pool's headroom, the frame, and room
// to grow, like a pool buffer; larger frames get larger slots.
static constexpr uint32_t kGuestSlot = 2048;

// The guest's fresh buffers: the first kFresh slots of its frames.
static constexpr uint32_t kGuestFresh = kFresh * kGuestSlot;

GuestLayout guestLayout(uint32_t rxBatch) {
  const uint32_t b = rxBatch + kFresh;
  GuestLayout g;
  g.offsets = 0;
  g.lengths = 4 * b;
  g.inPorts = 8 * b;
  g.verdicts = 9 * b;
  g.flags = 10 * b;
  g.meta = alignTo(11 * b, 8);
  g.fresh = g.meta + 16;
  g.ctl = g.fresh + 4 * kFresh;
  g.tickets = g.ctl + 4 * kCtlWords;
  g.releases = g.tickets + 4 * b;
  g.keepFree = g.releases + 8 * kReleases;
  g.bytes = alignTo(g.keepFree + 4 * b, 64);
  return g;
}

uint32_t Core::guestSlot(uint32_t len) const { return alignTo(eng_.config().headroom + len, kGuestSlot); }

int64_t Core::guestIn(uint8_t* mem, size_t memLen, uint32_t base, uint32_t cap) {
  const GuestLayout g = guestLayout(cfg_.rxBatch);
  if (uint64_t(base) + g.bytes + cap > memLen) return -1;
  const uint32_t n = held_n_, head = eng_.config().headroom;
  uint64_t need = kGuestFresh;
  for (uint32_t i = 0; i < n; i++) need += guestSlot(lengths_[i]);
  if (need > cap) return -int64_t(need);
  uint8_t* const G = mem + base;
  uint8_t* const frames = G + g.bytes;
  const uint8_t* const pool = eng_.pool().base();
  // The fresh buffers the engine offers, as guest slots of the same count;
  // guestOut copies the ones used into the engine's.
  uint32_t gctl[kCtlWords] = {};
  gctl[kCtlAvailable] = ctl_[kCtlAvailable];
  gctl[kCtlCapacity] = std::min<uint32_t>(ctl_[kCtlCapacity], kGuestSlot - head);
  for (uint32_t k = 0; k < gctl[kCtlAvailable]; k++) {
    const uint32_t at = k * kGuestSlot + head;
    memcpy(G + g.fresh + 4 * k, &at, 4);
  }
  keptIn(G, g, gctl);
  memcpy(G + g.ctl, gctl, sizeof gctl);
  uint32_t cursor = kGuestFresh;
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
  uint32_t gctl[kCtlWords];
  memcpy(gctl, G + g.ctl, sizeof gctl);
  // Entry flags for retire: FLAG_RESOLVE (the guest says so in ctl), or a
  // checksum left to the engine.
  if (gctl[kCtlFlags]) ctl_[kCtlFlags] = 1;
  for (uint32_t i = 0; i < n; i++)
    if ((flags_[i] & kFlagPending) && !(held_[i].flags & kSlotMeta)) ctl_[kCtlFlags] = 1;
  originatedOut(G, g, gctl[kCtlUsed]);
  keptOut(G, g, gctl);
  uint32_t cursor = kGuestFresh;
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

// Frames the guest originated (entries n .. n + used - 1, in its fresh
// slots): into the engine's fresh buffers, as a V8 context would have
// written them there. One outside its slot is left with length 0, which
// retire counts as bad_bounds.
void Core::originatedOut(const uint8_t* G, const GuestLayout& g, uint32_t asked) {
  const uint32_t n = held_n_, head = eng_.config().headroom, used = std::min(asked, ctl_[kCtlAvailable]);
  const uint8_t* const frames = G + g.bytes;
  uint8_t* const pool = eng_.pool().base();
  for (uint32_t k = 0; k < used; k++) {
    const uint32_t i = n + k, at = k * kGuestSlot + head;
    uint32_t gOff, gLen;
    memcpy(&gOff, G + g.offsets + 4 * i, 4);
    memcpy(&gLen, G + g.lengths + 4 * i, 4);
    offsets_[i] = fresh_[k];
    verdicts_[i] = G[g.verdicts + i];
    flags_[i] = G[g.flags + i];
    if (gOff != at || gLen == 0 || gLen > ctl_[kCtlCapacity] || gLen > kGuestSlot - head) {
      lengths_[i] = 0;
      continue;
    }
    lengths_[i] = gLen;
    memcpy(pool + fresh_[k], frames + at, gLen);
    if ((flags_[i] & kFlagPending)) ctl_[kCtlFlags] = 1;
  }
  ctl_[kCtlUsed] = used;
}

// Kept frames: the guest sees the top of the free tickets (as many as a
// batch has entries: it cannot keep more), takes from its top as a V8
// context takes from keepFree's, and writes tickets and releases; the core
// checks every ticket as it does for V8 (retire, releaseKept).
void Core::keptIn(uint8_t* G, const GuestLayout& g, uint32_t* gctl) {
  const uint32_t top = std::min<uint32_t>(ctl_[kCtlKeepFree], uint32_t(freeTickets_.size()));
  const uint32_t w = std::min(top, cfg_.rxBatch + kFresh);
  memcpy(G + g.keepFree, keepFree_ + (top - w), 4 * w);
  guestKeepWindow_ = w;
  gctl[kCtlKeepFree] = w;
  gctl[kCtlKeepLimit] = ctl_[kCtlKeepLimit];
}

void Core::keptOut(const uint8_t* G, const GuestLayout& g, const uint32_t* gctl) {
  const uint32_t w = guestKeepWindow_, left = std::min(gctl[kCtlKeepFree], w);
  ctl_[kCtlKeepFree] -= w - left;   // the ones taken, from the top
  const uint32_t entries = held_n_ + ctl_[kCtlUsed];
  memcpy(tickets_, G + g.tickets, 4 * entries);
  const uint32_t released = std::min(gctl[kCtlReleased], kReleases);
  memcpy(releases_, G + g.releases, 8 * released);
  ctl_[kCtlReleased] = released;
  if (gctl[kCtlForgetKept]) ctl_[kCtlForgetKept] = 1;
}

}  // namespace vnf
