#include "core_io.h"

#include "input_end.h"
#include "thread.h"
#include "transmit.h"

#include <poll.h>
#include <sched.h>
#include <time.h>

#include <algorithm>
#include <climits>

namespace vnf {
namespace {

class DirectIO : public CoreIO {
 public:
  DirectIO(Engine& e, uint32_t queue) : eng_(e), queue_(queue), done_(e.portCount(), 0), end_(e, queue) {}

  uint32_t receive(Lane& lane, Slot* slots, uint32_t max, bool& done) override {
    const uint32_t ports = eng_.portCount();
    if (eng_.stopping()) { done = true; return 0; }
    max = eng_.reserve(max);
    uint32_t n = 0;
    for (uint32_t k = 0; k < ports && n < max; k++) {
      const uint32_t p = (rr_ + k) % ports;
      if (done_[p]) continue;
      const int got = receiveFrom(eng_.port(p, queue_), lane, slots + n, max - n, uint16_t(p));
      if (got == Port::kExhausted) { done_[p] = 1; continue; }
      n += uint32_t(got);
    }
    eng_.settle(max, n);
    rr_ = ports ? (rr_ + 1) % ports : 0;
    done = eng_.budgetSpent() || end_.ended(done_);
    return n;
  }

  void transmit(Lane& lane, const Slot* slots, uint32_t n, uint32_t port) override {
    transmitTo(eng_.port(port, queue_), lane, slots, n, uint16_t(eng_.config().headroom));
  }

  void idle(uint32_t us) override {
    pollfd fds[64];
    nfds_t n = 0;
    for (uint32_t p = 0; p < eng_.portCount() && n < 64; p++) {
      const int fd = eng_.port(p, queue_).pollFd();
      if (fd >= 0 && !done_[p]) fds[n++] = {fd, POLLIN, 0};
    }
    timespec t{time_t(us / 1000000), long(us % 1000000) * 1000};
    if (n) ppoll(fds, n, &t, nullptr);
    else sleepUs(us);
  }

 private:
  Engine& eng_;
  uint32_t queue_;
  std::vector<uint8_t> done_;  // per port: input exhausted
  InputEnd end_;
  uint32_t rr_ = 0;            // round-robin start among input ports
};

class PipeIO : public CoreIO {
 public:
  PipeIO(Engine& e, uint32_t core) : eng_(e), core_(core), in_(e.toCore(core)), out_(e.fromCore(core)) {}
  ~PipeIO() override { finish(); }

  uint32_t receive(Lane&, Slot* slots, uint32_t max, bool& done) override {
    // Read the flag before the ring: a frame pushed before it was set is
    // then seen by this pop.
    const bool last = eng_.inputDone();
    const uint32_t n = in_.pop(slots, max);
    done = n == 0 && last;
    return n;
  }

  // A full ring back to the I/O thread means it is behind. Under the wait
  // policy (files, generators) wait for it as long as it takes: it cannot
  // finish before this core does. Otherwise wait a little, then drop and count.
  void transmit(Lane& lane, const Slot* slots, uint32_t n, uint32_t port) override {
    Slot tagged[256];
    for (uint32_t done = 0; done < n;) {
      const uint32_t k = std::min<uint32_t>(n - done, 256);
      for (uint32_t i = 0; i < k; i++) { tagged[i] = slots[done + i]; tagged[i].port = uint16_t(port); }
      uint32_t sent = 0;
      const int patience = eng_.waitsOnOverflow() ? INT32_MAX : 1000;
      for (int tries = 0; sent < k && tries < patience; tries++) {
        sent += out_.push(tagged + sent, k - sent);
        if (sent < k) sched_yield();
      }
      if (sent < k) {
        lane.cache.freeSlots(tagged + sent, k - sent);
        lane.counters.port(port)[tx_ring_full] += k - sent;
      }
      done += k;
    }
  }

  void idle(uint32_t us) override { sleepUs(us); }

  void finish() override { eng_.setCoreDone(core_); }

 private:
  Engine& eng_;
  uint32_t core_;
  Ring& in_;
  Ring& out_;
};

}  // namespace

std::unique_ptr<CoreIO> makeCoreIO(Engine& engine, uint32_t core) {
  switch (engine.config().dist) {
    case Dist::kSw1:
    case Dist::kSw2:
      return std::make_unique<PipeIO>(engine, core);
    case Dist::kHw:
      return std::make_unique<DirectIO>(engine, core);
    case Dist::kNone:
      break;
  }
  return std::make_unique<DirectIO>(engine, 0);
}

}  // namespace vnf
