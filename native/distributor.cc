#include "distributor.h"

#include "thread.h"
#include "transmit.h"

#include <sched.h>

#include <algorithm>

namespace vnf {

Distributor::Distributor(Engine& engine)
    : eng_(engine),
      cfg_(engine.config()),
      portDone_(engine.portCount(), 0),
      end_(engine, 0),
      in_(cfg_.rxBatch),
      perCore_(cfg_.cores, std::vector<Slot>(cfg_.rxBatch)),
      out_(cfg_.rxBatch) {}

void Distributor::start() {
  auto cpu = [&](size_t i) { return i < cfg_.ioCpus.size() ? cfg_.ioCpus[i] : -1; };
  if (cfg_.dist == Dist::kSw1) {
    threads_.emplace_back([this, c = cpu(0)] { pinTo(c); runBoth(); });
  } else {
    threads_.emplace_back([this, c = cpu(0)] { pinTo(c); runRx(); });
    threads_.emplace_back([this, c = cpu(1)] { pinTo(c); runTx(); });
  }
}

void Distributor::join() {
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

bool Distributor::rxStep(Lane& lane) {
  const uint32_t ports = eng_.portCount(), cores = cfg_.cores;
  const Pool& pool = eng_.pool();
  const Rss& rss = eng_.rss();
  bool moved = false;
  for (uint32_t k = 0; k < ports; k++) {
    const uint32_t p = (rr_ + k) % ports;
    if (portDone_[p]) continue;
    const uint32_t max = eng_.reserve(cfg_.rxBatch);
    if (max == 0) break;
    const int got = receiveFrom(eng_.port(p), lane, in_.data(), max, uint16_t(p));
    if (got == Port::kExhausted) { portDone_[p] = 1; eng_.settle(max, 0); continue; }
    eng_.settle(max, uint32_t(got));
    if (got == 0) continue;
    moved = true;
    uint32_t count[256] = {0};
    for (int i = 0; i < got; i++) {
      Slot s = in_[i];
      const uint32_t q = rss.queueOf(pool.data(s.buf) + s.off, s.len, s.hash);
      perCore_[q][count[q]++] = s;
    }
    for (uint32_t q = 0; q < cores; q++)
      if (count[q]) pushOrWait(lane, q, perCore_[q].data(), count[q]);
  }
  rr_ = ports ? (rr_ + 1) % ports : 0;
  if (!eng_.inputDone() && (eng_.stopping() || eng_.budgetSpent() || end_.ended(portDone_))) eng_.setInputDone();
  return moved;
}

void Distributor::pushOrWait(Lane& lane, uint32_t core, const Slot* slots, uint32_t n) {
  Ring& ring = eng_.toCore(core);
  uint32_t pushed = ring.push(slots, n);
  // Waiting in sw1 must keep draining the cores' verdicts, or a core blocked
  // on its full return ring would never empty this one.
  while (eng_.waitsOnOverflow() && pushed < n && !eng_.coreDone(core)) {
    if (cfg_.dist == Dist::kSw1) txStep(lane);
    sched_yield();
    pushed += ring.push(slots + pushed, n - pushed);
  }
  if (pushed < n) {
    lane.cache.freeSlots(slots + pushed, n - pushed);
    eng_.counters().lane(core).core[dist_drops] += n - pushed;  // only this thread writes it
  }
}

bool Distributor::txStep(Lane& lane) {
  bool moved = false;
  for (uint32_t k = 0; k < cfg_.cores; k++) {
    const uint32_t n = eng_.fromCore(k).pop(out_.data(), cfg_.rxBatch);
    if (!n) continue;
    moved = true;
    // Runs of frames for one port go to its driver together, in order.
    for (uint32_t i = 0; i < n;) {
      const uint32_t port = out_[i].port;
      uint32_t j = i + 1;
      while (j < n && out_[j].port == port && j - i < cfg_.txBatch) j++;
      transmitTo(eng_.port(port), lane, out_.data() + i, j - i, uint16_t(cfg_.headroom));
      i = j;
    }
  }
  return moved;
}

// Done when no core will send again and their rings are empty.
bool Distributor::txFinished() const {
  if (!eng_.inputDone()) return false;
  for (uint32_t k = 0; k < cfg_.cores; k++)
    if (!eng_.coreDone(k) || !eng_.fromCore(k).empty()) return false;
  return true;
}

void Distributor::rest() {
  if (!cfg_.busyPoll) sleepUs(cfg_.idleUs);
}

void Distributor::runBoth() {
  PoolCache cache(eng_.pool());
  Lane lane{cache, eng_.counters().lane(cfg_.ioRxLane())};
  for (;;) {
    bool moved = eng_.inputDone() ? false : rxStep(lane);
    moved |= txStep(lane);
    if (!moved) {
      if (txFinished()) { txStep(lane); break; }
      rest();
    }
  }
}

void Distributor::runRx() {
  PoolCache cache(eng_.pool());
  Lane lane{cache, eng_.counters().lane(cfg_.ioRxLane())};
  while (!eng_.inputDone())
    if (!rxStep(lane)) rest();
}

void Distributor::runTx() {
  PoolCache cache(eng_.pool());
  Lane lane{cache, eng_.counters().lane(cfg_.ioTxLane())};
  for (;;) {
    if (!txStep(lane)) {
      if (txFinished()) { txStep(lane); break; }
      rest();
    }
  }
}

}  // namespace vnf
