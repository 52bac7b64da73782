// The engine: one buffer pool, the ports, the counters, and the cores that
// move packets between them. Plain C++; binding.cc turns it into the addon.
#pragma once
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "counters.h"
#include "pool.h"
#include "port.h"
#include "ring.h"

namespace vnf {

struct EngineConfig {
  uint32_t buffers = 32768;   // pool size in buffers
  uint32_t bufSize = 2048;    // bytes per buffer
  uint32_t headroom = 64;     // free bytes before each received frame
  uint32_t ringSize = 1024;   // slots per ring (pipes, distribution)
  uint32_t lanes = 2;         // counter blocks: one per core, then I/O threads, then the host
  std::vector<PortConfig> ports;
};

// Both directions of a `pipe:NAME`, the in-process twin of a netmap pipe.
struct PipePair {
  explicit PipePair(uint32_t size) : ring{Ring(size), Ring(size)} {}
  Ring ring[2];                       // ring[e] carries frames *to* end e
  std::atomic<bool> closed[2]{{false}, {false}};
  int opened = 0;
};

class Engine {
 public:
  explicit Engine(EngineConfig cfg);
  ~Engine();

  const EngineConfig& config() const { return cfg_; }
  Pool& pool() { return pool_; }
  CounterSet& counters() { return counters_; }
  uint32_t portCount() const { return uint32_t(ports_.size()); }
  Port& port(uint32_t i) { return *ports_[i]; }

  // The next free end of pipe NAME (0 for the first opener, 1 for the second).
  std::shared_ptr<PipePair> pipe(const std::string& name, int& end);

  // Flush and release every port. Call once every core has stopped.
  void close();

 private:
  EngineConfig cfg_;
  Pool pool_;
  CounterSet counters_;
  std::mutex pipesLock_;
  std::map<std::string, std::shared_ptr<PipePair>> pipes_;
  std::vector<std::unique_ptr<Port>> ports_;
  bool closed_ = false;
};

}  // namespace vnf
