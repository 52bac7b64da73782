#include "port.h"

#include <cstdlib>
#include <stdexcept>

namespace vnf {

uint64_t optionU64(const PortOptions& o, const std::string& key, uint64_t dflt) {
  auto it = o.find(key);
  if (it == o.end()) return dflt;
  char* end = nullptr;
  unsigned long long v = strtoull(it->second.c_str(), &end, 10);
  if (it->second.empty() || *end) throw std::runtime_error("option " + key + "=" + it->second + ": expected a whole number");
  return v;
}

double optionF64(const PortOptions& o, const std::string& key, double dflt) {
  auto it = o.find(key);
  if (it == o.end()) return dflt;
  char* end = nullptr;
  double v = strtod(it->second.c_str(), &end);
  if (it->second.empty() || *end) throw std::runtime_error("option " + key + "=" + it->second + ": expected a number");
  return v;
}

std::string optionStr(const PortOptions& o, const std::string& key, const std::string& dflt) {
  auto it = o.find(key);
  return it == o.end() ? dflt : it->second;
}

}  // namespace vnf
