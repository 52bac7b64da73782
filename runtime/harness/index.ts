// vnfrun/test: write tests for a VNF. Build packets, run them through the
// real engine in this process, compare with golden captures, see packets
// decoded when they differ.
export { pkt, PacketBuilder, buildFrame, inetChecksum, frameOf, type PacketLike, type Bytes, type TcpOption,
  type EthFields, type VlanFields, type ArpFields, type Ipv4Fields, type Ipv6Fields, type IcmpFields, type TcpFields, type UdpFields } from "./packet";
export { runVnf, type VnfLike, type RunVnfOptions, type RunVnfResult, type Inputs, type PortInput } from "./run-vnf";
export { expectPcap, GoldenMismatch } from "./golden";
export { assertPacket, packetMatchers } from "./matcher";
export { decode, describePacket, diffFields, hexdumpDifference, type Decoded } from "./decode";
export { readCapture, readCaptureRecords, writeCapture, pcapBytes } from "./pcap-file";
