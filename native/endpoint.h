// The runtime's endpoint: what makes a port an IP host (--ip, --mac,
// --gateway, --arp), so a VNF does not have to.
//
// Where it runs: in each core's cycle, in C++, before the batch reaches JS
// (Core::gather) and after JS has decided (Core::retire). Each core
// answers what reaches it:
//   - ARP requests for the port's IPv4 addresses, IPv6 neighbour
//     solicitations for its IPv6 addresses (answered in the request's own
//     buffer, never shown to the VNF); replies learned;
//   - ICMP and ICMPv6 echo requests to the addresses (rate-limited per core,
//     like Linux's icmp_msgs_per_sec: a rate and a burst);
//   - UDP to an address and a port no socket of this core is bound to:
//     ICMP / ICMPv6 port unreachable (rate-limited the same way).
// Everything else reaches the VNF. Non-IP frames (ARP) hash to 0 and so reach
// core 0 in every distribution mode (the distributor, the hw fanout program,
// file and gen splitting); ND and ICMP are IP and reach the core their
// addresses hash to, which answers them itself.
//
// Neighbours: one table per instance (Neighbours), shared by the cores.
// Writes (a learned ARP/NA, a resolution started or given up) take its
// lock; they happen per ARP/ND frame, not per packet. Lookups take it too,
// but each core keeps its last answer and reuses it until the table's
// version moves, so a core sending to one next hop reads the table once.
//
// Resolution: a frame the VNF marks FLAG_RESOLVE (the SDK's UDP sockets do)
// leaves with its Ethernet addresses filled in here, from the table: next
// hop = the destination when a prefix of the port holds it, else the port's
// gateway. Unknown next hop: the frame waits in this core's own bounded
// queue (--arp-queue per core; over it: dropped, neigh_queue_full) while
// requests go out once per second; after --arp-retries unanswered requests
// the waiting frames are dropped (neigh_unresolved). Learned entries expire
// after --arp-age and are resolved again on next use; static --arp entries
// never expire and no received frame replaces them. Each core retries its own
// queue every cycle, so it sees an answer another core learned.
#pragma once
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "port.h"
#include "slot.h"

namespace vnf {

class CoreIO;

struct IpAddr {
  bool v6 = false;
  uint8_t b[16] = {};   // IPv4 in b[0..3]
  // Inline and fixed-size: every frame to an endpoint compares one (no memcmp call).
  bool operator==(const IpAddr& o) const {
    if (v6 != o.v6) return false;
    uint64_t x[2], y[2];
    memcpy(x, b, 16);
    memcpy(y, o.b, 16);
    return v6 ? (x[0] == y[0] && x[1] == y[1]) : uint32_t(x[0]) == uint32_t(y[0]);
  }
};

struct EndpointPort {
  struct Prefix { IpAddr ip; uint32_t len; };
  std::vector<Prefix> addrs;
  uint8_t mac[6] = {};
  bool hasGw4 = false, hasGw6 = false;
  IpAddr gw4, gw6;
};

struct EndpointConfig {
  std::vector<EndpointPort> ports;     // per VNF port; one without addresses is left alone
  struct Static { IpAddr ip; uint8_t mac[6]; };
  std::vector<Static> statics;         // --arp IP=MAC
  uint32_t retries = 3;                // requests before waiting frames are dropped
  uint32_t queue = 256;                // frames waiting for resolution, per core
  double ageMs = 60000;                // a learned entry's life
  double retryMs = 1000;               // between two requests for one next hop
  double icmpRate = 1000, icmpBurst = 50;   // per core, per kind (echo, errors)
};

// The neighbour table of one instance.
class Neighbours {
 public:
  enum State : uint8_t { kFree, kIncomplete, kReachable, kStatic };
  struct Entry {
    IpAddr ip;
    uint8_t mac[6];
    State state;
    uint32_t port;
    double updatedMs, requestedMs;
    uint32_t tries;
  };
  enum Lookup { kFound, kWait, kAskNow, kFailed };

  explicit Neighbours(const EndpointConfig& cfg);
  // kFound (mac set), kWait (being resolved), kAskNow (this caller sends the
  // next request), kFailed (retries exhausted: drop what waits; the entry is
  // forgotten, so the next frame starts over).
  // With kFound, `until` is when the answer expires (aging).
  Lookup lookup(uint32_t port, const IpAddr& ip, double now, uint8_t mac[6], double* until = nullptr);
  // What a received ARP/NA says. `create`: add it if absent (a request to
  // us); else only an entry that exists (being resolved, or learned) moves.
  void learn(uint32_t port, const IpAddr& ip, const uint8_t mac[6], double now, bool create);
  uint64_t version() const { return version_; }
  std::vector<Entry> snapshot();

 private:
  Entry* find(uint32_t port, const IpAddr& ip);
  const EndpointConfig& cfg_;
  std::mutex lock_;
  std::vector<Entry> entries_;
  volatile uint64_t version_ = 0;
};

// What the engine keeps for --ip: the settings and the one table.
struct EndpointSetup {
  EndpointConfig cfg;
  std::unique_ptr<Neighbours> neighbours;
  explicit EndpointSetup(EndpointConfig c) : cfg(std::move(c)), neighbours(new Neighbours(cfg)) {}
};

// One core's side.
class Endpoint {
 public:
  static constexpr uint8_t kFlagResolve = 2;   // batch flags bit: fill the Ethernet addresses

  Endpoint(EndpointSetup& setup, Pool& pool, uint32_t headroom, uint32_t core, const uint8_t* udpBound);

  // Answers (or drops) the frames meant for the runtime, compacting the
  // rest in place; returns how many are left for the VNF.
  uint32_t filter(Lane& lane, CoreIO& io, Slot* slots, uint32_t n, double now);
  // A frame the VNF marked kFlagResolve, bound for `port`: true when its
  // Ethernet addresses are filled in and it may leave; false when it was
  // taken (waiting, or dropped and counted).
  bool resolve(Lane& lane, CoreIO& io, Slot& s, uint32_t port, double now);
  // Per cycle: the gratuitous ARP at start (core 0), and the waiting frames.
  void tick(Lane& lane, CoreIO& io, double now);
  bool busy() const { return !waiting_.empty(); }
  void drain(Lane& lane);

 private:
  struct Waiting { Slot s; uint32_t port; IpAddr hop; };
  bool mine(uint32_t port, const IpAddr& ip) const;
  static bool checksumGood(const Slot& s, const uint8_t* l4, uint32_t len, uint16_t pseudo);
  bool nextHop(uint32_t port, const IpAddr& dst, IpAddr& hop) const;
  bool allow(double& tokens, double& at, double now);
  void send(Lane& lane, CoreIO& io, Slot s, uint32_t port);
  void request(Lane& lane, CoreIO& io, uint32_t port, const IpAddr& hop);
  void announce(Lane& lane, CoreIO& io);
  bool fillL2(uint8_t* f, uint32_t port, const uint8_t mac[6]);
  // Handlers: true when the frame was taken (answered or dropped).
  bool arp(Lane& lane, CoreIO& io, Slot& s, uint8_t* f, double now);
  bool ipv4(Lane& lane, CoreIO& io, Slot& s, uint8_t* f, double now);
  bool ipv6(Lane& lane, CoreIO& io, Slot& s, uint8_t* f, double now);
  bool unreachable(Lane& lane, CoreIO& io, Slot& s, uint8_t* f, bool v6, uint32_t l3, uint32_t ipLen, double now);

  EndpointSetup& setup_;
  const EndpointConfig& cfg_;
  Neighbours& table_;
  Pool& pool_;
  uint32_t headroom_, core_;
  const uint8_t* bound_;     // udp ports bound on this core (JS writes, batch memory)
  bool announced_ = false;
  double echoTokens_, echoAt_ = 0, errTokens_, errAt_ = 0;
  std::deque<Waiting> waiting_;
  double lastRetry_ = 0;
  // The last lookup, reused while the table's version stays.
  uint64_t cacheVersion_ = ~0ull;
  uint32_t cachePort_ = 0;
  IpAddr cacheIp_;
  uint8_t cacheMac_[6] = {};
  double cacheUntil_ = 0;   // the entry's age limit: the cache never outlives it
};

}  // namespace vnf
