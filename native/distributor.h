// The I/O side of sw1 and sw2: receive from every port, hash each frame to a
// core (symmetric Toeplitz, so both directions of a flow meet on one core),
// and hand it over by ring; collect the cores' verdicts and transmit them.
//
// A core whose ring is full loses the frame, counted as its dist_drops: the
// distributor never waits for one slow core, so the others keep their rate.
// (Back-pressure would stall every core behind the slowest one and push the
// loss into the NIC's rx ring instead, where no one can count it per core.)
// Sources that can wait — a pcap replay, a generator — are different: losing
// a frame of a trace helps no one, so there the distributor waits (overflow
// policy `wait`, the default when every port can wait).
#pragma once
#include <thread>
#include <vector>

#include "engine.h"
#include "input_end.h"

namespace vnf {

class Distributor {
 public:
  explicit Distributor(Engine& engine);
  ~Distributor() { join(); }

  void start();
  void join();

 private:
  bool rxStep(Lane& lane);  // returns whether it moved anything
  bool txStep(Lane& lane);
  bool txFinished() const;
  void runBoth();
  void runRx();
  void runTx();
  void rest();

  Engine& eng_;
  const EngineConfig& cfg_;
  void pushOrWait(Lane& lane, uint32_t core, const Slot* slots, uint32_t n);

  std::vector<std::thread> threads_;
  std::vector<uint8_t> portDone_;
  InputEnd end_;
  std::vector<Slot> in_;                    // one burst from a port
  std::vector<std::vector<Slot>> perCore_;  // the burst split by core
  std::vector<Slot> out_;                   // one burst from a core
  uint32_t rr_ = 0;
};

}  // namespace vnf
