// A slot names one frame: which pool buffer holds it, where it starts and how
// long it is. Slots move between rings and batches; bytes never do.
#pragma once
#include <cstdint>

namespace vnf {

struct Slot {
  uint32_t buf;    // buffer index in the pool
  uint16_t off;    // first byte of the frame inside the buffer
  uint16_t len;    // frame length in bytes
  uint32_t hash;   // flow hash when a distributor computed one, else 0
  uint16_t port;   // port the frame arrived on (or leaves by, on tx)
  uint16_t flags;  // kSlot* below
};
static_assert(sizeof(Slot) == 16, "Slot must stay 16 bytes");

// Slot flags. The buffer starts with a vnet::Meta (ports/vnet.h) describing
// this frame: its checksum is left to offload.
constexpr uint16_t kSlotMeta = 1u << 0;
// The Meta describes a GSO super-frame (always with kSlotMeta): the engine
// cuts it for outputs that cannot take it whole (transmit.h).
constexpr uint16_t kSlotGso = 1u << 1;
// The runtime checked this datagram's TCP/UDP checksum and found it right
// (native/endpoint.h): the VNF need not sum it again.
constexpr uint16_t kSlotL4Good = 1u << 2;

}  // namespace vnf
