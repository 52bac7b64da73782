// xdp_drop: attach "return XDP_DROP" to IFNAME in native mode through a BPF
// link (no libbpf) and hold it until killed; the link, and so the program,
// goes away with this process. The cheapest possible sink: on veth the
// dropped frames are still counted in rx_packets.
// Usage: xdp_drop IFNAME
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: xdp_drop IFNAME\n"); return 2; }
  struct bpf_insn p[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_DROP},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.prog_type = BPF_PROG_TYPE_XDP; a.insns = (uint64_t)(uintptr_t)p; a.insn_cnt = 2;
  a.license = (uint64_t)(uintptr_t)"GPL"; a.expected_attach_type = BPF_XDP;
  int pfd = (int)syscall(__NR_bpf, BPF_PROG_LOAD, &a, sizeof a);
  if (pfd < 0) { perror("BPF_PROG_LOAD"); return 1; }
  memset(&a, 0, sizeof a);
  a.link_create.prog_fd = (uint32_t)pfd; a.link_create.target_ifindex = if_nametoindex(argv[1]);
  a.link_create.attach_type = BPF_XDP; a.link_create.flags = XDP_FLAGS_DRV_MODE;
  if ((int)syscall(__NR_bpf, BPF_LINK_CREATE, &a, sizeof a) < 0) { perror("BPF_LINK_CREATE"); return 1; }
  printf("attached\n");
  fflush(stdout);
  for (;;) pause();
}
