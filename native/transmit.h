// The one way frames leave the engine for a port's driver. A GSO super-frame
// (ports/vnet.h) bound for a port that cannot take it whole (an XDP socket, a
// port without the virtio-net header) is cut into wire-size frames here, as
// the kernel's software GSO would, so drivers never see a frame larger than
// a buffer unless they said they take one.
#pragma once
#include <cstdint>

#include "port.h"

namespace vnf {

void transmitTo(Port& port, Lane& lane, const Slot* slots, uint32_t n, uint16_t headroom);

}  // namespace vnf
