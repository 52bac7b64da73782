// The `quickjs` context: a core's VNF in its own QuickJS runtime (a WASM
// build of QuickJS in the core's worker thread), for code that must not
// reach the host. It runs the same bundle and SDK as the V8 context, behind
// the same seam (v8-context.ts: Loaded, Generation). Per batch: one native
// call copies the frames and their arrays into the guest's fixed buffer
// (core_guest.cc), one call runs process(), one call brings the verdicts
// and the changed frames back. Limits: --memory-limit (the runtime's
// malloc limit) and --cpu-budget (an interrupt handler QuickJS polls).
//
// This file uses quickjs-emscripten's internals (the context's emscripten
// module, for the heap): the package is pinned, and
// test/quickjs-context.test.ts fails on an upgrade that breaks them.
import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { newQuickJSWASMModuleFromVariant, newVariant, type QuickJSContext, type QuickJSHandle, type QuickJSRuntime, type QuickJSWASMModule } from "quickjs-emscripten-core";
import variant from "@jitl/quickjs-wasmfile-release-sync";
import type { NativeCore } from "./addon";
import type { CoreView, Generation, Loaded, Outcome, Sample } from "./v8-context";
import { checkMemoryRequest } from "./vnf-memory";
import { guestDriver, type GuestHost } from "./quickjs-guest";
import { checkCounterNames } from "../sdk/vnf";
import { checkBounds } from "../sdk/histogram";
import { fillTuples, Tuples, TUPLES_FILLED, TUPLES_WANTED } from "../sdk/tuples";

/** The limits a core's context runs under (--memory-limit, --cpu-budget). */
export interface ContextLimits {
  memoryBytes?: number;
  cpuBudgetMs?: number;
}

/** Why a batch was dropped whole: the native BatchFailure codes. */
export const FAILED = { threw: 1, cpuBudget: 2, memory: 3, restart: 4 } as const;

/** An error from the guest, carrying the cause its batch is counted under. */
export class GuestError extends Error {
  /** lost: the context cannot go on (out of memory: a leak would not heal;
   *  a WASM trap) and the core starts a new one (worker.ts). */
  constructor(name: string, message: string, stack: string, readonly failure: number, readonly lost = false) {
    super(message);
    this.name = name;
    this.stack = `${name}: ${message}\n${stack}`;
  }
}

// QuickJS checks its stack against this (the WASM shadow stack): a deep
// recursion ends in a RangeError-like InternalError, not a host crash.
const STACK_BYTES = 256 * 1024;
// At most this many stack lines of a guest error are kept (a stack overflow
// has thousands).
const STACK_LINES = 12;
// Frames are laid out in 2048-byte slots (core_guest.cc); the batch buffer
// starts with room for a full batch of pool-sized frames and grows for
// larger ones.
const SLOT = 2048;

// The WASM heap starts at this size (the build's initial memory).
const WASM_START = 16 * 2 ** 20;

// (The project's lib has no WebAssembly values; Node has them.)
interface WasmApi { compile(b: Uint8Array): Promise<object>; Memory: new (d: { initial: number; maximum: number }) => object }
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

let compiled: Promise<object> | undefined;

/** The QuickJS WASM module, compiled: the supervisor hands it to each
 *  core's worker (WorkerInit.wasm; a compiled module crosses threads
 *  without being compiled again), so a worker started in place of a dead
 *  one skips the compile. */
export function compiledQuickjs(given?: object): Promise<object> {
  if (given) compiled ??= Promise.resolve(given);
  compiled ??= (async () => {
    const { readFile } = await import("node:fs/promises");
    const wasmFile = require.resolve("@jitl/quickjs-wasmfile-release-sync/wasm");
    return wasmApi.compile(await readFile(wasmFile));
  })();
  return compiled;
}

/** A QuickJS WASM instance of its own. With a limit its memory cannot grow
 *  past it: QuickJS does not count ArrayBuffer bytes against its own
 *  malloc limit, so the WASM memory's maximum is what holds every byte.
 *  The module is compiled once per thread; each instance (a restart
 *  makes one) only instantiates it. */
async function quickjsModule(limitBytes?: number): Promise<QuickJSWASMModule> {
  const wasmModule = await compiledQuickjs();
  const wasmMemory = limitBytes ? new wasmApi.Memory({ initial: WASM_START / 65536, maximum: Math.ceil(limitBytes / 65536) }) : undefined;
  type Options = Parameters<typeof newVariant>[1];
  return newQuickJSWASMModuleFromVariant(newVariant(variant, { wasmModule, ...(wasmMemory ? { wasmMemory } : {}) } as Options));
}

interface Published { at: number; bytes: number; shared: Uint8Array }

/** Where this thread's contexts found their buffers (found()). */
const foundBefore: number[] = [];

interface EmscriptenHeap { HEAPU8: Uint8Array }

/** One core's QuickJS runtime, its context and the driver inside it. */
export class QuickJsCore {
  private rt: QuickJSRuntime;
  private ctx: QuickJSContext;
  private heap: EmscriptenHeap;
  private fns: Record<"alloc" | "load" | "fresh" | "start" | "setLive" | "process" | "trial", QuickJSHandle>;
  private base = 0;             // the batch buffer's address in the heap
  private cap = 0;              // bytes for frames in it
  private seedValue = 0;
  private pending: ((at: number) => void) | undefined;   // what the next found() address is
  private published: Published[] = [];
  private publishedOn: ArrayBufferLike | undefined;
  private views = new Map<Published, Uint8Array>();
  private liveGen = 0;
  private deadline = Infinity;
  private interrupted = false;
  private started = 0;          // when the batch in hand began
  private tuplesAt = 0;         // the guest's batch.tuples() buffer, once it made one
  private tupleViews: { on: ArrayBufferLike; base: number; cap: number; t: Tuples; dv: DataView; bytes: Uint8Array; offsets: Uint32Array; lengths: Uint32Array } | undefined;

  private memories = new Map<string, { at: number; bytes: number }>();   // ctx.memory buffers in the heap

  /** `inherit`: a lost context's ctx.memory contents (memoryContents()), by name. */
  static async create(view: CoreView, native: NativeCore, limits: ContextLimits, inherit?: Map<string, Uint8Array>): Promise<QuickJsCore> {
    return new QuickJsCore(await quickjsModule(limits.memoryBytes), view, native, limits, inherit);
  }

  private constructor(module: QuickJSWASMModule, private view: CoreView, private native: NativeCore, private limits: ContextLimits, private inherit?: Map<string, Uint8Array>) {
    this.rt = module.newRuntime();
    this.rt.setMaxStackSize(STACK_BYTES);
    if (limits.memoryBytes) this.rt.setMemoryLimit(limits.memoryBytes);
    if (limits.cpuBudgetMs) this.rt.setInterruptHandler(() => {
      if (performance.now() <= this.deadline) return false;
      this.interrupted = true;
      return true;
    });
    this.ctx = this.rt.newContext();
    this.heap = (this.ctx as unknown as { module: EmscriptenHeap }).module;
    if (!(this.heap?.HEAPU8 instanceof Uint8Array)) throw new Error("quickjs-emscripten changed: its context no longer exposes the WASM heap (vnfrun pins the version it was built for)");
    this.fns = this.installDriver();
    this.alloc((native.layout.maxBatch + native.layout.maxFresh) * SLOT);   // received frames, and fresh ones (core_guest.cc)
  }

  private installDriver(): QuickJsCore["fns"] {
    const { ctx } = this;
    const host = ctx.newObject();
    const fn = (name: keyof GuestHost, f: (...a: QuickJSHandle[]) => QuickJSHandle | void) => ctx.newFunction(name, f).consume((h) => ctx.setProp(host, name, h));
    fn("log", (t) => { this.view.log(ctx.getString(t)); });
    fn("seed", () => ctx.newNumber((this.seedValue = (Math.random() * 2 ** 31) | 1)));
    fn("found", () => { this.found(); });
    fn("counters", (names) => {
      const list = JSON.parse(ctx.getString(names)) as string[];
      checkCounterNames(list);
      const shared = this.view.counters(list);
      this.pending = (at) => this.publish(at, new Uint8Array(shared.buffer, shared.byteOffset, shared.byteLength));
    });
    fn("histogram", (name, bounds) => {
      const n = ctx.getString(name), b = JSON.parse(ctx.getString(bounds)) as number[];
      checkCounterNames([n]);
      checkBounds(b);
      const values = this.view.histogram(n, b).values;
      this.pending = (at) => this.publish(at, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    });
    fn("memory", (name, bytes) => { checkMemoryRequest(ctx.dump(name), ctx.dump(bytes)); });
    fn("memoryMade", (name, bytes) => {
      const n = ctx.getString(name), b = ctx.getNumber(bytes);
      this.pending = (at) => {
        this.memories.set(n, { at, bytes: b });
        const old = this.inherit?.get(n);
        if (old && old.length === b) this.heap.HEAPU8.set(old, at);   // a lost context's table, as it was
      };
    });
    fn("tuples", () => { this.pending = (at) => { this.tuplesAt = at; this.tupleViews = undefined; }; });
    fn("udpBound", (port, bound) => {
      const p = ctx.getNumber(port);
      if (Number.isInteger(p) && p >= 0 && p < 65536) this.view.udpBound[p] = ctx.getNumber(bound) ? 1 : 0;
    });
    ctx.setProp(ctx.global, "__vnfrun_host", host);
    host.dispose();
    const g = this.native.guestLayout;
    const { maxBatch, maxFresh, maxReleases } = this.native.layout;
    const layout = JSON.stringify({ ...g, maxBatch, maxFresh, maxReleases });
    const driver = this.unwrap(ctx.evalCode(`(${guestDriver.toString()})(globalThis.__vnfrun_host, ${layout})`, "vnfrun-guest.js"));
    const fns = {} as QuickJsCore["fns"];
    for (const k of ["alloc", "load", "fresh", "start", "setLive", "process", "trial"] as const) fns[k] = ctx.getProp(driver, k);
    driver.dispose();
    return fns;
  }

  /** The marker the guest just wrote: its buffer's address. */
  private found(): void {
    const x = markerOf(this.seedValue);
    const heap = Buffer.from(this.heap.HEAPU8.buffer);
    // The first match is the buffer (32 random bytes made nowhere else); the
    // search stops there, so the heap's untouched pages above it stay
    // untouched (a first touch is a page fault each). A fresh instance
    // allocates in the same order, so a restarted context's buffers lie
    // where the last one's did: look there first (the scan took 15 ms of a
    // restart's 40).
    const at = foundBefore.find((a) => a + x.length <= heap.length && heap.compare(x, 0, x.length, a, a + x.length) === 0) ?? heap.indexOf(x);
    if (at < 0) throw new Error("vnfrun: a guest buffer could not be located in the QuickJS heap");
    if (!foundBefore.includes(at)) foundBefore.push(at);
    heap.fill(0, at, at + x.length);
    const then = this.pending ?? ((a: number) => { this.base = a; });
    this.pending = undefined;
    then(at);
  }

  // A published array (counters, histogram): the guest adds to its copy in
  // the heap, the host copies it to the shared one after each batch. A
  // restarted context starts from the shared values, so counts go on.
  private publish(at: number, shared: Uint8Array): void {
    this.heap.HEAPU8.set(shared, at);
    this.published.push({ at, bytes: shared.length, shared });
    this.publishedOn = undefined;
  }

  private alloc(capacity: number): void {
    this.cap = capacity;
    this.call(this.fns.alloc, capacity);
  }

  /** Copies of the ctx.memory buffers, by name: what a context started in
   *  place of this one, if it is lost, gets back. */
  memoryContents(): Map<string, Uint8Array> {
    const heap = this.heap.HEAPU8;
    return new Map([...this.memories].map(([name, m]) => [name, heap.slice(m.at, m.at + m.bytes)]));
  }

  /** Memory the runtime holds now (QuickJS's own count). */
  memoryUsed(): number {
    const h = this.rt.computeMemoryUsage();
    try {
      return (this.ctx.dump(h) as { memory_used_size: number }).memory_used_size;
    } finally {
      h.dispose();
    }
  }

  /** Runs the live generation `gen` on the batch the core just gathered. */
  run(gen: number): void {
    if (this.liveGen !== gen) { this.call(this.fns.setLive, gen); this.liveGen = gen; }
    let n = this.native.guestIn(this.heap.HEAPU8.buffer as ArrayBuffer, this.base, this.cap);
    if (n < 0) {
      // Frames larger than the slots: a larger buffer (kept from then on).
      this.alloc(Math.max(-n, this.cap * 2));
      n = this.native.guestIn(this.heap.HEAPU8.buffer as ArrayBuffer, this.base, this.cap);
    }
    if (this.tuplesAt) this.fillTuples(n);
    this.interrupted = false;
    this.started = performance.now();
    if (this.limits.cpuBudgetMs) this.deadline = this.started + this.limits.cpuBudgetMs;
    let r: ReturnType<QuickJSContext["callFunction"]>;
    try {
      r = this.ctx.callFunction(this.fns.process, this.ctx.undefined);
    } catch (e) {
      // A trap in the WASM code (its memory exhausted where QuickJS does
      // not check): nothing in this instance can be trusted any more.
      throw new GuestError("ContextLost", `the QuickJS context failed: ${(e as Error).message}`, "", FAILED.memory, true);
    } finally {
      this.deadline = Infinity;
    }
    if (r.error) throw this.failure(r.error);
    r.value.dispose();
    // The heap may have grown during process(): its view is read again.
    this.native.guestOut(this.heap.HEAPU8.buffer as ArrayBuffer, this.base, this.cap);
    this.sync();
  }

  // batch.tuples() for the guest, parsed here in V8 (a few ns a packet)
  // instead of in the interpreter (sdk/tuples.ts), once the VNF asked.
  private fillTuples(count: number): void {
    const H = this.heap.HEAPU8.buffer;
    let v = this.tupleViews;
    if (!v || v.on !== H || v.base !== this.base || v.cap !== this.cap) {
      const g = this.native.guestLayout, max = this.native.layout.maxBatch, at = this.base + g.bytes;
      v = this.tupleViews = {
        on: H, base: this.base, cap: this.cap, t: new Tuples(max, H, this.tuplesAt),
        dv: new DataView(H, at, this.cap), bytes: new Uint8Array(H, at, this.cap),
        offsets: new Uint32Array(H, this.base + g.offsets, max), lengths: new Uint32Array(H, this.base + g.lengths, max),
      };
    }
    const state = v.t.state;
    if (state[TUPLES_WANTED] !== 1) return;
    fillTuples(v.t, v.dv, v.bytes, v.offsets, v.lengths, count);
    state[TUPLES_FILLED] = 1;
  }

  private sync(): void {
    const heap = this.heap.HEAPU8;
    if (this.publishedOn !== heap.buffer) {
      this.views.clear();
      for (const p of this.published) this.views.set(p, heap.subarray(p.at, p.at + p.bytes));
      this.publishedOn = heap.buffer;
    }
    for (const [p, v] of this.views) p.shared.set(v);
  }

  /** The steps that load `file` as generation `gen` (one between two batches each). */
  loadSteps(file: string, gen: number, config: unknown): (() => Loaded | undefined)[] {
    let fn: QuickJSHandle;
    return [
      () => {
        const code = readFileSync(file, "utf8").replace(/\n\/\/# sourceMappingURL=data:[^\n]*\s*$/, "\n");
        fn = this.unwrap(this.ctx.evalCode(`(function (exports, require, module, __filename, __dirname) {${code}\n})`, file));
        return undefined;
      },
      () => {
        const json = JSON.stringify({ ports: this.view.portNames, config, core: this.view.core, cores: this.view.cores, rss: this.view.rss, addresses: this.view.addresses, tcpMemory: this.view.tcpMemory, file, dir: dirname(file) });
        let what: number;
        try {
          what = this.call(this.fns.load, gen, fn, json) ?? 0;
        } finally {
          fn.dispose();
        }
        return this.loaded(gen, (what & 1) !== 0, (what & 2) !== 0, { file, config });
      },
    ];
  }

  loadBundle(file: string, gen: number, config: unknown): Loaded {
    let loaded: Loaded | undefined;
    for (const step of this.loadSteps(file, gen, config)) loaded = step();
    return loaded!;
  }

  private loaded(gen: number, migrates: boolean, originates: boolean, source: { file: string; config: unknown }): Loaded {
    const core = this;
    const trial = (sample: Sample): Outcome => this.trial(gen, sample);
    return {
      gen,
      migrates,
      trial,
      fresh: () => { this.call(this.fns.fresh, gen); },
      start(prev?: Generation): Generation {
        const migrated = core.call(core.fns.start, gen, prev?.gen ?? 0) === 1;
        return { gen, migrated, originates, state: undefined, trial, process: () => core.run(gen), source };
      },
    };
  }

  /** --reload-diff: generation `gen` over copies of `sample` in the guest
   *  (quickjs-guest.ts trial), the frames passed in and out as one buffer each. */
  private trial(gen: number, sample: Sample): Outcome {
    const { ctx } = this, n = sample.frames.length;
    const bytes = Buffer.concat(sample.frames), lengths = Uint32Array.from(sample.frames, (f) => f.length);
    const args = [ctx.newNumber(gen), ctx.newArrayBuffer(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)),
      ctx.newArrayBuffer(lengths.buffer), ctx.newArrayBuffer(sample.inPorts.slice().buffer)];
    const r = ctx.callFunction(this.fns.trial, ctx.undefined, ...args);
    args.forEach((h) => h.dispose());
    if (r.error) throw this.failure(r.error);
    const out = r.value.consume((h) => ctx.getArrayBuffer(h).consume((u) => u.value.slice()));
    const head = n + (-n & 3), lens = new Uint32Array(out.buffer, out.byteOffset + head, n);
    const frames: Uint8Array[] = [];
    for (let i = 0, o = head + 4 * n; i < n; o += lens[i++]) frames.push(out.subarray(o, o + lens[i]));
    return { verdicts: out.slice(0, n), frames };
  }

  // Calls a driver function with numbers, strings and handles; returns a number result.
  private call(f: QuickJSHandle, ...args: (number | string | QuickJSHandle)[]): number | undefined {
    const { ctx } = this;
    const hs = args.map((a) => (typeof a === "number" ? ctx.newNumber(a) : typeof a === "string" ? ctx.newString(a) : a));
    const r = ctx.callFunction(f, ctx.undefined, ...hs);
    hs.forEach((h, i) => { if (typeof args[i] !== "object") h.dispose(); });
    if (r.error) throw this.failure(r.error);
    const v = ctx.typeof(r.value) === "number" ? ctx.getNumber(r.value) : undefined;
    r.value.dispose();
    return v;
  }

  private unwrap(r: ReturnType<QuickJSContext["evalCode"]>): QuickJSHandle {
    if (r.error) throw this.failure(r.error);
    return r.value;
  }

  // A guest exception as a host Error, with its cause: out of CPU budget
  // (the interrupt handler fired), out of memory, or thrown.
  private failure(h: QuickJSHandle): Error {
    let d: unknown;
    try {
      d = this.ctx.dump(h);
    } catch {
      d = { name: "InternalError", message: "out of memory" };
    } finally {
      h.dispose();
    }
    const o = (d !== null && typeof d === "object" ? d : { name: "Error", message: `VNF threw a non-Error value: ${String(d)}` }) as { name?: string; message?: string; stack?: string };
    const stack = String(o.stack ?? "").split("\n").filter((l) => l.trim()).slice(0, STACK_LINES).join("\n");
    const name = String(o.name ?? "Error"), message = String(o.message ?? "");
    if (this.interrupted) {
      this.interrupted = false;
      const ran = performance.now() - this.started;
      return new GuestError("CpuBudgetError", `process() ran past its CPU budget of ${this.limits.cpuBudgetMs} ms (stopped after ${ran.toFixed(1)} ms)`, stack, FAILED.cpuBudget);
    }
    if (name === "InternalError" && message === "out of memory")
      return new GuestError("MemoryLimitError", `the VNF ran out of its memory limit (${this.limits.memoryBytes ? `${this.limits.memoryBytes / 2 ** 20} MiB` : "none set"}); its context is restarted`, stack, FAILED.memory, true);
    return new GuestError(name, message, stack, FAILED.threw);
  }
}

/** The 32 marker bytes the guest writes for a seed (the same xorshift). */
export function markerOf(seed: number): Buffer {
  const m = Buffer.alloc(32);
  let x = seed | 0;
  for (let i = 0; i < 32; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; m[i] = x & 255; }
  return m;
}

/** The VNF's port names, read in a QuickJS runtime of its own: under
 *  --context quickjs the bundle's code never runs in the host. */
export async function sandboxedPorts(bundle: { file: string }): Promise<string[]> {
  const rt = (await quickjsModule(256 * 2 ** 20)).newRuntime();
  try {
    rt.setMaxStackSize(STACK_BYTES);
    const deadline = performance.now() + 5000;
    rt.setInterruptHandler(() => performance.now() > deadline);
    const ctx = rt.newContext();
    try {
      const code = readFileSync(bundle.file, "utf8");
      // The bundle stays on the first line, so its source map's lines hold.
      const r = ctx.evalCode(`(function () { const module = { exports: {} }; (function (exports, module) {${code}\n})(module.exports, module);`
        + `const v = module.exports.default; return JSON.stringify(v && typeof v.process === "function" && Array.isArray(v.ports) ? v.ports : null); })()`, bundle.file);
      if (r.error) {
        const e = ctx.dump(r.error) as { name?: string; message?: string };
        r.error.dispose();
        throw new Error(`loading the VNF failed: ${e?.message ?? String(e)}`);
      }
      const ports = JSON.parse(ctx.getString(r.value)) as string[] | null;
      r.value.dispose();
      if (!ports) throw new Error("the default export must be defineVnf({ ports, process, ... })");
      return ports;
    } finally {
      ctx.dispose();
    }
  } finally {
    rt.dispose();
  }
}
