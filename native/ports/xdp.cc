// xdp: a network interface's rx queues (one, or this instance's share of
// them all) through AF_XDP sockets whose UMEM is the engine's buffer pool, so
// a received frame reaches the VNF where the kernel wrote it and a sent frame
// leaves from where the VNF left it. Per socket:
//
//   fill ring        <- free pool buffers          receive()
//   rx ring          -> slots                      receive()
//   tx ring          <- slots                      transmit()
//   completion ring  -> buffers back to the pool   transmit()
//
// receive() touches only the fill and rx rings, transmit() only tx and
// completion, so an rx thread and a tx thread may drive one port at once.
//
// Shared between instances (ports, and the queues of one port in hw mode):
//   - the UMEM: the first socket registers the whole pool (unaligned chunks,
//     since buffers sit a stride of bufSize + 64 apart); later ones bind with
//     XDP_SHARED_UMEM and bring their own fill and completion rings.
//   - per interface, one XSKMAP and one program redirecting each frame to the
//     socket of its rx queue (XDP_PASS when the queue has none), attached by
//     a BPF link so the kernel removes it when the process ends, however.
//
// Addresses: buffer b starts at b * stride in the UMEM. The kernel writes a
// frame XDP_PACKET_HEADROOM (256) bytes into the buffer we gave it and, with
// unaligned chunks, reports the offset in the address's top 16 bits.
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "../engine.h"
#include "../port.h"
#include "iface.h"
#include "vnet.h"
#include "xdp_attach.h"
#include "xdp_prog.h"
#include "xsk_ring.h"

#ifndef AF_XDP
#define AF_XDP 44
#endif
#ifndef SOL_XDP
#define SOL_XDP 283
#endif

namespace vnf {
namespace {

constexpr uint32_t kXdpHeadroom = 256;    // XDP_PACKET_HEADROOM, fixed by the kernel
constexpr uint32_t kRingSize = 2048;      // descriptors in each of the four rings
constexpr uint32_t kFillBatch = 64;       // refill the fill ring in steps of this
constexpr uint32_t kStatsEvery = 1024;    // receive() calls between XDP_STATISTICS reads

// AF_XDP tx metadata (Linux 6.11 and later; the uapi names, which older
// headers lack): a frame may carry, in the bytes just before it, where its
// TCP/UDP checksum goes, and a copy-mode socket hands it to the stack as
// CHECKSUM_PARTIAL, as a local sender's would be: on a veth no one sums it
// (the receiving kernel trusts it), elsewhere the device or the stack does.
struct UmemReg {            // struct xdp_umem_reg with tx_metadata_len
  uint64_t addr, len;
  uint32_t chunk_size, headroom, flags, tx_metadata_len;
};
struct TxMetadata {         // struct xsk_tx_metadata
  uint64_t flags;
  uint16_t csum_start, csum_offset;
  uint32_t pad;
  uint64_t launch_time;
};
constexpr uint32_t kUmemTxMetadataLen = 1u << 2;   // XDP_UMEM_TX_METADATA_LEN
constexpr uint32_t kDescTxMetadata = 1u << 1;      // XDP_TX_METADATA in xdp_desc.options
constexpr uint64_t kTxmdChecksum = 1u << 1;        // XDP_TXMD_FLAGS_CHECKSUM

class XdpError : public std::runtime_error {
 public:
  // openPort() names the port; `where` (IFNAME@QUEUE) is for the reader of the code.
  XdpError(const std::string& where, const std::string& what) : std::runtime_error(what) {}
};

using xsk::Held;
using xsk::XskRing;
using xdp::Attachment;
using xdp::privilegeText;
using xdp::kMapEntries;
using xdp::registryLock;

std::map<const Pool*, std::vector<int>> umemSockets;        // bound sockets sharing the pool's UMEM (under registryLock)
std::map<int, bool> umemTxMetadata;                        // by the registering socket: its UMEM takes tx metadata

// --- the port ----------------------------------------------------------------

// One AF_XDP socket: one rx queue of the interface, its four rings, and the
// pool buffers the kernel holds through it.
struct Xsk {
  int fd = -1;
  uint32_t queue = 0;
  XskRing<uint64_t> fill, comp;
  XskRing<xdp_desc> rx, tx;
  Held fillHeld, txHeld;    // written by the rx lane and the tx lane respectively
  struct { uint64_t noBuf = 0, big = 0, ringFull = 0, txInvalid = 0; } seen;
};

class XdpPort : public Port {
 public:
  XdpPort(const PortConfig& cfg, Engine& engine) : Port(cfg), pool_(engine.pool()) {
    const PortOptions& o = cfg.options;
    ifname_ = optionStr(o, "ifname");
    const bool oneQueue = o.count("queue") != 0;
    const uint32_t first = uint32_t(optionU64(o, "queue", 0)) + cfg.queue;
    where_ = ifname_ + (oneQueue ? "@" + std::to_string(first) : "");
    const std::string mode = optionStr(o, "mode"), bind = optionStr(o, "bind");
    if (mode == "generic" && bind == "zerocopy") throw XdpError(where_, "bind=zerocopy needs native XDP: use mode=native or bind=copy");

    checkBuffers(cfg.headroom);

    const Iface ifc = Iface::inspect(ifname_);
    ifc.mustExist().mustBeUp().frameFor(maxRxFrame_);
    ifindex_ = ifc.index;
    veth_ = ifc.driver == "veth";
    queues_ = chooseQueues(ifc, oneQueue, first, cfg);
    maxTxLen_ = ifc.frameFor(maxRxFrame_);
    if (maxTxLen_ > bufSize_) maxTxLen_ = bufSize_;

    // Say plainly when the kernel has no AF_XDP, before the map and program
    // fail in vaguer words.
    const int probe = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (probe < 0) throw XdpError(where_, socketError(-errno, first));
    ::close(probe);

    std::lock_guard<std::mutex> g(registryLock);
    attachment_ = xdp::attach(ifindex_, ifname_, mode);
    native_ = attachment_->native();
    netlink_ = attachment_->netlink;
    modeNote_ = attachment_->note;
    try {
      bindQueues(bind);
    } catch (...) {
      release();
      throw;
    }
  }

  // The pool is the UMEM: its buffers must fit AF_XDP's chunk rules.
  void checkBuffers(uint32_t headroom) {
    stride_ = pool_.stride();
    bufSize_ = pool_.bufSize();
    umemHeadroom_ = headroom > kXdpHeadroom ? headroom - kXdpHeadroom : 0;
    const long page = sysconf(_SC_PAGESIZE);
    if (bufSize_ < 2048 || bufSize_ > uint32_t(page))
      throw XdpError(where_, "AF_XDP needs pool buffers of 2048 to " + std::to_string(page) + " bytes, not " + std::to_string(bufSize_));
    if (bufSize_ < kXdpHeadroom + umemHeadroom_ + 64)
      throw XdpError(where_, "headroom " + std::to_string(headroom) + " leaves no room for frames");
    maxRxFrame_ = bufSize_ - kXdpHeadroom - umemHeadroom_;
  }

  // Which rx queues this instance serves: the one asked for, or else its
  // share of all of them (every queue, outside hw mode), so no frame falls
  // through to the kernel unseen.
  std::vector<uint32_t> chooseQueues(const Iface& ifc, bool oneQueue, uint32_t first, const PortConfig& cfg) const {
    const uint32_t nq = ifc.queues > 0 ? uint32_t(ifc.queues) : 1;
    if (first >= nq && ifc.queues > 0)
      throw XdpError(where_, ifname_ + " has " + std::to_string(nq) + " rx queue" + (nq > 1 ? "s" : "") + ", so no queue " +
                                 std::to_string(first) + " (ethtool -L " + ifname_ + " combined N, or for veth create it with "
                                 "numrxqueues N)");
    std::vector<uint32_t> queues;
    if (oneQueue) queues.push_back(first);
    else
      for (uint32_t q = cfg.queue; q < nq; q += cfg.queues ? cfg.queues : 1) queues.push_back(q);
    if (queues.back() >= kMapEntries)
      throw XdpError(where_, "queue " + std::to_string(queues.back()) + " is beyond the " + std::to_string(kMapEntries) + " vnfrun supports");
    return queues;
  }

  // A socket per queue, each in the interface's XSKMAP; one epoll set to
  // wait on them all when there are several.
  void bindQueues(const std::string& bind) {
    for (uint32_t q : queues_) {
      socks_.push_back(std::make_unique<Xsk>());
      Xsk& x = *socks_.back();
      x.queue = q;
      x.fillHeld.resize(pool_.count());
      x.txHeld.resize(pool_.count());
      openSocket(x, bind);
      int r = xdpk::setXskMapEntry(attachment_->mapFd, q, x.fd);
      if (r < 0) throw XdpError(where_, std::string("cannot add the socket to the XSKMAP: ") + strerror(-r));
      umemSockets[&pool_].push_back(x.fd);
    }
    if (socks_.size() > 1) {
      epollFd_ = epoll_create1(EPOLL_CLOEXEC);
      for (auto& x : socks_) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = x->fd;
        if (epollFd_ >= 0) epoll_ctl(epollFd_, EPOLL_CTL_ADD, x->fd, &ev);
      }
    }
  }

  ~XdpPort() override { close(); }

  int receive(Lane& lane, Slot* slots, uint32_t max) override {
    uint64_t* c = lane.counters.port(index_);
    rxCounters_ = c;
    const uint32_t socks = uint32_t(socks_.size());
    uint32_t n = 0;
    for (uint32_t k = 0; k < socks && n < max; k++) {
      Xsk& x = *socks_[socks == 1 ? 0 : (rr_ + k) % socks];
      n += receiveFrom(x, c, slots + n, max - n);
      refill(lane, x);
    }
    rr_++;
    if (++rxCalls_ % kStatsEvery == 0) readStats(c, nullptr);
    return int(n);
  }

  void transmit(Lane& lane, const Slot* slots, uint32_t n) override {
    uint64_t* c = lane.counters.port(index_);
    txCounters_ = c;
    if (socks_.empty()) { dropAll(lane, slots, n, c[tx_errors]); return; }
    Xsk& x = *socks_[0];   // one tx queue per instance is enough
    reclaim(lane, x);
    uint32_t room = x.tx.freeSpace(n);
    if (room < n) {  // the kernel is behind: push it once, then take back what it finished
      kick(x);
      reclaim(lane, x);
      room = x.tx.freeSpace(n);
    }
    uint32_t k = 0, i = 0;
    uint64_t bytes = 0;
    const uint32_t stride = stride_, maxLen = maxTxLen_, bufSize = bufSize_;
    for (; i < n && k < room; i++) {
      const Slot& s = slots[i];
      if (s.len > maxLen || uint32_t(s.off) + s.len > bufSize || s.len < kEthHeader) {
        lane.cache.free(s.buf);
        c[s.len > maxLen ? tx_oversize : tx_errors]++;
        continue;
      }
      xdp_desc& d = x.tx.descs[(x.tx.cachedProd + k) & x.tx.mask];
      d.addr = uint64_t(s.buf) * stride + s.off;
      d.len = s.len;
      d.options = 0;
      // A checksum left to offload: handed to the kernel in the tx metadata
      // where the socket takes it, else done here before the wire.
      if (s.flags & vnet::kSlotMeta) {
        uint8_t* buf = lane.cache.pool().data(s.buf);
        uint16_t start, offset;
        if (txChecksum_ && s.off >= sizeof(vnet::Meta) + sizeof(TxMetadata) && vnet::pendingChecksum(s, buf, start, offset)) {
          TxMetadata m{kTxmdChecksum, start, offset, 0, 0};
          std::memcpy(buf + s.off - sizeof m, &m, sizeof m);
          d.options = kDescTxMetadata;
          c[tx_csum_offloaded]++;
        } else {
          vnet::finishChecksum(s, buf);
        }
      }
      x.txHeld.set(s.buf);
      bytes += s.len;
      k++;
    }
    if (i < n) dropAll(lane, slots + i, n - i, c[tx_ring_full]);
    if (k) {
      x.tx.submit(k);
      kick(x);
    }
    c[tx_packets] += k;
    c[tx_bytes] += bytes;
    if (++txCalls_ % kStatsEvery == 0) readStats(nullptr, c);
  }

  int pollFd() const override { return socks_.size() == 1 ? socks_[0]->fd : epollFd_; }

  void close() override {
    if (socks_.empty() && !attachment_) return;
    std::lock_guard<std::mutex> g(registryLock);
    readStats(rxCounters_, txCounters_);
    release();
  }

  std::string describe() const override {
    std::string q = queues_.size() == 1 ? "queue " : "queues ";
    for (size_t i = 0; i < queues_.size(); i++) q += (i ? "," : "") + std::to_string(queues_[i]);
    std::string s = "xdp " + ifname_ + " " + q + ": " + (native_ ? "native" : "generic") + " XDP" +
                    (netlink_ ? " (netlink attach)" : "") + ", " + (zerocopy_ ? "zerocopy" : "copy") + " bind" +
                    (sharedUmem_ ? ", shared UMEM" : "");
    if (!modeNote_.empty()) s += " (" + modeNote_ + ")";
    const uint64_t big = bigFrames_.load(std::memory_order_relaxed);
    if (big)
      s += "; warning: " + std::to_string(big) + " frames larger than a buffer (" + std::to_string(maxRxFrame_) +
           " bytes) were dropped" + (native_ ? "" : ": in generic mode the sender's GSO/TSO must be off "
                                                     "(ethtool -K PEER tso off gso off)");
    if (veth_) s += "; veth: checksums a local sender left to offload are finished on receive";
    if (txChecksum_) s += "; checksums left to offload go to the kernel (tx metadata)";
    return s;
  }

 private:
  uint32_t receiveFrom(Xsk& x, uint64_t* c, Slot* slots, uint32_t max) {
    const uint32_t n = x.rx.available(max);
    const uint32_t stride = stride_, port = index_;
    for (uint32_t i = 0; i < n; i++) {
      const xdp_desc& d = x.rx.descs[(x.rx.cachedCons + i) & x.rx.mask];
      const uint64_t a = (d.addr & XSK_UNALIGNED_BUF_ADDR_MASK) + (d.addr >> XSK_UNALIGNED_BUF_OFFSET_SHIFT);
      const uint32_t buf = uint32_t(a / stride);
      x.fillHeld.clear(buf);
      slots[i] = Slot{buf, uint16_t(a - uint64_t(buf) * stride), uint16_t(d.len), 0, uint16_t(port), 0};
    }
    if (n) x.rx.release(n);
    if (veth_) c[rx_csum_finished] += finishPartial(slots, n);
    if (n == 0 && x.fill.needsWakeup()) recvfrom(x.fd, nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
    return n;
  }

  // A local sender on the veth's other end leaves TCP/UDP checksums to
  // "hardware" (CHECKSUM_PARTIAL), and AF_XDP hands the frames over as they
  // are: the field holds only the pseudo-header sum, and every receiver drops
  // them, so TCP stalls. Finishing them here makes the default set-up work;
  // it is safe because a frame is touched only when its field is exactly the
  // pseudo-header sum and the checksum over it is wrong (vnet.h). Returns how
  // many were finished.
  uint32_t finishPartial(const Slot* slots, uint32_t n) {
    uint32_t done = 0;
    for (uint32_t i = 0; i < n; i++) done += vnet::finishIfPartial(pool_.data(slots[i].buf) + slots[i].off, slots[i].len);
    return done;
  }

  // A socket for x.queue. The first socket of the pool registers it as the
  // UMEM; later ones share it and take its bind mode, when that is the one
  // asked for (else they register a UMEM of their own).
  void openSocket(Xsk& x, const std::string& bind) {
    // Zero copy: the NIC DMAs into the chunks we give it, and refuses a chunk
    // that straddles two pages not contiguous in DMA space; with buffers a
    // stride of bufSize + 64 apart, half of them straddle one.
    const long page = sysconf(_SC_PAGESIZE);
    const bool zcLayout = stride_ <= uint32_t(page) && uint32_t(page) % stride_ == 0;
    if (bind == "zerocopy" && !zcLayout)
      throw XdpError(where_, "bind=zerocopy needs pool buffers that never straddle a page (a stride dividing " +
                                 std::to_string(page) + "; this pool's is " + std::to_string(stride_) + "): use bind=copy");
    std::vector<bool> zc;  // bind modes to try
    if (bind != "copy" && native_ && zcLayout) zc.push_back(true);
    if (bind != "zerocopy") zc.push_back(false);
    if (zc.empty()) throw XdpError(where_, "bind=zerocopy needs native XDP, which " + ifname_ + " does not run");
    const std::vector<int>& live = umemSockets[&pool_];
    if (!live.empty()) {
      bool zerocopy = false;
      if (trySocket(x, live.front(), false, zerocopy) == 0 && (bind == "auto" || (bind == "zerocopy") == zerocopy) &&
          (socks_.size() == 1 || zerocopy == zerocopy_)) {
        sharedUmem_ = true;
        zerocopy_ = zerocopy;
        return;
      }
      closeSocket(x);
    }
    std::string zcWhy;
    for (size_t t = 0; t < zc.size(); t++) {
      bool zerocopy = false;
      int err = trySocket(x, -1, zc[t], zerocopy);
      if (err == 0) {
        zerocopy_ = zerocopy;
        if (!zcWhy.empty() && modeNote_.find(zcWhy) == std::string::npos) modeNote_ += (modeNote_.empty() ? "" : "; ") + zcWhy;
        return;
      }
      closeSocket(x);
      std::string text = socketError(err, x.queue);
      if (zc[t] && t + 1 < zc.size() && (err == -EOPNOTSUPP || err == -EINVAL || err == -EPROTONOSUPPORT)) {
        zcWhy = "no zerocopy on " + ifname_;
        continue;
      }
      if (zc[t] && (err == -EOPNOTSUPP || err == -EINVAL)) text = ifname_ + "'s driver has no AF_XDP zerocopy: use bind=copy or bind=auto";
      throw XdpError(where_, text);
    }
  }

  std::string socketError(int err, uint32_t queue) const {
    switch (-err) {
      case EAFNOSUPPORT: return "this kernel has no AF_XDP sockets (needs Linux >= 5.10 built with CONFIG_XDP_SOCKETS)";
      case EPERM: case EACCES: return privilegeText("open AF_XDP sockets");
      case EBUSY: return "queue " + std::to_string(queue) + " of " + ifname_ + " is already bound by another AF_XDP socket";
      case ENOBUFS: case ENOMEM:
        return "cannot pin the buffer pool (" + std::to_string(pool_.bytes() >> 20) +
               " MiB) for AF_XDP: raise the locked-memory limit (ulimit -l unlimited) or grant CAP_IPC_LOCK";
      case ENETDOWN: return ifname_ + " is down: ip link set dev " + ifname_ + " up";
      case ENODEV: return "no interface " + ifname_ + " in this network namespace (ip link show lists them)";
      default: return std::string("cannot set up the AF_XDP socket (") + failedStep_ + "): " + strerror(-err);
    }
  }

  // Returns 0, or -errno with failedStep_ saying where.
  int trySocket(Xsk& x, int shareFd, bool zerocopy, bool& gotZerocopy) {
    auto fail = [&](const char* step) { failedStep_ = step; return -errno; };
    x.fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (x.fd < 0) return fail("socket");
    if (shareFd < 0) {
      UmemReg reg{uint64_t(uintptr_t(pool_.base())), pool_.bytes(), bufSize_, umemHeadroom_, XDP_UMEM_UNALIGNED_CHUNK_FLAG, 0};
      // With room for tx metadata where the kernel has it (6.11+), else without.
      reg.flags |= kUmemTxMetadataLen;
      reg.tx_metadata_len = sizeof(TxMetadata);
      bool meta = setsockopt(x.fd, SOL_XDP, XDP_UMEM_REG, &reg, sizeof reg) == 0;
      if (!meta) {
        reg.flags &= ~kUmemTxMetadataLen;
        reg.tx_metadata_len = 0;
        if (setsockopt(x.fd, SOL_XDP, XDP_UMEM_REG, &reg, sizeof reg) < 0) return fail("registering the pool as UMEM");
      }
      umemTxMetadata[x.fd] = meta;
    }
    uint32_t n = kRingSize;
    if (setsockopt(x.fd, SOL_XDP, XDP_UMEM_FILL_RING, &n, sizeof n) < 0) return fail("fill ring");
    if (setsockopt(x.fd, SOL_XDP, XDP_UMEM_COMPLETION_RING, &n, sizeof n) < 0) return fail("completion ring");
    if (setsockopt(x.fd, SOL_XDP, XDP_RX_RING, &n, sizeof n) < 0) return fail("rx ring");
    if (setsockopt(x.fd, SOL_XDP, XDP_TX_RING, &n, sizeof n) < 0) return fail("tx ring");
    xdp_mmap_offsets off;
    socklen_t len = sizeof off;
    if (getsockopt(x.fd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &len) < 0) return fail("ring offsets");
    if (!x.fill.mapRing(x.fd, off.fr, n, off_t(XDP_UMEM_PGOFF_FILL_RING)) ||
        !x.comp.mapRing(x.fd, off.cr, n, off_t(XDP_UMEM_PGOFF_COMPLETION_RING)) ||
        !x.rx.mapRing(x.fd, off.rx, n, XDP_PGOFF_RX_RING) || !x.tx.mapRing(x.fd, off.tx, n, XDP_PGOFF_TX_RING))
      return fail("mapping the rings");
    sockaddr_xdp sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sxdp_family = AF_XDP;
    sa.sxdp_ifindex = uint32_t(ifindex_);
    sa.sxdp_queue_id = x.queue;
    // A socket sharing a UMEM takes its bind flags from the UMEM's first socket.
    sa.sxdp_flags = shareFd >= 0 ? XDP_SHARED_UMEM : XDP_USE_NEED_WAKEUP | (zerocopy ? XDP_ZEROCOPY : XDP_COPY);
    sa.sxdp_shared_umem_fd = shareFd >= 0 ? uint32_t(shareFd) : 0;
    if (::bind(x.fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) return fail("bind");
    xdp_options opts;
    len = sizeof opts;
    gotZerocopy = getsockopt(x.fd, SOL_XDP, XDP_OPTIONS, &opts, &len) == 0 ? (opts.flags & XDP_OPTIONS_ZEROCOPY) != 0 : zerocopy;
    // Tx metadata checksums only in copy mode: a zerocopy driver without
    // the checksum hook would ignore the request and send the frame unsummed.
    txChecksum_ = !gotZerocopy && umemTxMetadata[shareFd >= 0 ? shareFd : x.fd];
    prefill(x);
    return 0;
  }

  // Once a socket is gone the kernel holds nothing more through it: the
  // buffers it had in the fill, rx, tx and completion rings go back to the pool.
  void closeSocket(Xsk& x) {
    x.fill.unmap();
    x.comp.unmap();
    x.rx.unmap();
    x.tx.unmap();
    if (x.fd >= 0) ::close(x.fd);
    x.fd = -1;
    std::vector<uint32_t> back;
    x.fillHeld.forEach([&](uint32_t b) { back.push_back(b); });
    x.txHeld.forEach([&](uint32_t b) { back.push_back(b); });
    x.fillHeld.resize(pool_.count());
    x.txHeld.resize(pool_.count());
    if (!back.empty()) pool_.give(back.data(), uint32_t(back.size()));
  }

  // Every socket out of the map and closed, then the program detached by
  // the last port on the interface. Holds registryLock.
  void release() {
    auto& live = umemSockets[&pool_];
    for (auto& x : socks_) {
      if (x->fd < 0) continue;
      if (attachment_) xdpk::clearXskMapEntry(attachment_->mapFd, x->queue);
      for (size_t i = 0; i < live.size(); i++)
        if (live[i] == x->fd) { live.erase(live.begin() + long(i)); break; }
    }
    attachment_.reset();
    for (auto& x : socks_) closeSocket(*x);
    socks_.clear();
    if (epollFd_ >= 0) ::close(epollFd_);
    epollFd_ = -1;
  }

  // Stock the fill ring before the first receive(), straight from the pool.
  void prefill(Xsk& x) {
    std::vector<uint32_t> bufs(kRingSize);
    const uint32_t got = pool_.take(bufs.data(), kRingSize);
    for (uint32_t i = 0; i < got; i++) {
      x.fill.descs[(x.fill.cachedProd + i) & x.fill.mask] = uint64_t(bufs[i]) * stride_;
      x.fillHeld.set(bufs[i]);
    }
    if (got) x.fill.submit(got);
  }

  // Keep the fill ring stocked with free pool buffers.
  void refill(Lane& lane, Xsk& x) {
    uint32_t want = x.fill.freeSpace(kFillBatch);
    if (want < kFillBatch) return;
    if (want > 512) want = 512;
    uint32_t bufs[512];
    const uint32_t got = lane.cache.allocBulk(bufs, want);
    for (uint32_t i = 0; i < got; i++) {
      x.fill.descs[(x.fill.cachedProd + i) & x.fill.mask] = uint64_t(bufs[i]) * stride_;
      x.fillHeld.set(bufs[i]);
    }
    if (got) x.fill.submit(got);
  }

  // Sent frames' buffers back to the pool.
  void reclaim(Lane& lane, Xsk& x) {
    const uint32_t n = x.comp.available(kRingSize);
    for (uint32_t i = 0; i < n; i++) {
      const uint64_t a = x.comp.descs[(x.comp.cachedCons + i) & x.comp.mask] & XSK_UNALIGNED_BUF_ADDR_MASK;
      const uint32_t buf = uint32_t(a / stride_);
      x.txHeld.clear(buf);
      lane.cache.free(buf);
    }
    if (n) x.comp.release(n);
  }

  // Copy mode sends only inside sendto(), at most 32 frames a call (the
  // kernel's TX_BATCH_SIZE), answering EAGAIN while more wait.
  void kick(Xsk& x) {
    if (zerocopy_ && !x.tx.needsWakeup()) return;
    for (int tries = 0; tries < 64; tries++) {
      if (sendto(x.fd, nullptr, 0, MSG_DONTWAIT, nullptr, 0) >= 0) {
        if (x.tx.pending() == 0) break;
        continue;
      }
      if (errno != EAGAIN) break;   // EBUSY, ENOBUFS: the device is full; later
    }
  }

  // Kernel drop counters, folded into ours: rx ones by the rx lane, tx ones
  // by the tx lane (either may be null), both at close.
  void readStats(uint64_t* rxc, uint64_t* txc) {
    if (!rxc && !txc) return;
    uint64_t big = 0;
    for (auto& xp : socks_) {
      Xsk& x = *xp;
      xdp_statistics st;
      std::memset(&st, 0, sizeof st);
      socklen_t len = sizeof st;
      if (x.fd < 0 || getsockopt(x.fd, SOL_XDP, XDP_STATISTICS, &st, &len) < 0) continue;
      if (rxc) {
        // rx_dropped counts both frames too big for a buffer and frames that
        // found the fill ring empty; the latter also count as fill-ring-empty.
        const uint64_t noBuf = len > offsetof(xdp_statistics, rx_fill_ring_empty_descs) ? st.rx_fill_ring_empty_descs : 0;
        const uint64_t tooBig = st.rx_dropped > noBuf ? st.rx_dropped - noBuf : 0;
        rxc[rx_no_buffer] += noBuf - x.seen.noBuf;
        rxc[rx_oversize] += tooBig - x.seen.big;
        rxc[rx_ring_full] += st.rx_ring_full - x.seen.ringFull;
        x.seen.noBuf = noBuf;
        x.seen.big = tooBig;
        x.seen.ringFull = st.rx_ring_full;
        big += tooBig;
      }
      if (txc) {
        txc[tx_errors] += st.tx_invalid_descs - x.seen.txInvalid;
        x.seen.txInvalid = st.tx_invalid_descs;
      }
    }
    if (rxc) bigFrames_.store(big, std::memory_order_relaxed);
  }

  Pool& pool_;
  std::string ifname_, where_, modeNote_;
  const char* failedStep_ = "";
  uint32_t stride_ = 0, bufSize_ = 0, umemHeadroom_ = 0, maxRxFrame_ = 0, maxTxLen_ = 0;
  int ifindex_ = 0, epollFd_ = -1;
  bool native_ = false, netlink_ = false, zerocopy_ = false, sharedUmem_ = false, veth_ = false;
  bool txChecksum_ = false;   // checksums left to offload go to the kernel in the tx metadata
  std::shared_ptr<Attachment> attachment_;
  std::vector<std::unique_ptr<Xsk>> socks_;
  std::vector<uint32_t> queues_;   // the rx queues served, for describe() after close
  uint32_t rr_ = 0, rxCalls_ = 0, txCalls_ = 0;
  uint64_t* rxCounters_ = nullptr;
  uint64_t* txCounters_ = nullptr;
  std::atomic<uint64_t> bigFrames_{0};
};

}  // namespace

static std::unique_ptr<Port> openXdpPort(const PortConfig& cfg, Engine& engine) {
  return std::make_unique<XdpPort>(cfg, engine);
}

// The pool is the UMEM: a buffer per page.
static PoolNeeds xdpPool(const PortConfig&) { return {.pageAligned = true}; }

static DriverRegistration registration({
    .name = "xdp",
    .arg = "IFNAME[@QUEUE]",
    .argKeys = "ifname@queue",
    .help = "AF_XDP; the buffer pool is the UMEM (zero copy); without @QUEUE every rx queue",
    .options = {
        {"ifname", "ifname", "", nullptr, "an interface"},
        {"queue", "uint", "0-4095", nullptr, "serve this rx queue only"},
        {"mode", "choice", "native|generic|auto", "auto", "native XDP, generic (skb) XDP, or native where the driver has it"},
        {"bind", "choice", "zerocopy|copy|auto", "auto", "zero-copy bind, copy, or zero copy where the NIC supports it"},
    },
    .open = openXdpPort,
    .pool = xdpPool,
    .host = {.socket = AF_XDP, .caps = "NET_ADMIN+BPF"},
    .usable = "AF_XDP, the buffer pool is the UMEM",
});

}  // namespace vnf
