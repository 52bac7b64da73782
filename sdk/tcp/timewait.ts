// TIME_WAIT without the connection, as Linux's inet_timewait_sock: for
// 2 MSL a closed connection only has to answer late segments (ACK a
// retransmitted FIN, challenge an in-window RST or SYN, reject old
// duplicates by PAWS) and keep its 4-tuple from a new incarnation that
// RFC 6191 would not allow. That needs the 4-tuple, both sequence numbers,
// the window last offered and the timestamp state, kept here in typed
// arrays: a whole TcpConn kept for 2 MSL outlived the young generation,
// and at tens of thousands of closes a second most of the core's time went
// to the garbage collector.
//
// Entries expire in the order they came in (2 MSL is the same for all);
// one whose time was restarted by a retransmitted FIN goes to the back of
// the line when it reaches the front.

import { PAWS_IDLE_MS, type TcpConn } from "./conn";
import type { Segment } from "./segment";
import type { TcpStack } from "./stack";
import { ACK, FIN, RST, SYN } from "./segment";
import { seqDiff, seqGt, seqLe, seqLt } from "./seq";

const V6 = 1, TS_OK = 2;

export class TimeWaits {
  /** Entries now. */
  count = 0;
  /** Entry slots (live, or ended but still in the line). */
  private cap = 0;
  // Per entry.
  private hash = new Int32Array(0);
  private next = new Int32Array(0);     // bucket chain, -1 ends it
  private addr = new Uint32Array(0);    // laddr[4], raddr[4]
  private ports = new Int32Array(0);    // lport << 16 | rport
  private flags = new Int32Array(0);    // V6, TS_OK, rcvShift << 8
  private sndNxt = new Uint32Array(0);
  private rcvNxt = new Uint32Array(0);
  private rcvAdv = new Uint32Array(0);
  private maxSndWnd = new Uint32Array(0);
  private lastAckSent = new Uint32Array(0);
  private tsRecent = new Uint32Array(0);
  private tsOffset = new Uint32Array(0);
  private tsRecentAt = new Float64Array(0);
  private expiry = new Float64Array(0);  // -1: ended, waiting to leave the line
  private queued = new Float64Array(0);  // the expiry it has in the line
  private buckets = new Int32Array(0);
  /** Slots out of the line (an ended entry's slot is only free once the
   *  line has passed it, so no stale place in the line names a new entry). */
  private free: number[] = [];
  // The line: every slot not free, oldest first, a ring of `cap`.
  private line = new Int32Array(0);
  private head = 0;
  private lineLength = 0;
  private readonly laddr = new Uint32Array(4);
  private readonly raddr = new Uint32Array(4);

  constructor(private readonly stack: TcpStack) {
    this.grow(256);
  }

  /** Takes over a connection entering TIME_WAIT, until now + 2 MSL. */
  add(c: TcpConn, hash: number, until: number): void {
    if (this.free.length === 0) this.grow(this.cap * 2);
    const i = this.free.pop()!;
    this.hash[i] = hash;
    this.addr.set(c.laddr, i * 8); this.addr.set(c.raddr, i * 8 + 4);
    this.ports[i] = (c.lport << 16) | c.rport;
    this.flags[i] = (c.v6 ? V6 : 0) | (c.tsOk ? TS_OK : 0) | (c.rcvShift << 8);
    this.sndNxt[i] = c.sndNxt; this.rcvNxt[i] = c.rcvNxt; this.rcvAdv[i] = c.rcvAdv;
    this.maxSndWnd[i] = c.maxSndWnd; this.lastAckSent[i] = c.lastAckSent;
    this.tsRecent[i] = c.tsRecent; this.tsRecentAt[i] = c.tsRecentAt; this.tsOffset[i] = c.tsOffset;
    this.expiry[i] = this.queued[i] = until;
    const b = hash & (this.buckets.length - 1);
    this.next[i] = this.buckets[b]; this.buckets[b] = i;
    this.line[(this.head + this.lineLength++) % this.cap] = i;
    this.count++;
  }

  /** The entry of a 4-tuple, or -1. */
  find(hash: number, raddr: Uint32Array, rport: number, lport: number, laddr: Uint32Array): number {
    const a = this.addr, ports = (lport << 16) | rport;
    for (let i = this.buckets[hash & (this.buckets.length - 1)]; i >= 0; i = this.next[i]) {
      const o = i * 8;
      if (this.ports[i] === ports && a[o + 4] === raddr[0] && a[o] === laddr[0] && a[o + 5] === raddr[1] && a[o + 6] === raddr[2]
        && a[o + 7] === raddr[3] && a[o + 1] === laddr[1] && a[o + 2] === laddr[2] && a[o + 3] === laddr[3]) return i;
    }
    return -1;
  }

  /** RFC 6191: a SYN may open a new incarnation when its sequence number
   *  (or timestamp) is past the old one's. */
  mayReuse(i: number, s: Segment): boolean {
    return seqGt(s.seq, this.rcvNxt[i]) || ((this.flags[i] & TS_OK) !== 0 && s.hasTs && seqGt(s.tsVal, this.tsRecent[i]));
  }

  /** A segment for entry i (RFC 9293 3.10.7.4 in TIME-WAIT, with RFC 5961 and 7323). */
  input(i: number, s: Segment): void {
    const st = this.stack, now = st.now, flags = s.flags, tsOk = (this.flags[i] & TS_OK) !== 0;
    if (tsOk && s.hasTs && (flags & RST) === 0 && this.tsRecentAt[i] >= 0
      && seqLt(s.tsVal, this.tsRecent[i]) && now - this.tsRecentAt[i] < PAWS_IDLE_MS) {
      st.counters.pawsRejected++;
      this.ack(i);
      return;
    }
    const nxt = this.rcvNxt[i], len = s.seqLen, wnd = Math.max(0, seqDiff(this.rcvAdv[i], nxt));
    const end = (nxt + wnd) >>> 0, last = (s.seq + len - 1) >>> 0;
    const ok = len === 0 ? (wnd === 0 ? s.seq === nxt : seqLe(nxt, s.seq) && seqLt(s.seq, end))
      : wnd !== 0 && ((seqLe(nxt, s.seq) && seqLt(s.seq, end)) || (seqLe(nxt, last) && seqLt(last, end)));
    if (!ok) {
      if (flags & RST) return;
      if (flags & FIN) this.restart(i);
      st.counters.outOfWindow++;
      this.ack(i);
      return;
    }
    if (tsOk && s.hasTs && seqLe(s.seq, this.lastAckSent[i])) { this.tsRecent[i] = s.tsVal; this.tsRecentAt[i] = now; }
    if (flags & RST) {
      if (s.seq === nxt) { st.counters.resetsIn++; this.remove(i); }
      else this.challenge(i);
      return;
    }
    if (flags & SYN) { this.challenge(i); return; }
    if ((flags & ACK) === 0) return;
    const una = this.sndNxt[i];   // everything we sent was acknowledged
    if (seqGt(s.ack, una)) { st.counters.ackTooNew++; this.ack(i); return; }
    if (seqLt(s.ack, (una - this.maxSndWnd[i]) >>> 0)) { this.ack(i); return; }
    // A retransmitted FIN: ACK it again, and 2 MSL starts over.
    if (flags & FIN) { this.restart(i); this.ack(i); }
  }

  /** Takes entry i out (its port given back). */
  remove(i: number): void {
    const b = this.hash[i] & (this.buckets.length - 1);
    if (this.buckets[b] === i) this.buckets[b] = this.next[i];
    else {
      let p = this.buckets[b];
      while (this.next[p] !== i) p = this.next[p];
      this.next[p] = this.next[i];
    }
    this.expiry[i] = -1;   // its slot is freed when the line passes it
    this.count--;
    const removed = this.stack.opts.removed;
    if (removed !== undefined) removed(this.ports[i] >>> 16);
  }

  /** Ends the entries whose 2 MSL is over. */
  expire(now: number): void {
    while (this.lineLength > 0) {
      const i = this.line[this.head];
      if (this.expiry[i] !== -1 && this.queued[i] > now) return;
      this.head = (this.head + 1) % this.cap;
      this.lineLength--;
      if (this.expiry[i] === -1) this.free.push(i);
      else if (this.expiry[i] <= now) { this.remove(i); this.free.push(i); }
      else {   // restarted: to the back of the line
        this.queued[i] = this.expiry[i];
        this.line[(this.head + this.lineLength++) % this.cap] = i;
      }
    }
  }

  /** When the line's first entry is due (Infinity: none; it may be an
   *  ended one, which costs one early look). */
  nextExpiry(): number {
    return this.lineLength > 0 ? this.queued[this.line[this.head]] : Infinity;
  }

  private restart(i: number): void {
    this.expiry[i] = this.stack.now + this.stack.opts.timeWaitMs;
  }

  private challenge(i: number): void {
    const st = this.stack;
    if (st.challengeAllowed()) { st.counters.challengeAcks++; this.ack(i); }
    else st.counters.challengeAckLimited++;
  }

  /** An ACK of everything received, on the window last offered. */
  private ack(i: number): void {
    const st = this.stack, t = st.seg, f = this.flags[i], a = this.addr;
    for (let k = 0; k < 4; k++) { this.laddr[k] = a[i * 8 + k]; this.raddr[k] = a[i * 8 + 4 + k]; }
    t.v6 = (f & V6) !== 0; t.laddr = this.laddr; t.raddr = this.raddr;
    t.lport = this.ports[i] >>> 16; t.rport = this.ports[i] & 0xffff;
    const nxt = this.rcvNxt[i], ts = (f & TS_OK) !== 0;
    if (ts) { t.tsVal = (Math.floor(st.now) + this.tsOffset[i]) >>> 0; t.tsEcr = this.tsRecent[i]; }
    const wnd = Math.min(Math.max(0, seqDiff(this.rcvAdv[i], nxt)) >>> (f >>> 8), 0xffff);
    if (st.sendBare(this.sndNxt[i], nxt, ACK, wnd, ts)) this.lastAckSent[i] = nxt;
  }

  private grow(cap: number): void {
    const old = this.cap, n = <T extends Int32Array | Uint32Array | Float64Array>(a: T, per = 1): T => {
      const b = new (a.constructor as new (n: number) => T)(cap * per);
      b.set(a);
      return b;
    };
    this.hash = n(this.hash); this.next = n(this.next); this.addr = n(this.addr, 8); this.ports = n(this.ports);
    this.flags = n(this.flags); this.sndNxt = n(this.sndNxt); this.rcvNxt = n(this.rcvNxt); this.rcvAdv = n(this.rcvAdv);
    this.maxSndWnd = n(this.maxSndWnd); this.lastAckSent = n(this.lastAckSent); this.tsRecent = n(this.tsRecent);
    this.tsOffset = n(this.tsOffset); this.tsRecentAt = n(this.tsRecentAt); this.expiry = n(this.expiry); this.queued = n(this.queued);
    // The line, unrolled to start at 0.
    const line = new Int32Array(cap);
    for (let k = 0; k < this.lineLength; k++) line[k] = this.line[(this.head + k) % old];
    this.line = line; this.head = 0;
    for (let i = cap - 1; i >= old; i--) this.free.push(i);
    // Buckets: as many as entries, rebuilt.
    this.buckets = new Int32Array(cap).fill(-1);
    this.cap = cap;
    for (let k = 0; k < this.lineLength; k++) {
      const i = this.line[k];
      if (this.expiry[i] === -1) continue;
      const b = this.hash[i] & (cap - 1);
      this.next[i] = this.buckets[b]; this.buckets[b] = i;
    }
  }
}
