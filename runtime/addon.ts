// The native engine's interface, and its loading: native/locate.js finds it
// (a source build in build/Release, else the package's prebuild) and turns a
// failure into one line.
import type { NativeEndpoint } from "./endpoint";
import { join } from "node:path";
import { load } from "../native/locate.js";

export interface CounterRegion {
  buffer: ArrayBuffer;
  lanes: number;
  ports: number;
  core: string[];
  port: string[];
}

export interface PipeHost {
  send(frames: Uint8Array[]): number;
  recv(max?: number): Buffer[] | null;   // null once the peer has closed and the pipe is empty
  close(): void;
}

export interface NativeEngine {
  readonly id: number;
  describe(): string[];
  counters(): CounterRegion;
  pipeHost(name: string): PipeHost;
  start(): void;   // the I/O threads of sw1/sw2
  stop(): void;    // inputs stop; what is in flight drains
  join(): void;    // wait for the I/O threads
  close(): void;
}

export type Distribution = "none" | "hw" | "sw1" | "sw2";

export interface EngineConfig {
  buffers: number;
  largeBuffers: number;
  bufSize: number;
  headroom: number;
  ringSize: number;
  cores: number;
  dist: Distribution;
  rxBatch: number;
  txBatch: number;
  idleUs: number;
  backlog: number;   // frames a core's stand-in may hold while the core is away; 0: none
  keep: number;      // frames a core's VNF may keep past their batch; 0: none
  busyPoll: boolean;
  count: number;
  ioCpus: number[];
  rssKey: Uint8Array;
  overflow: "auto" | "drop" | "wait";
  countersFile?: string;   // map the counters from this file (native/counters.h)
  endpoint?: NativeEndpoint;   // --ip and neighbours (native/endpoint.h)
  ports: { name: string; driver: string; spec?: string; options: Record<string, string> }[];   // spec: what the user wrote, for messages
}

export interface CoreOptions {
  rxBatch: number;
  txBatch: number;
  busyPoll: boolean;
  idleUs: number;
  cpu: number;     // -1: leave the thread where the OS puts it
}

export interface NativeCore {
  /** A worker that died left this core attached, and this one took it:
   *  its first cycle() drops the batch that worker had in hand. */
  adopted: boolean;
  pool: ArrayBuffer;
  batch: ArrayBuffer;
  layout: {
    offsets: number; lengths: number; inPorts: number; verdicts: number; flags: number; meta: number; fresh: number; ctl: number; bound: number;
    tickets: number; releases: number; keepFree: number; maxFresh: number; maxBatch: number; maxReleases: number; keepLimit: number;
  };
  /** Where the batch arrays sit in a guest context's memory (core_guest.cc). */
  guestLayout: { offsets: number; lengths: number; inPorts: number; verdicts: number; flags: number; meta: number; fresh: number; ctl: number; tickets: number; releases: number; keepFree: number; bytes: number };
  /** failed: 0, or why the previous batch is dropped whole (quickjs-context.ts FAILED). */
  cycle(failed: number): number;
  finish(failed: number): void;
  /** The thread leaves the packet loop until the next cycle() (loading a
   *  version, a swap's hold): a native stand-in receives meanwhile. */
  away(): void;
  /** The batch into a guest's memory at base (cap bytes for frames): its size, or -(bytes needed). */
  guestIn(memory: ArrayBuffer, base: number, cap: number): number;
  /** The guest's verdicts and the frames it changed, back into the batch. */
  guestOut(memory: ArrayBuffer, base: number, cap: number): void;
  runNativeForward(ms: number): number;
  detach(): void;
}

/** One counter of native/counters.h: a drop cause when `drop`. */
export interface CounterInfo {
  name: string;
  help: string;
  drop: boolean;
}

/** One option of a driver (native/port.h's OptionSpec). */
export interface OptionSpec {
  key: string;
  type: string;      // uint | quantity | fraction | flag | choice | sizes | range | repeat | ifname | text
  values: string;
  default?: string;
  help: string;
}

/** A driver as its file declares it (native/port.h's DriverSpec). */
export interface DriverSpec {
  name: string;
  arg: string;
  argKeys: string;
  help: string;
  options: OptionSpec[];
  host: { socket: number; caps: string; device: string; deviceFix: string; built: boolean; builtFix: string };
  usable: string;
}

/** What a port needs from the buffer pool (native/port.h's PoolNeeds). */
export interface PoolNeeds {
  pageAligned: boolean;
  maxFrame: number;
  windowBytes: number;
}

interface Addon {
  Engine: new (cfg: EngineConfig) => NativeEngine;
  attach(engineId: number, core: number, opts: CoreOptions): NativeCore;
  toeplitz(key: Uint8Array, input: Uint8Array): number;
  frameHash(key: Uint8Array, frame: Uint8Array): number;
  socketProbe(domain: number, type: number): string;
  counterList(): { core: CounterInfo[]; port: CounterInfo[] };
  driverSpecs(): DriverSpec[];
  poolNeeds(port: { index: number; name: string; driver: string; options: Record<string, string> }): PoolNeeds;
}

let addon: Addon | undefined;

/** The engine; throws an AddonError whose message is one line saying what to do. */
export function loadAddon(): Addon {
  // runtime/ (tests) and dist/ (the package) both sit one level below the root.
  addon ??= load(join(__dirname, "..")) as Addon;
  return addon;
}
