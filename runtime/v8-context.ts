// The VNF in a core's own V8 context (its worker thread): one loaded version
// of the bundle with its state. A core keeps the live generation, the one
// before it (for an instant rollback) and, during a reload, the one being
// prepared. This is the seam a second context kind (QuickJS) plugs into:
// load a bundle, build state from the previous generation's, process a batch.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import vm from "node:vm";
import type { Ctx, PortAddress } from "../sdk/vnf";
import { Histogram } from "../sdk/histogram";
import type { KeepArrays } from "../sdk/batch";
import type { NativeCore } from "./addon";

/** A core's batch arrays, laid over the engine's memory as core.layout
 *  says: received packets' slots first, then originated frames' (the one
 *  place that reads the layout, for the worker and the test harness). */
export function batchArrays(core: NativeCore): Pick<CoreView, "pool" | "offsets" | "lengths" | "inPorts" | "verdicts" | "flags" | "fresh" | "ctl" | "udpBound" | "kept"> {
  const L = core.layout, n = L.maxBatch + L.maxFresh;
  return {
    pool: new Uint8Array(core.pool),
    offsets: new Uint32Array(core.batch, L.offsets, n),
    lengths: new Uint32Array(core.batch, L.lengths, n),
    inPorts: new Uint8Array(core.batch, L.inPorts, n),
    verdicts: new Uint8Array(core.batch, L.verdicts, n),
    flags: new Uint8Array(core.batch, L.flags, n),
    fresh: new Uint32Array(core.batch, L.fresh, L.maxFresh),
    ctl: new Uint32Array(core.batch, L.ctl, 8),
    udpBound: new Uint8Array(core.batch, L.bound, 65536),
    kept: {
      tickets: new Uint32Array(core.batch, L.tickets, n),
      releases: new Uint32Array(core.batch, L.releases, 2 * L.maxReleases),
      free: new Uint32Array(core.batch, L.keepFree, L.keepLimit),
    },
  };
}

/** The core's batch memory, shared by every generation it loads. */
export interface CoreView {
  core: number;
  cores: number;
  addresses: readonly PortAddress[];
  tcpMemory?: number;     // --tcp-memory
  udpBound: Uint8Array;   // 65536 bytes: UDP ports bound on this core (native/core.h)
  portNames: string[];
  pool: Uint8Array;
  offsets: Uint32Array;
  lengths: Uint32Array;
  inPorts: Uint8Array;
  verdicts: Uint8Array;
  flags: Uint8Array;
  fresh: Uint32Array;   // fresh buffers for originated frames (native/core.h)
  ctl: Uint32Array;
  kept: KeepArrays;     // kept frames' tickets (native/core.h)
  log(text: string): void;
  counters(names: readonly string[]): Float64Array;   // the core's published counters (vnf-counters.ts)
  histogram(name: string, bounds: readonly number[]): Histogram;
  rss: { key: readonly number[]; dist: string };
  memory(name: string, bytes: number): SharedArrayBuffer;   // the core's named memory, the same across reloads
}

export interface Generation {
  readonly gen: number;
  readonly migrated: boolean;   // state came from migrate(prev), not init()
  readonly state: unknown;
  /** process() runs on empty cycles too (the VNF originates frames). */
  readonly originates: boolean;
  process(count: number, now: number): void;   // throws what the VNF throws
  trial(sample: Sample): Outcome;
  /** The bundle and config it was loaded from (a restarted context loads it again). */
  readonly source?: { file: string; config: unknown };
}

/** Copies of recent packets, as they arrived (--reload-diff). */
export interface Sample { frames: Uint8Array[]; inPorts: Uint8Array }
/** What a version does to a sample: per packet its verdict and its bytes. */
export interface Outcome { verdicts: Uint8Array; frames: Uint8Array[] }

interface LoadedVnf {
  ports: readonly string[];
  init?(ctx: Ctx): unknown;
  process(batch: unknown, state: unknown, ctx: Ctx): void;
  originates?: boolean;
  migrate?(prev: unknown, ctx: Ctx, fresh: unknown): unknown;
}

/** A version loaded beside the live one, its state not built yet. */
export interface Loaded {
  readonly gen: number;
  /** Whether start() will read the previous generation's state (migrate). */
  readonly migrates: boolean;
  /** Builds the state: init(), then, when this version has migrate and
   *  there is a prev, migrate(prev.state, ctx, fresh). The reload protocol
   *  runs fresh() while the live generation goes on, and start(prev) only
   *  in the hold, so the hold costs migrate alone. */
  fresh(): void;
  start(prev?: Generation): Generation;
  /** This version on its own fresh init() state, over copies: no live state
   *  is touched, so the outcome shows the policy, not the history. */
  trial(sample: Sample): Outcome;
}

/** A bundle as a script: the module wrapper on its first line, so line
 *  numbers (and the source map's) stay those of the file. */
function wrap(code: string): string {
  return `(function (exports, require, module, __filename, __dirname) {${code}\n})`;
}

/** V8's code cache for a bundle, made once by the supervisor: a core that
 *  loads it skips parsing and compiling (its own isolate takes the cache). */
export function codeCache(file: string): Buffer {
  return new vm.Script(wrap(readFileSync(file, "utf8")), { filename: file }).createCachedData();
}

/** Loading `file` in steps, each run between two batches, so a core's
 *  longest pause is the longest step, not their sum. The last step's result
 *  is the loaded version. */
export function loadSteps(file: string, gen: number, view: CoreView, config: unknown, cache?: Buffer): (() => Loaded | undefined)[] {
  let script: vm.Script;
  let mod: { default?: LoadedVnf; Batch?: any };
  return [
    () => { script = new vm.Script(wrap(readFileSync(file, "utf8")), { filename: file, cachedData: cache }); return undefined; },
    () => {
      const module = { exports: {} as typeof mod };
      script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
      mod = module.exports;
      return undefined;
    },
    () => loadModule(mod, gen, view, config),
  ];
}

/** Loads `file` all at once (a core's first version). */
export function loadBundle(file: string, gen: number, view: CoreView, config: unknown): Loaded {
  let loaded: Loaded | undefined;
  for (const step of loadSteps(file, gen, view, config)) loaded = step();
  return loaded!;
}

export function loadModule(mod: { default?: LoadedVnf; Batch?: any }, gen: number, view: CoreView, config: unknown): Loaded {
  const vnf = mod.default as LoadedVnf;
  if (!vnf || typeof vnf.process !== "function" || !Array.isArray(vnf.ports))
    throw new Error("the default export must be defineVnf({ ports, process, ... })");
  if (vnf.ports.join("\0") !== view.portNames.join("\0"))
    throw new Error(`this version's ports (${vnf.ports.join(", ")}) differ from the running ones (${view.portNames.join(", ")}): ports are fixed while running; restart to change them`);
  // Each bundle carries its own SDK, so its own Batch and packet views.
  const batch = new mod.Batch!(view.pool, view.offsets, view.lengths, view.inPorts, view.verdicts, view.portNames, view.flags, view.fresh, view.ctl, false, view.kept);
  batch.checksumOffload = true;   // the engine reads flags at retire (native/core.h kFlagPending)
  const ctx: Ctx = {
    core: view.core,
    cores: view.cores,
    addresses: view.addresses,
    tcpMemory: view.tcpMemory,
    udpBound: view.udpBound,
    ports: view.portNames,
    config,
    port: (name: string) => batch.port(name),
    log: (...a: unknown[]) => view.log(a.map(String).join(" ")),
    counters: (names: readonly string[]) => view.counters(names),
    histogram: (name: string, bounds: readonly number[]) => view.histogram(name, bounds),
    rss: view.rss,
    memory: (name: string, bytes: number) => view.memory(name, bytes),
  };
  let fresh: { state: unknown } | undefined;
  const trial = (sample: Sample): Outcome => {
    const b = mod.Batch!.fromFrames(sample.frames, view.portNames);
    b.inPorts.set(sample.inPorts);
    const quiet: Ctx = { ...ctx, port: (name: string) => b.port(name), log: () => {}, counters: (names) => new Float64Array(names.length), histogram: (_n, bounds) => new Histogram(bounds) };
    try {
      vnf.process(b, vnf.init ? vnf.init(quiet) : undefined, quiet);
    } catch {
      b.verdicts.fill(0);   // a batch that throws is dropped whole, as live
    }
    const frames = sample.frames.map((_, i) => b.bytes.slice(b.offsets[i], b.offsets[i] + b.lengths[i]));
    return { verdicts: b.verdicts.slice(0, sample.frames.length), frames };
  };
  return {
    gen,
    trial,
    migrates: typeof vnf.migrate === "function",
    fresh() { fresh ??= { state: vnf.init ? vnf.init(ctx) : undefined }; },
    start(prev?: Generation): Generation {
      this.fresh();
      const migrated = !!(prev && vnf.migrate);
      const state = migrated ? vnf.migrate!(prev!.state, ctx, fresh!.state) : fresh!.state;
      return {
        gen,
        migrated,
        state,
        trial,
        originates: vnf.originates === true,
        process(count: number, now: number) {
          batch.count = count;
          batch.now = now;
          batch._tuplesFilled = false;
          vnf.process(batch, state, ctx);
        },
      };
    },
  };
}
