// What the parser found at L3 and L4. Internal to the SDK (packet.ts and
// the header views share them); plain numbers so comparisons stay Smi-only.

/** Not parsed yet (the packet moved or was edited). */
export const UNPARSED = -1;

export const L3_NONE = 0;
export const L3_IPV4 = 1;
export const L3_IPV6 = 2;
export const L3_ARP = 3;

export const L4_NONE = 0;
export const L4_TCP = 1;
export const L4_UDP = 2;
export const L4_ICMP = 3;
export const L4_ICMP6 = 4;

/** Batch.flags bit: the packet's TCP/UDP checksum is left to offload. */
export const CHECKSUM_PENDING = 1;
/** Batch.flags bit: the runtime found the datagram's TCP/UDP checksum right
 *  (a UDP socket's, native/endpoint.cc): no need to sum it again. */
export const CHECKSUM_GOOD = 4;
