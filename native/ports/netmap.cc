// netmap: a port of the netmap framework (https://github.com/luigirizzo/netmap)
// through /dev/netmap and the NIOCCTRL register request.
//
//   netmap:eth1       every hardware ring pair of eth1 (NR_REG_ALL_NIC)
//   netmap:eth1-2     ring pair 2 alone (NR_REG_ONE_NIC), unless eth1-2 is
//                     itself an interface
//   netmap:x{1        the master end of pipe 1 of x; x}1 is its slave end
//   vale0:p1          port p1 of the VALE switch vale0 (made on first open)
//   ring=1024|2048    ring size asked of ports netmap creates (pipes, VALE);
//                     an existing port whose rings differ is refused
//
// In hw distribution each core opens its own instance, bound to ring pair
// `queue` (NR_REG_ONE_NIC); a pipe or VALE port is then made with one ring
// pair per core, and an interface must have exactly that many.
//
// The engine's pool is its own mmap and netmap's buffers live in netmap's
// region, so frames are copied once each way: rx copies netmap slots into
// pool buffers at the headroom, tx copies pool buffers into tx slots. Ring
// indices move once per batch, and each call makes at most one sync ioctl
// (two when a tx ring fills mid-batch).
//
// Multi-slot frames (NS_MOREFRAG, from VALE, ptnetmap and some NICs) are
// gathered into one buffer, or counted under rx_malformed when they do not
// fit one; a frame longer than one netmap buffer goes out as several slots.
//
// A port with a virtio-net header (a ptnet interface in a VM, or a VALE port
// whose header length was set with NETMAP_REQ_PORT_HDR_SET) refuses a plain
// register (EIO); the driver then registers with NR_ACCEPT_VNET_HDR, reads
// the length (10 or 12) with NETMAP_REQ_PORT_HDR_GET and handles the header
// as the packet driver does (vnet.h): checksum offload kept across the
// engine, GSO super-frames split on receive, NEEDS_CSUM passed on transmit.
//
// Compiled against netmap's user API only where net/netmap_user.h is found
// (NETMAP_SRC or NETMAP_INCLUDE at build time, or the system include path).
// Without it the driver is still registered, and opening a port says how to
// build it in.
#if __has_include(<net/netmap_user.h>)
#define VNF_NETMAP 1
#endif

#include <stdexcept>
#include <string>

#include "../engine.h"
#include "../port.h"
#include "iface.h"

#ifdef VNF_NETMAP
#include <fcntl.h>
#include <net/if.h>
#include <net/netmap_user.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "vnet.h"
#endif

namespace vnf {

namespace {

#ifdef VNF_NETMAP

constexpr uint32_t kMaxFrags = NETMAP_MAX_FRAGS;
constexpr uint32_t kMaxGso = 65535;

// What the user wrote after `netmap:`. A trailing `-N` names ring pair N
// (as in netmap's own tools), unless the whole text is an interface's name:
// Linux names may hold dashes (veth-a, br-lan), and those stay whole.
struct Name {
  std::string port;      // nr_name: eth1, x{1, vale0:p1
  bool oneRing = false;  // -N given
  uint32_t ring = 0;
  bool pipe() const { return port.find_first_of("{}") != std::string::npos; }
  bool vale() const { return port.compare(0, 4, "vale") == 0 && port.find(':') != std::string::npos; }
  std::string kind() const {
    if (pipe()) return port.find('{') != std::string::npos ? "pipe master" : "pipe slave";
    if (vale()) return "VALE port";
    return "interface";
  }
};

Name parseName(const std::string& text) {
  Name n;
  n.port = text;
  const size_t dash = text.rfind('-');
  if (dash != std::string::npos && dash > 0 && if_nametoindex(text.c_str()) == 0) {
    const std::string r = text.substr(dash + 1);
    if (!r.empty() && r.size() <= 4 && r.find_first_not_of("0123456789") == std::string::npos) {
      n.port = text.substr(0, dash);
      n.oneRing = true;
      n.ring = uint32_t(std::stoul(r));
    }
  }
  if (n.port.empty() || n.port.size() >= NETMAP_REQ_IFNAMSIZ)
    throw std::runtime_error("'" + text + "' is not a netmap port name");
  return n;
}

// Copy `len` bytes of the frame whose first slot is `first`, from byte
// `from` of the frame on, into dst.
void gather(netmap_ring* r, uint32_t first, uint32_t from, uint8_t* dst, uint32_t len) {
  for (uint32_t i = first; len; i = nm_ring_next(r, i)) {
    const netmap_slot& s = r->slot[i];
    if (from >= s.len) {
      from -= s.len;
      continue;
    }
    const uint32_t k = s.len - from < len ? s.len - from : len;
    std::memcpy(dst, NETMAP_BUF(r, s.buf_idx) + from, k);
    dst += k;
    len -= k;
    from = 0;
  }
}

class NetmapPort : public Port {
 public:
  NetmapPort(const PortConfig& cfg, Pool& pool) : Port(cfg), headroom_(cfg.headroom) {
    const std::string text = optionStr(cfg.options, "name");
    if (text.empty()) throw std::runtime_error("needs a port name (netmap:IFNAME)");
    nm_ = parseName(text);
    spec_ = text;
    const std::string ring = optionStr(cfg.options, "ring", "0");   // 0: the sizes netmap gives
    wantSlots_ = uint32_t(std::stoul(ring));
    queue_ = cfg.queue;
    queues_ = cfg.queues;
    if (nm_.oneRing && queues_ > 1)
      throw std::runtime_error(spec_ + " is one ring, which cannot serve the " + std::to_string(queues_) +
                               " cores of hw distribution: give the whole port (netmap:" + nm_.port + ") or use --dist sw1");
    const uint32_t room = pool.bufSize() > headroom_ ? pool.bufSize() - headroom_ : 0;
    maxFrame_ = room < 0xffff ? room : 0xffff;
    bufSize_ = pool.bufSize();

    fd_ = ::open("/dev/netmap", O_RDWR | O_CLOEXEC);
    if (fd_ < 0) {
      const int e = errno;
      if (e == ENOENT || e == ENODEV || e == ENXIO)
        throw std::runtime_error("no /dev/netmap: load the netmap kernel module (insmod netmap.ko)");
      if (e == EACCES || e == EPERM)
        throw std::runtime_error("no permission to open /dev/netmap: run as root (or give your user access to /dev/netmap)");
      throw std::runtime_error("cannot open /dev/netmap: " + errnoText(e));
    }
    try {
      attach();
    } catch (...) {
      release();
      throw;
    }
  }
  ~NetmapPort() override { release(); }

  int receive(Lane& lane, Slot* out, uint32_t max) override {
    uint64_t* c = lane.counters.port(index_);
    Pool& pool = lane.cache.pool();
    // One sync per call, and only when what is already here cannot fill the
    // batch: it hands back the slots read last time and fetches new ones.
    if (rxReady() < max) ioctl(fd_, NIOCRXSYNC, nullptr);
    uint32_t n = 0;
    const uint32_t rings = uint32_t(rx_.size());
    for (uint32_t k = 0; k < rings && n < max; k++) {
      netmap_ring* r = rx_[(rxNext_ + k) % rings];
      uint32_t head = r->head;
      while (n < max && head != r->tail) {
        uint32_t next;
        const int got = take(lane, pool, c, r, head, next, out + n, max - n, n == 0);
        if (got < 0) break;  // the rest of the frame, or room for it, comes later
        n += uint32_t(got);
        if (!intake_.splitting()) head = next;
      }
      r->head = r->cur = head;
    }
    rxNext_ = rings ? (rxNext_ + 1) % rings : 0;
    return int(n);
  }

  void transmit(Lane& lane, const Slot* slots, uint32_t n) override {
    uint64_t* c = lane.counters.port(index_);
    Pool& pool = lane.cache.pool();
    uint32_t i = 0, sent = 0;
    uint64_t bytes = 0;
    bool synced = false;
    for (; i < n; i++) {
      const Slot& s = slots[i];
      uint8_t* buf = pool.data(s.buf);
      if (s.len < kMinFrame || uint32_t(s.off) + s.len > bufSize_) {
        c[tx_errors]++;
        txNote_.set(std::to_string(s.len) + "-byte frame at offset " + std::to_string(s.off) + " refused: not a frame inside its buffer");
        continue;
      }
      vnet::virtio_net_hdr vh{};
      if (hdrLen_) {
        if (!vnet::headerFor(s, buf, vh)) { c[tx_errors]++; continue; }
      } else if (!vnet::finishChecksum(s, buf)) {
        c[tx_errors]++;
        continue;
      }
      const uint32_t total = hdrLen_ + s.len;
      const uint32_t need = (total + txBufSize_ - 1) / txBufSize_;
      if (need > kMaxFrags) {
        c[tx_errors]++;
        txNote_.set(std::to_string(s.len) + "-byte frame refused: more than " + std::to_string(kMaxFrags) + " netmap buffers");
        continue;
      }
      netmap_ring* r = txRoom(need);
      if (!r && !synced) {
        ioctl(fd_, NIOCTXSYNC, nullptr);  // reclaim what the device has sent
        synced = true;
        r = txRoom(need);
      }
      if (!r) break;
      put(r, buf + s.off, s.len, vh);
      sent++;
      bytes += s.len;
    }
    c[tx_ring_full] += n - i;
    lane.cache.freeSlots(slots, n);
    if (sent) ioctl(fd_, NIOCTXSYNC, nullptr);
    c[tx_packets] += sent;
    c[tx_bytes] += bytes;
  }

  int pollFd() const override { return fd_; }

  void close() override {
    if (fd_ < 0) return;
    // Give the device a moment to send what is still queued.
    for (int tries = 0; tries < 100 && txPending(); tries++) {
      ioctl(fd_, NIOCTXSYNC, nullptr);
      if (txPending()) usleep(1000);
    }
    release();
  }

  std::string describe() const override {
    std::string s = "netmap " + spec_ + " (" + nm_.kind();
    if (nm_.oneRing || queues_ > 1) s += ", ring pair " + std::to_string(ringLo_) + " of " + std::to_string(portRings_);
    else s += ", " + std::to_string(rxRings_) + " rx / " + std::to_string(txRings_) + " tx rings";
    s += ", " + std::to_string(slots_) + " slots per ring, " + std::to_string(txBufSize_) + "-byte buffers";
    if (hdrLen_) s += ", " + std::to_string(hdrLen_) + "-byte virtio-net header: checksum offload kept, GSO split on receive";
    s += ", frames copied to and from the pool)";
    rxNote_.append(s);
    txNote_.append(s);
    return s;
  }

 private:
  void attach() {
    nmreq_header hdr;
    nmreq_register reg;
    int e = doRegister(hdr, reg, 0);
    if (e == EIO) {
      // The port carries a virtio-net header: say we take it, and ask its length.
      e = doRegister(hdr, reg, NR_ACCEPT_VNET_HDR);
      if (e == 0) hdrLen_ = headerLength();
    }
    if (e) throw std::runtime_error(registerError(e, hdr));

    mapLen_ = size_t(reg.nr_memsize);
    void* p = mmap(nullptr, mapLen_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
    if (p == MAP_FAILED) {
      mapLen_ = 0;
      throw std::runtime_error("cannot map netmap's memory for " + spec_ + ": " + errnoText(errno));
    }
    mem_ = p;
    netmap_if* nifp = NETMAP_IF(mem_, reg.nr_offset);
    portRings_ = reg.nr_rx_rings;
    const bool one = nm_.oneRing || queues_ > 1;
    ringLo_ = one ? (nm_.oneRing ? nm_.ring : queue_) : 0;
    const uint32_t rxHi = one ? ringLo_ + 1 : nifp->ni_rx_rings;
    const uint32_t txHi = one ? ringLo_ + 1 : nifp->ni_tx_rings;
    for (uint32_t r = ringLo_; r < rxHi; r++) rx_.push_back(NETMAP_RXRING(nifp, r));
    for (uint32_t r = ringLo_; r < txHi; r++) tx_.push_back(NETMAP_TXRING(nifp, r));
    if (rx_.empty() || tx_.empty())
      throw std::runtime_error(spec_ + " has no ring pair to bind");
    slots_ = rx_[0]->num_slots;
    rxRings_ = uint32_t(rx_.size());  // kept for describe(), which runs after close() clears rx_/tx_
    txRings_ = uint32_t(tx_.size());
    txBufSize_ = tx_[0]->nr_buf_size;

    if (queues_ > 1 && (reg.nr_rx_rings != queues_ || reg.nr_tx_rings != queues_))
      throw std::runtime_error(nm_.port + " has " + std::to_string(reg.nr_rx_rings) + " rx and " +
                               std::to_string(reg.nr_tx_rings) + " tx rings, but hw distribution runs " + std::to_string(queues_) +
                               " cores and needs one ring pair each" +
                               (nm_.pipe() || nm_.vale() ? " (it was made elsewhere with another count)"
                                                           : ": set them with ethtool -L " + nm_.port + " combined " + std::to_string(queues_)));
    if (wantSlots_ && (reg.nr_rx_slots != wantSlots_ || reg.nr_tx_slots != wantSlots_))
      throw std::runtime_error(nm_.port + " has rings of " + std::to_string(reg.nr_rx_slots) +
                               " rx / " + std::to_string(reg.nr_tx_slots) + " tx slots, not the " + std::to_string(wantSlots_) +
                               " asked with ring=" +
                               (nm_.pipe() || nm_.vale() ? std::string(" (it already existed: ring= applies where this run makes the port)")
                                                           : ": set them with ethtool -G " + nm_.port + " rx " + std::to_string(wantSlots_) +
                                                                 " tx " + std::to_string(wantSlots_)));
    if (hdrLen_) scratch_.resize(kMaxGso + hdrLen_);
  }

  // One register request; returns 0 or the errno.
  int doRegister(nmreq_header& hdr, nmreq_register& reg, uint64_t flags) {
    std::memset(&hdr, 0, sizeof hdr);
    std::memset(&reg, 0, sizeof reg);
    hdr.nr_version = NETMAP_API;
    hdr.nr_reqtype = NETMAP_REQ_REGISTER;
    std::strncpy(hdr.nr_name, nm_.port.c_str(), sizeof hdr.nr_name - 1);
    hdr.nr_body = uintptr_t(&reg);
    const bool one = nm_.oneRing || queues_ > 1;
    reg.nr_mode = one ? NR_REG_ONE_NIC : NR_REG_ALL_NIC;
    reg.nr_ringid = uint16_t(nm_.oneRing ? nm_.ring : queue_);
    // Only ports netmap makes here (pipes, VALE) take these.
    if (queues_ > 1) reg.nr_tx_rings = reg.nr_rx_rings = uint16_t(queues_);
    reg.nr_tx_slots = reg.nr_rx_slots = wantSlots_;
    // poll() for rx (from the receiving lane) must not sync the tx rings
    // that another thread fills in sw2.
    reg.nr_flags = NR_NO_TX_POLL | flags;
    return ioctl(fd_, NIOCCTRL, &hdr) == 0 ? 0 : errno;
  }

  uint32_t headerLength() {
    nmreq_header hdr;
    nmreq_port_hdr ph;
    std::memset(&hdr, 0, sizeof hdr);
    std::memset(&ph, 0, sizeof ph);
    hdr.nr_version = NETMAP_API;
    hdr.nr_reqtype = NETMAP_REQ_PORT_HDR_GET;
    std::strncpy(hdr.nr_name, nm_.port.c_str(), sizeof hdr.nr_name - 1);
    hdr.nr_body = uintptr_t(&ph);
    if (ioctl(fd_, NIOCCTRL, &hdr) != 0)
      throw std::runtime_error(spec_ + " has a virtio-net header but its length cannot be read: " + errnoText(errno));
    if (ph.nr_hdr_len != 10 && ph.nr_hdr_len != 12)
      throw std::runtime_error(spec_ + " has a " + std::to_string(ph.nr_hdr_len) +
                               "-byte port header; only virtio-net headers (10 or 12 bytes) are understood");
    if (headroom_ < sizeof(vnet::Meta))
      throw std::runtime_error(spec_ + " has a virtio-net header, which needs a headroom of at least 12 bytes");
    return ph.nr_hdr_len;
  }

  std::string registerError(int e, const nmreq_header& hdr) const {
    const std::string head = "cannot open " + spec_ + ": ";
    if (hdr.nr_version != NETMAP_API)
      return head + "the netmap module speaks API " + std::to_string(hdr.nr_version) + " but vnfrun was built against API " +
             std::to_string(NETMAP_API) + ": rebuild vnfrun against the netmap source the module came from";
    switch (e) {
      case ENXIO:
      case ENODEV:
        return head + "no interface " + nm_.port + " in this network namespace";
      case EBUSY:
        return head + "it is busy (held exclusively by another netmap client, or by the kernel)";
      case EINVAL:
        if (nm_.oneRing || queues_ > 1)
          return head + "no ring pair " + std::to_string(nm_.oneRing ? nm_.ring : queue_) + " there (netmap refused the ring number)";
        return head + mtuHint();
      case EPERM:
      case EACCES:
        return head + "permission denied: run as root";
      case EOPNOTSUPP:
        return head + "this netmap module lacks support for it (built without VALE or pipes?)";
      case ENOMEM:
        return head + "netmap is out of memory (lower ring= or the module's buffer counts)";
      default:
        return head + errnoText(e);
    }
  }

  // netmap refuses an interface whose MTU overflows its buffers unless the
  // driver takes multi-slot frames; say so when that is the likely cause.
  std::string mtuHint() const {
    const std::string generic = "netmap refused the request (invalid argument; the kernel log says why)";
    if (nm_.pipe() || nm_.vale()) return generic;
    const int mtu = Iface::inspect(nm_.port).mtu;
    uint32_t bufSize = 2048;
    if (FILE* f = std::fopen("/sys/module/netmap/parameters/buf_size", "r")) {
      if (std::fscanf(f, "%u", &bufSize) != 1) bufSize = 2048;
      std::fclose(f);
    }
    if (!mtu || uint32_t(mtu) + kEthHeader <= bufSize) return generic;
    return "MTU " + std::to_string(mtu) + " of " + nm_.port + " is larger than netmap's " + std::to_string(bufSize) +
           "-byte buffers and its driver cannot split frames over several: lower it with ip link set " + nm_.port + " mtu 1500";
  }

  void release() {
    if (mapLen_) munmap(mem_, mapLen_);
    mapLen_ = 0;
    mem_ = nullptr;
    rx_.clear();
    tx_.clear();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  uint32_t rxReady() const {
    uint32_t n = 0;
    for (netmap_ring* r : rx_) n += nm_ring_space(r);
    return n;
  }

  bool txPending() const {
    for (netmap_ring* r : tx_)
      if (nm_tx_pending(r)) return true;
    return false;
  }

  // A tx ring with `need` free slots, or nullptr; fills one ring before the next.
  netmap_ring* txRoom(uint32_t need) {
    const uint32_t rings = uint32_t(tx_.size());
    for (uint32_t k = 0; k < rings; k++) {
      netmap_ring* r = tx_[txNext_];
      if (nm_ring_space(r) >= need) return r;
      txNext_ = txNext_ + 1 == rings ? 0 : txNext_ + 1;
    }
    return nullptr;
  }

  // Copy one frame (after its header, when the port has one) into slots at
  // the ring's head, and publish them.
  void put(netmap_ring* r, const uint8_t* frame, uint32_t len, const vnet::virtio_net_hdr& vh) {
    uint32_t i = r->head, left = hdrLen_ + len, pos = 0;
    for (;;) {
      netmap_slot& s = r->slot[i];
      uint8_t* dst = reinterpret_cast<uint8_t*>(NETMAP_BUF(r, s.buf_idx));
      const uint32_t k = left < txBufSize_ ? left : txBufSize_;
      uint32_t d = 0;
      if (pos == 0 && hdrLen_) {
        std::memcpy(dst, &vh, sizeof vh);
        if (hdrLen_ > sizeof vh) std::memset(dst + sizeof vh, 0, hdrLen_ - sizeof vh);  // num_buffers
        d = hdrLen_;
      }
      std::memcpy(dst + d, frame + pos, k - d);
      pos += k - d;
      left -= k;
      s.len = uint16_t(k);
      s.flags = left ? NS_MOREFRAG : 0;
      i = nm_ring_next(r, i);
      if (!left) break;
    }
    r->head = r->cur = i;
  }

  // Take the frame at slot `at` of rx ring r: returns the slots written (0
  // when it was dropped, with `next` past it), or -1 when it waits for the
  // next call. A GSO frame goes out over several calls when it must;
  // intake_ says where it stopped.
  int take(Lane& lane, Pool& pool, uint64_t* c, netmap_ring* r, uint32_t at, uint32_t& next, Slot* out, uint32_t room, bool batchEmpty) {
    // Find the frame's slots.
    uint32_t i = at, frags = 0, total = 0;
    bool bad = false;
    for (;;) {
      const netmap_slot& s = r->slot[i];
      frags++;
      total += s.len;
      if (s.len > r->nr_buf_size) bad = true;
      if (!(s.flags & NS_MOREFRAG)) break;
      i = nm_ring_next(r, i);
      if (i == r->tail) {
        if (frags < kMaxFrags && frags + 1 < r->num_slots) return -1;  // the rest has not arrived
        c[rx_malformed]++;
        rxNote_.set("a frame of more than " + std::to_string(frags) + " slots dropped");
        next = i;
        return 0;
      }
    }
    next = nm_ring_next(r, i);
    if (bad || total < hdrLen_ + kMinFrame) {
      c[rx_malformed]++;
      rxNote_.set(bad ? std::string("a slot longer than its netmap buffer dropped") : std::to_string(total - hdrLen_) + "-byte runt dropped");
      return 0;
    }
    const uint32_t len = total - hdrLen_;
    vnet::virtio_net_hdr vh{};
    if (hdrLen_) gather(r, at, 0, reinterpret_cast<uint8_t*>(&vh), sizeof vh);

    if (hdrLen_ && vh.gso_type != vnet::VIRTIO_NET_HDR_GSO_NONE) {
      if (!intake_.splitting()) {
        if (len > kMaxGso) {
          c[rx_malformed]++;
          rxNote_.set(std::to_string(len) + "-byte GSO frame dropped: longer than 64 KiB");
          return 0;
        }
        gather(r, at, hdrLen_, scratch_.data(), len);
        if (!intake_.start(scratch_.data(), len, vh, maxFrame_, c, rxNote_)) return 0;
        if (room < intake_.count() && !batchEmpty) return -1;
      }
      return int(intake_.resume(lane.cache, out, room, uint16_t(headroom_), uint16_t(index_), c));
    }
    if (len > maxFrame_) {
      c[rx_malformed]++;
      rxNote_.set(std::to_string(len) + "-byte frame dropped: buffers hold " + std::to_string(maxFrame_) + " bytes after headroom");
      return 0;
    }
    uint32_t buf;
    if (!lane.cache.alloc(buf)) {
      c[rx_no_buffer]++;
      return 0;
    }
    uint8_t* b = pool.data(buf);
    if (frags == 1) std::memcpy(b + headroom_, NETMAP_BUF(r, r->slot[at].buf_idx) + hdrLen_, len);
    else gather(r, at, hdrLen_, b + headroom_, len);
    const uint16_t flags = hdrLen_ ? vnet::keep(b, vh, uint16_t(headroom_)) : 0;
    out[0] = Slot{buf, uint16_t(headroom_), uint16_t(len), 0, uint16_t(index_), flags};
    return 1;
  }

  Name nm_;
  std::string spec_;
  uint32_t headroom_, maxFrame_ = 0, bufSize_ = 0;
  uint32_t wantSlots_ = 0, queue_ = 0, queues_ = 1;
  int fd_ = -1;
  void* mem_ = nullptr;
  size_t mapLen_ = 0;
  uint32_t portRings_ = 0, ringLo_ = 0, slots_ = 0, txBufSize_ = 2048, hdrLen_ = 0;
  uint32_t rxRings_ = 0, txRings_ = 0;
  std::vector<netmap_ring*> rx_, tx_;

  // rx state: the receiving lane's alone.
  uint32_t rxNext_ = 0;
  vnet::Intake intake_;
  std::vector<uint8_t> scratch_;  // a GSO frame made contiguous
  vnet::Note rxNote_;

  // tx state: the transmitting lane's alone (another thread in sw2).
  uint32_t txNext_ = 0;
  vnet::Note txNote_;
};

#endif  // VNF_NETMAP

}  // namespace

static std::unique_ptr<Port> openNetmapPort(const PortConfig& cfg, Engine& engine) {
#ifdef VNF_NETMAP
  return std::make_unique<NetmapPort>(cfg, engine.pool());
#else
  throw std::runtime_error(
      "netmap support was not built: install netmap (https://github.com/luigirizzo/netmap) and rebuild with "
      "NETMAP_SRC=/path/to/netmap npm run build");
#endif
}

#ifdef VNF_NETMAP
static constexpr bool kBuilt = true;
#else
static constexpr bool kBuilt = false;
#endif

static DriverRegistration registration({
    .name = "netmap",
    .arg = "IFNAME[-RING] | NAME{N | NAME}N",
    .argKeys = "name",
    .help = "netmap ports, where netmap is installed: a NIC, one ring, pipes; valeX:PORT for VALE switch ports",
    .options = {
        {"name", "text", "^[A-Za-z0-9_.:{}-]{1,64}$", nullptr, "a netmap port name"},
        {"ring", "choice", "1024|2048", nullptr, "slots per ring of the ports vnfrun creates (pipes, VALE)"},
    },
    .open = openNetmapPort,
    .host = {.caps = "NET_ADMIN", .device = "/dev/netmap", .deviceFix = "build and load netmap (github.com/luigirizzo/netmap: ./configure && make && insmod netmap.ko)",
             .built = kBuilt, .builtFix = "rebuild vnfrun with netmap's headers: NETMAP_SRC=/path/to/netmap npm run build"},
    .usable = "netmap ports",
});

}  // namespace vnf
