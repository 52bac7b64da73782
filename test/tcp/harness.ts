// Test rig for sdk/tcp: a virtual clock, an output that records packets,
// a peer-side segment builder, and a lossy wire joining two stacks.

import { TcpStack, type TcpOptions, type TcpOutput } from "../../sdk/tcp/stack";
import { OutSegment, headerLength, writeSegment } from "../../sdk/tcp/build";
import { Segment, parseSegment, SEG_OK } from "../../sdk/tcp/segment";
import { ip4, ip6 } from "../../sdk/addr";

export class Clock {
  t = 1_000_000;
  now = (): number => this.t;
  advance(ms: number): void { this.t += ms; }
}

/** Records every packet a stack sends (copied out). */
export class Capture implements TcpOutput {
  bytes = new Uint8Array(70_000);
  readonly packets: Uint8Array[] = [];
  /** Buffers left this cycle (null = unlimited). */
  budget: number | null = null;
  alloc(len: number): number {
    if (this.budget !== null) { if (this.budget === 0) return -1; this.budget--; }
    return len <= this.bytes.length ? 0 : -1;
  }
  send(off: number, len: number): void { this.packets.push(this.bytes.slice(off, off + len)); }
  take(): Uint8Array[] { return this.packets.splice(0); }
}

/** A parsed copy of a packet, for assertions. */
export interface Seg {
  v6: boolean; srcPort: number; dstPort: number; seq: number; ack: number; flags: number; wnd: number;
  mss: number; wscale: number; sackOk: boolean; hasTs: boolean; tsVal: number; tsEcr: number;
  sack: Array<[number, number]>; data: Uint8Array;
}

export function parse(p: Uint8Array): Seg {
  const s = new Segment();
  const r = parseSegment(p, 0, p.length, s, true);
  if (r !== SEG_OK) throw new Error(`stack sent an unparsable packet (code ${r})`);
  const sack: Array<[number, number]> = [];
  for (let i = 0; i < s.nSack; i++) sack.push([s.sack[2 * i], s.sack[2 * i + 1]]);
  return {
    v6: s.v6, srcPort: s.srcPort, dstPort: s.dstPort, seq: s.seq, ack: s.ack, flags: s.flags, wnd: s.wnd,
    mss: s.mss, wscale: s.wscale, sackOk: s.sackOk, hasTs: s.hasTs, tsVal: s.tsVal, tsEcr: s.tsEcr,
    sack, data: p.slice(s.dataOff, s.dataOff + s.dataLen),
  };
}

export const F = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 };

export function flagsStr(f: number): string {
  return ["FIN", "SYN", "RST", "PSH", "ACK"].filter((_, i) => (f & (1 << i)) !== 0).join("|") || "none";
}

export interface PeerSeg {
  seq: number; ack?: number; flags: number; wnd?: number; data?: Uint8Array | string;
  mss?: number; wscale?: number; sackOk?: boolean; ts?: [number, number]; sack?: Array<[number, number]>;
  badChecksum?: boolean;
}

/** Builds packets as the remote end of one 4-tuple would send them. */
export class Peer {
  private readonly t = new OutSegment();
  constructor(readonly v6: boolean, readonly addr: string, readonly port: number, readonly stackAddr: string, readonly stackPort: number) {
    const a = new Uint32Array(4), b = new Uint32Array(4);
    if (v6) { a.set(ip6(addr)); b.set(ip6(stackAddr)); } else { a[0] = ip4(addr); b[0] = ip4(stackAddr); }
    this.t.v6 = v6; this.t.laddr = a; this.t.raddr = b; this.t.lport = port; this.t.rport = stackPort;
  }
  build(p: PeerSeg): Uint8Array {
    const t = this.t;
    t.seq = p.seq >>> 0; t.ack = (p.ack ?? 0) >>> 0; t.flags = p.flags; t.wnd = p.wnd ?? 65535;
    t.mss = p.mss ?? -1; t.wscale = p.wscale ?? -1; t.sackOk = p.sackOk ?? false;
    t.ts = p.ts !== undefined; t.tsVal = p.ts?.[0] ?? 0; t.tsEcr = p.ts?.[1] ?? 0;
    const sack = p.sack ?? [];
    t.nSack = sack.length;
    sack.forEach(([s, e], i) => { t.sack[2 * i] = s >>> 0; t.sack[2 * i + 1] = e >>> 0; });
    const data = typeof p.data === "string" ? new TextEncoder().encode(p.data) : (p.data ?? new Uint8Array(0));
    const hl = headerLength(t);
    const b = new Uint8Array(hl + data.length);
    b.set(data, hl);
    const n = writeSegment(b, 0, t, data.length);
    if (p.badChecksum) b[n - 1] ^= 0xff;
    return b;
  }
}

export function makeStack(clock: Clock, out: TcpOutput, extra: Partial<TcpOptions> = {}): TcpStack {
  let r = 12345;
  return new TcpStack({
    clock: clock.now, out, local4: "10.0.0.1", local6: "fd00::1", secret: [1, 2],
    random: () => { r = (Math.imul(r, 1103515245) + 12345) >>> 0; return r / 4294967296; },
    ...extra,
  });
}

/** A wire between two stacks: each direction delays, loses, duplicates and
 *  reorders packets by a seeded pseudo-random draw. */
export interface WireModel { delayMs: number; loss: number; dup: number; reorder: number; }

export class Wire {
  readonly aOut = new Capture();
  readonly bOut = new Capture();
  private inflight: Array<{ at: number; toB: boolean; p: Uint8Array }> = [];
  private r: number;
  dropped = 0; duplicated = 0; reordered = 0; delivered = 0;
  a!: TcpStack;
  b!: TcpStack;
  constructor(readonly clock: Clock, readonly model: WireModel, rngStart = 7) { this.r = rngStart >>> 0 || 1; }
  private rand(): number {
    let x = this.r; x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; this.r = x;
    return x / 4294967296;
  }
  private carry(toB: boolean, ps: Uint8Array[]): void {
    const m = this.model, now = this.clock.t;
    for (const p of ps) {
      if (this.rand() < m.loss) { this.dropped++; continue; }
      let at = now + m.delayMs;
      if (this.rand() < m.reorder) { at += m.delayMs * 2 + 1; this.reordered++; }
      this.inflight.push({ at, toB, p });
      if (this.rand() < m.dup) { this.inflight.push({ at: at + 1, toB, p }); this.duplicated++; }
    }
  }
  /** Advance to the next event (a packet arriving or a timer) and run it. */
  step(): boolean {
    this.carry(true, this.aOut.take());
    this.carry(false, this.bOut.take());
    let next = Math.min(this.a.nextTimer(), this.b.nextTimer());
    for (const f of this.inflight) if (f.at < next) next = f.at;
    if (next === Infinity) return false;
    if (next > this.clock.t) this.clock.t = next;
    const now = this.clock.t;
    this.a.poll(); this.b.poll();
    const due = this.inflight.filter((f) => f.at <= now);
    this.inflight = this.inflight.filter((f) => f.at > now);
    for (const f of due) { (f.toB ? this.b : this.a).input(f.p, 0, f.p.length); this.delivered++; }
    this.a.flush(); this.b.flush();
    return true;
  }
  /** Step until done() or no events remain or the step limit passes. */
  run(done: () => boolean, maxSteps = 1_000_000): number {
    let n = 0;
    this.a.flush(); this.b.flush();
    while (!done() && n < maxSteps && this.step()) n++;
    return n;
  }
}
