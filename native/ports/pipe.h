// pipe:NAME: an in-process ring pair, the netmap pipe's twin. The first
// opener of NAME gets end 0, the second end 1; what one end transmits the
// other receives, by handing slots over (zero copy). The host (tests, chains)
// can hold an end too.
#pragma once
#include <memory>

#include "../engine.h"

namespace vnf {

class PipeEnd {
 public:
  PipeEnd(Engine& engine, const std::string& name);
  ~PipeEnd() { close(); }

  int receive(Lane& lane, Slot* slots, uint32_t max, uint32_t port);
  void transmit(Lane& lane, const Slot* slots, uint32_t n, uint32_t port);
  void close() { pair_->closed[end_].store(true, std::memory_order_release); }
  int end() const { return end_; }

 private:
  std::shared_ptr<PipePair> pair_;
  int end_;
};

}  // namespace vnf
