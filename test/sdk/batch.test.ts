import { describe, expect, it } from "vitest";
import { Batch } from "../../sdk";
import * as kinds from "../../sdk/kinds";
import { frame, ipv4, tcp, udp } from "./frames";

const PORTS = ["in", "out", "mirror"];

function batchOf(n: number): Batch {
  const frames = Array.from({ length: n }, (_, i) => frame(0x0800, ipv4({ id: i }, udp(1000 + i, 53))));
  return Batch.fromFrames(frames, PORTS, 1);
}

describe("Batch", () => {
  it("fromFrames lays frames out at 2048-byte spacing", () => {
    const b = batchOf(3);
    expect(b.count).toBe(3);
    // After the received entries: room for frames the VNF originates (batch.originate).
    expect(b.offsets.length).toBe(3 + 64);
    expect(Array.from(b.offsets.subarray(0, b.count))).toEqual([0, 2048, 4096]);
    expect(Array.from(b.lengths.subarray(0, b.count))).toEqual([42, 42, 42]);
    expect(Array.from(b.inPorts.subarray(0, b.count))).toEqual([1, 1, 1]);
    expect(Array.from(b.verdicts.subarray(0, b.count))).toEqual([0, 0, 0]);
    expect(b.bytes.length).toBeGreaterThanOrEqual(3 * 2048);
    expect(b.now).toBe(0);
  });

  it("fromFrames widens slots for jumbo frames and accepts zero frames", () => {
    const big = new Uint8Array(3000).fill(7);
    const b = Batch.fromFrames([big, new Uint8Array(60)], PORTS);
    expect(b.offsets[1]).toBe(4096);
    expect(b.packet(0).copy()).toEqual(big);
    expect(Batch.fromFrames([], PORTS).count).toBe(0);
  });

  it("iterates with one reused Packet and one reused result object", () => {
    const b = batchOf(4);
    const it1 = b[Symbol.iterator]();
    const r1 = it1.next();
    const r2 = it1.next();
    expect(r1).toBe(r2); // the same result object, moved
    expect(r1.done).toBe(false);
    const views = new Set<unknown>();
    const ports: number[] = [];
    for (const p of b) { views.add(p); ports.push(p.udp!.srcPort); }
    expect(views.size).toBe(1);
    expect(ports).toEqual([1000, 1001, 1002, 1003]);
    expect(b[Symbol.iterator]()).toBe(it1); // no new iterator per loop
    expect(b.packet(2)).toBe([...views][0]);
  });

  it("stops at count, not at the arrays' capacity", () => {
    const b = batchOf(5);
    b.count = 2;
    let n = 0;
    for (const _ of b) n++;
    expect(n).toBe(2);
    expect(() => b.packet(2)).toThrow(/batch has 2 packets/);
    expect(() => b.packet(-1)).toThrow(RangeError);
  });

  it("port() resolves names and rejects unknown ones clearly", () => {
    const b = batchOf(1);
    expect(b.port("in")).toBe(0);
    expect(b.port("mirror")).toBe(2);
    expect(() => b.port("nope")).toThrow('unknown port "nope"; this VNF\'s ports are: in, out, mirror');
  });
});

describe("Packet verdicts and ports", () => {
  it("send by name or index writes k + 1; drop writes 0", () => {
    const b = batchOf(3);
    b.packet(0).send("out");
    b.packet(1).send(2);
    const p = b.packet(2);
    p.send("in");
    p.drop();
    expect(Array.from(b.verdicts.subarray(0, b.count))).toEqual([2, 3, 0]);
    expect(b.packet(1).verdict).toBe(3);
    b.packet(2).verdict = 1;
    expect(b.verdicts[2]).toBe(1);
  });

  it("send rejects unknown names and bad indices", () => {
    const p = batchOf(1).packet(0);
    expect(() => p.send("wan")).toThrow(/unknown port "wan"/);
    expect(() => p.send(3)).toThrow(/no such port index/);
    expect(() => p.send(-1)).toThrow(/no such port index/);
    expect(() => p.send(0.5)).toThrow(/no such port index/);
  });

  it("exposes index, offset, length, inPort, inPortName, bytes, copy", () => {
    const b = batchOf(2);
    b.inPorts[1] = 2;
    const p = b.packet(1);
    expect(p.index).toBe(1);
    expect(p.offset).toBe(2048);
    expect(p.length).toBe(42);
    expect(p.inPort).toBe(2);
    expect(p.inPortName).toBe("mirror");
    expect(p.bytes).toBe(b.bytes);
    const c = p.copy();
    expect(c.length).toBe(42);
    c[0] = 0x99;
    expect(b.bytes[2048]).not.toBe(0x99); // a copy, not a view
  });

  it("length and offset setters write the batch arrays", () => {
    const b = batchOf(2);
    const p = b.packet(1);
    p.length = 60;
    p.offset = 2050;
    expect(b.lengths[1]).toBe(60);
    expect(b.offsets[1]).toBe(2050);
    expect(b.packet(1).length).toBe(60);
  });
});

describe("Batch over part of a buffer", () => {
  it("header views read through the pool's own byteOffset", () => {
    // The pool may be a view into a larger buffer; the DataView the views
    // use must start where the Uint8Array does.
    const f = frame(0x0800, ipv4({ src: 0xc0a80001, dst: 0x0a000002, proto: 6 }, tcp({ sport: 4321, dport: 80 })));
    const buf = new ArrayBuffer(4096);
    const pool = new Uint8Array(buf, 100, 2048);
    pool.set(f, 10);
    const b = new Batch(pool, Uint32Array.of(10), Uint32Array.of(f.length), Uint8Array.of(0), Uint8Array.of(0), ["in"]);
    b.count = 1;
    const p = b.packet(0);
    expect(p.ipv4!.src).toBe(0xc0a80001);
    expect(p.ipv4!.dst).toBe(0x0a000002);
    expect([p.srcPort, p.dstPort, p.tcp!.dstPort]).toEqual([4321, 80, 80]);
    p.ipv4!.ttl = 9;
    expect(new Uint8Array(buf)[100 + 10 + 14 + 8]).toBe(9);
  });
});

describe("parse on the move", () => {
  it("starts once a header is asked for, and gives the same answers", () => {
    const b = batchOf(3);
    for (const p of b) p.send(1); // headers never asked: nothing parsed
    expect(b.packet(0)._eager).toBe(0);
    const first = b.packet(0).udp!.srcPort; // the full parsers answer...
    expect(b.packet(0)._eager).toBe(1);
    const p = b.packet(1); // ...and from now on the move parses
    expect(p._l4Kind).toBe(kinds.L4_UDP);
    expect([first, p.udp!.srcPort, p.dstPort, p.ipv4!.id]).toEqual([1000, 1001, 53, 1]);
  });
});

describe("parse kinds", () => {
  it("keep the values packet.ts writes as literals in its hot paths", () => {
    expect([kinds.UNPARSED, kinds.L3_IPV4, kinds.L4_TCP, kinds.L4_UDP]).toEqual([-1, 1, 1, 2]);
  });
  it("l4Checksum: summed in JS without an engine; left pending (pseudo-header sum, flag, ctl) with one", () => {
    const seg = [0x12, 0x34, 0x00, 0x07, 0x00, 0x0b, 0, 0, 1, 2, 3];
    const f = Uint8Array.from([...Array(14).fill(0), ...seg]);
    for (const offload of [false, true]) {
      const b = Batch.fromFrames([f], PORTS);
      b.checksumOffload = offload;
      const at = b.offsets[0] + 14, pseudo = 0x1234 + 0x0011 + 11;
      b.l4Checksum(0, at, 11, at + 6, pseudo);
      const field = (b.bytes[at + 6] << 8) | b.bytes[at + 7];
      if (offload) {
        expect(field).toBe(pseudo);
        expect(b.flags[0] & 1).toBe(1);
        expect(b.ctl[3]).toBe(1);
      } else {
        let s = pseudo;
        for (let j = 0; j < 11; j += 2) s += (b.bytes[at + j] << 8) | (b.bytes[at + j + 1] ?? 0);
        while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
        expect(s).toBe(0xffff);
        expect(b.flags[0]).toBe(0);
      }
    }
  });
});
