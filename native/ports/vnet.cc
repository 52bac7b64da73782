// Checksum completion and GSO segmentation for the virtio-net header (see
// vnet.h). Its selftest is native/test/vnet_selftest.cc.
#include "vnet.h"

#include <algorithm>

#include "../checksum.h"

namespace vnf {
namespace vnet {
namespace {

constexpr uint16_t kIPv4 = 0x0800, kIPv6 = 0x86dd, kVlan = 0x8100, kQinQ = 0x88a8;
constexpr uint8_t kTcp = 6, kUdp = 17;

uint16_t fold(uint64_t s) {
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return uint16_t(s);
}

// Where the IP and transport headers of an Ethernet frame start, and how long
// the transport segment is by the IP header (not counting Ethernet padding).
struct Layers {
  uint32_t l3 = 0, l4 = 0, l4len = 0;
  uint8_t proto = 0;
  bool v6 = false;
};

bool parse(const uint8_t* f, uint32_t len, Layers& o) {
  if (len < 14) return false;
  uint32_t off = 12;
  uint16_t type = get16(f + off);
  for (int tags = 0; (type == kVlan || type == kQinQ) && tags < 2; tags++) {
    off += 4;
    if (off + 2 > len) return false;
    type = get16(f + off);
  }
  o.l3 = off + 2;
  const uint8_t* ip = f + o.l3;
  if (type == kIPv4) {
    if (o.l3 + 20 > len || ip[0] >> 4 != 4) return false;
    const uint32_t ihl = (ip[0] & 0x0f) * 4u, total = get16(ip + 2);
    if (ihl < 20 || o.l3 + ihl > len) return false;
    if (get16(ip + 6) & 0x3fff) return false;  // a fragment: no whole transport header
    o.v6 = false;
    o.proto = ip[9];
    o.l4 = o.l3 + ihl;
    // 0 is a GSO frame past 64 KB (BIG TCP): the frame's length counts.
    o.l4len = total == 0 ? len - o.l4 : total < ihl || o.l3 + total > len ? UINT32_MAX : total - ihl;
  } else if (type == kIPv6) {
    if (o.l3 + 40 > len || ip[0] >> 4 != 6) return false;
    const uint32_t payload = get16(ip + 4);
    o.v6 = true;
    o.proto = ip[6];  // extension headers are not walked
    o.l4 = o.l3 + 40;
    o.l4len = payload == 0 ? len - o.l4 : o.l4 + payload > len ? UINT32_MAX : payload;
  } else {
    return false;
  }
  return o.l4len != UINT32_MAX;
}

// Finish the checksum whose field sits at start + offset and covers
// [start, end): the field holds the pseudo-header sum.
void finish(uint8_t* f, uint32_t start, uint32_t offset, uint32_t end) {
  uint16_t c = uint16_t(~sum16(f + start, end - start));
  put16(f + start + offset, c ? c : 0xffff);  // 0 means "no checksum" to UDP
}

}  // namespace

uint16_t sum16(const uint8_t* p, size_t n, uint32_t initial) {
  uint64_t s = 0;
  for (; n >= 4; p += 4, n -= 4) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    s += w;
  }
  if (n >= 2) {
    uint16_t w;
    std::memcpy(&w, p, 2);
    s += w;
    p += 2;
    n -= 2;
  }
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  if (n) s += *p;  // the odd byte is the high half of a big-endian word
  // The ones' complement sum is byte-order independent (RFC 1071 2.B): sum in
  // host order, swap the folded result.
  return fold(uint64_t(__builtin_bswap16(fold(s))) + initial);
#else
  if (n) s += uint32_t(*p) << 8;
  return fold(uint64_t(fold(s)) + initial);
#endif
}

bool headerFor(const Slot& s, const uint8_t* buf, virtio_net_hdr& out) {
  std::memset(&out, 0, sizeof out);
  const Meta* m = metaOf(s, buf);
  if (!m) return true;
  // The transport header stays where it was in the buffer; the frame start
  // may have moved (a VLAN tag pushed or popped).
  const int32_t start = int32_t(m->hdr.csum_start) + int32_t(m->off) - int32_t(s.off);
  if (start < 14 || uint32_t(start) + m->hdr.csum_offset + 2u > s.len) return false;
  out.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  out.csum_start = uint16_t(start);
  out.csum_offset = m->hdr.csum_offset;
  if (s.flags & kSlotGso) {
    const int32_t hdrLen = int32_t(m->hdr.hdr_len) + int32_t(m->off) - int32_t(s.off);
    out.gso_type = m->hdr.gso_type;
    out.gso_size = m->hdr.gso_size;
    out.hdr_len = uint16_t(std::clamp<int32_t>(hdrLen, 0, s.len));
  }
  return true;
}

bool finishChecksum(const Slot& s, uint8_t* buf) {
  virtio_net_hdr h;
  if (!headerFor(s, buf, h)) return false;
  if (!(h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) return true;
  uint8_t* f = buf + s.off;
  uint32_t end = s.len;
  Layers l;
  if (parse(f, s.len, l) && l.l4 == h.csum_start) end = l.l4 + l.l4len;  // leave Ethernet padding out
  finish(f, h.csum_start, h.csum_offset, end);
  return true;
}

bool pendingChecksum(const Slot& s, const uint8_t* buf, uint16_t& start, uint16_t& offset) {
  virtio_net_hdr h;
  if (!headerFor(s, buf, h) || !(h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || (s.flags & kSlotGso)) return false;
  Layers l;
  if (!parse(buf + s.off, s.len, l) || l.l4 != h.csum_start || l.l4 + l.l4len != s.len) return false;
  start = h.csum_start;
  offset = h.csum_offset;
  return true;
}

bool finishChecksumByParsing(uint8_t* f, uint32_t len) {
  Layers l;
  if (!parse(f, len, l)) return false;
  const uint32_t at = l.proto == kTcp ? 16 : l.proto == kUdp ? 6 : 0;
  if (!at || l.l4len < at + 2) return false;
  finish(f, l.l4, at, l.l4 + l.l4len);
  return true;
}

uint16_t leaveToOffload(uint8_t* buf, uint16_t off, uint32_t len) {
  uint8_t* const f = buf + off;
  Layers l;
  if (!parse(f, len, l) || (l.proto != kTcp && l.proto != kUdp)) return 0;
  const uint32_t at = l.proto == kTcp ? 16 : 6;
  if (l.l4len < at + 2 || l.l4len > 0xffff) return 0;
  if (off < sizeof(Meta)) {
    finish(f, l.l4, at, l.l4 + l.l4len);
    return 0;
  }
  Meta m{};
  m.hdr.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  m.hdr.csum_start = uint16_t(l.l4);
  m.hdr.csum_offset = uint16_t(at);
  m.off = off;
  std::memcpy(buf, &m, sizeof m);
  return kSlotMeta;
}

bool finishIfPartial(uint8_t* f, uint32_t len) {
  Layers l;
  if (!parse(f, len, l) || (l.proto != kTcp && l.proto != kUdp)) return false;
  const uint32_t at = l.proto == kTcp ? 16 : 6;
  if (l.l4len < at + 2 || l.l4len > 0xffff) return false;
  const uint16_t field = get16(f + l.l4 + at);
  if (l.proto == kUdp && field == 0) return false;  // UDP without a checksum
  const uint8_t* ip = f + l.l3;
  const uint16_t pseudo = l.v6 ? sum16(ip + 8, 32, l.proto + l.l4len) : sum16(ip + 12, 8, l.proto + l.l4len);
  // Cheap test first: only a field equal to the pseudo-header sum can be one.
  if (field != pseudo) return false;
  if (sum16(f + l.l4, l.l4len, pseudo) == 0xffff) return false;  // right as it is
  finish(f, l.l4, at, l.l4 + l.l4len);
  return true;
}

bool Segmenter::start(const uint8_t* frame, uint32_t len, const virtio_net_hdr& h, uint32_t maxFrame) {
  count_ = 0;
  const uint8_t gso = h.gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
  if (h.gso_size == 0 || (gso != VIRTIO_NET_HDR_GSO_TCPV4 && gso != VIRTIO_NET_HDR_GSO_TCPV6 && gso != VIRTIO_NET_HDR_GSO_UDP_L4))
    return false;
  Layers l;
  if (!parse(frame, len, l)) return false;
  tcp_ = gso != VIRTIO_NET_HDR_GSO_UDP_L4;
  if (l.proto != (tcp_ ? kTcp : kUdp)) return false;
  if ((gso == VIRTIO_NET_HDR_GSO_TCPV4 && l.v6) || (gso == VIRTIO_NET_HDR_GSO_TCPV6 && !l.v6)) return false;
  uint32_t l4hl = 8;
  if (tcp_) {
    if (l.l4 + 20 > len) return false;
    l4hl = (frame[l.l4 + 12] >> 4) * 4u;
    if (l4hl < 20) return false;
  }
  if (l.l4len <= l4hl) return false;
  frame_ = frame;
  len_ = l.l4 + l.l4len;
  l3_ = l.l3;
  l4_ = l.l4;
  hdrs_ = l.l4 + l4hl;
  v6_ = l.v6;
  seg_ = h.gso_size;
  const uint32_t payload = len_ - hdrs_;
  if (hdrs_ + std::min(seg_, payload) > maxFrame) return false;
  count_ = (payload + seg_ - 1) / seg_;
  return true;
}

uint32_t Segmenter::emit(PoolCache& cache, Slot* out, uint32_t room, uint16_t headroom, uint16_t port,
                         uint32_t& next, uint64_t& noBuffer) const {
  uint32_t n = 0;
  for (; n < room && next < count_; n++, next++) {
    uint32_t buf;
    if (!cache.alloc(buf)) {
      noBuffer += count_ - next;
      next = count_;
      break;
    }
    const uint32_t len = write(next, cache.pool().data(buf), headroom);
    out[n] = Slot{buf, headroom, uint16_t(len), 0, port, kSlotMeta};
  }
  return n;
}

uint32_t Segmenter::write(uint32_t k, uint8_t* buf, uint16_t off) const {
  uint8_t* d = buf + off;
  const uint32_t from = hdrs_ + k * seg_, plen = std::min(seg_, len_ - from);
  std::memcpy(d, frame_, hdrs_);
  std::memcpy(d + hdrs_, frame_ + from, plen);
  const uint32_t l4len = hdrs_ - l4_ + plen;
  const uint8_t proto = tcp_ ? kTcp : kUdp;
  uint8_t* ip = d + l3_;
  uint16_t pseudo;
  if (!v6_) {
    const uint32_t ihl = l4_ - l3_;
    put16(ip + 2, uint16_t(ihl + l4len));
    put16(ip + 4, uint16_t(get16(ip + 4) + k));  // a fresh IP id per segment, as the kernel's TSO does
    put16(ip + 10, 0);
    put16(ip + 10, uint16_t(~sum16(ip, ihl)));
    pseudo = sum16(ip + 12, 8, proto + l4len);
  } else {
    put16(ip + 4, uint16_t(l4len));
    pseudo = sum16(ip + 8, 32, proto + l4len);
  }
  uint8_t* l4 = d + l4_;
  uint16_t at;
  if (tcp_) {
    put32(l4 + 4, get32(l4 + 4) + k * seg_);
    uint8_t flags = l4[13];
    if (k > 0) flags &= ~0x80;               // CWR only on the first
    if (k + 1 < count_) flags &= ~(0x01 | 0x08);  // FIN and PSH only on the last
    l4[13] = flags;
    at = 16;
  } else {
    put16(l4 + 4, uint16_t(l4len));
    at = 6;
  }
  put16(l4 + at, pseudo);  // the pseudo-header sum, as offload expects
  Meta m{};
  m.hdr.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  m.hdr.csum_start = uint16_t(l4_);
  m.hdr.csum_offset = at;
  m.off = off;
  std::memcpy(buf, &m, sizeof m);
  return hdrs_ + plen;
}

namespace {
constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kUrg = 0x20, kCwr = 0x80;

// The TCP segment of a frame whose checksum offload is pending: where its
// layers are, and how much payload it carries.
bool tcpSegment(const Slot& s, const uint8_t* buf, Layers& l, uint32_t& hl, uint32_t& payload) {
  virtio_net_hdr h;
  if ((s.flags & kSlotGso) || !(s.flags & kSlotMeta) || !headerFor(s, buf, h) || !(h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || h.csum_offset != 16) return false;
  const uint8_t* f = buf + s.off;
  if (!parse(f, s.len, l) || l.proto != kTcp || l.l4 != h.csum_start || l.l4len < 20) return false;
  const uint32_t thl = (f[l.l4 + 12] >> 4) * 4u;
  if (thl < 20 || thl >= l.l4len) return false;
  hl = l.l4 + thl;
  payload = l.l4len - thl;
  return true;
}

// Equal but for what differs between segments of one super-frame.
bool sameHeaders(const uint8_t* a, const uint8_t* b, uint32_t l3, uint32_t l4, uint32_t hl, bool v6) {
  if (std::memcmp(a, b, l3) != 0) return false;
  if (v6) {
    if (std::memcmp(a + l3, b + l3, 4) || std::memcmp(a + l3 + 6, b + l3 + 6, 34)) return false;
  } else {  // all but total length, id and checksum
    if (a[l3] != b[l3] || a[l3 + 1] != b[l3 + 1] || std::memcmp(a + l3 + 6, b + l3 + 6, 4) ||
        std::memcmp(a + l3 + 12, b + l3 + 12, l4 - l3 - 12))
      return false;
  }
  // TCP: ports; ack, offset, window; urgent pointer and options. Not
  // sequence, flags or checksum.
  const uint8_t *ta = a + l4, *tb = b + l4;
  return std::memcmp(ta, tb, 4) == 0 && std::memcmp(ta + 8, tb + 8, 5) == 0 && std::memcmp(ta + 14, tb + 14, 2) == 0 &&
         std::memcmp(ta + 18, tb + 18, hl - l4 - 18) == 0;
}
}  // namespace

uint32_t Merger::run(const Slot* s, uint32_t n, const Pool& pool) {
  if (n < 2) return 1;
  const uint8_t* buf = pool.data(s[0].buf);
  Layers l;
  uint32_t hl, p0;
  if (!tcpSegment(s[0], buf, l, hl, p0)) return 1;
  const uint8_t* f = buf + s[0].off;
  const uint8_t flags = f[l.l4 + 13];
  if (flags & (kFin | kSyn | kRst | kPsh | kUrg | kCwr)) return 1;
  first_ = f;
  l3_ = l.l3;
  l4_ = l.l4;
  hl_ = hl;
  v6_ = l.v6;
  flags_ = flags;
  payload_[0] = f + hl;
  plen_[0] = uint16_t(p0);
  total_ = hl + p0;
  uint32_t seq = get32(f + l.l4 + 4) + p0, k = 1;
  const uint32_t limit = 65535 + (v6_ ? l4_ : l3_);  // the IP length field must hold the whole
  while (k < n && k < kMaxRun) {
    const uint8_t* b = pool.data(s[k].buf);
    Layers lb;
    uint32_t hb, pb;
    if (!tcpSegment(s[k], b, lb, hb, pb) || hb != hl || lb.l4 != l4_ || lb.v6 != v6_) break;
    const uint8_t* g = b + s[k].off;
    const uint8_t fb = g[l4_ + 13];
    if ((fb & ~(kPsh | kFin)) != flags || pb > p0 || get32(g + l4_ + 4) != seq || total_ + pb > limit) break;
    if (!sameHeaders(f, g, l3_, l4_, hl, v6_)) break;
    payload_[k] = g + hl;
    plen_[k] = uint16_t(pb);
    total_ += pb;
    seq += pb;
    flags_ = uint8_t(flags | fb);
    k++;
    if (pb < p0 || (fb & (kPsh | kFin))) break;  // it ends the run
  }
  return k;
}

void Merger::headers(virtio_net_hdr& h, uint8_t* out) const {
  std::memcpy(out, first_, hl_);
  uint8_t* ip = out + l3_;
  const uint32_t l4len = total_ - l4_;
  uint16_t pseudo;
  if (!v6_) {
    put16(ip + 2, uint16_t(total_ - l3_));
    put16(ip + 10, 0);
    put16(ip + 10, uint16_t(~sum16(ip, l4_ - l3_)));
    pseudo = sum16(ip + 12, 8, kTcp + l4len);
  } else {
    put16(ip + 4, uint16_t(l4len));
    pseudo = sum16(ip + 8, 32, kTcp + l4len);
  }
  out[l4_ + 13] = flags_;
  put16(out + l4_ + 16, pseudo);
  h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  h.gso_type = v6_ ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
  h.hdr_len = uint16_t(hl_);
  h.gso_size = plen_[0];
  h.csum_start = uint16_t(l4_);
  h.csum_offset = 16;
}

bool Intake::whole(PoolCache& cache, const uint8_t* frame, uint32_t len, const virtio_net_hdr& h, uint16_t headroom, Slot& out) {
  uint32_t buf;
  if (len > 0xffff || !cache.allocLarge(buf)) return false;
  uint8_t* b = cache.pool().data(buf);
  std::memcpy(b + headroom, frame, len);
  out = Slot{buf, headroom, uint16_t(len), 0, 0, keep(b, h, headroom)};
  return true;
}

bool Intake::start(const uint8_t* frame, uint32_t len, const virtio_net_hdr& h, uint32_t maxFrame, uint64_t* c, Note& note) {
  if (!seg_.start(frame, len, h, maxFrame)) {
    c[rx_malformed]++;
    note.set(std::to_string(len) + "-byte GSO frame (type " + std::to_string(h.gso_type) + ") dropped: cannot split it");
    return false;
  }
  next_ = 0;
  active_ = true;
  return true;
}

uint32_t Intake::resume(PoolCache& cache, Slot* out, uint32_t room, uint16_t headroom, uint16_t port, uint64_t* c) {
  const uint32_t n = seg_.emit(cache, out, room, headroom, port, next_, c[rx_no_buffer]);
  if (next_ == seg_.count()) active_ = false;  // this frame is done
  return n;
}

}  // namespace vnet
}  // namespace vnf
