import { describe, expect, it } from "vitest";
import { ip4, Ip4Set } from "../../sdk";

describe("Ip4Set", () => {
  it("answers membership for uint32 and int32 forms, and nothing else", () => {
    const pool = Array.from({ length: 300 }, (_, i) => ip4("203.0.113.0") + i * 7);
    const s = new Ip4Set([...pool, ip4("255.255.255.255"), pool[3]]);
    expect(s.size).toBe(301);
    for (const a of pool) {
      expect(s.has(a)).toBe(true);
      expect(s.has(a | 0)).toBe(true);
      expect(s.has(a + 1)).toBe(false);
    }
    expect(s.has(0xffffffff)).toBe(true);
    expect(s.has(-1)).toBe(true);
    expect(s.has(ip4("10.0.0.1"))).toBe(false);
  });

  it("never holds 0.0.0.0, and an empty set answers no", () => {
    expect(new Ip4Set([0, ip4("192.0.2.1")]).has(0)).toBe(false);
    const empty = new Ip4Set([]);
    expect(empty.size).toBe(0);
    expect(empty.has(ip4("192.0.2.1"))).toBe(false);
  });
});
