#include "core.h"

#include "thread.h"
#include "ports/vnet.h"

#include <time.h>

#include <algorithm>
#include <cstring>

namespace vnf {

double monotonicMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static uint32_t alignUp(uint32_t v, uint32_t a) { return (v + a - 1) / a * a; }

Core::Core(std::shared_ptr<Engine> engine, uint32_t id, CoreConfig cfg)
    : engine_(std::move(engine)),
      eng_(*engine_),
      id_(id),
      cfg_(cfg),
      cache_(eng_.pool()),
      lane_{cache_, eng_.counters().lane(id)},
      io_(makeCoreIO(eng_, id)) {
  pinTo(cfg_.cpu);
  const uint32_t rx = cfg_.rxBatch, b = rx + kFresh;  // entries: received, then originated
  layout_.offsets = 0;
  layout_.lengths = alignUp(layout_.offsets + 4 * b, 64);
  layout_.inPorts = alignUp(layout_.lengths + 4 * b, 64);
  layout_.verdicts = alignUp(layout_.inPorts + b, 64);
  layout_.flags = alignUp(layout_.verdicts + b, 64);
  layout_.meta = alignUp(layout_.flags + b, 64);
  layout_.fresh = layout_.meta + 64;
  layout_.ctl = alignUp(layout_.fresh + 4 * kFresh, 64);
  layout_.bound = layout_.ctl + 64;
  const uint32_t keep = eng_.config().keep;
  layout_.tickets = layout_.bound + 65536;
  layout_.releases = alignUp(layout_.tickets + 4 * b, 64);
  layout_.keepFree = alignUp(layout_.releases + 8 * kReleases, 64);
  layout_.bytes = layout_.keepFree + 4 * keep;
  mem_.assign(layout_.bytes, 0);
  offsets_ = reinterpret_cast<uint32_t*>(mem_.data() + layout_.offsets);
  lengths_ = reinterpret_cast<uint32_t*>(mem_.data() + layout_.lengths);
  inPorts_ = mem_.data() + layout_.inPorts;
  verdicts_ = mem_.data() + layout_.verdicts;
  flags_ = mem_.data() + layout_.flags;
  meta_ = reinterpret_cast<double*>(mem_.data() + layout_.meta);
  fresh_ = reinterpret_cast<uint32_t*>(mem_.data() + layout_.fresh);
  ctl_ = reinterpret_cast<uint32_t*>(mem_.data() + layout_.ctl);
  bound_ = mem_.data() + layout_.bound;
  tickets_ = reinterpret_cast<uint32_t*>(mem_.data() + layout_.tickets);
  releases_ = reinterpret_cast<uint32_t*>(mem_.data() + layout_.releases);
  keepFree_ = reinterpret_cast<uint32_t*>(mem_.data() + layout_.keepFree);
  kept_.resize(keep);
  ticketState_.assign(keep, kTicketFree);
  for (uint32_t t = keep; t-- > 0;) freeTickets_.push_back(t);   // ticket 0 on top
  freeTickets_.reserve(keep);
  releasing_.reserve(kReleases);
  ctl_[kCtlKeepLimit] = keep;
  offerTickets(0);
  if (eng_.config().endpoint) endpoint_ = std::make_unique<Endpoint>(*eng_.config().endpoint, eng_.pool(), eng_.config().headroom, id_, bound_);
  ctl_[kCtlCapacity] = eng_.pool().bufSize() - eng_.config().headroom;
  refillFresh();
  if (!eng_.waitsOnOverflow() && eng_.config().backlog > 0)
    standIn_ = std::make_unique<StandIn>(*io_, lane_, eng_.config().backlog, rx);

  held_.resize(b);
  sentOffsets_.resize(b);
  sentLengths_.resize(b);
  dropped_.resize(b);
}

Core::~Core() {
  endStandIn();
  drain();
  io_->finish();
}

void Core::finish(uint32_t failed) {
  if (standIn_) standIn_->enter();
  endStandIn();
  retire(failed);
  forgetKept();
  io_->finish();
}

void Core::away() {
  if (standIn_) standIn_->away();
}

// The core is done with its inputs: no more turns, and what the backlog
// still holds goes back to the pool.
void Core::endStandIn() {
  if (!standIn_) return;
  standIn_->stop();
  standIn_->drain(cache_);
  standIn_.reset();
}

void Core::drain() {
  for (uint32_t i = 0; i < held_n_; i++) cache_.free(held_[i].buf);
  for (uint32_t t = 0; t < kept_.size(); t++)
    if (ticketState_[t] == kTicketKept) { cache_.free(kept_[t].buf); ticketState_[t] = kTicketFree; }
  held_n_ = 0;
  cache_.freeBufs(freshBufs_, freshN_);
  freshN_ = 0;
  if (endpoint_) endpoint_->drain(lane_);
  ctl_[kCtlAvailable] = ctl_[kCtlUsed] = 0;
}

uint32_t Core::takeOriginated(uint32_t n) {
  const uint32_t used = std::min(ctl_[kCtlUsed], freshN_);
  ctl_[kCtlUsed] = 0;
  if (used == 0) return 0;
  const uint32_t stride = eng_.pool().stride();
  const uint16_t head = uint16_t(eng_.config().headroom);
  for (uint32_t k = 0; k < used; k++) {
    // Length 0 as handed out: the bounds check in retire() sees JS's length.
    held_[n + k] = Slot{freshBufs_[k], head, 0, 0, 0, 0};
    sentOffsets_[n + k] = freshBufs_[k] * stride + head;
    sentLengths_[n + k] = 0;
  }
  freshN_ -= used;
  memmove(freshBufs_, freshBufs_ + used, freshN_ * 4);
  return used;
}

void Core::refillFresh() {
  if (freshN_ < kFresh) freshN_ += cache_.allocBulk(freshBufs_ + freshN_, kFresh - freshN_);
  const uint32_t stride = eng_.pool().stride(), head = eng_.config().headroom;
  for (uint32_t k = 0; k < freshN_; k++) fresh_[k] = freshBufs_[k] * stride + head;
  ctl_[kCtlAvailable] = freshN_;
}

void Core::retire(uint32_t failed) {
  // Kept frames: only when the VNF took a ticket, released or asked to forget.
  const uint32_t offeredFrom = kept_.empty() ? 0 : std::min<uint32_t>(ctl_[kCtlKeepFree], uint32_t(freeTickets_.size()));
  const bool keeping = !kept_.empty() && (offeredFrom != freeTickets_.size() || ctl_[kCtlReleased] || ctl_[kCtlForgetKept] || failed == kRestart);
  if (keeping) ticketsTaken(offeredFrom, failed);
  retireBatch(failed);
  if (keeping) ticketsBack(offeredFrom);
}

void Core::retireBatch(uint32_t failed) {
  const uint32_t made = ctl_[kCtlUsed] ? takeOriginated(held_n_) : 0;
  if (made || freshN_ == 0) refillFresh();
  originated_ = made != 0;
  const uint32_t n = held_n_ + made, ports = eng_.portCount();
  const Pool& pool = eng_.pool();
  const uint32_t stride = pool.stride();
  held_n_ = 0;
  if (n == 0) return;
  uint64_t* core = lane_.counters.core;
  if (failed) {
    for (uint32_t i = 0; i < n; i++) cache_.free(held_[i].buf);
    if (failed == kThrew) core[vnf_errors]++;
    core[failed == kCpuBudget ? vnf_cpu_budget : failed == kMemory ? vnf_memory : failed == kRestart ? vnf_restart : vnf_error_drops] += n;
    return;
  }
  const bool resolve = ctl_[kCtlFlags] != 0;
  ctl_[kCtlFlags] = 0;
  const double now = resolve ? monotonicMs() : 0;
  if (made == 0 && !resolve && retireToOnePort(n)) return;
  // Kept frames are compacted in place into runs bound for one port; a run
  // goes to the driver when the port changes or it reaches txBatch.
  // Locals, not members: byte stores elsewhere would force reloads.
  Slot* const held = held_.data();
  const uint32_t* const offsets = offsets_;
  const uint32_t* const lengths = lengths_;
  const uint8_t* const verdicts = verdicts_;
  const uint32_t txBatch = cfg_.txBatch;
  uint32_t w = 0, runStart = 0, runPort = 0;
  for (uint32_t i = 0; i < n; i++) {
    Slot s = held[i];
    const uint32_t v = verdicts[i];
    if (v == 0) { cache_.free(s.buf); core[vnf_drops]++; continue; }
    const uint32_t p = v - 1;
    if (p >= ports && v != kKeepVerdict) { cache_.free(s.buf); core[bad_verdicts]++; continue; }
    const uint32_t start = s.buf * stride;
    if (offsets[i] != start + s.off || lengths[i] != s.len) {
      // The VNF moved or resized the frame (push/pop headers): it must stay
      // inside its own buffer.
      const uint32_t off = offsets[i] - start, len = lengths[i];
      // (A slot's offset and length are 16-bit; large buffers are bigger.)
      if (offsets[i] < start || len == 0 || uint64_t(off) + len > pool.capacity(s.buf) || (off | len) > 0xffff) {
        cache_.free(s.buf);
        core[bad_bounds]++;
        continue;
      }
      s.off = uint16_t(off);
      s.len = uint16_t(len);
    }
    if (resolve && (flags_[i] & kFlagPending) && !(s.flags & kSlotMeta))
      s.flags |= vnet::leaveToOffload(pool.data(s.buf), s.off, s.len);
    if (v == kKeepVerdict) { keep(s, tickets_[i]); continue; }
    if (resolve && (flags_[i] & Endpoint::kFlagResolve)) {
      // The runtime fills the Ethernet addresses, or holds the frame
      // until its next hop is known (endpoint.h).
      if (!endpoint_) { cache_.free(s.buf); core[no_route]++; continue; }
      if (!endpoint_->resolve(lane_, *io_, s, p, now)) continue;
    }
    if (p != runPort || w - runStart == txBatch) {
      if (w > runStart) io_->transmit(lane_, held + runStart, w - runStart, runPort);
      runStart = w;
      runPort = p;
    }
    s.port = uint16_t(p);
    held[w++] = s;
  }
  if (w > runStart) io_->transmit(lane_, held + runStart, w - runStart, runPort);
}

// JS took the tickets above `from` on keepFree this batch: they are offered
// until retireBatch() uses them. Releases go first (oldest frames first on
// the wire), and a core that restarted, or a version on fresh state, lets
// every kept frame go: no one knows their tickets any more.
void Core::ticketsTaken(uint32_t from, uint32_t failed) {
  for (uint32_t k = from; k < freeTickets_.size(); k++) ticketState_[freeTickets_[k]] = kTicketOffered;
  offered_.assign(freeTickets_.begin() + from, freeTickets_.end());
  freeTickets_.resize(from);
  if (failed == kRestart || ctl_[kCtlForgetKept]) {
    ctl_[kCtlForgetKept] = 0;
    ctl_[kCtlReleased] = 0;
    forgetKept();
    return;
  }
  releaseKept();
}

void Core::releaseKept() {
  const uint32_t n = std::min(ctl_[kCtlReleased], kReleases), ports = eng_.portCount();
  ctl_[kCtlReleased] = 0;
  uint64_t* core = lane_.counters.core;
  releasing_.clear();
  for (uint32_t k = 0; k < n; k++) {
    const uint32_t t = releases_[2 * k], v = releases_[2 * k + 1];
    if (t >= kept_.size() || ticketState_[t] != kTicketKept) { core[bad_releases]++; continue; }
    Slot s = kept_[t];
    ticketState_[t] = kTicketFree;
    freeTickets_.push_back(t);
    keptCount_--;
    core[released]++;
    if (v == 0) { cache_.free(s.buf); core[vnf_drops]++; continue; }
    if (v - 1 >= ports) { cache_.free(s.buf); core[bad_verdicts]++; continue; }
    s.port = uint16_t(v - 1);
    releasing_.push_back(s);
  }
  // In runs by port, as retireBatch() sends.
  Slot* const r = releasing_.data();
  uint32_t start = 0;
  for (uint32_t i = 1; i <= releasing_.size(); i++) {
    if (i == releasing_.size() || r[i].port != r[start].port || i - start == cfg_.txBatch) {
      io_->transmit(lane_, r + start, i - start, r[start].port);
      start = i;
    }
  }
}

void Core::keep(Slot s, uint32_t ticket) {
  if (ticket < kept_.size() && ticketState_[ticket] == kTicketOffered && ownBuffer(s)) {
    kept_[ticket] = s;
    ticketState_[ticket] = kTicketKept;
    keptCount_++;
    lane_.counters.core[kept]++;
    return;
  }
  cache_.free(s.buf);
  lane_.counters.core[keep_refused]++;
}

// A frame in a driver's ring moves to a pool buffer (with the vnet header
// before it, if any): kept for long, it would stop the ring.
bool Core::ownBuffer(Slot& s) {
  const Pool& pool = eng_.pool();
  if (!pool.isWindow(s.buf)) return true;
  const uint32_t bytes = uint32_t(s.off) + s.len;
  uint32_t buf;
  if (!(bytes <= pool.bufSize() ? cache_.alloc(buf) : cache_.allocLarge(buf))) return false;
  memcpy(pool.data(buf), pool.data(s.buf), bytes);
  cache_.free(s.buf);
  s.buf = buf;
  return true;
}

// Offered tickets the VNF did not use go back, and JS sees the new top.
void Core::ticketsBack(uint32_t from) {
  for (uint32_t t : offered_) {
    if (ticketState_[t] != kTicketOffered) continue;
    ticketState_[t] = kTicketFree;
    freeTickets_.push_back(t);
  }
  offered_.clear();
  offerTickets(from);
}

// JS's copy of the free list below `from` is unchanged; the rest is rewritten.
void Core::offerTickets(uint32_t from) {
  for (uint32_t k = from; k < freeTickets_.size(); k++) keepFree_[k] = freeTickets_[k];
  ctl_[kCtlKeepFree] = uint32_t(freeTickets_.size());
}

// Inputs that end (a file, a generator, --count) end the core only once the
// VNF has let its kept frames go: a delay must not eat the end of a capture.
// One that never lets go is given up on after kKeptDrainMs.
bool Core::waitForKept() {
  if (keptCount_ == 0) return false;
  if (doneAtMs_ < 0) doneAtMs_ = meta_[0];
  if (meta_[0] - doneAtMs_ < kKeptDrainMs) return true;
  forgetKept();
  return false;
}

void Core::forgetKept() {
  uint64_t* core = lane_.counters.core;
  for (uint32_t t = 0; t < kept_.size(); t++) {
    if (ticketState_[t] != kTicketKept) continue;
    cache_.free(kept_[t].buf);
    ticketState_[t] = kTicketFree;
    freeTickets_.push_back(t);
    core[kept_forgotten]++;
  }
  keptCount_ = 0;
}

// The common cases: every frame unchanged, and each either dropped or sent
// out of one port (a wire; a firewall). Checked with a few vector passes over
// the verdicts, then a branch-free compaction: no per-packet decision.
bool Core::retireToOnePort(uint32_t n) {
  const uint8_t* const verdicts = verdicts_;
  // Byte-wide accumulators, so the compiler checks 16 verdicts at a time.
  uint8_t v = 0, other = 0, drops = 0;
  for (uint32_t i = 0; i < n; i++) v = std::max(v, verdicts[i]);
  if (v > eng_.portCount()) return false;
  for (uint32_t i = 0; i < n; i++) {
    other |= (verdicts[i] != 0) & (verdicts[i] != v);
    drops |= verdicts[i] == 0;
  }
  if (other) return false;
  if (memcmp(offsets_, sentOffsets_.data(), n * 4) != 0 || memcmp(lengths_, sentLengths_.data(), n * 4) != 0)
    return false;
  Slot* const held = held_.data();
  if (drops) {
    uint32_t* const dropped = dropped_.data();
    uint32_t w = 0, d = 0;
    for (uint32_t i = 0; i < n; i++) {
      const Slot s = held[i];
      const uint32_t keep = verdicts[i] != 0;
      held[w] = s;
      dropped[d] = s.buf;
      w += keep;
      d += keep ^ 1;
    }
    cache_.freeBufs(dropped, d);
    lane_.counters.core[vnf_drops] += d;
    n = w;
  }
  for (uint32_t i = 0; i < n; i += cfg_.txBatch) io_->transmit(lane_, held + i, std::min(cfg_.txBatch, n - i), v - 1u);
  return true;
}

uint32_t Core::gather() {
  const uint32_t stride = eng_.pool().stride();
  Slot* const held = held_.data();
  uint32_t* const offsets = offsets_;
  uint32_t* const lengths = lengths_;
  uint8_t* const inPorts = inPorts_;
  uint8_t* const flags = flags_;
  // What the stand-in received while the core was away comes first, and
  // until it is through, new frames queue behind it.
  uint32_t n;
  if (standIn_ && !standIn_->empty()) {
    standIn_->fill();
    n = standIn_->take(held, cfg_.rxBatch);
    done_ = done_ || standIn_->inputsDone();
  } else {
    n = done_ ? 0 : io_->receive(lane_, held, cfg_.rxBatch, done_);
  }
  if (endpoint_) {
    const double now = monotonicMs();
    endpoint_->tick(lane_, *io_, now);
    if (n) n = endpoint_->filter(lane_, *io_, held, n, now);
  }
  for (uint32_t i = 0; i < n; i++) {
    const Slot& s = held[i];
    offsets[i] = s.buf * stride + s.off;
    lengths[i] = s.len;
    inPorts[i] = uint8_t(s.port);
    static_assert(kSlotMeta == kFlagPending, "a received frame's offload note is the batch's pending bit");
    flags[i] = uint8_t(s.flags & (kSlotMeta | kSlotL4Good));  // checksum left to offload (kFlagPending), or checked
  }
  memset(verdicts_, 0, n);
  memcpy(sentOffsets_.data(), offsets, n * 4);
  memcpy(sentLengths_.data(), lengths, n * 4);
  held_n_ = n;
  if (n) {
    lane_.counters.core[batches]++;
    lane_.counters.core[packets] += n;
  }
  meta_[0] = monotonicMs();   // also for an empty batch: a VNF that originates runs then too
  return n;
}

int Core::cycle(uint32_t failed) {
  if (standIn_) standIn_->enter();
  retire(failed);
  const uint32_t n = gather();
  if (n == 0 && done_ && !waitForKept()) {
    endStandIn();
    io_->finish();
    return kDone;
  }
  if (standIn_) standIn_->leave(meta_[0]);
  // The idle wait only polls the inputs, so the stand-in may take them
  // meanwhile: a sleeping core woken late (a scheduler tick on a busy
  // machine) must not leave a small ring to overflow.
  if (n == 0 && !cfg_.busyPoll && !originated_) io_->idle(cfg_.idleUs);
  return int(n);
}

uint64_t Core::runNativeForward(double ms) {
  const double end = monotonicMs() + ms;
  uint64_t total = 0;
  for (uint32_t iter = 0;; iter++) {
    const int n = cycle(kOk);
    if (n == kDone) break;
    for (int i = 0; i < n; i++) verdicts_[i] = uint8_t((inPorts_[i] ^ 1) + 1);
    total += uint64_t(n);
    if ((iter & 63) == 0 && monotonicMs() >= end) break;
  }
  retire(kOk);
  return total;
}

}  // namespace vnf
