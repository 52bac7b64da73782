// vnfrun/sdk: what a VNF imports. No Node built-ins and no dependencies, so
// it bundles into a V8 worker and a QuickJS context alike.

export { Batch } from "./batch";
export { Tuples, fillTuples } from "./tuples";
export { Packet } from "./packet";
export { checkCounterNames, defineVnf, makeCtx } from "./vnf";
export type { Ctx, VnfDefinition } from "./vnf";
export { Histogram } from "./histogram";

export { EthernetHeader } from "./headers/ethernet";
export { VlanHeader } from "./headers/vlan";
export { ArpHeader } from "./headers/arp";
export { Ipv4Header } from "./headers/ipv4";
export { Ipv6Header } from "./headers/ipv6";
export { TcpHeader } from "./headers/tcp";
export { UdpHeader } from "./headers/udp";
export { IcmpHeader, Icmp6Header } from "./headers/icmp";

export {
  ip4, ip4str, ip6, ip6str, mac, macStr, parsePrefix, parsePrefix6, prefixMask, prefixMask6,
} from "./addr";
export type { Prefix4, Prefix6 } from "./addr";
export { read16, read32, read48, write16, write32, write48, utf8 } from "./bytes";
export * from "./checksum";
export * from "./constants";
export { U32Set } from "./u32set";
export { compileAcl4, compileAcl6 } from "./acl";
export type { AclOptions, AclRule4, AclRule6, Match4, Match6, PortRange } from "./acl";
export { toeplitz, rssCore, rssHashOf, RSS_SYMMETRIC_KEY, RSS_MICROSOFT_KEY } from "./rss";
export { FlowTable, FLOW_TABLE_STATS, FT_ADDED, FT_REMOVED, FT_EXPIRED, FT_REFUSED, FT_EVICTED, hash4 } from "./flow-table";
export type { FlowTableOptions } from "./flow-table";
export { Ip4Set } from "./ip4-set";
export { ConfigReader, ConfigError } from "./config";
export type { NumberRule } from "./config";
export { RssPorts, replyCore4, replyCore6 } from "./rss-port";
export type { RssCoreInfo } from "./rss-port";
export { CTL_AVAILABLE, CTL_CAPACITY, CTL_FLAGS, CTL_USED, KEEP_VERDICT } from "./batch";
export { CHECKSUM_GOOD, CHECKSUM_PENDING } from "./kinds";
export type { KeepArrays } from "./batch";
export { Udp, UdpSocket, FLAG_RESOLVE, UDP_COUNTERS } from "./udp";
export { Maglev } from "./maglev";
export type { MaglevBackend } from "./maglev";
export { Tcp } from "./tcp/endpoint";
export { TcpStack, TcpListener, TcpConn, STATE_NAMES as TCP_STATE_NAMES } from "./tcp/index";
export type { TcpHandlers, TcpOptions, TcpOutput } from "./tcp/index";
export { Lpm4 } from "./lpm";
export { TokenBucket, SrTcm, TrTcm, GREEN, YELLOW, RED } from "./meter";
export type { Color } from "./meter";
