// The per-interface half of the xdp driver: one XSKMAP and one redirect
// program per interface, shared by every port and queue on it, attached in
// native or generic mode and detached when the last user lets go.
#pragma once
#include <linux/if_link.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace vnf {
namespace xdp {

constexpr uint32_t kMapEntries = 1024;    // XSKMAP size: rx queues an interface may have

// What to grant when the kernel says EPERM.
std::string privilegeText(const std::string& what);

struct Attachment {
  int ifindex = 0;
  std::string ifname;
  int mapFd = -1, progFd = -1, linkFd = -1;
  uint32_t flags = 0;          // XDP_FLAGS_DRV_MODE or XDP_FLAGS_SKB_MODE
  bool netlink = false;        // attached by IFLA_XDP: detach at close
  std::string note;            // why auto mode did not get native XDP

  bool native() const { return flags & XDP_FLAGS_DRV_MODE; }
  ~Attachment();   // detaches and closes what it holds
};

// Opens and closes run on the main thread, but hw mode may open from
// several: hold this around attach() and around the port's bind and close.
extern std::mutex registryLock;

// The interface's attachment, made (program loaded and attached) on first
// use; throws the line that says what to do. `mode`: native, generic, auto.
std::shared_ptr<Attachment> attach(int ifindex, const std::string& ifname, const std::string& mode);

}  // namespace xdp
}  // namespace vnf
