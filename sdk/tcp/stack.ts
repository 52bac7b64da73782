// One TCP stack per core: the connection table, listeners, the timer heap,
// the memory budget and the per-core counters. The engine (or a test)
// drives it with three calls per cycle:
//
//     stack.poll();                  // read the clock, run due timers, send
//     stack.input(bytes, off, len);  // each TCP/IP packet for this core
//     stack.flush();                 // send what the input and writes made due
//
// Packets go out through a TcpOutput ("give me a buffer", "send it"), so the
// same code runs over the engine's pool and over an in-memory wire.

import { ip4, ip6 } from "../addr";
import { TcpConn } from "./conn";
import { TcpCounters } from "./counters";
import { IsnSource } from "./isn";
import { TcpMemory } from "./memory";
import { OutSegment, headerLength, writeSegment } from "./build";
import {
  ACK, RST, SEG_CHECKSUM, SEG_FRAGMENT, SEG_NOT_TCP, SEG_OK, SYN, Segment, parseSegment,
} from "./segment";
import { CLOSED, type TcpHandlers } from "./state";
import { TimeWaits } from "./timewait";

/** Where a stack's segments go: IP packets, headers included. */
export interface TcpOutput {
  /** Room for one packet of up to len bytes: the offset into `bytes`, or -1
   *  when no buffer is free now (the stack keeps the data and retries). */
  alloc(len: number): number;
  /** The buffer alloc's offsets point into (read after each alloc). */
  readonly bytes: Uint8Array;
  /** Hand the packet at bytes[off, off+len) to the wire. */
  send(off: number, len: number): void;
  /** The output finishes TCP checksums (writeSegment leaves the field
   *  holding the pseudo-header sum, as Linux's CHECKSUM_PARTIAL). */
  readonly checksumOffload?: boolean;
}

export interface TcpOptions {
  /** Milliseconds, any origin; a virtual clock in tests. */
  clock: () => number;
  out: TcpOutput;
  /** This stack's addresses, for active opens. */
  local4?: string;
  local6?: string;
  /** Link MTU: the MSS offered is this minus the IP and TCP headers. */
  mtu?: number;
  /** Per-core budget for all send and receive buffers (bytes). */
  memory?: number;
  sndBufInitial?: number;
  sndBufMax?: number;
  rcvBufInitial?: number;
  rcvBufMax?: number;
  /** Window scale shift offered (RFC 7323; 0..14). */
  windowShift?: number;
  /** 2 MSL: how long a closed connection's 4-tuple is kept. */
  timeWaitMs?: number;
  /** Most 4-tuples held in TIME_WAIT; past it a connection closes without
   *  (counted), as Linux's tcp_max_tw_buckets. */
  maxTimeWait?: number;
  delayedAckMs?: number;
  minRtoMs?: number;
  initialRtoMs?: number;
  maxRtoMs?: number;
  /** Retransmissions before a connection is given up ("timeout"). */
  maxRetries?: number;
  synRetries?: number;
  /** Challenge ACKs per second, all connections together (RFC 5961 7). */
  challengeAckLimit?: number;
  initialCwndSegments?: number;
  sack?: boolean;
  timestamps?: boolean;
  windowScale?: boolean;
  /** Send small segments at once (no Nagle). */
  noDelay?: boolean;
  /** Check TCP checksums on input (off where the NIC verified them). */
  verifyChecksum?: boolean;
  /** Secret for ISNs and timestamp offsets; drawn from `random` if absent. */
  secret?: [number, number];
  random?: () => number;
  /** Local port for an active open (RSS-aware choice); the default walks
   *  the ephemeral range from a hashed start (RFC 6056). Return -1 for none free. */
  choosePort?: (v6: boolean, raddr: Uint32Array, rport: number, free: (port: number) => boolean) => number;
  /** Called when a local port is no longer held by a connection (it left
   *  the table, or its TIME_WAIT ended), to give the port back. */
  removed?: (lport: number) => void;
}

export type ResolvedOptions = Required<Omit<TcpOptions, "local4" | "local6" | "secret" | "choosePort" | "removed">>
  & Pick<TcpOptions, "choosePort" | "removed">;

export const TCP_DEFAULTS = {
  mtu: 1500, memory: 256 << 20, sndBufInitial: 16 << 10, sndBufMax: 4 << 20,
  rcvBufInitial: 64 << 10, rcvBufMax: 4 << 20, windowShift: 7, timeWaitMs: 60_000, maxTimeWait: 262_144,
  delayedAckMs: 40, minRtoMs: 200, initialRtoMs: 1000, maxRtoMs: 60_000, maxRetries: 15,
  synRetries: 6, challengeAckLimit: 1000, initialCwndSegments: 10, sack: true,
  timestamps: true, windowScale: true, noDelay: true, verifyChecksum: true,
};

function resolve(o: TcpOptions): ResolvedOptions {
  const r = { ...TCP_DEFAULTS, random: Math.random, ...o } as ResolvedOptions;
  const need = (name: keyof typeof TCP_DEFAULTS, lo: number, hi: number): void => {
    const v = r[name] as unknown;
    if (typeof v !== "number" || !(v >= lo && v <= hi)) throw new Error(`TCP option ${name} must be a number in [${lo}, ${hi}], got ${String(v)}`);
  };
  need("mtu", 576, 65535); need("memory", 1, Number.MAX_SAFE_INTEGER);
  need("sndBufInitial", 1024, 1 << 30); need("sndBufMax", r.sndBufInitial, 1 << 30);
  need("rcvBufInitial", 1024, 1 << 30); need("rcvBufMax", r.rcvBufInitial, 1 << 30);
  need("windowShift", 0, 14); need("timeWaitMs", 0, 3_600_000); need("maxTimeWait", 0, 1 << 26); need("delayedAckMs", 0, 500);
  need("minRtoMs", 1, 60_000); need("initialRtoMs", 1, 600_000); need("maxRtoMs", r.minRtoMs, 3_600_000);
  need("maxRetries", 1, 100); need("synRetries", 1, 100); need("challengeAckLimit", 0, 1e9);
  need("initialCwndSegments", 1, 1000);
  if (typeof o.clock !== "function") throw new Error("TCP option clock must be a function returning milliseconds");
  if (o.out === undefined) throw new Error("TCP option out (where segments go) is required");
  return r;
}

/** A port accepting connections, on every local address. */
export class TcpListener {
  /** Connections in SYN_RECEIVED. */
  halfOpen = 0;
  /** Established, waiting for accept() (only when there is no `accepted` handler). */
  readonly queue: TcpConn[] = [];
  /** SYNs dropped because the backlog was full. */
  overflow = 0;
  open = true;
  constructor(readonly stack: TcpStack, readonly port: number, readonly backlog: number, public handlers: TcpHandlers) {}
  /** The next established connection, or null. */
  accept(): TcpConn | null {
    const c = this.queue.shift();
    if (c === undefined) return null;
    c.listener = null;
    return c;
  }
  /** Stop taking new connections (existing ones carry on). */
  close(): void {
    if (!this.open) return;
    this.open = false;
    this.stack.listeners.delete(this.port);
  }
}

function tupleHash(raddr: Uint32Array, rport: number, lport: number, laddr: Uint32Array): number {
  let h = raddr[0] ^ Math.imul(raddr[1], 0x9e3779b1) ^ Math.imul(raddr[2], 0x85ebca6b)
    ^ Math.imul(raddr[3], 0xc2b2ae35) ^ Math.imul(laddr[0] ^ laddr[3], 0x27d4eb2f);
  h = Math.imul(h ^ ((rport << 16) | lport), 0x9e3779b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0x85ebca6b);
  return h ^ (h >>> 13);   // int32: a small integer to V8, never a boxed number
}

function sameAddr(a: Uint32Array, b: Uint32Array): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
}

export class TcpStack {
  readonly opts: ResolvedOptions;
  readonly counters = new TcpCounters();
  readonly memory: TcpMemory;
  readonly isn: IsnSource;
  readonly out: TcpOutput;
  /** Time of the last poll (ms). */
  now = 0;
  readonly seg = new OutSegment();
  readonly listeners = new Map<number, TcpListener>();
  private readonly rx = new Segment();
  // Connections by 4-tuple hash: chains (TcpConn.next) in a power-of-two
  // array, doubled when the load passes 1 (a Map keyed by the hash was 17%
  // of opening and closing connections).
  private buckets: (TcpConn | null)[] = new Array<TcpConn | null>(1024).fill(null);
  private count = 0;
  /** Closed connections in TIME_WAIT, without their TcpConn. */
  readonly timeWaits = new TimeWaits(this);
  private readonly local4: Uint32Array | null = null;
  private readonly local6: Uint32Array | null = null;
  private readonly dirtyList: TcpConn[] = [];
  // Timer heap: deadlines and their connections, at most one entry each
  // (TcpConn.heapPos), taken out when a connection goes, so the heap never
  // keeps a closed connection alive (at thousands of closes a second that
  // was hundreds of MB waiting for the garbage collector).
  private hAt: number[] = [];
  private hConn: TcpConn[] = [];
  private challengeWindow = 0;
  private challengeCount = 0;
  private portCursor = 0;
  private lastAddress = "";
  private lastRaddr = new Uint32Array(4);

  constructor(options: TcpOptions) {
    this.opts = resolve(options);
    this.out = options.out;
    this.memory = new TcpMemory(this.opts.memory);
    const rnd = this.opts.random;
    const secret = options.secret ?? [Math.floor(rnd() * 0x100000000), Math.floor(rnd() * 0x100000000)];
    this.isn = new IsnSource(secret[0] >>> 0, secret[1] >>> 0);
    this.portCursor = Math.floor(rnd() * 28232);
    if (options.local4 !== undefined) { this.local4 = new Uint32Array(4); this.local4[0] = ip4(options.local4); }
    if (options.local6 !== undefined) this.local6 = Uint32Array.from(ip6(options.local6));
    this.now = this.opts.clock();
  }

  /** Connections in the table, TIME_WAIT included. */
  get connections(): number { return this.count + this.timeWaits.count; }

  localMss(v6: boolean): number { return this.opts.mtu - (v6 ? 60 : 40); }

  // ------------------------------------------------------------- opens

  /** Accept connections on `port` (every local address). */
  listen(port: number, handlers: TcpHandlers, backlog = 128): TcpListener {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`listen: port must be 1-65535, got ${port}`);
    if (!Number.isInteger(backlog) || backlog < 1) throw new Error(`listen: backlog must be a positive integer, got ${backlog}`);
    if (this.listeners.has(port)) throw new Error(`listen: port ${port} already has a listener on this core`);
    const l = new TcpListener(this, port, backlog, handlers);
    this.listeners.set(port, l);
    return l;
  }

  /** Open a connection to address:port. Returns null (counted in
   *  memoryRefusedConn) when the memory budget cannot take its buffers, or
   *  when no local port is free. */
  connect(address: string, port: number, handlers: TcpHandlers, localPort?: number): TcpConn | null {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`connect: port must be 1-65535, got ${port}`);
    const v6 = address.includes(":");
    const local = v6 ? this.local6 : this.local4;
    if (local === null) throw new Error(`connect: this stack has no local ${v6 ? "IPv6" : "IPv4"} address (set ${v6 ? "local6" : "local4"})`);
    // The last address parsed is kept: a client opens many connections to one server.
    if (address !== this.lastAddress) {
      const r = new Uint32Array(4);
      if (v6) r.set(ip6(address)); else r[0] = ip4(address);
      this.lastRaddr = r; this.lastAddress = address;
    }
    const raddr = this.lastRaddr;
    let lport = localPort ?? -1;
    const free = (p: number): boolean => {
      const h = tupleHash(raddr, port, p, local);
      return this.find(raddr, port, p, local, h) === null && this.timeWaits.find(h, raddr, port, p, local) < 0;
    };
    if (lport < 0) lport = this.opts.choosePort !== undefined ? this.opts.choosePort(v6, raddr, port, free) : this.ephemeral(free);
    if (lport < 0) return null;
    if (!free(lport)) throw new Error(`connect: ${address}:${port} from local port ${lport} already exists`);
    this.now = this.opts.clock();
    const c = new TcpConn(this, handlers);
    c.v6 = v6; c.laddr.set(local); c.raddr.set(raddr); c.lport = lport; c.rport = port;
    if (!this.openBuffers(c)) return null;
    this.insert(c);
    c.openActive(this.now);
    this.counters.activeOpens++;
    return c;
  }

  private ephemeral(free: (p: number) => boolean): number {
    for (let i = 0; i < 28232; i++) {
      const p = 32768 + ((this.portCursor + i) % 28232);
      if (free(p)) { this.portCursor = (this.portCursor + i + 1) % 28232; return p; }
    }
    return -1;
  }

  private openBuffers(c: TcpConn): boolean {
    if (!c.rcvBuf.open()) { this.counters.memoryRefusedConn++; return false; }
    if (!c.sndBuf.open()) { c.rcvBuf.release(); this.counters.memoryRefusedConn++; return false; }
    return true;
  }

  // ------------------------------------------------------------- table

  private find(raddr: Uint32Array, rport: number, lport: number, laddr: Uint32Array, hash = tupleHash(raddr, rport, lport, laddr)): TcpConn | null {
    let c = this.buckets[hash & (this.buckets.length - 1)];
    while (c !== null) {
      if (c.rport === rport && c.lport === lport && sameAddr(c.raddr, raddr) && sameAddr(c.laddr, laddr)) return c;
      c = c.next;
    }
    return null;
  }

  private insert(c: TcpConn): void {
    if (this.count >= this.buckets.length) this.grow();
    c.hash = tupleHash(c.raddr, c.rport, c.lport, c.laddr);
    const i = c.hash & (this.buckets.length - 1);
    c.next = this.buckets[i];
    this.buckets[i] = c;
    this.count++;
  }

  private grow(): void {
    const old = this.buckets, b = new Array<TcpConn | null>(old.length * 2).fill(null), mask = b.length - 1;
    for (let c of old) {
      while (c !== null) {
        const next = c.next, i = c.hash & mask;
        c.next = b[i]; b[i] = c;
        c = next;
      }
    }
    this.buckets = b;
  }

  /** Called by a connection that is gone. */
  remove(c: TcpConn): void {
    if (!this.unlink(c)) return;
    if (this.opts.removed !== undefined) this.opts.removed(c.lport);
    const l = c.listener;
    if (l !== null) {
      const i = l.queue.indexOf(c);
      if (i >= 0) l.queue.splice(i, 1); else l.halfOpen--;
      c.listener = null;
    }
  }

  /** Called by a connection entering TIME_WAIT: its 4-tuple stays taken for
   *  2 MSL by a compact entry, the connection object leaves the stack. */
  toTimeWait(c: TcpConn): void {
    if (this.timeWaits.count >= this.opts.maxTimeWait) {
      this.counters.timeWaitOverflow++;
      this.remove(c);
    } else if (this.unlink(c)) this.timeWaits.add(c, c.hash, this.now + this.opts.timeWaitMs);
  }

  /** Out of the table and the timer heap; false if it was not there. */
  private unlink(c: TcpConn): boolean {
    const i = c.hash & (this.buckets.length - 1);
    let p = this.buckets[i], prev: TcpConn | null = null;
    while (p !== null && p !== c) { prev = p; p = p.next; }
    if (p === null) return false;
    if (prev === null) this.buckets[i] = c.next; else prev.next = c.next;
    c.next = null;
    this.count--;
    if (c.heapPos >= 0) this.heapTake(c.heapPos);
    return true;
  }

  /** A passive open completed: hand it to the application. */
  established(c: TcpConn): void {
    const l = c.listener;
    if (l === null) return;
    l.halfOpen--;
    const h = l.handlers;
    if (h.accepted !== undefined) { c.listener = null; h.accepted(c); }
    else l.queue.push(c);
  }

  // ------------------------------------------------------------- input

  /** One IP packet (IPv4 or IPv6 header first) for this core. `checked`:
   *  the checksum was verified or is left to offload (a local sender's
   *  CHECKSUM_PARTIAL): do not check it here. */
  input(b: Uint8Array, off: number, len: number, checked = false): void {
    const s = this.rx;
    const r = parseSegment(b, off, len, s, this.opts.verifyChecksum && !checked);
    if (r !== SEG_OK) {
      if (r === SEG_CHECKSUM) this.counters.badChecksum++;
      else if (r === SEG_FRAGMENT) this.counters.fragments++;
      else if (r !== SEG_NOT_TCP) this.counters.malformed++;
      return;
    }
    this.counters.segsIn++;
    const h = tupleHash(s.src, s.srcPort, s.dstPort, s.dst);
    const c = this.find(s.src, s.srcPort, s.dstPort, s.dst, h);
    if (c !== null) { c.input(s); return; }
    if (this.timeWaits.count > 0) {
      const tw = this.timeWaits.find(h, s.src, s.srcPort, s.dstPort, s.dst);
      if (tw >= 0) {
        if ((s.flags & (SYN | ACK | RST)) !== SYN || !this.listeners.has(s.dstPort) || !this.timeWaits.mayReuse(tw, s)) {
          this.timeWaits.input(tw, s);
          return;
        }
        // RFC 6191: a new incarnation takes over the 4-tuple.
        this.timeWaits.remove(tw);
        this.counters.timeWaitReused++;
      }
    }
    const l = this.listeners.get(s.dstPort);
    if (l !== undefined) { this.listenInput(l, s); return; }
    this.counters.noConnection++;
    this.rstForClosed(s);
  }

  private listenInput(l: TcpListener, s: Segment): void {
    const f = s.flags;
    if (f & RST) return;
    if (f & ACK) { this.rstReply(s, s.ack, 0, RST); return; }
    if ((f & SYN) === 0) return;
    if (l.halfOpen + l.queue.length >= l.backlog) { l.overflow++; this.counters.listenOverflow++; return; }
    const c = new TcpConn(this, l.handlers);
    c.v6 = s.v6; c.laddr.set(s.dst); c.raddr.set(s.src); c.lport = s.dstPort; c.rport = s.srcPort;
    if (!this.openBuffers(c)) return;
    c.listener = l; l.halfOpen++;
    this.insert(c);
    this.counters.passiveOpens++;
    c.openPassive(s, this.now);
  }

  /** RFC 9293 3.10.7.1: a segment for no connection gets an RST. */
  private rstForClosed(s: Segment): void {
    if (s.flags & RST) return;
    if (s.flags & ACK) this.rstReply(s, s.ack, 0, RST);
    else this.rstReply(s, 0, (s.seq + s.seqLen) >>> 0, RST | ACK);
  }

  private rstReply(s: Segment, seq: number, ack: number, flags: number): void {
    const t = this.seg;
    t.v6 = s.v6; t.laddr = s.dst; t.raddr = s.src; t.lport = s.dstPort; t.rport = s.srcPort;
    this.sendBare(seq, ack, flags);
  }

  /** RST on a connection's 4-tuple: seq as given; ack when withAck. */
  sendRst(c: TcpConn, seq: number, ack: number, withAck: number): void {
    const t = this.seg;
    t.v6 = c.v6; t.laddr = c.laddr; t.raddr = c.raddr; t.lport = c.lport; t.rport = c.rport;
    this.sendBare(seq, withAck ? c.rcvNxt : ack, withAck ? RST | ACK : RST);
  }

  /** A segment without data or options other than timestamps (when `ts`,
   *  with seg.tsVal/tsEcr set) on the 4-tuple in `seg`; false when no buffer
   *  was free (it is not retried: the peer's retransmission asks again). */
  sendBare(seq: number, ack: number, flags: number, wnd = 0, ts = false): boolean {
    const t = this.seg;
    t.seq = seq; t.ack = ack; t.flags = flags; t.wnd = wnd;
    t.mss = -1; t.wscale = -1; t.sackOk = false; t.ts = ts; t.nSack = 0;
    const len = headerLength(t), o = this.out.alloc(len);
    if (o < 0) { this.counters.noBuffer++; return false; }
    this.out.send(o, writeSegment(this.out.bytes, o, t, 0, this.out.checksumOffload === true));
    this.counters.segsOut++;
    if (flags & RST) this.counters.resetsOut++;
    return true;
  }

  /** RFC 5961 7: at most challengeAckLimit challenge ACKs per second. */
  challengeAllowed(): boolean {
    if (this.now - this.challengeWindow >= 1000) { this.challengeWindow = this.now; this.challengeCount = 0; }
    return ++this.challengeCount <= this.opts.challengeAckLimit;
  }

  // ------------------------------------------------- output and timers

  markDirty(c: TcpConn): void {
    if (c.dirty) return;
    c.dirty = true;
    this.dirtyList.push(c);
  }

  /** Send everything input and writes made due. */
  flush(): void {
    const list = this.dirtyList, n = list.length;
    for (let i = 0; i < n; i++) {
      const c = list[i];
      c.dirty = false;
      if (c.state === CLOSED) continue;
      c.output();
      this.schedule(c);
    }
    // Connections marked again while sending (no buffer) wait for the next flush.
    list.splice(0, n);
  }

  /** Read the clock, run due timers, then flush. */
  poll(): void {
    const now = this.now = this.opts.clock();
    if (this.timeWaits.nextExpiry() <= now) this.timeWaits.expire(now);
    const at = this.hAt, cs = this.hConn;
    while (at.length > 0 && at[0] <= now) {
      const c = cs[0];
      this.heapTake(0);
      if (c.state !== CLOSED) c.onTimers(now);
    }
    this.flush();
  }

  /** The earliest timer deadline (ms), or Infinity when none is armed. */
  nextTimer(): number {
    return Math.min(this.hAt.length > 0 ? this.hAt[0] : Infinity, this.timeWaits.nextExpiry());
  }

  /** Its earliest deadline into the heap; a later one than it has waits
   *  there until the earlier fires (onTimers then schedules it again). */
  private schedule(c: TcpConn): void {
    const t = c.nextDeadline();
    if (t === 0 || (c.scheduledAt !== 0 && c.scheduledAt <= t)) return;
    c.scheduledAt = t;
    if (c.heapPos < 0) {
      c.heapPos = this.hAt.length;
      this.hAt.push(t); this.hConn.push(c);
    } else this.hAt[c.heapPos] = t;
    this.siftUp(c.heapPos);
  }

  /** Takes heap entry i out (its connection unscheduled). */
  private heapTake(i: number): void {
    const at = this.hAt, cs = this.hConn;
    const gone = cs[i];
    gone.heapPos = -1; gone.scheduledAt = 0;
    const lastT = at.pop()!, lastC = cs.pop()!;
    if (i === at.length) return;
    at[i] = lastT; cs[i] = lastC; lastC.heapPos = i;
    this.siftDown(this.siftUp(i));
  }

  private siftUp(i: number): number {
    const at = this.hAt, cs = this.hConn, t = at[i], c = cs[i];
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (at[p] <= t) break;
      at[i] = at[p]; cs[i] = cs[p]; cs[i].heapPos = i; i = p;
    }
    at[i] = t; cs[i] = c; c.heapPos = i;
    return i;
  }

  private siftDown(i: number): void {
    const at = this.hAt, cs = this.hConn, n = at.length, t = at[i], c = cs[i];
    for (;;) {
      let k = 2 * i + 1;
      if (k >= n) break;
      if (k + 1 < n && at[k + 1] < at[k]) k++;
      if (at[k] >= t) break;
      at[i] = at[k]; cs[i] = cs[k]; cs[i].heapPos = i; i = k;
    }
    at[i] = t; cs[i] = c; c.heapPos = i;
  }
}

