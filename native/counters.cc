#include "counters.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <stdexcept>

namespace vnf {

CounterSet::CounterSet(uint32_t lanes, uint32_t ports, const std::string& file) : lanes_(lanes), ports_(ports) {
  int fd = -1;
  if (!file.empty()) {
    fd = open(file.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || ftruncate(fd, off_t(bytes())) != 0) {
      const std::string why = strerror(errno);
      if (fd >= 0) close(fd);
      throw std::runtime_error("cannot create the counters file " + file + ": " + why);
    }
  }
  void* p = mmap(nullptr, bytes(), PROT_READ | PROT_WRITE, MAP_SHARED | (fd < 0 ? MAP_ANONYMOUS : 0), fd, 0);
  if (fd >= 0) close(fd);  // the mapping keeps the file
  if (p == MAP_FAILED) throw std::runtime_error("cannot map the counter region");
  words_ = static_cast<uint64_t*>(p);
}

CounterSet::~CounterSet() { munmap(words_, bytes()); }

#define VNF_TALLY(name, help) {#name, help, false},
#define VNF_DROP(name, help) {#name, help, true},
std::vector<CounterSet::Info> CounterSet::coreList() { return {VNF_CORE_COUNTERS(VNF_TALLY, VNF_DROP)}; }
std::vector<CounterSet::Info> CounterSet::portList() { return {VNF_PORT_COUNTERS(VNF_TALLY, VNF_DROP)}; }
#undef VNF_TALLY
#undef VNF_DROP

static std::vector<std::string> namesOf(const std::vector<CounterSet::Info>& list) {
  std::vector<std::string> names;
  for (const auto& c : list) names.push_back(c.name);
  return names;
}
std::vector<std::string> CounterSet::coreNames() { return namesOf(coreList()); }
std::vector<std::string> CounterSet::portNames() { return namesOf(portList()); }

}  // namespace vnf
