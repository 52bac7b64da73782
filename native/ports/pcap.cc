// pcap: replay a capture file into the engine (mode=read), or record what the
// VNF sends into one (mode=write). The file format lives in pcap_format.cc;
// this file is the driver: mapping, looping, buffers, counters.
//
// Read maps the file and copies each frame once, into a pool buffer at the
// configured headroom: a small buffer, or a large one (up to 64 KiB) for a
// longer frame; one longer than the largest buffer counts under rx_oversize.
// Write copies each frame once, into a 1 MiB buffer that goes to the file in
// one write() when full, once a second while frames keep coming, and at
// close().
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "../note.h"
#include "pcap_format.h"
#include "vnet.h"
#include "../engine.h"
#include "../port.h"

namespace vnf {
namespace {

constexpr uint32_t kMaxSlotLen = 0xffff;        // Slot::len is 16 bits
constexpr size_t kWriteBuffer = 1 << 20;


// The VNF's first port reads; the others write, unless told.
bool reads(const PortConfig& cfg) {
  const bool read = optionFlag(cfg.options, "read"), write = optionFlag(cfg.options, "write");
  if (read && write) throw std::runtime_error("choose read or write, not both");
  return read || (!write && cfg.index == 0);
}

// The whole file, read-only. Empty files map nothing (mmap refuses length 0).
struct Mapping {
  const uint8_t* data = nullptr;
  size_t size = 0;

  Mapping(const std::string& file, bool once) {
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error("cannot read " + file + ": " + errnoText());
    struct stat st;
    std::string why;
    if (fstat(fd, &st) != 0) why = errnoText();
    else if (S_ISDIR(st.st_mode)) why = "it is a directory";
    else if (!S_ISREG(st.st_mode)) why = "not a regular file (reading needs one it can map)";
    if (!why.empty()) {
      ::close(fd);
      throw std::runtime_error("cannot read " + file + ": " + why);
    }
    if (st.st_size > 0) {
      void* p = mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        std::string why = errnoText();
        ::close(fd);
        throw std::runtime_error("cannot map " + file + ": " + why);
      }
      data = static_cast<const uint8_t*>(p);
      size = size_t(st.st_size);
      // One pass streams; replays want the pages to stay.
      madvise(p, size, once ? MADV_SEQUENTIAL : MADV_WILLNEED);
    }
    ::close(fd);
  }
  ~Mapping() { release(); }
  void release() {
    if (size) munmap(const_cast<uint8_t*>(data), size);
    data = nullptr;
    size = 0;
  }
};

class PcapReadPort : public Port {
 public:
  PcapReadPort(const PortConfig& cfg, const std::string& file, uint64_t loops, const Rss& rss)
      : Port(cfg), file_(file), loops_(loops), headroom_(cfg.headroom),
        map_(file, loops == 1), reader_(map_.data, map_.size, file),
        rss_(rss), queue_(cfg.queue), queues_(cfg.queues) {}

  int receive(Lane& lane, Slot* slots, uint32_t max) override {
    if (done_ && !pending_) return kExhausted;
    uint64_t* c = lane.counters.port(index());
    // In hw mode every core's instance reads the whole file and keeps the
    // frames RSS gives its queue; only queue 0 counts the file's faults.
    uint64_t scratch[kPortCounters] = {0};
    uint64_t* faults = queue_ == 0 ? c : scratch;
    Pool& pool = lane.cache.pool();
    // A frame longer than a small buffer goes into a large one, whole.
    const uint32_t small = room(pool.bufSize()), largest = pool.hasLarge() ? room(pool.largeCapacity()) : small;
    uint32_t n = 0;
    while (n < max) {
      if (!pending_) {
        bool got;
        while ((got = nextFrame(faults, rec_, largest)) && !mine(rec_)) {}
        if (!got) break;
        pending_ = true;
      }
      uint32_t buf;
      if (!(rec_.caplen > small ? lane.cache.allocLarge(buf) : lane.cache.alloc(buf))) {
        c[rx_no_buffer]++;  // the frame waits for the next call
        break;
      }
      std::memcpy(pool.data(buf) + headroom_, rec_.data, rec_.caplen);
      slots[n++] = Slot{buf, uint16_t(headroom_), uint16_t(rec_.caplen), 0, uint16_t(index()), 0};
      pending_ = false;
    }
    return n == 0 && done_ && !pending_ ? kExhausted : int(n);
  }

  void transmit(Lane& lane, const Slot* slots, uint32_t n) override {
    dropAll(lane, slots, n, lane.counters.port(index())[tx_no_output]);
  }

  void close() override {
    done_ = true;
    pending_ = false;  // rec_ points into the mapping
    map_.release();
  }

  bool canWait() const override { return true; }
  bool canEnd() const override { return true; }

  std::string describe() const override {
    std::string s = "pcap read " + file_ + " (" + reader_.summary();
    if (loops_ == 0) s += ", looping forever";
    else if (loops_ > 1) s += ", " + std::to_string(loops_) + " times";
    s += ")";
    stopNote_.append(s);
    dropNote_.append(s);
    return s;
  }

 private:
  // Bytes a buffer of `capacity` holds after the headroom, as a slot can name them.
  uint32_t room(uint32_t capacity) const {
    const uint32_t r = capacity > headroom_ ? capacity - headroom_ : 0;
    return r < kMaxSlotLen ? r : kMaxSlotLen;
  }

  // The next frame that fits a buffer, counting the ones that don't; at the
  // end of the file starts the next pass, or returns false when done.
  bool nextFrame(uint64_t* c, pcapfmt::Record& rec, uint32_t maxFrame) {
    for (;;) {
      switch (reader_.next(rec)) {
        case pcapfmt::Reader::kFrame:
          if (rec.caplen < kMinFrame) {
            c[rx_malformed]++;
            dropNote_.set(std::to_string(rec.caplen) + "-byte runt at offset " +
                          std::to_string(rec.offset) + " dropped");
            continue;
          }
          if (rec.caplen > maxFrame) {
            c[rx_oversize]++;
            dropNote_.set(std::to_string(rec.caplen) + "-byte frame at offset " +
                          std::to_string(rec.offset) + " dropped: the largest buffer holds " +
                          std::to_string(maxFrame) + " bytes after headroom");
            continue;
          }
          passFrames_++;
          return true;
        case pcapfmt::Reader::kSkipped:
          c[rx_malformed]++;
          dropNote_.set(reader_.warning());
          continue;
        case pcapfmt::Reader::kBroken:
          c[rx_malformed]++;
          stopNote_.set(reader_.warning() + "; stopped reading there");
          [[fallthrough]];
        case pcapfmt::Reader::kEnd:
          // A pass that yields nothing would spin forever when looping.
          if (passFrames_ > 0 && (loops_ == 0 || ++pass_ < loops_)) {
            passFrames_ = 0;
            reader_.rewind();
            continue;
          }
          done_ = true;
          return false;
      }
    }
  }

  std::string file_;
  bool mine(const pcapfmt::Record& rec) const {
    uint32_t hash;
    return queues_ == 1 || rss_.queueOf(rec.data, rec.caplen, hash) == queue_;
  }

  uint64_t loops_, pass_ = 0, passFrames_ = 0;
  uint32_t headroom_;
  bool done_ = false;
  bool pending_ = false;  // rec_ is read but waits for a buffer
  pcapfmt::Record rec_{};
  Mapping map_;
  pcapfmt::Reader reader_;
  Note stopNote_, dropNote_;
  const Rss& rss_;
  uint32_t queue_, queues_;
};

class PcapWritePort : public Port {
 public:
  PcapWritePort(const PortConfig& cfg, const std::string& file, uint32_t snaplen)
      : Port(cfg), file_(file), snaplen_(snaplen) {
    fd_ = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) throw std::runtime_error("cannot write " + file + ": " + errnoText());
    buf_.resize(kWriteBuffer);
    // Classic pcap 2.4, microseconds, this host's byte order.
    struct {
      uint32_t magic;
      uint16_t major, minor;
      uint32_t thiszone, sigfigs, snaplen, linktype;
    } hdr = {0xa1b2c3d4, 2, 4, 0, 0, snaplen, pcapfmt::kLinkEthernet};
    static_assert(sizeof hdr == 24, "pcap file header is 24 bytes");
    if (!writeAll(&hdr, sizeof hdr)) {
      std::string why = errnoText();
      ::close(fd_);
      fd_ = -1;
      throw std::runtime_error("cannot write " + file + ": " + why);
    }
    fileOff_ = sizeof hdr;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    lastFlush_ = ts.tv_sec;
  }
  ~PcapWritePort() override { close(); }

  int receive(Lane&, Slot*, uint32_t) override { return kExhausted; }
  bool canWait() const override { return true; }
  // Super-frames are written whole, as tcpdump shows frames GRO merged.
  bool takesGso() const override { return true; }

  void transmit(Lane& lane, const Slot* slots, uint32_t n) override {
    uint64_t* c = lane.counters.port(index());
    counters_ = c;
    Pool& pool = lane.cache.pool();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint32_t sec = uint32_t(ts.tv_sec), usec = uint32_t(ts.tv_nsec / 1000);
    for (uint32_t i = 0; i < n; i++) {
      const Slot& s = slots[i];
      if (fd_ < 0 || uint32_t(s.off) + s.len > pool.capacity(s.buf)) {
        lane.cache.free(s.buf);
        c[tx_errors]++;
        continue;
      }
      // A checksum a vnet port left to offload is done before it is written.
      if (s.flags & vnet::kSlotMeta) vnet::finishChecksum(s, pool.data(s.buf));
      uint32_t cap = s.len < snaplen_ ? s.len : snaplen_;
      if (used_ + 16 + cap > buf_.size()) flush(c);
      uint32_t rh[4] = {sec, usec, cap, s.len};
      uint8_t* p = buf_.data() + used_;
      std::memcpy(p, rh, 16);
      std::memcpy(p + 16, pool.data(s.buf) + s.off, cap);
      used_ += 16 + cap;
      pending_++;
      pendingBytes_ += s.len;
      lane.cache.free(s.buf);
    }
    if (used_ && ts.tv_sec != lastFlush_) {
      flush(c);
      lastFlush_ = ts.tv_sec;
    }
  }

  void close() override {
    if (fd_ < 0) return;
    if (used_) {
      uint64_t scratch[kPortCounters] = {};
      flush(counters_ ? counters_ : scratch);
    }
    ::close(fd_);
    fd_ = -1;
  }

  std::string describe() const override {
    std::string s = "pcap write " + file_;
    if (snaplen_ != 65535) s += " (snaplen " + std::to_string(snaplen_) + ")";
    error_.append(s);
    return s;
  }

 private:
  bool writeAll(const void* data, size_t len) {
    const uint8_t* p = static_cast<const uint8_t*>(data);
    while (len) {
      ssize_t w = ::write(fd_, p, len);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        if (w == 0) errno = EIO;
        return false;
      }
      p += w;
      len -= size_t(w);
    }
    return true;
  }

  // Frames count as transmitted once they are in the file. A failed write
  // loses the buffer's frames (tx_errors) and cuts the file back to the last
  // whole record so what is there stays readable.
  void flush(uint64_t* c) {
    if (writeAll(buf_.data(), used_)) {
      fileOff_ += used_;
      c[tx_packets] += pending_;
      c[tx_bytes] += pendingBytes_;
    } else {
      error_.set("write failed: " + errnoText() + "; frames counted under tx_errors");
      c[tx_errors] += pending_;
      if (ftruncate(fd_, off_t(fileOff_)) == 0) lseek(fd_, off_t(fileOff_), SEEK_SET);
    }
    used_ = 0;
    pending_ = 0;
    pendingBytes_ = 0;
  }

  std::string file_;
  uint32_t snaplen_;
  int fd_ = -1;
  std::vector<uint8_t> buf_;
  size_t used_ = 0;
  uint64_t pending_ = 0, pendingBytes_ = 0, fileOff_ = 0;
  time_t lastFlush_ = 0;
  uint64_t* counters_ = nullptr;  // the transmitting lane's, for close()
  Note error_;
};

}  // namespace

// hw mode opens a port once per core, but a file has one writer: the other
// queues' instances hand their frames to queue 0's, under its lock.
class PcapSharedWritePort : public Port {
 public:
  PcapSharedWritePort(const PortConfig& cfg, Port& primary, std::mutex& lock)
      : Port(cfg), primary_(primary), lock_(lock) {}
  int receive(Lane&, Slot*, uint32_t) override { return kExhausted; }
  void transmit(Lane& lane, const Slot* slots, uint32_t n) override {
    std::lock_guard<std::mutex> g(lock_);
    primary_.transmit(lane, slots, n);
  }
  bool canWait() const override { return true; }
  bool takesGso() const override { return primary_.takesGso(); }
  std::string describe() const override { return primary_.describe(); }

 private:
  Port& primary_;
  std::mutex& lock_;
};

class LockedPort : public Port {
 public:
  LockedPort(const PortConfig& cfg, std::unique_ptr<Port> inner) : Port(cfg), inner_(std::move(inner)) {}
  int receive(Lane& lane, Slot* slots, uint32_t max) override { return inner_->receive(lane, slots, max); }
  void transmit(Lane& lane, const Slot* slots, uint32_t n) override {
    std::lock_guard<std::mutex> g(lock_);
    inner_->transmit(lane, slots, n);
  }
  void close() override { inner_->close(); }
  bool canWait() const override { return true; }
  bool takesGso() const override { return inner_->takesGso(); }
  std::string describe() const override { return inner_->describe(); }
  Port& inner() { return *inner_; }
  std::mutex& lock() { return lock_; }

 private:
  std::unique_ptr<Port> inner_;
  std::mutex lock_;
};

static std::unique_ptr<Port> openPcapPort(const PortConfig& cfg, Engine& engine) {
  const std::string file = optionStr(cfg.options, "file");
  if (file.empty()) throw std::runtime_error("needs a file");
  if (reads(cfg)) return std::make_unique<PcapReadPort>(cfg, file, optionU64(cfg.options, "loop"), engine.rss());
  if (cfg.options.at("loop") != "1") throw std::runtime_error("loop only applies to a pcap that is read");
  const uint32_t snaplen = uint32_t(optionU64(cfg.options, "snaplen"));
  {
    if (cfg.queues == 1)
      return std::make_unique<PcapWritePort>(cfg, file, snaplen);
    // The engine opens queue 0 first; later queues share its writer.
    static std::mutex registryLock;
    static std::map<const Engine*, std::map<std::string, LockedPort*>> primaries;
    std::lock_guard<std::mutex> g(registryLock);
    auto& mine = primaries[&engine];
    if (cfg.queue == 0) {
      auto p = std::make_unique<LockedPort>(cfg, std::make_unique<PcapWritePort>(cfg, file, snaplen));
      mine[file] = p.get();
      return p;
    }
    LockedPort* primary = mine.at(file);
    if (cfg.queue + 1 == cfg.queues) mine.erase(file);
    return std::make_unique<PcapSharedWritePort>(cfg, primary->inner(), primary->lock());
  }
}

// A capture that is read may hold frames of any size up to 65535 bytes.
static PoolNeeds pcapPool(const PortConfig& cfg) { return {.maxFrame = reads(cfg) ? 65535u : 0u}; }

static DriverRegistration registration({
    .name = "pcap",
    .arg = "FILE",
    .argKeys = "file",
    .help = "a capture file: the VNF's first port reads it, the others write it, unless told",
    .options = {
        {"file", "text", "", nullptr, "a capture file"},
        {"read", "flag", "", "0", "read FILE (pcap or pcapng, any byte order)"},
        {"write", "flag", "", "0", "write FILE (classic pcap)"},
        {"loop", "repeat", "0-4294967295", "1", "times to replay FILE; bare `loop`: forever"},
        {"snaplen", "uint", "1-262144", "65535", "longest record written; longer frames are cut"},
    },
    .open = openPcapPort,
    .pool = pcapPool,
});

}  // namespace vnf
