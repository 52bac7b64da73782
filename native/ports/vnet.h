// The virtio-net header that AF_PACKET (PACKET_VNET_HDR) and TAP
// (IFF_VNET_HDR) put before each frame: checksum offload and GSO metadata.
// Shared by the packet and tap drivers.
//
// What crosses the engine:
//   - Checksum offload. A frame whose sender left its TCP/UDP checksum to the
//     hardware (NEEDS_CSUM: the field holds only the pseudo-header sum) keeps
//     that state: the receiving driver writes a Meta at the very start of the
//     frame's buffer (inside the headroom) and sets kSlotMeta in slot.flags.
//     A vnet output passes NEEDS_CSUM on, so the kernel (or the next VM)
//     finishes the checksum; any other output must finish it itself
//     (finishChecksum) before the frame leaves.
//   - GSO super-frames cross whole when the pool has large buffers (an engine
//     with a vnet port has): the Meta then also keeps gso_type, gso_size and
//     hdr_len, and the slot has kSlotGso. A vnet output passes the super-frame
//     on in one send; the engine cuts it into wire-size frames (Segmenter)
//     for any output that cannot take it (transmit.h). With no large buffer
//     free, the receiving driver splits it on arrival instead.
//
// The Meta remembers the frame offset it was written for, so a VNF that pushes
// or pops a header in front (a VLAN tag) still gets csum_start right. A VNF
// that rewrites addresses or ports of a NEEDS_CSUM frame must know the field
// holds a partial sum (see the driver notes in test/live).
#pragma once
#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>

#include "../counters.h"
#include "../note.h"
#include "../pool.h"
#include "../slot.h"

namespace vnf {
namespace vnet {

// struct virtio_net_hdr (linux/virtio_net.h is not C++-clean and older
// copies lack UDP_L4). Fields in host byte order: the legacy layout both
// AF_PACKET and TAP use on a little-endian host.
struct virtio_net_hdr {
  uint8_t flags, gso_type;
  uint16_t hdr_len, gso_size, csum_start, csum_offset;
};
static_assert(sizeof(virtio_net_hdr) == 10, "virtio_net_hdr is 10 bytes");
constexpr uint8_t VIRTIO_NET_HDR_F_NEEDS_CSUM = 1, VIRTIO_NET_HDR_F_DATA_VALID = 2;
constexpr uint8_t VIRTIO_NET_HDR_GSO_NONE = 0, VIRTIO_NET_HDR_GSO_TCPV4 = 1, VIRTIO_NET_HDR_GSO_UDP = 3,
                  VIRTIO_NET_HDR_GSO_TCPV6 = 4, VIRTIO_NET_HDR_GSO_UDP_L4 = 5, VIRTIO_NET_HDR_GSO_ECN = 0x80;

using vnf::kSlotGso;   // slot.h
using vnf::kSlotMeta;

struct Meta {
  virtio_net_hdr hdr;  // csum_start counts from the frame at `off`
  uint16_t off;
};
static_assert(sizeof(Meta) == 12, "Meta must fit any headroom of 12 bytes or more");

constexpr uint32_t kHdrLen = sizeof(virtio_net_hdr);  // 10: the size both drivers use

inline uint32_t get32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }

// The Meta of a slot, or nullptr when it has none (or a VNF wrote over it by
// moving the frame start into the Meta's bytes).
inline const Meta* metaOf(const Slot& s, const uint8_t* buf) {
  if (!(s.flags & kSlotMeta) || s.off < sizeof(Meta)) return nullptr;
  return reinterpret_cast<const Meta*>(buf);
}

// Record a received header for the frame at `off` of `buf`; returns the slot
// flags to set (0 when the header carries nothing worth keeping).
// A GSO header is kept whole (the frame is a super-frame in a large buffer).
inline uint16_t keep(uint8_t* buf, const virtio_net_hdr& h, uint16_t off) {
  if (!(h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) return 0;
  Meta m{};
  m.hdr.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  m.hdr.csum_start = h.csum_start;
  m.hdr.csum_offset = h.csum_offset;
  const bool gso = h.gso_type != VIRTIO_NET_HDR_GSO_NONE;
  if (gso) {
    m.hdr.gso_type = h.gso_type;
    m.hdr.gso_size = h.gso_size;
    m.hdr.hdr_len = h.hdr_len;
  }
  m.off = off;
  std::memcpy(buf, &m, sizeof m);
  return gso ? kSlotMeta | kSlotGso : kSlotMeta;
}

// The header to send before a frame on a vnet output: NEEDS_CSUM and GSO
// carried over (moved with the frame start). False when the recorded
// checksum position no longer lies inside the frame.
bool headerFor(const Slot& s, const uint8_t* buf, virtio_net_hdr& out);

// For an output without a vnet header: finish a checksum left to offload, in
// place. False when the recorded position no longer lies inside the frame.
bool finishChecksum(const Slot& s, uint8_t* buf);

// Where the checksum a frame left to offload goes, for an output that can
// hand it to the kernel without a vnet header (AF_XDP tx metadata): true,
// with the position relative to the frame, when it is pending and the
// segment it covers ends where the frame does (the kernel sums to the end:
// Ethernet padding would be summed too).
bool pendingChecksum(const Slot& s, const uint8_t* buf, uint16_t& start, uint16_t& offset);

// A frame whose sender left the checksum to offload but with no header to say
// where (AF_PACKET's TP_STATUS_CSUMNOTREADY): find the TCP/UDP checksum of an
// IPv4/IPv6 frame and finish it. False when it is neither.
bool finishChecksumByParsing(uint8_t* frame, uint32_t len);

// A frame whose VNF left its TCP/UDP checksum to the engine (the field holds
// the pseudo-header sum, CHECKSUM_PENDING in the batch): a Meta that says
// so, as a vnet port would have written, so that a vnet output hands it to
// the kernel and any other output finishes it. Returns the slot flags to
// add (kSlotMeta), or 0 after finishing it in place when the buffer has no
// room in front for a Meta; 0 and untouched when it is neither TCP nor UDP.
uint16_t leaveToOffload(uint8_t* buf, uint16_t off, uint32_t len);

// A frame received with no header to say so (AF_XDP on a veth) whose
// TCP/UDP checksum a local sender left to offload: the field holds just the
// pseudo-header sum and the checksum over the segment is wrong. Finish it and
// return true; leave any other frame (a right checksum, or a wrong one that
// is not the pseudo-header sum) as it is.
bool finishIfPartial(uint8_t* frame, uint32_t len);

// Splitting a GSO super-frame (TCPv4, TCPv6, UDP-L4) into frames of at most
// gso_size payload bytes.
class Segmenter {
 public:
  // Checks the frame; false when it is not a GSO frame this can split, or a
  // segment would not fit `maxFrame` bytes. `count()` is then the number of
  // segments.
  bool start(const uint8_t* frame, uint32_t len, const virtio_net_hdr& h, uint32_t maxFrame);
  uint32_t count() const { return count_; }
  // Write segment k at buf + off; returns its length. The segment carries a
  // Meta (NEEDS_CSUM) whose flag the caller sets in the slot.
  uint32_t write(uint32_t k, uint8_t* buf, uint16_t off) const;
  // Segments [next, count()) into free buffers as slots of `port`, at most
  // `room` of them; advances `next`. An empty pool drops the rest (counted
  // in noBuffer) and sets next = count().
  uint32_t emit(PoolCache& cache, Slot* out, uint32_t room, uint16_t headroom, uint16_t port,
                uint32_t& next, uint64_t& noBuffer) const;

 private:
  const uint8_t* frame_ = nullptr;
  uint32_t len_ = 0, l3_ = 0, l4_ = 0, hdrs_ = 0, seg_ = 0, count_ = 0;
  bool v6_ = false, tcp_ = false;
};

// The receive side of GSO super-frames, one for the drivers that read the
// virtio-net header (packet, tap, netmap): whole into a large buffer when
// one is free, else split into wire-size frames, over as many calls as the
// batches' room takes. (packet first tries to lend the frame where the
// kernel wrote it; tap reads straight into a large buffer when it can.)
class Intake {
 public:
  // A split is under way: its frame must stay where it is (a ring frame not
  // given back, a scratch buffer not reused) until this is false.
  bool splitting() const { return active_; }
  uint32_t count() const { return seg_.count(); }

  // Copy the super-frame whole into a free large buffer; false when none is
  // free or it is longer than one holds.
  static bool whole(PoolCache& cache, const uint8_t* frame, uint32_t len, const virtio_net_hdr& h, uint16_t headroom, Slot& out);

  // Start splitting `frame`. False (counted as rx_malformed, said in `note`)
  // when it is not a super-frame this can split.
  bool start(const uint8_t* frame, uint32_t len, const virtio_net_hdr& h, uint32_t maxFrame, uint64_t* c, Note& note);

  // The next segments into `out`, at most `room` of them; an empty pool
  // drops the rest (rx_no_buffer) and ends the split.
  uint32_t resume(PoolCache& cache, Slot* out, uint32_t room, uint16_t headroom, uint16_t port, uint64_t* c);

 private:
  Segmenter seg_;
  uint32_t next_ = 0;
  bool active_ = false;
};

// Rebuilding a GSO super-frame from consecutive TCP segments of one flow on
// their way out of a vnet port (GRO, in user space): one send instead of one
// per segment, and the receiver's stack takes the whole super-frame. A run is
// segments with checksum offload pending (Meta), headers equal but for
// lengths, IP id, sequence and checksums, sequence numbers in a row, equal
// payload sizes but the last, and no flag that must stay on one segment.
class Merger {
 public:
  static constexpr uint32_t kMaxHeaders = 18 + 60 + 60;  // Ethernet + VLAN, IP, TCP
  static constexpr uint32_t kMaxRun = 64;

  // How many of the n slots, from the first, make one super-frame: 1 means
  // send the first alone.
  uint32_t run(const Slot* s, uint32_t n, const Pool& pool);
  // After run() gave k >= 2: the virtio-net header, then the rebuilt headers
  // (headerBytes() of them) into `out`.
  void headers(vnet::virtio_net_hdr& h, uint8_t* out) const;
  uint32_t headerBytes() const { return hl_; }
  // Segment i's payload.
  const uint8_t* payload(uint32_t i) const { return payload_[i]; }
  uint32_t payloadLen(uint32_t i) const { return plen_[i]; }

 private:
  const uint8_t* first_ = nullptr;
  uint32_t l3_ = 0, l4_ = 0, hl_ = 0, total_ = 0;
  uint8_t flags_ = 0;
  bool v6_ = false;
  const uint8_t* payload_[kMaxRun];
  uint16_t plen_[kMaxRun];
};

// Ones' complement sum of n bytes as big-endian 16-bit words, folded to 16
// bits (not complemented). Fast: 32-bit words into a 64-bit accumulator.
uint16_t sum16(const uint8_t* p, size_t n, uint32_t initial = 0);

using vnf::Note;  // drivers' warnings (note.h)

}  // namespace vnet
}  // namespace vnf
