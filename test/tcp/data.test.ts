// Scripted data transfer: delayed and quick ACKs, retransmission after a
// lost segment and after a lost ACK, fast retransmit, SACK both ways, zero
// window and the persist timer, back-pressure on write.

import { describe, expect, it } from "vitest";
import { F } from "./harness";
import { PEER_ISN, Script } from "./script";

const MSS = 1448; // 1460 minus the timestamp option

function bytes(n: number, k = 0): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + k) & 0xff;
  return b;
}

describe("receiving", () => {
  it("delays the ACK of one segment up to 40 ms, ACKs every second segment at once", () => {
    const s = new Script();
    s.accept();
    s.data(0, 100);
    s.none();
    s.tick(39); s.none();
    s.tick(1); s.out({ flags: F.ACK, ack: PEER_ISN + 1 + 100 });
    s.data(100, 100); s.none();
    s.data(200, 100); s.out({ flags: F.ACK, ack: PEER_ISN + 1 + 300 });
    expect(s.got.length).toBe(300);
    expect(s.got.every((v, i) => v === (i & 0xff))).toBe(true);
    expect(s.stack.counters.delayedAcks).toBe(1);
  });

  it("ACKs out-of-order data at once with a SACK block, and the whole range when the hole fills", () => {
    const s = new Script();
    s.accept();
    s.data(0, 1000);
    s.data(2000, 1000); // 1000..2000 lost
    s.out({ flags: F.ACK, ack: PEER_ISN + 1 + 1000, sack: [[PEER_ISN + 1 + 2000, PEER_ISN + 1 + 3000]] });
    s.data(4000, 500);  // a second island: it is reported first (most recent)
    s.out({ flags: F.ACK, ack: PEER_ISN + 1 + 1000, sack: [[PEER_ISN + 1 + 4000, PEER_ISN + 1 + 4500], [PEER_ISN + 1 + 2000, PEER_ISN + 1 + 3000]] });
    expect(s.got.length).toBe(1000);
    s.data(1000, 1000); // fills the first hole: ACK at once
    s.out({ flags: F.ACK, ack: PEER_ISN + 1 + 3000, sack: [[PEER_ISN + 1 + 4000, PEER_ISN + 1 + 4500]] });
    expect(s.got.length).toBe(3000);
    s.data(3000, 1000);
    s.out({ flags: F.ACK, ack: PEER_ISN + 1 + 4500, sack: [] });
    expect(s.got.length).toBe(4500);
    expect(s.got.every((v, i) => v === (i & 0xff))).toBe(true);
  });

  it("after a lost ACK, a retransmitted segment is ACKed again and delivered once", () => {
    const s = new Script();
    s.accept();
    s.data(0, 500); s.data(500, 500);
    s.out({ flags: F.ACK, ack: PEER_ISN + 1 + 1000 }); // this ACK is "lost"
    s.data(0, 500); // the peer's RTO fires: same bytes again
    s.out({ flags: F.ACK, ack: PEER_ISN + 1 + 1000 });
    expect(s.got.length).toBe(1000);
  });

  it("trims a segment overlapping delivered data and keeps the new part", () => {
    const s = new Script();
    s.accept();
    s.data(0, 600);
    s.data(300, 600);
    expect(s.got.length).toBe(900);
    expect(s.got.every((v, i) => v === (i & 0xff))).toBe(true);
  });

  it("closes the window when the application stops reading, probes are answered, pull() reopens it", () => {
    const s = new Script({ rcvBufInitial: 4096, rcvBufMax: 4096 });
    s.accept();
    s.take = () => 0; // the application takes nothing
    s.data(0, 2048); s.data(2048, 2048);
    const a = s.out({ flags: F.ACK, ack: PEER_ISN + 1 + 4096 });
    expect(a.wnd).toBe(0);
    // More data is beyond the window: dropped, ACKed with the zero window.
    s.data(4096, 100);
    s.out({ flags: F.ACK, ack: PEER_ISN + 1 + 4096, wnd: 0 });
    // A window probe (an old sequence number) gets the same answer.
    s.in({ seq: PEER_ISN + 1 + 4095, ack: s.iss + 1, flags: F.ACK });
    s.out({ flags: F.ACK, ack: PEER_ISN + 1 + 4096, wnd: 0 });
    s.take = undefined;
    s.conn!.pull();
    s.stack.flush();
    const u = s.out({ flags: F.ACK, ack: PEER_ISN + 1 + 4096 });
    expect(u.wnd << 7).toBe(4096);
    expect(s.got.length).toBe(4096);
  });
});

describe("sending", () => {
  it("retransmits a lost segment after the RTO and backs off", () => {
    const s = new Script();
    const c = s.accept();
    expect(c.write(bytes(1000))).toBe(1000);
    s.stack.flush();
    s.out({ flags: F.ACK | F.PSH, seq: s.iss + 1, data: 1000 });
    // The handshake's RTT sample was 0 ms: RTO is the 200 ms floor, then doubles.
    s.tick(199); s.none();
    s.tick(1); s.out({ flags: F.ACK | F.PSH, seq: s.iss + 1, data: 1000 });
    s.tick(399); s.none();
    s.tick(1); s.out({ flags: F.ACK | F.PSH, seq: s.iss + 1, data: 1000 });
    expect(s.stack.counters.rtoExpired).toBe(2);
    s.ackData(1000);
    s.tick(10_000); s.none();
  });

  it("computes RTO from timestamps with a 200 ms floor", () => {
    const s = new Script();
    const c = s.accept();
    c.write(bytes(100)); s.stack.flush();
    const d = s.out({ data: 100 });
    s.tick(10);
    s.ackData(100, { ts: [s.ts, d.tsVal] });
    expect(c.rto.srtt).toBe(10);
    expect(c.rto.rto).toBe(200); // 10 + 4 * 5 = 30, floored at 200
    c.write(bytes(100)); s.stack.flush(); s.out({ data: 100 });
    s.tick(199); s.none();
    s.tick(1); s.out({ data: 100 });
  });

  it("fast-retransmits on the third duplicate ACK (NewReno, no SACK)", () => {
    const s = new Script({ sack: false });
    const c = s.accept();
    c.write(bytes(6 * MSS)); s.stack.flush();
    for (let i = 0; i < 6; i++) s.out({ seq: s.iss + 1 + i * MSS, data: MSS });
    s.ackData(MSS); // first segment arrives; the second is lost
    s.ackData(MSS); s.ackData(MSS); s.none();
    s.ackData(MSS); // third duplicate
    s.out({ seq: s.iss + 1 + MSS, data: MSS });
    expect(s.stack.counters.fastRetrans).toBe(1);
    expect(c.recovering).toBe(true);
    // Partial ACK (segment 2 and 3 now held, 4 lost too): retransmit 4 at once.
    s.ackData(3 * MSS);
    s.out({ seq: s.iss + 1 + 3 * MSS, data: MSS });
    s.ackData(6 * MSS);
    expect(c.recovering).toBe(false);
  });

  it("uses SACK blocks: retransmits only the holes (RFC 6675)", () => {
    const s = new Script();
    const c = s.accept();
    c.write(bytes(8 * MSS)); s.stack.flush();
    for (let i = 0; i < 8; i++) s.out({ seq: s.iss + 1 + i * MSS, data: MSS });
    const at = (k: number): number => s.iss + 1 + k * MSS;
    // Segments 1 and 4 are lost; the peer SACKs 2-3 and 5-7 with duplicate ACKs of segment 0.
    s.ackData(MSS);
    s.ackData(MSS, { sack: [[at(2), at(4)]] });
    s.none(); // 2 segments SACKed above the hole: not yet lost (DupThresh)
    s.ackData(MSS, { sack: [[at(5), at(8)], [at(2), at(4)]] });
    // Recovery: the first hole, then the second (lost: more than 2 MSS SACKed above it).
    s.out({ seq: at(1), data: MSS });
    s.out({ seq: at(4), data: MSS });
    s.none(); // segments 2, 3, 5, 6, 7 are not sent again
    expect(s.stack.counters.sackBlocksIn).toBe(3);
    s.ackData(8 * MSS);
    expect(c.recovering).toBe(false);
    expect(s.stack.counters.retransSegs).toBe(2);
  });

  it("sends one new segment on each of the first two duplicate ACKs (limited transmit, RFC 3042)", () => {
    const s = new Script({ sack: false });
    const c = s.accept();
    const at = (k: number): number => s.iss + 1 + k * MSS;
    c.write(bytes(40 * MSS)); s.stack.flush();
    const flight = c.cwnd / MSS;
    for (let i = 0; i < flight; i++) s.out({ seq: at(i), data: MSS });
    s.none();
    s.ackData(0);                 // a duplicate of the handshake's ACK: segment 0 is missing
    s.out({ seq: at(flight), data: MSS });
    s.none();                     // one new segment per duplicate, not more
    s.ackData(0);
    s.out({ seq: at(flight + 1), data: MSS });
    s.none();
    s.ackData(0);                 // the third: fast retransmit
    s.out({ seq: at(0), data: MSS });
    expect(c.recovering).toBe(true);
  });

  it("resends a retransmission that was lost too, without waiting for the RTO", () => {
    const s = new Script();
    const c = s.accept();
    const at = (k: number): number => s.iss + 1 + k * MSS;
    const sent = (): number[] => s.dataSegments(MSS);
    c.write(bytes(40 * MSS)); s.stack.flush();
    const flight = c.cwnd / MSS;
    expect(sent()).toHaveLength(flight);
    // Segment 0 is lost: SACKs of what follows start recovery, which resends it.
    for (let k = 2; k <= 4; k++) s.ackData(0, { sack: [[at(1), at(k)]] });
    expect(sent()).toContain(0);
    expect(c.recovering).toBe(true);
    // What was in flight arrives; the window lets new data out.
    s.ackData(0, { sack: [[at(1), at(flight + 2)]] });
    const next = sent();
    expect(next.length).toBeGreaterThan(2);
    expect(next).not.toContain(0);
    expect(s.stack.counters.lostRetransmits).toBe(0);
    // That new data is SACKed, segment 0 still is not: its copy was lost as well.
    s.ackData(0, { sack: [[at(1), at(Math.max(...next) + 1)]] });
    expect(sent()).toContain(0);
    expect(s.stack.counters.lostRetransmits).toBe(1);
    expect(s.stack.counters.rtoExpired).toBe(0);
  });

  it.each([0x10, 0x7fffff00, 0x80000100, 0xfffff000])("fast-retransmits whatever the ISN (%i): no recovery point before the first recovery", (isn) => {
    const s = new Script({ sack: false });
    s.stack.isn.isn = () => isn;
    const c = s.accept();
    expect(s.iss).toBe(isn);
    c.write(bytes(6 * MSS)); s.stack.flush();
    for (let i = 0; i < 6; i++) s.out({ data: MSS });
    s.ackData(MSS); s.ackData(MSS); s.ackData(MSS); s.ackData(MSS);   // three duplicates
    s.out({ seq: (isn + 1 + MSS) >>> 0, data: MSS });
    expect(c.recovering).toBe(true);
  });

  it("counts an ACK with new SACK blocks as a duplicate though the window grew (RFC 6675 2)", () => {
    const s = new Script();
    const c = s.accept();
    const at = (k: number): number => (s.iss + 1 + k * MSS) >>> 0;
    c.write(bytes(8 * MSS)); s.stack.flush();
    for (let i = 0; i < 8; i++) s.out({ data: MSS });
    // Segment 0 lost; a receiver growing its buffer advertises more with each ACK.
    for (let k = 2; k <= 4; k++) s.ackData(0, { sack: [[at(1), at(k)]], wnd: 1000 + k });
    expect(c.recovering).toBe(true);
    expect(s.stack.counters.fastRetrans).toBe(1);
  });

  it("with SACK, starts a new recovery for a segment lost at the last one's recovery point", () => {
    const s = new Script();
    const c = s.accept();
    const at = (k: number): number => (s.iss + 1 + k * MSS) >>> 0;
    c.write(bytes(60 * MSS)); s.stack.flush();
    const drain = (): number[] => s.dataSegments(MSS);
    const flight = drain().length;
    // Segment 0 lost: recovery, with `recover` at the end of the first flight.
    for (let k = 2; k <= 4; k++) s.ackData(0, { sack: [[at(1), at(k)]] });
    expect(c.recovering).toBe(true);
    const recover = (c.recover - at(0)) / MSS;
    expect(recover).toBe(flight + 2);   // the first flight and two limited-transmit segments
    drain();
    s.ackData(recover * MSS);           // everything up to the recovery point: recovery ends
    expect(c.recovering).toBe(false);
    drain();
    // The first segment sent in recovery (at the recovery point) was lost too.
    for (let k = 2; k <= 4; k++) s.ackData(recover * MSS, { sack: [[at(recover + 1), at(recover + k)]] });
    expect(c.recovering).toBe(true);
    expect(drain()).toContain(recover);
    expect(s.stack.counters.fastRetrans).toBe(2);
    expect(s.stack.counters.rtoExpired).toBe(0);
  });

  it("probes a silent flight's tail after 2 SRTT instead of waiting for the RTO (TLP, RFC 8985)", () => {
    const s = new Script();
    const c = s.accept();
    const at = (k: number): number => (s.iss + 1 + k * MSS) >>> 0;
    c.write(bytes(4 * MSS)); s.stack.flush();
    for (let i = 0; i < 4; i++) s.out({ seq: at(i), data: MSS });
    s.tick(1);
    s.ackData(4 * MSS);             // an RTT of 1 ms (the handshake's was 0)
    c.write(bytes(3 * MSS)); s.stack.flush();
    for (let i = 4; i < 7; i++) s.out({ seq: at(i), data: MSS });
    // The ACK for this flight is lost. 2 SRTT (+2 ms) later: the last segment again.
    s.tick(3); s.none();
    s.tick(1); s.out({ seq: at(6), data: MSS });
    expect(s.stack.counters.tailLossProbes).toBe(1);
    s.tick(50); s.none();           // one probe an episode; the RTO is next
    s.ackData(7 * MSS);
    expect(s.stack.counters.rtoExpired).toBe(0);
    expect(c.recovering).toBe(false);
  });

  it("stops at a zero window, probes on the persist timer, resumes when the window opens", () => {
    const s = new Script();
    const c = s.accept();
    c.write(bytes(3000)); s.stack.flush();
    s.out({ data: MSS }); s.out({ data: MSS }); s.out({ data: 3000 - 2 * MSS });
    s.ackData(3000, { wnd: 0 });
    c.write(bytes(500)); s.stack.flush();
    s.none(); // window closed
    // The persist timer fires after one RTO (200 ms): a probe below snd.una, no data.
    s.tick(199); s.none();
    s.tick(1); s.out({ flags: F.ACK, seq: s.iss + 1 + 3000 - 1, data: 0 });
    s.ackData(3000, { wnd: 0 });
    s.tick(399); s.none();
    s.tick(1); s.out({ flags: F.ACK, seq: s.iss + 1 + 2999, data: 0 }); // backed off to 400 ms
    expect(s.stack.counters.persistProbes).toBe(2);
    s.ackData(3000, { wnd: 100 }); // opens (scaled by 128)
    s.out({ seq: s.iss + 1 + 3000, data: 500 });
  });

  it("avoids silly windows: waits for a useful window rather than send a sliver", () => {
    const s = new Script();
    const c = s.accept();
    s.ackData(0, { wnd: 16 }); // 16 << 7 = 2048 bytes of window
    c.write(bytes(5000)); s.stack.flush();
    // 600 bytes of window are left after one segment: less than an MSS and
    // than half the largest window seen (8 MiB at the handshake): wait.
    s.out({ data: MSS }); s.none();
    s.ackData(MSS, { wnd: 16 }); // the window slides: a full segment fits again
    s.out({ seq: s.iss + 1 + MSS, data: MSS }); s.none();
  });

  it("write() takes what fits and says writable when room frees (back-pressure)", () => {
    const s = new Script({ sndBufInitial: 4096, sndBufMax: 4096 });
    const c = s.accept();
    expect(c.write(bytes(10_000))).toBe(4096);
    expect(c.counters.writeShort).toBe(1);
    s.stack.flush();
    s.out(); s.out(); s.out();
    s.ackData(2048);
    expect(s.events).toContain("writable");
    expect(c.write(bytes(10_000))).toBe(2048);
  });

  it("keeps data when the link has no buffer and sends it at the next flush", () => {
    const s = new Script();
    const c = s.accept();
    s.cap.budget = 1;
    c.write(bytes(3 * MSS)); s.stack.flush();
    s.out({ seq: s.iss + 1, data: MSS }); s.none();
    expect(s.stack.counters.noBuffer).toBe(1);
    s.cap.budget = null;
    s.stack.flush();
    s.out({ seq: s.iss + 1 + MSS, data: MSS }); s.out({ seq: s.iss + 1 + 2 * MSS, data: MSS });
  });
});
