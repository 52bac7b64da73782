import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ip4, ip4str, ip6, ip6str, mac, macStr, parsePrefix, parsePrefix6, prefixMask, prefixMask6 } from "../../sdk";

describe("IPv4", () => {
  it("parses and formats", () => {
    expect(ip4("10.1.2.3")).toBe(0x0a010203);
    expect(ip4("255.255.255.255")).toBe(0xffffffff);
    expect(ip4("0.0.0.0")).toBe(0);
    expect(ip4str(0xc0a80001)).toBe("192.168.0.1");
  });

  it("round-trips every address", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => ip4(ip4str(n)) === n));
  });

  it("rejects junk", () => {
    for (const s of ["1.2.3", "1.2.3.4.5", "256.0.0.1", "a.b.c.d", "1.2.3.-4", "", "1..2.3", " 1.2.3.4"]) {
      expect(() => ip4(s), s).toThrow(/invalid IPv4 address/);
    }
  });

  it("prefixes", () => {
    expect(parsePrefix("10.0.0.0/8")).toEqual({ addr: 0x0a000000, len: 8 });
    expect(parsePrefix("10.1.2.3/16")).toEqual({ addr: 0x0a010000, len: 16 });
    expect(parsePrefix("10.1.2.3")).toEqual({ addr: 0x0a010203, len: 32 });
    expect(parsePrefix("0.0.0.0/0")).toEqual({ addr: 0, len: 0 });
    expect(() => parsePrefix("10.0.0.0/33")).toThrow(/prefix length/);
    expect(() => parsePrefix("10.0.0.0/x")).toThrow(/prefix length/);
    expect(prefixMask(0)).toBe(0);
    expect(prefixMask(1)).toBe(0x80000000);
    expect(prefixMask(24)).toBe(0xffffff00);
    expect(prefixMask(32)).toBe(0xffffffff);
  });
});

describe("MAC", () => {
  it("parses and formats", () => {
    expect(mac("aa:bb:cc:dd:ee:ff")).toBe(0xaabbccddeeff);
    expect(mac("00-11-22-33-44-55")).toBe(0x001122334455);
    expect(macStr(0x0a0b0c0d0e0f)).toBe("0a:0b:0c:0d:0e:0f");
    expect(() => mac("aa:bb:cc:dd:ee")).toThrow(/invalid MAC/);
    expect(() => mac("aa:bb:cc:dd:ee:gg")).toThrow(/invalid MAC/);
  });

  it("round-trips every 48-bit value", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), (n) => mac(macStr(n)) === n));
  });
});

describe("IPv6", () => {
  it("parses the usual forms", () => {
    expect(ip6("::")).toEqual([0, 0, 0, 0]);
    expect(ip6("::1")).toEqual([0, 0, 0, 1]);
    expect(ip6("2001:db8::1")).toEqual([0x20010db8, 0, 0, 1]);
    expect(ip6("fe80::")).toEqual([0xfe800000, 0, 0, 0]);
    expect(ip6("1:2:3:4:5:6:7:8")).toEqual([0x00010002, 0x00030004, 0x00050006, 0x00070008]);
    expect(ip6("::ffff:10.0.0.1")).toEqual([0, 0, 0xffff, 0x0a000001]);
  });

  it("formats per RFC 5952", () => {
    expect(ip6str([0x20010db8, 0, 0, 1])).toBe("2001:db8::1");
    expect(ip6str([0, 0, 0, 0])).toBe("::");
    expect(ip6str([0x20010db8, 0x00000001, 0, 0])).toBe("2001:db8:0:1::"); // longest run wins
    expect(ip6str([0x20010db8, 0x00010001, 0x00010001, 0x00010001])).toBe("2001:db8:1:1:1:1:1:1");
    expect(ip6str([0x20010db8, 0x0000aaaa, 0xbbbbcccc, 0xddddeeee])).toBe("2001:db8:0:aaaa:bbbb:cccc:dddd:eeee"); // one zero group stays
  });

  it("round-trips", () => {
    const word = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffffffff }));
    fc.assert(fc.property(fc.tuple(word, word, word, word), (w) => {
      expect(ip6(ip6str(w))).toEqual(w);
    }));
  });

  it("rejects junk", () => {
    for (const s of ["1::2::3", "1:2:3:4:5:6:7", "12345::", "g::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7::8"]) {
      expect(() => ip6(s), s).toThrow(/invalid IPv6 address/);
    }
  });

  it("prefixes", () => {
    expect(parsePrefix6("2001:db8:ffff::1/32")).toEqual({ words: [0x20010db8, 0, 0, 0], len: 32 });
    expect(parsePrefix6("2001:db8::1")).toEqual({ words: [0x20010db8, 0, 0, 1], len: 128 });
    expect(parsePrefix6("ffff:ffff:ffff:ffff::/36").words).toEqual([0xffffffff, 0xf0000000, 0, 0]);
    expect(() => parsePrefix6("::/129")).toThrow(/prefix length/);
    expect([0, 1, 2, 3].map((i) => prefixMask6(40, i))).toEqual([0xffffffff, 0xff000000, 0, 0]);
  });
});
