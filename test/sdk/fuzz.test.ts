// Malformed packets: any bytes at any length must parse without throwing,
// every header handed out must fit in [offset, offset+length), and nothing
// outside the frame may influence any getter (we flip the bytes around the
// frame and demand identical results).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Batch } from "../../sdk";
import type { Packet } from "../../sdk";
import {
  arp, extHeader, fillL4v4, fillL4v6, fragHeader, frame, icmpEcho, ipv4, ipv6, tcp, udp, vlanTag,
} from "./frames";

const PORTS = ["in", "out"];

/** Every getter's value, as JSON-able data. */
function snapshot(p: Packet): unknown {
  const e = p.eth, v = p.vlan, a = p.arp, h4 = p.ipv4, h6 = p.ipv6;
  const t = p.tcp, u = p.udp, i4 = p.icmp, i6 = p.icmp6;
  return {
    meta: [p.etherType, p.l3Offset, p.l4Protocol, p.l4Offset, p.srcPort, p.dstPort, p.payloadOffset, p.payloadLength],
    eth: e && [e.dst, e.src, e.etherType, e.isBroadcast, e.isMulticast, e.srcString],
    vlan: v && [v.tpid, v.tci, v.pcp, v.dei, v.vid, v.etherType],
    arp: a && [a.htype, a.ptype, a.hlen, a.plen, a.op, a.sha, a.spa, a.tha, a.tpa],
    ipv4: h4 && [h4.version, h4.ihl, h4.dscp, h4.ecn, h4.totalLength, h4.id, h4.flags, h4.fragmentOffset,
      h4.ttl, h4.protocol, h4.checksum, h4.src, h4.dst, h4.computeChecksum(), h4.verifyChecksum(), h4.dstString],
    ipv6: h6 && [h6.version, h6.trafficClass, h6.flowLabel, h6.payloadLength, h6.nextHeader, h6.hopLimit,
      h6.srcString, h6.dstString],
    tcp: t && [t.srcPort, t.dstPort, t.seq, t.ackSeq, t.dataOffset, t.flags, t.window, t.checksum, t.urgent,
      t.syn, t.ack, t.computeChecksum(), t.verifyChecksum()],
    udp: u && [u.srcPort, u.dstPort, u.length, u.checksum, u.computeChecksum(), u.verifyChecksum()],
    icmp: i4 && [i4.type, i4.code, i4.checksum, i4.identifier, i4.sequence, i4.computeChecksum(), i4.verifyChecksum()],
    icmp6: i6 && [i6.type, i6.code, i6.checksum, i6.identifier, i6.sequence, i6.computeChecksum(), i6.verifyChecksum()],
  };
}

/** Each non-null header lies inside the frame. */
function checkBounds(p: Packet): void {
  const lo = p.offset, hi = p.offset + p.length;
  const inside = (o: number, n: number, what: string): void => {
    expect(o, what).toBeGreaterThanOrEqual(lo);
    expect(o + n, what).toBeLessThanOrEqual(hi);
  };
  if (p.eth) inside(p.eth.o, 14, "eth");
  if (p.vlan) inside(p.vlan.o, 6, "vlan");
  if (p.arp) inside(p.arp.o, 28, "arp");
  if (p.ipv4) inside(p.ipv4.o, p.ipv4.totalLength, "ipv4");
  if (p.ipv4) expect(p.ipv4.headerLength).toBeGreaterThanOrEqual(20);
  if (p.ipv6) inside(p.ipv6.o, 40 + p.ipv6.payloadLength, "ipv6");
  if (p.tcp) inside(p.tcp.o, p.tcp.headerLength, "tcp");
  if (p.tcp) expect(p.tcp.headerLength).toBeGreaterThanOrEqual(20);
  if (p.udp) inside(p.udp.o, 8, "udp");
  if (p.icmp) inside(p.icmp.o, 8, "icmp");
  if (p.icmp6) inside(p.icmp6.o, 8, "icmp6");
  if (p.payloadOffset >= 0) inside(p.payloadOffset, p.payloadLength, "payload");
  // L4 must also end inside the IP packet, not just the frame.
  const ipEnd = p.ipv4 ? p.ipv4.o + p.ipv4.totalLength : p.ipv6 ? p.ipv6.o + 40 + p.ipv6.payloadLength : hi;
  if (p.tcp) expect(p.tcp.o + p.tcp.headerLength).toBeLessThanOrEqual(ipEnd);
  for (const h of [p.udp, p.icmp, p.icmp6]) if (h) expect(h.o + 8).toBeLessThanOrEqual(ipEnd);
  if (p.payloadOffset >= 0) expect(p.payloadOffset + p.payloadLength).toBe(ipEnd);
  expect(p.l4Offset === -1 || (p.l4Offset >= lo && p.l4Offset <= hi)).toBe(true);
}

const byte = fc.integer({ min: 0, max: 255 });
const bytes = (max: number): fc.Arbitrary<number[]> => fc.array(byte, { maxLength: max });

/** Valid frames of every kind the parser knows, to mutate and cut. */
const template: fc.Arbitrary<Uint8Array> = fc.oneof(
  bytes(30).map((d) => frame(0x0800, fillL4v4(ipv4({ proto: 6, options: [1, 1, 1, 0] }, tcp({ options: [1, 1, 1, 1] }, d)), 6, 24))),
  // Untagged IPv4 + UDP/TCP: the common case, parsed by Packet._moveTo itself.
  bytes(30).map((d) => frame(0x0800, fillL4v4(ipv4({ proto: 17 }, udp(53, 53, d)), 17, 20))),
  bytes(30).map((d) => frame(0x0800, fillL4v4(ipv4({ proto: 6 }, tcp({}, d)), 6, 20))),
  bytes(30).map((d) => frame(0x0800, fillL4v4(ipv4({ proto: 17 }, udp(53, 53, d)), 17, 20), [vlanTag(0x8100, 1, false, 5)])),
  bytes(30).map((d) => frame(0x0800, ipv4({ proto: 1 }, icmpEcho(8, 1, 1, d)), [vlanTag(0x88a8, 0, false, 1), vlanTag(0x8100, 0, false, 2)])),
  bytes(30).map((d) => frame(0x86dd, fillL4v6(ipv6({ next: 0 }, [...extHeader(44, 0), ...fragHeader(6, 0, true), ...tcp({}, d)]), 6, 56))),
  bytes(30).map((d) => frame(0x86dd, fillL4v6(ipv6({ next: 58 }, icmpEcho(128, 3, 4, d)), 58, 40))),
  bytes(30).map((d) => frame(0x86dd, ipv6({ next: 60 }, [...extHeader(43, 1), ...extHeader(17, 0), ...udp(1, 2, d)]))),
  fc.constant(frame(0x0806, arp(1, 1, 2, 3, 4))),
);

// Half the time the frame keeps its full length (else nearly every case
// would stop at a truncated IP header), sometimes with Ethernet padding.
const mutated = fc.tuple(
  template,
  fc.array(fc.tuple(fc.nat({ max: 120 }), byte), { minLength: 1, maxLength: 4 }),
  fc.option(fc.nat({ max: 200 }), { freq: 2 }),
  fc.option(bytes(20), { freq: 3 }),
).map(([f, muts, cut, pad]) => {
  const g = Uint8Array.from([...f, ...(pad ?? [])]);
  for (const [at, v] of muts) g[at % g.length] = v;
  return cut === null ? g : g.subarray(0, cut % (g.length + 1));
});

const anyFrame = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  mutated,
  mutated,
);

/** A batch whose only frame sits at `pre` inside a pool padded on both sides. */
function place(f: Uint8Array, pre: number): Batch {
  const pool = new Uint8Array(pre + f.length + 128);
  pool.set(f, pre);
  const b = new Batch(pool, Uint32Array.of(pre), Uint32Array.of(f.length), Uint8Array.of(0), Uint8Array.of(0), PORTS);
  b.count = 1;
  return b;
}

function fillAround(b: Batch, pre: number, len: number, v: number): void {
  b.bytes.fill(v, 0, pre);
  b.bytes.fill(v, pre + len);
}

describe("malformed packets", () => {
  it("never throw, stay inside the frame, ignore bytes around it", () => {
    fc.assert(fc.property(anyFrame, fc.integer({ min: 0, max: 64 }), (f, pre) => {
      const b = place(f, pre);
      fillAround(b, pre, f.length, 0x00);
      const p = b.packet(0);
      checkBounds(p);
      const s0 = JSON.stringify(snapshot(p));
      for (const fill of [0xff, 0x45, 0x60, 0x81]) {
        fillAround(b, pre, f.length, fill);
        expect(JSON.stringify(snapshot(b.packet(0)))).toBe(s0);
      }
    }), { numRuns: 3000 });
  });

  it("the common-case parse in _moveTo agrees with the full parsers", () => {
    // reparse() drops what _moveTo found; every getter then goes through
    // the out-of-line parsers, which handle all cases.
    fc.assert(fc.property(anyFrame, fc.integer({ min: 0, max: 64 }), (f, pre) => {
      const b = place(f, pre);
      fillAround(b, pre, f.length, 0x45);
      // A batch parses on the move only once the VNF has asked for a
      // header; before that the first question runs the full parsers.
      const lazy = JSON.stringify(snapshot(b.packet(0)));
      const p = b.packet(0);
      expect(p._eager).toBe(1);
      expect(JSON.stringify(snapshot(p))).toBe(lazy);
      p.reparse();
      expect(JSON.stringify(snapshot(p))).toBe(lazy);
    }), { numRuns: 3000 });
  });

  it("templates really reach the deep parsers", () => {
    // Guard for the test above: unmutated templates parse to L4.
    const samples = fc.sample(template, 50);
    const kinds = new Set(samples.map((f) => {
      const p = place(f, 3).packet(0);
      return (p.tcp && "tcp") || (p.udp && "udp") || (p.icmp && "icmp") || (p.icmp6 && "icmp6") || (p.arp && "arp") || "none";
    }));
    expect(kinds.has("none")).toBe(false);
    expect(kinds.size).toBeGreaterThanOrEqual(4);
  });

  it("batch.tuples() gives what the Packet getters give, for every frame of a batch", () => {
    // Both field readers: DataView (V8) and byte loads (an interpreter).
    fc.assert(fc.property(fc.array(anyFrame, { minLength: 1, maxLength: 20 }), fc.boolean(), (fs, byteFields) => {
      const pool = new Uint8Array(fs.length * 300 + 64).fill(0x45);
      const offsets = Uint32Array.from(fs, (_, i) => 32 + i * 300);
      fs.forEach((f, i) => pool.set(f, offsets[i]));
      const n = fs.length;
      const b = new Batch(pool, offsets, Uint32Array.from(fs, (f) => f.length), new Uint8Array(n), new Uint8Array(n), PORTS,
        new Uint8Array(n), undefined, undefined, byteFields);
      b.count = n;
      const t = b.tuples();
      for (let i = 0; i < n; i++) {
        const p = b.packet(i), ip = p.ipv4;
        // VLAN-tagged IPv4 is left to the Packet API (-1), as everything not IPv4.
        const want = ip === null || p.vlan !== null ? [-1] : [p.l4Protocol, ip.src | 0, ip.dst | 0, p.srcPort, p.dstPort];
        const got = t.proto[i] < 0 ? [t.proto[i]] : [t.proto[i], t.src[i], t.dst[i], t.sport[i], t.dport[i]];
        expect(got, `frame ${i}`).toEqual(want);
      }
    }), { numRuns: 1500 });
  });

  it("batch.tuples() parses once per batch: again after the worker loop's new count", () => {
    const f = (sport: number) => frame(0x0800, fillL4v4(ipv4({ proto: 17 }, udp(sport, 53)), 17, 20));
    const b = place(f(1000), 0);
    expect(b.tuples().sport[0]).toBe(1000);
    b.bytes.set(f(2000));
    expect(b.tuples().sport[0]).toBe(1000);   // the same batch: not parsed again
    b.count = 1;
    b._tuplesFilled = false;                    // what the worker loop does per batch
    expect(b.tuples().sport[0]).toBe(2000);
  });
});
