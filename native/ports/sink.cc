// sink: counts what it is sent and returns the buffers to the pool.
#include "../port.h"

namespace vnf {
namespace {

class SinkPort : public Port {
 public:
  using Port::Port;

  int receive(Lane&, Slot*, uint32_t) override { return kExhausted; }

  void transmit(Lane& lane, const Slot* slots, uint32_t n) override {
    uint64_t* c = lane.counters.port(index_);
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < n; i++) bytes += slots[i].len;
    lane.cache.freeSlots(slots, n);
    c[tx_packets] += n;
    c[tx_bytes] += bytes;
  }

  bool canWait() const override { return true; }
  bool takesGso() const override { return true; }

  std::string describe() const override { return "sink"; }
};

}  // namespace

static std::unique_ptr<Port> openSinkPort(const PortConfig& cfg, Engine&) { return std::make_unique<SinkPort>(cfg); }

static DriverRegistration registration({.name = "sink", .help = "counts and frees", .open = openSinkPort});

}  // namespace vnf
