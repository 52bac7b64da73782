// The driver contract. A Port owns one device queue (or file, or generator)
// and moves frames between it and slots. Drivers are called only by the lane
// that owns them, with that lane's pool cache and counters.
#pragma once
#include <cerrno>
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
  std::string spec;        // what the user wrote (--port in=SPEC), for messages
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

// What every driver shares: the shortest frame (an Ethernet header; shorter
// is rx_malformed), and errno as words for its one-line messages.
constexpr uint32_t kMinFrame = 14;
std::string errnoText(int e = errno);

// Where frames enter the engine (core_io.cc, distributor.cc, the host's
// pipe ends): a port's receive(), its frames stamped with the port and
// counted (rx_packets, rx_bytes) on the lane that took them, in this one
// place, so that drivers count only what they drop.
inline int receiveFrom(Port& port, Lane& lane, Slot* slots, uint32_t max, uint16_t index) {
  const int got = port.receive(lane, slots, max);
  if (got <= 0) return got;
  uint64_t bytes = 0;
  for (int i = 0; i < got; i++) {
    slots[i].port = index;
    bytes += slots[i].len;
  }
  uint64_t* c = lane.counters.port(index);
  c[rx_packets] += uint64_t(got);
  c[rx_bytes] += bytes;
  return got;
}

// Shared state drivers may need beyond their own options (pipes find their
// peer here).
class Engine;

// One option of a driver, as the user writes it after the driver's name.
// runtime/ports.ts reads the text by `type`, with one set of messages for
// every driver, and fills in `dflt`; openPort() fills it in too, so a
// driver reads its options without defaults of its own.
struct OptionSpec {
  const char* key;
  const char* type;    // uint | quantity | fraction | flag | choice | sizes | range | repeat | ifname | text
  const char* values;  // uint, quantity: "MIN-MAX"; choice: "a|b|c"; text: a pattern it must match; else ""
  const char* dflt;    // nullptr: absent unless given
  const char* help;    // one line, for --help and the README; for the argument's options a noun ("an interface")
};

// What a port needs from the buffer pool. The engine sizes the pool from
// its ports' needs and never asks which driver a port is.
struct PoolNeeds {
  bool pageAligned = false;   // each buffer on its own page (AF_XDP's UMEM)
  uint32_t maxFrame = 0;      // longest frame it receives; over a small buffer: large buffers (0: small)
  size_t windowBytes = 0;     // address space per queue to map the port's rings into the pool
};

// What a driver needs of the host, which `vnfrun doctor` checks.
struct HostNeeds {
  int socket = 0;              // an address family whose raw socket must open (AF_PACKET, AF_XDP); 0: none
  const char* caps = "";       // the capabilities that stand in for root, "+"-joined: "NET_ADMIN+BPF"
  const char* device = "";     // a device file that must exist
  const char* deviceFix = "";  // how to get it
  bool built = true;           // false: compiled without what it needs (netmap's headers)
  const char* builtFix = "";   // how to build it in
};

using PortFactory = std::unique_ptr<Port> (*)(const PortConfig& cfg, Engine& engine);

// A driver, as its file declares it:
//   static DriverRegistration reg({.name = "sink", .help = "counts and frees", .open = openSinkPort});
// so adding a driver is adding one file under ports/: the engine, --help,
// `vnfrun doctor` and the README's port table learn it from here.
struct DriverSpec {
  const char* name;
  const char* arg = "";       // what follows "NAME:" ("IFNAME[@QUEUE]"), "" when nothing
  const char* argKeys = "";   // the option(s) the argument fills: "file", or "ifname@queue" split at '@'
  const char* help = "";      // one line: what the port is
  std::vector<OptionSpec> options = {};
  PortFactory open = nullptr;
  PoolNeeds (*pool)(const PortConfig&) = nullptr;   // nullptr: small buffers only
  HostNeeds host = {};                              // {}: runs anywhere, unprivileged
  const char* usable = "";                          // what doctor says when it can run
};

struct DriverRegistration {
  explicit DriverRegistration(DriverSpec spec);
};
// Opens a port, its options completed with the schema's defaults. Errors
// carry one prefix, "port NAME (SPEC): ", added here.
std::unique_ptr<Port> openPort(const PortConfig& cfg, Engine& engine);
const std::vector<const DriverSpec*> driverSpecs();
PoolNeeds poolNeeds(const PortConfig& cfg);

// Option readers with the error text drivers share. Without `dflt`, the
// option must be there (the schema's default fills it).
uint64_t optionU64(const PortOptions& o, const std::string& key);
uint64_t optionU64(const PortOptions& o, const std::string& key, uint64_t dflt);
double optionF64(const PortOptions& o, const std::string& key);
std::string optionStr(const PortOptions& o, const std::string& key);
std::string optionStr(const PortOptions& o, const std::string& key, const std::string& dflt);
bool optionFlag(const PortOptions& o, const std::string& key);   // "1" or "0"

}  // namespace vnf
