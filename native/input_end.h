// When a lane's inputs have ended, so its core (or the distributor) stops.
//
// Every port exhausted ends it, as always. Past that, ports that can end (a
// file, a counted generator: Port::canEnd) end the run once all of them have,
// even when devices or pipes, which never end, are open too: `--port
// pcap:trace.pcap --port xdp:eth1` replays the trace and exits. The devices
// get kLingerMs more first, so replies still in flight come back and reach
// the VNF. Ports with nothing to read (writers, sinks) count neither way.
#pragma once
#include <chrono>
#include <cstdint>
#include <vector>

#include "engine.h"

namespace vnf {

class InputEnd {
 public:
  static constexpr double kLingerMs = 500;

  InputEnd(Engine& e, uint32_t queue) : eng_(e), queue_(queue) {}

  // `exhausted[p]`: port p has returned Port::kExhausted.
  bool ended(const std::vector<uint8_t>& exhausted) {
    bool all = true, finite = false;
    for (uint32_t p = 0; p < exhausted.size(); p++) {
      const bool canEnd = eng_.port(p, queue_).canEnd();
      if (canEnd && !exhausted[p]) return false;
      finite = finite || canEnd;
      all = all && exhausted[p];
    }
    if (all) return true;
    if (!finite) return false;
    const auto now = std::chrono::steady_clock::now();
    if (!ended_) { ended_ = true; endedAt_ = now; }
    return std::chrono::duration<double, std::milli>(now - endedAt_).count() >= kLingerMs;
  }

 private:
  Engine& eng_;
  uint32_t queue_;
  bool ended_ = false;
  std::chrono::steady_clock::time_point endedAt_;  // when the last port that can end did
};

}  // namespace vnf
