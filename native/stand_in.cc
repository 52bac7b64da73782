#include "stand_in.h"

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "core.h"

namespace vnf {

// A core that has not come back for kStallMs is stood in for. The stand-in
// looks every kTickUs, and every kNapUs while the core has said it is away
// (so a 256-slot ring does not fill between two looks at a few hundred kpps).
constexpr double kStallMs = 1.0;
constexpr uint32_t kTickUs = 1000, kNapUs = 50;

static uint32_t powerOfTwoAtLeast(uint32_t n) {
  uint32_t p = 1;
  while (p < n) p *= 2;
  return p;
}

StandIn::StandIn(CoreIO& io, Lane& lane, uint32_t limit, uint32_t burst)
    : io_(io), lane_(lane), backlog_(powerOfTwoAtLeast(limit)), mask_(uint32_t(backlog_.size()) - 1), limit_(limit), burst_(burst) {
  thread_ = std::thread(&StandIn::run, this);
  pthread_setname_np(thread_.native_handle(), "vnf-stand-in");
  // Off the core's own CPU where it is pinned: anywhere the process may run.
  cpu_set_t all;
  if (sched_getaffinity(getpid(), sizeof all, &all) == 0) pthread_setaffinity_np(thread_.native_handle(), sizeof all, &all);
}

void StandIn::enter() {
  while (held_.exchange(true, std::memory_order_acquire)) sched_yield();   // a turn is one burst
  away_.store(false, std::memory_order_relaxed);
}

void StandIn::leave(double nowMs) {
  lastMs_.store(nowMs, std::memory_order_relaxed);
  held_.store(false, std::memory_order_release);
}

void StandIn::away() {
  away_.store(true, std::memory_order_relaxed);
  cv_.notify_one();
}

void StandIn::stop() {
  {
    std::lock_guard<std::mutex> l(m_);
    quit_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

uint32_t StandIn::take(Slot* out, uint32_t max) {
  const uint32_t n = std::min(max, tail_ - head_);
  for (uint32_t i = 0; i < n; i++) out[i] = backlog_[(head_ + i) & mask_];
  head_ += n;
  return n;
}

void StandIn::drain(PoolCache& cache) {
  for (; head_ != tail_; head_++) cache.free(backlog_[head_ & mask_].buf);
}

bool StandIn::stalled() const {
  if (away_.load(std::memory_order_relaxed)) return true;
  const double last = lastMs_.load(std::memory_order_relaxed);
  return last >= 0 && monotonicMs() - last > kStallMs;
}

// The stand-in sleeps almost always, and when it wakes it must run within
// a millisecond, not after the scheduler's next tick (4 ms and more on a
// busy machine, measured): real-time priority 1 where the process may
// (root, CAP_SYS_NICE), else the highest nice it may take. Its work is
// bounded: a full backlog, or an empty ring, puts it back to sleep.
static void runPromptly() {
  sched_param sp{};
  sp.sched_priority = 1;
  if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) != 0) setpriority(PRIO_PROCESS, 0, -20);
}

void StandIn::run() {
  runPromptly();
  for (;;) {
    {
      std::unique_lock<std::mutex> l(m_);
      const uint32_t us = away_.load(std::memory_order_relaxed) ? kNapUs : kTickUs;
      cv_.wait_for(l, std::chrono::microseconds(us));
      if (quit_) return;
    }
    while (stalled() && turn() == burst_) {}   // a full burst: more may be waiting
  }
}

// One burst into the backlog, if the core is still away once the inputs
// are in hand (it may have come back since stalled() said otherwise).
uint32_t StandIn::turn() {
  if (held_.exchange(true, std::memory_order_acquire)) return 0;
  const uint32_t n = stalled() ? fill() : 0;
  lane_.counters.core[stand_in_frames] += n;
  held_.store(false, std::memory_order_release);
  return n;
}

uint32_t StandIn::fill() {
  const uint32_t at = tail_ & mask_;
  const uint32_t room = std::min({burst_, limit_ - (tail_ - head_), mask_ + 1 - at});
  if (done_ || !room) return 0;
  const uint32_t n = io_.receive(lane_, backlog_.data() + at, room, done_);
  tail_ += n;
  return n;
}

}  // namespace vnf
