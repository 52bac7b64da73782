// The engine: one buffer pool, the ports, the counters, the distribution
// rings and threads, and the cores that move packets between them. Plain
// C++; binding.cc turns it into the addon.
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
#include "rss.h"

namespace vnf {

// How packets reach the cores (the seed's modes).
enum class Dist {
  kNone,  // one core runs the ports itself, to completion
  kHw,    // each core owns one queue of every port; no I/O thread
  kSw1,   // one I/O thread does rx and tx, spreading by hash (N-1)
  kSw2,   // a dedicated rx thread and a dedicated tx thread (N-2)
};

// Every value comes from runtime/ (runtime/defaults.ts holds the defaults).
struct EngineConfig {
  uint32_t buffers = 0;       // pool size in buffers
  uint32_t bufSize = 0;       // bytes per buffer
  uint32_t stride = 0;        // bytes from one buffer to the next; 0: chosen by the ports (pool.h)
  uint32_t headroom = 0;      // free bytes before each received frame
  uint32_t ringSize = 0;      // slots per ring (pipes, distribution)
  uint32_t cores = 1;
  Dist dist = Dist::kNone;
  uint32_t rxBatch = 0;       // the I/O threads' burst
  uint32_t txBatch = 0;
  uint32_t idleUs = 0;
  uint32_t backlog = 0;       // frames a core's stand-in may hold (stand_in.h); 0: no stand-in
  uint32_t keep = 0;          // frames a core's VNF may keep past their batch (core.h); 0: none
  bool busyPoll = false;
  uint64_t count = 0;         // stop after this many received packets; 0 = never
  // When a core's ring is full, the distributor drops (and counts) or waits.
  // auto: wait if every port can wait (files, generators), else drop.
  enum class Overflow { kAuto, kDrop, kWait } overflow = Overflow::kAuto;
  std::vector<int> ioCpus;    // where the I/O threads run (rx, then tx)
  std::vector<uint8_t> rssKey = std::vector<uint8_t>(kSymmetricKey, kSymmetricKey + Toeplitz::kKeyLen);
  std::vector<PortConfig> ports;
  std::string countersFile;   // where the counters live, for readers outside the process; "": memory only
  std::shared_ptr<struct EndpointSetup> endpoint;   // --ip and neighbours (endpoint.h); null: none

  uint32_t poolStride() const;
  // Large buffers for whole GSO super-frames and long frames: `largeBuffers`
  // when a port receives frames longer than a small buffer (its PoolNeeds:
  // vnet, a pcap that is read, jumbo gen), else none.
  uint32_t largeBuffers = 0;
  uint32_t poolLarge() const;
  // Address space for windows (pool.h): room for the rings of each port
  // that asks for one (packet with vnet receives super-frames into them).
  size_t poolWindowBytes() const;

  // Counter lanes: the cores, then the I/O rx and tx threads, then the host.
  uint32_t lanes() const { return cores + 3; }
  uint32_t ioRxLane() const { return cores; }
  uint32_t ioTxLane() const { return cores + 1; }
  uint32_t hostLane() const { return cores + 2; }
};

// Both directions of a `pipe:NAME`, the in-process twin of a netmap pipe.
struct PipePair {
  explicit PipePair(uint32_t size) : ring{Ring(size), Ring(size)} {}
  Ring ring[2];                       // ring[e] carries frames *to* end e
  std::atomic<bool> closed[2]{{false}, {false}};
  int opened = 0;
};

class Distributor;

class Engine {
 public:
  explicit Engine(EngineConfig cfg);
  ~Engine();

  const EngineConfig& config() const { return cfg_; }
  Pool& pool() { return pool_; }
  CounterSet& counters() { return counters_; }
  const Rss& rss() const { return rss_; }
  uint32_t portCount() const { return uint32_t(ports_.size()); }
  // Instance `queue` of port p (hw mode has one per core; others only 0).
  Port& port(uint32_t p, uint32_t queue = 0) { return *ports_[p][queue]; }

  // Distribution rings of core k (sw modes): frames to it, verdicts from it.
  Ring& toCore(uint32_t k) { return *toCore_[k]; }
  Ring& fromCore(uint32_t k) { return *fromCore_[k]; }
  // Overflow policy, resolved: true when a full ring waits instead of dropping.
  bool waitsOnOverflow() const { return waitOnOverflow_; }

  // Shared run state, read by every lane.
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }
  bool inputDone() const { return inputDone_.load(std::memory_order_acquire); }
  void setInputDone() { inputDone_.store(true, std::memory_order_release); }
  void setCoreDone(uint32_t k) { coreDone_[k].store(true, std::memory_order_release); }
  bool coreDone(uint32_t k) const { return coreDone_[k].load(std::memory_order_acquire); }

  // The --count budget: take up to `want` packets' worth before receiving
  // (0 while others hold the rest), then settle: give back what was not
  // received. Unlimited when count is 0. Spent once `count` packets have
  // actually been received: a reservation in flight on another lane is not
  // a packet, so a lane that reads the budget as empty keeps polling until
  // the holder settles.
  uint32_t reserve(uint32_t want);
  void settle(uint32_t reserved, uint32_t received);
  bool budgetSpent() const { return cfg_.count && received_.load(std::memory_order_acquire) >= cfg_.count; }

  // The next free end of pipe NAME (0 for the first opener, 1 for the second).
  std::shared_ptr<PipePair> pipe(const std::string& name, int& end);

  void start();   // start the I/O threads of sw modes
  void stop();    // inputs stop; what is in flight drains to the outputs
  void join();    // wait for the I/O threads
  // Flush and release every port. Call once every core has stopped.
  void close();

 private:
  EngineConfig cfg_;
  Pool pool_;
  CounterSet counters_;
  Rss rss_;
  std::mutex pipesLock_;
  std::map<std::string, std::shared_ptr<PipePair>> pipes_;
  std::vector<std::vector<std::unique_ptr<Port>>> ports_;
  std::vector<std::unique_ptr<Ring>> toCore_, fromCore_;
  std::unique_ptr<std::atomic<bool>[]> coreDone_;
  std::atomic<bool> stopping_{false}, inputDone_{false};
  std::atomic<int64_t> budget_{0};     // count less what is reserved or received
  std::atomic<uint64_t> received_{0};  // received under the budget
  std::unique_ptr<Distributor> distributor_;
  bool waitOnOverflow_ = false;
  bool closed_ = false;
};

}  // namespace vnf
