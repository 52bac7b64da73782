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

  // The ports are open by now: which can end is known once.
  InputEnd(Engine& e, uint32_t queue) {
    for (uint32_t p = 0; p < e.portCount(); p++) canEnd_.push_back(e.port(p, queue).canEnd());
  }

  // `exhausted[p]`: port p has returned Port::kExhausted.
  bool ended(const std::vector<uint8_t>& exhausted) {
    bool all = true, finite = false;
    for (uint32_t p = 0; p < exhausted.size(); p++) {
      if (canEnd_[p] && !exhausted[p]) return false;
      finite = finite || canEnd_[p];
      all = all && exhausted[p];
    }
    if (all) return true;
    if (!finite) return false;
    const auto now = std::chrono::steady_clock::now();
    if (!ended_) { ended_ = true; endedAt_ = now; }
    return std::chrono::duration<double, std::milli>(now - endedAt_).count() >= kLingerMs;
  }

 private:
  std::vector<uint8_t> canEnd_;  // per port
  bool ended_ = false;
  std::chrono::steady_clock::time_point endedAt_;  // when the last port that can end did
};

}  // namespace vnf
