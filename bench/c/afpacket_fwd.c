// afpacket_fwd: a plain AF_PACKET forwarder between two interfaces, the
// kernel-interface ceiling for vnfrun's `packet` port. recvmmsg a batch from
// one side, sendmmsg it to the other, both directions; poll() when idle.
// Promiscuous, outgoing frames ignored, qdisc bypass on transmit.
// Usage: afpacket_fwd IF0 IF1
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64
#define SNAP 2048

static int open_port(const char *name) {
  int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
  if (fd < 0) { perror("socket"); return -1; }
  int ifindex = (int)if_nametoindex(name), one = 1;
  if (!ifindex) { perror(name); return -1; }
  setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
  setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
  struct packet_mreq mr = {.mr_ifindex = ifindex, .mr_type = PACKET_MR_PROMISC};
  setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr);
  int buf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = ifindex};
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) { perror("bind"); return -1; }
  return fd;
}

static uint8_t bufs[BATCH][SNAP];
static struct iovec iov[BATCH];
static struct mmsghdr rx[BATCH], tx[BATCH];

// Move one batch from fd `from` to fd `to`; returns frames moved.
static int pump(int from, int to) {
  for (int i = 0; i < BATCH; i++) { iov[i].iov_len = SNAP; rx[i].msg_hdr.msg_iov = &iov[i]; rx[i].msg_hdr.msg_iovlen = 1; }
  int n = recvmmsg(from, rx, BATCH, MSG_DONTWAIT, NULL);
  if (n <= 0) return 0;
  for (int i = 0; i < n; i++) {
    tx[i].msg_hdr.msg_iov = &iov[i]; tx[i].msg_hdr.msg_iovlen = 1;
    iov[i].iov_len = rx[i].msg_len;  // the frame as received, no copy
  }
  int sent = 0;
  while (sent < n) {  // a full device drops what is left, like a NIC would
    int k = sendmmsg(to, tx + sent, (unsigned)(n - sent), 0);
    if (k <= 0) break;
    sent += k;
  }
  return n;
}

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: afpacket_fwd IF0 IF1\n"); return 2; }
  int p[2] = {open_port(argv[1]), open_port(argv[2])};
  if (p[0] < 0 || p[1] < 0) return 1;
  for (int i = 0; i < BATCH; i++) iov[i].iov_base = bufs[i];
  for (;;) {
    int moved = pump(p[0], p[1]) + pump(p[1], p[0]);
    if (!moved) {
      struct pollfd pf[2] = {{p[0], POLLIN, 0}, {p[1], POLLIN, 0}};
      poll(pf, 2, 100);
    }
  }
}
