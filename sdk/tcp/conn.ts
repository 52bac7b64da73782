// One TCP connection: its control block, segment arrival (RFC 9293 3.10.7
// with RFC 5961 and RFC 7323 checks), what to send next, and its timers.
// Nothing here allocates per segment; output goes through the stack's
// link, time comes from the stack's clock.

import type { TcpStack } from "./stack";
import type { Segment } from "./segment";
import type { TcpHandlers } from "./state";
import { ACK, FIN, PSH, RST, SYN } from "./segment";
import { headerLength, writeSegment } from "./build";
import { SendBuf } from "./sendbuf";
import { RecvBuf } from "./recvbuf";
import { Scoreboard } from "./scoreboard";
import { Rto } from "./rto";
import { ConnCounters } from "./counters";
import { seqDiff, seqGe, seqGt, seqLe, seqLt } from "./seq";
import {
  CLOSED, CLOSE_WAIT, CLOSING, ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, LAST_ACK, STATE_NAMES,
  SYN_RECEIVED, SYN_SENT,
} from "./state";

export const PAWS_IDLE_MS = 24 * 24 * 3600 * 1000; // RFC 7323 5.5: ts.recent too old to trust

export class TcpConn {
  state = CLOSED;
  v6 = false;
  readonly laddr = new Uint32Array(4);
  readonly raddr = new Uint32Array(4);
  lport = 0;
  rport = 0;
  /** Table chaining (the stack's). */
  hash = 0;
  next: TcpConn | null = null;
  /** The listener a passive open came from, until it is accepted. */
  listener: import("./stack").TcpListener | null = null;
  handlers: TcpHandlers;
  /** The application's own per-connection value. */
  user: unknown = undefined;
  readonly counters = new ConnCounters();

  // Send side (RFC 9293 names).
  iss = 0; sndUna = 0; sndNxt = 0; sndMax = 0;
  sndWnd = 0; sndWl1 = 0; sndWl2 = 0; maxSndWnd = 0; sndShift = 0;
  /** Sequence number of the send buffer's first byte. */
  bufSeq = 0;
  finQueued = false; finSeq = 0;
  /** Payload bytes per segment, options excluded (min of both MSS). */
  mssBase = 536;
  /** Payload per full segment with the options every segment carries. */
  mss = 536;
  // Receive side.
  irs = 0; rcvNxt = 0; rcvShift = 0;
  /** Right edge of the window last advertised. */
  rcvAdv = 0;
  peerFinPending = false; peerFinSeq = 0;
  // Options agreed in the handshake.
  tsOk = false; sackOk = false;
  tsRecent = 0; tsRecentAt = -1; tsOffset = 0; lastAckSent = 0;
  // Congestion control: NewReno, and SACK recovery (RFC 6675) when agreed.
  cwnd = 0; ssthresh = 0x7fffffff; dupAcks = 0;
  recovering = false; recover = 0; highRxt = 0; caAcc = 0;
  /** In recovery: snd.max when the hole at snd.una was last retransmitted
   *  (-1: not retransmitted). Later data SACKed while snd.una stays means
   *  that retransmission was lost too (as Linux's RACK finds): resend it
   *  now rather than wait for the RTO. */
  rxtMark = -1;
  /** Retransmit the segment at snd.una at the next output (fast retransmit, partial ACK). */
  retxUna = false;
  readonly sb = new Scoreboard();
  readonly rto: Rto;
  /** Karn timing when timestamps are off: the sequence timed and when. */
  rttSeq = 0; rttAt = -1;
  // Timers (absolute ms; 0 = off).
  rtoAt = 0; delackAt = 0; persistAt = 0;
  /** Tail loss probe (RFC 8985 7): when it fires, and whether one is out
   *  since the last new ACK. A flight whose only ACK is lost (a burst the
   *  receiver ACKs once) would otherwise wait for the RTO. */
  tlpAt = 0; tlpOut = false;
  scheduledAt = 0; retries = 0; persistBackoff = 0;
  /** Where its timer entry is in the stack's heap (-1: none). */
  heapPos = -1;
  /** Send an ACK at the next output. */
  ackNow = false;
  /** Segments received since the last ACK went out (delayed ACK). */
  unacked = 0;
  /** Queued for the stack's next flush. */
  dirty = false;
  /** A write came up short: tell `writable` when room frees. */
  wantWritable = false;
  private growRefused = false;
  /** Set by the persist timer: send what the window allows, small or not. */
  private forceSend = false;
  readonly sndBuf: SendBuf;
  readonly rcvBuf: RecvBuf;

  constructor(readonly stack: TcpStack, handlers: TcpHandlers) {
    const o = stack.opts;
    this.handlers = handlers;
    this.rto = new Rto(o.initialRtoMs, o.minRtoMs, o.maxRtoMs);
    this.sndBuf = new SendBuf(stack.memory, o.sndBufInitial, o.sndBufMax);
    this.rcvBuf = new RecvBuf(stack.memory, o.rcvBufInitial, o.rcvBufMax);
  }

  get stateName(): string { return STATE_NAMES[this.state]; }
  /** Bytes written and not yet acknowledged. */
  get unsent(): number { return this.sndBuf.length; }
  /** Room a write gets now (more may come as the buffer grows). */
  get writable(): number { return this.finQueued ? 0 : this.sndBuf.free; }
  /** In-order bytes received and not yet taken by the application. */
  get buffered(): number { return this.rcvBuf.ready; }

  // ---------------------------------------------------------------- API

  /** Copy up to len bytes into the send buffer; returns how many it took.
   *  Taking less than offered is back-pressure: `writable` says when to retry. */
  write(src: Uint8Array, off = 0, len = src.length - off): number {
    const s = this.state;
    if (this.finQueued || !(s === ESTABLISHED || s === CLOSE_WAIT || s === SYN_SENT || s === SYN_RECEIVED)) return 0;
    const n = this.sndBuf.write(src, off, len);
    if (n < len) {
      this.wantWritable = true; this.counters.writeShort++;
      if (this.sndBuf.refused) this.stack.counters.memoryRefusedGrow++;
    }
    if (n > 0) this.stack.markDirty(this);
    return n;
  }

  /** No more data from this side: FIN after what was written. */
  close(): void {
    if (this.finQueued) return;
    const s = this.state;
    if (s === SYN_SENT) { this.destroy(); return; }
    if (!(s === ESTABLISHED || s === CLOSE_WAIT || s === SYN_RECEIVED)) return;
    this.finQueued = true;
    this.finSeq = (this.bufSeq + this.sndBuf.length) >>> 0;
    this.state = s === CLOSE_WAIT ? LAST_ACK : FIN_WAIT_1;
    this.stack.markDirty(this);
  }

  /** Drop the connection now, telling the peer with RST. */
  abort(): void {
    if (this.state === CLOSED) return;
    if (this.state !== SYN_SENT) this.stack.sendRst(this, this.sndNxt, 0, 0);
    this.destroy();
  }

  /** Offer buffered data to `data` again (after it took less than offered). */
  pull(): void {
    if (this.rcvBuf.ready === 0) return;
    const before = this.rcvBuf.space;
    this.deliverBuffered();
    // Window update once the window opens by a segment or half the buffer.
    const cur = Math.max(0, seqDiff(this.rcvAdv, this.rcvNxt));
    if (this.rcvBuf.space > before && this.rcvBuf.space - cur >= Math.min(this.mssBase, this.rcvBuf.cap >> 1)) {
      this.ackNow = true; this.stack.markDirty(this);
    }
  }

  // ---------------------------------------------------------- handshake

  /** Active open: state, ISN, first SYN queued. */
  openActive(now: number): void {
    const st = this.stack;
    this.iss = st.isn.isn(this.laddr, this.lport, this.raddr, this.rport, now);
    this.tsOffset = st.isn.tsOffset(this.laddr, this.lport, this.raddr, this.rport);
    this.sndUna = this.sndNxt = this.sndMax = this.recover = this.iss;   // recover: no recovery yet (RFC 6582 4.1)
    this.bufSeq = (this.iss + 1) >>> 0;
    this.mssBase = this.mss = st.localMss(this.v6);
    this.cwnd = st.opts.initialCwndSegments * this.mss;
    this.state = SYN_SENT;
    st.markDirty(this);
  }

  /** Passive open from a SYN: options taken, SYN-ACK queued. */
  openPassive(s: Segment, now: number): void {
    const st = this.stack;
    this.iss = st.isn.isn(this.laddr, this.lport, this.raddr, this.rport, now);
    this.tsOffset = st.isn.tsOffset(this.laddr, this.lport, this.raddr, this.rport);
    this.sndUna = this.sndNxt = this.sndMax = this.recover = this.iss;   // recover: no recovery yet (RFC 6582 4.1)
    this.bufSeq = (this.iss + 1) >>> 0;
    this.irs = s.seq; this.rcvNxt = (s.seq + 1) >>> 0;
    this.takeSynOptions(s);
    this.sndWnd = s.wnd; // never scaled in a SYN
    this.sndWl1 = s.seq; this.sndWl2 = this.iss;
    this.maxSndWnd = this.sndWnd;
    this.state = SYN_RECEIVED;
    st.markDirty(this);
  }

  private takeSynOptions(s: Segment): void {
    const o = this.stack.opts;
    const local = this.stack.localMss(this.v6);
    this.mssBase = Math.max(64, Math.min(local, s.mss > 0 ? s.mss : 536)); // RFC 9293 3.7.1 default 536
    this.sackOk = o.sack && s.sackOk;
    this.tsOk = o.timestamps && s.hasTs;
    if (o.windowScale && s.wscale >= 0) { this.sndShift = s.wscale; this.rcvShift = o.windowShift; }
    else { this.sndShift = 0; this.rcvShift = 0; }
    if (this.tsOk) { this.tsRecent = s.tsVal; this.tsRecentAt = this.stack.now; }
    this.mss = this.mssBase - (this.tsOk ? 12 : 0);
    this.cwnd = o.initialCwndSegments * this.mss;
  }

  // -------------------------------------------------------------- input

  input(s: Segment): void {
    const st = this.stack, now = st.now, flags = s.flags;
    this.counters.segsIn++;
    st.markDirty(this);
    if (this.state === SYN_SENT) { this.inputSynSent(s); return; }

    // PAWS (RFC 7323 5.3): an old duplicate carries an older timestamp.
    if (this.tsOk && s.hasTs && (flags & RST) === 0 && this.tsRecentAt >= 0
      && seqLt(s.tsVal, this.tsRecent) && now - this.tsRecentAt < PAWS_IDLE_MS) {
      st.counters.pawsRejected++;
      this.ackNow = true;
      return;
    }

    // 1. Is the segment in the window (RFC 9293 3.10.7.4 first)?
    const len = s.seqLen, wnd = Math.max(0, seqDiff(this.rcvAdv, this.rcvNxt));
    let ok: boolean;
    if (len === 0) ok = wnd === 0 ? s.seq === this.rcvNxt : this.inWindow(s.seq, wnd);
    else ok = wnd !== 0 && (this.inWindow(s.seq, wnd) || this.inWindow((s.seq + len - 1) >>> 0, wnd));
    // A zero window still takes ACKs and RSTs at rcv.nxt; data beyond is trimmed below.
    if (!ok && len > 0 && wnd === 0 && s.seq === this.rcvNxt) ok = true;
    if (!ok) {
      if (flags & RST) return;
      if (this.state === SYN_RECEIVED && (flags & SYN) && s.seq === this.irs) {
        this.sndNxt = this.iss; // the SYN-ACK was lost: send it again
        return;
      }
      st.counters.outOfWindow++;
      this.ackNow = true;
      return;
    }
    // Remember the peer's timestamp (RFC 7323 4.3: only for a segment at or before the last ACK we sent).
    if (this.tsOk && s.hasTs && seqLe(s.seq, this.lastAckSent)) { this.tsRecent = s.tsVal; this.tsRecentAt = now; }

    // 2. RST (RFC 5961 3.2): exact match resets, anything else in window is challenged.
    if (flags & RST) {
      if (s.seq === this.rcvNxt) this.resetByPeer();
      else this.challengeAck();
      return;
    }
    // 4. SYN in a synchronized state (RFC 5961 4.2): challenge.
    if (flags & SYN) { this.challengeAck(); return; }
    // 5. ACK.
    if ((flags & ACK) === 0) return;
    if (this.state === SYN_RECEIVED) {
      if (!(seqGt(s.ack, this.sndUna) && seqLe(s.ack, this.sndMax))) { st.sendRst(this, s.ack, 0, 0); return; }
      this.state = ESTABLISHED;
      this.sndWnd = s.wnd << this.sndShift; this.sndWl1 = s.seq; this.sndWl2 = s.ack;
      this.maxSndWnd = Math.max(this.maxSndWnd, this.sndWnd);
      st.counters.established++;
      st.established(this);
    }
    // RFC 5961 5.2: an ACK for what was never sent is answered and dropped.
    if (seqGt(s.ack, this.sndMax)) { st.counters.ackTooNew++; this.ackNow = true; return; }
    if (seqLt(s.ack, (this.sndUna - this.maxSndWnd) >>> 0)) { this.ackNow = true; return; }
    this.processAck(s);
    if (this.state === CLOSED) return;
    // 7-8. Data and FIN.
    if (s.dataLen > 0 || (flags & FIN)) this.processData(s);
  }

  private inWindow(seq: number, wnd: number): boolean {
    return seqLe(this.rcvNxt, seq) && seqLt(seq, (this.rcvNxt + wnd) >>> 0);
  }

  private inputSynSent(s: Segment): void {
    const st = this.stack, flags = s.flags;
    if (flags & ACK) {
      if (seqLe(s.ack, this.iss) || seqGt(s.ack, this.sndMax)) {
        if ((flags & RST) === 0) st.sendRst(this, s.ack, 0, 0);
        return;
      }
    }
    if (flags & RST) {
      if (flags & ACK) { this.fail("refused"); }
      return;
    }
    if ((flags & SYN) === 0) return;
    this.irs = s.seq; this.rcvNxt = (s.seq + 1) >>> 0;
    this.takeSynOptions(s);
    if (flags & ACK) {
      this.sndUna = s.ack;
      this.sndWnd = s.wnd << this.sndShift; this.sndWl1 = s.seq; this.sndWl2 = s.ack;
      this.maxSndWnd = this.sndWnd;
      if (this.tsOk && s.hasTs && s.tsEcr !== 0) this.rto.sample(this.tsNow() - s.tsEcr);
      else if (this.rttAt >= 0) this.rto.sample(st.now - this.rttAt);
      this.rttAt = -1; this.rtoAt = 0; this.retries = 0;
      this.state = ESTABLISHED;
      this.ackNow = true;
      st.counters.established++;
      const h = this.handlers;
      if (h.connected !== undefined) h.connected(this);
    } else {
      // Simultaneous open (RFC 9293 3.5): SYN-ACK from SYN_RECEIVED.
      this.sndWnd = s.wnd; this.sndWl1 = s.seq; this.maxSndWnd = this.sndWnd;
      this.state = SYN_RECEIVED;
      this.sndNxt = this.iss;
    }
  }

  private processAck(s: Segment): void {
    const st = this.stack, ack = s.ack, una = this.sndUna;
    let newSack = false;   // this ACK told the scoreboard something new
    if (this.sackOk && s.nSack > 0) {
      st.counters.sackBlocksIn += s.nSack;
      for (let i = 0; i < s.nSack; i++) if (this.sb.add(s.sack[2 * i], s.sack[2 * i + 1], ack, this.sndMax)) newSack = true;
      if (this.recovering && this.rxtMark !== -1 && ack === una && seqGt(this.sb.high(una), (this.rxtMark + 2 * this.mss) >>> 0)) {
        this.highRxt = una;   // nextLost() offers the hole at snd.una again
        this.rxtMark = -1;
        st.counters.lostRetransmits++;
      }
    }
    let finAcked = false;
    if (seqGt(ack, una)) {
      let acked = seqDiff(ack, una);
      let data = seqDiff(ack, this.bufSeq);
      if (data > this.sndBuf.length) data = this.sndBuf.length;
      if (data > 0) { this.sndBuf.consume(data); this.bufSeq = (this.bufSeq + data) >>> 0; }
      this.sndUna = ack;
      if (seqLt(this.sndNxt, ack)) this.sndNxt = ack;
      finAcked = this.finQueued && seqGt(ack, this.finSeq);
      // RTT: timestamps echo our clock; otherwise Karn's one timed segment.
      if (this.tsOk && s.hasTs && s.tsEcr !== 0) this.rto.sample(this.tsNow() - s.tsEcr);
      else if (this.rttAt >= 0 && seqGt(ack, this.rttSeq)) { this.rto.sample(st.now - this.rttAt); this.rttAt = -1; }
      else this.rto.acked();
      this.retries = 0;
      this.sb.trim(ack);
      // The hole now at snd.una was retransmitted already: watch that copy from here.
      this.rxtMark = this.recovering && seqGt(this.highRxt, ack) ? this.sndMax : -1;
      if (this.recovering) {
        if (seqGe(ack, this.recover)) { this.recovering = false; this.cwnd = this.ssthresh; }
        else if (!this.sackOk) {
          // NewReno partial ACK (RFC 6582 3.2 step 5): next hole now, deflate.
          this.retxUna = true;
          this.cwnd = Math.max(this.mss, this.cwnd - acked + this.mss);
        }
      } else if (seqDiff(this.sndMax, una) + 2 * this.mss < this.cwnd) {
        // Not limited by cwnd (the window or the application was): do not
        // grow it on credit (RFC 7661's point).
      } else if (this.cwnd < this.ssthresh) {
        // Slow start by bytes acknowledged, uncapped (as Linux): a stack that
        // takes packets in batches ACKs a whole batch at once (stretch ACKs).
        this.cwnd = Math.min(this.cwnd + acked, Math.max(this.ssthresh, this.cwnd + this.mss));
      } else {
        this.caAcc += acked;
        if (this.caAcc >= this.cwnd) { this.caAcc -= this.cwnd; this.cwnd += this.mss; }
      }
      this.dupAcks = 0;
      this.rtoAt = this.sndUna === this.sndMax ? 0 : st.now + this.rto.rto;
      this.tlpOut = false;
      this.armTlp();
      if (this.wantWritable && this.sndBuf.free > 0 && !this.finQueued) {
        this.wantWritable = false;
        const h = this.handlers;
        if (h.writable !== undefined) h.writable(this);
      }
    } else if (ack === una && s.dataLen === 0 && (s.flags & (SYN | FIN)) === 0 && this.sndMax !== una
      // A duplicate: the same window, or (RFC 6675 2) new SACK information,
      // since a receiver growing its window changes it on every ACK.
      && ((s.wnd << this.sndShift) === this.sndWnd || newSack)) {
      this.dupAcks++; this.counters.dupAcksIn++; st.counters.dupAcksIn++;
      if (!this.recovering) {
        // RFC 6582 4.1: no new recovery for duplicates of what the last one
        // covered. With SACK the scoreboard tells a new loss at `recover`
        // itself (a segment sent during the last recovery) from those, so
        // snd.una at `recover` may start one; without it, only past it.
        const fresh = (this.sackOk ? seqGe(una, this.recover) : seqGt(una, this.recover)) || this.recover === this.iss;
        if (fresh && (this.dupAcks === 3 || (this.sackOk && this.sb.isLost(una, this.mss)))) this.enterRecovery();
      } else if (!this.sackOk) this.cwnd += this.mss; // inflate per duplicate (RFC 6582)
    }
    // Window update (RFC 9293 3.10.7.4, fifth, SND.WL1/WL2 check).
    if (seqLt(this.sndWl1, s.seq) || (this.sndWl1 === s.seq && seqLe(this.sndWl2, ack))) {
      const w = s.wnd << this.sndShift;
      if (w > 0 && this.sndWnd === 0) { this.persistAt = 0; this.persistBackoff = 0; }
      this.sndWnd = w; this.sndWl1 = s.seq; this.sndWl2 = ack;
      if (w > this.maxSndWnd) this.maxSndWnd = w;
    }
    if (finAcked) {
      if (this.state === FIN_WAIT_1) this.state = FIN_WAIT_2;
      else if (this.state === CLOSING) this.enterTimeWait();
      else if (this.state === LAST_ACK) this.finish();
    }
  }

  private enterRecovery(): void {
    const st = this.stack;
    const flight = seqDiff(this.sndMax, this.sndUna);
    this.ssthresh = Math.max(flight >> 1, 2 * this.mss);
    this.recovering = true;
    this.recover = this.sndMax;
    this.highRxt = this.sndUna;
    this.cwnd = this.sackOk ? this.ssthresh : this.ssthresh + 3 * this.mss;
    this.retxUna = true;
    this.counters.recoveries++;
    st.counters.fastRetrans++;
  }

  private processData(s: Segment): void {
    const st = this.stack, state = this.state, now = st.now;
    if (!(state === ESTABLISHED || state === FIN_WAIT_1 || state === FIN_WAIT_2)) {
      if (s.flags & FIN) this.ackNow = true;   // after the peer's FIN: a retransmitted FIN is ACKed
      return;
    }
    let seq = s.seq, off = s.dataOff, len = s.dataLen;
    let fin = (s.flags & FIN) !== 0;
    const front = seqDiff(this.rcvNxt, seq);
    if (front > 0) {
      if (front > len) { this.ackNow = true; return; } // all old, FIN included
      seq = (seq + front) >>> 0; off += front; len -= front;
    }
    const rb = this.rcvBuf, rel = seqDiff(seq, this.rcvNxt);
    if (rel + len > rb.space) { len = Math.max(0, rb.space - rel); fin = false; }
    if (len === 0 && !fin) { this.ackNow = true; return; }
    const end = (seq + len) >>> 0;

    if (rel > 0) {
      // Out of order: keep it at its place, ACK at once with SACK (RFC 5681 4.2).
      if (len > 0 && !rb.holds(seq, end)) {
        if (rb.addRange(seq, end)) { rb.store(rel, s.bytes, off, len); st.counters.oooSegs++; this.counters.oooSegs++; }
        else st.counters.oooDropped++;
      }
      if (fin) { this.peerFinPending = true; this.peerFinSeq = end; }
      this.ackNow = true; st.counters.quickAcks++;
      return;
    }

    // In order.
    if (len > 0) {
      this.counters.bytesIn += len; st.counters.bytesIn += len;
      if (rb.ready === 0 && rb.nRanges === 0) {
        // The common case: hand the packet's own bytes over.
        const took = this.deliver(s.bytes, off, len);
        this.rcvNxt = end;
        if (took < len) { rb.store(0, s.bytes, off + took, len - took); rb.ready += len - took; }
      } else {
        const filled = rb.nRanges > 0;
        rb.store(0, s.bytes, off, len);
        rb.ready += len;
        this.rcvNxt = rb.joinRanges(end);
        if (filled) { this.ackNow = true; } // a hole filled: ACK now (RFC 5681 4.2)
        this.deliverBuffered();
      }
      // Autotuning: a sender pressing on the window's right edge gets a bigger one.
      if (!this.growRefused && rb.cap < rb.max && seqDiff(this.rcvAdv, this.rcvNxt) < (rb.cap >> 2)) {
        if (!rb.grow()) { this.growRefused = true; st.counters.memoryRefusedGrow++; }
      }
      this.unacked++;
      if (this.unacked >= 2) this.ackNow = true;
      else if (this.delackAt === 0) this.delackAt = now + st.opts.delayedAckMs;
    }
    if (fin) { this.peerFinPending = true; this.peerFinSeq = (seq + len) >>> 0; }
    if (this.peerFinPending && this.rcvNxt === this.peerFinSeq) this.finReceived();
  }

  private finReceived(): void {
    this.peerFinPending = false;
    this.rcvNxt = (this.rcvNxt + 1) >>> 0;
    this.ackNow = true;
    const s = this.state;
    if (s === ESTABLISHED) this.state = CLOSE_WAIT;
    else if (s === FIN_WAIT_1) {
      if (seqGt(this.sndUna, this.finSeq)) this.enterTimeWait(); else this.state = CLOSING;
    } else if (s === FIN_WAIT_2) this.enterTimeWait();
    const h = this.handlers;
    if (h.end !== undefined) h.end(this);
  }

  private deliver(b: Uint8Array, off: number, len: number): number {
    const h = this.handlers;
    if (h.data === undefined) return len;
    const r = h.data(this, b, off, len);
    if (typeof r !== "number") return len;
    return r < 0 ? 0 : r > len ? len : r | 0;
  }

  private deliverBuffered(): void {
    const rb = this.rcvBuf;
    while (rb.ready > 0) {
      const piece = rb.firstPiece;
      const took = this.deliver(rb.buf!, rb.head, piece);
      rb.consume(took);
      if (took < piece) break;
    }
  }

  private challengeAck(): void {
    const st = this.stack;
    if (st.challengeAllowed()) { st.counters.challengeAcks++; this.ackNow = true; }
    else st.counters.challengeAckLimited++;
  }

  private resetByPeer(): void {
    this.stack.counters.resetsIn++;
    const s = this.state;
    // A passive open that never completed just disappears (back to LISTEN).
    if (s === SYN_RECEIVED && this.listener !== null) { this.destroy(); return; }
    this.fail("reset");
  }

  /** Gone abnormally: tell the application, free everything. */
  private fail(why: string): void {
    const h = this.handlers;
    const wasOpen = this.state !== CLOSED;
    this.destroy();
    if (wasOpen && h.reset !== undefined) h.reset(this, why);
  }

  /** Both sides are done: the ACK of the peer's FIN goes now, and the
   *  stack keeps the 4-tuple for 2 MSL without this object (timewait.ts),
   *  which is CLOSED from here on. */
  private enterTimeWait(): void {
    this.rtoAt = 0; this.persistAt = 0; this.delackAt = 0; this.tlpAt = 0;
    this.sndBuf.release(); this.rcvBuf.release();
    if (this.ackNow) this.sendCtl(this.sndNxt, ACK, 0);
    this.stack.toTimeWait(this);
    this.state = CLOSED;
    const h = this.handlers;
    if (h.closed !== undefined) h.closed(this);
  }

  private finish(): void {
    const h = this.handlers;
    this.destroy();
    if (h.closed !== undefined) h.closed(this);
  }

  /** Remove from the stack and give the memory back. */
  destroy(): void {
    if (this.state === CLOSED) return;
    this.state = CLOSED;
    this.rtoAt = this.delackAt = this.persistAt = this.tlpAt = 0;
    this.sndBuf.release(); this.rcvBuf.release();
    this.stack.remove(this);
  }

  /** The timestamp clock for this connection (ms plus its offset). */
  tsNow(): number { return (Math.floor(this.stack.now) + this.tsOffset) >>> 0; }

  // ------------------------------------------------------------- timers

  /** Earliest armed deadline, 0 when none. */
  nextDeadline(): number {
    let t = 0;
    if (this.rtoAt > 0) t = this.rtoAt;
    if (this.delackAt > 0 && (t === 0 || this.delackAt < t)) t = this.delackAt;
    if (this.persistAt > 0 && (t === 0 || this.persistAt < t)) t = this.persistAt;
    if (this.tlpAt > 0 && (t === 0 || this.tlpAt < t)) t = this.tlpAt;
    return t;
  }

  onTimers(now: number): void {
    if (this.rtoAt > 0 && now >= this.rtoAt) { this.onRto(now); if (this.state === CLOSED) return; }
    if (this.tlpAt > 0 && now >= this.tlpAt) this.onTlp(now);
    if (this.delackAt > 0 && now >= this.delackAt) {
      this.delackAt = 0;
      if (this.unacked > 0) { this.ackNow = true; this.stack.counters.delayedAcks++; }
    }
    if (this.persistAt > 0 && now >= this.persistAt) this.onPersist(now);
    this.stack.markDirty(this);
  }

  /** Arms the probe: 2 SRTT after the last send or new ACK (plus a delayed
   *  ACK's worth when one segment is out), if that comes before the RTO.
   *  Only with SACK, outside recovery, one probe per episode. */
  private armTlp(): void {
    this.tlpAt = 0;
    if (!this.sackOk || this.tlpOut || this.recovering || this.sndMax === this.sndUna || this.rto.samples === 0 || this.rtoAt === 0) return;
    const at = this.stack.now + 2 * this.rto.srtt + (seqDiff(this.sndMax, this.sndUna) <= this.mss ? 200 : 2);
    if (at < this.rtoAt) this.tlpAt = at;
  }

  /** The probe: a new segment if the window takes one, else the last
   *  segment again; its ACK (or SACK) tells what happened to the flight. */
  private onTlp(now: number): void {
    this.tlpAt = 0;
    if (this.sndMax === this.sndUna || this.recovering || this.state === CLOSED) return;
    const dataEnd = (this.bufSeq + this.sndBuf.length) >>> 0;
    const avail = seqDiff(dataEnd, this.sndNxt), room = seqDiff((this.sndUna + this.sndWnd) >>> 0, this.sndNxt);
    const finSent = this.finQueued && seqGt(this.sndMax, this.finSeq);
    const dataMax = finSent ? this.finSeq : this.sndMax;
    let sent = false;
    if (this.sndNxt === this.sndMax && avail > 0 && room > 0) sent = this.sendData(this.sndNxt, Math.min(this.mss, avail, room));
    else {
      const n = Math.min(this.mss, seqDiff(dataMax, this.sndUna));
      if (n > 0) sent = this.sendData((dataMax - n) >>> 0, n);
    }
    if (!sent) return;
    this.tlpOut = true;
    this.stack.counters.tailLossProbes++;
    this.rtoAt = now + this.rto.rto;
  }

  private onRto(now: number): void {
    const st = this.stack;
    this.rtoAt = 0;
    this.tlpAt = 0; this.tlpOut = false;
    const opening = this.state === SYN_SENT || this.state === SYN_RECEIVED;
    if (++this.retries > (opening ? st.opts.synRetries : st.opts.maxRetries)) {
      st.counters.timeouts++;
      if (this.state === SYN_RECEIVED && this.listener !== null) { this.destroy(); return; }
      this.fail("timeout");
      return;
    }
    st.counters.rtoExpired++; this.counters.rtoExpired++;
    if (this.rto.backoff === 0) this.ssthresh = Math.max(seqDiff(this.sndMax, this.sndUna) >> 1, 2 * this.mss);
    this.cwnd = this.mss; // loss window (RFC 5681 3.1)
    this.caAcc = 0;
    this.recovering = false; this.retxUna = false; this.dupAcks = 0; this.rxtMark = -1;
    this.recover = this.sndMax;
    this.sb.clear();
    this.sndNxt = this.sndUna; // go back: resend from the first unacknowledged byte
    this.rttAt = -1;
    this.rto.expired();
    this.rtoAt = now + this.rto.rto;
  }

  private onPersist(now: number): void {
    const st = this.stack;
    this.persistAt = 0;
    if (this.sndBuf.length === 0 || this.sndMax !== this.sndUna) { this.persistBackoff = 0; return; }
    if (this.sndWnd > 0) { this.forceSend = true; return; } // SWS override: send the small segment
    // Zero window probe: an old sequence number makes the receiver answer with its window.
    st.counters.persistProbes++;
    this.sendCtl((this.sndUna - 1) >>> 0, ACK, 0);
    this.persistBackoff++;
    this.persistAt = now + Math.min(st.opts.maxRtoMs, this.rto.rto * (1 << Math.min(this.persistBackoff, 10)));
  }

  // ------------------------------------------------------------- output

  /** Send what is due: handshake, data the windows allow, FIN, an ACK. */
  output(): void {
    const st = this.stack, state = this.state;
    if (state === CLOSED) return;
    if (state === SYN_SENT || state === SYN_RECEIVED) {
      if (this.sndNxt === this.iss) this.sendSyn();
      else if (this.ackNow && state === SYN_RECEIVED) this.sendCtl(this.sndNxt, ACK, 0);
      this.ackNow = false;
      return;
    }
    let sent = false;
    if (this.retxUna) {
      this.retxUna = false;
      const n = Math.min(this.mss, this.sndBuf.length);
      if (n > 0 || (this.finQueued && this.sndUna === this.finSeq)) {
        if (!this.sendData(this.sndUna, n)) return;
        if (this.recovering) { this.highRxt = (this.sndUna + Math.max(n, 1)) >>> 0; this.rxtMark = this.sndMax; }
        sent = true;
      }
    }
    for (;;) {
      const r = this.sendNext();
      if (r < 0) return; // link out of buffers: keep state, retry at the next flush
      if (r === 0) break;
      sent = true;
    }
    if (!sent && this.ackNow) this.sendCtl(this.sndNxt, ACK, 0);
    // Nothing in flight but data waiting behind the window: persist.
    if (this.sndMax === this.sndUna && this.sndNxt === this.sndUna && this.sndBuf.length > seqDiff(this.sndNxt, this.bufSeq)
      && this.persistAt === 0 && this.rtoAt === 0) {
      this.persistAt = st.now + Math.min(st.opts.maxRtoMs, this.rto.rto * (1 << Math.min(this.persistBackoff, 10)));
    }
  }

  /** One segment: 1 sent, 0 nothing to send now, -1 the link had no buffer. */
  private sendNext(): number {
    const dataEnd = (this.bufSeq + this.sndBuf.length) >>> 0;
    if (this.recovering && this.sackOk) {
      const pipe = seqDiff(this.sndMax, this.sndUna) - this.sb.sacked - this.sb.lostBytes(this.sndUna, this.highRxt, this.mss);
      if (this.cwnd - pipe < this.mss) return 0;
      const hole = this.sb.nextLost(this.sndUna, this.highRxt, this.mss);
      if (hole !== -1) {
        let n = Math.min(this.mss, seqDiff(this.sb.holeEnd, hole));
        if (seqGt((hole + n) >>> 0, dataEnd)) n = Math.max(0, seqDiff(dataEnd, hole));
        if (n > 0) {
          if (!this.sendData(hole, n)) return -1;
          this.highRxt = (hole + n) >>> 0;
          if (hole === this.sndUna) this.rxtMark = this.sndMax;
          return 1;
        }
      }
      // Otherwise new data, still within the receiver's window.
      const avail = seqDiff(dataEnd, this.sndNxt);
      const room = seqDiff((this.sndUna + this.sndWnd) >>> 0, this.sndNxt);
      const n = Math.min(this.mss, avail, room);
      if (n > 0) return this.sendData(this.sndNxt, n) ? 1 : -1;
      return this.sendFinIfDue() ;
    }
    const avail = seqDiff(dataEnd, this.sndNxt);
    if (avail > 0) {
      // Limited transmit (RFC 3042): the first two duplicate ACKs each let
      // one new segment out past cwnd, so a small window still draws the
      // duplicates fast retransmit needs instead of waiting for the RTO.
      const win = Math.min(this.cwnd + (this.dupAcks <= 2 ? this.dupAcks * this.mss : 0), this.sndWnd);
      const usable = seqDiff((this.sndUna + win) >>> 0, this.sndNxt);
      let n = Math.min(this.mss, avail, usable);
      if (n <= 0) return 0;
      if (n < this.mss && n < avail) {
        // Silly window avoidance (RFC 9293 3.8.6.2.1): wait for a segment's
        // worth, or half the largest window seen, unless the persist timer says go.
        if (!this.forceSend && n < (this.maxSndWnd >> 1)) return 0;
      }
      if (n < this.mss && n === avail && !this.stack.opts.noDelay && this.sndNxt !== this.sndUna && !this.forceSend) return 0; // Nagle
      this.forceSend = false;
      if (n > avail) n = avail;
      return this.sendData(this.sndNxt, n) ? 1 : -1;
    }
    return this.sendFinIfDue();
  }

  private sendFinIfDue(): number {
    if (this.finQueued && this.sndNxt === this.finSeq) return this.sendData(this.finSeq, 0) ? 1 : -1;
    return 0;
  }

  /** Fill the stack's out segment with what every segment of ours carries. */
  private fillCommon(seq: number, flags: number): void {
    const t = this.stack.seg;
    t.v6 = this.v6; t.laddr = this.laddr; t.raddr = this.raddr; t.lport = this.lport; t.rport = this.rport;
    t.seq = seq; t.flags = flags; t.mss = -1; t.wscale = -1; t.sackOk = false; t.nSack = 0;
    t.ts = this.tsOk;
    if (this.tsOk) { t.tsVal = this.tsNow(); t.tsEcr = this.tsRecent; }
    if ((flags & ACK) !== 0) {
      t.ack = this.rcvNxt;
      t.wnd = this.windowField();
      if (this.sackOk && this.rcvBuf.nRanges > 0) t.nSack = this.rcvBuf.sackBlocks(t.sack, this.tsOk ? 3 : 4);
    } else { t.ack = 0; t.wnd = 0; }
  }

  /** The window to advertise, scaled; moves rcvAdv. */
  private windowField(): number {
    const rb = this.rcvBuf;
    let w = rb.space;
    const cur = Math.max(0, seqDiff(this.rcvAdv, this.rcvNxt));
    // Receiver SWS avoidance: move the right edge only by a useful step.
    if (w > cur && w - cur < Math.min(rb.cap >> 1, this.mssBase)) w = cur;
    // Never shrink a window already offered (TIME_WAIT has given its buffer back).
    if (w < cur) w = cur;
    let f = w >>> this.rcvShift;
    if (f > 0xffff) f = 0xffff;
    this.rcvAdv = (this.rcvNxt + (f << this.rcvShift)) >>> 0;
    return f;
  }

  private sendSyn(): void {
    const st = this.stack, o = st.opts;
    const synAck = this.state === SYN_RECEIVED;
    this.fillCommon(this.iss, synAck ? SYN | ACK : SYN);
    const t = st.seg;
    t.mss = st.localMss(this.v6);
    // On a SYN-ACK, offer only what the peer offered (RFC 7323, RFC 2018).
    t.sackOk = o.sack && (!synAck || this.sackOk);
    t.ts = o.timestamps && (!synAck || this.tsOk);
    if (t.ts) { t.tsVal = this.tsNow(); t.tsEcr = synAck ? this.tsRecent : 0; }
    t.wscale = o.windowScale && (!synAck || this.rcvShift > 0 || this.sndShift > 0) ? o.windowShift : -1;
    if (synAck) { t.ack = this.rcvNxt; }
    t.wnd = Math.min(this.rcvBuf.space, 0xffff);
    t.nSack = 0;
    if (!this.emit(0, 0)) return;
    if (synAck) this.rcvAdv = (this.rcvNxt + t.wnd) >>> 0;
    if (this.sndMax !== this.iss) { this.counters.retransSegs++; st.counters.retransSegs++; }
    else if (!this.tsOk && !t.ts) { this.rttSeq = this.iss; this.rttAt = st.now; }
    this.sndNxt = (this.iss + 1) >>> 0;
    if (seqLt(this.sndMax, this.sndNxt)) this.sndMax = this.sndNxt;
    if (this.rtoAt === 0) this.rtoAt = st.now + this.rto.rto;
  }

  /** A segment without data: an ACK, a probe, an RST. */
  sendCtl(seq: number, flags: number, _unused: number): boolean {
    this.fillCommon(seq, flags);
    return this.emit(0, 0);
  }

  /** Data (and FIN when it is due) from the send buffer at seq. */
  private sendData(seq: number, n: number): boolean {
    const st = this.stack;
    const end = (seq + n) >>> 0;
    let flags = ACK;
    if (this.finQueued && end === this.finSeq) flags |= FIN;
    if (n > 0 && end === ((this.bufSeq + this.sndBuf.length) >>> 0)) flags |= PSH;
    this.fillCommon(seq, flags);
    // SACK blocks take payload room on a data segment.
    const t = st.seg;
    if (t.nSack > 0 && n > 0) {
      const room = this.mss - (4 + 8 * t.nSack);
      if (n > room) { n = room; flags &= ~(FIN | PSH); t.flags = flags; }
    }
    if (!this.emit(seq, n)) return false;
    const segEnd = (seq + n + ((flags & FIN) ? 1 : 0)) >>> 0;
    const retrans = seqLt(seq, this.sndMax);
    if (retrans) { this.counters.retransSegs++; st.counters.retransSegs++; }
    else if (!this.tsOk && this.rttAt < 0) { this.rttSeq = seq; this.rttAt = st.now; }
    if (seqGt(segEnd, this.sndNxt)) this.sndNxt = segEnd;
    if (seqGt(segEnd, this.sndMax)) this.sndMax = segEnd;
    this.counters.bytesOut += n; st.counters.bytesOut += n;
    if (this.rtoAt === 0) this.rtoAt = st.now + this.rto.rto;
    if (!retrans) this.armTlp();
    return true;
  }

  /** Build and hand the segment in st.seg (payload n bytes from seq) to the link. */
  private emit(seq: number, n: number): boolean {
    const st = this.stack, t = st.seg, out = st.out;
    const hl = headerLength(t);
    const o = out.alloc(hl + n);
    if (o < 0) { st.counters.noBuffer++; st.markDirty(this); return false; }
    const b = out.bytes;
    if (n > 0) this.sndBuf.copyOut(seqDiff(seq, this.bufSeq), n, b, o + hl);
    out.send(o, writeSegment(b, o, t, n, out.checksumOffload === true));
    this.counters.segsOut++; st.counters.segsOut++;
    if ((t.flags & ACK) !== 0) {
      this.ackNow = false; this.unacked = 0; this.delackAt = 0;
      this.lastAckSent = t.ack;
    }
    return true;
  }
}
