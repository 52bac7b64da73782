#include "port.h"

#include <cstdlib>
#include <map>
#include <stdexcept>

namespace vnf {

static std::map<std::string, PortFactory>& drivers() {
  static std::map<std::string, PortFactory> table;  // built before first use
  return table;
}

DriverRegistration::DriverRegistration(const char* name, PortFactory factory) { drivers()[name] = factory; }

bool driverAvailable(const std::string& name) { return drivers().count(name) != 0; }

std::vector<std::string> registeredDrivers() {
  std::vector<std::string> names;
  for (const auto& d : drivers()) names.push_back(d.first);
  return names;
}

std::unique_ptr<Port> openPort(const PortConfig& cfg, Engine& engine) {
  auto it = drivers().find(cfg.driver);
  if (it == drivers().end())
    throw std::runtime_error("port " + cfg.name + ": driver '" + cfg.driver + "' is not built into this engine");
  return it->second(cfg, engine);
}

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
