// The RSS hash against Microsoft's published verification values, native
// and TS alike; and the symmetric key really is symmetric.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadAddon } from "../runtime/addon";
import { MICROSOFT_KEY, SYMMETRIC_KEY, parseRssKey } from "../runtime/rss";
import { Batch, rssHashOf, toeplitz } from "../sdk";

const addon = loadAddon();
const v4 = (s: string) => s.split(".").map(Number);
function v6(s: string): number[] {
  const [head, tail = ""] = s.split("::");
  const h = head ? head.split(":") : [], t = tail ? tail.split(":") : [];
  const words = [...h, ...Array(8 - h.length - t.length).fill("0"), ...t].map((w) => parseInt(w, 16));
  return words.flatMap((w) => [w >> 8, w & 255]);
}
const port = (p: number) => [p >> 8, p & 255];

// (source, destination, source port, destination port) -> (2-tuple, 4-tuple)
const V4: [string, string, number, number, number, number][] = [
  ["66.9.149.187", "161.142.100.80", 2794, 1766, 0x323e8fc2, 0x51ccc178],
  ["199.92.111.2", "65.69.140.83", 14230, 4739, 0xd718262a, 0xc626b0ea],
  ["24.19.198.95", "12.22.207.184", 12898, 38024, 0xd2d0a5de, 0x5c2b394a],
  ["38.27.205.30", "209.142.163.6", 48228, 2217, 0x82989176, 0xafc7327f],
  ["153.39.163.191", "202.188.127.2", 44251, 1303, 0x5d1809c5, 0x10e828a2],
];
const V6: [string, string, number, number, number, number][] = [
  ["3ffe:2501:200:1fff::7", "3ffe:2501:200:3::1", 2794, 1766, 0x2cc18cd5, 0x40207d3d],
  ["3ffe:501:8:0:260:97ff:fe40:efab", "ff02::1", 14230, 4739, 0x0f0c461c, 0xdde51bbf],
  ["3ffe:1900:4545:3:200:f8ff:fe21:67cf", "fe80::200:f8ff:fe21:67cf", 44251, 38024, 0x4b61e985, 0x02d1feef],
];

describe("Toeplitz RSS hash", () => {
  it.each(V4)("IPv4 %s -> %s", (src, dst, sp, dp, two, four) => {
    const addrs = [...v4(src), ...v4(dst)], all = [...addrs, ...port(sp), ...port(dp)];
    for (const h of [addon.toeplitz(MICROSOFT_KEY, Uint8Array.from(addrs)), toeplitz(MICROSOFT_KEY, addrs)]) expect(h >>> 0).toBe(two);
    for (const h of [addon.toeplitz(MICROSOFT_KEY, Uint8Array.from(all)), toeplitz(MICROSOFT_KEY, all)]) expect(h >>> 0).toBe(four);
  });

  it.each(V6)("IPv6 %s -> %s", (src, dst, sp, dp, two, four) => {
    const addrs = [...v6(src), ...v6(dst)], all = [...addrs, ...port(sp), ...port(dp)];
    for (const h of [addon.toeplitz(MICROSOFT_KEY, Uint8Array.from(addrs)), toeplitz(MICROSOFT_KEY, addrs)]) expect(h >>> 0).toBe(two);
    for (const h of [addon.toeplitz(MICROSOFT_KEY, Uint8Array.from(all)), toeplitz(MICROSOFT_KEY, all)]) expect(h >>> 0).toBe(four);
  });

  it("with the symmetric key, both directions of every flow hash alike", () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.uint8Array({ minLength: 4, maxLength: 4 }),
      fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 }), (a, b, pa, pb) => {
        const fwd = Uint8Array.from([...a, ...b, ...port(pa), ...port(pb)]);
        const rev = Uint8Array.from([...b, ...a, ...port(pb), ...port(pa)]);
        expect(addon.toeplitz(SYMMETRIC_KEY, fwd)).toBe(addon.toeplitz(SYMMETRIC_KEY, rev));
      }));
  });

  it("the engine's frame hash and the SDK's agree on random TCP/UDP/IPv6 frames", () => {
    const frame = fc.record({
      v6: fc.boolean(), tcp: fc.boolean(), src: fc.uint8Array({ minLength: 16, maxLength: 16 }), dst: fc.uint8Array({ minLength: 16, maxLength: 16 }),
      sp: fc.integer({ min: 0, max: 65535 }), dp: fc.integer({ min: 0, max: 65535 }), frag: fc.boolean(),
    });
    fc.assert(fc.property(frame, (f) => {
      const l4 = f.tcp ? [...port(f.sp), ...port(f.dp), 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x10, 0xff, 0xff, 0, 0, 0, 0] : [...port(f.sp), ...port(f.dp), 0, 8, 0, 0];
      const proto = f.tcp ? 6 : 17;
      const ip = f.v6
        ? [0x60, 0, 0, 0, 0, l4.length, proto, 64, ...f.src, ...f.dst]
        : [0x45, 0, 0, 20 + l4.length, 0, 0, f.frag ? 0x20 : 0, 0, 64, proto, 0, 0, ...f.src.slice(0, 4), ...f.dst.slice(0, 4)];
      const bytes = Uint8Array.from([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, ...(f.v6 ? [0x86, 0xdd] : [8, 0]), ...ip, ...l4]);
      const native = addon.frameHash(SYMMETRIC_KEY, bytes) >>> 0;
      const pkt = Batch.fromFrames([bytes], ["in"]).packet(0);
      expect(rssHashOf(pkt)).toBe(native);
      expect(native).not.toBe(0);
    }));
  });

  it("non-IP frames hash to 0 (core 0)", () => {
    expect(addon.frameHash(SYMMETRIC_KEY, Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x08, 0x06, 0, 1]))).toBe(0);
    expect(addon.frameHash(SYMMETRIC_KEY, new Uint8Array(5))).toBe(0);
  });

  it("warns about one-byte keys and refuses malformed ones", () => {
    expect(parseRssKey("05".repeat(40)).warning).toMatch(/at most 64 hashes/);
    expect(parseRssKey(undefined).warning).toBeUndefined();
    expect(() => parseRssKey("abc")).toThrow(/80 hex digits/);
  });
});
