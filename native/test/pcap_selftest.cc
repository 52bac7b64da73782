// Selftest for the pcap driver (native/ports/pcap.cc) and its format reader
// (native/ports/pcap_format.cc). Standalone: no Node, no engine.
//
// test/native.test.ts builds it (with ASan and UBSan) and runs it. By hand,
// from the repository root:
//
//   g++ -std=c++17 -O2 -Wall -I native -o /tmp/pcap_selftest
//       native/test/pcap_selftest.cc native/ports/pcap.cc native/ports/pcap_format.cc
//       native/pool.cc native/counters.cc native/port.cc native/engine.cc native/rss.cc
//       native/distributor.cc native/ports/vnet.cc native/transmit.cc -lpthread && /tmp/pcap_selftest
//
// (one command; the lines are broken here for width).
//
// Add -fsanitize=address,undefined -g to catch reads past the end. Fixtures
// go to a fresh directory under /tmp; tshark/editcap and python3 with scapy
// are used when present (their checks are skipped, and said so, otherwise).
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "counters.h"
#include "pool.h"
#include "engine.h"
#include "port.h"
#include "ports/pcap_format.h"
#include "engine.h"
#include "port.h"

using namespace vnf;
using Bytes = std::vector<uint8_t>;

static int failures = 0, checks = 0;
static std::string show(const std::string& v) { return "\"" + v + "\""; }
static std::string show(const char* v) { return show(std::string(v)); }
template <class T> static std::string show(const T& v) { return std::to_string(v); }
#define CHECK(cond)                                                               \
  do {                                                                            \
    checks++;                                                                     \
    if (!(cond)) {                                                                \
      failures++;                                                                 \
      std::fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);        \
    }                                                                             \
  } while (0)
#define CHECK_EQ(a, b)                                                            \
  do {                                                                            \
    checks++;                                                                     \
    auto va = (a);                                                                \
    auto vb = (b);                                                                \
    if (!(va == vb)) {                                                            \
      failures++;                                                                 \
      std::fprintf(stderr, "FAIL %s:%d: %s == %s (%s vs %s)\n", __FILE__, __LINE__, \
                   #a, #b, show(va).c_str(), show(vb).c_str());                   \
    }                                                                             \
  } while (0)

static bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// ---- fixtures ---------------------------------------------------------------

static std::string dir;

static std::string path(const std::string& name) { return dir + "/" + name; }

static void writeFile(const std::string& p, const Bytes& b) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}

static Bytes readFile(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

static bool run(const std::string& cmd) { return std::system(cmd.c_str()) == 0; }

static std::string capture(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char b[4096];
  size_t n;
  while ((n = fread(b, 1, sizeof b, p)) > 0) out.append(b, n);
  pclose(p);
  return out;
}

static bool have(const std::string& tool) { return run("command -v " + tool + " >/dev/null 2>&1"); }

// Byte writer in a chosen byte order.
struct Out {
  Bytes b;
  bool big;
  explicit Out(bool bigEndian) : big(bigEndian) {}
  void u8(uint8_t v) { b.push_back(v); }
  void u16(uint16_t v) {
    if (big) { u8(v >> 8); u8(v); } else { u8(v); u8(v >> 8); }
  }
  void u32(uint32_t v) {
    if (big) { u16(v >> 16); u16(v); } else { u16(v); u16(v >> 16); }
  }
  void raw(const Bytes& d) { b.insert(b.end(), d.begin(), d.end()); }
  void pad4() { while (b.size() % 4) u8(0); }
};

// Frames of distinct content: an Ethernet header and a counter pattern.
static Bytes frame(uint32_t len, uint32_t seed) {
  Bytes f(len);
  for (uint32_t i = 0; i < len; i++) f[i] = uint8_t(seed * 31 + i * 7);
  if (len >= 14) { f[12] = 0x08; f[13] = 0x00; }
  return f;
}

static std::vector<Bytes> sampleFrames() {
  std::vector<Bytes> v;
  uint32_t sizes[] = {14, 60, 64, 100, 577, 1500, 1514, 1518, 1800, 42};
  for (uint32_t i = 0; i < 50; i++) v.push_back(frame(sizes[i % 10], i));
  return v;
}

static Bytes classic(const std::vector<Bytes>& frames, bool big, bool nanos,
                     uint32_t linktype = 1, bool modified = false) {
  Out o(big);
  o.u32(modified ? 0xa1b2cd34 : nanos ? 0xa1b23c4d : 0xa1b2c3d4);
  o.u16(2); o.u16(4); o.u32(0); o.u32(0); o.u32(65535); o.u32(linktype);
  uint32_t t = 1000;
  for (auto& f : frames) {
    o.u32(t++); o.u32(nanos ? 123456789 : 123456); o.u32(uint32_t(f.size())); o.u32(uint32_t(f.size()));
    if (modified) { o.u32(0); o.u16(0); o.u8(0); o.u8(0); }
    o.raw(f);
  }
  return o.b;
}

// pcapng blocks.
static void block(Out& o, uint32_t type, const Bytes& body) {
  Out bodyOut(o.big);
  bodyOut.b = body;
  bodyOut.pad4();
  uint32_t len = uint32_t(bodyOut.b.size()) + 12;
  o.u32(type); o.u32(len); o.raw(bodyOut.b); o.u32(len);
}
static void shb(Out& o) {
  Out b(o.big);
  b.u32(0x1a2b3c4d); b.u16(1); b.u16(0); b.u32(0xffffffff); b.u32(0xffffffff);
  block(o, 0x0a0d0d0a, b.b);
}
static void idb(Out& o, uint16_t linktype, uint32_t snaplen = 0) {
  Out b(o.big);
  b.u16(linktype); b.u16(0); b.u32(snaplen);
  block(o, 1, b.b);
}
static void epb(Out& o, uint32_t ifc, const Bytes& f, uint32_t caplen = ~0u) {
  Out b(o.big);
  b.u32(ifc); b.u32(0); b.u32(0);
  if (caplen == ~0u) caplen = uint32_t(f.size());
  b.u32(caplen); b.u32(uint32_t(f.size()));
  b.raw(caplen < f.size() ? Bytes(f.begin(), f.begin() + caplen) : f);  // snapped: only caplen bytes
  block(o, 6, b.b);
}
// `origlen` above the data's size makes a snapped SPB (the data is then
// min(origlen, snaplen) bytes, as the spec has it).
static void spb(Out& o, const Bytes& f, uint32_t origlen = 0) {
  Out b(o.big);
  b.u32(origlen ? origlen : uint32_t(f.size()));
  b.raw(f);
  block(o, 3, b.b);
}
static void opb(Out& o, uint16_t ifc, const Bytes& f) {
  Out b(o.big);
  b.u16(ifc); b.u16(0); b.u32(0); b.u32(0); b.u32(uint32_t(f.size())); b.u32(uint32_t(f.size()));
  b.raw(f);
  block(o, 2, b.b);
}

// ---- harness ----------------------------------------------------------------

static constexpr uint32_t kBufSize = 2048, kHeadroom = 128;  // frames up to 1920 bytes

struct Harness {
  Pool pool;
  CounterSet counters{1, 1};
  PoolCache cache{pool};
  Lane lane{cache, counters.lane(0)};
  explicit Harness(uint32_t buffers = 4096) : pool(buffers, kBufSize) {}
  uint64_t c(PortCounter k) { return lane.counters.port(0)[k]; }
};

// How many buffers the lane can get (takes them all, gives them back).
static uint32_t freeBuffers(Harness& h) {
  std::vector<uint32_t> all;
  uint32_t b;
  while (h.cache.alloc(b)) all.push_back(b);
  for (auto x : all) h.cache.free(x);
  return uint32_t(all.size());
}

// An engine with no ports: the driver only asks it for the RSS table.
static Engine& noEngine() {
  static Engine engine([] {
    EngineConfig c;
    c.buffers = 1024, c.bufSize = 2048, c.headroom = 64, c.ringSize = 1024, c.rxBatch = 256, c.txBatch = 32, c.idleUs = 100;
    return c;
  }());
  return engine;
}

static PortConfig config(const PortOptions& o) {
  PortConfig cfg;
  cfg.index = 0;
  cfg.name = "p";
  cfg.driver = "pcap";
  cfg.options = o;
  cfg.headroom = kHeadroom;
  return cfg;
}

static std::unique_ptr<Port> openRead(const std::string& file, const std::string& loop = "1") {
  return openPort(config({{"file", file}, {"read", "1"}, {"loop", loop}}), noEngine());
}

// The error text an open raises, or "" when it opens.
// The driver's message, after the prefix openPort() puts on every one.
static std::string openError(const PortOptions& o) {
  try {
    openPort(config(o), noEngine());
  } catch (const std::exception& e) {
    const std::string what = e.what(), prefix = "port p (pcap): ";
    CHECK_EQ(what.substr(0, prefix.size()), prefix);
    return what.substr(prefix.size());
  }
  return "";
}

// Receives until exhausted (or `limit` frames), as the engine does (counted
// where frames enter); copies frames out, frees buffers.
static std::vector<Bytes> drain(Harness& h, Port& port, uint32_t batch = 32, size_t limit = 1u << 24) {
  std::vector<Bytes> got;
  std::vector<Slot> slots(batch);
  for (int guard = 0; guard < 10000000 && got.size() < limit; guard++) {
    int n = receiveFrom(port, h.lane, slots.data(), batch, 0);
    if (n == Port::kExhausted) break;
    CHECK(n >= 0 && uint32_t(n) <= batch);
    for (int i = 0; i < n; i++) {
      const Slot& s = slots[i];
      CHECK_EQ(uint32_t(s.off), kHeadroom);
      CHECK_EQ(uint32_t(s.port), 0u);
      const uint8_t* p = h.pool.data(s.buf) + s.off;
      got.emplace_back(p, p + s.len);
      h.cache.free(s.buf);
    }
  }
  return got;
}

static bool sameFrames(const std::vector<Bytes>& a, const std::vector<Bytes>& b) {
  if (a.size() != b.size()) {
    std::fprintf(stderr, "  frame count %zu vs %zu\n", a.size(), b.size());
    return false;
  }
  for (size_t i = 0; i < a.size(); i++)
    if (a[i] != b[i]) {
      std::fprintf(stderr, "  frame %zu differs (%zu vs %zu bytes)\n", i, a[i].size(), b[i].size());
      return false;
    }
  return true;
}

// Writes frames through a write-mode port; returns the harness counters.
static void writeThrough(Harness& h, const std::string& file, const std::vector<Bytes>& frames,
                         const std::string& snaplen = "65535") {
  auto port = openPort(config({{"file", file}, {"write", "1"}, {"snaplen", snaplen}}),
                           noEngine());
  CHECK_EQ(port->receive(h.lane, nullptr, 0), Port::kExhausted);
  std::vector<Slot> slots;
  for (size_t i = 0; i < frames.size(); i++) {
    uint32_t buf = 0;
    CHECK(h.cache.alloc(buf));
    std::memcpy(h.pool.data(buf) + 64, frames[i].data(), frames[i].size());
    slots.push_back(Slot{buf, 64, uint16_t(frames[i].size()), 0, 0, 0});
    if (slots.size() == 7 || i + 1 == frames.size()) {
      port->transmit(h.lane, slots.data(), uint32_t(slots.size()));
      slots.clear();
    }
  }
  port->close();
  port->close();  // idempotent
}

// ---- tests ------------------------------------------------------------------

static void testRoundTrip() {
  std::printf("round trip write -> read\n");
  Harness h;
  auto frames = sampleFrames();
  uint32_t before = freeBuffers(h);
  std::string f = path("rt.pcap");
  writeThrough(h, f, frames);
  uint64_t bytes = 0;
  for (auto& fr : frames) bytes += fr.size();
  CHECK_EQ(h.c(tx_packets), uint64_t(frames.size()));
  CHECK_EQ(h.c(tx_bytes), bytes);
  CHECK_EQ(h.c(tx_errors), 0u);

  Bytes file = readFile(f);
  CHECK(file.size() > 24);
  const uint8_t hdr[] = {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0};
  CHECK(std::memcmp(file.data(), hdr, sizeof hdr) == 0);
  CHECK_EQ(file[20], 1);  // LINKTYPE_ETHERNET
  CHECK_EQ(uint32_t(file[16] | file[17] << 8), 65535u);

  auto port = openRead(f);
  CHECK_EQ(port->describe(), "pcap read " + f + " (pcap)");
  CHECK(sameFrames(drain(h, *port), frames));
  CHECK_EQ(h.c(rx_packets), uint64_t(frames.size()));
  CHECK_EQ(h.c(rx_bytes), bytes);
  CHECK_EQ(h.c(rx_malformed), 0u);
  std::vector<Slot> s(4);
  CHECK_EQ(port->receive(h.lane, s.data(), 4), Port::kExhausted);  // stays exhausted
  port->close();
  CHECK_EQ(port->receive(h.lane, s.data(), 4), Port::kExhausted);

  // A batch of 1 and a batch larger than the file give the same frames.
  Harness h2;
  auto p1 = openRead(f);
  CHECK(sameFrames(drain(h2, *p1, 1), frames));
  auto p2 = openRead(f);
  CHECK(sameFrames(drain(h2, *p2, 1024), frames));
  p1.reset();
  p2.reset();

  // Every buffer came back.
  CHECK_EQ(freeBuffers(h), before);

  if (have("tshark")) {
    std::string lens = capture("tshark -r " + f + " -T fields -e frame.len 2>/dev/null");
    std::string want;
    for (auto& fr : frames) want += std::to_string(fr.size()) + "\n";
    CHECK(lens == want);
  } else {
    std::printf("  (tshark missing: external check skipped)\n");
  }
}

static void testSnaplen() {
  std::printf("write snaplen\n");
  Harness h;
  auto frames = sampleFrames();
  std::string f = path("snap.pcap");
  writeThrough(h, f, frames, "100");
  auto port = openRead(f);
  auto got = drain(h, *port);
  CHECK_EQ(got.size(), frames.size());
  for (size_t i = 0; i < got.size() && i < frames.size(); i++) {
    size_t want = std::min<size_t>(frames[i].size(), 100);
    CHECK(got[i] == Bytes(frames[i].begin(), frames[i].begin() + want));
  }
  // The original length is kept on the record.
  if (have("tshark")) {
    std::string lens = capture("tshark -r " + f + " -T fields -e frame.len -e frame.cap_len 2>/dev/null");
    CHECK(contains(lens, "1514\t100\n"));
  }
  auto w = openPort(config({{"file", path("x.pcap")}, {"write", "1"}, {"snaplen", "100"}}),
                        noEngine());
  CHECK_EQ(w->describe(), "pcap write " + path("x.pcap") + " (snaplen 100)");
}

static void testByteOrders() {
  std::printf("classic pcap: byte orders, nanoseconds, modified\n");
  auto frames = sampleFrames();
  struct { bool big, nanos, modified; const char* summary; } cases[] = {
      {false, false, false, "pcap"},
      {true, false, false, "pcap, big-endian"},
      {false, true, false, "pcap, nanosecond"},
      {true, true, false, "pcap, big-endian, nanosecond"},
      {false, false, true, "pcap, modified"},
      {true, false, true, "pcap, big-endian, modified"},
  };
  for (auto& c : cases) {
    Harness h;
    std::string f = path("order.pcap");
    writeFile(f, classic(frames, c.big, c.nanos, 1, c.modified));
    auto port = openRead(f);
    CHECK_EQ(port->describe(), "pcap read " + f + " (" + c.summary + ")");
    CHECK(sameFrames(drain(h, *port), frames));
    CHECK_EQ(h.c(rx_malformed), 0u);
  }
}

static void testExternalTools() {
  std::printf("files written by editcap/tshark and scapy\n");
  auto frames = sampleFrames();
  std::string src = path("src.pcap");
  writeFile(src, classic(frames, false, false));
  if (have("editcap")) {
    struct { const char* fmt; const char* file; const char* summary; } cases[] = {
        {"pcapng", "t.pcapng", "pcapng, 1 interface"},
        {"nsecpcap", "t.nsec.pcap", "pcap, nanosecond"},
    };
    for (auto& c : cases) {
      Harness h;
      std::string f = path(c.file);
      CHECK(run(std::string("editcap -F ") + c.fmt + " " + src + " " + f));
      auto port = openRead(f);
      CHECK_EQ(port->describe(), "pcap read " + f + " (" + c.summary + ")");
      CHECK(sameFrames(drain(h, *port), frames));
      CHECK_EQ(h.c(rx_malformed), 0u);
    }
    // tshark's own default output is pcapng.
    Harness h;
    std::string f = path("tshark.pcapng");
    CHECK(run("tshark -r " + src + " -w " + f + " 2>/dev/null"));
    auto port = openRead(f);
    CHECK(sameFrames(drain(h, *port), frames));
    // Two inputs merged: tshark keeps one section, mergecap may add interfaces.
    if (have("mergecap")) {
      Harness h2;
      std::string m = path("merged.pcapng");
      CHECK(run("mergecap -a -F pcapng -w " + m + " " + src + " " + path("t.pcapng")));
      auto mp = openRead(m);
      auto got = drain(h2, *mp);
      auto want = frames;
      want.insert(want.end(), frames.begin(), frames.end());
      CHECK(sameFrames(got, want));
    }
  } else {
    std::printf("  (editcap missing: skipped)\n");
  }

  // scapy writes real traffic; we must see exactly its bytes.
  std::string py = run("/usr/bin/python3 -c 'import scapy' 2>/dev/null") ? "/usr/bin/python3"
                   : run("python3 -c 'import scapy' 2>/dev/null")         ? "python3"
                                                                          : "";
  if (py.empty()) {
    std::printf("  (python3 scapy missing: skipped)\n");
    return;
  }
  std::string script = path("gen.py");
  std::ofstream(script) <<
      "import sys\n"
      "from scapy.all import Ether, IP, IPv6, TCP, UDP, ICMP, ARP, Raw, wrpcap, wrpcapng\n"
      "pk = [Ether(src='02:00:00:00:00:01', dst='02:00:00:00:00:02')/IP(src='10.0.0.1', dst='10.0.0.2')/TCP(sport=1234, dport=80, flags='S'),\n"
      "      Ether()/IP(dst='10.9.9.9')/UDP(dport=53)/Raw(b'x'*300),\n"
      "      Ether()/IPv6(dst='fe80::1')/ICMP(),\n"
      "      Ether(dst='ff:ff:ff:ff:ff:ff')/ARP(pdst='10.0.0.7'),\n"
      "      Ether()/IP()/UDP()/Raw(b'y'*1400)]\n"
      "wrpcapng(sys.argv[1] + '.pcapng', pk)\n"
      "wrpcap(sys.argv[1] + '.nsec.pcap', pk, nano=True)\n"
      "for p in pk: print(bytes(p).hex())\n";
  std::string hex = capture(py + " " + script + " " + path("scapy") + " 2>/dev/null");
  std::vector<Bytes> want;
  std::istringstream lines(hex);
  for (std::string l; std::getline(lines, l);) {
    Bytes b;
    for (size_t i = 0; i + 1 < l.size(); i += 2) b.push_back(uint8_t(std::stoul(l.substr(i, 2), nullptr, 16)));
    want.push_back(b);
  }
  CHECK_EQ(want.size(), 5u);
  for (const char* ext : {".pcapng", ".nsec.pcap"}) {
    Harness h;
    auto port = openRead(path("scapy") + ext);
    CHECK(sameFrames(drain(h, *port), want));
  }
}

static void testPcapng() {
  std::printf("pcapng: sections, byte orders, block kinds\n");
  Bytes a = frame(60, 1), b = frame(99, 2), c = frame(1514, 3), d = frame(64, 4);
  for (bool big : {false, true}) {
    Out o(big);
    shb(o);
    block(o, 0x00000004, Bytes(4, 0));         // name resolution block: skipped
    idb(o, 1);
    idb(o, 1, 80);
    epb(o, 0, a);
    block(o, 0x00000005, Bytes(24, 0));        // interface statistics: skipped
    epb(o, 1, b);
    spb(o, c);                                 // interface 0, no snaplen
    opb(o, 0, d);
    block(o, 0x40000bad, Bytes(8, 1));         // custom: skipped
    // A second section in the other byte order with a snapped SPB.
    Out o2(!big);
    shb(o2);
    idb(o2, 1, 100);
    spb(o2, Bytes(c.begin(), c.begin() + 100), 1514);  // snapped to 100 bytes
    epb(o2, 0, c, 200);                        // snapped EPB: caplen 200 of 1514
    o.raw(o2.b);
    Harness h;
    std::string f = path("hand.pcapng");
    writeFile(f, o.b);
    auto port = openRead(f);
    CHECK_EQ(port->describe(),
             "pcap read " + f + " (pcapng, 2 interfaces" + (big ? ", big-endian)" : ")"));
    auto got = drain(h, *port);
    std::vector<Bytes> want = {a, b, c, d, Bytes(c.begin(), c.begin() + 100),
                               Bytes(c.begin(), c.begin() + 200)};
    CHECK(sameFrames(got, want));
    CHECK_EQ(h.c(rx_malformed), 0u);
    if (have("tshark")) {  // and tshark agrees
      std::string out = capture("tshark -r " + f + " -Y eth -T fields -e frame.cap_len -e frame.len 2>/dev/null");
      CHECK_EQ(out, std::string("60\t60\n99\t99\n1514\t1514\n64\t64\n100\t1514\n200\t1514\n"));
    }
  }

  // Section with no packets; a later section's foreign interface drops its
  // packets (counted); packets naming undeclared interfaces are dropped too.
  {
    Out o(false);
    shb(o);
    idb(o, 1);
    epb(o, 0, a);
    epb(o, 3, b);                              // undeclared interface
    shb(o);
    idb(o, 1);
    idb(o, 113);                               // Linux cooked, after the first packet
    epb(o, 1, b);                              // on the foreign interface
    epb(o, 0, d);
    epb(o, 0, a, 5000);                        // caplen larger than the block
    epb(o, 0, c);
    Harness h;
    std::string f = path("mixed.pcapng");
    writeFile(f, o.b);
    auto port = openRead(f);
    CHECK(sameFrames(drain(h, *port), {a, d, c}));
    CHECK_EQ(h.c(rx_malformed), 3u);
    CHECK(contains(port->describe(), "warning: packet block at offset"));
    CHECK(contains(port->describe(), "interface 3"));
  }
  // An empty capture: just a section header.
  {
    Out o(true);
    shb(o);
    Harness h;
    std::string f = path("empty.pcapng");
    writeFile(f, o.b);
    auto port = openRead(f, "0");
    CHECK(drain(h, *port).empty());
    CHECK_EQ(port->describe(), "pcap read " + f + " (pcapng, 0 interfaces, big-endian, looping forever)");
  }
}

static void testOpenErrors() {
  std::printf("open errors\n");
  auto frames = sampleFrames();
  auto err = [](const std::string& f) { return openError({{"file", f}, {"read", "1"}}); };

  writeFile(path("empty.pcap"), {});
  CHECK_EQ(err(path("empty.pcap")), path("empty.pcap") + ": empty file, not a pcap capture");
  writeFile(path("short.pcap"), {0xd4, 0xc3});
  CHECK(contains(err(path("short.pcap")), "too short to be a pcap file (2 bytes)"));
  Bytes full = classic(frames, false, false);
  writeFile(path("hdr.pcap"), Bytes(full.begin(), full.begin() + 10));
  CHECK_EQ(err(path("hdr.pcap")), path("hdr.pcap") + ": truncated pcap header (10 of 24 bytes)");
  writeFile(path("garbage.pcap"), {'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P'});
  CHECK_EQ(err(path("garbage.pcap")),
           path("garbage.pcap") + ": not a pcap or pcapng file (starts with 0x47455420)");
  std::string e = err(path("nonexistent.pcap"));
  CHECK_EQ(e, "cannot read " + path("nonexistent.pcap") + ": No such file or directory");
  CHECK(contains(err(dir), "it is a directory"));
  CHECK(contains(err("/dev/null"), "not a regular file"));

  writeFile(path("sll.pcap"), classic(frames, true, false, 113));
  CHECK_EQ(err(path("sll.pcap")),
           path("sll.pcap") + ": the capture has link type 113 LINUX_SLL (Linux cooked capture, "
                              "e.g. -i any); only Ethernet (link type 1) is supported");
  writeFile(path("raw.pcap"), classic(frames, false, false, 101));
  CHECK(contains(err(path("raw.pcap")), "link type 101 RAW"));
  writeFile(path("odd.pcap"), classic(frames, false, false, 4242));
  CHECK(contains(err(path("odd.pcap")), "link type 4242; only Ethernet"));

  {
    Out o(false);
    shb(o);
    idb(o, 1);
    idb(o, 127);
    epb(o, 0, frames[0]);
    writeFile(path("radiotap.pcapng"), o.b);
    CHECK(contains(err(path("radiotap.pcapng")), "interface 1 has link type 127 IEEE802_11_RADIOTAP"));
  }
  {
    Out o(false);
    shb(o);
    writeFile(path("shb.pcapng"), Bytes(o.b.begin(), o.b.begin() + 20));
    CHECK(contains(err(path("shb.pcapng")), "truncated pcapng section header (20 of 28 bytes)"));
    Bytes bad = o.b;
    bad[8] = 0x99;
    writeFile(path("bom.pcapng"), bad);
    CHECK(contains(err(path("bom.pcapng")), "byte-order magic 0x993c2b1a"));
  }

  // Options.
  // (Their values are checked in runtime/ports.ts against the schema.)
  CHECK(contains(openError({{"file", ""}, {"read", "1"}}), "needs a file"));
  CHECK(contains(openError({{"file", path("rt.pcap")}, {"read", "1"}, {"write", "1"}}), "choose read or write, not both"));
  CHECK(contains(openError({{"file", path("w.pcap")}, {"write", "1"}, {"loop", "2"}}), "loop only applies to a pcap that is read"));
  CHECK_EQ(openError({{"file", "/nonexistent/dir/out.pcap"}, {"write", "1"}}),
           "cannot write /nonexistent/dir/out.pcap: No such file or directory");
  CHECK_EQ(openError({{"file", "/dev/full"}, {"write", "1"}}),
           "cannot write /dev/full: No space left on device");
}

static void testTruncatedAndBroken() {
  std::printf("truncated and broken records\n");
  auto frames = sampleFrames();
  Bytes full = classic(frames, false, false);

  // Cut in the middle of the last frame, and in the middle of a record header.
  size_t lastFrame = full.size() - frames.back().size();
  struct { size_t cut; size_t keep; const char* text; } cases[] = {
      {full.size() - 5, frames.size() - 1, "truncated record at offset"},
      {lastFrame - 8, frames.size() - 1, "truncated record header at offset"},
  };
  for (auto& c : cases) {
    Harness h;
    std::string f = path("cut.pcap");
    writeFile(f, Bytes(full.begin(), full.begin() + long(c.cut)));
    auto port = openRead(f);
    auto got = drain(h, *port);
    CHECK(sameFrames(got, std::vector<Bytes>(frames.begin(), frames.begin() + long(c.keep))));
    CHECK_EQ(h.c(rx_malformed), 1u);
    CHECK(contains(port->describe(), std::string("; warning: ") + c.text));
    CHECK(contains(port->describe(), "stopped reading there"));
  }

  // An absurd caplen on the third record.
  {
    Bytes bad = full;
    size_t off = 24 + 16 + frames[0].size() + 16 + frames[1].size();
    bad[off + 8] = 0; bad[off + 9] = 0; bad[off + 10] = 0x40; bad[off + 11] = 0;  // 4 MiB
    Harness h;
    std::string f = path("absurd.pcap");
    writeFile(f, bad);
    auto port = openRead(f);
    CHECK(sameFrames(drain(h, *port), {frames[0], frames[1]}));
    CHECK_EQ(h.c(rx_malformed), 1u);
    CHECK(contains(port->describe(), "claims 4194304 bytes"));
    // Looping replays the good part each pass, counting the stop each time.
    Harness h2;
    auto loop = openRead(f, "3");
    CHECK_EQ(drain(h2, *loop).size(), 6u);
    CHECK_EQ(h2.c(rx_malformed), 3u);
  }

  // pcapng cut inside a block.
  {
    Out o(false);
    shb(o);
    idb(o, 1);
    for (auto& fr : frames) epb(o, 0, fr);
    Harness h;
    std::string f = path("cut.pcapng");
    writeFile(f, Bytes(o.b.begin(), o.b.end() - 30));
    auto port = openRead(f);
    CHECK(sameFrames(drain(h, *port), std::vector<Bytes>(frames.begin(), frames.end() - 1)));
    CHECK_EQ(h.c(rx_malformed), 1u);
    CHECK(contains(port->describe(), "truncated block at offset"));
    // A block whose trailing length disagrees.
    Bytes bad = o.b;
    bad[bad.size() - 1] ^= 0x10;
    writeFile(f, bad);
    Harness h2;
    auto p2 = openRead(f);
    CHECK_EQ(drain(h2, *p2).size(), frames.size() - 1);
    CHECK(contains(p2->describe(), "ends with length"));
  }
}

static void testRuntsAndOversize() {
  std::printf("runts and oversize frames\n");
  std::vector<Bytes> in = {frame(60, 1), Bytes(), frame(10, 2), frame(13, 3), frame(14, 4),
                           frame(1920, 5), frame(1921, 6), frame(9000, 7), frame(64, 8)};
  Harness h;
  std::string f = path("runts.pcap");
  writeFile(f, classic(in, false, false));
  auto port = openRead(f);
  CHECK(sameFrames(drain(h, *port), {in[0], in[4], in[5], in[8]}));
  CHECK_EQ(h.c(rx_malformed), 3u);  // the runts
  CHECK_EQ(h.c(rx_oversize), 2u);   // longer than the largest buffer (this pool has no large ones)
  CHECK_EQ(h.c(rx_packets), 4u);
  CHECK(contains(port->describe(), "warning: 0-byte runt at offset 100 dropped"));

  std::vector<Bytes> big = {frame(60, 1), frame(3000, 2)};
  writeFile(f, classic(big, false, false));
  Harness h2;
  auto p2 = openRead(f);
  CHECK_EQ(drain(h2, *p2).size(), 1u);
  CHECK_EQ(h2.c(rx_oversize), 1u);
  CHECK(contains(p2->describe(), "3000-byte frame at offset 100 dropped: the largest buffer holds 1920 bytes"));
  // Only runts, looping forever: must end, not spin.
  writeFile(f, classic({Bytes(), frame(5, 1)}, false, false));
  Harness h3;
  auto p3 = openRead(f, "0");
  CHECK(drain(h3, *p3).empty());
  CHECK_EQ(h3.c(rx_malformed), 2u);
}

static void testLoopAndBuffers() {
  std::printf("looping, pool exhaustion, transmit on a read port\n");
  auto frames = sampleFrames();
  std::string f = path("loop.pcap");
  writeFile(f, classic(frames, false, false));
  {
    Harness h;
    auto port = openRead(f, "3");
    CHECK(contains(port->describe(), "3 times"));
    auto got = drain(h, *port, 32);
    auto want = frames;
    for (int i = 0; i < 2; i++) want.insert(want.end(), frames.begin(), frames.end());
    CHECK(sameFrames(got, want));
  }
  {
    Harness h;
    auto port = openRead(f, "0");
    auto got = drain(h, *port, 32, 10 * frames.size() + 5);
    CHECK(got.size() >= 10 * frames.size() + 5);  // still going
    CHECK(got[frames.size() * 7 + 3] == frames[3]);
  }
  {
    // 8 buffers: receive stops when the pool is empty; nothing is lost.
    Harness h(8);
    auto port = openRead(f);
    std::vector<Slot> held(64);
    int n = port->receive(h.lane, held.data(), 64);
    CHECK_EQ(n, 8);
    CHECK_EQ(h.c(rx_no_buffer), 1u);
    CHECK_EQ(port->receive(h.lane, held.data() + 8, 8), 0);
    CHECK_EQ(h.c(rx_no_buffer), 2u);
    std::vector<Bytes> got;
    for (int i = 0; i < 8; i++) {
      got.emplace_back(h.pool.data(held[i].buf) + kHeadroom, h.pool.data(held[i].buf) + kHeadroom + held[i].len);
      h.cache.free(held[i].buf);
    }
    auto rest = drain(h, *port, 64);
    got.insert(got.end(), rest.begin(), rest.end());
    CHECK(sameFrames(got, frames));

    // Transmit on a read port frees every slot and counts it.
    std::vector<Slot> tx(5);
    for (auto& s : tx) { CHECK(h.cache.alloc(s.buf)); s.len = 60; }
    port->transmit(h.lane, tx.data(), 5);
    CHECK_EQ(h.c(tx_no_output), 5u);
    uint32_t b, count = 0;
    std::vector<uint32_t> all;
    while (h.cache.alloc(b)) { all.push_back(b); count++; }
    CHECK_EQ(count, 8u);
    for (auto x : all) h.cache.free(x);
  }
}

static void testWriteErrors() {
  std::printf("write errors (file size limit as a full disk)\n");
  auto frames = sampleFrames();
  std::string f = path("limited.pcap");
  struct rlimit old;
  getrlimit(RLIMIT_FSIZE, &old);
  signal(SIGXFSZ, SIG_IGN);
  Harness h;
  {
    auto port = openPort(config({{"file", f}, {"write", "1"}}), noEngine());
    struct rlimit lim = old;
    lim.rlim_cur = 1536 * 1024;  // room for one full buffer, not two
    setrlimit(RLIMIT_FSIZE, &lim);
    std::vector<Slot> slots(frames.size());
    uint64_t sent = 0;
    for (int round = 0; round < 80; round++) {  // ~3.5 MiB
      for (size_t i = 0; i < frames.size(); i++) {
        CHECK(h.cache.alloc(slots[i].buf));
        std::memcpy(h.pool.data(slots[i].buf), frames[i].data(), frames[i].size());
        slots[i].off = 0;
        slots[i].len = uint16_t(frames[i].size());
      }
      port->transmit(h.lane, slots.data(), uint32_t(slots.size()));
      sent += slots.size();
    }
    port->close();
    setrlimit(RLIMIT_FSIZE, &old);
    CHECK(h.c(tx_errors) > 0);
    CHECK(h.c(tx_packets) > 0);
    CHECK_EQ(h.c(tx_packets) + h.c(tx_errors), sent);
    CHECK(contains(port->describe(), "warning: write failed: File too large"));
  }
  signal(SIGXFSZ, SIG_DFL);
  // What did reach the file is whole.
  Harness r;
  auto port = openRead(f);
  CHECK_EQ(drain(r, *port).size(), h.c(tx_packets));
  CHECK_EQ(r.c(rx_malformed), 0u);

  // The destructor closes (and flushes) a port nobody closed.
  Harness h2;
  std::string f2 = path("noclose.pcap");
  {
    auto w = openPort(config({{"file", f2}, {"write", "1"}}), noEngine());
    Slot s{0, 0, 60, 0, 0, 0};
    CHECK(h2.cache.alloc(s.buf));
    w->transmit(h2.lane, &s, 1);
  }
  CHECK_EQ(readFile(f2).size(), 24u + 16 + 60);
  // A slot outside its buffer is refused, not read.
  {
    auto w = openPort(config({{"file", f2}, {"write", "1"}}), noEngine());
    Slot s{0, 2000, 100, 0, 0, 0};
    CHECK(h2.cache.alloc(s.buf));
    w->transmit(h2.lane, &s, 1);
    CHECK_EQ(h2.c(tx_errors), 1u);
  }
}

// Every prefix and many random corruptions of valid files, parsed from heap
// copies of exactly their size so a sanitizer build sees any overread.
static void testFuzz() {
  std::printf("prefixes and random corruption\n");
  auto all = sampleFrames();
  std::vector<Bytes> frames(all.begin(), all.begin() + 22);
  std::vector<Bytes> seeds = {classic(frames, false, false), classic(frames, true, true),
                              classic(frames, false, false, 1, true)};
  {
    Out o(true);
    shb(o);
    idb(o, 1, 500);
    for (size_t i = 0; i < 12; i++) {
      if (i % 3 == 0) spb(o, frames[i]);
      else if (i % 3 == 1) epb(o, 0, frames[i]);
      else opb(o, 0, frames[i]);
    }
    Out o2(false);
    shb(o2);
    idb(o2, 1);
    epb(o2, 0, frames[20]);
    o.raw(o2.b);
    seeds.push_back(o.b);
  }
  auto parse = [](const Bytes& b) {
    uint8_t* copy = static_cast<uint8_t*>(std::malloc(b.size() ? b.size() : 1));
    if (!b.empty()) std::memcpy(copy, b.data(), b.size());   // data() may be null when empty
    size_t n = 0;
    try {
      pcapfmt::Reader r(copy, b.size(), "fuzz");
      pcapfmt::Record rec;
      for (int pass = 0; pass < 2; pass++) {
        for (int guard = 0; guard < 100000; guard++) {
          auto s = r.next(rec);
          if (s == pcapfmt::Reader::kEnd || s == pcapfmt::Reader::kBroken) break;
          if (s == pcapfmt::Reader::kFrame) {
            CHECK(rec.data >= copy && rec.data + rec.caplen <= copy + b.size());
            volatile uint8_t sink = 0;
            for (uint32_t i = 0; i < rec.caplen; i++) sink ^= rec.data[i];
            n++;
          }
        }
        r.rewind();
      }
    } catch (const std::runtime_error&) {
    }
    std::free(copy);
    return n;
  };
  std::mt19937 rng(12345);
  for (auto& seed : seeds) {
    for (size_t len = 0; len <= seed.size(); len++) parse(Bytes(seed.begin(), seed.begin() + long(len)));
    for (int i = 0; i < 3000; i++) {
      Bytes b = seed;
      int flips = 1 + int(rng() % 8);
      for (int k = 0; k < flips; k++) b[rng() % b.size()] = uint8_t(rng());
      if (rng() % 4 == 0) b.resize(rng() % b.size());
      parse(b);
    }
  }
  // And through the driver, from files.
  for (int i = 0; i < 200; i++) {
    Bytes b = seeds[i % seeds.size()];
    for (int k = 0; k < 4; k++) b[rng() % b.size()] = uint8_t(rng());
    std::string f = path("fuzz.bin");
    writeFile(f, b);
    try {
      Harness h;
      auto port = openRead(f, "2");
      drain(h, *port);
      port->describe();
    } catch (const std::runtime_error& e) {
      CHECK(std::string(e.what()).find('\n') == std::string::npos);
    }
  }
}

int main() {
  char tmpl[] = "/tmp/pcap_selftest.XXXXXX";
  if (!mkdtemp(tmpl)) { std::perror("mkdtemp"); return 2; }
  dir = tmpl;
  testRoundTrip();
  testSnaplen();
  testByteOrders();
  testExternalTools();
  testPcapng();
  testOpenErrors();
  testTruncatedAndBroken();
  testRuntsAndOversize();
  testLoopAndBuffers();
  testWriteErrors();
  testFuzz();
  run("rm -rf " + dir);
  if (failures) {
    std::printf("pcap selftest: %d of %d checks FAILED\n", failures, checks);
    return 1;
  }
  std::printf("pcap selftest: all %d checks passed\n", checks);
  return 0;
}
