// The driver contract. A Port owns one device queue (or file, or generator)
// and moves frames between it and slots. Drivers are called only by the lane
// that owns them, with that lane's pool cache and counters.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "counters.h"
#include "pool.h"
#include "slot.h"

namespace vnf {

// What a thread that moves packets carries: its free buffers and its counters.
struct Lane {
  PoolCache& cache;
  LaneCounters counters;
};

// Parsed `--port` options. Parsing and validation of user text happen in
// TypeScript; drivers receive clean key/value pairs.
using PortOptions = std::map<std::string, std::string>;

struct PortConfig {
  uint32_t index;          // the VNF's port number
  std::string name;        // the VNF's port name
  std::string driver;      // pcap, gen, sink, pipe, ...
  PortOptions options;
  uint32_t headroom;       // bytes left free before each received frame
  // Distribution `hw` opens one instance of a port per core: instance `queue`
  // of `queues` serves that core alone (NIC queue, fanout member, or a hash
  // share of a file or generator). Other modes open queue 0 of 1.
  uint32_t queue = 0;
  uint32_t queues = 1;
};

class Port {
 public:
  static constexpr int kExhausted = -1;

  explicit Port(const PortConfig& cfg) : index_(cfg.index), name_(cfg.name) {}
  virtual ~Port() = default;
  Port(const Port&) = delete;
  Port& operator=(const Port&) = delete;

  uint32_t index() const { return index_; }
  const std::string& name() const { return name_; }

  // Fill up to `max` slots with received frames and return how many, or
  // kExhausted once this source will never yield another frame.
  virtual int receive(Lane& lane, Slot* slots, uint32_t max) = 0;

  // In sw2, receive() runs on the rx thread while transmit() runs on the tx
  // thread: a driver keeps the two sides' state apart.

  // Hand `n` frames to the device. Every slot is consumed: sent, or freed
  // and counted under the cause that stopped it. `batch` is the most frames
  // the device takes in one go (the seed's MAX_BATCH_SEND).
  virtual void transmit(Lane& lane, const Slot* slots, uint32_t n) = 0;

  // Whether transmit() takes GSO super-frames whole (vnet.h: slots with
  // kSlotGso, up to 64 KiB). The engine cuts them into wire-size frames
  // before handing them to a port that does not (transmit.h).
  virtual bool takesGso() const { return false; }

  // Whether frames from this port may wait when a core falls behind (files,
  // generators) rather than be dropped (live devices, whose senders do not
  // wait). Decides the distributor's overflow policy in `auto`.
  virtual bool canWait() const { return false; }

  // Whether this port is an input that comes to an end (a file, a counted
  // generator), so that its end may end a run that also has devices open
  // (input_end.h). Devices and pipes never end; writers and sinks read nothing.
  virtual bool canEnd() const { return false; }

  // A descriptor to poll() when idle, or -1 when there is none.
  virtual int pollFd() const { return -1; }

  // Called once, on the main thread, after every lane has stopped.
  virtual void close() {}

  // A line for the user: what this port is and in which mode it runs.
  virtual std::string describe() const = 0;

 protected:
  // Free frames this port cannot take, counting them under `cause`.
  static void dropAll(Lane& lane, const Slot* slots, uint32_t n, uint64_t& cause) {
    lane.cache.freeSlots(slots, n);
    cause += n;
  }

  uint32_t index_;
  std::string name_;
};

// Shared state drivers may need beyond their own options (pipes find their
// peer here).
class Engine;

// Each driver file registers its factory by name at load time:
//   static DriverRegistration reg("gen", openGenPort);
// so adding a driver is adding one file under ports/.
using PortFactory = std::unique_ptr<Port> (*)(const PortConfig& cfg, Engine& engine);
struct DriverRegistration {
  DriverRegistration(const char* name, PortFactory factory);
};
std::unique_ptr<Port> openPort(const PortConfig& cfg, Engine& engine);
bool driverAvailable(const std::string& name);
std::vector<std::string> registeredDrivers();

// Option helpers with the error text drivers share.
uint64_t optionU64(const PortOptions& o, const std::string& key, uint64_t dflt);
double optionF64(const PortOptions& o, const std::string& key, double dflt);
std::string optionStr(const PortOptions& o, const std::string& key, const std::string& dflt);

}  // namespace vnf
