// Two stacks back to back over an in-memory wire that loses, reorders and
// duplicates: what one side writes arrives byte-exact on the other.

import { describe, expect, it } from "vitest";
import { Clock, Wire, makeStack, type WireModel } from "./harness";
import type { TcpConn } from "../../sdk/tcp/conn";

function pattern(n: number, k: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = k >>> 0 || 1;
  for (let i = 0; i < n; i++) { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; b[i] = x; }
  return b;
}

function transfer(model: WireModel, size: number, opts: { v6?: boolean; sack?: boolean; rng?: number } = {}) {
  const clock = new Clock();
  const wire = new Wire(clock, model, opts.rng ?? 7);
  const extra = { sack: opts.sack ?? true };
  wire.a = makeStack(clock, wire.aOut, { ...extra, local4: "10.0.0.1", local6: "fd00::1" });
  wire.b = makeStack(clock, wire.bOut, { ...extra, local4: "10.0.0.2", local6: "fd00::2" });
  const src = pattern(size, 99);
  const got = new Uint8Array(size);
  let recv = 0, ended = false, closed = 0, resets = 0;
  wire.b.listen(5001, {
    data: (_c, b, off, len) => { got.set(b.subarray(off, off + len), recv); recv += len; },
    end: (c) => { ended = true; c.close(); },
    closed: () => { closed++; },
    reset: () => { resets++; },
  });
  let sent = 0;
  const pump = (c: TcpConn): void => {
    while (sent < size) { const n = c.write(src, sent, Math.min(65536, size - sent)); if (n === 0) break; sent += n; }
    if (sent === size) c.close();
  };
  const c = wire.a.connect(opts.v6 ? "fd00::2" : "10.0.0.2", 5001, {
    connected: pump, writable: pump, closed: () => { closed++; }, reset: () => { resets++; },
  })!;
  expect(c).not.toBeNull();
  wire.run(() => closed === 2, 5_000_000);
  return { wire, got, src, recv, ended, closed, resets, clock };
}

describe("bulk transfer between two stacks", () => {
  it("is byte-exact on a clean wire (IPv4 and IPv6)", () => {
    for (const v6 of [false, true]) {
      const r = transfer({ delayMs: 1, loss: 0, dup: 0, reorder: 0 }, 3_000_000, { v6 });
      expect(r.recv).toBe(3_000_000);
      expect(Buffer.compare(r.got, r.src)).toBe(0);
      expect(r.ended).toBe(true);
      expect(r.closed).toBe(2);
      expect(r.wire.a.counters.retransSegs).toBe(0);
    }
  });

  for (const loss of [0.01, 0.05]) {
    for (const sack of [true, false]) {
      it(`is byte-exact under ${loss * 100}% loss both ways, with reordering and duplication (${sack ? "SACK" : "NewReno"})`, () => {
        const r = transfer({ delayMs: 5, loss, dup: 0.01, reorder: 0.02 }, 2_000_000, { sack });
        expect(r.resets).toBe(0);
        expect(r.recv).toBe(2_000_000);
        expect(Buffer.compare(r.got, r.src)).toBe(0);
        expect(r.closed).toBe(2);
        expect(r.wire.dropped).toBeGreaterThan(0);
        expect(r.wire.a.counters.retransSegs).toBeGreaterThan(0);
        // Both stacks gave every byte of memory back.
        expect(r.wire.a.memory.used).toBe(0);
        expect(r.wire.b.memory.used).toBe(0);
      });
    }
  }
});
