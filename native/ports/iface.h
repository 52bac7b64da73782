// What the live drivers (packet, tap, xdp, netmap) share about an
// interface and the host: its index, flags, MTU and driver, read once, and
// the one-line messages that say what to change. One place, so that the
// drivers' texts and arithmetic do not drift apart.
#pragma once
#include <cstdint>
#include <string>

namespace vnf {

constexpr uint32_t kEthHeader = 14;
constexpr uint32_t kVlanTag = 4;

struct Iface {
  std::string name;
  int index = 0;        // 0: no interface of that name here
  unsigned flags = 0;   // IFF_*; 0 when unreadable
  int mtu = 0;          // 0 when unreadable
  int arpType = -1;     // ARPHRD_*; -1 when unreadable
  int queues = 0;       // rx queues (rx + combined channels); 0 when unknown
  std::string driver;   // "veth", "mlx5_core", ...; "" when unknown
  std::string bus;      // ethtool's bus_info ("tap" or "tun" for tun's devices)
  bool tso = true;      // TCP segmentation offload on (ethtool -k: tcp-segmentation-offload); true when unreadable

  // Reads what it can; never throws.
  static Iface inspect(const std::string& name);

  // Each throws the line that says what to do.
  const Iface& mustExist() const;   // no interface NAME in this network namespace
  const Iface& mustBeUp() const;    // NAME is down: ip link set dev NAME up
  // The longest frame the MTU lets arrive (with one VLAN tag; MTU 1500 when
  // unreadable), which must fit `room` bytes (what a buffer holds for it).
  uint32_t frameFor(uint32_t room) const;
};

}  // namespace vnf
