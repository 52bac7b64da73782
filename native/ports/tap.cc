// tap: a TAP device (tap:NAME), created when absent and removed again at
// exit. The host's network stack (or whatever owns the other side) sends
// frames into the device and we read() them; what we write() comes out of
// the device into the host.
//
// A TAP descriptor moves one frame per read() and per write(): there is no
// batch or ring interface, so this driver makes one syscall per frame. Each
// frame is read straight into its pool buffer (readv: the virtio-net header,
// when on, lands at the start of the buffer, the frame at the headroom) and
// written straight from it, so there is no copy in user space.
//
// With `vnet` the device carries a virtio-net header and offers checksum
// offload and TSO: checksums the sender left to offload cross the engine
// undone (see vnet.h); a TSO super-frame is read whole (its tail into a
// 64 KiB side buffer) and split into wire-sized frames, and consecutive
// segments of one TCP flow leave as one super-frame again: one syscall per
// super-frame instead of one per segment.
//
// With `queues` > 1 each instance opens one queue of an IFF_MULTI_QUEUE
// device; the kernel spreads flows over the queues.
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>
#include <stdexcept>

#include "iface.h"
#include "vnet.h"
#include "../engine.h"
#include "../port.h"

namespace vnf {
namespace {

constexpr uint32_t kMaxSuperFrame = 65536 + 18;  // a TSO frame with its Ethernet header

class TapPort : public Port {
 public:
  TapPort(const PortConfig& cfg, Pool& pool) : Port(cfg), headroom_(cfg.headroom), pool_(pool) {
    ifname_ = optionStr(cfg.options, "ifname");
    vnet_ = optionFlag(cfg.options, "vnet");
    queue_ = cfg.queue;
    queues_ = cfg.queues;
    const uint32_t room = pool.bufSize() > headroom_ ? pool.bufSize() - headroom_ : 0;
    maxFrame_ = room < 0xffff ? room : 0xffff;
    if (vnet_ && headroom_ < sizeof(vnet::Meta))
      throw std::runtime_error("vnet needs a headroom of at least 12 bytes");
    if (ifname_.empty() || ifname_.size() >= IFNAMSIZ) throw std::runtime_error("needs a device name");

    created_ = if_nametoindex(ifname_.c_str()) == 0;
    fd_ = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd_ < 0) {
      if (errno == ENOENT || errno == ENODEV)
        throw std::runtime_error("/dev/net/tun is missing: load the tun module (modprobe tun)");
      if (errno == EACCES || errno == EPERM)
        throw std::runtime_error("cannot open /dev/net/tun: needs CAP_NET_ADMIN (run as root or grant it)");
      throw std::runtime_error("cannot open /dev/net/tun: " + errnoText());
    }
    try {
      attach();
      checkAndRaise();
    } catch (...) {
      ::close(fd_);
      fd_ = -1;
      throw;
    }
  }
  ~TapPort() override { close(); }

  int receive(Lane& lane, Slot* slots, uint32_t max) override {
    uint64_t* c = lane.counters.port(index_);
    Pool& pool = lane.cache.pool();
    uint32_t n = 0;
    const uint32_t hdr = vnet_ ? vnet::kHdrLen : 0;
    while (n < max) {
      if (intake_.splitting()) {  // a super-frame still being split
        n += intake_.resume(lane.cache, slots + n, max - n, uint16_t(headroom_), uint16_t(index_), c);
        continue;
      }
      uint32_t buf;
      if (!lane.cache.alloc(buf)) {
        c[rx_no_buffer]++;  // the frame waits in the device's queue
        break;
      }
      uint8_t* b = pool.data(buf);
      // With TSO a super-frame overflows the buffer into a large buffer kept
      // ready (armed_), after the room its head will take when it is moved
      // there; without one free, into big_, to be split.
      if (tso_ && armed_ == kNone) lane.cache.allocLarge(armed_);  // leaves kNone when none is free
      uint8_t* tail = armed_ != kNone ? pool.data(armed_) + headroom_ : big_.data();
      const uint32_t tailRoom = armed_ != kNone ? std::min(0xffffu, pool.capacity(armed_) - headroom_) : uint32_t(big_.size());
      iovec iov[3] = {{b, hdr}, {b + headroom_, maxFrame_}, {tail + maxFrame_, tailRoom - maxFrame_}};
      const ssize_t r = vnet_ ? ::readv(fd_, iov, tso_ ? 3 : 2) : ::readv(fd_, iov + 1, 1);
      if (r < 0) {
        lane.cache.free(buf);
        if (errno != EAGAIN && errno != EINTR) rxNote_.set("read from " + ifname_ + " failed: " + errnoText());
        break;
      }
      const uint32_t len = uint32_t(r) - (uint32_t(r) >= hdr ? hdr : uint32_t(r));
      const uint32_t fits = tso_ ? tailRoom : maxFrame_;
      if (uint32_t(r) < hdr || len < kMinFrame || len >= fits) {
        lane.cache.free(buf);
        c[len < kMinFrame ? rx_malformed : rx_oversize]++;
        rxNote_.set(std::to_string(len) + "-byte frame dropped: buffers hold " + std::to_string(fits - 1) + " bytes");
        continue;
      }
      uint16_t flags = 0;
      if (vnet_) {
        vnet::virtio_net_hdr vh;
        std::memcpy(&vh, b, sizeof vh);
        if (armed_ != kNone && (vh.gso_type != vnet::VIRTIO_NET_HDR_GSO_NONE || len > maxFrame_)) {
          // A super-frame, whole: its head joins its tail in the large buffer.
          uint8_t* big = pool.data(armed_);
          std::memcpy(big + headroom_, b + headroom_, std::min(len, maxFrame_));
          lane.cache.free(buf);
          const uint16_t f = vh.gso_type != vnet::VIRTIO_NET_HDR_GSO_NONE ? vnet::keep(big, vh, uint16_t(headroom_)) : 0;
          slots[n++] = Slot{armed_, uint16_t(headroom_), uint16_t(len), 0, uint16_t(index_), f};
          armed_ = kNone;
          continue;
        }
        if (vh.gso_type != vnet::VIRTIO_NET_HDR_GSO_NONE || len > maxFrame_) {
          std::memcpy(big_.data(), b + headroom_, std::min(len, maxFrame_));
          lane.cache.free(buf);
          intake_.start(big_.data(), len, vh, maxFrame_, c, rxNote_);   // false: counted and said
          continue;
        }
        flags = vnet::keep(b, vh, uint16_t(headroom_));
      }
      slots[n++] = Slot{buf, uint16_t(headroom_), uint16_t(len), 0, uint16_t(index_), flags};
    }
    return int(n);
  }

  void transmit(Lane& lane, const Slot* slots, uint32_t n) override {
    uint64_t* c = lane.counters.port(index_);
    Pool& pool = lane.cache.pool();
    uint64_t sent = 0, bytes = 0;
    uint32_t i = 0;
    vnet::virtio_net_hdr vh;
    uint8_t hdrs[vnet::Merger::kMaxHeaders];
    iovec iov[2 + vnet::Merger::kMaxRun];
    for (uint32_t k; i < n; i += k) {
      const Slot& s = slots[i];
      uint8_t* buf = pool.data(s.buf);
      k = vnet_ ? merger_.run(slots + i, n - i, pool) : 1;
      uint32_t cnt = 2;
      uint64_t len = s.len;
      if (k > 1) {  // consecutive TCP segments leave as one super-frame
        merger_.headers(vh, hdrs);
        iov[0] = {&vh, sizeof vh};
        iov[1] = {hdrs, merger_.headerBytes()};
        len = 0;
        for (uint32_t j = 0; j < k; j++) {
          iov[cnt++] = {const_cast<uint8_t*>(merger_.payload(j)), merger_.payloadLen(j)};
          len += slots[i + j].len;
        }
      } else {
        const bool whole = (s.flags & vnet::kSlotGso) != 0;  // a super-frame that crossed whole
        if (s.len < kMinFrame || (s.len > txMaxFrame_ && !whole) || uint32_t(s.off) + s.len > pool.capacity(s.buf)) {
          c[s.len > txMaxFrame_ && !whole ? tx_oversize : tx_errors]++;
          txNote_.set(std::to_string(s.len) + "-byte frame refused: " + ifname_ + " takes " + std::to_string(kMinFrame) + ".." +
                      std::to_string(txMaxFrame_) + " bytes");
          continue;
        }
        const bool ok = vnet_ ? vnet::headerFor(s, buf, vh) : vnet::finishChecksum(s, buf);
        if (!ok) {
          c[tx_errors]++;
          continue;
        }
        iov[0] = {&vh, sizeof vh};
        iov[1] = {buf + s.off, s.len};
      }
      const iovec* v = vnet_ ? iov : iov + 1;
      const int vn = int(vnet_ ? cnt : cnt - 1);
      ssize_t w = ::writev(fd_, v, vn);
      if (w < 0 && errno == EINTR) w = ::writev(fd_, v, vn);
      if (w < 0) {
        if (errno == EAGAIN || errno == ENOBUFS) break;  // the device takes no more now
        c[tx_errors] += k;
        txNote_.set("write to " + ifname_ + " failed: " + errnoText() + (errno == EIO ? " (is it down?)" : ""));
        continue;
      }
      sent += k;
      bytes += len;
    }
    c[tx_ring_full] += n - std::min(i, n);
    c[tx_packets] += sent;
    c[tx_bytes] += bytes;
    lane.cache.freeSlots(slots, n);
  }

  bool takesGso() const override { return vnet_; }

  int pollFd() const override { return fd_; }

  void close() override {
    if (fd_ < 0) return;
    // A device we made goes away with its last descriptor; one we found
    // down goes down again.
    ::close(fd_);
    fd_ = -1;
    if (raised_) setUp(false);
    if (armed_ != kNone) pool_.give(&armed_, 1);
    armed_ = kNone;
  }

  std::string describe() const override {
    std::string s = "tap " + ifname_ + " (" + (created_ ? "created, removed at exit" : "existing device");
    if (queues_ > 1) s += ", queue " + std::to_string(queue_) + "/" + std::to_string(queues_);
    if (vnet_) s += tso_ ? ", vnet header: checksum offload kept, TSO super-frames whole (split on receive when no large buffer is free)" : ", vnet header: checksum offload kept";
    s += tso_ ? "; one read()/write() per frame or super-frame: TAP has no batch interface)"
              : "; one read()/write() per frame: TAP has no batch interface)";
    rxNote_.append(s);
    txNote_.append(s);
    return s;
  }

 private:
  void attach() {
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, ifname_.c_str(), IFNAMSIZ - 1);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    if (vnet_) ifr.ifr_flags |= IFF_VNET_HDR;
    if (queues_ > 1) ifr.ifr_flags |= IFF_MULTI_QUEUE;
    if (ioctl(fd_, TUNSETIFF, &ifr) != 0) {
      const int e = errno;
      if (e == EPERM || e == EACCES)
        throw std::runtime_error(std::string("needs CAP_NET_ADMIN (run as root or grant it)") +
                                 (created_ ? "" : ", or the device belongs to another user"));
      if (e == EBUSY)
        throw std::runtime_error(ifname_ + " is already open in another process (a TAP without multi_queue has one reader)");
      if (e == EINVAL && !created_) {
        const std::string kind = deviceKind();
        if (kind != "tap")
          throw std::runtime_error(ifname_ + " exists and is not a TAP device" + (kind.empty() ? "" : " (it is " + kind + ")") +
                                   ": pick another name");
        throw std::runtime_error(ifname_ + " is a TAP device made " + (queues_ > 1 ? "without" : "with") +
                                 " multi_queue: recreate it (ip tuntap add mode tap " + (queues_ > 1 ? "multi_queue " : "") +
                                 ifname_ + ") or let vnfrun create it");
      }
      throw std::runtime_error("cannot open TAP " + ifname_ + ": " + std::strerror(e));
    }
    if (vnet_) {
      int sz = int(vnet::kHdrLen);
      if (ioctl(fd_, TUNSETVNETHDRSZ, &sz) != 0) throw std::runtime_error("TAP " + ifname_ + ": cannot set the vnet header size: " + errnoText());
    }
    // With vnet: checksum offload, and TSO, whose super-frames are split
    // into buffers here. Without: the kernel hands over finished frames.
    if (vnet_ && ioctl(fd_, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN) == 0) {
      tso_ = true;
      big_.resize(kMaxSuperFrame);
    } else if (ioctl(fd_, TUNSETOFFLOAD, vnet_ ? TUN_F_CSUM : 0) != 0) {
      throw std::runtime_error("TAP " + ifname_ + ": cannot set offloads: " + errnoText());
    }
  }

  // What an existing device is, by its driver: "tap", "tun", "veth", ...
  std::string deviceKind() const {
    const Iface ifc = Iface::inspect(ifname_);
    // tun's own driver serves both kinds; bus_info says which.
    if (ifc.driver == "tun") return ifc.bus;
    return ifc.driver.empty() ? "" : "a " + ifc.driver + " device";
  }

  // The MTU must fit a buffer; the device must be up to pass frames.
  void checkAndRaise() {
    // One byte of a read is kept back: a read that fills it was too long.
    txMaxFrame_ = Iface::inspect(ifname_).frameFor(maxFrame_ - 1);
    if (queue_ == 0) raised_ = setUp(true);
  }

  // Sets IFF_UP on or off; returns true when it changed it.
  bool setUp(bool up) {
    const int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return false;
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, ifname_.c_str(), IFNAMSIZ - 1);
    bool changed = false;
    if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && bool(ifr.ifr_flags & IFF_UP) != up) {
      ifr.ifr_flags = up ? short(ifr.ifr_flags | IFF_UP) : short(ifr.ifr_flags & ~IFF_UP);
      if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0) {
        const std::string why = errnoText();
        ::close(s);
        if (up) throw std::runtime_error("cannot bring " + ifname_ + " up: " + why);
        return false;
      }
      changed = true;
    }
    ::close(s);
    return changed && !created_;  // a device we made goes away by itself
  }

  std::string ifname_;
  uint32_t headroom_, maxFrame_ = 0, txMaxFrame_ = 0;
  uint32_t queue_ = 0, queues_ = 1;
  bool vnet_ = false, created_ = false, raised_ = false, tso_ = false;
  int fd_ = -1;
  Pool& pool_;
  // rx: a super-frame read whole (TSO), and how far splitting it has got.
  std::vector<uint8_t> big_;
  static constexpr uint32_t kNone = UINT32_MAX;
  uint32_t armed_ = kNone;   // a large buffer ready for the next super-frame
  vnet::Intake intake_;
  // tx: segments put back together.
  vnet::Merger merger_;
  vnet::Note rxNote_, txNote_;
};

}  // namespace

static std::unique_ptr<Port> openTapPort(const PortConfig& cfg, Engine& engine) {
  return std::make_unique<TapPort>(cfg, engine.pool());
}

// With the virtio-net header, super-frames arrive whole, in large buffers.
static PoolNeeds tapPool(const PortConfig& cfg) { return {.maxFrame = optionFlag(cfg.options, "vnet") ? 65535u : 0u}; }

static DriverRegistration registration({
    .name = "tap",
    .arg = "NAME",
    .argKeys = "ifname",
    .help = "a TAP device, created when absent (and removed at exit); the virtio-net header as for packet",
    .options = {
        {"ifname", "ifname", "", nullptr, "a TAP device name"},
        {"vnet", "flag", "", "1", "the virtio-net header: super-frames and checksum offload cross (novnet: off)"},
    },
    .open = openTapPort,
    .pool = tapPool,
    .host = {.caps = "NET_ADMIN", .device = "/dev/net/tun", .deviceFix = "modprobe tun (or mknod /dev/net/tun c 10 200)"},
    .usable = "TAP devices (created when absent)",
});

}  // namespace vnf
