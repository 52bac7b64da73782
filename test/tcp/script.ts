// packetdrill-style scripts: packets in from a peer, packets expected out of
// the stack, time moved by hand. Sequence numbers are the real ones: the
// stack's ISN is read from its first SYN or SYN-ACK.

import { expect } from "vitest";
import { Capture, Clock, F, Peer, flagsStr, makeStack, parse, type PeerSeg, type Seg } from "./harness";
import type { TcpStack, TcpOptions } from "../../sdk/tcp/stack";
import type { TcpConn } from "../../sdk/tcp/conn";
import type { TcpHandlers } from "../../sdk/tcp/state";

export const PEER_ISN = 1_000_000;

export class Script {
  readonly clock = new Clock();
  readonly cap = new Capture();
  readonly stack: TcpStack;
  readonly peer: Peer;
  /** Bytes the application received, and events in order. */
  readonly got: number[] = [];
  readonly events: string[] = [];
  conn: TcpConn | null = null;
  iss = 0;
  /** Peer timestamp clock. */
  ts = 100;
  /** The stack's latest tsVal, for the peer's echo. */
  echo = 0;
  /** What the data handler returns (undefined = all). */
  take: ((len: number) => number) | undefined = undefined;
  readonly handlers: TcpHandlers;

  constructor(opts: Partial<TcpOptions> = {}, readonly v6 = false) {
    this.stack = makeStack(this.clock, this.cap, opts);
    this.peer = v6 ? new Peer(true, "fd00::9", 40000, "fd00::1", 8080) : new Peer(false, "10.0.0.9", 40000, "10.0.0.1", 8080);
    this.handlers = {
      accepted: (c) => { this.conn = c; this.events.push("accepted"); },
      connected: (c) => { this.conn = c; this.events.push("connected"); },
      data: (_c, b, off, len) => {
        const n = this.take ? this.take(len) : len;
        for (let i = 0; i < n; i++) this.got.push(b[off + i]);
        return n;
      },
      writable: () => { this.events.push("writable"); },
      end: () => { this.events.push("end"); },
      closed: () => { this.events.push("closed"); },
      reset: (_c, why) => { this.events.push(`reset:${why}`); },
    };
  }

  /** A packet from the peer (timestamps added unless ts: false). */
  in(p: Omit<PeerSeg, "ts"> & { ts?: [number, number] | false }): void {
    const seg: PeerSeg = { ...p, ts: p.ts === false ? undefined : (p.ts ?? [this.ts, this.echo]) };
    const b = this.peer.build(seg);
    this.stack.input(b, 0, b.length);
    this.stack.flush();
  }

  /** The next packet out; its fields checked against want. */
  out(want: Partial<Omit<Seg, "data">> & { data?: number | string } = {}): Seg {
    const p = this.cap.packets.shift();
    if (p === undefined) throw new Error(`expected a packet out (${JSON.stringify(want)}), got none`);
    const s = parse(p);
    if (s.hasTs) this.echo = s.tsVal;
    if (want.flags !== undefined) expect(flagsStr(s.flags)).toBe(flagsStr(want.flags));
    for (const k of ["seq", "ack", "wnd", "mss", "wscale", "sackOk", "hasTs", "tsEcr", "srcPort", "dstPort"] as const) {
      if (want[k] !== undefined) expect(s[k], k).toBe(want[k]);
    }
    if (want.sack !== undefined) expect(s.sack).toEqual(want.sack);
    if (typeof want.data === "number") expect(s.data.length, "payload length").toBe(want.data);
    if (typeof want.data === "string") expect(new TextDecoder().decode(s.data)).toBe(want.data);
    return s;
  }

  /** Every packet out now, taken: the data segments' numbers, counting
   *  `mss`-sized segments from the first data byte. */
  dataSegments(mss: number): number[] {
    const got: number[] = [];
    for (let p; (p = this.cap.packets.shift()) !== undefined; ) {
      const seg = parse(p);
      if (seg.hasTs) this.echo = seg.tsVal;
      if (seg.data.length) got.push(((seg.seq - this.iss - 1) >>> 0) / mss);
    }
    return got;
  }

  none(): void {
    const p = this.cap.packets.shift();
    if (p !== undefined) { const s = parse(p); throw new Error(`expected no packet, got ${flagsStr(s.flags)} seq ${s.seq} ack ${s.ack} len ${s.data.length}`); }
  }

  /** Move time and run the timers. */
  tick(ms: number): void { this.clock.advance(ms); this.ts += ms; this.stack.poll(); }

  /** Passive open through the three-way handshake. */
  accept(backlog = 16): TcpConn {
    this.stack.listen(8080, this.handlers, backlog);
    this.in({ seq: PEER_ISN, flags: F.SYN, mss: 1460, sackOk: true, wscale: 7, ts: [this.ts, 0] });
    const sa = this.out({ flags: F.SYN | F.ACK, ack: PEER_ISN + 1 });
    this.iss = sa.seq;
    this.in({ seq: PEER_ISN + 1, ack: this.iss + 1, flags: F.ACK });
    this.none();
    expect(this.events).toContain("accepted");
    return this.conn!;
  }

  /** Peer data at offset `at` (bytes after the SYN). */
  data(at: number, len: number, extra: Partial<PeerSeg> = {}): void {
    const d = new Uint8Array(len);
    for (let i = 0; i < len; i++) d[i] = (at + i) & 0xff;
    this.in({ seq: PEER_ISN + 1 + at, ack: this.iss + 1, flags: F.ACK, data: d, ...extra });
  }

  /** The peer ACKs `n` bytes of the stack's data. */
  ackData(n: number, extra: Partial<PeerSeg> = {}): void {
    this.in({ seq: PEER_ISN + 1, ack: this.iss + 1 + n, flags: F.ACK, ...extra });
  }
}
