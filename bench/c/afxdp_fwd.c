// afxdp_fwd: a plain AF_XDP forwarder between two interfaces, the
// kernel-interface ceiling for vnfrun's `xdp` port. No libbpf: the XDP
// program (redirect queue -> socket through an XSKMAP, six instructions) is
// loaded with bpf(2) and attached with a BPF link in native mode, so it goes
// away when this process exits. Copy-mode bind (what veth offers), queue 0,
// one UMEM per interface; a forwarded frame is copied once into the other
// interface's UMEM. Busy-polls both directions.
// Usage: afxdp_fwd IF0 IF1
#define _GNU_SOURCE
#include <errno.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NFRAMES 4096
#define FSIZE 2048
#define RING 2048
#define BATCH 64

static int bpf(int cmd, union bpf_attr *a) { return (int)syscall(__NR_bpf, cmd, a, sizeof *a); }
static void die(const char *what) { perror(what); exit(1); }

struct ring { uint32_t *prod, *cons, *flags; void *desc; uint32_t mask; };
struct port {
  int fd; uint8_t *umem; struct ring fill, comp, rx, tx;
  uint64_t free[NFRAMES]; uint32_t nfree;  // UMEM frames free for transmit
};

static void map_ring(int fd, struct ring *r, const struct xdp_ring_offset *o, uint64_t pgoff, size_t esz) {
  size_t len = o->desc + RING * esz;
  uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, (off_t)pgoff);
  if (m == MAP_FAILED) die("mmap ring");
  r->prod = (uint32_t *)(m + o->producer); r->cons = (uint32_t *)(m + o->consumer);
  r->flags = (uint32_t *)(m + o->flags); r->desc = m + o->desc; r->mask = RING - 1;
}

// Load "redirect to xsks[rx_queue_index], else XDP_PASS" and attach it to ifindex.
static int attach_prog(int ifindex, int mapfd) {
  struct bpf_insn p[] = {
      {BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, offsetof(struct xdp_md, rx_queue_index), 0},
      {BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, mapfd}, {0, 0, 0, 0, 0},
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, XDP_PASS},
      {BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_redirect_map},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  union bpf_attr a; memset(&a, 0, sizeof a);
  a.prog_type = BPF_PROG_TYPE_XDP; a.insns = (uint64_t)(uintptr_t)p; a.insn_cnt = 6;
  a.license = (uint64_t)(uintptr_t)"GPL"; a.expected_attach_type = BPF_XDP;
  int pfd = bpf(BPF_PROG_LOAD, &a);
  if (pfd < 0) die("BPF_PROG_LOAD");
  memset(&a, 0, sizeof a);
  a.link_create.prog_fd = (uint32_t)pfd; a.link_create.target_ifindex = (uint32_t)ifindex;
  a.link_create.attach_type = BPF_XDP; a.link_create.flags = XDP_FLAGS_DRV_MODE;
  int lfd = bpf(BPF_LINK_CREATE, &a);
  if (lfd < 0) die("BPF_LINK_CREATE (native XDP)");
  return lfd;
}

static void open_port(struct port *pt, const char *name) {
  int ifindex = (int)if_nametoindex(name);
  if (!ifindex) die(name);
  pt->fd = socket(AF_XDP, SOCK_RAW, 0);
  if (pt->fd < 0) die("socket(AF_XDP)");
  pt->umem = mmap(NULL, (size_t)NFRAMES * FSIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (pt->umem == MAP_FAILED) die("mmap umem");
  struct xdp_umem_reg ur = {.addr = (uint64_t)(uintptr_t)pt->umem, .len = (uint64_t)NFRAMES * FSIZE, .chunk_size = FSIZE};
  if (setsockopt(pt->fd, SOL_XDP, XDP_UMEM_REG, &ur, sizeof ur)) die("XDP_UMEM_REG");
  int n = RING;
  setsockopt(pt->fd, SOL_XDP, XDP_UMEM_FILL_RING, &n, sizeof n);
  setsockopt(pt->fd, SOL_XDP, XDP_UMEM_COMPLETION_RING, &n, sizeof n);
  setsockopt(pt->fd, SOL_XDP, XDP_RX_RING, &n, sizeof n);
  setsockopt(pt->fd, SOL_XDP, XDP_TX_RING, &n, sizeof n);
  struct xdp_mmap_offsets off; socklen_t ol = sizeof off;
  if (getsockopt(pt->fd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &ol)) die("XDP_MMAP_OFFSETS");
  map_ring(pt->fd, &pt->fill, &off.fr, XDP_UMEM_PGOFF_FILL_RING, sizeof(uint64_t));
  map_ring(pt->fd, &pt->comp, &off.cr, XDP_UMEM_PGOFF_COMPLETION_RING, sizeof(uint64_t));
  map_ring(pt->fd, &pt->rx, &off.rx, XDP_PGOFF_RX_RING, sizeof(struct xdp_desc));
  map_ring(pt->fd, &pt->tx, &off.tx, XDP_PGOFF_TX_RING, sizeof(struct xdp_desc));
  // First half of the UMEM goes to the fill ring (rx), the second half is for tx.
  uint64_t *fd = pt->fill.desc;
  for (uint32_t i = 0; i < NFRAMES / 2; i++) fd[i & pt->fill.mask] = (uint64_t)i * FSIZE;
  __atomic_store_n(pt->fill.prod, NFRAMES / 2, __ATOMIC_RELEASE);
  for (uint32_t i = NFRAMES / 2; i < NFRAMES; i++) pt->free[pt->nfree++] = (uint64_t)i * FSIZE;
  struct sockaddr_xdp sx = {.sxdp_family = AF_XDP, .sxdp_ifindex = (uint32_t)ifindex, .sxdp_queue_id = 0,
                            .sxdp_flags = XDP_COPY | XDP_USE_NEED_WAKEUP};
  if (bind(pt->fd, (struct sockaddr *)&sx, sizeof sx)) die("bind(AF_XDP)");
  union bpf_attr a; memset(&a, 0, sizeof a);
  a.map_type = BPF_MAP_TYPE_XSKMAP; a.key_size = 4; a.value_size = 4; a.max_entries = 64;
  int mfd = bpf(BPF_MAP_CREATE, &a);
  if (mfd < 0) die("BPF_MAP_CREATE");
  uint32_t key = 0;
  memset(&a, 0, sizeof a);
  a.map_fd = (uint32_t)mfd; a.key = (uint64_t)(uintptr_t)&key; a.value = (uint64_t)(uintptr_t)&pt->fd;
  if (bpf(BPF_MAP_UPDATE_ELEM, &a)) die("BPF_MAP_UPDATE_ELEM");
  attach_prog(ifindex, mfd);
}

// Receive up to BATCH frames on s, copy them into d's UMEM and queue them on d's tx ring.
static int pump(struct port *s, struct port *d) {
  // Reclaim d's transmitted frames.
  uint32_t cc = *d->comp.cons, cp = __atomic_load_n(d->comp.prod, __ATOMIC_ACQUIRE);
  for (; cc != cp; cc++) d->free[d->nfree++] = ((uint64_t *)d->comp.desc)[cc & d->comp.mask];
  __atomic_store_n(d->comp.cons, cc, __ATOMIC_RELEASE);

  uint32_t rc = *s->rx.cons, rp = __atomic_load_n(s->rx.prod, __ATOMIC_ACQUIRE);
  uint32_t n = rp - rc;
  if (n > BATCH) n = BATCH;
  if (!n) {
    if (__atomic_load_n(s->fill.flags, __ATOMIC_RELAXED) & XDP_RING_NEED_WAKEUP) recvfrom(s->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
    return 0;
  }
  uint32_t tp = *d->tx.prod, tcons = __atomic_load_n(d->tx.cons, __ATOMIC_ACQUIRE);
  uint32_t fp = *s->fill.prod, sent = 0;
  for (uint32_t i = 0; i < n; i++) {
    struct xdp_desc *rd = &((struct xdp_desc *)s->rx.desc)[(rc + i) & s->rx.mask];
    if (d->nfree && tp - tcons < RING) {  // else: no room, the frame is dropped
      uint64_t a = d->free[--d->nfree];
      memcpy(d->umem + a, s->umem + rd->addr, rd->len);
      struct xdp_desc *td = &((struct xdp_desc *)d->tx.desc)[tp++ & d->tx.mask];
      td->addr = a; td->len = rd->len; td->options = 0;
      sent++;
    }
    ((uint64_t *)s->fill.desc)[fp++ & s->fill.mask] = rd->addr & ~(uint64_t)(FSIZE - 1);  // back to rx
  }
  __atomic_store_n(s->rx.cons, rc + n, __ATOMIC_RELEASE);
  __atomic_store_n(s->fill.prod, fp, __ATOMIC_RELEASE);
  __atomic_store_n(d->tx.prod, tp, __ATOMIC_RELEASE);
  if (sent) sendto(d->fd, NULL, 0, MSG_DONTWAIT, NULL, 0);  // copy mode: tx needs a kick
  return (int)n;
}

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: afxdp_fwd IF0 IF1\n"); return 2; }
  static struct port p0, p1;
  open_port(&p0, argv[1]);
  open_port(&p1, argv[2]);
  for (;;) { pump(&p0, &p1); pump(&p1, &p0); }
}
