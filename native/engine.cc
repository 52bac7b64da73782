#include "engine.h"

#include <stdexcept>


namespace vnf {

Engine::Engine(EngineConfig cfg)
    : cfg_(std::move(cfg)),
      pool_(cfg_.buffers, cfg_.bufSize),
      counters_(cfg_.lanes, uint32_t(cfg_.ports.size())) {
  if (!isPowerOfTwo(cfg_.ringSize)) throw std::runtime_error("ring size must be a power of two");
  for (auto& pc : cfg_.ports) ports_.push_back(openPort(pc, *this));
}

Engine::~Engine() { close(); }

std::shared_ptr<PipePair> Engine::pipe(const std::string& name, int& end) {
  std::lock_guard<std::mutex> g(pipesLock_);
  auto& p = pipes_[name];
  if (!p) p = std::make_shared<PipePair>(cfg_.ringSize);
  if (p->opened == 2) throw std::runtime_error("pipe:" + name + " already has both ends open");
  end = p->opened++;
  return p;
}

void Engine::close() {
  if (closed_) return;
  closed_ = true;
  for (auto& p : ports_) p->close();
}

}  // namespace vnf
