// Capture file formats, parsed from bytes already in memory: classic pcap
// (either byte order; microsecond, nanosecond and Kuznetsov-modified headers)
// and pcapng (sections in either byte order, interface description blocks,
// enhanced, simple and obsolete packet blocks; other blocks are skipped).
// No I/O here: pcap.cc maps the file and hands the bytes over, which keeps
// this part testable on a buffer.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace vnf {
namespace pcapfmt {

constexpr uint32_t kLinkEthernet = 1;
constexpr uint32_t kMaxRecord = 256 * 1024;   // a caplen above this is garbage

// Name of a LINKTYPE_ value for error messages ("LINUX_SLL", ...), or "".
const char* linkTypeName(uint32_t linktype);

struct Record {
  const uint8_t* data;
  uint32_t caplen;   // bytes present in the file
  uint32_t origlen;  // bytes on the wire (>= caplen when snapped)
  size_t offset;     // where its record or block starts in the file
};

class Reader {
 public:
  enum Kind { kPcap, kPcapng };
  enum Status {
    kFrame,     // `rec` holds an Ethernet frame (possibly a runt: caller checks)
    kSkipped,   // a packet the caller must count as malformed (see warning())
    kEnd,       // clean end of file
    kBroken,    // unreadable from here on; warning() says why; next() gives kEnd
  };

  // Checks the file's header and, for pcapng, every interface declared before
  // the first packet. Throws std::runtime_error naming `file` on a bad magic,
  // a short header or a link type other than Ethernet.
  Reader(const uint8_t* data, size_t size, const std::string& file);

  Status next(Record& rec);
  void rewind();  // back to the first record, for looping

  // Why the last kSkipped/kBroken happened, one line.
  const std::string& warning() const { return warning_; }

  // "pcapng, 1 interface" / "pcap, big-endian, nanosecond".
  std::string summary() const;

 private:
  uint32_t u32(const uint8_t* p) const;
  uint16_t u16(const uint8_t* p) const;
  Status nextPcap(Record& rec);
  Status nextPcapng(Record& rec);
  Status broken(const std::string& why);
  // Reads the SHB at pos_; false (with warning_) when it is unreadable.
  bool sectionHeader();
  void openPcap();
  void openPcapng();

  const uint8_t* data_;
  size_t size_;
  std::string file_;
  Kind kind_;
  bool swap_ = false;       // file byte order differs from ours
  bool nanos_ = false;      // classic: nanosecond timestamps
  uint32_t recHdr_ = 16;    // classic: record header size (24 when modified)
  size_t first_;            // offset of the first record/block
  size_t pos_;              // next record/block
  bool done_ = false;
  std::string warning_;
  // pcapng: link type and snaplen of each interface of the current section.
  struct Iface { uint32_t linktype, snaplen; };
  std::vector<Iface> ifaces_;
  uint32_t openIfaces_ = 0;  // interfaces seen at open (for summary)
  bool bigEndian_ = false;   // pcapng: the first section's byte order
};

}  // namespace pcapfmt
}  // namespace vnf
