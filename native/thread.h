// What the threads that move packets (cores, the distributor's I/O threads)
// share: where they run and how they wait.
#pragma once
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <cstdint>

namespace vnf {

// Pin the calling thread to `cpu`; -1 leaves it where the OS puts it.
inline void pinTo(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

// Sleep `us` microseconds (the idle wait when not busy-polling).
inline void sleepUs(uint32_t us) {
  timespec t{time_t(us / 1000000), long(us % 1000000) * 1000};
  nanosleep(&t, nullptr);
}

}  // namespace vnf
