// TCP for VNFs that are endpoints (--ip): one TcpStack per core over the
// batch. Each core owns its connections: with symmetric RSS both directions
// of a connection land on one core, and active opens pick local ports whose
// replies come back to the opening core (sdk/rss-port.ts).
//
//   init:    const tcp = new Tcp(ctx); tcp.stack.listen(5001, handlers);
//   process: tcp.receive(batch);   // timers, then every TCP segment for our addresses
//            ... writes, closes ...
//            tcp.send();           // segments out, in fresh buffers (batch.originate)
//
// Handlers run inside receive() (see sdk/tcp/state.ts for the contract);
// data arrives as views of the packet buffers where it is in order. The
// VNF must be defined with `originates: true` so process() also runs on
// cycles with nothing received (timers, a sender's writes).

import type { Batch } from "../batch";
import { CTL_FLAGS } from "../batch";
import { CHECKSUM_GOOD, CHECKSUM_PENDING } from "../kinds";
import { FLAG_RESOLVE } from "../udp";
import { ip4, ip6 } from "../addr";
import { RssPorts } from "../rss-port";
import type { Ctx } from "../vnf";
import { TcpStack, type TcpOptions, type TcpOutput } from "./stack";
import { TcpCounters } from "./counters";

const COUNTER_NAMES = Object.keys(new TcpCounters()) as (keyof TcpCounters)[];
/** The budget's use, published after the counters as levels (ctx.counters' `_now`). */
const MEMORY_NAMES = ["tcp_memoryBytes_now", "tcp_memoryPeak_now"];

/** Segments out through fresh buffers of the current batch. */
class BatchOutput implements TcpOutput {
  batch: Batch | null = null;
  bytes: Uint8Array = new Uint8Array(0);
  private entry = -1;
  constructor(private readonly netPort: number) {}
  alloc(len: number): number {
    const b = this.batch;
    if (b === null) return -1;
    const i = b.originate(this.netPort, 14 + len);
    if (i < 0) return -1;
    this.entry = i;
    this.bytes = b.bytes;
    return b.offsets[i] + 14;
  }
  send(off: number, len: number): void {
    const b = this.batch!, i = this.entry, by = b.bytes, o = off - 14;
    for (let j = 0; j < 12; j++) by[o + j] = 0; // the runtime writes the Ethernet addresses
    if ((by[off] >>> 4) === 6) { by[o + 12] = 0x86; by[o + 13] = 0xdd; } else { by[o + 12] = 0x08; by[o + 13] = 0x00; }
    b.lengths[i] = 14 + len;
    b.flags[i] = b.checksumOffload ? FLAG_RESOLVE | CHECKSUM_PENDING : FLAG_RESOLVE;
    b.ctl[CTL_FLAGS] = 1;
  }
  /** writeSegment leaves the TCP checksum to the engine (Batch.l4Checksum). */
  get checksumOffload(): boolean { return this.batch !== null && this.batch.checksumOffload; }
}

export class Tcp {
  readonly stack: TcpStack;
  private readonly out: BatchOutput;
  private now = 0;
  private readonly local4: number[];
  private readonly local6: Uint8Array[];
  private readonly ports: RssPorts;
  /** The stack's counters published as tcp_<name> (summary, top, Prometheus), then the memory levels. */
  private readonly published: Float64Array;

  constructor(readonly ctx: Ctx, options: Partial<Omit<TcpOptions, "clock" | "out">> & { netPort?: number } = {}) {
    if (!ctx.addresses.length) throw new Error("TCP endpoints need an address on a port: run with --ip ADDR/LEN");
    const a4 = ctx.addresses.find((a) => !a.v6), a6 = ctx.addresses.find((a) => a.v6);
    this.local4 = ctx.addresses.filter((a) => !a.v6).map((a) => ip4(a.ip));
    this.local6 = ctx.addresses.filter((a) => a.v6).map((a) => Uint8Array.from(ip6(a.ip).flatMap((x) => [x >>> 24, (x >>> 16) & 255, (x >>> 8) & 255, x & 255])));
    this.ports = new RssPorts(ctx);
    this.out = new BatchOutput(options.netPort ?? 0);
    const bytes6 = (w: Uint32Array): number[] => Array.from(w).flatMap((x) => [x >>> 24, (x >>> 16) & 255, (x >>> 8) & 255, x & 255]);
    // --tcp-memory (ctx.tcpMemory) unless the VNF gave its own budget.
    const memory = options.memory ?? ctx.tcpMemory;
    this.stack = new TcpStack({
      ...options,
      ...(memory !== undefined ? { memory } : {}),
      clock: () => this.now,
      out: this.out,
      local4: a4?.ip, local6: a6?.ip,
      choosePort: (v6, raddr, rport, free) => {
        for (let tries = 0; tries < 64; tries++) {
          const p = v6 ? this.ports.pick6(this.local6[0], bytes6(raddr), rport) : this.ports.pick4(this.local4[0], raddr[0], rport);
          if (p < 0 || free(p)) return p;
        }
        return -1;
      },
      removed: (lport) => { if (lport >= this.ports.lo && lport <= this.ports.hi && !this.stack.listeners.has(lport)) this.ports.release(lport); },
    });
    this.published = ctx.counters([...COUNTER_NAMES.map((n) => `tcp_${n}`), ...MEMORY_NAMES]);
  }

  /** Run due timers, then hand every TCP segment addressed to this core's
   *  addresses to the stack. Call first in process(). */
  receive(batch: Batch): void {
    this.out.batch = batch;
    this.now = batch.now;
    this.stack.poll();
    const b = batch.bytes, offs = batch.offsets, lens = batch.lengths, flags = batch.flags, n = batch.count, l4s = this.local4;
    for (let i = 0; i < n; i++) {
      const o = offs[i], len = lens[i];
      if (len < 54) continue;
      const type = (b[o + 12] << 8) | b[o + 13];
      if (type === 0x0800) {
        if (b[o + 23] !== 6) continue;
        const dst = ((b[o + 30] << 24) | (b[o + 31] << 16) | (b[o + 32] << 8) | b[o + 33]) >>> 0;
        let hit = false;
        for (let j = 0; j < l4s.length; j++) if (l4s[j] === dst) hit = true;
        if (!hit) continue;
      } else if (type === 0x86dd) {
        if (len < 74 || b[o + 20] !== 6 || !this.mine6(b, o + 38)) continue;
      } else continue;
      // The checksum is left to offload, or the runtime checked it.
      // The verdict stays drop: the buffer goes back after the batch.
      this.stack.input(b, o + 14, len - 14, (flags[i] & (CHECKSUM_PENDING | CHECKSUM_GOOD)) !== 0);
    }
  }

  /** Send what the segments and the application's writes made due. Call last in process(). */
  send(): void {
    this.stack.flush();
    const c = this.stack.counters as unknown as Record<string, number>, p = this.published;
    const n = COUNTER_NAMES.length, m = this.stack.memory;
    for (let i = 0; i < n; i++) p[i] = c[COUNTER_NAMES[i]];
    p[n] = m.used; p[n + 1] = m.peak;
  }

  private mine6(b: Uint8Array, at: number): boolean {
    for (const a of this.local6) {
      let same = true;
      for (let j = 0; j < 16 && same; j++) same = b[at + j] === a[j];
      if (same) return true;
    }
    return false;
  }
}
