// The kernel side of the xdp driver, with no libbpf: an XSKMAP, a six-
// instruction XDP program that redirects each frame to the AF_XDP socket of
// its rx queue (XDP_PASS when the queue has none), and the two ways to attach
// it: a BPF link (gone when its fd closes, so also after a crash or SIGKILL)
// or, on kernels without XDP links, netlink's IFLA_XDP.
//
// Every call returns a file descriptor or 0 on success, and -errno on failure;
// `why` gets the kernel's own words where it gives any (netlink extack).
#pragma once
#include <cstdint>
#include <string>

namespace vnf {
namespace xdpk {

// bpf(BPF_MAP_CREATE) of an XSKMAP keyed by rx queue.
int createXskMap(uint32_t entries);
int setXskMapEntry(int mapFd, uint32_t queue, int xskFd);
int clearXskMapEntry(int mapFd, uint32_t queue);

// bpf(BPF_PROG_LOAD): r0 = bpf_redirect_map(map, ctx->rx_queue_index, XDP_PASS).
int loadRedirectProgram(int mapFd, std::string& why);

// bpf(BPF_LINK_CREATE, BPF_XDP). `flags` is XDP_FLAGS_DRV_MODE or
// XDP_FLAGS_SKB_MODE. Returns the link fd.
int attachLink(int progFd, int ifindex, uint32_t flags);

// RTM_SETLINK with IFLA_XDP; progFd -1 detaches the program of that mode.
int attachNetlink(int progFd, int ifindex, uint32_t flags, std::string& why);

// The id of the XDP program on the interface (any mode), 0 for none, or -errno.
int attachedProgramId(int ifindex);

}  // namespace xdpk
}  // namespace vnf
