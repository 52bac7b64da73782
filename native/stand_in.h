// A core's stand-in: a native thread that receives for the core whenever
// the core's own thread has been away from the packet loop for a while —
// loading a new version of the VNF between two batches (compiling it,
// running init()), holding at a swap for the other cores, replacing a lost
// context, a long garbage collection, or simply preempted on a busy
// machine. Each of those can last milliseconds, and a device's rx ring of a
// few thousand slots (256 with the virtio-net header) overflows in that
// time at a few hundred kpps. The stand-in moves frames from the inputs
// into a backlog of pool buffers instead; the core's next batches take the
// backlog first, so order is kept. It only receives: nothing is sent or
// freed while the core is away.
//
// The core's inputs (its CoreIO and Lane) have one owner at a time: the
// core holds them from enter() to leave() in each cycle, the stand-in for
// one burst at a time. The stand-in looks every kTickUs (at once after
// away()), and takes a turn when the core last left its cycle over
// kStallMs ago or said it is away.
//
// Only for live inputs (devices, pipes): files and generators wait for the
// core anyway (Engine::waitsOnOverflow), so they get no stand-in; nor does
// a run with --backlog 0.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "core_io.h"
#include "engine.h"

namespace vnf {

class StandIn {
 public:
  // `limit` frames at most in the backlog (--backlog); past it, frames
  // wait in the inputs' rings as they would without a stand-in.
  StandIn(CoreIO& io, Lane& lane, uint32_t limit, uint32_t burst);
  ~StandIn() { stop(); }

  // The core's side, around each cycle: enter() waits for a burst the
  // stand-in has in hand; leave() says when the core was last here.
  void enter();
  void leave(double nowMs);
  // The core's thread goes elsewhere until its next enter(): stand in now.
  void away();
  // No more turns (the core is done with its inputs).
  void stop();

  // One burst from the inputs onto the backlog's tail (between enter and
  // leave): while the core works through a backlog, the rings behind it
  // must keep moving too. Returns frames received.
  uint32_t fill();
  // Up to `max` frames of the backlog, oldest first (between enter and leave).
  uint32_t take(Slot* out, uint32_t max);
  bool empty() const { return head_ == tail_; }
  // An input reported its end during a turn (between enter and leave).
  bool inputsDone() const { return done_; }
  // The backlog's buffers back to the pool (at exit, after stop()).
  void drain(PoolCache& cache);

 private:
  void run();
  bool stalled() const;
  uint32_t turn();

  CoreIO& io_;
  Lane& lane_;
  std::vector<Slot> backlog_;   // a ring: head_ .. tail_ (free-running counters)
  uint32_t mask_, limit_, burst_;
  uint32_t head_ = 0, tail_ = 0;
  bool done_ = false;

  std::atomic<bool> held_{false};       // who holds the inputs: the core or a turn
  std::atomic<double> lastMs_{-1};      // the core's last leave(); -1: no cycle yet
  std::atomic<bool> away_{false};
  std::mutex m_;                        // for the thread's sleep and stop()
  std::condition_variable cv_;
  bool quit_ = false;
  std::thread thread_;
};

}  // namespace vnf
