// gen: a minimal AF_PACKET traffic generator for bench/live.mjs.
// Sends 64-byte frames (60 bytes + the FCS the wire would add) of IPv4/UDP
// from IFNAME to DSTMAC as fast as sendmmsg allows, until killed.
// The destination IP (10.200.0.99) is nobody's, so a sink stack that sees the
// frames drops them early. Qdisc bypass: frames go straight to the driver.
// Usage: gen IFNAME DSTMAC   (e.g. gen a0 02:00:00:00:00:02)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 256
#define LEN 60

static uint16_t csum(const void *p, int n) {
  const uint16_t *w = p;
  uint32_t s = 0;
  for (; n > 1; n -= 2) s += *w++;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return (uint16_t)~s;
}

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: gen IFNAME DSTMAC\n"); return 2; }
  int fd = socket(AF_PACKET, SOCK_RAW, 0);  // protocol 0: transmit only, no rx copies
  if (fd < 0) { perror("socket"); return 1; }
  int one = 1;
  setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
  struct ifreq ifr = {0};
  snprintf(ifr.ifr_name, IFNAMSIZ, "%s", argv[1]);
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) { perror("SIOCGIFHWADDR"); return 1; }
  struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = (int)if_nametoindex(argv[1]), .sll_halen = 6};
  if (!sll.sll_ifindex) { perror("if_nametoindex"); return 1; }
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) { perror("bind"); return 1; }

  uint8_t f[LEN] = {0};
  unsigned m[6];
  if (sscanf(argv[2], "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6) { fprintf(stderr, "bad DSTMAC\n"); return 2; }
  for (int i = 0; i < 6; i++) f[i] = (uint8_t)m[i];
  memcpy(f + 6, ifr.ifr_hwaddr.sa_data, 6);
  f[12] = 0x08; f[13] = 0x00;                       // IPv4
  uint8_t *ip = f + 14;
  ip[0] = 0x45; ip[2] = 0; ip[3] = LEN - 14;        // total length 46
  ip[8] = 64; ip[9] = 17;                           // TTL, UDP
  memcpy(ip + 12, "\x0a\xc8\x00\x01", 4);           // 10.200.0.1
  memcpy(ip + 16, "\x0a\xc8\x00\x63", 4);           // 10.200.0.99
  uint16_t c = csum(ip, 20); memcpy(ip + 10, &c, 2);
  uint8_t *udp = ip + 20;
  udp[0] = 0x04; udp[1] = 0xd2; udp[2] = 0x16; udp[3] = 0x2e;  // 1234 -> 5678
  udp[5] = LEN - 34;                                // UDP length 26, checksum 0

  struct mmsghdr msgs[BATCH];
  struct iovec iov = {f, LEN};
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < BATCH; i++) { msgs[i].msg_hdr.msg_iov = &iov; msgs[i].msg_hdr.msg_iovlen = 1; }
  for (;;) {
    int n = sendmmsg(fd, msgs, BATCH, 0);
    if (n < 0) usleep(10);  // ENOBUFS and friends: the device is full, try again
  }
}
