// Every parser of the endpoint work fed random bytes (fast-check): the SDK's
// UDP receive and dns.ts (in process, on Batch.fromFrames), and the
// runtime's ARP / ND / ICMP / UDP handling (native, through a pcap). Nothing
// throws or crashes; every answer lies inside its buffer; a DNS query that
// lies about its lengths or loops in its name gets FORMERR or is dropped,
// and is counted.
import fc from "fast-check";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Batch, Udp, makeCtx } from "../sdk";
import dns from "../vnfs/dns";
import zone from "../vnfs/dns.example.json";
import { writePcap } from "./helpers/pcap";
import { vnfrunJson } from "./helpers/tools";

const dir = mkdtempSync(join(tmpdir(), "vnfrun-epfuzz-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ME = [10, 0, 0, 53], PEER = [10, 0, 0, 1];
const ME6 = [0xfd, 0, ...Array(13).fill(0), 0x53];

function sum16(b: number[]): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += (b[i] << 8) | (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}
function udp4(payload: number[], dport = 53, lie = 0): Uint8Array {
  const ulen = 8 + payload.length + lie;
  const total = 20 + 8 + payload.length;
  const ip = [0x45, 0, total >> 8, total & 255, 0, 0, 0x40, 0, 64, 17, 0, 0, ...PEER, ...ME];
  const c = sum16(ip);
  ip[10] = c >> 8; ip[11] = c & 255;
  return Uint8Array.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0, ...ip, 0x30, 0x39, dport >> 8, dport & 255, (ulen >> 8) & 255, ulen & 255, 0, 0, ...payload]);
}

const ctx = () => makeCtx(["net"], { config: zone, addresses: [{ port: 0, ip: "10.0.0.53", prefix: 24, v6: false }] });

describe("parsers on random bytes", () => {
  it("UDP receive: any frame, no throw, datagrams inside their frames", () => {
    const c = ctx();
    const udp = new Udp(c);
    const s = udp.bind(53);
    fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 20 }), fc.array(fc.uint8Array({ maxLength: 120 }), { maxLength: 10 }), (junk, payloads) => {
      const frames = [...junk, ...payloads.map((p) => udp4(Array.from(p)))];
      const b = Batch.fromFrames(frames, ["net"]);
      b.count = frames.length;
      udp.receive(b);
      for (let k = 0; k < s.count; k++) {
        const i = s.entry[k];
        expect(s.payload[k] + s.length[k]).toBeLessThanOrEqual(b.offsets[i] + b.lengths[i]);
      }
      expect(s.count).toBe(payloads.length);   // every well-formed datagram to us arrives
    }), { numRuns: 300 });
  });

  it("dns.ts: random queries (random bytes, and headers that lie) never throw; answers stay in their buffers", () => {
    const c = ctx();
    const st = dns.init!(c) as any;
    const header = fc.tuple(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }));
    const label = fc.oneof(fc.constantFrom(0, 63, 64, 0xc0, 0xc0 | 12, 255), fc.integer({ min: 0, max: 255 }));
    const query = fc.tuple(header, fc.array(label, { maxLength: 40 }), fc.uint8Array({ maxLength: 60 })).map(([[id, fl, qd, an, ns, ar], name, tail]) =>
      [id >> 8, id & 255, fl & 0x7f, 0, 0, qd, 0, an, 0, ns, 0, ar, ...name, ...tail]);
    fc.assert(fc.property(fc.array(fc.oneof(query, fc.uint8Array({ maxLength: 100 }).map((u) => Array.from(u))), { minLength: 1, maxLength: 16 }), (qs) => {
      const frames = qs.map((q) => udp4(q));
      const b = Batch.fromFrames(frames, ["net"]);
      b.count = frames.length;
      const before = st.n[0];
      dns.process(b, st, c);
      expect(st.n[0] - before).toBe(frames.length);
      for (let i = 0; i < frames.length; i++) {
        if (b.verdicts[i] === 0) continue;
        expect(b.lengths[i]).toBeLessThanOrEqual(b.freshCapacity);
        const q = b.offsets[i] + 42;
        expect(b.bytes[q + 2] & 0x80).toBe(0x80);   // a response
      }
    }), { numRuns: 300 });
  });

  it("dns.ts: names match in any letter case, and only letters fold (the name hash folds more)", () => {
    const c = ctx();
    const st = dns.init!(c) as any;
    const q = (name: string) => {
      const out = [0, 7, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
      for (const l of name.split(".")) out.push(l.length, ...Array.from(l, (ch) => ch.charCodeAt(0)));
      return [...out, 0, 0, 1, 0, 1];
    };
    // "WwW.ExAmple.TEST" is www; "ns\x11" differs from the zone's "ns1" only in bit 5 of a digit (0x31): same hash, another name.
    const frames = [q("www.example.test"), q("WwW.ExAmple.TEST"), q("ns1.example.test"), q("ns\x11.example.test")].map((x) => udp4(x));
    const b = Batch.fromFrames(frames, ["net"]);
    b.count = frames.length;
    dns.process(b, st, c);
    const rcode = (i: number) => b.bytes[b.offsets[i] + 42 + 3] & 15, answers = (i: number) => b.bytes[b.offsets[i] + 42 + 7];
    expect([rcode(0), answers(0)]).toEqual([0, 2]);
    expect([rcode(1), answers(1)]).toEqual([0, 2]);
    expect([rcode(2), answers(2)]).toEqual([0, 1]);
    expect(rcode(3)).toBe(3);   // NXDOMAIN: no such name
  });

  it("dns.ts: a compression loop or a pointer in the question is FORMERR, counted", () => {
    const c = ctx();
    const st = dns.init!(c) as any;
    const loop = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1];
    const b = Batch.fromFrames([udp4(loop)], ["net"]);
    b.count = 1;
    dns.process(b, st, c);
    expect(b.verdicts[0]).toBe(1);
    expect(b.bytes[b.offsets[0] + 42 + 3] & 15).toBe(1);   // FORMERR
    expect(st.n[4]).toBe(1);
  });

  it("the runtime's ARP/ND/ICMP/UDP handling: random frames through the engine, no crash, all accounted", () => {
    const eth = (type: number, body: number[]) => Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, type >> 8, type & 255, ...body]);
    const arb = fc.oneof(
      fc.uint8Array({ maxLength: 120 }),
      fc.uint8Array({ maxLength: 60 }).map((t) => eth(0x0806, [0, 1, 8, 0, 6, 4, 0, t[0] ?? 1, 2, 0, 0, 0, 0, 1, ...PEER, 0, 0, 0, 0, 0, 0, ...ME, ...t])),
      fc.uint8Array({ maxLength: 80 }).map((t) => eth(0x0800, [0x45, 0, (t[0] ?? 0) & 1, t[1] ?? 0, 0, 0, 0, 0, 64, t[2] & 1 ? 1 : 17, 0, 0, ...PEER, ...ME, ...t])),
      fc.uint8Array({ maxLength: 80 }).map((t) => eth(0x86dd, [0x60, 0, 0, 0, 0, t[0] ?? 0, 58, 255, 0xfe, 0x80, ...Array(13).fill(0), 1, ...ME6, t[1] & 1 ? 135 : 128, ...t])),
    );
    const frames = fc.sample(arb, { numRuns: 3000, seed: 16 });
    const file = join(dir, "junk.pcap");
    writePcap(file, frames);
    const s = vnfrunJson(["test/fixtures/host.ts", "--port", `pcap:${file}`, "--ip", "10.0.0.53/24", "--ip", "fd00::53/64"]);
    expect(s.ports[0].rx_packets + s.ports[0].rx_malformed).toBe(frames.length);   // runts are malformed on receive
    expect(s.drops.endpoint_malformed).toBeGreaterThan(0);
  }, 30_000);
});
