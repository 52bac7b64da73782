// What the supervisor and a core's worker share: the start-up data and the
// control words (a SharedArrayBuffer the loop checks once per batch).
import type { MessagePort } from "node:worker_threads";
import type { CoreOptions } from "./addon";
import type { Diff } from "./sampler";
import type { ContextLimits } from "./quickjs-context";
import type { PortAddress } from "./endpoint";
import type { SaveFailed } from "./failed-batches";

export interface WorkerInit {
  engineId: number;
  core: number;
  cores: number;
  bundleFile: string;
  config?: unknown;             // --config's value: ctx.config of the first generation
  rss: { key: number[]; dist: string };   // ctx.rss: how packets reach this core
  addresses: PortAddress[];     // --ip: ctx.addresses, for the SDK's sockets
  tcpMemory?: number;           // --tcp-memory: ctx.tcpMemory
  portNames: string[];
  options: CoreOptions;
  control: SharedArrayBuffer;   // Int32Array of CTL_WORDS, for control messages
  channel: MessagePort;         // reload messages both ways (reload.ts)
  watch: SharedArrayBuffer;     // Int32Array [in process(), batches done]: the supervisor's watchdog
  nativeForward?: number;       // run the C++ l2fwd for this many ms instead of JS
  reloadDiff?: boolean;         // keep copies of recent packets to compare versions on (sampler.ts)
  context: "v8" | "quickjs";    // which kind of context runs the VNF (v8-context.ts, quickjs-context.ts)
  limits: ContextLimits;        // --memory-limit (quickjs: the runtime's), --cpu-budget
  saveFailed?: SaveFailed;      // --save-failed: keep batches whose process() threw (failed-batches.ts)
  profile?: boolean;            // --profile: time each process() call (profile.ts)
  gen?: number;                 // the live generation's number (a worker started in place of one that died; else 1)
  lost?: number;                // such a worker: the cause its core's batch in hand is dropped under (FAILED)
  held?: HeldState;             // such a worker: the dead one's counters and ctx.memory, to go on with
  wasm?: object;                // quickjs: the QuickJS WASM module, compiled once by the supervisor
}

/** What a core's worker leaves the supervisor, for one started in its place. */
export interface HeldState {
  counters: { names: string[]; buffer: SharedArrayBuffer }[];
  histograms: { name: string; bounds: number[]; buffer: SharedArrayBuffer }[];
  memory: { name: string; buffer: SharedArrayBuffer }[];
}

// Stopping is the engine's job (inputs stop, rings drain, each core's cycle
// then returns done); these words carry what the engine does not know about.
export const CTL_WORDS = 4;
export const CTL_SEQ = 0;       // bumped after each message the supervisor sends: a core
                                // reads its channel only when this word has moved
export const CTL_TRACE = 1;     // what attached traces want (tracer.ts TRACE bits); 0: none
export const WATCH_BUSY = 0;    // 1 while process() runs
export const WATCH_BATCHES = 1; // batches finished (wraps)

/** Supervisor -> core, for one reload attempt `id` that would make
 *  generation `gen` live:
 *    prepare  load the bundle beside the live one (and run init() when the
 *             new version has no migrate: it needs nothing from the live
 *             state); the core goes on with the live generation meanwhile
 *    build    (only when the new version has migrate) migrate(live state),
 *             then hold: process nothing until
 *    commit   switch, and answer `switched`; or
 *    abort    forget the attempt, go on with the live generation */
export type ToCore =
  | { type: "prepare"; id: number; gen: number; file: string; cache?: Buffer; config?: unknown }   // cache: V8's code cache for the file; config: --config read again
  | { type: "prepare"; id: number; gen: number; rollback: true }
  | { type: "build"; id: number }
  | { type: "commit"; id: number }
  | { type: "abort"; id: number };

/** Core -> supervisor. `migrated`: the new state comes from migrate()
 *  (in `prepared`: will come, at `build`). `ms`: how long that step kept
 *  the core from its next batch. */
export type FromCore =
  | { type: "prepared" | "built"; id: number; core: number; ok: true; migrated: boolean; ms: number; diff?: Diff }
  | { type: "prepared" | "built"; id: number; core: number; ok: false; error: string }
  | { type: "switched"; id: number; core: number; holdMs: number };
