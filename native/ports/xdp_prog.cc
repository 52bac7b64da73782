#include "xdp_prog.h"

#include <linux/bpf.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

namespace vnf {
namespace xdpk {
namespace {

int bpf(int cmd, bpf_attr& attr) {
  int r = int(syscall(__NR_bpf, cmd, &attr, sizeof attr));
  return r < 0 ? -errno : r;
}

uint64_t ptr(const void* p) { return uint64_t(uintptr_t(p)); }

bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i;
  std::memset(&i, 0, sizeof i);
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

// One request on a fresh rtnetlink socket; returns the ack's error (0 or
// -errno) and the kernel's message, or hands each reply to `onReply`.
template <typename OnReply>
int rtnetlink(void* req, uint32_t len, std::string& why, OnReply onReply) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return -errno;
  int one = 1;
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  sockaddr_nl sa;
  std::memset(&sa, 0, sizeof sa);
  sa.nl_family = AF_NETLINK;
  int result = -EIO;
  if (sendto(fd, req, len, 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) {
    result = -errno;
    ::close(fd);
    return result;
  }
  alignas(nlmsghdr) char buf[16384];
  for (bool done = false; !done;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) { result = -errno; break; }
    for (nlmsghdr* nh = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(nh, uint32_t(n)); nh = NLMSG_NEXT(nh, n)) {
      if (nh->nlmsg_type == NLMSG_ERROR) {
        const nlmsgerr* e = static_cast<const nlmsgerr*>(NLMSG_DATA(nh));
        result = e->error;
        if ((nh->nlmsg_flags & NLM_F_ACK_TLVS) && e->error) {
          // With NETLINK_CAP_ACK the attributes follow the error directly.
          const char* a = reinterpret_cast<const char*>(e) + NLMSG_ALIGN(sizeof *e);
          const char* end = reinterpret_cast<const char*>(nh) + nh->nlmsg_len;
          while (a + sizeof(nlattr) <= end) {
            const nlattr* at = reinterpret_cast<const nlattr*>(a);
            if (at->nla_len < sizeof(nlattr) || a + at->nla_len > end) break;
            if ((at->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG)
              why.assign(a + NLA_HDRLEN, strnlen(a + NLA_HDRLEN, at->nla_len - NLA_HDRLEN));
            a += NLA_ALIGN(at->nla_len);
          }
        }
        done = true;
        break;
      }
      if (nh->nlmsg_type == NLMSG_DONE) { done = true; break; }
      onReply(nh);
    }
  }
  ::close(fd);
  return result;
}

void putAttr(nlmsghdr* nh, uint16_t type, const void* data, uint16_t len) {
  nlattr* a = reinterpret_cast<nlattr*>(reinterpret_cast<char*>(nh) + NLMSG_ALIGN(nh->nlmsg_len));
  a->nla_type = type;
  a->nla_len = uint16_t(NLA_HDRLEN + len);
  if (len) std::memcpy(reinterpret_cast<char*>(a) + NLA_HDRLEN, data, len);
  nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + NLA_ALIGN(a->nla_len);
}

}  // namespace

int createXskMap(uint32_t entries) {
  bpf_attr a;
  std::memset(&a, 0, sizeof a);
  a.map_type = BPF_MAP_TYPE_XSKMAP;
  a.key_size = 4;
  a.value_size = 4;
  a.max_entries = entries;
  std::strncpy(a.map_name, "vnfrun_xsks", sizeof a.map_name - 1);
  int fd = bpf(BPF_MAP_CREATE, a);
  if (fd == -EINVAL) {  // kernels before 4.15 refuse names; try without
    std::memset(a.map_name, 0, sizeof a.map_name);
    fd = bpf(BPF_MAP_CREATE, a);
  }
  return fd;
}

int setXskMapEntry(int mapFd, uint32_t queue, int xskFd) {
  bpf_attr a;
  std::memset(&a, 0, sizeof a);
  a.map_fd = uint32_t(mapFd);
  a.key = ptr(&queue);
  a.value = ptr(&xskFd);
  a.flags = BPF_ANY;
  int r = bpf(BPF_MAP_UPDATE_ELEM, a);
  return r < 0 ? r : 0;
}

int clearXskMapEntry(int mapFd, uint32_t queue) {
  bpf_attr a;
  std::memset(&a, 0, sizeof a);
  a.map_fd = uint32_t(mapFd);
  a.key = ptr(&queue);
  int r = bpf(BPF_MAP_DELETE_ELEM, a);
  return r < 0 ? r : 0;
}

int loadRedirectProgram(int mapFd, std::string& why) {
  const bpf_insn prog[] = {
      // r2 = ctx->rx_queue_index
      insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, int16_t(offsetof(xdp_md, rx_queue_index)), 0),
      // r1 = &xskmap (a 16-byte load the verifier resolves from the map fd)
      insn(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, mapFd),
      insn(0, 0, 0, 0, 0),
      // r3 = XDP_PASS: what bpf_redirect_map returns when the queue has no socket
      insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, XDP_PASS),
      insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_redirect_map),
      insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
  };
  static const char license[] = "Dual MIT/GPL";
  static char log[4096];
  bpf_attr a;
  std::memset(&a, 0, sizeof a);
  a.prog_type = BPF_PROG_TYPE_XDP;
  a.insns = ptr(prog);
  a.insn_cnt = sizeof prog / sizeof prog[0];
  a.license = ptr(license);
  a.expected_attach_type = BPF_XDP;
  std::strncpy(a.prog_name, "vnfrun_xsk", sizeof a.prog_name - 1);
  int fd = bpf(BPF_PROG_LOAD, a);
  if (fd < 0 && fd != -EPERM) {
    // Once more with the verifier's log, for the message.
    log[0] = 0;
    a.log_level = 1;
    a.log_buf = ptr(log);
    a.log_size = sizeof log;
    int again = bpf(BPF_PROG_LOAD, a);
    if (again >= 0) return again;
    std::string s(log);
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    size_t nl = s.rfind('\n');
    why = nl == std::string::npos ? s : s.substr(nl + 1);
  }
  return fd;
}

int attachLink(int progFd, int ifindex, uint32_t flags) {
  bpf_attr a;
  std::memset(&a, 0, sizeof a);
  a.link_create.prog_fd = uint32_t(progFd);
  a.link_create.target_ifindex = uint32_t(ifindex);
  a.link_create.attach_type = BPF_XDP;
  a.link_create.flags = flags;
  return bpf(BPF_LINK_CREATE, a);
}

int attachNetlink(int progFd, int ifindex, uint32_t flags, std::string& why) {
  struct {
    nlmsghdr nh;
    ifinfomsg ifi;
    char attrs[64];
  } req;
  std::memset(&req, 0, sizeof req);
  req.nh.nlmsg_len = NLMSG_LENGTH(sizeof req.ifi);
  req.nh.nlmsg_type = RTM_SETLINK;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  req.ifi.ifi_family = AF_UNSPEC;
  req.ifi.ifi_index = ifindex;
  // IFLA_XDP { IFLA_XDP_FD, IFLA_XDP_FLAGS }, nested by hand.
  nlattr* nest = reinterpret_cast<nlattr*>(reinterpret_cast<char*>(&req) + NLMSG_ALIGN(req.nh.nlmsg_len));
  putAttr(&req.nh, IFLA_XDP | NLA_F_NESTED, nullptr, 0);
  int32_t fd = progFd;
  putAttr(&req.nh, IFLA_XDP_FD, &fd, sizeof fd);
  if (progFd >= 0) flags |= XDP_FLAGS_UPDATE_IF_NOEXIST;
  putAttr(&req.nh, IFLA_XDP_FLAGS, &flags, sizeof flags);
  nest->nla_len = uint16_t(reinterpret_cast<char*>(&req) + req.nh.nlmsg_len - reinterpret_cast<char*>(nest));
  return rtnetlink(&req, req.nh.nlmsg_len, why, [](nlmsghdr*) {});
}

int attachedProgramId(int ifindex) {
  struct {
    nlmsghdr nh;
    ifinfomsg ifi;
  } req;
  std::memset(&req, 0, sizeof req);
  req.nh.nlmsg_len = sizeof req;
  req.nh.nlmsg_type = RTM_GETLINK;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;  // the reply, then an ack
  req.ifi.ifi_family = AF_UNSPEC;
  req.ifi.ifi_index = ifindex;
  int id = 0;
  std::string why;
  int r = rtnetlink(&req, sizeof req, why, [&](nlmsghdr* nh) {
    if (nh->nlmsg_type != RTM_NEWLINK) return;
    int len = int(IFLA_PAYLOAD(nh));
    for (rtattr* at = IFLA_RTA(static_cast<ifinfomsg*>(NLMSG_DATA(nh))); RTA_OK(at, len); at = RTA_NEXT(at, len)) {
      if ((at->rta_type & NLA_TYPE_MASK) != IFLA_XDP) continue;
      int inner = int(RTA_PAYLOAD(at));
      for (rtattr* x = static_cast<rtattr*>(RTA_DATA(at)); RTA_OK(x, inner); x = RTA_NEXT(x, inner))
        if (x->rta_type == IFLA_XDP_PROG_ID) id = int(*static_cast<uint32_t*>(RTA_DATA(x)));
    }
  });
  return r < 0 ? r : id;
}

}  // namespace xdpk
}  // namespace vnf
