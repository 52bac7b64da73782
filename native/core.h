// A core: the per-thread loop that hands batches to the VNF.
//
//   cycle(): retire the previous batch's verdicts (send or free), then
//            gather the next batch from the inputs into the batch arrays.
//
// One cycle is the only native call per batch. The batch arrays live in
// native memory that JS sees as typed arrays; the pool is one ArrayBuffer, so
// a packet reaches JS as an (offset, length) pair and its bytes never move.
//
// Where frames come from and go to is the core's CoreIO (core_io.h): its
// own drivers (none, hw) or the distributor's rings (sw1, sw2). The cycle is
// the same in every mode.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "core_io.h"
#include "endpoint.h"
#include "engine.h"
#include "stand_in.h"

namespace vnf {

// Every value comes from runtime/ (runtime/defaults.ts holds the defaults).
struct CoreConfig {
  uint32_t rxBatch = 0;      // most packets per batch (the seed's MAX_BATCH_RECV)
  uint32_t txBatch = 0;      // most frames per driver transmit (MAX_BATCH_SEND)
  bool busyPoll = false;     // spin when idle instead of sleeping (BUSY_WAIT)
  uint32_t idleUs = 0;       // longest sleep when idle and not busy-polling
  int cpu = -1;              // pin the calling thread here (-1: leave it)
};

// Where JS finds each array inside the batch memory. The per-entry arrays
// (offsets .. flags) hold rxBatch received packets, then up to kFresh frames
// the VNF originated this batch (entries count .. count + ctl[kCtlUsed]-1).
struct BatchLayout {
  uint32_t offsets, lengths, inPorts, verdicts, flags, meta;  // byte offsets
  uint32_t fresh, ctl, bound;                                  // byte offsets
  uint32_t tickets, releases, keepFree;                        // byte offsets (kept frames, below)
  uint32_t bytes;
};

// Why a batch is dropped whole (cycle's `failed`), each its own counter.
enum BatchFailure : uint32_t { kOk = 0, kThrew = 1, kCpuBudget = 2, kMemory = 3, kRestart = 4 };

// The same arrays inside a guest's memory (a QuickJS context, core_guest.cc):
// offsets u32, lengths u32, inPorts, verdicts, flags u8 (rxBatch + kFresh
// entries each, as above), meta f64 [count, now], fresh u32 [kFresh], ctl
// u32 [kCtlWords], tickets u32 [entries], releases u32 [2 kReleases],
// keepFree u32 [entries] (the top of the free tickets: a batch keeps at most
// one a entry), then the frames, each at `headroom` in a 2048-byte-aligned
// slot: first kFresh slots for frames the guest originates, then the
// received ones.
struct GuestLayout {
  uint32_t offsets, lengths, inPorts, verdicts, flags, meta, fresh, ctl;
  uint32_t tickets, releases, keepFree;
  uint32_t bytes;              // where the frames start
};
GuestLayout guestLayout(uint32_t rxBatch);

// Packets a VNF originates. Each cycle leaves up to kFresh free pool buffers
// in the batch memory as pool byte offsets (`fresh`, where a frame starts,
// after the headroom); JS takes them in order, counting in ctl[kCtlUsed], and
// describes each frame as a batch entry after the received ones. No native
// call per packet: the next cycle() sends (or frees) the used ones, keeps the
// unused ones for the next batch, and tops the array up again.
constexpr uint32_t kFresh = 256;
// Batch flags bit (both ways): the TCP/UDP checksum is left to offload (the
// field holds the pseudo-header sum). Set on frames that arrived so; a VNF
// sets it on a frame it wrote, and the engine then finishes it or hands it
// to a vnet port's offload (vnet::leaveToOffload).
constexpr uint8_t kFlagPending = 1;
enum : uint32_t {
  kCtlUsed = 0,       // JS: fresh buffers taken this batch
  kCtlAvailable = 1,  // native: fresh buffers offered this batch
  kCtlCapacity = 2,   // native: the longest frame a fresh buffer holds
  kCtlFlags = 3,      // JS: some entry has flags for retire: Endpoint::kFlagResolve, or kFlagPending
  kCtlKeepFree = 4,   // tickets left on top of keepFree (native sets, JS takes from the top)
  kCtlReleased = 5,   // JS: (ticket, verdict) pairs in releases this batch
  kCtlForgetKept = 6, // JS: drop every kept frame (a version that starts on fresh state)
  kCtlKeepLimit = 7,  // native: tickets in all (--keep)
  kCtlWords = 8,
};

// Frames a VNF keeps past their batch (a delay line, a reorder buffer). The
// VNF takes a ticket from the top of `keepFree` (lowering ctl[kCtlKeepFree]),
// writes it to the entry's `tickets` slot and gives the entry the verdict
// kKeepVerdict; the frame then stays here, opaque, until a later batch names
// the ticket in `releases` with a verdict (send, or 0: drop). The core holds
// the real free list: it trusts only the tickets it offered, so a ticket
// lost, forged or named twice costs a counted drop, never a buffer. A kept
// frame in a driver's ring (a window) moves to a pool buffer so that the
// ring keeps turning.
constexpr uint8_t kKeepVerdict = 255;
constexpr uint32_t kReleases = 256;   // most releases a batch
constexpr double kKeptDrainMs = 60000;  // longest wait for kept frames after the inputs end

class Core {
 public:
  static constexpr int kDone = -1;

  Core(std::shared_ptr<Engine> engine, uint32_t id, CoreConfig cfg);
  ~Core();

  uint32_t id() const { return id_; }
  const CoreConfig& config() const { return cfg_; }
  std::shared_ptr<Engine> engine() const { return engine_; }
  uint8_t* batchMemory() { return mem_.data(); }
  const BatchLayout& layout() const { return layout_; }

  // `failed` (a BatchFailure) says why the previous batch is dropped whole.
  // Returns the new batch size, or kDone when no input will yield again.
  int cycle(uint32_t failed);

  // Retire the last batch without gathering another, and tell the I/O side
  // this core is done (at stop).
  void finish(uint32_t failed);

  // A guest context's one copy each way (core_guest.cc). guestIn: the batch
  // just gathered into guest memory `mem` at `base` (GuestLayout, `cap`
  // bytes of frames); returns the batch size, or -(bytes needed) when the
  // frames do not fit. guestOut: the guest's verdicts back, and the frames
  // it changed, moved or resized (kept inside their buffers, else dropped
  // as bad_bounds); only for packets with a verdict.
  int64_t guestIn(uint8_t* mem, size_t memLen, uint32_t base, uint32_t cap);
  void guestOut(const uint8_t* mem, size_t memLen, uint32_t base, uint32_t cap);
  void originatedOut(const uint8_t* G, const GuestLayout& g, uint32_t used);
  void keptIn(uint8_t* G, const GuestLayout& g, uint32_t* gctl);
  void keptOut(const uint8_t* G, const GuestLayout& g, const uint32_t* gctl);
  uint32_t guestKeepWindow_ = 0;   // free tickets shown to the guest this batch

  // The engine's ceiling: run cycles with a C++ l2fwd (port i -> port i^1)
  // in place of JS for `ms` milliseconds. Returns packets forwarded.
  uint64_t runNativeForward(double ms);

  // The core's thread leaves the packet loop until its next cycle()
  // (loading a version, a swap's hold): its stand-in receives meanwhile
  // (stand_in.h), as it does whenever a cycle is overdue.
  void away();

  // Return every held buffer to the pool (at exit).
  void drain();

 private:
  void retire(uint32_t failed);
  void retireBatch(uint32_t failed);
  void endStandIn();
  uint32_t guestSlot(uint32_t len) const;
  bool retireToOnePort(uint32_t n);
  uint32_t gather();
  // Appends the fresh buffers JS used as held entries after the n received
  // ones; returns how many. refillFresh() tops the offer up again.
  uint32_t takeOriginated(uint32_t n);
  void refillFresh();
  // Kept frames (kKeepVerdict above): releases first, then this batch's keeps.
  void ticketsTaken(uint32_t from, uint32_t failed);
  void releaseKept();
  void keep(Slot s, uint32_t ticket);
  bool ownBuffer(Slot& s);
  void ticketsBack(uint32_t from);
  void offerTickets(uint32_t from);
  void forgetKept();
  bool waitForKept();

  std::shared_ptr<Engine> engine_;
  Engine& eng_;
  uint32_t id_;
  CoreConfig cfg_;
  PoolCache cache_;
  Lane lane_;
  std::unique_ptr<CoreIO> io_;
  std::unique_ptr<StandIn> standIn_;   // live inputs only; after io_, so it stops first
  bool done_ = false;

  BatchLayout layout_;
  std::vector<uint8_t> mem_;
  uint32_t* offsets_;
  uint32_t* lengths_;
  uint8_t* inPorts_;
  uint8_t* verdicts_;
  uint8_t* flags_;             // per packet: bit 0, its transport checksum is left to offload
  double* meta_;               // [0] = monotonic ms at gather
  uint32_t* fresh_;            // pool byte offsets of the offered fresh buffers
  uint32_t* ctl_;              // kCtl* words
  uint32_t freshBufs_[kFresh]; // the offered buffers, in offer order
  uint32_t freshN_ = 0;
  bool originated_ = false;    // the last retire sent frames the VNF made: do not sleep
  uint8_t* bound_;             // 65536 bytes: UDP ports this core's sockets are bound to (JS writes)
  std::unique_ptr<Endpoint> endpoint_;   // --ip: ARP, ND, ICMP, resolution (endpoint.h)

  std::vector<Slot> held_;     // slot of each batch entry, native-only
  uint32_t held_n_ = 0;
  std::vector<uint32_t> sentOffsets_, sentLengths_;  // the batch as handed to JS
  std::vector<uint32_t> dropped_;  // buffers of dropped frames, freed together

  // Kept frames, by ticket. A ticket is free, offered (taken from keepFree
  // by JS this batch, not yet used) or kept.
  enum TicketState : uint8_t { kTicketFree, kTicketOffered, kTicketKept };
  uint32_t* tickets_;          // per entry: the ticket of a kKeepVerdict entry (JS writes)
  uint32_t* releases_;         // (ticket, verdict) pairs (JS writes)
  uint32_t* keepFree_;         // what JS sees of freeTickets_
  std::vector<Slot> kept_;
  std::vector<uint8_t> ticketState_;
  std::vector<uint32_t> freeTickets_;   // the real free list; its top is what JS may take
  std::vector<uint32_t> offered_;       // tickets JS took this batch
  std::vector<Slot> releasing_;         // released frames, sent in runs by port
  uint32_t keptCount_ = 0;
  double doneAtMs_ = -1;                // when the inputs ended, while kept frames wait
};

double monotonicMs();

}  // namespace vnf
