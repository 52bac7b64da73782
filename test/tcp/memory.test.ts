// The per-core memory budget: buffers grow and shrink inside it, a spent
// budget refuses (counted) instead of overwriting anything.

import { describe, expect, it } from "vitest";
import { Clock, Wire, makeStack, F, parse } from "./harness";
import { PEER_ISN, Script } from "./script";

describe("memory budget", () => {
  it("refuses new connections when the budget cannot hold their buffers, counted", () => {
    // Room for exactly two connections' first buffers (16 KiB send + 64 KiB receive each).
    const s = new Script({ memory: 2 * (16 + 64) * 1024 });
    s.stack.listen(8080, s.handlers);
    for (let i = 0; i < 3; i++) {
      const p = new (s.peer.constructor as typeof import("./harness").Peer)(false, "10.0.0.9", 41000 + i, "10.0.0.1", 8080);
      const b = p.build({ seq: PEER_ISN, flags: F.SYN, mss: 1460 });
      s.stack.input(b, 0, b.length);
    }
    s.stack.flush();
    expect(s.cap.take().length).toBe(2);
    expect(s.stack.counters.memoryRefusedConn).toBe(1);
    expect(s.stack.memory.used).toBe(2 * (16 + 64) * 1024);
    expect(s.stack.connect("10.0.0.9", 5000, {})).toBeNull();
    expect(s.stack.counters.memoryRefusedConn).toBe(2);
  });

  it("a send buffer grows for a big write, within the budget, and shrinks when drained", () => {
    const s = new Script({ memory: 16_384 + 65_536 + 100_000 });
    const c = s.accept();
    const big = new Uint8Array(1 << 20);
    const took = c.write(big);
    // Growth doubles: 16 -> 32 -> 64 KiB fits the 100 kB left; 128 KiB does not.
    expect(took).toBe(65_536);
    expect(s.stack.counters.memoryRefusedGrow).toBe(1);
    expect(s.stack.memory.used).toBeLessThanOrEqual(s.stack.memory.limit);
    s.stack.flush();
    // ACK what each flight carried until the buffer is drained.
    while (c.unsent > 0) {
      let end = 0;
      for (const p of s.cap.take()) { const g = parse(p); end = Math.max(end, g.seq + g.data.length - s.iss - 1); }
      s.ackData(end);
    }
    expect(c.sndBuf.cap).toBe(16_384); // drained: back to its first size
    expect(s.stack.memory.used).toBe(16_384 + 65_536);
  });

  it("a receive window grows when the sender presses on it, and stops at the budget", () => {
    const clock = new Clock();
    const wire = new Wire(clock, { delayMs: 5, loss: 0, dup: 0, reorder: 0 });
    wire.a = makeStack(clock, wire.aOut, { local4: "10.0.0.1" });
    wire.b = makeStack(clock, wire.bOut, { local4: "10.0.0.2", memory: 16_384 + 65_536 * 4 });
    let got = 0, done = false;
    wire.b.listen(9, { data: (_c, _b, _o, n) => { got += n; }, end: () => { done = true; } });
    const src = new Uint8Array(4_000_000);
    let sent = 0;
    const pump = (c: import("../../sdk/tcp/conn").TcpConn): void => {
      while (sent < src.length) { const n = c.write(src, sent, src.length - sent); if (n === 0) break; sent += n; }
      if (sent === src.length) c.close();
    };
    wire.a.connect("10.0.0.2", 9, { connected: pump, writable: pump });
    wire.run(() => done);
    expect(got).toBe(4_000_000);
    // 64 KiB -> 128 KiB -> 256 KiB; 512 KiB was refused by the budget.
    expect(wire.b.memory.peak).toBe(16_384 + 262_144);
    expect(wire.b.counters.memoryRefusedGrow).toBe(1);
  });
});
