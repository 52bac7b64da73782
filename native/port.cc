#include "port.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <stdexcept>

namespace vnf {

static std::map<std::string, DriverSpec>& drivers() {
  static std::map<std::string, DriverSpec> table;  // built before first use
  return table;
}

DriverRegistration::DriverRegistration(DriverSpec spec) {
  const std::string name = spec.name;
  drivers().emplace(name, std::move(spec));
}

const std::vector<const DriverSpec*> driverSpecs() {
  std::vector<const DriverSpec*> all;
  for (const auto& d : drivers()) all.push_back(&d.second);
  return all;
}

static const DriverSpec& specOf(const PortConfig& cfg) {
  auto it = drivers().find(cfg.driver);
  if (it == drivers().end())
    throw std::runtime_error("port " + cfg.name + ": driver '" + cfg.driver + "' is not built into this engine");
  return it->second;
}

// The options as the driver reads them: what was given, and the schema's
// default for the rest.
static PortConfig completed(const PortConfig& cfg, const DriverSpec& d) {
  PortConfig c = cfg;
  for (const auto& o : d.options)
    if (o.dflt && !c.options.count(o.key)) c.options[o.key] = o.dflt;
  return c;
}

PoolNeeds poolNeeds(const PortConfig& cfg) {
  const DriverSpec& d = specOf(cfg);
  return d.pool ? d.pool(completed(cfg, d)) : PoolNeeds{};
}

std::unique_ptr<Port> openPort(const PortConfig& cfg, Engine& engine) {
  const DriverSpec& d = specOf(cfg);
  try {
    return d.open(completed(cfg, d), engine);
  } catch (const std::exception& e) {
    throw std::runtime_error("port " + cfg.name + " (" + (cfg.spec.empty() ? cfg.driver : cfg.spec) + "): " + e.what());
  }
}

std::string errnoText(int e) { return std::strerror(e); }

static const std::string& find(const PortOptions& o, const std::string& key) {
  auto it = o.find(key);
  if (it == o.end()) throw std::logic_error("option " + key + " has no value and no default in its driver's schema");
  return it->second;
}

uint64_t optionU64(const PortOptions& o, const std::string& key) {
  const std::string& v = find(o, key);
  char* end = nullptr;
  unsigned long long n = strtoull(v.c_str(), &end, 10);
  if (v.empty() || *end) throw std::runtime_error("option " + key + "=" + v + ": expected a whole number");
  return n;
}

uint64_t optionU64(const PortOptions& o, const std::string& key, uint64_t dflt) {
  return o.count(key) ? optionU64(o, key) : dflt;
}

double optionF64(const PortOptions& o, const std::string& key) {
  const std::string& v = find(o, key);
  char* end = nullptr;
  double n = strtod(v.c_str(), &end);
  if (v.empty() || *end) throw std::runtime_error("option " + key + "=" + v + ": expected a number");
  return n;
}

std::string optionStr(const PortOptions& o, const std::string& key) { return find(o, key); }

std::string optionStr(const PortOptions& o, const std::string& key, const std::string& dflt) {
  auto it = o.find(key);
  return it == o.end() ? dflt : it->second;
}

bool optionFlag(const PortOptions& o, const std::string& key) { return find(o, key) == "1"; }

}  // namespace vnf
