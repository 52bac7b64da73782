#include "endpoint.h"

#include <algorithm>
#include <cstring>

#include "checksum.h"
#include "core_io.h"
#include "ports/vnet.h"

namespace vnf {

namespace {

constexpr uint16_t kArp = 0x0806, kIpv4 = 0x0800, kIpv6 = 0x86dd;
const uint8_t kBroadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

IpAddr v4At(const uint8_t* p) {
  IpAddr a;
  memcpy(a.b, p, 4);
  return a;
}
IpAddr v6At(const uint8_t* p) {
  IpAddr a;
  a.v6 = true;
  memcpy(a.b, p, 16);
  return a;
}
bool inPrefix(const IpAddr& a, const EndpointPort::Prefix& p) {
  if (a.v6 != p.ip.v6) return false;
  const uint32_t bits = p.len;
  const uint32_t full = bits / 8, rest = bits % 8;
  if (memcmp(a.b, p.ip.b, full) != 0) return false;
  if (rest == 0) return true;
  const uint8_t m = uint8_t(0xff << (8 - rest));
  return (a.b[full] & m) == (p.ip.b[full] & m);
}
// The solicited-node multicast address of `a` (RFC 4291): ff02::1:ffXX:XXXX.
IpAddr solicitedNode(const IpAddr& a) {
  static const uint8_t pre[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff};
  IpAddr s;
  s.v6 = true;
  memcpy(s.b, pre, 13);
  memcpy(s.b + 13, a.b + 13, 3);
  return s;
}
// ICMPv6 checksum over the pseudo-header and `len` bytes at l4.
uint16_t icmp6Checksum(const uint8_t* ip6, const uint8_t* l4, uint32_t len) {
  uint32_t sum = csumPartial(ip6 + 8, 32);
  sum += len >> 16;
  sum += len & 0xffff;
  sum += 58;
  return csumFold(csumPartial(l4, len, sum));
}
uint16_t ipv4HeaderSum(uint8_t* ip) {
  ip[10] = ip[11] = 0;
  return csumFold(csumPartial(ip, (ip[0] & 15) * 4u));
}

}  // namespace

// ---- the table ----

Neighbours::Neighbours(const EndpointConfig& cfg) : cfg_(cfg) {
  for (const auto& s : cfg.statics)
    for (uint32_t p = 0; p < cfg.ports.size(); p++) {
      // A static entry belongs to every port with an address on its subnet
      // (or to every port with addresses, when none has).
      bool on = false;
      for (const auto& a : cfg.ports[p].addrs) on = on || inPrefix(s.ip, a);
      if (!on) continue;
      Entry e{};
      e.ip = s.ip;
      memcpy(e.mac, s.mac, 6);
      e.state = kStatic;
      e.port = p;
      entries_.push_back(e);
    }
}

Neighbours::Entry* Neighbours::find(uint32_t port, const IpAddr& ip) {
  for (auto& e : entries_)
    if (e.state != kFree && e.port == port && e.ip == ip) return &e;
  return nullptr;
}

Neighbours::Lookup Neighbours::lookup(uint32_t port, const IpAddr& ip, double now, uint8_t mac[6], double* until) {
  std::lock_guard<std::mutex> g(lock_);
  Entry* e = find(port, ip);
  if (e && e->state == kReachable && now - e->updatedMs > cfg_.ageMs) {
    e->state = kIncomplete;   // expired: resolve again
    e->tries = 0;
    e->requestedMs = -1e18;
    version_ = version_ + 1;
  }
  if (e && (e->state == kReachable || e->state == kStatic)) {
    memcpy(mac, e->mac, 6);
    if (until) *until = e->state == kStatic ? 1e300 : e->updatedMs + cfg_.ageMs;
    return kFound;
  }
  if (!e) {
    Entry n{};
    n.ip = ip;
    n.state = kIncomplete;
    n.port = port;
    n.requestedMs = -1e18;
    auto free = std::find_if(entries_.begin(), entries_.end(), [](const Entry& x) { return x.state == kFree; });
    if (free != entries_.end()) *free = n;
    else entries_.push_back(n);
    e = find(port, ip);
    version_ = version_ + 1;
  }
  if (now - e->requestedMs < cfg_.retryMs) return kWait;
  if (e->tries >= cfg_.retries) {
    e->state = kFree;
    version_ = version_ + 1;
    return kFailed;
  }
  e->tries++;
  e->requestedMs = now;
  return kAskNow;
}

void Neighbours::learn(uint32_t port, const IpAddr& ip, const uint8_t mac[6], double now, bool create) {
  if (mac[0] & 1) return;   // a multicast "hardware address" is a lie
  std::lock_guard<std::mutex> g(lock_);
  Entry* e = find(port, ip);
  if (e && e->state == kStatic) return;   // --arp entries are never replaced
  if (!e) {
    if (!create) return;
    Entry n{};
    n.ip = ip;
    n.port = port;
    auto free = std::find_if(entries_.begin(), entries_.end(), [](const Entry& x) { return x.state == kFree; });
    if (free != entries_.end()) *free = n;
    else entries_.push_back(n);
    e = find(port, ip);
    if (!e) e = &entries_.back();
  }
  memcpy(e->mac, mac, 6);
  e->state = kReachable;
  e->updatedMs = now;
  e->tries = 0;
  version_ = version_ + 1;
}

std::vector<Neighbours::Entry> Neighbours::snapshot() {
  std::lock_guard<std::mutex> g(lock_);
  return entries_;
}

// ---- a core's side ----

Endpoint::Endpoint(EndpointSetup& setup, Pool& pool, uint32_t headroom, uint32_t core, const uint8_t* udpBound)
    : setup_(setup), cfg_(setup.cfg), table_(*setup.neighbours), pool_(pool), headroom_(headroom), core_(core), bound_(udpBound),
      echoTokens_(setup.cfg.icmpBurst), errTokens_(setup.cfg.icmpBurst) {}

bool Endpoint::mine(uint32_t port, const IpAddr& ip) const {
  if (port >= cfg_.ports.size()) return false;
  for (const auto& a : cfg_.ports[port].addrs)
    if (a.ip == ip) return true;
  return false;
}

bool Endpoint::nextHop(uint32_t port, const IpAddr& dst, IpAddr& hop) const {
  if (port >= cfg_.ports.size()) return false;
  const EndpointPort& p = cfg_.ports[port];
  for (const auto& a : p.addrs)
    if (inPrefix(dst, a)) { hop = dst; return true; }
  if (!dst.v6 && p.hasGw4) { hop = p.gw4; return true; }
  if (dst.v6 && p.hasGw6) { hop = p.gw6; return true; }
  return false;
}

bool Endpoint::allow(double& tokens, double& at, double now) {
  tokens = std::min(cfg_.icmpBurst, tokens + (now - at) * cfg_.icmpRate / 1000.0);
  at = now;
  if (tokens < 1) return false;
  tokens -= 1;
  return true;
}

void Endpoint::send(Lane& lane, CoreIO& io, Slot s, uint32_t port) {
  s.port = uint16_t(port);
  s.flags = 0;
  io.transmit(lane, &s, 1, port);
}

// A datagram left to checksum offload (kSlotMeta) holds only the
// pseudo-header sum: not checked, as the kernel would not.
bool Endpoint::checksumGood(const Slot& s, const uint8_t* l4, uint32_t len, uint16_t pseudo) {
  return !(s.flags & kSlotMeta) && vnet::sum16(l4, len, pseudo) == 0xffff;
}

uint32_t Endpoint::filter(Lane& lane, CoreIO& io, Slot* slots, uint32_t n, double now) {
  uint32_t w = 0;
  for (uint32_t i = 0; i < n; i++) {
    Slot s = slots[i];
    uint8_t* f = pool_.data(s.buf) + s.off;
    bool taken = false;
    if (s.port < cfg_.ports.size() && !cfg_.ports[s.port].addrs.empty() && s.len >= 14) {
      const uint16_t type = get16(f + 12);
      if (type == kArp) taken = arp(lane, io, s, f, now);
      else if (type == kIpv4) taken = ipv4(lane, io, s, f, now);
      else if (type == kIpv6) taken = ipv6(lane, io, s, f, now);
    }
    if (!taken) slots[w++] = s;
  }
  return w;
}

bool Endpoint::arp(Lane& lane, CoreIO& io, Slot& s, uint8_t* f, double now) {
  uint64_t* c = lane.counters.core;
  if (s.len < 42) return false;   // not a whole ARP packet: the VNF's business
  uint8_t* a = f + 14;
  if (get16(a) != 1 || get16(a + 2) != kIpv4 || a[4] != 6 || a[5] != 4) return false;
  const uint16_t op = get16(a + 6);
  const IpAddr spa = v4At(a + 14), tpa = v4At(a + 24);
  const bool forUs = mine(s.port, tpa);
  if (!forUs) {
    // Someone else's: refresh an entry we have (a gratuitous ARP), no more.
    if (!(spa.b[0] == 0 && spa.b[1] == 0 && spa.b[2] == 0 && spa.b[3] == 0)) table_.learn(s.port, spa, a + 8, now, false);
    return false;
  }
  if (op == 1) {
    if (!(spa.b[0] == 0 && spa.b[1] == 0 && spa.b[2] == 0 && spa.b[3] == 0)) table_.learn(s.port, spa, a + 8, now, true);
    const uint8_t* mac = cfg_.ports[s.port].mac;
    uint8_t sha[6], spaB[4];
    memcpy(sha, a + 8, 6);
    memcpy(spaB, a + 14, 4);
    memcpy(f, sha, 6);
    memcpy(f + 6, mac, 6);
    put16(a + 6, 2);
    memcpy(a + 8, mac, 6);
    memcpy(a + 14, tpa.b, 4);
    memcpy(a + 18, sha, 6);
    memcpy(a + 24, spaB, 4);
    c[arp_answered]++;
    send(lane, io, s, s.port);
    return true;
  }
  if (op == 2) {
    table_.learn(s.port, spa, a + 8, now, false);   // only what we asked for, or knew
    lane.cache.free(s.buf);
    return true;
  }
  c[endpoint_malformed]++;
  lane.cache.free(s.buf);
  return true;
}

bool Endpoint::ipv4(Lane& lane, CoreIO& io, Slot& s, uint8_t* f, double now) {
  uint64_t* c = lane.counters.core;
  if (s.len < 34 || (f[14] >> 4) != 4) return false;
  uint8_t* ip = f + 14;
  if (!mine(s.port, v4At(ip + 16))) return false;
  const uint32_t ihl = (ip[0] & 15) * 4u, total = get16(ip + 2);
  // A wrong header checksum is dropped, as a host's stack would (replies update it incrementally).
  if (ihl < 20 || total < ihl || 14 + total > s.len || !ipv4HeaderOk(ip, ihl)) {
    c[endpoint_malformed]++;
    lane.cache.free(s.buf);
    return true;
  }
  if ((get16(ip + 6) & 0x3fff) != 0) return false;   // fragments: the VNF's
  const uint8_t proto = ip[9];
  uint8_t* l4 = ip + ihl;
  const uint32_t l4len = total - ihl;
  if (proto == 1) {
    if (l4len < 8) { c[endpoint_malformed]++; lane.cache.free(s.buf); return true; }
    if (l4[0] != 8 || l4[1] != 0) return false;   // not an echo request: the VNF's
    if (csumFold(csumPartial(l4, l4len)) != 0) { c[endpoint_malformed]++; lane.cache.free(s.buf); return true; }
    if (!allow(echoTokens_, echoAt_, now)) { c[icmp_rate_limited]++; lane.cache.free(s.buf); return true; }
    // The reply in the request's buffer: swap addresses, type 0.
    uint8_t tmp[6];
    memcpy(tmp, f + 6, 6);
    memcpy(f, tmp, 6);
    memcpy(f + 6, cfg_.ports[s.port].mac, 6);
    uint8_t a4[4];
    memcpy(a4, ip + 12, 4);
    memcpy(ip + 12, ip + 16, 4);
    memcpy(ip + 16, a4, 4);
    ip[8] = 64;
    put16(ip + 10, ipv4HeaderSum(ip));
    l4[0] = 0;
    put16(l4 + 2, csumAdd(get16(l4 + 2), 0xf7ff));   // type 8 -> 0: subtract 0x0800
    s.len = uint16_t(14 + total);   // Ethernet padding goes
    c[echo_answered]++;
    send(lane, io, s, s.port);
    return true;
  }
  if (proto == 6) {   // the VNF's (sdk/tcp): its checksum checked here, where it is cheap
    if (l4len >= 20 && checksumGood(s, l4, l4len, vnet::sum16(ip + 12, 8, 6 + l4len))) s.flags |= kSlotL4Good;
    return false;
  }
  if (proto == 17) {
    if (l4len < 8 || get16(l4 + 4) < 8 || get16(l4 + 4) > l4len) { c[endpoint_malformed]++; lane.cache.free(s.buf); return true; }
    if (bound_[get16(l4 + 2)]) {   // a socket's: its checksum is checked here, where it is cheap
      const uint32_t ulen = get16(l4 + 4);
      if (get16(l4 + 6) == 0 || checksumGood(s, l4, ulen, vnet::sum16(ip + 12, 8, 17 + ulen))) s.flags |= kSlotL4Good;
      return false;
    }
    return unreachable(lane, io, s, f, false, 14, total, now);
  }
  return false;
}

bool Endpoint::ipv6(Lane& lane, CoreIO& io, Slot& s, uint8_t* f, double now) {
  uint64_t* c = lane.counters.core;
  if (s.len < 54 || (f[14] >> 4) != 6) return false;
  uint8_t* ip = f + 14;
  const uint32_t plen = get16(ip + 4);
  const IpAddr dst = v6At(ip + 24), src = v6At(ip + 8);
  const uint8_t next = ip[6];
  uint8_t* l4 = ip + 40;
  const bool toUs = mine(s.port, dst);
  const bool multicast = dst.b[0] == 0xff;
  if (!toUs && !multicast) return false;
  if (54 + plen > s.len) {
    if (toUs) { c[endpoint_malformed]++; lane.cache.free(s.buf); return true; }
    return false;
  }
  if (next == 58) {
    if (plen < 8) return false;
    const uint8_t type = l4[0];
    const bool nd = type == 135 || type == 136;
    if (!nd && !toUs) return false;
    if (icmp6Checksum(ip, l4, plen) != 0) { c[endpoint_malformed]++; lane.cache.free(s.buf); return true; }
    if (type == 135) {   // neighbour solicitation
      if (plen < 24 || ip[7] != 255) { c[endpoint_malformed]++; lane.cache.free(s.buf); return true; }
      const IpAddr target = v6At(l4 + 8);
      if (!mine(s.port, target)) return false;
      // Its source link-layer option, if any (and the source is not ::).
      const bool unspecified = std::all_of(src.b, src.b + 16, [](uint8_t b) { return b == 0; });
      for (uint32_t o = 24; o + 8 <= plen;) {
        const uint32_t olen = l4[o + 1] * 8u;
        if (olen == 0 || o + olen > plen) { c[endpoint_malformed]++; lane.cache.free(s.buf); return true; }
        if (l4[o] == 1 && olen >= 8 && !unspecified) table_.learn(s.port, src, l4 + o + 2, now, true);
        o += olen;
      }
      // The advertisement, in place: to the soliciting host (all nodes when it has no address yet).
      const uint8_t* mac = cfg_.ports[s.port].mac;
      uint8_t srcMac[6];
      memcpy(srcMac, f + 6, 6);
      if (unspecified) {
        static const uint8_t allNodes[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        memcpy(ip + 24, allNodes, 16);
        const uint8_t m[6] = {0x33, 0x33, 0, 0, 0, 1};
        memcpy(f, m, 6);
      } else {
        memcpy(ip + 24, ip + 8, 16);
        memcpy(f, srcMac, 6);
      }
      memcpy(f + 6, mac, 6);
      memcpy(ip + 8, target.b, 16);
      ip[7] = 255;
      put16(ip + 4, 32);
      l4[0] = 136;
      l4[1] = 0;
      l4[4] = unspecified ? 0x20 : 0x60;   // solicited (unless to all nodes), override
      l4[5] = l4[6] = l4[7] = 0;
      l4[24] = 2;   // target link-layer address
      l4[25] = 1;
      memcpy(l4 + 26, mac, 6);
      put16(l4 + 2, 0);
      put16(l4 + 2, icmp6Checksum(ip, l4, 32));
      s.len = 14 + 40 + 32;
      c[nd_answered]++;
      send(lane, io, s, s.port);
      return true;
    }
    if (type == 136) {   // neighbour advertisement
      if (plen < 24) { c[endpoint_malformed]++; lane.cache.free(s.buf); return true; }
      const IpAddr target = v6At(l4 + 8);
      for (uint32_t o = 24; o + 8 <= plen;) {
        const uint32_t olen = l4[o + 1] * 8u;
        if (olen == 0 || o + olen > plen) break;
        if (l4[o] == 2) table_.learn(s.port, target, l4 + o + 2, now, false);
        o += olen;
      }
      if (!toUs) return false;   // to all nodes: others may want it too
      lane.cache.free(s.buf);
      return true;
    }
    if (type == 128 && toUs) {   // echo request
      if (!allow(echoTokens_, echoAt_, now)) { c[icmp_rate_limited]++; lane.cache.free(s.buf); return true; }
      uint8_t tmp[6];
      memcpy(tmp, f + 6, 6);
      memcpy(f, tmp, 6);
      memcpy(f + 6, cfg_.ports[s.port].mac, 6);
      uint8_t a[16];
      memcpy(a, ip + 8, 16);
      memcpy(ip + 8, ip + 24, 16);
      memcpy(ip + 24, a, 16);
      ip[7] = 64;
      l4[0] = 129;
      put16(l4 + 2, 0);
      put16(l4 + 2, icmp6Checksum(ip, l4, plen));
      s.len = uint16_t(54 + plen);
      c[echo_answered]++;
      send(lane, io, s, s.port);
      return true;
    }
    return false;
  }
  if (next == 6 && toUs) {
    if (plen >= 20 && checksumGood(s, l4, plen, vnet::sum16(ip + 8, 32, 6 + plen))) s.flags |= kSlotL4Good;
    return false;
  }
  if (next == 17 && toUs) {
    if (plen < 8 || get16(l4 + 4) < 8 || get16(l4 + 4) > plen) { c[endpoint_malformed]++; lane.cache.free(s.buf); return true; }
    if (bound_[get16(l4 + 2)]) {
      const uint32_t ulen = get16(l4 + 4);
      if (checksumGood(s, l4, ulen, vnet::sum16(ip + 8, 32, 17 + ulen))) s.flags |= kSlotL4Good;
      return false;
    }
    return unreachable(lane, io, s, f, true, 14, 40 + plen, now);
  }
  return false;
}

// Port unreachable, built in the datagram's own buffer: the new Ethernet,
// IP and ICMP headers go in front of the offending IP header, which stays
// where it is (the headroom takes them), cut after 8 bytes of its payload
// (IPv4, RFC 792) or where the answer would pass 1280 bytes (IPv6).
bool Endpoint::unreachable(Lane& lane, CoreIO& io, Slot& s, uint8_t* f, bool v6, uint32_t l3, uint32_t ipLen, double now) {
  uint64_t* c = lane.counters.core;
  c[udp_closed]++;
  const uint32_t front = v6 ? 48 : 28;
  if (s.off < front || !allow(errTokens_, errAt_, now)) {
    if (s.off >= front) c[icmp_rate_limited]++;
    lane.cache.free(s.buf);
    return true;
  }
  const uint8_t* mac = cfg_.ports[s.port].mac;
  uint8_t peerMac[6], src[16], dst[16];
  uint8_t* ip = f + l3;
  memcpy(peerMac, f + 6, 6);
  memcpy(src, ip + (v6 ? 8 : 12), v6 ? 16 : 4);
  memcpy(dst, ip + (v6 ? 24 : 16), v6 ? 16 : 4);
  uint8_t* n = f - front;
  s.off = uint16_t(s.off - front);
  memcpy(n, peerMac, 6);
  memcpy(n + 6, mac, 6);
  uint8_t* nip = n + 14;
  if (!v6) {
    const uint32_t quote = std::min<uint32_t>(ipLen, (ip[0] & 15) * 4u + 8);
    put16(n + 12, kIpv4);
    memset(nip, 0, 20);
    nip[0] = 0x45;
    put16(nip + 2, uint16_t(20 + 8 + quote));
    nip[8] = 64;
    nip[9] = 1;
    memcpy(nip + 12, dst, 4);
    memcpy(nip + 16, src, 4);
    put16(nip + 10, ipv4HeaderSum(nip));
    uint8_t* icmp = nip + 20;
    memset(icmp, 0, 8);
    icmp[0] = 3;
    icmp[1] = 3;
    put16(icmp + 2, csumFold(csumPartial(icmp, 8 + quote)));
    s.len = uint16_t(14 + 20 + 8 + quote);
  } else {
    const uint32_t quote = std::min<uint32_t>(ipLen, 1280 - 48);
    put16(n + 12, kIpv6);
    memset(nip, 0, 40);
    nip[0] = 0x60;
    put16(nip + 4, uint16_t(8 + quote));
    nip[6] = 58;
    nip[7] = 64;
    memcpy(nip + 8, dst, 16);
    memcpy(nip + 24, src, 16);
    uint8_t* icmp = nip + 40;
    memset(icmp, 0, 8);
    icmp[0] = 1;
    icmp[1] = 4;
    put16(icmp + 2, icmp6Checksum(nip, icmp, 8 + quote));
    s.len = uint16_t(14 + 40 + 8 + quote);
  }
  send(lane, io, s, s.port);
  return true;
}

bool Endpoint::fillL2(uint8_t* f, uint32_t port, const uint8_t mac[6]) {
  memcpy(f, mac, 6);
  memcpy(f + 6, cfg_.ports[port].mac, 6);
  return true;
}

bool Endpoint::resolve(Lane& lane, CoreIO& io, Slot& s, uint32_t port, double now) {
  uint64_t* c = lane.counters.core;
  uint8_t* f = pool_.data(s.buf) + s.off;
  IpAddr dst;
  const uint16_t type = s.len >= 14 ? get16(f + 12) : 0;
  if (type == kIpv4 && s.len >= 34) dst = v4At(f + 30);
  else if (type == kIpv6 && s.len >= 54) dst = v6At(f + 38);
  else { c[no_route]++; lane.cache.free(s.buf); return false; }
  // Multicast and broadcast map to their MAC without asking.
  if (!dst.v6 && (dst.b[0] >= 224 || (dst.b[0] == 255 && dst.b[1] == 255 && dst.b[2] == 255 && dst.b[3] == 255))) {
    uint8_t m[6] = {0x01, 0x00, 0x5e, uint8_t(dst.b[1] & 0x7f), dst.b[2], dst.b[3]};
    return fillL2(f, port, dst.b[0] == 255 ? kBroadcast : m);
  }
  if (dst.v6 && dst.b[0] == 0xff) {
    uint8_t m[6] = {0x33, 0x33, dst.b[12], dst.b[13], dst.b[14], dst.b[15]};
    return fillL2(f, port, m);
  }
  IpAddr hop;
  if (!nextHop(port, dst, hop)) { c[no_route]++; lane.cache.free(s.buf); return false; }
  if (cacheVersion_ == table_.version() && now < cacheUntil_ && cachePort_ == port && cacheIp_ == hop) return fillL2(f, port, cacheMac_);
  uint8_t mac[6];
  const uint64_t version = table_.version();
  double until = 0;
  const Neighbours::Lookup r = table_.lookup(port, hop, now, mac, &until);
  if (r == Neighbours::kFound) {
    cacheVersion_ = version;
    cacheUntil_ = until;
    cachePort_ = port;
    cacheIp_ = hop;
    memcpy(cacheMac_, mac, 6);
    return fillL2(f, port, mac);
  }
  if (r == Neighbours::kAskNow) request(lane, io, port, hop);
  if (r == Neighbours::kFailed) { c[neigh_unresolved]++; lane.cache.free(s.buf); return false; }
  if (waiting_.size() >= cfg_.queue) { c[neigh_queue_full]++; lane.cache.free(s.buf); return false; }
  waiting_.push_back(Waiting{s, port, hop});
  return false;
}

void Endpoint::request(Lane& lane, CoreIO& io, uint32_t port, const IpAddr& hop) {
  uint32_t buf;
  if (!lane.cache.alloc(buf)) return;
  uint8_t* f = pool_.data(buf) + headroom_;
  const EndpointPort& p = cfg_.ports[port];
  Slot s{buf, uint16_t(headroom_), 0, 0, uint16_t(port), 0};
  // Our source address: the one on the next hop's subnet, else the first of its family.
  const IpAddr* from = nullptr;
  for (const auto& a : p.addrs)
    if (a.ip.v6 == hop.v6 && (!from || inPrefix(hop, a))) from = &a.ip;
  if (!from) { lane.cache.free(buf); return; }
  memcpy(f + 6, p.mac, 6);
  if (!hop.v6) {
    memcpy(f, kBroadcast, 6);
    put16(f + 12, kArp);
    uint8_t* a = f + 14;
    put16(a, 1); put16(a + 2, kIpv4); a[4] = 6; a[5] = 4; put16(a + 6, 1);
    memcpy(a + 8, p.mac, 6);
    memcpy(a + 14, from->b, 4);
    memset(a + 18, 0, 6);
    memcpy(a + 24, hop.b, 4);
    memset(f + 42, 0, 18);
    s.len = 60;
  } else {
    const IpAddr sn = solicitedNode(hop);
    const uint8_t m[6] = {0x33, 0x33, sn.b[12], sn.b[13], sn.b[14], sn.b[15]};
    memcpy(f, m, 6);
    put16(f + 12, kIpv6);
    uint8_t* ip = f + 14;
    memset(ip, 0, 40);
    ip[0] = 0x60;
    put16(ip + 4, 32);
    ip[6] = 58;
    ip[7] = 255;
    memcpy(ip + 8, from->b, 16);
    memcpy(ip + 24, sn.b, 16);
    uint8_t* l4 = ip + 40;
    memset(l4, 0, 32);
    l4[0] = 135;
    memcpy(l4 + 8, hop.b, 16);
    l4[24] = 1;
    l4[25] = 1;
    memcpy(l4 + 26, p.mac, 6);
    put16(l4 + 2, icmp6Checksum(ip, l4, 32));
    s.len = 14 + 40 + 32;
  }
  lane.counters.core[neigh_requests]++;
  send(lane, io, s, port);
}

// Gratuitous ARP for each IPv4 address, an unsolicited advertisement for
// each IPv6 one: neighbours that knew another MAC for them learn ours.
void Endpoint::announce(Lane& lane, CoreIO& io) {
  for (uint32_t port = 0; port < cfg_.ports.size(); port++) {
    const EndpointPort& p = cfg_.ports[port];
    for (const auto& a : p.addrs) {
      uint32_t buf;
      if (!lane.cache.alloc(buf)) return;
      uint8_t* f = pool_.data(buf) + headroom_;
      Slot s{buf, uint16_t(headroom_), 0, 0, uint16_t(port), 0};
      memcpy(f + 6, p.mac, 6);
      if (!a.ip.v6) {
        memcpy(f, kBroadcast, 6);
        put16(f + 12, kArp);
        uint8_t* r = f + 14;
        put16(r, 1); put16(r + 2, kIpv4); r[4] = 6; r[5] = 4; put16(r + 6, 1);
        memcpy(r + 8, p.mac, 6);
        memcpy(r + 14, a.ip.b, 4);
        memset(r + 18, 0, 6);
        memcpy(r + 24, a.ip.b, 4);
        memset(f + 42, 0, 18);
        s.len = 60;
      } else {
        const uint8_t m[6] = {0x33, 0x33, 0, 0, 0, 1};
        static const uint8_t allNodes[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        memcpy(f, m, 6);
        put16(f + 12, kIpv6);
        uint8_t* ip = f + 14;
        memset(ip, 0, 40);
        ip[0] = 0x60;
        put16(ip + 4, 32);
        ip[6] = 58;
        ip[7] = 255;
        memcpy(ip + 8, a.ip.b, 16);
        memcpy(ip + 24, allNodes, 16);
        uint8_t* l4 = ip + 40;
        memset(l4, 0, 32);
        l4[0] = 136;
        l4[4] = 0x20;   // override
        memcpy(l4 + 8, a.ip.b, 16);
        l4[24] = 2;
        l4[25] = 1;
        memcpy(l4 + 26, p.mac, 6);
        put16(l4 + 2, icmp6Checksum(ip, l4, 32));
        s.len = 14 + 40 + 32;
      }
      send(lane, io, s, port);
    }
  }
}

void Endpoint::tick(Lane& lane, CoreIO& io, double now) {
  if (!announced_) {
    announced_ = true;
    if (core_ == 0) announce(lane, io);
  }
  if (waiting_.empty() || now - lastRetry_ < 1) return;
  lastRetry_ = now;
  // Each waiting frame: sent once its next hop is known, dropped once
  // resolution failed, else back in line. Order per next hop is kept.
  const size_t n = waiting_.size();
  for (size_t i = 0; i < n && !waiting_.empty(); i++) {
    Waiting w = waiting_.front();
    waiting_.pop_front();
    uint8_t mac[6];
    const Neighbours::Lookup r = table_.lookup(w.port, w.hop, now, mac);
    if (r == Neighbours::kFound) {
      fillL2(pool_.data(w.s.buf) + w.s.off, w.port, mac);
      // As the VNF left it: a checksum left to offload (kSlotMeta) stays so
      // for the output to finish. (send() clears flags: it is for frames
      // the runtime built.)
      w.s.port = uint16_t(w.port);
      io.transmit(lane, &w.s, 1, w.port);
    } else if (r == Neighbours::kFailed) {
      lane.counters.core[neigh_unresolved]++;
      lane.cache.free(w.s.buf);
      // The rest waiting for this hop fail with it.
      for (auto it = waiting_.begin(); it != waiting_.end();) {
        if (it->port == w.port && it->hop == w.hop) {
          lane.counters.core[neigh_unresolved]++;
          lane.cache.free(it->s.buf);
          it = waiting_.erase(it);
        } else {
          ++it;
        }
      }
    } else {
      if (r == Neighbours::kAskNow) request(lane, io, w.port, w.hop);
      waiting_.push_back(w);
    }
  }
}

void Endpoint::drain(Lane& lane) {
  for (const auto& w : waiting_) lane.cache.free(w.s.buf);
  waiting_.clear();
}

}  // namespace vnf
