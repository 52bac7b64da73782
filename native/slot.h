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
  uint16_t flags;   // bit 0 (vnet::kSlotMeta): the buffer starts with a vnet::Meta,
                    // the frame's checksum is left to offload (ports/vnet.h)
};
static_assert(sizeof(Slot) == 16, "Slot must stay 16 bytes");

}  // namespace vnf
