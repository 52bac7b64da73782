// null: an output that discards what it is sent, as sink does, but can be
// slow: with rate=PPS it takes at most that many frames a second and counts
// the rest under tx_ring_full, as a full device ring would. A slow link to
// try a VNF, the distributor's overflow policy or the set-up warnings on,
// without a device. The whole driver is this file (see native/README.md).
#include <time.h>

#include <algorithm>

#include "../port.h"

namespace vnf {
namespace {

double nowS() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
}

class NullPort : public Port {
 public:
  explicit NullPort(const PortConfig& cfg) : Port(cfg), rate_(double(optionU64(cfg.options, "rate"))) {
    // hw mode opens one instance per core: each takes its share.
    if (cfg.queues > 1) rate_ /= cfg.queues;
  }

  int receive(Lane&, Slot*, uint32_t) override { return kExhausted; }

  void transmit(Lane& lane, const Slot* slots, uint32_t n) override {
    uint64_t* c = lane.counters.port(index_);
    const uint32_t take = rate_ > 0 ? std::min(n, allowance()) : n;
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < take; i++) bytes += slots[i].len;
    lane.cache.freeSlots(slots, n);
    c[tx_packets] += take;
    c[tx_bytes] += bytes;
    c[tx_ring_full] += n - take;
    tokens_ -= take;
  }

  bool takesGso() const override { return true; }
  bool canWait() const override { return true; }   // it receives nothing: no say in overflow

  std::string describe() const override {
    return rate_ > 0 ? "null, at most " + std::to_string(uint64_t(rate_)) + " frames/s" : "null";
  }

 private:
  // Frames it may take now: a token bucket a tenth of a second deep.
  uint32_t allowance() {
    const double now = nowS();
    if (last_ == 0) last_ = now;
    tokens_ = std::min(tokens_ + (now - last_) * rate_, std::max(rate_ / 10, 1.0));
    last_ = now;
    return uint32_t(tokens_);
  }

  double rate_, tokens_ = 0, last_ = 0;
};

std::unique_ptr<Port> openNullPort(const PortConfig& cfg, Engine&) { return std::make_unique<NullPort>(cfg); }

DriverRegistration registration({
    .name = "null",
    .help = "discards what it is sent, as sink does; with rate, a slow link that counts the excess under tx_ring_full",
    .options = {{"rate", "quantity", "0-4294967295", "0", "frames a second it takes at most (0: all)"}},
    .open = openNullPort,
});

}  // namespace
}  // namespace vnf
