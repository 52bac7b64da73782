// gen: synthetic traffic. Frames are copied from per-(kind, size) templates
// and the flow's addresses and ports are patched in with incremental
// checksum updates, so every frame is valid and the cost is one small copy.
//
// Addresses come from the benchmarking ranges (198.18.0.0/15, 2001:2::/48).
// `size` counts the 4-byte FCS as RFC 2544 does: size=64 gives 60-byte frames.
//
// Sessions, for stateful VNFs: `life=K` (or `churn=R` new flows a second at
// `rate`) replaces each flow by a new one after K frames, and `handshake=1`
// makes every flow a TCP connection: SYN, data, FIN, ACK from this side, or
// with `reply=1` the other side's SYN-ACK, ACKs, FIN-ACK with addresses and
// ports swapped. Two gen ports with the same options, one of them `reply=1`,
// polled by one core, send both directions in step: the frames go out in
// rounds (one per flow slot), and in each round a slot's reply follows its
// request (the request port is polled first). Flow slot j's flow in round r
// is j + N * floor((r + j) / K) (the slots change flows in a staggered way,
// so new flows arrive at an even rate), at phase (r + j) % K.
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "../checksum.h"
#include "../core.h"
#include "../engine.h"
#include "../port.h"

namespace vnf {
namespace {

enum Kind { kV4Udp, kV4Tcp, kV6Udp, kV6Tcp, kKinds };
constexpr uint32_t kSrc4 = 0xC6120000;  // 198.18.0.0
constexpr uint32_t kDst4 = 0xC6130001;  // 198.19.0.1

struct Template {
  uint32_t len, l4;   // frame length, L4 header offset
  uint16_t ipSum, l4Sum;
};

class GenPort : public Port {
 public:
  GenPort(const PortConfig& cfg, Pool& pool, const Rss& rss) : Port(cfg), headroom_(cfg.headroom) {
    const PortOptions& o = cfg.options;
    flows_ = uint32_t(optionU64(o, "flows"));
    count_ = optionU64(o, "count");
    // In hw mode each core's instance sends its share.
    if (count_ && cfg.queues > 1) count_ = count_ / cfg.queues + (cfg.queue < count_ % cfg.queues ? 1 : 0);
    rate_ = optionF64(o, "rate");
    handshake_ = optionFlag(o, "handshake");
    reply_ = optionFlag(o, "reply");
    life_ = uint32_t(optionU64(o, "life", 0));
    const double churn = double(optionU64(o, "churn", 0));
    if (churn > 0 && o.count("life")) throw std::runtime_error("give churn=R or life=K, not both");
    if (churn > 0) {
      if (rate_ <= 0) throw std::runtime_error("churn=R (new flows a second) needs rate=PPS to pace it, or give life=K frames per flow");
      life_ = uint32_t(std::max(4.0, rate_ / churn + 0.5));
    }
    if (handshake_ && life_ != 0 && life_ < 4) throw std::runtime_error("a handshake flow's life is at least 4 frames (SYN, ACK, FIN, ACK)");
    if (life_ && cfg.queues > 1) throw std::runtime_error("life/churn replaces flows as it goes, which one queue per core (hw) cannot split; use --dist sw1");
    const double v6 = optionF64(o, "ipv6"), tcp = handshake_ ? 1 : optionF64(o, "tcp");
    if (flows_ == 0) throw std::runtime_error("flows must be at least 1");
    v6Permille_ = uint32_t(v6 * 1000 + 0.5);
    tcpPermille_ = uint32_t(tcp * 1000 + 0.5);
    parseDports(optionStr(o, "dport"));
    for (const std::string& s : split(optionStr(o, "size"), '/')) sizes_.push_back(uint32_t(std::stoul(s)));
    if (sizes_.empty() || sizes_.size() > 64) throw std::runtime_error("give 1 to 64 sizes");
    // Frames longer than a small buffer (jumbo) go into large buffers.
    small_ = pool.bufSize() - headroom_;  // >= 64, so a fixed 64-byte copy always fits
    const uint32_t largest = std::min(pool.hasLarge() ? pool.largeCapacity() - headroom_ : small_, 0xffffu);
    stride_ = small_;
    for (uint32_t size : sizes_) {
      if (size < 64 || size - 4 > largest)
        throw std::runtime_error("size " + std::to_string(size) + " must be 64.." + std::to_string(largest + 4) +
                                 (pool.hasLarge() ? "" : " (larger sizes need large buffers: drop --large-buffers 0)"));
      stride_ = std::max(stride_, size - 4);
    }
    if (sessions() && (sizes_.size() != 1 || sizes_[0] - 4 > small_))
      throw std::runtime_error("life/churn/handshake/reply take one size of at most " + std::to_string(small_ + 4));
    mixed_ = (v6Permille_ % 1000) != 0 || (tcpPermille_ % 1000) != 0;
    kind0_ = (v6Permille_ >= 1000 ? 2 : 0) + (tcpPermille_ >= 1000 ? 1 : 0);
    buildTemplates();
    pickFlows(rss, cfg.queue, cfg.queues);
    prebuildFrames();
  }

  int receive(Lane& lane, Slot* slots, uint32_t max) override {
    if ((count_ && sent_ >= count_) || mine_.empty()) return kExhausted;
    if (count_ && count_ - sent_ < max) max = uint32_t(count_ - sent_);
    if (rate_ > 0) max = std::min<uint32_t>(max, allowance());
    uint64_t* c = lane.counters.port(index_);
    uint32_t bufs[1024];
    if (max > 1024) max = 1024;
    uint32_t n = lane.cache.allocBulk(bufs, max);
    c[rx_no_buffer] += max - n;
    Pool& pool = lane.cache.pool();
    if (sessions()) {
      for (uint32_t i = 0; i < n; i++) {
        // Small frames only (validated above), so a small buffer holds it.
        const uint32_t f = sessionFlow();
        const uint32_t len = fill(pool.data(bufs[i]) + headroom_, f, 0, flagsNow());
        slots[i] = Slot{bufs[i], uint16_t(headroom_), uint16_t(len), 0, 0, 0};
        if (++at_ == mine_.size()) { at_ = 0; round_++; }
      }
    } else if (!frames_.empty()) {
      // Every flow's frame is ready-made: one fixed-size copy per frame.
      const uint32_t len = frameLen_, headroom = headroom_, flows = uint32_t(mine_.size());
      const uint8_t* frames = frames_.data();
      // Locals: byte stores may alias any member, which would force reloads.
      uint8_t* const base = pool.base() + headroom;
      const size_t stride = pool.stride();
      uint32_t at = at_;
      for (uint32_t i = 0; i < n; i++) {
        memcpy(base + bufs[i] * stride, frames + size_t(at) * kFrameStride, kFrameStride);
        slots[i] = Slot{bufs[i], uint16_t(headroom), uint16_t(len), 0, 0, 0};
        if (++at == flows) at = 0;
      }
      at_ = at;
    } else {
      for (uint32_t i = 0; i < n; i++) {
        uint32_t buf = bufs[i];
        if (lenOf(mine_[at_], sizeAt_) > small_) {
          if (!lane.cache.allocLarge(buf)) {  // the rest wait for the next call
            lane.cache.freeBufs(bufs + i, n - i);
            c[rx_no_buffer] += n - i;
            n = i;
            break;
          }
          lane.cache.free(bufs[i]);
        }
        const uint32_t len = fill(pool.data(buf) + headroom_, mine_[at_], sizeAt_);
        slots[i] = Slot{buf, uint16_t(headroom_), uint16_t(len), 0, 0, 0};
        if (++at_ == mine_.size()) at_ = 0;
        if (++sizeAt_ == sizes_.size()) sizeAt_ = 0;
      }
    }
    sent_ += n;
    tokens_ -= n;
    return int(n);
  }

  void transmit(Lane& lane, const Slot* slots, uint32_t n) override {
    dropAll(lane, slots, n, lane.counters.port(index_)[tx_no_output]);
  }

  bool canWait() const override { return true; }
  bool canEnd() const override { return true; }
  bool takesGso() const override { return true; }  // it drops what it is sent

  std::string describe() const override {
    std::ostringstream s;
    s << "gen " << flows_ << " flows";
    if (mine_.size() != flows_) s << " (" << mine_.size() << " on this queue)";
    s << ", size";
    for (uint32_t z : sizes_) s << ' ' << z;
    s << ", " << v6Permille_ / 10.0 << "% IPv6, " << tcpPermille_ / 10.0 << "% TCP";
    if (rate_ > 0) s << ", " << rate_ << " pps";
    if (count_) s << ", " << count_ << " frames";
    if (handshake_) s << ", TCP handshakes";
    if (life_) s << ", a new flow every " << life_ << " frames per slot";
    if (reply_) s << ", reply side";
    return s.str();
  }

 private:
  static std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    for (std::string part; std::getline(ss, part, sep);) out.push_back(part);
    return out;
  }

  void parseDports(const std::string& spec) {
    const auto dash = spec.find('-');
    dportLo_ = uint32_t(std::stoul(spec.substr(0, dash)));
    const uint32_t hi = dash == std::string::npos ? dportLo_ : uint32_t(std::stoul(spec.substr(dash + 1)));
    if (hi < dportLo_ || hi > 65535) throw std::runtime_error("dport must be N or LO-HI within 0-65535");
    dportSpan_ = hi - dportLo_ + 1;
  }

  // Kind of flow f: a fixed, well-spread choice so each flow keeps one protocol.
  Kind kindOf(uint32_t f) const {
    if (!mixed_) return Kind(kind0_);
    const bool v6 = (f * 2654435761u >> 7) % 1000 < v6Permille_;
    const bool tcp = (f * 2246822519u >> 9) % 1000 < tcpPermille_;
    return Kind((v6 ? 2 : 0) + (tcp ? 1 : 0));
  }

  void buildTemplates() {
    const uint32_t sizes = uint32_t(sizes_.size());
    tpl_.resize(kKinds * sizes);
    bytes_.assign(size_t(kKinds) * sizes * stride_, 0);
    for (uint32_t k = 0; k < kKinds; k++)
      for (uint32_t s = 0; s < sizes; s++) build(Kind(k), sizes_[s] - 4, tpl_[k * sizes + s], &bytes_[(k * sizes + s) * size_t(stride_)]);
  }

  // The flows this instance sends: all of them, or in hw mode those whose
  // RSS hash picks this queue, as a NIC would have spread them.
  void pickFlows(const Rss& rss, uint32_t queue, uint32_t queues) {
    std::vector<uint8_t> frame(stride_);
    for (uint32_t f = 0; f < flows_; f++) {
      uint32_t hash = 0;
      if (queues == 1 || rss.queueOf(frame.data(), fill(frame.data(), f, 0), hash) == queue) mine_.push_back(f);
    }
  }

  // With one size of at most 64 bytes and not too many flows, render every
  // flow's frame once; the hot path is then a copy and nothing else.
  static constexpr uint32_t kFrameStride = 64;
  static constexpr uint32_t kMaxPrebuiltFlows = 65536;
  void prebuildFrames() {
    if (sessions() || sizes_.size() != 1 || mine_.empty() || mine_.size() > kMaxPrebuiltFlows) return;
    frameLen_ = tpl_[kindOf(mine_[0])].len;
    for (uint32_t f : mine_)   // one length for all, as the copy loop assumes
      if (tpl_[kindOf(f)].len != frameLen_ || frameLen_ > kFrameStride) return;
    frames_.assign(mine_.size() * kFrameStride, 0);
    for (size_t i = 0; i < mine_.size(); i++) fill(&frames_[i * kFrameStride], mine_[i], 0);
  }

  // One frame with flow-varying fields at zero; checksums computed in full.
  static void build(Kind k, uint32_t want, Template& t, uint8_t* d) {
    const bool v6 = k >= kV6Udp, tcp = k == kV4Tcp || k == kV6Tcp;
    const uint32_t l3 = 14, l4 = l3 + (v6 ? 40 : 20), l4len = tcp ? 20 : 8;
    t.len = std::max(want, l4 + l4len);
    t.l4 = l4;
    const uint8_t dmac[6] = {2, 0, 0, 0, 0, 2}, smac[6] = {2, 0, 0, 0, 0, 1};
    memcpy(d, dmac, 6);
    memcpy(d + 6, smac, 6);
    put16(d + 12, v6 ? 0x86DD : 0x0800);
    const uint8_t proto = tcp ? 6 : 17;
    const uint32_t l4total = t.len - l4;
    uint32_t pseudo;
    if (!v6) {
      uint8_t* ip = d + l3;
      ip[0] = 0x45;
      put16(ip + 2, uint16_t(t.len - l3));
      put16(ip + 6, 0x4000);
      ip[8] = 64;
      ip[9] = proto;
      put32(ip + 12, kSrc4);
      put32(ip + 16, kDst4);
      t.ipSum = csumFold(csumPartial(ip, 20));
      put16(ip + 10, t.ipSum);
      pseudo = csumPartial(ip + 12, 8);
    } else {
      uint8_t* ip = d + l3;
      ip[0] = 0x60;
      put16(ip + 4, uint16_t(l4total));
      ip[6] = proto;
      ip[7] = 64;
      const uint8_t src[16] = {0x20, 0x01, 0, 2}, dst[16] = {0x20, 0x01, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
      memcpy(ip + 8, src, 16);
      memcpy(ip + 24, dst, 16);
      t.ipSum = 0;
      pseudo = csumPartial(ip + 8, 32);
    }
    uint8_t* h = d + l4;
    if (tcp) {
      put32(h + 4, 1);
      put32(h + 8, 1);
      h[12] = 5 << 4;
      h[13] = 0x18;  // PSH|ACK
      put16(h + 14, 0xffff);
    } else {
      put16(h + 4, uint16_t(l4total));
    }
    pseudo += proto + l4total;
    t.l4Sum = csumFold(csumPartial(h, l4total, pseudo));
    put16(h + (tcp ? 16 : 6), t.l4Sum);
  }

  uint32_t lenOf(uint32_t f, uint32_t sizeIdx) const { return tpl_[kindOf(f) * uint32_t(sizes_.size()) + sizeIdx].len; }

  bool sessions() const { return life_ != 0 || handshake_ || reply_; }

  // The flow in slot at_ this round (life_: slots change flows, staggered).
  uint32_t sessionFlow() const {
    const uint32_t j = mine_[at_];
    if (!life_) return j;
    return j + flows_ * uint32_t((round_ + j) / life_);
  }

  // TCP flags of this frame in its flow's life (0: the template's PSH|ACK).
  uint8_t flagsNow() const {
    if (!handshake_) return 0;
    const uint64_t j = mine_[at_];
    const uint64_t phase = life_ ? (round_ + j) % life_ : std::min<uint64_t>(round_, 1);
    if (phase == 0) return reply_ ? 0x12 : 0x02;                 // SYN-ACK : SYN
    if (life_ && phase == life_ - 2) return 0x11;                 // FIN|ACK
    if (life_ && phase == life_ - 1) return 0x10;                 // ACK
    return reply_ ? 0x10 : 0x18;                                  // ACK : data
  }

  // Write flow f's frame of size sizes_[sizeIdx] into `d`; returns its length.
  // `flags` (TCP) replaces the template's; reply_ swaps the two ends.
  uint32_t fill(uint8_t* d, uint32_t f, uint32_t sizeIdx, uint8_t flags = 0) const {
    const Kind k = kindOf(f);
    const uint32_t idx = k * uint32_t(sizes_.size()) + sizeIdx;
    const Template& t = tpl_[idx];
    memcpy(d, &bytes_[idx * size_t(stride_)], t.len);
    const uint32_t sport = 1024 + f % 64512, dport = dportLo_ + f % dportSpan_;
    uint32_t addr;   // added to the template's source address
    if (k < kV6Udp) {
      addr = f % 131072;  // stays inside 198.18.0.0/15
      put32(d + 26, kSrc4 + addr);
      put16(d + 24, csumAdd(t.ipSum, (addr >> 16) + (addr & 0xffff)));
    } else {
      addr = f;
      put32(d + 34, f);
    }
    uint8_t* h = d + t.l4;
    put16(h, uint16_t(sport));
    put16(h + 2, uint16_t(dport));
    const bool tcp = k == kV4Tcp || k == kV6Tcp;
    uint16_t sum = csumAdd(t.l4Sum, (addr >> 16) + (addr & 0xffff) + sport + dport);
    if (tcp && flags) {   // RFC 1624: add the new word and the old one's complement
      sum = csumAdd(sum, uint32_t(0xffff - get16(h + 12)) + (0x5000u | flags));
      h[13] = flags;
    }
    if (!tcp && sum == 0) sum = 0xffff;
    put16(h + (tcp ? 16 : 6), sum);
    // The other end's frame: swapping addresses and ports leaves every sum as it is.
    if (reply_) {
      uint8_t tmp[16];
      memcpy(tmp, d, 6); memcpy(d, d + 6, 6); memcpy(d + 6, tmp, 6);
      const uint32_t a = k < kV6Udp ? 26 : 22, w = k < kV6Udp ? 4 : 16;
      memcpy(tmp, d + a, w); memcpy(d + a, d + a + w, w); memcpy(d + a + w, tmp, w);
      memcpy(tmp, h, 2); memcpy(h, h + 2, 2); memcpy(h + 2, tmp, 2);
    }
    return t.len;
  }

  // Token bucket for `rate`: frames due since the last call, at most a
  // millisecond's worth (or one batch) of burst.
  uint32_t allowance() {
    const double now = monotonicMs();
    if (last_ == 0) last_ = now;
    tokens_ = std::min(tokens_ + (now - last_) * rate_ / 1e3, std::max(rate_ / 1e3, 256.0));
    last_ = now;
    return uint32_t(tokens_);
  }

  uint32_t headroom_, small_ = 0, stride_ = 0, flows_ = 1, v6Permille_ = 0, tcpPermille_ = 0;
  uint32_t dportLo_ = 1, dportSpan_ = 1;
  std::vector<uint32_t> mine_;   // the flows this instance sends, in order
  uint32_t at_ = 0, sizeAt_ = 0; // position of the next frame
  std::vector<uint8_t> frames_;   // prebuilt frames, kFrameStride apart
  uint32_t frameLen_ = 0;
  bool mixed_ = false;   // flows differ in kind; else every flow is kind0_
  uint32_t kind0_ = 0;
  uint64_t count_ = 0, sent_ = 0;
  bool handshake_ = false, reply_ = false;
  uint32_t life_ = 0;     // frames per flow per slot (0: flows live for ever)
  uint64_t round_ = 0;    // rounds of every slot sent (sessions)
  double rate_ = 0, tokens_ = 0, last_ = 0;
  std::vector<uint32_t> sizes_;
  std::vector<Template> tpl_;
  std::vector<uint8_t> bytes_;
};

}  // namespace

static std::unique_ptr<Port> openGenPort(const PortConfig& cfg, Engine& engine) {
  return std::make_unique<GenPort>(cfg, engine.pool(), engine.rss());
}

// Frames longer than a small buffer (jumbo sizes) go into large buffers.
static PoolNeeds genPool(const PortConfig& cfg) {
  uint32_t longest = 0;
  std::stringstream ss(optionStr(cfg.options, "size"));
  for (std::string s; std::getline(ss, s, '/');) longest = std::max(longest, uint32_t(std::stoul(s)) - 4);
  return {.maxFrame = longest};
}

static DriverRegistration registration({
    .name = "gen",
    .help = "synthetic traffic from the benchmarking ranges 198.18.0.0/15 and 2001:2::/48",
    .options = {
        {"flows", "quantity", "1-4294967295", "1024", "distinct 5-tuples, sent round-robin"},
        {"size", "sizes", "64-65539", "64", "frame size counting the FCS (RFC 2544: 64 gives 60-byte frames), a mix as 64/594/1518, or imix"},
        {"ipv6", "fraction", "", "0", "the share of flows that are IPv6"},
        {"tcp", "fraction", "", "0", "the share of flows that are TCP (the others UDP)"},
        {"rate", "quantity", "0-4294967295", "0", "frames per second (0: as fast as it can)"},
        {"count", "quantity", "0-18446744073709551615", "0", "frames to send, then end (0: no end)"},
        {"dport", "range", "0-65535", "1-1024", "destination ports, spread over the flows"},
        {"life", "uint", "1-4294967295", nullptr, "frames per flow, then a new flow takes its slot (4 or more with handshake)"},
        {"churn", "quantity", "1-4294967295", nullptr, "new flows a second at rate= (instead of life)"},
        {"handshake", "flag", "", "0", "every flow a TCP connection: SYN, data, FIN, ACK"},
        {"reply", "flag", "", "0", "the other side of the same flows: SYN-ACK, ACKs, FIN-ACK, ends swapped"},
    },
    .open = openGenPort,
    .pool = genPool,
});

}  // namespace vnf
