#include "pipe.h"

#include "../port.h"

namespace vnf {

PipeEnd::PipeEnd(Engine& engine, const std::string& name) { pair_ = engine.pipe(name, end_); }

int PipeEnd::receive(Lane& lane, Slot* slots, uint32_t max, uint32_t port) {
  Ring& in = pair_->ring[end_];
  // Read the peer's closed flag before the ring, so a frame pushed just
  // before closing is never missed.
  const bool peerClosed = pair_->closed[1 - end_].load(std::memory_order_acquire);
  const uint32_t n = in.pop(slots, max);
  if (n == 0 && peerClosed) return Port::kExhausted;
  return int(n);   // counted where it enters (receiveFrom, port.h)
}

void PipeEnd::transmit(Lane& lane, const Slot* slots, uint32_t n, uint32_t port) {
  uint64_t* c = lane.counters.port(port);
  const uint32_t sent = pair_->ring[1 - end_].push(slots, n);
  uint64_t bytes = 0;
  for (uint32_t i = 0; i < sent; i++) bytes += slots[i].len;
  c[tx_packets] += sent;
  c[tx_bytes] += bytes;
  for (uint32_t i = sent; i < n; i++) lane.cache.free(slots[i].buf);
  c[tx_ring_full] += n - sent;
}

namespace {

class PipePort : public Port {
 public:
  PipePort(const PortConfig& cfg, Engine& engine) : Port(cfg), pipeName_(nameOf(cfg)), pipe_(engine, pipeName_) {}

  int receive(Lane& lane, Slot* slots, uint32_t max) override { return pipe_.receive(lane, slots, max, index_); }
  void transmit(Lane& lane, const Slot* slots, uint32_t n) override { pipe_.transmit(lane, slots, n, index_); }
  bool takesGso() const override { return true; }  // slots cross whole, to this engine's other end
  void close() override { pipe_.close(); }
  std::string describe() const override { return "pipe " + pipeName_ + " end " + std::to_string(pipe_.end()); }

 private:
  // In hw mode each core's instance gets its own pipe: NAME.q
  static std::string nameOf(const PortConfig& cfg) {
    const std::string base = optionStr(cfg.options, "name", cfg.name);
    return cfg.queues > 1 ? base + "." + std::to_string(cfg.queue) : base;
  }

  std::string pipeName_;
  PipeEnd pipe_;
};

}  // namespace

static std::unique_ptr<Port> openPipePort(const PortConfig& cfg, Engine& engine) { return std::make_unique<PipePort>(cfg, engine); }

static DriverRegistration registration({
    .name = "pipe",
    .arg = "NAME",
    .argKeys = "name",
    .help = "an in-process ring pair, the netmap pipe's twin: two ports naming the same pipe are wired together",
    .options = {{"name", "text", "^[A-Za-z0-9_.-]{1,64}$", nullptr, "a pipe name"}},
    .open = openPipePort,
});

}  // namespace vnf
