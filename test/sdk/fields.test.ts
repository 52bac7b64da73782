// Setters round-trip: writing a field reads back the same value (masked to
// the field's width), leaves every other field of the header alone, and
// touches no byte outside the header.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Batch, ip6 } from "../../sdk";
import type { Packet } from "../../sdk";
import { arp, fillL4v4, fillL4v6, frame, icmpEcho, ipv4, ipv6, tcp, udp, vlanTag } from "./frames";

type View = Record<string, unknown> & { o: number };
interface Case { name: string; make: () => Uint8Array; get: (p: Packet) => unknown; size: number; fields: Record<string, number> }

const CASES: Case[] = [
  { name: "eth", make: () => frame(0x0800, ipv4({}, udp(1, 2))), get: (p) => p.eth, size: 14,
    fields: { dst: 48, src: 48, etherType: 16 } },
  { name: "vlan", make: () => frame(0x0800, ipv4({}, udp(1, 2)), [vlanTag(0x8100, 3, false, 42)]), get: (p) => p.vlan, size: 6,
    fields: { tpid: 16, pcp: 3, dei: 1, vid: 12, etherType: 16 } },
  { name: "arp", make: () => frame(0x0806, arp(1, 0x0a0b0c0d0e0f, 0x01020304, 0, 0x05060708)), get: (p) => p.arp, size: 28,
    fields: { htype: 16, ptype: 16, hlen: 8, plen: 8, op: 16, sha: 48, spa: 32, tha: 48, tpa: 32 } },
  { name: "ipv4", make: () => frame(0x0800, ipv4({ options: [1, 1, 1, 1] }, udp(1, 2))), get: (p) => p.ipv4, size: 24,
    fields: { version: 4, ihl: 4, dscp: 6, ecn: 2, totalLength: 16, id: 16, flags: 3, fragmentOffset: 13,
      ttl: 8, protocol: 8, checksum: 16, src: 32, dst: 32 } },
  { name: "ipv6", make: () => frame(0x86dd, ipv6({ next: 17 }, udp(1, 2))), get: (p) => p.ipv6, size: 40,
    fields: { version: 4, trafficClass: 8, flowLabel: 20, payloadLength: 16, nextHeader: 8, hopLimit: 8 } },
  { name: "tcp", make: () => frame(0x0800, fillL4v4(ipv4({ proto: 6 }, tcp({ options: [1, 1, 1, 1] })), 6, 20)), get: (p) => p.tcp, size: 24,
    fields: { srcPort: 16, dstPort: 16, seq: 32, ackSeq: 32, dataOffset: 4, flags: 8, window: 16, checksum: 16, urgent: 16 } },
  { name: "udp", make: () => frame(0x0800, ipv4({ proto: 17 }, udp(1, 2, [1, 2]))), get: (p) => p.udp, size: 8,
    fields: { srcPort: 16, dstPort: 16, length: 16, checksum: 16 } },
  { name: "icmp", make: () => frame(0x0800, ipv4({ proto: 1 }, icmpEcho(8, 1, 2))), get: (p) => p.icmp, size: 8,
    fields: { type: 8, code: 8, checksum: 16, identifier: 16, sequence: 16 } },
  { name: "icmp6", make: () => frame(0x86dd, fillL4v6(ipv6({ next: 58 }, icmpEcho(128, 1, 2)), 58, 40)), get: (p) => p.icmp6, size: 8,
    fields: { type: 8, code: 8, checksum: 16, identifier: 16, sequence: 16 } },
];

const read = (h: View, f: string, bits: number): number => (bits === 1 ? Number(h[f]) : (h[f] as number));

describe("header setters round-trip", () => {
  for (const c of CASES) {
    for (const [field, bits] of Object.entries(c.fields)) {
      it(`${c.name}.${field} (${bits} bits)`, () => {
        fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** bits - 1 }), (v) => {
          const b = Batch.fromFrames([c.make()], ["in", "out"]);
          const h = c.get(b.packet(0)) as View;
          expect(h).not.toBeNull();
          const before = Object.fromEntries(Object.entries(c.fields).map(([f, n]) => [f, read(h, f, n)]));
          const pool = b.bytes.slice();
          h[field] = bits === 1 ? v === 1 : v;
          expect(read(h, field, bits)).toBe(v);
          for (const [f, n] of Object.entries(c.fields)) if (f !== field) expect(read(h, f, n), f).toBe(before[f]);
          const now = b.bytes.slice();
          now.set(pool.subarray(h.o, h.o + c.size), h.o); // the header may change, nothing else
          expect(now.findIndex((x, i) => x !== pool[i])).toBe(-1);
        }), { numRuns: 40 });
      });
    }
  }
});

describe("composite fields", () => {
  it("vlan tci is pcp|dei|vid", () => {
    const p = Batch.fromFrames([frame(0x0800, [], [vlanTag(0x8100, 0, false, 0)])], ["a"]).packet(0);
    p.vlan!.tci = 0xb00d;
    expect([p.vlan!.pcp, p.vlan!.dei, p.vlan!.vid]).toEqual([5, true, 0x00d]);
  });

  it("tcp flag booleans map onto flags", () => {
    const p = Batch.fromFrames([frame(0x0800, ipv4({ proto: 6 }, tcp({ flags: 0 })))], ["a"]).packet(0);
    const t = p.tcp!;
    const names = ["fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr"] as const;
    names.forEach((n, i) => {
      t[n] = true;
      expect(t.flags).toBe(1 << i);
      expect(t[n]).toBe(true);
      t[n] = false;
      expect(t.flags).toBe(0);
    });
    t.flags = 0x11;
    expect([t.fin, t.ack, t.syn]).toEqual([true, true, false]);
  });

  it("ipv6 address words and setSrc/setDst", () => {
    const p = Batch.fromFrames([frame(0x86dd, ipv6({ next: 59 }, []))], ["a"]).packet(0);
    const h = p.ipv6!;
    h.setSrc(ip6("fe80::1:2:3:4"));
    h.setDst(ip6("ff02::1"));
    expect(h.srcString).toBe("fe80::1:2:3:4");
    expect(h.dstString).toBe("ff02::1");
    h.setSrcWord(3, 0xdeadbeef);
    expect(h.srcWord(3)).toBe(0xdeadbeef);
    expect(h.srcWord(2)).toBe(0x00010002);
    expect(h.decrementHopLimit()).toBe(63);
  });

  it("swapAddresses swaps MACs", () => {
    const p = Batch.fromFrames([frame(0x0800, [])], ["a"]).packet(0);
    const { src, dst } = { src: p.eth!.src, dst: p.eth!.dst };
    p.eth!.swapAddresses();
    expect([p.eth!.src, p.eth!.dst]).toEqual([dst, src]);
  });
});
