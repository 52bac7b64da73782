// Scripted teardown: FIN and RST in every state, TIME_WAIT, RFC 5961
// challenge ACKs, PAWS.

import { describe, expect, it } from "vitest";
import { F } from "./harness";
import { PEER_ISN, Script } from "./script";

const P1 = PEER_ISN + 1;

/** The script's connection's state. One in TIME_WAIT is CLOSED to the
 *  application (its object has left the stack); the stack holds its 4-tuple. */
const stateOf = (s: Script): string =>
  s.conn!.stateName === "CLOSED" && s.stack.timeWaits.count === 1 ? "TIME_WAIT" : s.conn!.stateName;

/** Bring a connection to `state` and return the script. */
function inState(state: string, opts = {}): Script {
  const s = new Script({ timeWaitMs: 1000, ...opts });
  if (state === "SYN_SENT") {
    s.stack.connect("10.0.0.9", 40000, s.handlers, 8080);
    s.stack.flush();
    s.iss = s.out({ flags: F.SYN }).seq;
    return s;
  }
  if (state === "SYN_RECEIVED") {
    s.stack.listen(8080, s.handlers);
    s.in({ seq: PEER_ISN, flags: F.SYN, mss: 1460, sackOk: true, wscale: 7, ts: [100, 0] });
    s.iss = s.out({ flags: F.SYN | F.ACK }).seq;
    return s;
  }
  const c = s.accept();
  const ourFin = (): void => { c.close(); s.stack.flush(); s.out({ flags: F.FIN | F.ACK, seq: s.iss + 1 }); };
  switch (state) {
    case "ESTABLISHED": break;
    case "FIN_WAIT_1": ourFin(); break;
    case "FIN_WAIT_2": ourFin(); s.ackData(1); break;
    case "CLOSE_WAIT": s.in({ seq: P1, ack: s.iss + 1, flags: F.FIN | F.ACK }); s.out({ flags: F.ACK, ack: P1 + 1 }); break;
    case "LAST_ACK":
      s.in({ seq: P1, ack: s.iss + 1, flags: F.FIN | F.ACK }); s.out({ flags: F.ACK, ack: P1 + 1 });
      c.close(); s.stack.flush(); s.out({ flags: F.FIN | F.ACK, seq: s.iss + 1, ack: P1 + 1 });
      break;
    case "CLOSING":
      ourFin();
      s.in({ seq: P1, ack: s.iss + 1, flags: F.FIN | F.ACK }); s.out({ flags: F.ACK, ack: P1 + 1 });
      break;
    case "TIME_WAIT":
      ourFin(); s.ackData(1);
      s.in({ seq: P1, ack: s.iss + 2, flags: F.FIN | F.ACK }); s.out({ flags: F.ACK, ack: P1 + 1 });
      break;
    default: throw new Error(state);
  }
  expect(stateOf(s)).toBe(state);
  s.events.length = 0;
  return s;
}

/** The sequence number the peer would use next in each state. */
function peerSeq(state: string): number {
  return ["CLOSE_WAIT", "LAST_ACK", "CLOSING", "TIME_WAIT"].includes(state) ? P1 + 1 : P1;
}

describe("FIN in every state", () => {
  it("SYN_SENT: a FIN without SYN is dropped", () => {
    const s = inState("SYN_SENT");
    s.in({ seq: P1, flags: F.FIN });
    s.none();
    expect(s.stack.connections).toBe(1);
  });

  it("SYN_RECEIVED: FIN that ACKs the SYN-ACK establishes and half-closes", () => {
    const s = inState("SYN_RECEIVED");
    s.in({ seq: P1, ack: s.iss + 1, flags: F.FIN | F.ACK });
    s.out({ flags: F.ACK, ack: P1 + 1 });
    expect(s.events).toEqual(["accepted", "end"]);
    expect(stateOf(s)).toBe("CLOSE_WAIT");
  });

  it("ESTABLISHED -> CLOSE_WAIT, ACKed at once, `end` told", () => {
    const s = inState("ESTABLISHED");
    s.in({ seq: P1, ack: s.iss + 1, flags: F.FIN | F.ACK });
    s.out({ flags: F.ACK, ack: P1 + 1 });
    expect(s.events).toEqual(["end"]);
    expect(stateOf(s)).toBe("CLOSE_WAIT");
  });

  it("ESTABLISHED: a FIN after a hole waits for the hole", () => {
    const s = inState("ESTABLISHED");
    s.in({ seq: P1 + 100, ack: s.iss + 1, flags: F.FIN | F.ACK, data: new Uint8Array(100) });
    s.out({ flags: F.ACK, ack: P1 });
    expect(stateOf(s)).toBe("ESTABLISHED");
    s.data(0, 100);
    s.out({ flags: F.ACK, ack: P1 + 201 });
    expect(stateOf(s)).toBe("CLOSE_WAIT");
    expect(s.got.length).toBe(200);
  });

  it("FIN_WAIT_1: a FIN not ACKing ours -> CLOSING; then the ACK -> TIME_WAIT", () => {
    const s = inState("FIN_WAIT_1");
    s.in({ seq: P1, ack: s.iss + 1, flags: F.FIN | F.ACK });
    s.out({ flags: F.ACK, ack: P1 + 1 });
    expect(stateOf(s)).toBe("CLOSING");
    s.in({ seq: P1 + 1, ack: s.iss + 2, flags: F.ACK });
    expect(stateOf(s)).toBe("TIME_WAIT");
    expect(s.events).toEqual(["end", "closed"]);
  });

  it("FIN_WAIT_1: FIN+ACK of our FIN -> TIME_WAIT", () => {
    const s = inState("FIN_WAIT_1");
    s.in({ seq: P1, ack: s.iss + 2, flags: F.FIN | F.ACK });
    s.out({ flags: F.ACK, ack: P1 + 1 });
    expect(stateOf(s)).toBe("TIME_WAIT");
  });

  it("FIN_WAIT_2 -> TIME_WAIT, buffers given back", () => {
    const s = inState("FIN_WAIT_2");
    s.in({ seq: P1, ack: s.iss + 2, flags: F.FIN | F.ACK });
    s.out({ flags: F.ACK, ack: P1 + 1 });
    expect(stateOf(s)).toBe("TIME_WAIT");
    expect(s.stack.memory.used).toBe(0);
  });

  for (const state of ["CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT"]) {
    it(`${state}: a retransmitted FIN is ACKed again, state kept`, () => {
      const s = inState(state);
      s.in({ seq: P1, ack: s.iss + 1, flags: F.FIN | F.ACK });
      s.out({ flags: F.ACK, ack: P1 + 1 });
      expect(stateOf(s)).toBe(state);
    });
  }

  it("LAST_ACK: the ACK of our FIN closes and frees the connection", () => {
    const s = inState("LAST_ACK");
    s.in({ seq: P1 + 1, ack: s.iss + 2, flags: F.ACK });
    expect(stateOf(s)).toBe("CLOSED");
    expect(s.events).toEqual(["closed"]);
    expect(s.stack.connections).toBe(0);
    expect(s.stack.memory.used).toBe(0);
  });
});

describe("RST in every state", () => {
  it("SYN_SENT: RST+ACK of our SYN is a refusal; RST without ACK is ignored", () => {
    let s = inState("SYN_SENT");
    s.in({ seq: 0, flags: F.RST });
    expect(s.stack.connections).toBe(1);
    s.in({ seq: 0, ack: s.iss + 1, flags: F.RST | F.ACK });
    expect(s.events).toEqual(["reset:refused"]);
    expect(s.stack.connections).toBe(0);
    s = inState("SYN_SENT");
    s.in({ seq: 0, ack: s.iss + 7, flags: F.RST | F.ACK }); // ACK of nothing we sent
    expect(s.stack.connections).toBe(1);
  });

  it("SYN_RECEIVED: RST removes the half-open connection quietly", () => {
    const s = inState("SYN_RECEIVED");
    const l = s.stack.listeners.get(8080)!;
    expect(l.halfOpen).toBe(1);
    s.in({ seq: P1, flags: F.RST });
    expect(s.stack.connections).toBe(0);
    expect(l.halfOpen).toBe(0);
    expect(s.events).toEqual([]);
  });

  for (const state of ["ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT"]) {
    it(`${state}: RST at rcv.nxt resets; in-window elsewhere gets a challenge ACK; outside is dropped`, () => {
      const s = inState(state);
      const nxt = peerSeq(state);
      s.in({ seq: nxt + 5000, flags: F.RST }); // in window, not exact
      s.out({ flags: F.ACK, ack: nxt });
      expect(s.stack.counters.challengeAcks).toBe(1);
      s.in({ seq: nxt + 50_000_000, flags: F.RST }); // far outside
      s.none();
      expect(s.stack.connections).toBe(1);
      s.in({ seq: nxt, flags: F.RST });
      s.none();
      expect(s.stack.connections).toBe(0);
      expect(s.stack.memory.used).toBe(0);
      if (["ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT"].includes(state)) expect(s.events).toEqual(["reset:reset"]);
    });
  }

  it("abort() sends RST and frees the connection", () => {
    const s = inState("ESTABLISHED");
    s.conn!.abort();
    s.out({ flags: F.RST, seq: s.iss + 1 });
    expect(s.stack.connections).toBe(0);
    expect(s.stack.counters.resetsOut).toBe(1);
  });
});

describe("TIME_WAIT", () => {
  it("keeps the 4-tuple for 2 MSL, then frees it", () => {
    const s = inState("TIME_WAIT");
    s.tick(999);
    expect(s.stack.connections).toBe(1);
    s.tick(1);
    expect(s.stack.connections).toBe(0);
    // A late segment now meets no connection: RST.
    s.in({ seq: P1 + 1, ack: s.iss + 2, flags: F.ACK });
    s.out({ flags: F.RST, seq: s.iss + 2 });
  });

  it("a retransmitted FIN restarts the 2 MSL timer", () => {
    const s = inState("TIME_WAIT");
    s.tick(600);
    s.in({ seq: P1, ack: s.iss + 2, flags: F.FIN | F.ACK });
    s.out({ flags: F.ACK });
    s.tick(600);
    expect(s.stack.connections).toBe(1);
    s.tick(400);
    expect(s.stack.connections).toBe(0);
  });

  it("answers an old duplicate (PAWS) and an ACK of data never sent with an ACK, and stays", () => {
    const s = inState("TIME_WAIT");
    s.in({ seq: P1 + 1, ack: s.iss + 2, flags: F.ACK, ts: [s.ts - 1000, s.echo] });
    s.out({ flags: F.ACK, seq: s.iss + 2, ack: P1 + 1 });
    expect(s.stack.counters.pawsRejected).toBe(1);
    s.in({ seq: P1 + 1, ack: s.iss + 5000, flags: F.ACK, ts: [s.ts + 1, s.echo] });
    s.out({ flags: F.ACK, seq: s.iss + 2, ack: P1 + 1 });
    expect(s.stack.counters.ackTooNew).toBe(1);
    expect(stateOf(s)).toBe("TIME_WAIT");
  });

  it("a new SYN with a higher sequence number takes over the 4-tuple (RFC 6191)", () => {
    const s = inState("TIME_WAIT");
    s.in({ seq: P1 + 100_000, flags: F.SYN, mss: 1460, ts: [s.ts + 10, 0] });
    s.out({ flags: F.SYN | F.ACK, ack: P1 + 100_001 });
    expect(s.stack.counters.timeWaitReused).toBe(1);
  });
});

describe("RFC 5961 and PAWS", () => {
  it("a SYN on an established connection gets a challenge ACK, the connection lives", () => {
    const s = inState("ESTABLISHED");
    s.in({ seq: P1 + 10, flags: F.SYN, mss: 1460 });
    s.out({ flags: F.ACK, seq: s.iss + 1, ack: P1 });
    expect(stateOf(s)).toBe("ESTABLISHED");
    expect(s.stack.counters.challengeAcks).toBe(1);
  });

  it("challenge ACKs are rate-limited per second, counted", () => {
    const s = inState("ESTABLISHED", { challengeAckLimit: 2 });
    for (let i = 0; i < 3; i++) s.in({ seq: P1 + 100 + i, flags: F.RST });
    s.out(); s.out(); s.none();
    expect(s.stack.counters.challengeAckLimited).toBe(1);
    s.tick(1000);
    s.in({ seq: P1 + 100, flags: F.RST });
    s.out({ flags: F.ACK });
  });

  it("an ACK for data never sent is answered with an ACK and dropped", () => {
    const s = inState("ESTABLISHED");
    s.in({ seq: P1, ack: s.iss + 1 + 5000, flags: F.ACK, data: "x" });
    s.out({ flags: F.ACK, ack: P1 });
    expect(s.got.length).toBe(0);
    expect(s.stack.counters.ackTooNew).toBe(1);
  });

  it("PAWS rejects an old duplicate by its timestamp and ACKs", () => {
    const s = inState("ESTABLISHED");
    s.data(0, 100, { ts: [s.ts, s.echo] });
    s.tick(40); s.out({ flags: F.ACK, ack: P1 + 100 });
    // An old duplicate of later bytes, from an earlier incarnation: tsVal older than ts.recent.
    s.data(100, 100, { ts: [s.ts - 1000, s.echo] });
    s.out({ flags: F.ACK, ack: P1 + 100 });
    expect(s.got.length).toBe(100);
    expect(s.stack.counters.pawsRejected).toBe(1);
    s.data(100, 100, { ts: [s.ts + 1, s.echo] });
    expect(s.got.length).toBe(200);
  });
});
