// Selftest for the virtio-net header code (native/ports/vnet.cc): checksum
// sums, GSO segmentation, merging segments back into a super-frame.
// Standalone: no Node, no engine. test/native.test.ts builds and runs it.
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "checksum.h"
#include "pool.h"
#include "ports/vnet.h"

using namespace vnf;
using namespace vnf::vnet;

static int failures = 0;
#define CHECK(c)                                                  \
  do {                                                            \
    if (!(c)) {                                                   \
      std::printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c);    \
      failures++;                                                 \
    }                                                             \
  } while (0)

// Reference: the L4 checksum over [l4, l4 + l4len) with the pseudo header is right.
static bool l4ok(const uint8_t* f, uint32_t len) {
  uint32_t l3 = 14;
  bool v6 = get16(f + 12) == 0x86dd;
  const uint8_t* ip = f + l3;
  uint32_t l4, l4len;
  uint8_t proto;
  uint32_t sum;
  if (!v6) {
    uint32_t ihl = (ip[0] & 15) * 4;
    if (csumFold(csumPartial(ip, ihl)) != 0) return false;
    l4 = l3 + ihl;
    l4len = get16(ip + 2) - ihl;
    proto = ip[9];
    sum = csumPartial(ip + 12, 8);
  } else {
    l4 = l3 + 40;
    l4len = get16(ip + 4);
    proto = ip[6];
    sum = csumPartial(ip + 8, 32);
  }
  if (l4 + l4len > len) return false;
  sum += proto + l4len;
  return csumFold(csumPartial(f + l4, l4len, sum)) == 0;
}

static std::vector<uint8_t> superFrame(bool v6, bool tcp, uint32_t payload, std::mt19937& rng) {
  uint32_t ihl = v6 ? 40 : 20, l4hl = tcp ? 32 : 8;
  std::vector<uint8_t> f(14 + ihl + l4hl + payload);
  for (auto& b : f) b = uint8_t(rng());
  put16(&f[12], v6 ? 0x86dd : 0x0800);
  uint8_t* ip = &f[14];
  if (!v6) {
    ip[0] = 0x45;
    put16(ip + 2, uint16_t(ihl + l4hl + payload));
    put16(ip + 6, 0x4000);  // DF
    ip[8] = 64;
    ip[9] = tcp ? 6 : 17;
    put16(ip + 10, 0);
    put16(ip + 10, csumFold(csumPartial(ip, 20)));
  } else {
    ip[0] = 0x60;
    put16(ip + 4, uint16_t(l4hl + payload));
    ip[6] = tcp ? 6 : 17;
    ip[7] = 64;
  }
  uint8_t* l4 = ip + ihl;
  if (tcp) {
    l4[12] = 8 << 4;
    l4[13] = 0x80 | 0x10 | 0x08 | 0x01;  // CWR ACK PSH FIN
  } else {
    put16(l4 + 4, uint16_t(l4hl + payload));
  }
  return f;
}

int main() {
  std::mt19937 rng(7);
  // sum16 agrees with the byte-wise reference at every length and alignment.
  std::vector<uint8_t> data(4096);
  for (auto& b : data) b = uint8_t(rng());
  for (uint32_t off = 0; off < 8; off++)
    for (uint32_t n = 0; n < 300; n++) CHECK(vnet::sum16(&data[off], n) == uint16_t(~csumFold(csumPartial(&data[off], n))));
  CHECK(vnet::sum16(&data[0], 3000, 0x12345) == uint16_t(~csumFold(csumPartial(&data[0], 3000, 0x12345))));

  // Segmentation: every segment has right IP and L4 checksums once finished,
  // carries its slice of the payload, and the TCP flags land where they should.
  for (int kind = 0; kind < 4; kind++) {
    bool v6 = kind & 1, tcp = !(kind & 2);
    for (uint32_t payload : {1u, 1448u, 1449u, 5000u, 64000u}) {
      auto f = superFrame(v6, tcp, payload, rng);
      virtio_net_hdr h{};
      h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
      h.gso_type = tcp ? (v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4) : VIRTIO_NET_HDR_GSO_UDP_L4;
      h.gso_size = 1448;
      vnet::Segmenter seg;
      CHECK(seg.start(f.data(), uint32_t(f.size()), h, 1984));
      CHECK(seg.count() == (payload + 1447) / 1448);
      uint32_t hdrs = 14 + (v6 ? 40 : 20) + (tcp ? 32 : 8), seen = 0;
      for (uint32_t k = 0; k < seg.count(); k++) {
        std::vector<uint8_t> buf(2048);
        uint32_t len = seg.write(k, buf.data(), 64);
        Slot s{0, 64, uint16_t(len), 0, 0, vnet::kSlotMeta};
        CHECK(vnet::finishChecksum(s, buf.data()));
        const uint8_t* d = buf.data() + 64;
        CHECK(l4ok(d, len));
        CHECK(std::memcmp(d + hdrs, f.data() + hdrs + seen, len - hdrs) == 0);
        if (tcp) {
          const uint8_t* th = d + hdrs - 32;
          CHECK(get32(th + 4) == get32(f.data() + hdrs - 32 + 4) + seen);
          CHECK(bool(th[13] & 0x80) == (k == 0));
          CHECK(bool(th[13] & 0x01) == (k + 1 == seg.count()));
          CHECK(th[13] & 0x10);
        }
        // After a VLAN tag is pushed in front, the header moves with the frame.
        std::memmove(buf.data() + 60, buf.data() + 64, 12);
        put16(buf.data() + 72, 0x8100);
        put16(buf.data() + 74, 5);
        Slot t{0, 60, uint16_t(len + 4), 0, 0, vnet::kSlotMeta};
        virtio_net_hdr out;
        CHECK(vnet::headerFor(t, buf.data(), out));
        CHECK(out.csum_start == hdrs - (tcp ? 32 : 8) + 4);
        seen += len - hdrs;
      }
      CHECK(seen == payload);
    }
  }

  // Merging: segments of a super-frame come back as that super-frame; a gap
  // in the sequence ends the run.
  for (bool v6 : {false, true}) {
    Pool pool(64, 2048);
    auto f = superFrame(v6, true, 20000, rng);
    f[14 + (v6 ? 40 : 20) + 13] = 0x10 | 0x08;  // ACK PSH
    virtio_net_hdr h{};
    h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    h.gso_type = v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
    h.gso_size = 1448;
    vnet::Segmenter seg;
    CHECK(seg.start(f.data(), uint32_t(f.size()), h, 1984));
    std::vector<Slot> slots;
    for (uint32_t k = 0; k < seg.count(); k++) {
      uint32_t len = seg.write(k, pool.data(k), 64);
      slots.push_back(Slot{k, 64, uint16_t(len), 0, 0, vnet::kSlotMeta});
    }
    vnet::Merger m;
    CHECK(m.run(slots.data(), uint32_t(slots.size()), pool) == seg.count());
    std::vector<uint8_t> whole(m.headerBytes());
    virtio_net_hdr out{};
    m.headers(out, whole.data());
    for (uint32_t i = 0; i < seg.count(); i++) whole.insert(whole.end(), m.payload(i), m.payload(i) + m.payloadLen(i));
    CHECK(whole.size() == f.size());
    const uint32_t l4 = 14 + (v6 ? 40 : 20);
    CHECK(std::memcmp(whole.data() + l4 + 20, f.data() + l4 + 20, f.size() - l4 - 20) == 0);  // options and payload
    CHECK(get32(whole.data() + l4 + 4) == get32(f.data() + l4 + 4));
    CHECK(whole[l4 + 13] == (0x10 | 0x08));
    CHECK(out.gso_size == 1448 && out.hdr_len == l4 + 32 && out.csum_start == l4 && out.csum_offset == 16);
    // Finishing the rebuilt frame's checksum gives a valid packet.
    std::vector<uint8_t> buf(64 + whole.size());
    std::memcpy(buf.data() + 64, whole.data(), whole.size());
    vnet::Meta meta{};
    meta.hdr = out;
    meta.off = 64;
    std::memcpy(buf.data(), &meta, sizeof meta);
    CHECK(vnet::finishChecksum(Slot{0, 64, uint16_t(whole.size()), 0, 0, vnet::kSlotMeta}, buf.data()));
    CHECK(l4ok(buf.data() + 64, uint32_t(whole.size())));
    // A gap after the third segment: a run of three.
    put32(pool.data(3) + 64 + l4 + 4, get32(pool.data(3) + 64 + l4 + 4) + 1);
    CHECK(m.run(slots.data(), uint32_t(slots.size()), pool) == 3);
    // A segment without pending offload stands alone.
    slots[0].flags = 0;
    CHECK(m.run(slots.data(), uint32_t(slots.size()), pool) == 1);
  }

  // A frame whose sender left the checksum undone, found by parsing.
  auto f = superFrame(false, true, 100, rng);
  put16(&f[14 + 20 + 16], vnet::sum16(&f[14 + 12], 8, 6 + 132));
  auto g = f;  // the same, found with no header to say so (AF_XDP on a veth)
  CHECK(vnet::finishChecksumByParsing(f.data(), uint32_t(f.size())));
  CHECK(l4ok(f.data(), uint32_t(f.size())));
  CHECK(vnet::finishIfPartial(g.data(), uint32_t(g.size())));
  CHECK(g == f);
  CHECK(!vnet::finishIfPartial(g.data(), uint32_t(g.size())));  // right now: left alone
  g[g.size() - 1] ^= 0x5a;                                       // wrong, but not partial
  const auto wrong = g;
  CHECK(!vnet::finishIfPartial(g.data(), uint32_t(g.size())) && g == wrong);
  for (bool v6 : {false, true}) {  // UDP: partial finished, no checksum (0) left alone
    auto u = superFrame(v6, false, 100, rng);
    const uint32_t l4 = 14 + (v6 ? 40 : 20);
    put16(&u[l4 + 6], v6 ? vnet::sum16(&u[14 + 8], 32, 17 + 108) : vnet::sum16(&u[14 + 12], 8, 17 + 108));
    CHECK(vnet::finishIfPartial(u.data(), uint32_t(u.size())));
    CHECK(l4ok(u.data(), uint32_t(u.size())));
    put16(&u[l4 + 6], 0);
    CHECK(!vnet::finishIfPartial(u.data(), uint32_t(u.size())));
  }
  // Too big for the buffer: refused.
  auto big = superFrame(false, true, 64000, rng);
  virtio_net_hdr h{};
  h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
  h.gso_size = 9000;
  vnet::Segmenter seg;
  CHECK(!seg.start(big.data(), uint32_t(big.size()), h, 1984));

  std::printf(failures ? "vnet selftest: %d failures\n" : "vnet selftest: ok\n", failures);
  return failures ? 1 : 0;
}
