// Scripted handshakes both ways, IPv4 and IPv6, with the options Linux offers.

import { describe, expect, it } from "vitest";
import { F } from "./harness";
import { PEER_ISN, Script } from "./script";

describe("three-way handshake", () => {
  for (const v6 of [false, true]) {
    it(`passive open answers SYN with SYN-ACK and options, then accepts (${v6 ? "IPv6" : "IPv4"})`, () => {
      const s = new Script({}, v6);
      s.stack.listen(8080, s.handlers);
      // in:  SYN seq P, mss 1460, sackOK, TS val 100, wscale 7
      s.in({ seq: PEER_ISN, flags: F.SYN, mss: 1460, sackOk: true, wscale: 7, ts: [100, 0] });
      // out: SYN-ACK ack P+1, mss (MTU - headers), sackOK, TS ecr 100, wscale 7
      const sa = s.out({ flags: F.SYN | F.ACK, ack: PEER_ISN + 1, mss: v6 ? 1440 : 1460, sackOk: true, hasTs: true, tsEcr: 100, wscale: 7, srcPort: 8080, dstPort: 40000 });
      expect(sa.v6).toBe(v6);
      s.none();
      expect(s.events).toEqual([]);
      // in:  ACK of the SYN-ACK -> established, nothing out
      s.in({ seq: PEER_ISN + 1, ack: sa.seq + 1, flags: F.ACK, ts: [101, sa.tsVal] });
      s.none();
      expect(s.events).toEqual(["accepted"]);
      expect(s.conn!.stateName).toBe("ESTABLISHED");
      expect(s.conn!.mss).toBe((v6 ? 1440 : 1460) - 12); // timestamps take 12 bytes of each segment
      expect(s.stack.counters.passiveOpens).toBe(1);
    });
  }

  it("active open sends SYN with options, ACKs the SYN-ACK and reports connected", () => {
    const s = new Script();
    const c = s.stack.connect("10.0.0.9", 40000, s.handlers, 8080)!;
    s.stack.flush();
    const syn = s.out({ flags: F.SYN, mss: 1460, sackOk: true, hasTs: true, tsEcr: 0, wscale: 7, srcPort: 8080, dstPort: 40000 });
    expect(c.stateName).toBe("SYN_SENT");
    s.in({ seq: PEER_ISN, ack: syn.seq + 1, flags: F.SYN | F.ACK, mss: 1000, sackOk: true, wscale: 2, ts: [500, syn.tsVal] });
    s.out({ flags: F.ACK, seq: syn.seq + 1, ack: PEER_ISN + 1, tsEcr: 500 });
    expect(s.events).toEqual(["connected"]);
    expect(c.mss).toBe(1000 - 12); // the smaller MSS wins
    expect(c.sndShift).toBe(2);
  });

  it("handshake without options falls back to 536-byte MSS, no SACK, no timestamps, no scaling", () => {
    const s = new Script();
    s.stack.listen(8080, s.handlers);
    s.in({ seq: PEER_ISN, flags: F.SYN, ts: false });
    const sa = s.out({ flags: F.SYN | F.ACK, hasTs: false, sackOk: false, wscale: -1 });
    s.in({ seq: PEER_ISN + 1, ack: sa.seq + 1, flags: F.ACK, ts: false });
    expect(s.conn!.mss).toBe(536);
    expect(s.conn!.sackOk).toBe(false);
    expect(s.conn!.sndShift).toBe(0);
  });

  it("retransmits a lost SYN after the initial RTO (1 s), then backs off to 2 s", () => {
    const s = new Script();
    s.stack.connect("10.0.0.9", 40000, s.handlers, 8080);
    s.stack.flush();
    const syn = s.out({ flags: F.SYN });
    s.tick(999); s.none();
    s.tick(1); s.out({ flags: F.SYN, seq: syn.seq });
    s.tick(1999); s.none();
    s.tick(1); s.out({ flags: F.SYN, seq: syn.seq });
  });

  it("resends the SYN-ACK when the peer's SYN comes again (our SYN-ACK was lost)", () => {
    const s = new Script();
    s.stack.listen(8080, s.handlers);
    s.in({ seq: PEER_ISN, flags: F.SYN, mss: 1460, ts: [100, 0] });
    const sa = s.out({ flags: F.SYN | F.ACK });
    s.in({ seq: PEER_ISN, flags: F.SYN, mss: 1460, ts: [1100, 0] });
    s.out({ flags: F.SYN | F.ACK, seq: sa.seq, ack: PEER_ISN + 1 });
  });

  it("simultaneous open goes SYN_SENT -> SYN_RECEIVED -> ESTABLISHED", () => {
    const s = new Script();
    const c = s.stack.connect("10.0.0.9", 40000, s.handlers, 8080)!;
    s.stack.flush();
    const syn = s.out({ flags: F.SYN });
    s.in({ seq: PEER_ISN, flags: F.SYN, mss: 1460, sackOk: true, wscale: 7, ts: [100, 0] });
    expect(c.stateName).toBe("SYN_RECEIVED");
    s.out({ flags: F.SYN | F.ACK, seq: syn.seq, ack: PEER_ISN + 1 });
    s.in({ seq: PEER_ISN + 1, ack: syn.seq + 1, flags: F.ACK });
    expect(c.stateName).toBe("ESTABLISHED");
  });

  it("a full backlog drops further SYNs and counts them", () => {
    const s = new Script();
    const l = s.stack.listen(8080, {}, 2); // no accepted handler: connections queue for accept()
    for (let i = 0; i < 3; i++) {
      const p = new (s.peer.constructor as typeof import("./harness").Peer)(false, "10.0.0.9", 40000 + i, "10.0.0.1", 8080);
      const b = p.build({ seq: PEER_ISN, flags: F.SYN, mss: 1460 });
      s.stack.input(b, 0, b.length);
    }
    s.stack.flush();
    expect(s.cap.take().length).toBe(2);
    expect(l.overflow).toBe(1);
    expect(s.stack.counters.listenOverflow).toBe(1);
    expect(l.halfOpen).toBe(2);
  });

  it("answers a segment for no connection with RST", () => {
    const s = new Script();
    s.in({ seq: 5000, flags: F.SYN, ts: false });
    s.out({ flags: F.RST | F.ACK, seq: 0, ack: 5001 });
    s.in({ seq: 5000, ack: 777, flags: F.ACK, ts: false });
    s.out({ flags: F.RST, seq: 777 });
    s.in({ seq: 5000, flags: F.RST, ts: false });
    s.none();
    expect(s.stack.counters.noConnection).toBe(3);
  });

  it("drops a segment with a bad checksum, counted", () => {
    const s = new Script();
    s.stack.listen(8080, s.handlers);
    s.in({ seq: PEER_ISN, flags: F.SYN, badChecksum: true });
    s.none();
    expect(s.stack.counters.badChecksum).toBe(1);
  });
});
