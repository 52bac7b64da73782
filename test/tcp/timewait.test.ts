// TIME_WAIT kept without its connection object (sdk/tcp/timewait.ts), at
// scale: hundreds of closed connections on one stack, new incarnations
// taking over 4-tuples (RFC 6191), ports held until 2 MSL ends.

import { describe, expect, it } from "vitest";
import { Clock, Wire, makeStack } from "./harness";

const TW = 60_000;

/** `n` request/answer exchanges from a to b, each from a local port out of
 *  `ports` in turn; b closes first, so b holds the TIME_WAITs. */
function exchanges(n: number, ports: number, maxTimeWait = 262_144) {
  const clock = new Clock();
  const wire = new Wire(clock, { delayMs: 1, loss: 0, dup: 0, reorder: 0 });
  const released: number[] = [];
  wire.a = makeStack(clock, wire.aOut, { local4: "10.0.0.1", timeWaitMs: TW });
  wire.b = makeStack(clock, wire.bOut, { local4: "10.0.0.2", timeWaitMs: TW, maxTimeWait, removed: (p) => { released.push(p); } });
  const req = new Uint8Array(64).fill(1);
  wire.b.listen(80, { data: (c, _b, _o, len) => { c.write(req, 0, len); c.close(); } }, 1024);
  let closed = 0, resets = 0;
  for (let k = 0; k < n; k++) {
    const c = wire.a.connect("10.0.0.2", 80, {
      connected: (x) => { x.write(req, 0, 64); },
      end: (x) => { x.close(); },
      closed: () => { closed++; },
      reset: () => { resets++; },
    }, 20000 + (k % ports));
    expect(c).not.toBeNull();
    wire.run(() => closed === k + 1 && wire.b.connections - wire.b.timeWaits.count === 0, 10_000);
  }
  return { wire, clock, closed: () => closed, resets, released };
}

describe("TIME_WAIT without the connection object", () => {
  it("holds every closed 4-tuple for 2 MSL (the table grows past its first size), then frees them in order", () => {
    const r = exchanges(600, 600);
    expect(r.closed()).toBe(600);
    expect(r.resets).toBe(0);
    const b = r.wire.b;
    expect(b.timeWaits.count).toBe(600);
    expect(b.connections).toBe(600);
    // The first closes end first: half the time later about half are left.
    const start = r.clock.t;
    let last = 600;
    for (let step = 0; step < 40; step++) {
      r.clock.advance(TW / 20);
      b.poll();
      expect(b.timeWaits.count).toBeLessThanOrEqual(last);
      last = b.timeWaits.count;
    }
    expect(r.clock.t - start).toBeGreaterThanOrEqual(TW);
    expect(b.connections).toBe(0);
    expect(b.nextTimer()).toBe(Infinity);
  });

  it("lets a new SYN past the old sequence take over a 4-tuple (RFC 6191), each port held once", () => {
    const r = exchanges(900, 300);
    expect(r.closed()).toBe(900);
    expect(r.resets).toBe(0);
    const b = r.wire.b;
    expect(b.counters.timeWaitReused).toBe(600);
    expect(b.timeWaits.count).toBe(300);
    // A connection's port is given back when its TIME_WAIT ends or is taken
    // over, once; not when it enters TIME_WAIT.
    expect(r.released.length).toBe(600);
    r.clock.advance(TW);
    b.poll();
    expect(b.connections).toBe(0);
    expect(r.released.length).toBe(900);
    expect(r.released.every((p) => p === 80)).toBe(true);
  });

  it("closes without TIME_WAIT past maxTimeWait, counted, the port given back at once", () => {
    const r = exchanges(300, 300, 100);
    expect(r.closed()).toBe(300);
    expect(r.wire.b.timeWaits.count).toBe(100);
    expect(r.wire.b.counters.timeWaitOverflow).toBe(200);
    expect(r.released.length).toBe(200);
  });

  it("keeps a local port that is in TIME_WAIT from a new connection to the same remote", () => {
    const clock = new Clock();
    const wire = new Wire(clock, { delayMs: 1, loss: 0, dup: 0, reorder: 0 });
    const released: number[] = [];
    wire.a = makeStack(clock, wire.aOut, { local4: "10.0.0.1", timeWaitMs: TW, removed: (p) => { released.push(p); } });
    wire.b = makeStack(clock, wire.bOut, { local4: "10.0.0.2", timeWaitMs: TW });
    wire.b.listen(80, { end: (c) => { c.close(); } });
    let closed = 0;
    wire.a.connect("10.0.0.2", 80, { connected: (c) => { c.close(); }, closed: () => { closed++; } }, 30000);
    wire.run(() => closed === 1 && wire.b.connections === 0);
    expect(wire.a.timeWaits.count).toBe(1);   // a closed first
    expect(() => wire.a.connect("10.0.0.2", 80, {}, 30000)).toThrow(/already exists/);
    expect(wire.a.connect("10.0.0.2", 81, {}, 30000)).not.toBeNull();   // another remote port: free
    expect(released).toEqual([]);
    clock.advance(TW);
    wire.a.poll();
    expect(wire.a.timeWaits.count).toBe(0);
    expect(released).toEqual([30000]);
  });
});
