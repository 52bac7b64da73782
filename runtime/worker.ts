// The per-core loop, one per worker thread:
//   n = core.cycle(failed)  -> native retires the last verdicts, fills a batch
//   live.process(n)         -> JS reads and rewrites packets in place
// One native call per batch; packets are (offset, length) into the pool.
// Between two batches the core looks at its control word, and a reload
// (reload.ts) swaps the live generation there: the batch in hand is finished
// by the old handler, the next one is the new one's.
import { setPriority } from "node:os";
import { parentPort, receiveMessageOnPort, workerData } from "node:worker_threads";
import { loadAddon, type NativeCore } from "./addon";
import { CTL_SEQ, CTL_TRACE, WATCH_BATCHES, WATCH_BUSY, type FromCore, type ToCore, type WorkerInit } from "./control";
import { errorLocation } from "./errors";
import { Sampler, compare, type Diff } from "./sampler";
import { FailedBatches } from "./failed-batches";
import { BATCH_HISTOGRAM, BATCH_US_BOUNDS } from "./profile";
import { Tracer } from "./tracer";
import { CoreCounters } from "./vnf-counters";
import { CoreMemory } from "./vnf-memory";
import * as v8 from "./v8-context";
import { batchArrays, type CoreView, type Generation, type Loaded } from "./v8-context";
import { compiledQuickjs, FAILED, QuickJsCore } from "./quickjs-context";
import { CTL_FORGET_KEPT } from "../sdk/batch";

const init = workerData as WorkerInit;
const post = (m: unknown) => parentPort!.postMessage(m);
const answer = (m: FromCore) => init.channel.postMessage(m);

// A core waits this long for the verdict on a generation it has prepared;
// past it, the supervisor is gone or stuck, and the old generation goes on.
const HOLD_LIMIT_MS = 10_000;

// A core runs ahead of the rest of the process (esbuild rebuilding a file,
// the supervisor) where it may: a moment of CPU lost is packets lost in a
// full ring. Linux keeps nice per thread; without CAP_SYS_NICE this stays 0.
const CORE_NICE = -5;

/** What a context kind offers the loop: loading a bundle, at once or in
 *  steps, and (quickjs) a new context in place of a lost one. */
interface ContextKind {
  loadBundle(file: string, gen: number, view: CoreView, config: unknown): Loaded;
  loadSteps(file: string, gen: number, view: CoreView, config: unknown, cache?: Buffer): (() => Loaded | undefined)[];
  restart?(live: Generation): Promise<Generation>;
}

async function contextKind(view: CoreView, core: NativeCore): Promise<ContextKind> {
  if (init.context !== "quickjs") return v8;
  await compiledQuickjs(init.wasm);
  let q = await QuickJsCore.create(view, core, init.limits);
  return {
    loadBundle: (file, gen, _view, config) => q.loadBundle(file, gen, config),
    loadSteps: (file, gen, _view, config) => q.loadSteps(file, gen, config),
    async restart(live) {
      q = await QuickJsCore.create(view, core, init.limits, q.memoryContents());
      return q.loadBundle(live.source!.file, live.gen, live.source!.config).start();
    },
  };
}

/** The cause a batch that threw `e` is dropped under. */
const failureOf = (e: unknown): number => (e as { failure?: number })?.failure ?? FAILED.threw;

async function main(): Promise<void> {
  try { setPriority(CORE_NICE); } catch { /* not permitted: the default priority */ }
  const core = loadAddon().attach(init.engineId, init.core, init.options);
  if (init.nativeForward !== undefined) {
    post({ type: "ready", core: init.core });
    const packets = core.runNativeForward(init.nativeForward);
    core.detach();
    post({ type: "done", packets });
    return;
  }
  const L = core.layout;
  const view: CoreView = {
    core: init.core,
    cores: init.cores,
    addresses: init.addresses,
    tcpMemory: init.tcpMemory,
    portNames: init.portNames,
    ...batchArrays(core),
    log: (text) => post({ type: "log", core: init.core, text }),
    counters: (names) => vnfCounters.get(names),
    histogram: (name, bounds) => vnfCounters.histogram(name, bounds),
    rss: init.rss,
    memory: (name, bytes) => memory.get(name, bytes),
  };
  const memory = new CoreMemory(init.core, post);
  const vnfCounters = new CoreCounters(init.core, post);
  if (init.held) {
    vnfCounters.adopt(init.held);
    for (const m of init.held.memory) memory.adopt(m.name, m.buffer);
  }
  const meta = new Float64Array(core.batch, L.meta, 1);
  const sampler = init.reloadDiff ? new Sampler(view) : undefined;
  const saver = init.saveFailed ? new FailedBatches(init.saveFailed, view) : undefined;
  const batchTimes = init.profile ? vnfCounters.histogram(BATCH_HISTOGRAM, BATCH_US_BOUNDS) : undefined;
  const tracer = new Tracer(view, post);
  const context = await contextKind(view, core);
  const generations = new Generations(context.loadBundle(init.bundleFile, init.gen ?? 1, view, init.config).start(), view, context, core, sampler);
  post({ type: "ready", core: init.core });

  const errors = new ErrorReporter(init.core);
  const watch = new Int32Array(init.watch);
  const control = new Int32Array(init.control);
  let seen = Atomics.load(control, CTL_SEQ);
  // In place of a worker that died (the supervisor's restart): its batch in
  // hand is dropped, and the frames its state kept tickets for let go.
  let failed = core.adopted ? init.lost ?? FAILED.restart : 0;
  if (core.adopted) view.ctl[CTL_FORGET_KEPT] = 1;
  for (;;) {
    const n = core.cycle(failed);
    failed = 0;
    if (n > 0 || (n === 0 && generations.live.originates)) {
      sampler?.record(n);
      saver?.keep(n);
      watch[WATCH_BUSY] = 1;   // plain stores: the watchdog only needs to see them eventually
      const t0 = batchTimes === undefined ? 0 : performance.now();
      try {
        generations.live.process(n, meta[0]);
      } catch (e) {
        failed = failureOf(e);
        errors.report(e);
        saver?.save(e, generations.live.gen);
        if ((e as { lost?: boolean }).lost && context.restart) await restartContext(core, context, generations, String((e as Error).message));
      }
      batchTimes?.observe((performance.now() - t0) * 1000);
      watch[WATCH_BUSY] = 0;
      watch[WATCH_BATCHES]++;
      const want = control[CTL_TRACE];   // a plain read: a trace may start a batch late
      if (want !== 0) tracer.capture(want, n, failed !== 0, generations.live.gen);
    } else if (n < 0) break;   // the engine stopped and this core drained
    if (Atomics.load(control, CTL_SEQ) !== seen) seen = generations.serve(control, seen);
    if (generations.working) generations.work();
  }
  core.finish(failed);
  core.detach();
  errors.flush();
  post({ type: "done" });
}

// A lost context (quickjs: out of memory, a trap) is replaced in this
// worker: a new runtime, the live version loaded again and init() run; the
// batch that lost it is dropped under its cause, a stand-in receives meanwhile.
async function restartContext(core: NativeCore, context: ContextKind, generations: Generations, reason: string): Promise<void> {
  const t0 = performance.now();
  core.away();
  generations.replaceLive(await context.restart!(generations.live));
  post({ type: "restart", core: init.core, reason, ms: performance.now() - t0 });
}

// The live generation, the one before it, and the reload protocol's core
// side (control.ts). Runs only between batches, so no batch sees two
// handlers. Loading and init() run while the live generation goes on, one
// step between two batches at a time; only migrate() and the wait for the
// other cores hold the next batch.
class Generations {
  prev: Generation | undefined;
  private pending: { id: number; loaded?: Loaded; next?: Generation } | undefined;
  private job: { id: number; steps: (() => void)[]; longest: number } | undefined;   // a version being loaded
  constructor(public live: Generation, private view: CoreView, private context: ContextKind, private core: NativeCore, private sampler?: Sampler) {}

  /** A restarted context's live generation: nothing to roll back to. */
  replaceLive(g: Generation): void {
    this.forgetKept();
    this.live = g;
    this.prev = undefined;
    this.pending = undefined;
    this.job = undefined;
  }

  /** Handles the messages waiting on the channel; returns the control word seen. */
  serve(control: Int32Array, seen: number): number {
    const now = Atomics.load(control, CTL_SEQ);
    let got = false;
    for (let m; (m = receiveMessageOnPort(init.channel)); ) {
      got = true;
      const msg = m.message as ToCore;
      if (msg.type === "prepare") this.prepare(msg);
      else if (msg.type === "build" && this.pending?.id === msg.id) this.build(control);
      else if (msg.type === "commit" && this.pending?.id === msg.id) this.commit(0);
      else if (msg.type === "abort" && (this.pending?.id === msg.id || this.job?.id === msg.id)) { this.pending = undefined; this.job = undefined; }
    }
    // The word moved but the message is not here yet: look again next batch.
    return got ? now : seen;
  }

  private prepare(msg: Extract<ToCore, { type: "prepare" }>): void {
    this.pending = undefined;
    this.job = undefined;
    if ("rollback" in msg) {
      if (!this.prev) return answer({ type: "prepared", id: msg.id, core: init.core, ok: false, error: "there is no previous generation to roll back to" });
      this.pending = { id: msg.id, next: this.prev };
      return answer({ type: "prepared", id: msg.id, core: init.core, ok: true, migrated: false, ms: 0 });
    }
    // One step a batch boundary (work()): compile, run the module, check it,
    // init(), and the --reload-diff trial.
    let loaded: Loaded | undefined;
    const pending: { id: number; loaded?: Loaded; next?: Generation } = { id: msg.id };
    const steps: (() => void)[] = this.context.loadSteps(msg.file, msg.gen, this.view, msg.config, msg.cache).map((step) => () => { loaded = step() ?? loaded; });
    steps.push(() => {
      loaded!.fresh();
      pending.loaded = loaded;
      pending.next = loaded!.migrates ? undefined : loaded!.start();
    });
    if (this.sampler) steps.push(() => { diff = this.diff(loaded!); });
    let diff: Diff | undefined;
    steps.push(() => {
      this.pending = pending;
      answer({ type: "prepared", id: msg.id, core: init.core, ok: true, migrated: !pending.next, ms: this.job!.longest, diff });
    });
    this.job = { id: msg.id, steps, longest: 0 };
  }

  /** Frames the live version kept are named by tickets in its state: a
   *  version on other state cannot release them, so the core lets them go. */
  private forgetKept(): void { this.view.ctl[CTL_FORGET_KEPT] = 1; }

  /** Whether a version is being loaded (work() then takes its next step). */
  get working(): boolean { return this.job !== undefined; }

  work(): void {
    const job = this.job!;
    this.core.away();   // a stand-in receives until the next cycle()
    const step = job.steps.shift()!;
    const t0 = performance.now();
    try {
      step();   // the last one answers, with the longest step before it
    } catch (e) {
      this.job = undefined;
      answer({ type: "prepared", id: job.id, core: init.core, ok: false, error: errorLocation(e) });
      return;
    }
    job.longest = Math.max(job.longest, performance.now() - t0);
    if (!job.steps.length && this.job === job) this.job = undefined;
  }

  // The live and the coming version, each on fresh state, over the sample.
  private diff(next: { trial: Generation["trial"] }): Diff {
    const sample = this.sampler!.take();
    return compare(this.live.trial(sample), next.trial(sample), this.view.portNames);
  }

  private build(control: Int32Array): void {
    const t0 = performance.now();
    this.core.away();   // migrate and the hold: a stand-in receives until the next cycle()
    const p = this.pending!;
    try {
      p.next ??= p.loaded!.start(this.live);
    } catch (e) {
      this.pending = undefined;
      answer({ type: "built", id: p.id, core: init.core, ok: false, error: errorLocation(e) });
      return;
    }
    answer({ type: "built", id: p.id, core: init.core, ok: true, migrated: p.next.migrated, ms: performance.now() - t0 });
    // Hold: the next batch waits in the rings until every core has built
    // its state or one has failed; the live state is not touched after
    // migrate read it.
    if (this.awaitVerdict(control, p.id) === "commit") this.commit(performance.now() - t0);  // migrate + the wait
    else this.pending = undefined;
  }

  private commit(holdMs: number): void {
    const p = this.pending!;
    this.pending = undefined;
    if (!p.next!.migrated) this.forgetKept();
    this.prev = this.live;
    this.live = p.next!;
    answer({ type: "switched", id: p.id, core: init.core, holdMs });
  }

  private awaitVerdict(control: Int32Array, id: number): "commit" | "abort" {
    const deadline = performance.now() + HOLD_LIMIT_MS;
    while (performance.now() < deadline) {
      const seen = Atomics.load(control, CTL_SEQ);
      for (let m; (m = receiveMessageOnPort(init.channel)); ) {
        const msg = m.message as ToCore;
        if ((msg.type === "commit" || msg.type === "abort") && msg.id === id) return msg.type;
      }
      Atomics.wait(control, CTL_SEQ, seen, 50);
    }
    return "abort";
  }
}

// A throwing VNF must not flood the terminal: the first error is printed
// whole, then at most one line a second with how many were suppressed.
class ErrorReporter {
  private last = 0;
  private suppressed = 0;
  constructor(private core: number) {}
  report(e: unknown): void {
    const now = Date.now();
    if (now - this.last < 1000) { this.suppressed++; return; }
    this.last = now;
    const more = this.suppressed ? ` (${this.suppressed} more suppressed)` : "";
    this.suppressed = 0;
    post({ type: "vnf-error", core: this.core, text: errorLocation(e) + more });
  }
  flush(): void {
    if (this.suppressed) post({ type: "vnf-error", core: this.core, text: `${this.suppressed} more VNF errors suppressed` });
  }
}

main().catch((e) => post({ type: "fatal", core: init.core, text: errorLocation(e) }));
