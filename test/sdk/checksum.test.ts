import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  Batch, internetChecksum, ip4, ipv4HeaderChecksum, l4Checksum4, l4Checksum6, updateChecksum16,
  updateChecksum32, verifyIpv4HeaderChecksum, verifyL4Checksum4, verifyL4Checksum6,
} from "../../sdk";
import type { Packet } from "../../sdk";
import { fillL4v4, frame, hex, ipv4, refChecksum, tcp, udp } from "./frames";

function one(f: Uint8Array): Packet {
  return Batch.fromFrames([f], ["in", "out"]).packet(0);
}

// Known-good packets; the checksums were computed by an independent Python
// implementation (struct-unpacked words, carry-folding) and the first two
// are textbook values (Wikipedia's IPv4 example, RFC 1071 section 3).
const WIKI_IPV4 = hex("4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7");
const UDP4 = hex("450000391c46400040114db4c0a80002080808088235003500253144abcd01000001000000000000076578616d706c6503636f6d0000010001");
const TCP4 = hex("4500002f00014000400626c60a0000010a0000029c40005012345678000000006002faf0fa890000020405b4686921");
const TCP6 = hex("600000000019064020010db800000000000000000000000120010db8000000000000000000000002c35001bb0000000100000002501803e8478a000068656c6c6f");

const eth = (type: number, ip: Uint8Array): Uint8Array => frame(type, Array.from(ip));

describe("known values", () => {
  it("RFC 1071 example sums to 0xddf2", () => {
    const b = Uint8Array.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
    expect(internetChecksum(b, 0, 8)).toBe(~0xddf2 & 0xffff);
  });

  it("odd length pads with zero", () => {
    const b = Uint8Array.from([0x12, 0x34, 0x56]);
    expect(internetChecksum(b, 0, 3)).toBe(~(0x1234 + 0x5600) & 0xffff);
  });

  it("IPv4 header: Wikipedia example is 0xb861", () => {
    expect(ipv4HeaderChecksum(WIKI_IPV4, 0)).toBe(0xb861);
    expect(verifyIpv4HeaderChecksum(WIKI_IPV4, 0)).toBe(true);
    const bad = WIKI_IPV4.slice(); bad[8] = 63;
    expect(verifyIpv4HeaderChecksum(bad, 0)).toBe(false);
  });

  it("UDP/IPv4 DNS query: header 0x4db4, UDP 0x3144", () => {
    const p = one(eth(0x0800, UDP4));
    expect(p.ipv4!.computeChecksum()).toBe(0x4db4);
    expect(p.ipv4!.verifyChecksum()).toBe(true);
    expect(p.udp!.computeChecksum()).toBe(0x3144);
    expect(p.udp!.verifyChecksum()).toBe(true);
    expect(l4Checksum4(UDP4, 0, 20, UDP4.length - 20, 17)).toBe(0x3144);
  });

  it("TCP/IPv4 with options and odd payload: 0xfa89", () => {
    const p = one(eth(0x0800, TCP4));
    expect(p.ipv4!.computeChecksum()).toBe(0x26c6);
    expect(p.tcp!.computeChecksum()).toBe(0xfa89);
    expect(p.tcp!.verifyChecksum()).toBe(true);
    p.tcp!.window = 1;
    expect(p.tcp!.verifyChecksum()).toBe(false);
  });

  it("TCP/IPv6: 0x478a", () => {
    const p = one(eth(0x86dd, TCP6));
    expect(p.tcp!.computeChecksum()).toBe(0x478a);
    expect(p.tcp!.verifyChecksum()).toBe(true);
    expect(l4Checksum6(TCP6, 0, 40, 25, 6)).toBe(0x478a);
    expect(verifyL4Checksum6(TCP6, 0, 40, 25, 6)).toBe(true);
  });

  it("UDP checksum 0: none over IPv4 (verifies), invalid over IPv6", () => {
    const b = UDP4.slice(); b[26] = 0; b[27] = 0;
    expect(verifyL4Checksum4(b, 0, 20, b.length - 20, 17)).toBe(true);
    const v6 = TCP6.slice(0, 40);
    const u = Uint8Array.from([...v6, 0, 1, 0, 2, 0, 8, 0, 0]);
    u[6] = 17; u[4] = 0; u[5] = 8;
    expect(verifyL4Checksum6(u, 0, 40, 8, 17)).toBe(false);
  });

  it("update helpers write fields that verify", () => {
    const p = one(eth(0x0800, UDP4));
    p.ipv4!.ttl = 1;
    p.ipv4!.updateChecksum();
    expect(p.ipv4!.verifyChecksum()).toBe(true);
    p.udp!.dstPort = 5353;
    p.udp!.updateChecksum();
    expect(p.udp!.verifyChecksum()).toBe(true);
    expect(p.udp!.checksum).toBe(p.udp!.computeChecksum());
  });

  it("rejects protocols without a known checksum field", () => {
    expect(() => l4Checksum4(UDP4, 0, 20, 8, 47)).toThrow(/protocol 47/);
  });
});

describe("incremental (RFC 1624) equals full recomputation", () => {
  const words = fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 2, maxLength: 40 });

  it("16-bit word changes", () => {
    fc.assert(fc.property(words, fc.nat(), fc.integer({ min: 0, max: 0xffff }), (w, at, nw) => {
      const k = at % w.length;
      const before = w.flatMap((x) => [x >>> 8, x & 255]);
      const after = w.map((x, i) => (i === k ? nw : x));
      fc.pre(after.some((x) => x !== 0)); // all-zero data is the one 0/0xffff ambiguity
      const full = refChecksum(after.flatMap((x) => [x >>> 8, x & 255]));
      expect(updateChecksum16(refChecksum(before), w[k], nw)).toBe(full);
    }), { numRuns: 1000 });
  });

  it("32-bit field changes", () => {
    fc.assert(fc.property(words, fc.nat(), fc.integer({ min: 0, max: 0xffffffff }), (w, at, nw) => {
      const k = at % (w.length - 1);
      const old = ((w[k] << 16) | w[k + 1]) >>> 0;
      const after = w.slice(); after[k] = nw >>> 16; after[k + 1] = nw & 0xffff;
      fc.pre(after.some((x) => x !== 0));
      const toBytes = (a: number[]): number[] => a.flatMap((x) => [x >>> 8, x & 255]);
      expect(updateChecksum32(refChecksum(toBytes(w)), old, nw)).toBe(refChecksum(toBytes(after)));
    }), { numRuns: 1000 });
  });

  const addr = fc.integer({ min: 0, max: 0xffffffff });
  const port = fc.integer({ min: 0, max: 0xffff });
  const payload = fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 41 });
  const options = fc.integer({ min: 0, max: 3 }).map((n) => new Array<number>(n * 4).fill(1));
  const op = fc.oneof(
    fc.record({ k: fc.constant("src" as const), v: addr }),
    fc.record({ k: fc.constant("dst" as const), v: addr }),
    fc.record({ k: fc.constant("sport" as const), v: port }),
    fc.record({ k: fc.constant("dport" as const), v: port }),
    fc.record({ k: fc.constant("ttl" as const), v: fc.constant(0) }),
  );

  it("NAT rewrites keep IPv4, TCP and UDP checksums exact", () => {
    fc.assert(fc.property(
      fc.boolean(), addr, addr, port, port, fc.integer({ min: 0, max: 255 }), options, payload,
      fc.array(op, { minLength: 1, maxLength: 6 }),
      (isTcp, src, dst, sp, dp, ttl, opts, data, ops) => {
        const proto = isTcp ? 6 : 17;
        const l4 = isTcp ? tcp({ sport: sp, dport: dp, options: opts }, data) : udp(sp, dp, data);
        const ip = fillL4v4(ipv4({ src, dst, proto, ttl, options: opts }, l4), proto, 20 + opts.length);
        const p = one(frame(0x0800, ip));
        const h = p.ipv4!;
        const l = (isTcp ? p.tcp : p.udp)!;
        for (const o of ops) {
          if (o.k === "src") h.rewriteSrc(o.v);
          else if (o.k === "dst") h.rewriteDst(o.v);
          else if (o.k === "sport") l.rewriteSrcPort(o.v);
          else if (o.k === "dport") l.rewriteDstPort(o.v);
          else h.decrementTtl();
        }
        const last = (k: string): number | undefined => ops.filter((o) => o.k === k).pop()?.v;
        expect(h.src).toBe(last("src") ?? src);
        expect(h.dst).toBe(last("dst") ?? dst);
        expect(l.srcPort).toBe(last("sport") ?? sp);
        expect(h.ttl).toBe(Math.max(0, ttl - ops.filter((o) => o.k === "ttl").length));
        expect(h.checksum).toBe(h.computeChecksum());
        expect(h.checksum).toBe(refChecksum(Array.from(p.bytes.subarray(p.l3Offset, p.l3Offset + h.headerLength)).map((x, i) => (i === 10 || i === 11 ? 0 : x))));
        expect(l.checksum).toBe(l.computeChecksum());
        expect(l.verifyChecksum()).toBe(true);
      },
    ), { numRuns: 1000 });
  });

  it("UDP checksum 0 stays 0 through rewrites", () => {
    const ip = ipv4({ proto: 17, src: ip4("10.0.0.1") }, udp(1000, 53, [1, 2, 3]));
    const p = one(frame(0x0800, ip));
    p.ipv4!.rewriteSrc(ip4("192.0.2.1"));
    p.udp!.rewriteSrcPort(2000);
    p.ipv4!.rewriteDst(ip4("192.0.2.2"));
    expect(p.udp!.checksum).toBe(0);
    expect(p.ipv4!.verifyChecksum()).toBe(true);
  });

  it("decrementTtl stops at 0", () => {
    const p = one(frame(0x0800, ipv4({ ttl: 1 }, udp(1, 2))));
    expect(p.ipv4!.decrementTtl()).toBe(0);
    expect(p.ipv4!.verifyChecksum()).toBe(true);
    expect(p.ipv4!.decrementTtl()).toBe(0);
    expect(p.ipv4!.ttl).toBe(0);
    expect(p.ipv4!.verifyChecksum()).toBe(true);
  });

  it("address rewrite on a non-first fragment touches only the IP header", () => {
    const ip = ipv4({ proto: 6, fragOff: 10, flags: 0 }, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 0xaa, 0xbb, 0, 0]);
    const f = frame(0x0800, ip);
    const p = one(f);
    p.ipv4!.rewriteSrc(ip4("1.2.3.4"));
    expect(p.ipv4!.verifyChecksum()).toBe(true);
    expect(Array.from(p.bytes.subarray(14 + 20 + 16, 14 + 20 + 18))).toEqual([0xaa, 0xbb]);
  });
});

// A checksum left to offload (a packet from a vnet port) holds the folded
// pseudo-header sum; the kernel, the next VM or the engine finishes it over
// the transport bytes. NAT on such a packet must keep that sum right.
describe("checksum left to offload (Batch.flags CHECKSUM_PENDING)", () => {
  const words = (b: ArrayLike<number>, from: number, n: number): number => {
    let s = 0;
    for (let i = 0; i < n; i += 2) s += (b[from + i] << 8) | (i + 1 < n ? b[from + i + 1] : 0);
    return s;
  };
  const fold16 = (s: number): number => { while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536); return s; };
  // Turn a frame with a right checksum into one whose checksum is pending.
  function pending(f: Uint8Array, proto: number): { frame: Uint8Array; at: number; l4: number; len: number } {
    const g = f.slice(), ip = 14, ihl = (g[ip] & 15) * 4, l4 = ip + ihl, len = ((g[ip + 2] << 8) | g[ip + 3]) - ihl;
    const at = l4 + (proto === 6 ? 16 : 6);
    const p = fold16(words(g, ip + 12, 8) + proto + len);
    g[at] = p >> 8; g[at + 1] = p & 255;
    return { frame: g, at, l4, len };
  }
  // What offload does: the complement of the sum over the transport bytes.
  function finish(g: Uint8Array, at: number, l4: number, len: number): void {
    const c = ~fold16(words(g, l4, len)) & 0xffff;
    g[at] = c >> 8; g[at + 1] = c & 255;
  }
  function batchOf(g: Uint8Array, flag: number): Batch {
    const bytes = new Uint8Array(2048);
    bytes.set(g, 64);
    const b = new Batch(bytes, Uint32Array.of(64), Uint32Array.of(g.length), Uint8Array.of(0), Uint8Array.of(0), ["in", "out"], Uint8Array.of(flag));
    b.count = 1;
    return b;
  }

  it.each([["TCP", TCP4, 6], ["UDP", UDP4, 17]] as const)("%s: NAT of address and port, then offload, gives the right checksum", (_, ip, proto) => {
    const { frame: g, at, l4, len } = pending(eth(0x0800, ip), proto);
    const b = batchOf(g, 1);
    const pkt = b.packet(0);
    expect(pkt.checksumPending).toBe(true);
    pkt.ipv4!.rewriteSrc(ip4("203.0.113.7"));
    (proto === 6 ? pkt.tcp! : pkt.udp!).rewriteDstPort(4444);
    const out = b.bytes.slice(64, 64 + g.length);
    expect(verifyIpv4HeaderChecksum(out, 14)).toBe(true);
    finish(out, at, l4, len);
    expect(verifyL4Checksum4(out, 14, l4, len, proto)).toBe(true);
    // And by the independent reference: pseudo-header + transport sum to zero.
    const pseudo = [...out.subarray(26, 34), 0, proto, len >> 8, len & 255];
    expect(refChecksum([...pseudo, ...out.subarray(l4, l4 + len)])).toBe(0);
    expect(refChecksum(Array.from(out.subarray(14, 34)))).toBe(0);
  });

  it("without the flag, the same rewrite would treat the sum as a checksum (and break it)", () => {
    const { frame: g, at, l4, len } = pending(eth(0x0800, TCP4), 6);
    const b = batchOf(g, 0);
    b.packet(0).ipv4!.rewriteSrc(ip4("203.0.113.7"));
    const out = b.bytes.slice(64, 64 + g.length);
    finish(out, at, l4, len);
    expect(verifyL4Checksum4(out, 14, l4, len, 6)).toBe(false);
  });

  it("updateChecksum() on a pending packet stores the pseudo-header sum offload expects", () => {
    const { frame: g, at } = pending(eth(0x0800, TCP4), 6);
    const want = (g[at] << 8) | g[at + 1];
    const b = batchOf(g, 1);
    const t = b.packet(0).tcp!;
    t.checksum = 0;
    t.updateChecksum();
    expect(t.checksum).toBe(want);
  });
});
