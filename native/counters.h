// Counters: one block per lane (a thread that moves packets), each block a
// core part and a part per port. Every counter has one writer at a time, the
// lane's thread (or its stand-in while the core is away, stand_in.h), so no
// atomics are needed; readers sum the lanes.
// Each drop cause has its own counter, bumped where the drop is decided.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace vnf {

// X(name, help) counts what happens; D(name, help) is a drop cause: the
// summary, `vnfrun top` and the metrics list every D under "drops". Adding a
// counter or a cause is one line here.
#define VNF_CORE_COUNTERS(X, D)                                               \
  X(batches, "batches handed to the VNF")                                     \
  X(packets, "packets handed to the VNF")                                     \
  X(stand_in_frames, "frames the core's stand-in received while it was away") \
  X(kept, "frames the VNF kept past their batch (a delay, a reorder)")       \
  X(released, "kept frames the VNF let go in a later batch")                  \
  X(bad_releases, "releases naming no kept frame (a VNF bug; nothing moves)") \
  D(keep_refused, "frames dropped: kept with a ticket not offered, or no buffer to move them into") \
  D(kept_forgotten, "kept frames dropped: their core restarted or stopped, or a version started fresh") \
  D(vnf_drops, "packets the VNF dropped (or gave no verdict)")                \
  X(vnf_errors, "batches whose process() threw")                              \
  D(vnf_error_drops, "packets dropped because process() threw")               \
  D(vnf_cpu_budget, "packets dropped: their batch ran past --cpu-budget")      \
  D(vnf_memory, "packets dropped: their batch ran out of --memory-limit")      \
  D(vnf_restart, "packets dropped: in flight when their core restarted")       \
  D(bad_verdicts, "packets dropped for a verdict naming no port")             \
  D(bad_bounds, "packets dropped for an offset/length outside their buffer")  \
  D(dist_drops, "packets the distributor dropped: this core's pipe was full") \
  D(neigh_unresolved, "packets dropped: their next hop did not answer ARP/ND") \
  D(neigh_queue_full, "packets dropped: too many already waited for ARP/ND") \
  D(no_route, "packets dropped: no address of the port reaches them, no gateway") \
  D(icmp_rate_limited, "ICMP answers not sent: over the rate limit")        \
  D(endpoint_malformed, "frames to the port's addresses dropped: truncated or lying") \
  D(udp_closed, "UDP datagrams to a port no socket is bound to")             \
  X(arp_answered, "ARP requests for the port's addresses answered")         \
  X(nd_answered, "IPv6 neighbour solicitations answered")                   \
  X(echo_answered, "ICMP/ICMPv6 echo requests answered")                    \
  X(neigh_requests, "ARP requests and neighbour solicitations sent")

#define VNF_PORT_COUNTERS(X, D)                                               \
  X(rx_packets, "frames received")                                            \
  X(rx_bytes, "bytes received")                                               \
  X(rx_csum_finished, "checksums a local sender left undone, finished on rx") \
  X(tx_packets, "frames transmitted")                                         \
  X(tx_bytes, "bytes transmitted")                                            \
  X(tx_csum_offloaded, "checksums handed to the kernel in AF_XDP tx metadata") \
  D(rx_malformed, "frames dropped on receive: runt or unreadable")            \
  D(rx_oversize, "frames dropped on receive: longer than the largest buffer") \
  D(rx_no_buffer, "frames not received: the buffer pool was empty")           \
  D(rx_ring_full, "frames dropped on receive: the rx ring was full")          \
  D(tx_ring_full, "frames dropped on transmit: the tx ring was full")         \
  D(tx_errors, "frames the device refused")                                   \
  D(tx_oversize, "frames not sent: longer than the port's MTU")               \
  D(tx_no_buffer, "frames not sent: no buffer to cut a super-frame into")     \
  D(tx_no_output, "frames sent to a port that cannot transmit")

#define VNF_ENUM(name, help) name,
enum CoreCounter : uint32_t { VNF_CORE_COUNTERS(VNF_ENUM, VNF_ENUM) kCoreCounters };
enum PortCounter : uint32_t { VNF_PORT_COUNTERS(VNF_ENUM, VNF_ENUM) kPortCounters };
#undef VNF_ENUM

// A lane's view of its own block.
struct LaneCounters {
  uint64_t* core;    // kCoreCounters
  uint64_t* ports;   // kPortCounters per port
  uint64_t* port(uint32_t p) const { return ports + size_t(p) * kPortCounters; }
};

// All lanes' blocks in one region that JS reads without copying. With a
// file, the region is that file mapped shared, so another process (vnfrun
// top) reads the same pages while the lanes write them, at no cost to them.
// Layout: lanes x (core counters, then per port the port counters), u64
// little-endian; the supervisor writes the names beside it.
class CounterSet {
 public:
  CounterSet(uint32_t lanes, uint32_t ports, const std::string& file = "");
  ~CounterSet();
  CounterSet(const CounterSet&) = delete;
  CounterSet& operator=(const CounterSet&) = delete;

  uint32_t lanes() const { return lanes_; }
  uint32_t ports() const { return ports_; }
  size_t blockWords() const { return kCoreCounters + size_t(ports_) * kPortCounters; }
  size_t bytes() const { return size_t(lanes_) * blockWords() * sizeof(uint64_t); }
  uint64_t* data() const { return words_; }
  LaneCounters lane(uint32_t l) const {
    uint64_t* b = words_ + l * blockWords();
    return {b, b + kCoreCounters};
  }

  // The lists above, in layout order, for JS.
  struct Info {
    const char* name;
    const char* help;
    bool drop;
  };
  static std::vector<Info> coreList();
  static std::vector<Info> portList();
  static std::vector<std::string> coreNames();
  static std::vector<std::string> portNames();

 private:
  uint32_t lanes_, ports_;
  uint64_t* words_;
};

}  // namespace vnf
