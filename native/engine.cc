#include "engine.h"

#include <stdexcept>

#include "distributor.h"

namespace vnf {

// The pool is sized from what the ports declare they need (port.h's
// PoolNeeds), never from which drivers they are.
uint32_t EngineConfig::poolStride() const {
  if (stride) return stride;
  for (const auto& p : ports)
    if (poolNeeds(p).pageAligned) return bufSize;  // a buffer per page (bufSize is one)
  return 0;  // the pool's default
}

uint32_t EngineConfig::poolLarge() const {
  for (const auto& p : ports)
    if (poolNeeds(p).maxFrame > bufSize - headroom) return largeBuffers;
  return 0;
}

size_t EngineConfig::poolWindowBytes() const {
  const uint32_t queues = dist == Dist::kHw ? cores : 1;
  size_t bytes = 0;
  for (const auto& p : ports) bytes += queues * poolNeeds(p).windowBytes;
  return bytes;
}

Engine::Engine(EngineConfig cfg)
    : cfg_(std::move(cfg)),
      pool_(cfg_.buffers, cfg_.bufSize, cfg_.poolStride(), cfg_.poolLarge(), cfg_.poolWindowBytes()),
      counters_(cfg_.lanes(), uint32_t(cfg_.ports.size()), cfg_.countersFile),
      rss_(cfg_.rssKey.data(), cfg_.cores) {
  if (!isPowerOfTwo(cfg_.ringSize)) throw std::runtime_error("ring size must be a power of two");
  if (cfg_.rssKey.size() != Toeplitz::kKeyLen) throw std::runtime_error("the RSS key must be 40 bytes");
  budget_ = int64_t(cfg_.count);
  coreDone_.reset(new std::atomic<bool>[cfg_.cores]);
  for (uint32_t k = 0; k < cfg_.cores; k++) coreDone_[k] = false;
  const uint32_t queues = cfg_.dist == Dist::kHw ? cfg_.cores : 1;
  for (auto& pc : cfg_.ports) {
    ports_.emplace_back();
    for (uint32_t q = 0; q < queues; q++) {
      PortConfig c = pc;
      c.queue = q;
      c.queues = queues;
      ports_.back().push_back(openPort(c, *this));
    }
  }
  using O = EngineConfig::Overflow;
  bool allCanWait = true;
  for (auto& instances : ports_) allCanWait = allCanWait && instances[0]->canWait();
  waitOnOverflow_ = cfg_.overflow == O::kWait || (cfg_.overflow == O::kAuto && allCanWait);
  if (cfg_.dist == Dist::kSw1 || cfg_.dist == Dist::kSw2)
    for (uint32_t k = 0; k < cfg_.cores; k++) {
      toCore_.push_back(std::make_unique<Ring>(cfg_.ringSize));
      fromCore_.push_back(std::make_unique<Ring>(cfg_.ringSize));
    }
}

Engine::~Engine() {
  stop();
  join();
  close();
}

uint32_t Engine::reserve(uint32_t want) {
  if (!cfg_.count) return want;
  const int64_t before = budget_.fetch_sub(want, std::memory_order_relaxed);
  if (before >= int64_t(want)) return want;
  const int64_t got = before > 0 ? before : 0;
  budget_.fetch_add(int64_t(want) - got, std::memory_order_relaxed);
  return uint32_t(got);
}

void Engine::settle(uint32_t reserved, uint32_t received) {
  if (!cfg_.count) return;
  if (reserved > received) budget_.fetch_add(reserved - received, std::memory_order_relaxed);
  if (received) received_.fetch_add(received, std::memory_order_release);
}

std::shared_ptr<PipePair> Engine::pipe(const std::string& name, int& end) {
  std::lock_guard<std::mutex> g(pipesLock_);
  auto& p = pipes_[name];
  if (!p) p = std::make_shared<PipePair>(cfg_.ringSize);
  if (p->opened == 2) throw std::runtime_error("pipe:" + name + " already has both ends open");
  end = p->opened++;
  return p;
}

void Engine::start() {
  if ((cfg_.dist == Dist::kSw1 || cfg_.dist == Dist::kSw2) && !distributor_) {
    distributor_ = std::make_unique<Distributor>(*this);
    distributor_->start();
  }
}

void Engine::stop() { stopping_.store(true, std::memory_order_release); }

void Engine::join() {
  if (distributor_) distributor_->join();
}

void Engine::close() {
  if (closed_) return;
  closed_ = true;
  for (auto& instances : ports_)
    for (auto& p : instances) p->close();
}

}  // namespace vnf
