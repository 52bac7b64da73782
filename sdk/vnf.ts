import type { Batch } from "./batch";
import { Histogram } from "./histogram";
import { RSS_SYMMETRIC_KEY } from "./rss";

/** One address of a port (--ip). */
export interface PortAddress { port: number; ip: string; prefix: number; v6: boolean }

/** What a VNF sees of the core it runs on. */
export interface Ctx {
  /** This core's number, 0..cores-1. */
  core: number;
  cores: number;
  /** The ports' own addresses (--ip), for sockets: which port, the address
   *  as text, its prefix length. Empty without --ip. */
  readonly addresses: readonly PortAddress[];
  /** --tcp-memory: bytes of TCP buffers this core may hold (sdk/tcp's
   *  budget); undefined: the SDK's default. */
  readonly tcpMemory?: number;
  /** UDP ports this core's sockets are bound to, one byte each (1: bound):
   *  the runtime answers datagrams to the others with port unreachable.
   *  sdk/udp.ts writes it; a VNF does not need to. */
  readonly udpBound: Uint8Array;
  /** The VNF's port names, in index order. */
  ports: readonly string[];
  /** The run's --config (a JSON file or inline JSON), parsed; undefined
   *  without one. Read again at each reload. Check it in init() and throw
   *  an Error naming the bad field: the run (or the reload) is refused. */
  readonly config: unknown;
  /** Port index by name; throws for unknown names. */
  port(name: string): number;
  log(...a: unknown[]): void;
  /** Named counters of this core, one slot each (names like `blocked`:
   *  letters, digits and _). vnfrun top, --metrics and the summary show
   *  them, summed over cores; the VNF only adds to the slots. The same
   *  names give the same array again, also after a reload, so counts go on.
   *  A name ending in `_now` is a level the VNF sets, not a count (memory
   *  in use, entries held): it may go down, Prometheus gets it as a gauge
   *  and top shows its value without a rate (isGauge). */
  counters(names: readonly string[]): Float64Array;
  /** A histogram of this core (name as for counters; upper bounds rising),
   *  shown like the counters; Prometheus gets it as a histogram. */
  histogram(name: string, bounds: readonly number[]): Histogram;
  /** How packets reach this core: the RSS key (40 bytes) and the
   *  distribution mode ("none", "hw", "sw1", "sw2"): with `cores`, which
   *  core a flow lands on (sdk/rss.ts rssCore); sdk/rss-port.ts picks local
   *  ports (sockets, NAT bindings) whose replies come back to this core. */
  readonly rss: { readonly key: readonly number[]; readonly dist: string };
  /** The core's named shared memory of `bytes` (at least), zeroed when
   *  first made and the same buffer again for the same name (after a
   *  reload too): where a FlowTable keeps connections a new version
   *  re-attaches (new FlowTable({ ..., buffer: ctx.memory("conns", FlowTable.bytesFor(o)) })).
   *  The supervisor is told of each one, so a restarted core can be given
   *  it back. */
  memory(name: string, bytes: number): SharedArrayBuffer;
}

const COUNTER_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A ctx.counters slot that holds a level (it may go down), not a count. */
export function isGauge(name: string): boolean {
  return name.endsWith("_now");
}

/** Checks counter names (a bad one is a one-line error naming it). */
export function checkCounterNames(names: readonly string[]): void {
  for (const n of names)
    if (typeof n !== "string" || !COUNTER_NAME.test(n)) throw new Error(`ctx.counters: ${JSON.stringify(n)} is not a counter name: use letters, digits and _ (not first)`);
  if (new Set(names).size !== names.length) throw new Error(`ctx.counters: names repeat in ${names.join(", ")}`);
}

export interface VnfDefinition<S> {
  /** Port names; a packet's verdict k + 1 sends it out of ports[k]. */
  ports: readonly string[];
  /** Per-core state, built once per core (and per reload without migrate). */
  init?(ctx: Ctx): S;
  /** Called per batch. Set verdicts; the default is drop. */
  process(batch: Batch, state: S, ctx: Ctx): void;
  /** The VNF sends frames of its own (batch.originate()), not only
   *  replies: process() then also runs on cycles where nothing arrived
   *  (batch.count 0), and the core does not sleep after a cycle that sent
   *  some. Leave it off for VNFs that only answer or forward. */
  originates?: boolean;
  /** Hot reload: this version's state from the previous version's. `fresh`
   *  is what init() built for this version (before the cores paused): carry
   *  what should survive from `prev` into it and return it, or return `prev`
   *  itself when the layout did not change. Runs while the core holds its
   *  next batch, so keep it short; do not modify `prev` (if any core fails,
   *  the old version goes on with it). Without migrate, state starts fresh. */
  migrate?(prev: unknown, ctx: Ctx, fresh: S): S;
}

/** Check a VNF definition and return it unchanged. Throws a clear Error
 *  for empty, duplicate or non-string ports and for missing functions. */
export function defineVnf<S>(def: VnfDefinition<S>): VnfDefinition<S> {
  if (def === null || typeof def !== "object") {
    throw new Error("defineVnf: expected an object like { ports: [...], process(batch, state, ctx) {...} }");
  }
  const ports: unknown = def.ports;
  if (!Array.isArray(ports) || ports.length === 0) {
    throw new Error("defineVnf: `ports` must be a non-empty array of port names");
  }
  if (ports.length > 255) throw new Error(`defineVnf: at most 255 ports (got ${ports.length})`);
  const seen = new Set<string>();
  for (const p of ports) {
    if (typeof p !== "string" || p.length === 0) {
      throw new Error(`defineVnf: port names must be non-empty strings (got ${JSON.stringify(p)})`);
    }
    if (seen.has(p)) throw new Error(`defineVnf: duplicate port name "${p}"`);
    seen.add(p);
  }
  if (typeof def.process !== "function") throw new Error("defineVnf: `process` must be a function");
  if (def.init !== undefined && typeof def.init !== "function") {
    throw new Error("defineVnf: `init` must be a function when given");
  }
  if (def.originates !== undefined && typeof def.originates !== "boolean") {
    throw new Error("defineVnf: `originates` must be true or false when given");
  }
  if (def.migrate !== undefined && typeof def.migrate !== "function") {
    throw new Error("defineVnf: `migrate` must be a function when given");
  }
  return def;
}

/** A Ctx for tests and simple hosts: port() resolves against `ports`. */
export function makeCtx(
  ports: readonly string[],
  opts: { core?: number; cores?: number; config?: unknown; log?: (...a: unknown[]) => void; rss?: { key: readonly number[]; dist: string }; addresses?: readonly PortAddress[] } = {},
): Ctx {
  const names = ports.slice();
  const memories = new Map<string, SharedArrayBuffer>();
  return {
    core: opts.core ?? 0,
    cores: opts.cores ?? 1,
    addresses: opts.addresses ?? [],
    udpBound: new Uint8Array(65536),
    ports: names,
    config: opts.config,
    port(name: string): number {
      const i = names.indexOf(name);
      if (i < 0) throw new Error(`unknown port "${name}"; this VNF's ports are: ${names.join(", ")}`);
      return i;
    },
    log: opts.log ?? ((): void => undefined),
    counters(names: readonly string[]): Float64Array {
      checkCounterNames(names);
      return new Float64Array(names.length);
    },
    histogram(name: string, bounds: readonly number[]): Histogram {
      checkCounterNames([name]);
      return new Histogram(bounds);
    },
    rss: opts.rss ?? { key: RSS_SYMMETRIC_KEY, dist: (opts.cores ?? 1) > 1 ? "sw1" : "none" },
    memory(name: string, bytes: number): SharedArrayBuffer {
      let m = memories.get(name);
      if (!m || m.byteLength < bytes) memories.set(name, (m = new SharedArrayBuffer(bytes)));
      return m;
    },
  };
}
