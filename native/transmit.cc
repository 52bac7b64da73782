#include "transmit.h"

#include "ports/vnet.h"

namespace vnf {
namespace {

// Send the segments of one super-frame, a burst at a time, then free it.
void cutAndSend(Port& port, Lane& lane, const Slot& s, uint16_t headroom) {
  Pool& pool = lane.cache.pool();
  uint8_t* buf = pool.data(s.buf);
  uint64_t* c = lane.counters.port(port.index());
  vnet::virtio_net_hdr h;
  vnet::Segmenter seg;
  if (!vnet::headerFor(s, buf, h) || !seg.start(buf + s.off, s.len, h, pool.bufSize() - headroom)) {
    c[tx_errors]++;
  } else {
    Slot out[64];
    for (uint32_t next = 0; next < seg.count();) {
      const uint32_t n = seg.emit(lane.cache, out, 64, headroom, uint16_t(port.index()), next, c[tx_no_buffer]);
      if (n) port.transmit(lane, out, n);
    }
  }
  lane.cache.free(s.buf);
}

}  // namespace

void transmitTo(Port& port, Lane& lane, const Slot* slots, uint32_t n, uint16_t headroom) {
  if (port.takesGso() || !lane.cache.pool().holdsSuperFrames()) return port.transmit(lane, slots, n);
  for (uint32_t i = 0; i < n;) {
    uint32_t j = i;
    while (j < n && !(slots[j].flags & vnet::kSlotGso)) j++;
    if (j > i) port.transmit(lane, slots + i, j - i);
    if (j == n) break;
    cutAndSend(port, lane, slots[j], headroom);
    i = j + 1;
  }
}

}  // namespace vnf
