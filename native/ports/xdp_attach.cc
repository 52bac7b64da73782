#include "xdp_attach.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <stdexcept>
#include <vector>

#include "xdp_prog.h"

namespace vnf {
namespace xdp {

std::mutex registryLock;

namespace {

std::map<int, std::weak_ptr<Attachment>>& attachments() {
  static std::map<int, std::weak_ptr<Attachment>> all;
  return all;
}

}  // namespace

Attachment::~Attachment() {
  if (linkFd >= 0) ::close(linkFd);
  if (netlink) {
    std::string why;
    xdpk::attachNetlink(-1, ifindex, flags, why);
  }
  if (progFd >= 0) ::close(progFd);
  if (mapFd >= 0) ::close(mapFd);
}

std::string privilegeText(const std::string& what) {
  return "no permission to " + what + ": run as root, or grant CAP_NET_ADMIN, CAP_BPF, CAP_NET_RAW and CAP_IPC_LOCK (to pin the pool) "
         "(setcap cap_net_admin,cap_bpf,cap_net_raw,cap_ipc_lock+ep \"$(command -v node)\")";
}


std::shared_ptr<Attachment> attach(int ifindex, const std::string& ifname, const std::string& mode) {
  if (auto a = attachments()[ifindex].lock()) {
    if ((mode == "native" && !a->native()) || (mode == "generic" && a->native()))
      throw std::runtime_error(ifname + " already runs vnfrun's program in " + (a->native() ? "native" : "generic") +
                                " mode; give every port on it the same mode=");
    return a;
  }
  auto a = std::make_shared<Attachment>();
  a->ifindex = ifindex;
  a->ifname = ifname;
  a->mapFd = xdpk::createXskMap(kMapEntries);
  if (a->mapFd == -EPERM) throw std::runtime_error(privilegeText("create BPF maps"));
  if (a->mapFd < 0)
    throw std::runtime_error(std::string("cannot create an XSKMAP: ") + strerror(-a->mapFd) +
                              " (needs Linux >= 5.10 with CONFIG_XDP_SOCKETS)");
  std::string why;
  a->progFd = xdpk::loadRedirectProgram(a->mapFd, why);
  if (a->progFd == -EPERM) throw std::runtime_error(privilegeText("load XDP programs"));
  if (a->progFd < 0)
    throw std::runtime_error(std::string("the kernel refused the XDP program: ") + strerror(-a->progFd) +
                              (why.empty() ? "" : " (" + why + ")"));

  std::vector<uint32_t> tries;
  if (mode != "generic") tries.push_back(XDP_FLAGS_DRV_MODE);
  if (mode != "native") tries.push_back(XDP_FLAGS_SKB_MODE);
  std::string nativeWhy;
  for (uint32_t flags : tries) {
    int r = xdpk::attachLink(a->progFd, ifindex, flags);
    if (r >= 0) {
      a->linkFd = r;
      a->flags = flags;
      a->note = nativeWhy;
      attachments()[ifindex] = a;
      return a;
    }
    if (r == -EINVAL) {
      // A kernel without XDP links (before 5.9): netlink, detached at close.
      why.clear();
      r = xdpk::attachNetlink(a->progFd, ifindex, flags, why);
      if (r == 0) {
        a->netlink = true;
        a->flags = flags;
        a->note = nativeWhy;
        attachments()[ifindex] = a;
        return a;
      }
    }
    if (r == -EPERM) throw std::runtime_error(privilegeText("attach XDP programs"));
    if (r == -EBUSY || r == -EEXIST) {
      int id = xdpk::attachedProgramId(ifindex);
      throw std::runtime_error(ifname + " already has an XDP program" + (id > 0 ? " (id " + std::to_string(id) + ")" : "") +
                                ": remove it (ip link set dev " + ifname + " xdp off) or stop the program that owns it");
    }
    const bool drv = flags == XDP_FLAGS_DRV_MODE;
    std::string text = r == -EOPNOTSUPP && drv ? ifname + "'s driver has no native XDP"
                       : r == -ERANGE && drv   ? "the MTU of " + ifname + "'s veth peer is too large for native XDP: "
                                                 "lower it to 1500 on the peer"
                                               : std::string("attaching XDP failed: ") + strerror(-r) +
                                                     (why.empty() ? "" : " (" + why + ")");
    if (drv && mode == "auto") { nativeWhy = text; continue; }  // generic next
    if (drv) text += " (or use mode=generic)";
    throw std::runtime_error(text);
  }
  throw std::runtime_error("cannot attach XDP to " + ifname);
}

}  // namespace xdp
}  // namespace vnf
