#include "iface.h"

#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace vnf {

Iface Iface::inspect(const std::string& name) {
  Iface i;
  i.name = name;
  i.index = int(if_nametoindex(name.c_str()));
  if (i.index == 0) return i;
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return i;
  ifreq r;
  std::memset(&r, 0, sizeof r);
  std::strncpy(r.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (ioctl(s, SIOCGIFFLAGS, &r) == 0) i.flags = unsigned(uint16_t(r.ifr_flags));
  if (ioctl(s, SIOCGIFMTU, &r) == 0) i.mtu = r.ifr_mtu;
  if (ioctl(s, SIOCGIFHWADDR, &r) == 0) i.arpType = r.ifr_hwaddr.sa_family;
  ethtool_channels ch;
  std::memset(&ch, 0, sizeof ch);
  ch.cmd = ETHTOOL_GCHANNELS;
  r.ifr_data = reinterpret_cast<char*>(&ch);
  if (ioctl(s, SIOCETHTOOL, &r) == 0) i.queues = int(ch.rx_count + ch.combined_count);
  ethtool_drvinfo info;
  std::memset(&info, 0, sizeof info);
  info.cmd = ETHTOOL_GDRVINFO;
  r.ifr_data = reinterpret_cast<char*>(&info);
  if (ioctl(s, SIOCETHTOOL, &r) == 0) {
    i.driver.assign(info.driver, strnlen(info.driver, sizeof info.driver));
    i.bus.assign(info.bus_info, strnlen(info.bus_info, sizeof info.bus_info));
  }
  ethtool_value tso;
  std::memset(&tso, 0, sizeof tso);
  tso.cmd = ETHTOOL_GTSO;
  r.ifr_data = reinterpret_cast<char*>(&tso);
  if (ioctl(s, SIOCETHTOOL, &r) == 0) i.tso = tso.data != 0;
  ::close(s);
  return i;
}

const Iface& Iface::mustExist() const {
  if (index == 0) throw std::runtime_error("no interface " + name + " in this network namespace (ip link show lists them)");
  return *this;
}

const Iface& Iface::mustBeUp() const {
  if (flags && !(flags & IFF_UP)) throw std::runtime_error(name + " is down: ip link set dev " + name + " up");
  return *this;
}

uint32_t Iface::frameFor(uint32_t room) const {
  const uint32_t frame = uint32_t(mtu ? mtu : 1500) + kEthHeader + kVlanTag;
  if (mtu && frame > room) {
    const uint32_t fits = room > kEthHeader + kVlanTag ? room - kEthHeader - kVlanTag : 0;
    throw std::runtime_error("the MTU of " + name + " (" + std::to_string(mtu) + ") is larger than a buffer holds (" +
                             std::to_string(room) + "-byte frames): ip link set dev " + name + " mtu " +
                             std::to_string(std::min<uint32_t>(1500, fits)));
  }
  return frame;
}

}  // namespace vnf
