// Where a core's frames come from and go to. The core loop is the same in
// every distribution mode; only this changes:
//   DirectIO - the core drives its ports' drivers itself (none: all ports;
//              hw: its own queue of each port).
//   PipeIO   - the distributor's rings to and from this core (sw1, sw2).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "engine.h"

namespace vnf {

class CoreIO {
 public:
  virtual ~CoreIO() = default;
  // Up to `max` frames with slot.port = the port they arrived on. Sets
  // `done` once no frame will ever come again.
  virtual uint32_t receive(Lane& lane, Slot* slots, uint32_t max, bool& done) = 0;
  // Frames leaving by `port`; every slot is consumed.
  virtual void transmit(Lane& lane, const Slot* slots, uint32_t n, uint32_t port) = 0;
  // Nothing to do: wait a little (poll the devices where there are any).
  // Only polls (and reads which inputs ended): the core's stand-in may
  // receive meanwhile (stand_in.h).
  virtual void idle(uint32_t us) = 0;
  // This core will send nothing more.
  virtual void finish() {}
};

std::unique_ptr<CoreIO> makeCoreIO(Engine& engine, uint32_t core);

}  // namespace vnf
