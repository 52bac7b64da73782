// Random and mutated segments into an established connection (fast-check):
// the stack never throws, what it delivers is exactly the peer's stream,
// and its buffers never pass the memory budget.

import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { F } from "./harness";
import { PEER_ISN, Script } from "./script";

const STREAM = 200_000;
const streamByte = (i: number): number => (i * 131 + (i >>> 8)) & 0xff;

const segArb = fc.record({
  at: fc.integer({ min: -3000, max: STREAM }),      // offset in the peer's stream (negative: before it)
  len: fc.integer({ min: 0, max: 3000 }),
  flags: fc.constantFrom(F.ACK, F.ACK, F.ACK, F.ACK | F.PSH, F.ACK | F.FIN, F.RST, F.SYN, F.ACK | F.RST, 0, F.SYN | F.ACK),
  ackOff: fc.integer({ min: -70_000, max: 70_000 }),
  wnd: fc.integer({ min: 0, max: 65535 }),
  tsDelta: fc.integer({ min: -5, max: 1000 }),
  sack: fc.array(fc.tuple(fc.integer({ min: -5000, max: 80_000 }), fc.integer({ min: 0, max: 20_000 })), { maxLength: 3 }),
  mutate: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
  advance: fc.integer({ min: 0, max: 300 }),
  write: fc.integer({ min: 0, max: 20_000 }),
});

function run(segs: Array<typeof segArb extends fc.Arbitrary<infer T> ? T : never>, checksum: boolean): void {
  const budget = 300_000;
  const s = new Script({ memory: budget, rcvBufInitial: 16_384, rcvBufMax: 131_072, sndBufInitial: 8192, sndBufMax: 65_536, verifyChecksum: checksum });
  const c = s.accept();
  const src = new Uint8Array(20_000);
  for (const g of segs) {
    if (g.write > 0 && c.stateName !== "CLOSED") c.write(src, 0, g.write);
    const from = Math.max(0, g.at), to = Math.min(STREAM, g.at + g.len);
    const data = new Uint8Array(Math.max(0, to - from));
    for (let i = 0; i < data.length; i++) data[i] = streamByte(from + i);
    const sack = g.sack.map(([a, n]) => [s.iss + 1 + a, s.iss + 1 + a + n] as [number, number]);
    const pkt = s.peer.build({
      seq: PEER_ISN + 1 + from, ack: s.iss + 1 + g.ackOff, flags: g.flags, wnd: g.wnd, data,
      ts: [s.ts + g.tsDelta, s.echo], sack,
    });
    // Mutations: with checksums on they are caught; with checksums off they reach the parser and the state machine.
    for (const [pos, v] of g.mutate) pkt[pos % pkt.length] = v;
    s.stack.input(pkt, 0, pkt.length);
    s.stack.flush();
    s.cap.take();
    if (g.advance > 0) s.tick(g.advance);
    expect(s.stack.memory.used).toBeLessThanOrEqual(budget);
    expect(s.stack.memory.used).toBeGreaterThanOrEqual(0);
  }
  expect(s.stack.memory.peak).toBeLessThanOrEqual(budget);
  if (checksum) {
    // Only bytes of the real stream, in order, from its start.
    for (let i = 0; i < s.got.length; i++) if (s.got[i] !== streamByte(i)) throw new Error(`byte ${i} corrupted`);
  }
  // Closing everything gives every byte back.
  c.abort();
  for (const l of s.stack.listeners.values()) { let q; while ((q = l.accept()) !== null) q.abort(); }
  // Half-open connections the segments made time out; TIME_WAIT ends.
  for (let i = 0; i < 40 && s.stack.connections > 0; i++) { s.tick(60_000); s.cap.take(); }
  expect(s.stack.connections).toBe(0);
  expect(s.stack.memory.used).toBe(0);
}

describe("fuzzing an established connection", () => {
  it("structured random segments, mutated or not: no throw, exact data, within budget", () => {
    fc.assert(fc.property(fc.array(segArb, { minLength: 1, maxLength: 120 }), (segs) => run(segs, true)), { numRuns: 300 });
  });

  it("mutated segments past the checksum (as if offload verified them): no throw, within budget", () => {
    fc.assert(fc.property(fc.array(segArb, { minLength: 1, maxLength: 120 }), (segs) => run(segs, false)), { numRuns: 300 });
  });

  it("in-order data under random cuts arrives byte-exact", () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 4000 }), { minLength: 1, maxLength: 60 }), fc.array(fc.nat(), { maxLength: 60 }), (cuts, order) => {
      const s = new Script({ rcvBufInitial: 262_144, rcvBufMax: 262_144 });
      s.accept();
      const pieces: Array<[number, number]> = [];
      let at = 0;
      for (const n of cuts) { pieces.push([at, n]); at += n; }
      // Shuffle by the drawn order, with duplicates sent twice.
      for (let i = 0; i < order.length && pieces.length > 1; i++) {
        const a = order[i] % pieces.length, b = (order[i] >>> 8) % pieces.length;
        [pieces[a], pieces[b]] = [pieces[b], pieces[a]];
      }
      for (const [o, n] of pieces) {
        const d = new Uint8Array(n);
        for (let i = 0; i < n; i++) d[i] = streamByte(o + i);
        s.in({ seq: PEER_ISN + 1 + o, ack: s.iss + 1, flags: F.ACK, data: d });
        if (o % 3 === 0) s.in({ seq: PEER_ISN + 1 + o, ack: s.iss + 1, flags: F.ACK, data: d });
      }
      expect(s.got.length).toBe(at);
      for (let i = 0; i < at; i++) if (s.got[i] !== streamByte(i)) throw new Error(`byte ${i} corrupted`);
    }), { numRuns: 200 });
  });
});
