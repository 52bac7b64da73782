#include "counters.h"

#include <sys/mman.h>

#include <stdexcept>

namespace vnf {

CounterSet::CounterSet(uint32_t lanes, uint32_t ports) : lanes_(lanes), ports_(ports) {
  // Shared mapping so a later `vnfrun top` can attach the same pages by file.
  void* p = mmap(nullptr, bytes(), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::runtime_error("cannot map the counter region");
  words_ = static_cast<uint64_t*>(p);
}

CounterSet::~CounterSet() { munmap(words_, bytes()); }

#define VNF_NAME(name, help) #name,
std::vector<std::string> CounterSet::coreNames() { return {VNF_CORE_COUNTERS(VNF_NAME)}; }
std::vector<std::string> CounterSet::portNames() { return {VNF_PORT_COUNTERS(VNF_NAME)}; }
#undef VNF_NAME

}  // namespace vnf
