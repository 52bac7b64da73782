// The engine's RSS as a classic BPF program, for AF_PACKET fanout in `hw`
// mode (PACKET_FANOUT_CBPF). PACKET_FANOUT_HASH would pick the member by the
// kernel's own flow hash, whose key is random per boot: no core could know
// where a reply to its own packets will land. This program computes the
// Toeplitz hash of native/rss.cc (same key, same tuples) and returns
// hash & 127, which the kernel takes modulo the group's members: the
// engine's indirection table, so a frame reaches the member (core) the
// distributor and sdk/rss.ts name.
//
// Differences from Toeplitz::frameHash, all on frames no flow depends on:
// a VLAN tag left in the frame (not stripped into metadata by the device)
// and a frame cut short inside its addresses or ports give 0 here (core 0).
#pragma once
#include <linux/filter.h>

#include <vector>

#include "rss.h"

namespace vnf {

std::vector<sock_filter> rssFanoutProgram(const Toeplitz& toeplitz);

}  // namespace vnf
