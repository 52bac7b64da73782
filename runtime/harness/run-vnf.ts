// runVnf: a VNF through the real engine, in this process. Each VNF port is a
// pipe port whose far end this code holds; a core is attached on the calling
// thread and cycled here, so the engine's pool, rings, batch arrays, verdict
// retirement and counters are the ones a run uses, with no worker thread,
// root or NIC. Inputs go in a segment at a time (one port's consecutive
// packets) and each segment drains before the next, so every packet's
// verdict is known, in input order, on any number of cores.
import { rmSync } from "node:fs";
import { dirname } from "node:path";
import { loadAddon, type NativeCore, type NativeEngine, type PipeHost } from "../addon";
import { compileVnf } from "../compile";
import { readConfig } from "../config";
import { errorLocation } from "../errors";
import { SYMMETRIC_KEY } from "../rss";
import { readLanes } from "../stats";
import { batchArrays, loadBundle, loadModule, type CoreView, type Generation } from "../v8-context";
import { DEFAULTS } from "../defaults";
import { CoreCounters, VnfCounters, type HistogramTotals } from "../vnf-counters";
import { CoreMemory } from "../vnf-memory";
import { Batch, KEEP_VERDICT } from "../../sdk/batch";
import { rssCore } from "../../sdk/rss";
import { frameOf, type PacketLike } from "./packet";
import { readCapture } from "./pcap-file";

/** A VNF's definition (defineVnf's result), loosely typed: the VNF may
 *  come from another copy of the SDK than this harness's. */
export interface VnfLike {
  ports: readonly string[];
  init?(ctx: any): any;
  process(batch: any, state: any, ctx: any): void;
  migrate?(prev: unknown, ctx: any, fresh: any): any;
}

/** Packets for one port: builders or bytes, or a pcap/pcapng file's path. */
export type PortInput = readonly (PacketLike | { port: string; packet: PacketLike })[] | string;
/** Per port name, or one list for the VNF's first port (an item may name its port). */
export type Inputs = Record<string, PortInput> | PortInput;

export interface RunVnfOptions {
  /** ctx.config: as --config (a JSON file or inline JSON text), or the value itself. */
  config?: unknown;
  cores?: number;          // default 1
  dist?: "none" | "hw";    // default none for one core, hw (the engine's RSS at the source) for more
  context?: "v8";          // the context the VNF runs in
  /** A batch whose process() throws: "throw" (default) ends the run with that
   *  error; "record" drops the batch as a live run does, its packets' verdicts
   *  "error", and the error in `errors`. */
  onError?: "throw" | "record";
  rxBatch?: number;        // most packets per batch (default 256)
  allowNode?: boolean;     // a VNF given by path may import Node built-ins
}

export interface RunVnfResult {
  /** Per input packet, in input order: the port it was sent out of, "drop", "kept" (batch.keep: it leaves, if ever, in a later batch), or "error". */
  verdicts: string[];
  /** Per port, the frames it transmitted, in order. */
  out: Record<string, Uint8Array[]>;
  /** The VNF's ctx.counters, summed over cores. */
  counters: Record<string, number>;
  histograms: Record<string, HistogramTotals>;
  /** The engine's counters: per port (rx/tx of the VNF's side, drops by cause) and per core. */
  engine: { ports: Record<string, Record<string, number>>; cores: Record<string, number>[] };
  /** Each core's VNF state after the run (core 0's is `state`). */
  states: unknown[];
  state: unknown;
  logs: string[];
  errors: { error: string; core: number; packets: number[] }[];
  batches: number;
}

// Pipes carry frames up to a standard buffer less its headroom.
const MAX_FRAME = 2048 - 64;

interface Item { index: number; port: number; frame: Uint8Array }

function collect(inputs: Inputs, portNames: readonly string[]): Item[] {
  const items: Item[] = [];
  const portIndex = (name: string) => {
    const i = portNames.indexOf(name);
    if (i < 0) throw new Error(`runVnf: no port "${name}"; this VNF's ports are: ${portNames.join(", ")}`);
    return i;
  };
  const add = (port: number, list: PortInput) => {
    const packets = typeof list === "string" ? readCapture(list) : list;
    for (const p of packets) {
      const named = p && typeof p === "object" && "port" in p && "packet" in p;
      const frame = frameOf(named ? (p as { packet: PacketLike }).packet : (p as PacketLike));
      const at = items.length;
      if (frame.length === 0 || frame.length > MAX_FRAME) throw new Error(`runVnf: packet ${at} is ${frame.length} bytes; give 1 to ${MAX_FRAME}`);
      items.push({ index: at, port: named ? portIndex((p as { port: string }).port) : port, frame });
    }
  };
  if (typeof inputs === "string" || Array.isArray(inputs)) add(0, inputs as PortInput);
  else for (const [name, list] of Object.entries(inputs as Record<string, PortInput>)) add(portIndex(name), list);
  return items;
}

function configValue(config: unknown): unknown {
  return typeof config === "string" ? readConfig(config).value : config;
}

/** Runs `vnf` (its definition, or the path of its .ts file) over `inputs`. */
export async function runVnf(vnf: VnfLike | string, inputs: Inputs, opts: RunVnfOptions = {}): Promise<RunVnfResult> {
  if (opts.context && opts.context !== "v8") throw new Error(`runVnf: context "${opts.context}": only "v8" is available`);
  const cores = opts.cores ?? 1;
  if (!Number.isInteger(cores) || cores < 1 || cores > 64) throw new Error(`runVnf: cores ${cores}: give 1 to 64`);
  const dist = opts.dist ?? (cores === 1 ? "none" : "hw");
  if (dist === "none" && cores > 1) throw new Error(`runVnf: dist "none" runs one core; for ${cores} use "hw"`);
  const config = configValue(opts.config);
  let bundleFile: string | undefined;
  let def: VnfLike | undefined;
  if (typeof vnf === "string") bundleFile = (await compileVnf(vnf, { allowNode: opts.allowNode })).file;
  else def = vnf;
  try {
    const portNames = def ? [...def.ports] : portsOfBundle(bundleFile!);
    return runEngine(portNames, inputs, opts, cores, dist, config, (view) =>
      def ? loadModule({ default: def as never, Batch }, 1, view, config) : loadBundle(bundleFile!, 1, view, config));
  } finally {
    if (bundleFile) rmSync(dirname(bundleFile), { recursive: true, force: true });
  }
}

function portsOfBundle(file: string): string[] {
  const vnf = require(file).default;
  if (!vnf || !Array.isArray(vnf.ports)) throw new Error(`runVnf: ${file}: the default export must be defineVnf({ ports, process, ... })`);
  return [...vnf.ports];
}

function runEngine(portNames: string[], inputs: Inputs, opts: RunVnfOptions, cores: number, dist: "none" | "hw", config: unknown,
  load: (view: CoreView) => { start(): Generation }): RunVnfResult {
  void config;
  const items = collect(inputs, portNames);
  const addon = loadAddon();
  const rxBatch = opts.rxBatch ?? 256;
  const tag = `vnfrun-test-${process.pid}-${seq++}`;
  const engine: NativeEngine = new addon.Engine({
    buffers: 8192, largeBuffers: DEFAULTS.largeBuffers, bufSize: DEFAULTS.bufSize, headroom: DEFAULTS.headroom, ringSize: DEFAULTS.ringSize, cores, dist, rxBatch, txBatch: 32, idleUs: 0, backlog: 0, keep: 256, busyPoll: true,
    count: 0, ioCpus: [], rssKey: SYMMETRIC_KEY, overflow: "wait",
    ports: portNames.map((name) => ({ name, driver: "pipe", options: { name: `${tag}-${name}` } })),
  });
  // hosts[core][port]: in hw mode each core has its own pipe per port (NAME.q).
  const hosts: PipeHost[][] = Array.from({ length: cores }, (_, c) =>
    portNames.map((name) => engine.pipeHost(cores > 1 ? `${tag}-${name}.${c}` : `${tag}-${name}`)));
  const attached: NativeCore[] = [];
  const verdicts: string[] = new Array(items.length).fill("drop");
  const out: Record<string, Uint8Array[]> = Object.fromEntries(portNames.map((n) => [n, []]));
  const logs: string[] = [];
  const errors: RunVnfResult["errors"] = [];
  const vnfCounters = new VnfCounters();
  let batches = 0;
  try {
    const lanes = Array.from({ length: cores }, (_, c) => {
      const core = addon.attach(engine.id, c, { rxBatch, txBatch: 32, busyPoll: true, idleUs: 0, cpu: -1 });
      attached.push(core);
      const L = core.layout;
      const counters = new CoreCounters(c, (m) => vnfCounters.add(m));
      const memory = new CoreMemory(c, () => {});
      const view: CoreView = {
        core: c, cores, portNames,
        addresses: [],
        ...batchArrays(core),
        log: (text) => logs.push(cores > 1 ? `[core ${c}] ${text}` : text),
        counters: (names) => counters.get(names),
        histogram: (name, bounds) => counters.histogram(name, bounds),
        rss: { key: [...SYMMETRIC_KEY], dist },
        memory: (name, bytes) => memory.get(name, bytes),
      };
      return { core, view, gen: load(view).start(), meta: new Float64Array(core.batch, L.meta, 1), inFlight: [] as number[], failed: 0 };
    });
    const drain = () => {
      for (const row of hosts) row.forEach((h, p) => { for (let got; (got = h.recv(1024)) && got.length; ) for (const f of got) out[portNames[p]].push(new Uint8Array(f)); });
    };
    const cycle = (lane: (typeof lanes)[number], c: number): number => {
      const n = lane.core.cycle(lane.failed);
      lane.failed = 0;
      if (n <= 0) return 0;
      batches++;
      const ids = lane.inFlight.splice(0, n);
      if (ids.length < n) throw new Error(`runVnf: core ${c} received ${n} packets, ${ids.length} were sent to it (a frame the engine split?)`);
      try {
        lane.gen.process(n, lane.meta[0]);
      } catch (e) {
        if (opts.onError !== "record") throw Object.assign(new Error(`runVnf: process() threw on packets ${ids[0]}..${ids[n - 1]}: ${errorLocation(e)}`), { cause: e });
        lane.failed = 1;
        errors.push({ error: errorLocation(e), core: c, packets: ids });
        for (const i of ids) verdicts[i] = "error";
        return n;
      }
      const v = lane.view.verdicts;
      for (let i = 0; i < n; i++) verdicts[ids[i]] = v[i] === 0 ? "drop" : v[i] === KEEP_VERDICT ? "kept" : portNames[v[i] - 1] ?? `bad verdict ${v[i]}`;
      return n;
    };
    // Segments: runs of packets for one port, each drained before the next.
    for (let s = 0; s < items.length; ) {
      let e = s;
      while (e < items.length && items[e].port === items[s].port) e++;
      const port = items[s].port;
      const queues: Item[][] = lanes.map(() => []);
      for (let i = s; i < e; i++) queues[cores > 1 ? coreOf(addon, items[i].frame, cores) : 0].push(items[i]);
      let left = e - s, idle = 0;
      while (left > 0) {
        let moved = 0;
        lanes.forEach((lane, c) => {
          const q = queues[c];
          if (q.length) {
            const k = hosts[c][port].send(q.slice(0, 256).map((it) => it.frame));
            for (const it of q.splice(0, k)) lane.inFlight.push(it.index);
            moved += k;
          }
          const n = cycle(lane, c);
          left -= n;
          moved += n;
        });
        drain();
        idle = moved ? 0 : idle + 1;
        if (idle > 1000) throw new Error(`runVnf: ${left} packets sent to the engine never reached the VNF`);
      }
      s = e;
    }
    // Retire the last batches (their verdicts send or free), then collect.
    lanes.forEach((lane, c) => { cycle(lane, c); });
    drain();
    return {
      verdicts, out, logs, errors, batches,
      counters: vnfCounters.totals(),
      histograms: vnfCounters.histograms(),
      engine: engineCounters(engine, portNames, cores),
      states: lanes.map((l) => l.gen.state),
      state: lanes[0].gen.state,
    };
  } finally {
    for (const core of attached) { core.finish(0); core.detach(); }
    for (const row of hosts) for (const h of row) h.close();
    engine.close();
  }
}

let seq = 0;

function coreOf(addon: ReturnType<typeof loadAddon>, frame: Uint8Array, cores: number): number {
  return rssCore(addon.frameHash(SYMMETRIC_KEY, frame), cores);
}

/** The engine's counters for the VNF's side: core lanes only (the host's
 *  own end of each pipe counts on a lane of its own, left out). */
function engineCounters(engine: NativeEngine, portNames: string[], cores: number): RunVnfResult["engine"] {
  const lanes = readLanes(engine.counters(), cores).slice(0, cores);
  const ports: Record<string, Record<string, number>> = {};
  portNames.forEach((name, p) => {
    const t: Record<string, number> = {};
    for (const l of lanes) for (const [k, v] of Object.entries(l.ports[p])) t[k] = (t[k] ?? 0) + v;
    ports[name] = t;
  });
  return { ports, cores: lanes.map((l) => l.core) };
}
