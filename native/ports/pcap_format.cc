#include "pcap_format.h"

#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace vnf {
namespace pcapfmt {

namespace {

constexpr uint32_t kMagicUsec = 0xa1b2c3d4;
constexpr uint32_t kMagicNsec = 0xa1b23c4d;
constexpr uint32_t kMagicModified = 0xa1b2cd34;   // Kuznetsov's patched libpcap
constexpr uint32_t kPcapHeader = 24;

constexpr uint32_t kBlockSHB = 0x0a0d0d0a;
constexpr uint32_t kBlockIDB = 1;
constexpr uint32_t kBlockOPB = 2;    // obsolete packet block
constexpr uint32_t kBlockSPB = 3;
constexpr uint32_t kBlockEPB = 6;
constexpr uint32_t kByteOrderMagic = 0x1a2b3c4d;
constexpr uint32_t kMinSHB = 28;

constexpr bool kHostBigEndian = __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__;

uint32_t raw32(const uint8_t* p) { uint32_t v; std::memcpy(&v, p, 4); return v; }

std::string hex(const uint8_t* p, size_t n) {
  std::string s = "0x";
  char b[3];
  for (size_t i = 0; i < n; i++) { std::snprintf(b, sizeof b, "%02x", p[i]); s += b; }
  return s;
}

std::string at(size_t off) { return "at offset " + std::to_string(off); }

}  // namespace

const char* linkTypeName(uint32_t lt) {
  switch (lt) {
    case 0: return "NULL (BSD loopback)";
    case 1: return "ETHERNET";
    case 101: return "RAW (IP without link header)";
    case 105: return "IEEE802_11";
    case 108: return "LOOP (OpenBSD loopback)";
    case 113: return "LINUX_SLL (Linux cooked capture, e.g. -i any)";
    case 127: return "IEEE802_11_RADIOTAP";
    case 228: return "IPV4";
    case 229: return "IPV6";
    case 276: return "LINUX_SLL2 (Linux cooked capture v2, e.g. -i any)";
    default: return "";
  }
}

static std::runtime_error linkError(const std::string& file, const std::string& what, uint32_t lt) {
  std::string name = linkTypeName(lt);
  return std::runtime_error(file + ": " + what + " link type " + std::to_string(lt) +
                            (name.empty() ? "" : " " + name) +
                            "; only Ethernet (link type 1) is supported");
}

Reader::Reader(const uint8_t* data, size_t size, const std::string& file)
    : data_(data), size_(size), file_(file) {
  if (size == 0) throw std::runtime_error(file + ": empty file, not a pcap capture");
  if (size < 4)
    throw std::runtime_error(file + ": too short to be a pcap file (" + std::to_string(size) +
                             " bytes)");
  uint32_t m = raw32(data);
  if (m == kBlockSHB) {
    openPcapng();
  } else if (m == kMagicUsec || m == kMagicNsec || m == kMagicModified ||
             m == __builtin_bswap32(kMagicUsec) || m == __builtin_bswap32(kMagicNsec) ||
             m == __builtin_bswap32(kMagicModified)) {
    openPcap();
  } else {
    throw std::runtime_error(file + ": not a pcap or pcapng file (starts with " +
                             hex(data, 4) + ")");
  }
}

uint32_t Reader::u32(const uint8_t* p) const {
  uint32_t v = raw32(p);
  return swap_ ? __builtin_bswap32(v) : v;
}

uint16_t Reader::u16(const uint8_t* p) const {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return swap_ ? __builtin_bswap16(v) : v;
}

void Reader::openPcap() {
  kind_ = kPcap;
  uint32_t m = raw32(data_);
  swap_ = m == __builtin_bswap32(kMagicUsec) || m == __builtin_bswap32(kMagicNsec) ||
          m == __builtin_bswap32(kMagicModified);
  m = u32(data_);
  nanos_ = m == kMagicNsec;
  recHdr_ = m == kMagicModified ? 24 : 16;
  if (size_ < kPcapHeader)
    throw std::runtime_error(file_ + ": truncated pcap header (" + std::to_string(size_) +
                             " of " + std::to_string(kPcapHeader) + " bytes)");
  // Bits 0-15 are the link type, 16-25 must be zero, 26-31 describe an FCS.
  uint32_t lt = u32(data_ + 20) & 0x03ffffff;
  if (lt != kLinkEthernet) throw linkError(file_, "the capture has", lt);
  first_ = pos_ = kPcapHeader;
}

void Reader::openPcapng() {
  kind_ = kPcapng;
  if (size_ < kMinSHB)
    throw std::runtime_error(file_ + ": truncated pcapng section header (" +
                             std::to_string(size_) + " of " + std::to_string(kMinSHB) +
                             " bytes)");
  first_ = pos_ = 0;
  if (!sectionHeader()) throw std::runtime_error(file_ + ": " + warning_);
  bigEndian_ = swap_ != kHostBigEndian;
  // Walk to the first packet so interfaces declared up front are checked now
  // rather than as drops later. A later section's foreign interfaces show up
  // as skipped packets (counted malformed) with a warning.
  Record r;
  nextPcapng(r);
  for (size_t i = 0; i < ifaces_.size(); i++)
    if (ifaces_[i].linktype != kLinkEthernet)
      throw linkError(file_, "interface " + std::to_string(i) + " has", ifaces_[i].linktype);
  openIfaces_ = uint32_t(ifaces_.size());
  warning_.clear();
  rewind();
}

void Reader::rewind() {
  pos_ = first_;
  done_ = false;
  ifaces_.clear();
  if (kind_ == kPcapng) swap_ = false;  // the first SHB sets it again
}

Reader::Status Reader::broken(const std::string& why) {
  warning_ = why;
  done_ = true;
  return kBroken;
}

Reader::Status Reader::next(Record& rec) {
  if (done_) return kEnd;
  return kind_ == kPcap ? nextPcap(rec) : nextPcapng(rec);
}

Reader::Status Reader::nextPcap(Record& rec) {
  size_t left = size_ - pos_;
  if (left == 0) { done_ = true; return kEnd; }
  const uint8_t* p = data_ + pos_;
  if (left < recHdr_)
    return broken("truncated record header " + at(pos_) + " (" + std::to_string(left) + " of " +
                  std::to_string(recHdr_) + " bytes)");
  uint32_t caplen = u32(p + 8);
  if (caplen > kMaxRecord)
    return broken("record " + at(pos_) + " claims " + std::to_string(caplen) +
                  " bytes, more than any capture holds");
  if (caplen > left - recHdr_)
    return broken("truncated record " + at(pos_) + " (" + std::to_string(left - recHdr_) +
                  " of " + std::to_string(caplen) + " bytes)");
  rec.data = p + recHdr_;
  rec.caplen = caplen;
  rec.origlen = u32(p + 12);
  rec.offset = pos_;
  pos_ += recHdr_ + caplen;
  return kFrame;
}

bool Reader::sectionHeader() {
  const uint8_t* p = data_ + pos_;
  size_t left = size_ - pos_;
  if (left < kMinSHB) {
    broken("truncated section header " + at(pos_));
    return false;
  }
  uint32_t bom = raw32(p + 8);
  if (bom == kByteOrderMagic) swap_ = false;
  else if (bom == __builtin_bswap32(kByteOrderMagic)) swap_ = true;
  else {
    broken("section header " + at(pos_) + " has byte-order magic " + hex(p + 8, 4) +
           ", not 0x1a2b3c4d");
    return false;
  }
  uint32_t len = u32(p + 4);
  if (len < kMinSHB || len % 4 || len > left || u32(p + len - 4) != len) {
    broken("section header " + at(pos_) + " has a bad length (" + std::to_string(len) + ")");
    return false;
  }
  if (u16(p + 12) != 1) {
    broken("section header " + at(pos_) + " has pcapng version " + std::to_string(u16(p + 12)) +
           "." + std::to_string(u16(p + 14)) + "; only 1.x is known");
    return false;
  }
  ifaces_.clear();
  pos_ += len;
  return true;
}

Reader::Status Reader::nextPcapng(Record& rec) {
  for (;;) {
    size_t left = size_ - pos_;
    if (left == 0) { done_ = true; return kEnd; }
    const uint8_t* p = data_ + pos_;
    if (left < 12)
      return broken("truncated block header " + at(pos_) + " (" + std::to_string(left) +
                    " bytes)");
    uint32_t type = u32(p);
    if (type == kBlockSHB) {
      if (!sectionHeader()) return kBroken;
      continue;
    }
    uint32_t len = u32(p + 4);
    if (len < 12 || len % 4)
      return broken("block " + at(pos_) + " has a bad length (" + std::to_string(len) + ")");
    if (len > left)
      return broken("truncated block " + at(pos_) + " (" + std::to_string(left) + " of " +
                    std::to_string(len) + " bytes)");
    if (u32(p + len - 4) != len)
      return broken("block " + at(pos_) + " ends with length " + std::to_string(u32(p + len - 4)) +
                    ", not " + std::to_string(len));
    size_t off = pos_;
    const uint8_t* body = p + 8;
    uint32_t bodyLen = len - 12;
    pos_ += len;

    uint32_t ifc, caplen, origlen;
    const uint8_t* frame;
    switch (type) {
      case kBlockIDB:
        if (bodyLen < 8) return broken("interface block " + at(off) + " is too short");
        ifaces_.push_back({u16(body), u32(body + 4)});
        continue;
      case kBlockEPB:
      case kBlockOPB:
        if (bodyLen < 20) return broken("packet block " + at(off) + " is too short");
        ifc = type == kBlockEPB ? u32(body) : u16(body);
        caplen = u32(body + 12);
        origlen = u32(body + 16);
        frame = body + 20;
        if (caplen > bodyLen - 20) {
          warning_ = "packet block " + at(off) + " claims " + std::to_string(caplen) +
                     " bytes but holds " + std::to_string(bodyLen - 20);
          return kSkipped;
        }
        break;
      case kBlockSPB:
        if (bodyLen < 4) return broken("packet block " + at(off) + " is too short");
        ifc = 0;
        origlen = u32(body);
        caplen = origlen < bodyLen - 4 ? origlen : bodyLen - 4;
        if (!ifaces_.empty() && ifaces_[0].snaplen && caplen > ifaces_[0].snaplen)
          caplen = ifaces_[0].snaplen;
        frame = body + 4;
        break;
      default:
        continue;  // name resolution, statistics, custom, ...: not ours
    }
    if (ifc >= ifaces_.size()) {
      warning_ = "packet block " + at(off) + " names interface " + std::to_string(ifc) +
                 ", which its section does not declare";
      return kSkipped;
    }
    if (ifaces_[ifc].linktype != kLinkEthernet) {
      warning_ = "packet block " + at(off) + " is on interface " + std::to_string(ifc) +
                 " with link type " + std::to_string(ifaces_[ifc].linktype) + ", not Ethernet";
      return kSkipped;
    }
    rec.data = frame;
    rec.caplen = caplen;
    rec.origlen = origlen;
    rec.offset = off;
    return kFrame;
  }
}

std::string Reader::summary() const {
  if (kind_ == kPcap) {
    std::string s = "pcap";
    if (swap_ != kHostBigEndian) s += ", big-endian";
    if (nanos_) s += ", nanosecond";
    if (recHdr_ == 24) s += ", modified";
    return s;
  }
  std::string s = "pcapng, " + std::to_string(openIfaces_) +
                  (openIfaces_ == 1 ? " interface" : " interfaces");
  if (bigEndian_) s += ", big-endian";
  return s;
}

}  // namespace pcapfmt
}  // namespace vnf
