// sdk/udp.ts: datagrams reach their socket, reply() and echo() send them
// back with addresses and ports swapped and every checksum right (checked
// by the Packet views' own verifiers), send() fills IP/UDP and leaves the
// Ethernet addresses to the runtime.
import { describe, expect, it } from "vitest";
import { Batch, FLAG_RESOLVE, Udp, makeCtx } from "../../sdk";

function sum16(b: number[]): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += (b[i] << 8) | (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}
function datagram(payload: number[], ttl = 9): Uint8Array {
  const total = 28 + payload.length;
  const ip = [0x45, 0, total >> 8, total & 255, 0, 0, 0x40, 0, ttl, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 53];
  const c = sum16(ip);
  ip[10] = c >> 8; ip[11] = c & 255;
  const udp = [0x30, 0x39, 0, 7, 0, 8 + payload.length, 0, 0];
  const u = sum16([...ip.slice(12, 20), 0, 17, 0, 8 + payload.length, ...udp, ...payload]) || 0xffff;
  udp[6] = u >> 8; udp[7] = u & 255;
  return Uint8Array.from([2, 0, 0, 0, 0, 0x53, 2, 0, 0, 0, 0, 1, 8, 0, ...ip, ...udp, ...payload]);
}

describe("Udp", () => {
  const ctx = () => makeCtx(["net"], { addresses: [{ port: 0, ip: "10.0.0.53", prefix: 24, v6: false }] });

  for (const how of ["reply", "echo"] as const)
    it(`${how}: back to the sender, checksums right`, () => {
      const c = ctx();
      const udp = new Udp(c);
      const s = udp.bind(7);
      expect(c.udpBound[7]).toBe(1);
      const b = Batch.fromFrames([datagram([1, 2, 3, 4, 5]), datagram([9], 9).map((x, i) => (i === 37 ? 8 : x))], ["net"]);
      b.count = 2;
      udp.receive(b);
      expect(s.count).toBe(1);   // the second is for port 8, not bound here
      expect(s.length[0]).toBe(5);
      expect(s.srcIp4(b, 0)).toBe(0x0a000001);
      if (how === "reply") {
        b.bytes.set([7, 7, 7], s.payload[0]);
        expect(s.reply(b, 0, 3)).toBe(true);
      } else s.echo(b, 0);
      const p = b.packet(0);
      expect(p.verdict).toBe(1);
      expect(p.eth!.dst).toBe(0x020000000001);
      expect(p.ipv4!.src).toBe(0x0a000035);
      expect(p.ipv4!.dst).toBe(0x0a000001);
      expect(p.ipv4!.ttl).toBe(64);
      expect(p.ipv4!.verifyChecksum()).toBe(true);
      expect(p.udp!.srcPort).toBe(7);
      expect(p.udp!.dstPort).toBe(12345);
      expect(p.udp!.verifyChecksum()).toBe(true);
      expect(p.payloadLength).toBe(how === "reply" ? 3 : 5);
      expect(s.counters[2]).toBe(1);
    });

  it("reply to a datagram left to checksum offload: the field holds the pseudo-header sum, the flag stays", () => {
    const udp = new Udp(ctx());
    const s = udp.bind(7);
    const frame = datagram([1, 2, 3, 4]);
    frame[40] = 0; frame[41] = 0;   // as a vnet port hands it in: not summed
    const b = Batch.fromFrames([frame], ["net"]);
    b.count = 1;
    b.flags[0] = 1;
    udp.receive(b);
    expect(s.count).toBe(1);
    expect(s.reply(b, 0, 2)).toBe(true);
    const at = b.offsets[0] + 34, pseudo = [10, 0, 0, 53, 10, 0, 0, 1, 0, 17, 0, 10];
    expect((b.bytes[at + 6] << 8) | b.bytes[at + 7]).toBe(~sum16(pseudo) & 0xffff);
    expect(b.flags[0] & 1).toBe(1);   // the next vnet port, or the engine, finishes it
  });

  it("a datagram the runtime checked (CHECKSUM_GOOD) is not summed again", () => {
    const udp = new Udp(ctx());
    const s = udp.bind(7);
    const bad = datagram([5, 6]);
    bad[41] ^= 1;
    const b = Batch.fromFrames([bad, bad.slice()], ["net"]);
    b.count = 2;
    b.flags[0] = 4;
    udp.receive(b);
    expect(s.count).toBe(1);
    expect(s.entry[0]).toBe(0);
    expect(s.counters[4]).toBe(1);   // the unmarked copy: summed, found bad
  });

  it("send(): a fresh frame, IP and UDP filled, checksums right, Ethernet left to the runtime", () => {
    const c = ctx();
    const udp = new Udp(c);
    const s = udp.connect("10.0.0.2", 9000);
    expect(s.localPort).toBeGreaterThanOrEqual(32768);
    const b = Batch.fromFrames([], ["net"]);
    b.count = 0;
    expect(s.send(b, Uint8Array.of(1, 2, 3))).toBe(true);
    const p = b.entry(0);
    expect(b.flags[0] & FLAG_RESOLVE).toBe(FLAG_RESOLVE);
    expect(b.ctl[3]).toBe(1);
    expect(p.ipv4!.dst).toBe(0x0a000002);
    expect(p.ipv4!.verifyChecksum()).toBe(true);
    expect(p.udp!.verifyChecksum()).toBe(true);
    expect(p.udp!.srcPort).toBe(s.localPort);
    expect(() => udp.bind(s.localPort)).toThrow(/already has a socket/);
    expect(() => new Udp(makeCtx(["net"]))).toThrow(/--ip/);
  });
});
