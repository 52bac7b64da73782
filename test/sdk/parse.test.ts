import { describe, expect, it } from "vitest";
import { Batch, ip4 } from "../../sdk";
import type { Packet } from "../../sdk";
import {
  arp, extHeader, fillL4v4, fillL4v6, fragHeader, frame, icmpEcho, ipv4, ipv6, MAC_A, MAC_B,
  tcp, udp, V6_A, V6_B, vlanTag,
} from "./frames";

function one(f: Uint8Array): Packet {
  return Batch.fromFrames([f], ["in", "out"]).packet(0);
}

describe("ethernet", () => {
  it("reads addresses and type", () => {
    const p = one(frame(0x88b5, [1, 2, 3]));
    expect(p.eth).not.toBeNull();
    expect(p.eth!.dst).toBe(MAC_B);
    expect(p.eth!.src).toBe(MAC_A);
    expect(p.eth!.etherType).toBe(0x88b5);
    expect(p.etherType).toBe(0x88b5);
    expect(p.eth!.dstString).toBe("02:00:00:00:00:02");
    expect(p.ipv4).toBeNull();
    expect(p.l4Protocol).toBe(-1);
  });

  it("is null below 14 bytes", () => {
    const f = frame(0x0800, []);
    expect(one(f.subarray(0, 13)).eth).toBeNull();
    expect(one(f.subarray(0, 13)).etherType).toBe(-1);
    expect(one(f.subarray(0, 14)).eth).not.toBeNull();
  });

  it("broadcast and multicast", () => {
    const f = frame(0x0800, []);
    f.fill(0xff, 0, 6);
    const e = one(f).eth!;
    expect(e.isBroadcast).toBe(true);
    expect(e.isMulticast).toBe(true);
    f[0] = 0x01; f[5] = 0x00;
    const e2 = one(f).eth!;
    expect(e2.isBroadcast).toBe(false);
    expect(e2.isMulticast).toBe(true);
  });
});

describe("vlan", () => {
  const payload = ipv4({ proto: 17 }, udp(1, 2, [9]));

  it("parses one 802.1Q tag and the IP behind it", () => {
    const p = one(frame(0x0800, payload, [vlanTag(0x8100, 5, true, 100)]));
    const v = p.vlan!;
    expect(v.tpid).toBe(0x8100);
    expect(v.pcp).toBe(5);
    expect(v.dei).toBe(true);
    expect(v.vid).toBe(100);
    expect(v.etherType).toBe(0x0800);
    expect(p.eth!.etherType).toBe(0x8100);
    expect(p.etherType).toBe(0x0800);
    expect(p.ipv4!.src).toBe(0x0a000001);
    expect(p.udp!.dstPort).toBe(2);
    expect(p.l3Offset).toBe(18);
  });

  it("skips a QinQ pair (802.1ad outer, 802.1Q inner); vlan is the outer tag", () => {
    const p = one(frame(0x0800, payload, [vlanTag(0x88a8, 1, false, 200), vlanTag(0x8100, 2, false, 300)]));
    expect(p.vlan!.tpid).toBe(0x88a8);
    expect(p.vlan!.vid).toBe(200);
    expect(p.vlan!.etherType).toBe(0x8100);
    expect(p.ipv4).not.toBeNull();
    expect(p.l3Offset).toBe(22);
    expect(p.udp!.srcPort).toBe(1);
  });

  it("gives up after two tags", () => {
    const tags = [vlanTag(0x88a8, 0, false, 1), vlanTag(0x8100, 0, false, 2), vlanTag(0x8100, 0, false, 3)];
    const p = one(frame(0x0800, payload, tags));
    expect(p.vlan).not.toBeNull();
    expect(p.ipv4).toBeNull();
  });

  it("is null when the tag is cut off", () => {
    const f = frame(0x0800, payload, [vlanTag(0x8100, 0, false, 7)]);
    expect(one(f.subarray(0, 17)).vlan).toBeNull();
    expect(one(f.subarray(0, 17)).eth!.etherType).toBe(0x8100);
    expect(one(f.subarray(0, 18)).vlan!.vid).toBe(7);
  });
});

describe("arp", () => {
  it("parses an Ethernet/IPv4 request", () => {
    const p = one(frame(0x0806, arp(1, MAC_A, ip4("10.0.0.1"), 0, ip4("10.0.0.2"))));
    const a = p.arp!;
    expect(a.op).toBe(1);
    expect(a.sha).toBe(MAC_A);
    expect(a.spa).toBe(ip4("10.0.0.1"));
    expect(a.tha).toBe(0);
    expect(a.tpa).toBe(ip4("10.0.0.2"));
    expect(a.htype).toBe(1);
    expect(a.ptype).toBe(0x0800);
    expect(p.ipv4).toBeNull();
  });

  it("is null when truncated or not Ethernet/IPv4", () => {
    const f = frame(0x0806, arp(2, MAC_A, 1, MAC_B, 2));
    expect(one(f.subarray(0, 41)).arp).toBeNull();
    expect(one(f.subarray(0, 42)).arp).not.toBeNull();
    const g = f.slice(); g[14 + 5] = 16; // plen 16
    expect(one(g).arp).toBeNull();
  });
});

describe("ipv4", () => {
  it("parses fields", () => {
    const ip = ipv4({ src: ip4("192.168.1.10"), dst: ip4("172.16.0.1"), proto: 6, ttl: 17, id: 0xbeef, tos: 0xb9 }, tcp({}));
    const p = one(frame(0x0800, ip));
    const h = p.ipv4!;
    expect(h.version).toBe(4);
    expect(h.ihl).toBe(5);
    expect(h.dscp).toBe(0xb9 >> 2);
    expect(h.ecn).toBe(1);
    expect(h.totalLength).toBe(40);
    expect(h.id).toBe(0xbeef);
    expect(h.flags).toBe(2);
    expect(h.dontFragment).toBe(true);
    expect(h.fragmentOffset).toBe(0);
    expect(h.ttl).toBe(17);
    expect(h.protocol).toBe(6);
    expect(h.src).toBe(0xc0a8010a);
    expect(h.srcString).toBe("192.168.1.10");
    expect(h.dstString).toBe("172.16.0.1");
    expect(h.verifyChecksum()).toBe(true);
    expect(p.l4Protocol).toBe(6);
    expect(p.tcp).not.toBeNull();
  });

  it("skips options to find L4", () => {
    const opts = [0x94, 0x04, 0, 0, 0x01, 0x01, 0x01, 0x00]; // router alert + NOPs + EOL
    const ip = ipv4({ proto: 17, options: opts }, udp(5353, 53, [1, 2, 3, 4]));
    const p = one(frame(0x0800, ip));
    expect(p.ipv4!.ihl).toBe(7);
    expect(p.ipv4!.headerLength).toBe(28);
    expect(p.l4Offset).toBe(14 + 28);
    expect(p.udp!.srcPort).toBe(5353);
    expect(p.udp!.dstPort).toBe(53);
    expect(p.udp!.length).toBe(12);
    expect(p.payloadOffset).toBe(14 + 28 + 8);
    expect(p.payloadLength).toBe(4);
  });

  it("ignores Ethernet padding after totalLength", () => {
    const ip = ipv4({ proto: 17 }, udp(1, 2));
    const p = one(frame(0x0800, [...ip, ...new Array(18).fill(0xee)]));
    expect(p.ipv4!.totalLength).toBe(28);
    expect(p.udp).not.toBeNull();
    expect(p.payloadLength).toBe(0);
  });

  it("rejects bad version, IHL < 5, totalLength < IHL*4 or beyond the frame", () => {
    const ip = ipv4({ proto: 17 }, udp(1, 2));
    const bad = (mut: (b: number[]) => void): Packet => { const b = ip.slice(); mut(b); return one(frame(0x0800, b)); };
    expect(bad((b) => { b[0] = 0x65; }).ipv4).toBeNull();
    expect(bad((b) => { b[0] = 0x44; }).ipv4).toBeNull();
    expect(bad((b) => { b[2] = 0; b[3] = 19; }).ipv4).toBeNull();
    expect(bad((b) => { b[0] = 0x46; b[2] = 0; b[3] = 20; }).ipv4).toBeNull(); // tl < 24
    expect(bad((b) => { b[2] = 0; b[3] = 29; }).ipv4).toBeNull();
    expect(bad((b) => { b[0] = 0x4f; }).ipv4).toBeNull(); // 60-byte header > 28
    expect(bad(() => undefined).ipv4).not.toBeNull();
    expect(bad(() => undefined).l4Protocol).toBe(17);
  });

  it("non-first fragments have a protocol but no L4 header", () => {
    const first = one(frame(0x0800, ipv4({ proto: 6, flags: 1, fragOff: 0 }, tcp({ dport: 22 }))));
    expect(first.ipv4!.isFragment).toBe(true);
    expect(first.ipv4!.moreFragments).toBe(true);
    expect(first.tcp!.dstPort).toBe(22);
    const later = one(frame(0x0800, ipv4({ proto: 6, flags: 0, fragOff: 185 }, tcp({ dport: 22 }))));
    expect(later.ipv4!.fragmentOffset).toBe(185);
    expect(later.ipv4!.isFragment).toBe(true);
    expect(later.l4Protocol).toBe(6);
    expect(later.tcp).toBeNull();
    expect(later.l4Offset).toBe(-1);
    expect(later.dstPort).toBe(-1);
    expect(later.payloadOffset).toBe(-1);
  });

  it("truncated IPv4 gives null at every cut", () => {
    const f = frame(0x0800, ipv4({ proto: 6 }, tcp({})));
    for (let n = 0; n < f.length; n++) {
      const p = one(f.subarray(0, n));
      expect(p.ipv4, `length ${n}`).toBeNull();
      expect(p.tcp, `length ${n}`).toBeNull();
    }
    expect(one(f).tcp).not.toBeNull();
  });
});

describe("tcp", () => {
  it("parses fields and options length", () => {
    const opts = [2, 4, 0x05, 0xb4, 1, 1, 4, 2]; // MSS, NOP, NOP, SACK-permitted
    const seg = tcp({ sport: 443, dport: 51000, seq: 0xfedcba98, ack: 0x01020304, flags: 0x12, window: 1024, urgent: 7, options: opts }, [0xaa, 0xbb]);
    const p = one(frame(0x0800, ipv4({ proto: 6 }, seg)));
    const t = p.tcp!;
    expect(t.srcPort).toBe(443);
    expect(t.dstPort).toBe(51000);
    expect(t.seq).toBe(0xfedcba98);
    expect(t.ackSeq).toBe(0x01020304);
    expect(t.dataOffset).toBe(7);
    expect(t.headerLength).toBe(28);
    expect(t.flags).toBe(0x12);
    expect([t.syn, t.ack, t.fin, t.rst, t.psh, t.urg, t.ece, t.cwr]).toEqual([true, true, false, false, false, false, false, false]);
    expect(t.window).toBe(1024);
    expect(t.urgent).toBe(7);
    expect(p.srcPort).toBe(443);
    expect(p.dstPort).toBe(51000);
    expect(p.payloadOffset).toBe(14 + 20 + 28);
    expect(p.payloadLength).toBe(2);
  });

  it("is null for data offset < 5 or options past the IP end", () => {
    const seg = tcp({});
    seg[12] = 4 << 4;
    expect(one(frame(0x0800, ipv4({ proto: 6 }, seg))).tcp).toBeNull();
    seg[12] = 6 << 4; // 24-byte header in a 20-byte segment
    const p = one(frame(0x0800, [...ipv4({ proto: 6 }, seg), 0, 0, 0, 0])); // bytes after IP don't count
    expect(p.tcp).toBeNull();
    expect(p.l4Protocol).toBe(6);
    expect(p.srcPort).toBe(-1);
  });
});

describe("icmp", () => {
  it("parses echo", () => {
    const p = one(frame(0x0800, ipv4({ proto: 1 }, icmpEcho(8, 0x4242, 7, [1, 2, 3]))));
    const i = p.icmp!;
    expect([i.type, i.code, i.identifier, i.sequence]).toEqual([8, 0, 0x4242, 7]);
    expect(i.verifyChecksum()).toBe(true);
    expect(p.icmp6).toBeNull();
    expect(p.srcPort).toBe(-1);
    expect(p.payloadLength).toBe(3);
  });

  it("is null below 8 bytes", () => {
    const p = one(frame(0x0800, ipv4({ proto: 1 }, [8, 0, 0, 0, 0, 0, 0])));
    expect(p.ipv4).not.toBeNull();
    expect(p.icmp).toBeNull();
  });
});

describe("ipv6", () => {
  it("parses the fixed header and UDP", () => {
    const ip = ipv6({ next: 17, hopLimit: 3, tc: 0xab, flow: 0xcdef1 }, udp(1000, 53, [0]));
    const p = one(frame(0x86dd, ip));
    const h = p.ipv6!;
    expect(h.version).toBe(6);
    expect(h.trafficClass).toBe(0xab);
    expect(h.flowLabel).toBe(0xcdef1);
    expect(h.payloadLength).toBe(9);
    expect(h.nextHeader).toBe(17);
    expect(h.hopLimit).toBe(3);
    expect([0, 1, 2, 3].map((i) => h.srcWord(i))).toEqual(V6_A);
    expect([0, 1, 2, 3].map((i) => h.dstWord(i))).toEqual(V6_B);
    expect(h.srcString).toBe("2001:db8::1");
    expect(p.udp!.dstPort).toBe(53);
    expect(p.ipv4).toBeNull();
  });

  it("walks hop-by-hop, routing, destination options to TCP", () => {
    const chain = [...extHeader(43, 0), ...extHeader(60, 1), ...extHeader(6, 0), ...tcp({ dport: 8080 })];
    const p = one(frame(0x86dd, ipv6({ next: 0 }, chain)));
    expect(p.l4Protocol).toBe(6);
    expect(p.l4Offset).toBe(14 + 40 + 8 + 16 + 8);
    expect(p.tcp!.dstPort).toBe(8080);
    expect(p.ipv6!.nextHeader).toBe(0);
  });

  it("first fragment has L4; later fragments do not", () => {
    const first = one(frame(0x86dd, ipv6({ next: 44 }, [...fragHeader(17, 0, true), ...udp(7, 9)])));
    expect(first.l4Protocol).toBe(17);
    expect(first.udp!.dstPort).toBe(9);
    const later = one(frame(0x86dd, ipv6({ next: 44 }, [...fragHeader(17, 100, false), ...udp(7, 9)])));
    expect(later.l4Protocol).toBe(17);
    expect(later.udp).toBeNull();
    expect(later.l4Offset).toBe(-1);
  });

  it("AH is skipped by its own length rule", () => {
    const ah = [6, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]; // (4+2)*4 = 24 bytes
    const p = one(frame(0x86dd, ipv6({ next: 51 }, [...ah, ...tcp({ sport: 1 })])));
    expect(p.tcp!.srcPort).toBe(1);
  });

  it("no next header, overlong chains and broken chains give no L4", () => {
    expect(one(frame(0x86dd, ipv6({ next: 59 }, [])))).toMatchObject({ l4Protocol: 59, l4Offset: -1, udp: null });
    let chain: number[] = udp(1, 2);
    for (let i = 0; i < 9; i++) chain = [...extHeader(i === 0 ? 17 : 60, 0), ...chain];
    const long = one(frame(0x86dd, ipv6({ next: 60 }, chain)));
    expect(long.ipv6).not.toBeNull();
    expect(long.l4Protocol).toBe(-1);
    expect(long.udp).toBeNull();
    const broken = one(frame(0x86dd, ipv6({ next: 0 }, [...extHeader(17, 5).slice(0, 8), ...udp(1, 2)]))); // 48-byte header in 16
    expect(broken.l4Protocol).toBe(-1);
    expect(broken.udp).toBeNull();
  });

  it("ICMPv6 with checksum", () => {
    const ip = fillL4v6(ipv6({ next: 58 }, icmpEcho(128, 1, 2, [5, 6, 7])), 58, 40);
    const p = one(frame(0x86dd, ip));
    expect(p.icmp6!.type).toBe(128);
    expect(p.icmp6!.verifyChecksum()).toBe(true);
    expect(p.icmp).toBeNull();
  });

  it("is null when payloadLength runs past the frame or version is wrong", () => {
    const ip = ipv6({ next: 17 }, udp(1, 2));
    const f = frame(0x86dd, ip);
    expect(one(f.subarray(0, f.length - 1)).ipv6).toBeNull();
    const g = f.slice(); g[14] = 0x40;
    expect(one(g).ipv6).toBeNull();
  });
});

describe("caching", () => {
  it("moving the view re-parses; header views follow", () => {
    const b = Batch.fromFrames([
      frame(0x0800, fillL4v4(ipv4({ proto: 6 }, tcp({ dport: 1 })), 6, 20)),
      frame(0x86dd, ipv6({ next: 17 }, udp(2, 3))),
      frame(0x0806, arp(1, 0, 0, 0, 0)),
    ], ["in", "out"]);
    const seen: string[] = [];
    for (const p of b) seen.push(`${p.ipv4 ? 4 : ""}${p.ipv6 ? 6 : ""}${p.arp ? "a" : ""}:${p.dstPort}`);
    expect(seen).toEqual(["4:1", "6:3", "a:-1"]);
  });

  it("structural setters invalidate the parse", () => {
    const p = one(frame(0x0800, ipv4({ proto: 17 }, udp(1, 2))));
    expect(p.udp).not.toBeNull();
    p.ipv4!.protocol = 6;
    expect(p.udp).toBeNull();
    expect(p.l4Protocol).toBe(6);
    p.eth!.etherType = 0x86dd;
    expect(p.ipv4).toBeNull();
  });

  it("pkt.srcPort/dstPort follow port writes through the L4 views", () => {
    const p = one(frame(0x0800, fillL4v4(ipv4({ proto: 6 }, tcp({ sport: 1, dport: 2 })), 6, 20)));
    expect([p.srcPort, p.dstPort]).toEqual([1, 2]);
    p.tcp!.rewriteSrcPort(4000);
    expect(p.srcPort).toBe(4000);
    expect(p.tcp!.verifyChecksum()).toBe(true);
    p.tcp!.dstPort = 8080;
    expect(p.dstPort).toBe(8080);
    const u = one(frame(0x0800, ipv4({ proto: 17 }, udp(5, 6))));
    u.udp!.srcPort = 7;
    u.udp!.rewriteDstPort(9);
    expect([u.srcPort, u.dstPort]).toEqual([7, 9]);
  });

  it("offset/length setters write through and re-parse (pop a VLAN tag)", () => {
    const b = Batch.fromFrames([frame(0x0800, ipv4({ proto: 17 }, udp(1, 2)), [vlanTag(0x8100, 0, false, 9)])], ["in", "out"]);
    const p = b.packet(0);
    expect(p.vlan).not.toBeNull();
    // Pop: move the MACs forward 4 bytes, then advance the frame start.
    b.bytes.copyWithin(p.offset + 4, p.offset, p.offset + 12);
    p.offset += 4;
    p.length -= 4;
    expect(b.offsets[0]).toBe(4);
    expect(b.lengths[0]).toBe(14 + 28);
    expect(p.vlan).toBeNull();
    expect(p.eth!.dst).toBe(MAC_B);
    expect(p.udp!.dstPort).toBe(2);
  });
});
