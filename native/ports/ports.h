// One factory per driver file under ports/. Each throws std::runtime_error
// with a one-line message that names what to fix.
#pragma once
#include <memory>

#include "../port.h"

namespace vnf {

std::unique_ptr<Port> openGenPort(const PortConfig& cfg, Engine& engine);
std::unique_ptr<Port> openSinkPort(const PortConfig& cfg, Engine& engine);
std::unique_ptr<Port> openPipePort(const PortConfig& cfg, Engine& engine);
std::unique_ptr<Port> openPcapPort(const PortConfig& cfg, Engine& engine);

}  // namespace vnf
