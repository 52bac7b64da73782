// packet: a Linux interface through an AF_PACKET socket (packet:IFNAME).
//
//   rx: a TPACKET_V2 ring of fixed-size frames, each handed over as soon as
//       the kernel has written it. (TPACKET_V3's blocks are handed over when
//       full or after a timer of at least 1 ms: a frame at low rate, a ping
//       or a TCP ACK, waited up to 1 ms in the ring, which held TCP through
//       vnfrun well below a bridge.) Each frame is copied once into a pool
//       buffer at the headroom, then its ring frame goes back to the kernel.
//       With `vnet` the ring's frames hold a 64 KiB super-frame, and the
//       rings are mapped into a window of the pool (pool.h): a super-frame is
//       not copied but lent, the slot naming it in its ring frame, which
//       goes back to the kernel when the buffer is freed. (Without a window
//       it is copied into a large buffer. One whose VLAN tag the kernel
//       moved into metadata is not rebuilt: it counts under rx_malformed.)
//   tx: a TPACKET_V2 ring of 2 KiB frames (4 KiB with vnet). A transmit
//       call copies its frames in and kicks the kernel with one send();
//       frames count as sent when the kernel hands their ring frame back
//       (checked on the next call and at close).
//
// With `vnet` the socket carries a virtio-net header per frame: checksums
// left to offload stay that way across the engine (see vnet.h), and GSO
// super-frames cross it whole (split on receive only when no large buffer is
// free). Without it, a
// frame whose checksum was left to offload (TP_STATUS_CSUMNOTREADY, as veth
// delivers locally sent traffic) has it finished here, and a GSO super-frame
// is counted under rx_oversize: turn GRO/TSO off on the senders, or use vnet
// (the default; `novnet` turns it off).
//
// VLAN tags the kernel stripped into metadata are put back into the frame.
// Outgoing frames are ignored (PACKET_IGNORE_OUTGOING): the port sees only
// what arrives on the wire. With `queues` > 1 each instance joins one
// PACKET_FANOUT group whose classic BPF program computes the engine's RSS
// (rss_bpf.h), so a frame meets the core the engine's hash names, and both
// directions of a flow meet there under the symmetric key.
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "iface.h"
#include "vnet.h"
#include "../engine.h"
#include "../rss_bpf.h"
#include "../port.h"

namespace vnf {
namespace {

// rx: 4096 frames of 2 KiB (8 MiB), or with vnet 256 of about 72 KiB
// (18 MiB), so the ring rides out a stall of the lane (a GC pause in the
// VNF's isolate) of a few ms at line rate.
constexpr uint32_t kRxFrameSize = 2048, kRxFrames = 4096;
constexpr uint32_t kRxBigFrames = 256;
// The status of a ring frame lent to the engine: not TP_STATUS_KERNEL, so
// the kernel leaves it alone, and not TP_STATUS_USER, so receive() does not
// take it again when it comes round.
constexpr uint32_t kLent = TP_STATUS_COPY;
constexpr uint32_t kTxFrames = 2048;
constexpr uint32_t kTxBlockSize = 1u << 16;
constexpr uint32_t kTxData = TPACKET_ALIGN(sizeof(tpacket2_hdr));  // where tx frame data starts
constexpr uint32_t kVlanLen = kVlanTag;

template <typename T>
T loadAcquire(const T& v) { return __atomic_load_n(&v, __ATOMIC_ACQUIRE); }
template <typename T>
void storeRelease(T& v, T x) { __atomic_store_n(&v, x, __ATOMIC_RELEASE); }

class PacketPort : public Port, PoolWindow {
 public:
  PacketPort(const PortConfig& cfg, Pool& pool, const Rss& rss) : Port(cfg), pool_(pool), headroom_(cfg.headroom) {
    const PortOptions& o = cfg.options;
    ifname_ = optionStr(o, "ifname");
    vnet_ = optionFlag(o, "vnet");
    promisc_ = optionFlag(o, "promisc");
    bypass_ = optionFlag(o, "bypass");
    const uint32_t room = pool.bufSize() > headroom_ ? pool.bufSize() - headroom_ : 0;
    maxFrame_ = room < 0xffff ? room : 0xffff;
    if (vnet_ && headroom_ < sizeof(vnet::Meta))
      throw std::runtime_error("vnet needs a headroom of at least 12 bytes");

    const Iface ifc = Iface::inspect(ifname_);
    ifindex_ = unsigned(ifc.mustExist().index);
    // Protocol 0: nothing arrives until the rings are set and bind() names ETH_P_ALL.
    fd_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
      if (errno == EPERM || errno == EACCES)
        throw std::runtime_error("needs CAP_NET_RAW (run as root or grant it: setcap cap_net_raw+ep $(command -v node))");
      throw std::runtime_error("cannot open an AF_PACKET socket: " + errnoText());
    }
    try {
      checkInterface();
      setUp(cfg, rss);
    } catch (...) {
      release();
      throw;
    }
  }
  ~PacketPort() override { release(); }

  int receive(Lane& lane, Slot* slots, uint32_t max) override {
    uint64_t* c = lane.counters.port(index_);
    Pool& pool = lane.cache.pool();
    uint32_t n = 0;
    while (n < max) {
      tpacket2_hdr* h = rxFrame(rxHead_);
      if (!(loadAcquire(h->tp_status) & TP_STATUS_USER)) break;
      bool lent = false;
      const int got = take(lane, pool, c, h, slots + n, max - n, n == 0, lent);
      if (got < 0) break;  // needs more slots than this batch has left, or no buffer
      n += uint32_t(got);
      if (!intake_.splitting()) {  // the ring frame is done: lent, or back to the kernel
        storeRelease(h->tp_status, lent ? kLent : uint32_t(TP_STATUS_KERNEL));
        rxHead_ = rxHead_ + 1 == rxFrames_ ? 0 : rxHead_ + 1;
        rxSinceStats_++;
      }
    }
    // What the kernel dropped for want of a free ring frame, now and then.
    if (rxSinceStats_ >= 1024 || (n == 0 && rxSinceStats_)) countRingDrops(c);
    return int(n);
  }

  void transmit(Lane& lane, const Slot* slots, uint32_t n) override {
    uint64_t* c = lane.counters.port(index_);
    txCounters_ = c;
    Pool& pool = lane.cache.pool();
    reclaim(c);
    uint32_t queued = 0, i = 0;
    for (; i < n; i++) {
      const Slot& s = slots[i];
      if (s.flags & vnet::kSlotGso) {  // a super-frame that crossed whole
        if (queued) kick();
        queued = 0;
        sendWhole(c, s, pool.data(s.buf));
        continue;
      }
      if (gsoFd_ >= 0) {
        const uint32_t k = merger_.run(slots + i, n - i, pool);
        if (k > 1) {
          if (queued) kick();  // what is already in the ring goes first
          queued = 0;
          sendMerged(c, slots + i, k);
          i += k - 1;
          continue;
        }
      }
      if (txInflight_ == kTxFrames) {
        if (queued) kick();
        queued = 0;
        reclaim(c);
        if (txInflight_ == kTxFrames) break;
      }
      uint8_t* buf = pool.data(s.buf);
      if (s.len < kMinFrame || s.len > txMaxFrame_ || uint32_t(s.off) + s.len > pool.bufSize()) {
        c[s.len > txMaxFrame_ ? tx_oversize : tx_errors]++;
        txNote_.set(std::to_string(s.len) + "-byte frame refused: " + ifname_ + " takes " + std::to_string(kMinFrame) +
                    ".." + std::to_string(txMaxFrame_) + " bytes");
        continue;
      }
      tpacket2_hdr* h = txFrame(txHead_);
      uint8_t* data = reinterpret_cast<uint8_t*>(h) + kTxData;
      uint32_t len = s.len;
      if (vnet_) {
        vnet::virtio_net_hdr vh;
        if (!vnet::headerFor(s, buf, vh)) { c[tx_errors]++; continue; }
        std::memcpy(data, &vh, sizeof vh);
        data += sizeof vh;
        len += sizeof vh;
      } else if (!vnet::finishChecksum(s, buf)) {
        c[tx_errors]++;
        continue;
      }
      std::memcpy(data, buf + s.off, s.len);
      h->tp_len = len;
      storeRelease(h->tp_status, uint32_t(TP_STATUS_SEND_REQUEST));
      txHead_ = txHead_ + 1 == kTxFrames ? 0 : txHead_ + 1;
      txInflight_++;
      queued++;
    }
    c[tx_ring_full] += n - i;
    lane.cache.freeSlots(slots, n);
    if (queued) kick();
    reclaim(c);
  }

  bool takesGso() const override { return gsoOut_; }

  int pollFd() const override { return fd_; }

  void close() override {
    if (fd_ < 0) return;
    if (txCounters_ && txInflight_) {
      // Give the kernel a moment to hand back what is still in flight.
      for (int tries = 0; tries < 100 && txInflight_; tries++) {
        kick();
        reclaim(txCounters_);
        if (txInflight_) usleep(1000);
      }
    }
    release();
  }

  std::string describe() const override {
    std::string s = "packet " + ifname_ + " (AF_PACKET TPACKET_V2, rx " + std::to_string(rxFrames_) + " x " +
                    std::to_string(rxFrameSize_ >> 10) + " KiB frames, tx " + std::to_string(kTxFrames) + " frames";
    if (bypass_) s += ", qdisc bypass";
    if (promisc_) s += ", promiscuous";
    if (vnet_)
      s += std::string(", vnet header: checksum offload kept, GSO super-frames whole") +
           (window_ ? " and received without a copy" : " (split on receive when no large buffer is free)") +
           (gsoOut_ ? "" : "; cut on transmit: " + ifname_ + " has TSO off");
    if (fanout_) s += ", fanout group " + std::to_string(fanoutId_) + " member " + std::to_string(queue_) + "/" + std::to_string(queues_);
    s += ")";
    rxNote_.append(s);
    txNote_.append(s);
    return s;
  }

 private:
  void checkInterface() {
    const Iface ifc = Iface::inspect(ifname_);
    if (ifc.arpType >= 0 && ifc.arpType != ARPHRD_ETHER)
      throw std::runtime_error(ifname_ + " is not an Ethernet interface (ARP type " + std::to_string(ifc.arpType) +
                               "): packet ports carry Ethernet frames");
    txMaxFrame_ = ifc.mustBeUp().frameFor(maxFrame_);
    // The kernel drops a super-frame it would have to cut itself when the
    // socket bypasses the qdisc: without TSO, the engine cuts them.
    gsoOut_ = vnet_ && ifc.tso;
  }

  void set(int level, int opt, int value, const std::string& what) {
    if (setsockopt(fd_, level, opt, &value, sizeof value) != 0)
      throw std::runtime_error("cannot " + what + ": " + errnoText());
  }

  void setUp(const PortConfig& cfg, const Rss& rss) {
    set(SOL_PACKET, PACKET_VERSION, TPACKET_V2, "use TPACKET_V2");
    if (vnet_) set(SOL_PACKET, PACKET_VNET_HDR, 1, "enable the virtio-net header");
    if (bypass_) set(SOL_PACKET, PACKET_QDISC_BYPASS, 1, "bypass the qdisc");
    set(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1, "ignore outgoing frames (kernel 4.20 or later)");
    setUpRings();
    bindTo();
    openGsoSocket();
    joinFanout(cfg, rss);
  }

  // The rx and tx rings, mapped into a window of the pool when vnet asks
  // for one (super-frames are then lent where the kernel wrote them).
  void setUpRings() {
    rxFrameSize_ = kRxFrameSize;
    rxFrames_ = kRxFrames;
    if (vnet_) {
      // A lent frame's slot starts (data(buf)) at most a stride before the
      // headroom: the reserve keeps that clear of the ring frame's header, and
      // the frame size leaves a large buffer's capacity after it.
      const uint32_t stride = pool_.stride();
      const uint32_t reserve = headroom_ + stride;
      set(SOL_PACKET, PACKET_RESERVE, int(reserve), "reserve headroom in the rx ring");
      rxFrameSize_ = (pool_.largeCapacity() + stride + 128 + 4095) & ~4095u;
      // The kernel wants tx frames to hold the reserve too, though it sends
      // from the same offset regardless.
      while (txFrameSize_ < TPACKET2_HDRLEN + reserve) txFrameSize_ *= 2;
      rxFrames_ = kRxBigFrames;
    }
    tpacket_req rx{};
    rx.tp_block_size = vnet_ ? rxFrameSize_ : 1u << 16;  // pages, a whole number of frames
    rx.tp_block_nr = rxFrames_ * rxFrameSize_ / rx.tp_block_size;
    rx.tp_frame_size = rxFrameSize_;
    rx.tp_frame_nr = rxFrames_;
    if (setsockopt(fd_, SOL_PACKET, PACKET_RX_RING, &rx, sizeof rx) != 0)
      throw std::runtime_error("cannot set up the rx ring: " + errnoText());
    tpacket_req tx{};
    tx.tp_block_size = kTxBlockSize;
    tx.tp_block_nr = kTxFrames * txFrameSize_ / kTxBlockSize;
    tx.tp_frame_size = txFrameSize_;
    tx.tp_frame_nr = kTxFrames;
    if (setsockopt(fd_, SOL_PACKET, PACKET_TX_RING, &tx, sizeof tx) != 0)
      throw std::runtime_error("cannot set up the tx ring: " + errnoText());
    mapLen_ = size_t(rxFrameSize_) * rxFrames_ + size_t(txFrameSize_) * kTxFrames;
    void* p = MAP_FAILED;
    if (uint8_t* at = vnet_ ? pool_.openWindow(mapLen_, this) : nullptr) {
      p = mmap(at, mapLen_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED | MAP_POPULATE, fd_, 0);
      if (p == MAP_FAILED) pool_.closeWindow(this);
      window_ = p != MAP_FAILED;
    }
    if (p == MAP_FAILED) p = mmap(nullptr, mapLen_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_, 0);
    if (p == MAP_FAILED) {
      mapLen_ = 0;
      throw std::runtime_error("cannot map the rings: " + errnoText());
    }
    ring_ = static_cast<uint8_t*>(p);
    txRing_ = ring_ + size_t(rxFrameSize_) * rxFrames_;
  }

  void bindTo() {
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = int(ifindex_);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0)
      throw std::runtime_error("cannot bind to " + ifname_ + ": " + errnoText());

    if (promisc_) {
      packet_mreq mr{};
      mr.mr_ifindex = int(ifindex_);
      mr.mr_type = PACKET_MR_PROMISC;
      // Dropped with the socket, so the interface leaves promiscuous mode by itself.
      if (setsockopt(fd_, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) != 0)
        throw std::runtime_error("cannot make " + ifname_ + " promiscuous: " + errnoText());
    }
  }

  // Super-frames rebuilt on transmit leave by a second socket with no ring
  // and no protocol (it receives nothing).
  void openGsoSocket() {
    if (gsoOut_) {
      gsoFd_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
      if (gsoFd_ < 0) throw std::runtime_error("cannot open a second AF_PACKET socket: " + errnoText());
      const int on = 1, sndbuf = 4 << 20;
      if (setsockopt(gsoFd_, SOL_PACKET, PACKET_VNET_HDR, &on, sizeof on) != 0 ||
          (bypass_ && setsockopt(gsoFd_, SOL_PACKET, PACKET_QDISC_BYPASS, &on, sizeof on) != 0))
        throw std::runtime_error("cannot set up the GSO socket: " + errnoText());
      if (setsockopt(gsoFd_, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) != 0)
        setsockopt(gsoFd_, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    }
  }

  void joinFanout(const PortConfig& cfg, const Rss& rss) {
    queue_ = cfg.queue;
    queues_ = cfg.queues;
    auto f = cfg.options.find("fanout");
    if (cfg.queues > 1 || f != cfg.options.end()) {
      // Group ids are per network namespace and tied to one interface: derive
      // one from this process and interface so two runs never share by accident.
      fanoutId_ = f != cfg.options.end() ? uint16_t(std::stoul(f->second)) : uint16_t(getpid() * 31u + ifindex_);
      fanout_ = true;
      // In hw mode the members are the cores, joined in core order, and the
      // engine's Toeplitz picks the member (rss_bpf.h), so a core can know
      // where replies to its own packets land. A fanout=ID group shared with
      // other processes keeps the kernel's flow hash.
      const bool byRss = cfg.queues > 1 && f == cfg.options.end();
      const int arg = int(fanoutId_) | ((byRss ? PACKET_FANOUT_CBPF : PACKET_FANOUT_HASH) << 16);
      if (setsockopt(fd_, SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg) != 0)
        throw std::runtime_error("cannot join fanout group " + std::to_string(fanoutId_) + " on " +
                                 ifname_ + ": " + errnoText() + " (a group id names one interface and mode: pick another with fanout=ID)");
      if (byRss && cfg.queue == 0) {
        std::vector<sock_filter> prog = rssFanoutProgram(rss.toeplitz());
        sock_fprog fp{uint16_t(prog.size()), prog.data()};
        if (setsockopt(fd_, SOL_PACKET, PACKET_FANOUT_DATA, &fp, sizeof fp) != 0)
          throw std::runtime_error("the kernel refused the RSS fanout program on " + ifname_ + ": " + errnoText());
      }
    }
  }

  void release() {
    if (window_) pool_.closeWindow(this);  // unmaps the rings, forgets lent frames (a no-op the second time)
    else if (mapLen_) munmap(ring_, mapLen_);
    mapLen_ = 0;
    ring_ = txRing_ = nullptr;
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (gsoFd_ >= 0) ::close(gsoFd_);
    gsoFd_ = -1;
  }

  tpacket2_hdr* rxFrame(uint32_t i) const { return reinterpret_cast<tpacket2_hdr*>(ring_ + size_t(i) * rxFrameSize_); }
  tpacket2_hdr* txFrame(uint32_t i) const { return reinterpret_cast<tpacket2_hdr*>(txRing_ + size_t(i) * txFrameSize_); }

  // A lent ring frame's buffer was freed (any thread, under the pool's lock).
  void giveBack(uint32_t buf) override {
    const size_t k = size_t(pool_.data(buf) - ring_) / rxFrameSize_;
    if (k < rxFrames_) storeRelease(rxFrame(uint32_t(k))->tp_status, uint32_t(TP_STATUS_KERNEL));
  }

  // Frames the kernel dropped for want of a free ring frame since the last call.
  void countRingDrops(uint64_t* c) {
    rxSinceStats_ = 0;
    tpacket_stats st{};
    socklen_t len = sizeof st;
    if (getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0) c[rx_ring_full] += st.tp_drops;
  }

  // Copy ring frame h into buffers: returns the slots written
  // (0 when it was dropped), or -1 when it waits for the next batch. A GSO
  // frame is lent (`lent` set), or goes whole into one batch when it fits,
  // else over several calls (intake_ says where it stopped).
  int take(Lane& lane, Pool& pool, uint64_t* c, const tpacket2_hdr* h, Slot* out, uint32_t room, bool batchEmpty, bool& lent) {
    const uint8_t* frame = reinterpret_cast<const uint8_t*>(h) + h->tp_mac;
    const uint32_t status = h->tp_status;
    const uint32_t caplen = h->tp_snaplen;
    const bool tagged = (status & TP_STATUS_VLAN_VALID) != 0;
    const uint32_t len = caplen + (tagged ? kVlanLen : 0);
    vnet::virtio_net_hdr vh{};
    if (vnet_) std::memcpy(&vh, frame - sizeof vh, sizeof vh);

    if (caplen < h->tp_len || caplen < kMinFrame) {
      c[caplen < kMinFrame ? rx_malformed : rx_oversize]++;
      rxNote_.set(std::to_string(h->tp_len) + "-byte frame dropped: longer than the ring's frames" +
                  (vnet_ ? "" : " (a GSO super-frame? use vnet, or turn GRO/TSO off on the sender)"));
      return 0;
    }
    if (vnet_ && vh.gso_type != vnet::VIRTIO_NET_HDR_GSO_NONE && !tagged) {
      // Lent where it lies, or whole into a large buffer when one is free; else split.
      if (!intake_.splitting()) {
        if (caplen <= 0xffff && window_ && lend(h, frame, caplen, vh, out[0])) {
          lent = true;
          return 1;
        }
        if (vnet::Intake::whole(lane.cache, frame, caplen, vh, uint16_t(headroom_), out[0])) return 1;
        if (!intake_.start(frame, caplen, vh, maxFrame_, c, rxNote_)) return 0;
        if (room < intake_.count() && !batchEmpty) return -1;
      }
      return int(intake_.resume(lane.cache, out, room, uint16_t(headroom_), uint16_t(index_), c));
    }
    if (len > maxFrame_) {
      c[rx_oversize]++;
      rxNote_.set(std::to_string(len) + "-byte frame dropped: buffers hold " + std::to_string(maxFrame_) +
                  (vnet_ ? " bytes" : " bytes (a GSO super-frame? use vnet, or turn GRO/TSO off on the sender)"));
      return 0;
    }
    uint32_t buf;
    if (!lane.cache.alloc(buf)) {
      c[rx_no_buffer]++;
      return 0;
    }
    uint8_t* b = pool.data(buf);
    uint8_t* d = b + headroom_;
    if (tagged) {
      std::memcpy(d, frame, 12);
      const uint16_t tpid = (status & TP_STATUS_VLAN_TPID_VALID) && h->tp_vlan_tpid ? h->tp_vlan_tpid : ETH_P_8021Q;
      const uint16_t tag[2] = {htons(tpid), htons(uint16_t(h->tp_vlan_tci))};
      std::memcpy(d + 12, tag, kVlanLen);
      std::memcpy(d + 12 + kVlanLen, frame + 12, caplen - 12);
      if (vh.flags & vnet::VIRTIO_NET_HDR_F_NEEDS_CSUM) vh.csum_start = uint16_t(vh.csum_start + kVlanLen);
    } else {
      std::memcpy(d, frame, caplen);
    }
    uint16_t flags = 0;
    if (vnet_) flags = vnet::keep(b, vh, uint16_t(headroom_));
    else if (status & TP_STATUS_CSUMNOTREADY) vnet::finishChecksumByParsing(d, len);
    out[0] = Slot{buf, uint16_t(headroom_), uint16_t(len), 0, uint16_t(index_), flags};
    return 1;
  }

  // The slot for a frame left in its ring frame: its buffer starts at the
  // stride boundary at or before the headroom. False when that would reach
  // into the ring frame's header or leave less than a large buffer's room
  // (the reserve and frame size set in setUp rule both out).
  bool lend(const tpacket2_hdr* h, const uint8_t* frame, uint32_t caplen, const vnet::virtio_net_hdr& vh, Slot& out) {
    const uint8_t* const ringFrame = reinterpret_cast<const uint8_t*>(h);
    const uint32_t buf = uint32_t(size_t(frame - headroom_ - pool_.base()) / pool_.stride());
    uint8_t* const b = pool_.data(buf);
    if (b < ringFrame + sizeof(tpacket2_hdr) || ringFrame + rxFrameSize_ < b + pool_.largeCapacity()) return false;
    const uint16_t off = uint16_t(frame - b);
    out = Slot{buf, off, uint16_t(caplen), 0, uint16_t(index_), vnet::keep(b, vh, off)};
    return true;
  }

  // A super-frame received whole, by sendmsg on the second socket (the tx
  // ring's frames are too small for it) with its GSO header.
  void sendWhole(uint64_t* c, const Slot& s, uint8_t* buf) {
    vnet::virtio_net_hdr vh;
    if (!vnet::headerFor(s, buf, vh)) {
      c[tx_errors]++;
      return;
    }
    iovec iov[2] = {{&vh, sizeof vh}, {buf + s.off, s.len}};
    sendIov(c, iov, 2, buf + s.off, 1, s.len);
  }

  // One super-frame from k segments (see vnet::Merger), by sendmsg on the
  // second socket: the tx ring's frames are too small for it.
  void sendMerged(uint64_t* c, const Slot* s, uint32_t k) {
    vnet::virtio_net_hdr vh{};
    uint8_t hdrs[vnet::Merger::kMaxHeaders];
    merger_.headers(vh, hdrs);
    iovec iov[2 + vnet::Merger::kMaxRun];
    iov[0] = {&vh, sizeof vh};
    iov[1] = {hdrs, merger_.headerBytes()};
    uint64_t bytes = 0;
    for (uint32_t j = 0; j < k; j++) {
      iov[2 + j] = {const_cast<uint8_t*>(merger_.payload(j)), merger_.payloadLen(j)};
      bytes += s[j].len;
    }
    sendIov(c, iov, 2 + k, hdrs, k, bytes);
  }

  // sendmsg on the second socket; `frame` starts with the Ethernet header,
  // the frame stands for `k` frames (segments) and `bytes` bytes.
  void sendIov(uint64_t* c, iovec* iov, size_t iovlen, const uint8_t* frame, uint32_t k, uint64_t bytes) {
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = int(ifindex_);
    std::memcpy(&to.sll_protocol, frame + 12, 2);  // the Ethernet type, already big-endian
    msghdr msg{};
    msg.msg_name = &to;
    msg.msg_namelen = sizeof to;
    msg.msg_iov = iov;
    msg.msg_iovlen = iovlen;
    if (::sendmsg(gsoFd_, &msg, MSG_DONTWAIT) >= 0) {
      c[tx_packets] += k;
      c[tx_bytes] += bytes;
    } else if (errno == EAGAIN || errno == ENOBUFS) {
      c[tx_ring_full] += k;
    } else {
      c[tx_errors] += k;
      txNote_.set("sending a " + std::to_string(bytes) + "-byte super-frame on " + ifname_ + " failed: " + errnoText());
    }
  }

  void kick() {
    if (::send(fd_, nullptr, 0, MSG_DONTWAIT) < 0 && errno != EAGAIN && errno != ENOBUFS && errno != EINTR)
      txNote_.set("send() on " + ifname_ + " failed: " + errnoText());
  }

  // Count the oldest frames the kernel has handed back, in ring order.
  void reclaim(uint64_t* c) {
    const uint32_t vlen = vnet_ ? vnet::kHdrLen : 0;
    while (txInflight_) {
      tpacket2_hdr* h = txFrame(txTail_);
      const uint32_t st = loadAcquire(h->tp_status);
      if (st == TP_STATUS_AVAILABLE) {
        c[tx_packets]++;
        c[tx_bytes] += h->tp_len - vlen;
      } else if (st & TP_STATUS_WRONG_FORMAT) {
        c[tx_errors]++;
        txNote_.set("the kernel refused a " + std::to_string(h->tp_len - vlen) + "-byte frame on " + ifname_);
        storeRelease(h->tp_status, uint32_t(TP_STATUS_AVAILABLE));
      } else {
        break;
      }
      txTail_ = txTail_ + 1 == kTxFrames ? 0 : txTail_ + 1;
      txInflight_--;
    }
  }

  Pool& pool_;
  std::string ifname_;
  uint32_t headroom_, maxFrame_ = 0, txMaxFrame_ = 0;
  unsigned ifindex_ = 0;
  bool vnet_ = false, promisc_ = true, bypass_ = true, fanout_ = false;
  bool gsoOut_ = false;  // super-frames leave whole (vnet and the device has TSO)
  bool window_ = false;  // the rings are mapped in a window of the pool
  uint16_t fanoutId_ = 0;
  uint32_t queue_ = 0, queues_ = 1;
  int fd_ = -1, gsoFd_ = -1;
  uint8_t* ring_ = nullptr;
  uint8_t* txRing_ = nullptr;
  size_t mapLen_ = 0;

  // rx state: the receiving lane's alone.
  uint32_t rxFrameSize_ = kRxFrameSize, rxFrames_ = kRxFrames;
  uint32_t rxHead_ = 0, rxSinceStats_ = 0;
  vnet::Intake intake_;
  vnet::Note rxNote_;

  // tx state: the transmitting lane's alone (another thread in sw2).
  uint32_t txFrameSize_ = 2048;  // 4 KiB with vnet (setUp)
  uint32_t txHead_ = 0, txTail_ = 0, txInflight_ = 0;
  uint64_t* txCounters_ = nullptr;  // for close()
  vnet::Merger merger_;
  vnet::Note txNote_;
};

}  // namespace

static std::unique_ptr<Port> openPacketPort(const PortConfig& cfg, Engine& engine) {
  return std::make_unique<PacketPort>(cfg, engine.pool(), engine.rss());
}

// With the virtio-net header, super-frames arrive whole: received where the
// kernel wrote them, in a window of the pool over the port's rings.
static PoolNeeds packetPool(const PortConfig& cfg) {
  if (!optionFlag(cfg.options, "vnet")) return {};
  return {.maxFrame = 65535, .windowBytes = 32u << 20};
}

static DriverRegistration registration({
    .name = "packet",
    .arg = "IFNAME",
    .argKeys = "ifname",
    .help = "AF_PACKET with TPACKET_V2 rings and the virtio-net header (GRO/TSO super-frames cross whole)",
    .options = {
        {"ifname", "ifname", "", nullptr, "an interface"},
        {"fanout", "uint", "0-65535", nullptr, "join this fanout group (in hw mode each core is a member)"},
        {"vnet", "flag", "", "1", "the virtio-net header: super-frames and checksum offload cross (novnet: off)"},
        {"promisc", "flag", "", "1", "promiscuous while running"},
        {"bypass", "flag", "", "1", "transmit past the qdisc"},
    },
    .open = openPacketPort,
    .pool = packetPool,
    .host = {.socket = AF_PACKET, .caps = "NET_RAW"},
    .usable = "AF_PACKET with TPACKET_V2 rings",
});

}  // namespace vnf
