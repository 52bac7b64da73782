// The supervisor: compiles the VNF, builds the engine, runs one worker per
// core and reports. It is the one place that changes what runs; the CLI,
// the benchmark and the tests all go through `run`.
import { rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { MessageChannel, Worker, type MessagePort } from "node:worker_threads";
import { loadAddon, type CoreOptions, type Distribution, type NativeEngine } from "./addon";
import { parseCpuList } from "./cpus";
import { parseRssKey } from "./rss";
import { SAVE_LIMITS, type SaveFailed } from "./failed-batches";
import { CompileError, compileVnf, type Bundle, type CompileOptions } from "./compile";
import { InstanceError, openInstance, type ControlRequest, type Instance } from "./instance";
import { Reloader, describeReload, type ReloadOutcome } from "./reload";
import { watchFiles } from "./watch";
import { typecheck } from "./typecheck";
import { serveMetrics } from "./metrics";
import { TraceHub } from "./trace-hub";
import { codeCache } from "./v8-context";
import { VnfCounters, type HistogramTotals, type VnfCountersMessage } from "./vnf-counters";
import { HeldMemory, type VnfMemoryMessage } from "./vnf-memory";
import type { TraceMessage } from "./tracer";
import type { Socket } from "node:net";
import { parsePorts, type PortSpec } from "./ports";
import { Counters, diff, drops, rateLine, sum, type Snapshot } from "./stats";
import { CTL_WORDS, WATCH_BATCHES, WATCH_BUSY, type WorkerInit } from "./control";
import { Alerts } from "./alerts";
import { readConfig, type VnfConfig } from "./config";
import { limitsRefused, v8Limits } from "./limits";
import { compiledQuickjs, FAILED, sandboxedPorts } from "./quickjs-context";
import { Restarts, type RestartMessage, type RestartRecord } from "./restart";
import { UserError } from "./user-error";
import { DEFAULTS, DISTRIBUTIONS, OVERFLOW_POLICIES } from "./defaults";
import { parseEndpoint, type EndpointOptions } from "./endpoint";

export interface RunOptions extends CompileOptions, EndpointOptions {
  vnf: string;
  ports?: string[];
  cores?: number;
  dist?: Distribution;      // default: none for one core, sw1 for more
  cpus?: string;            // --cpus LIST: I/O threads first, then cores
  rssKey?: string;          // symmetric (default), microsoft, or 80 hex digits
  overflow?: "auto" | "drop" | "wait";  // a full core ring in sw modes: drop and count, or wait
  rxBatch?: number;
  txBatch?: number;
  busyPoll?: boolean;
  idleUs?: number;
  backlog?: number;         // frames a core's stand-in may hold while the core is away; 0: none
  keep?: number;            // frames a core's VNF may keep past their batch; 0: none
  durationS?: number;       // stop after this long; default: when inputs end
  count?: number;           // stop after this many received packets
  warmupS?: number;         // rates count from here (the seed's NO_OF_SAFE_ITR)
  buffers?: number;
  largeBuffers?: number;
  ringSize?: number;
  nativeForward?: boolean;  // replace the VNF with the C++ l2fwd (the engine's ceiling)
  config?: string;          // --config: a JSON file or inline JSON, the VNF's ctx.config (config.ts)
  vnfTimeoutS?: number;     // a process() call running longer than this stops the run (default 5)
  context?: "v8" | "quickjs";   // the kind of context each core runs the VNF in (default v8)
  memoryLimit?: number;     // bytes per core's context (quickjs: its runtime; v8: the worker's heap)
  cpuBudgetMs?: number;     // quickjs: CPU time per batch
  watch?: boolean;          // reload whenever a file the VNF is built from changes
  name?: string;            // the instance's name for `vnfrun reload NAME` (its pid always works)
  canaryS?: number;         // a reload goes live on core 0 alone for this long first (reload.ts)
  metrics?: string;         // HOST:PORT to serve Prometheus metrics on
  reloadDiff?: boolean;     // compare old and new versions on recent packets at each reload
  saveFailed?: string;      // --save-failed DIR: keep batches whose process() threw (failed-batches.ts)
  profileBatches?: boolean; // time each process() call (--profile's child run, profile.ts)
  typecheck?: boolean;      // tsc must pass before the VNF starts or a reload goes live
  onLine?: (line: string) => void;     // live rate line, once a second
  onMessage?: (text: string) => void;  // VNF errors, logs and warnings
  onReload?: (o: ReloadOutcome) => void;  // after each successful reload
}

export interface PortSummary extends Record<string, unknown> {
  name: string;
  spec: string;
  driver: string;
}

export interface Summary {
  vnf: string;
  seconds: number;             // measured span (after warm-up)
  rx_mpps: number;
  tx_mpps: number;
  tx_gbps: number;
  drops: Record<string, number>;
  cores_used: number;
  dist: Distribution;
  ports: PortSummary[];
  cores: Record<string, number>[];
  generation: number;          // the VNF generation live at the end (1: as started)
  vnf_counters: Record<string, number>;   // the VNF's own (ctx.counters), summed over cores
  vnf_histograms: Record<string, HistogramTotals>;   // the VNF's ctx.histogram()s, summed over cores
  reloads: (ReloadOutcome & { at: string })[];
  warnings: string[];          // the set-up warnings printed during the run (alerts.ts)
  restarts: RestartRecord[];   // cores whose context was lost and started again (restart.ts)
}

export class RunError extends UserError {}

export async function run(opts: RunOptions): Promise<Summary> {
  if (opts.typecheck) {
    const errors = checkTypes(opts.vnf, opts);
    if (errors) throw new CompileError(`${errors}\n${opts.vnf}: type errors (above); fix them, or run without --typecheck`);
  }
  const bundle = await compileVnf(opts.vnf, opts);
  try {
    return await runBundle(bundle, opts);
  } finally {
    rmSync(dirname(bundle.file), { recursive: true, force: true });
  }
}

function loadVnfPorts(bundle: Bundle): string[] {
  let vnf;
  try {
    vnf = require(bundle.file).default;
  } catch (e) {
    throw new RunError(`${bundle.source}: loading the VNF failed: ${(e as Error).message}`);
  }
  if (!vnf || typeof vnf.process !== "function" || !Array.isArray(vnf.ports))
    throw new RunError(`${bundle.source}: the default export must be defineVnf({ ports, process, ... })`);
  return vnf.ports;
}

function checkTypes(vnf: string, opts: RunOptions): string {
  return typecheck(resolve(vnf), opts);
}

interface Layout {
  cores: number;
  dist: Distribution;
  coreCpus: number[];      // -1: unpinned
  ioCpus: number[];
}

/** Cores, distribution and pinning, checked before anything starts. */
function layoutOf(opts: RunOptions): Layout {
  const cores = opts.cores ?? 1;
  if (!Number.isInteger(cores) || cores < 1 || cores > 64) throw new RunError(`--cores ${cores}: give 1 to 64`);
  const dist = opts.dist ?? (cores === 1 ? "none" : "sw1");
  if (!DISTRIBUTIONS.includes(dist)) throw new RunError(`--dist ${dist}: choose ${DISTRIBUTIONS.join(", ")}`);
  if (dist === "none" && cores > 1) throw new RunError(`--dist none runs one core; for ${cores} use hw, sw1 or sw2`);
  const io = dist === "sw1" ? 1 : dist === "sw2" ? 2 : 0;
  if (!opts.cpus) return { cores, dist, coreCpus: Array(cores).fill(-1), ioCpus: [] };
  const cpus = parseCpuList(opts.cpus);
  if (cpus.length < cores + io)
    throw new RunError(`--cpus ${opts.cpus} lists ${cpus.length} CPUs; --cores ${cores} --dist ${dist} needs ${cores + io} (${cores} cores${io ? ` + ${io} I/O thread${io > 1 ? "s" : ""}` : ""})`);
  // The seed's layout: I/O on the first CPUs, then one core each.
  return { cores, dist, ioCpus: cpus.slice(0, io), coreCpus: cpus.slice(io, io + cores) };
}

function readVnfConfig(arg: string | undefined): VnfConfig | undefined {
  return arg === undefined ? undefined : readConfig(arg);
}

/** Everything a run needs decided, checked before anything is opened. */
interface Plan {
  vnfPorts: string[];
  specs: PortSpec[];
  layout: Layout;
  config?: VnfConfig;
  rssKey: Uint8Array;
  endpoint?: ReturnType<typeof parseEndpoint>;   // --ip, --arp, --gateway, --mac
  core: Omit<CoreOptions, "cpu">;
  backlog: number;
  keep: number;
}

function planRun(bundle: Bundle, opts: RunOptions, say: (t: string) => void, sandboxed?: string[]): Plan {
  const refused = limitsRefused(opts);
  if (refused) throw new RunError(refused);
  const vnfPorts = sandboxed ?? loadVnfPorts(bundle);
  const specs = parsePorts(opts.ports ?? [], vnfPorts);
  const layout = layoutOf(opts);
  const config = readVnfConfig(opts.config);
  if (opts.overflow !== undefined && !OVERFLOW_POLICIES.includes(opts.overflow))
    throw new RunError(`--overflow ${opts.overflow}: choose ${OVERFLOW_POLICIES.join(", ")}`);
  const endpoint = parseEndpoint(opts, specs);
  const rss = parseRssKey(opts.rssKey);
  if (rss.warning && layout.cores > 1) say(`warning: ${rss.warning}`);
  const core = { rxBatch: opts.rxBatch ?? DEFAULTS.rxBatch, txBatch: opts.txBatch ?? DEFAULTS.txBatch, idleUs: opts.idleUs ?? DEFAULTS.idleUs, busyPoll: !!opts.busyPoll };
  return { vnfPorts, specs, layout, config, rssKey: rss.key, endpoint, core, backlog: backlogOf(opts, layout.cores), keep: keepOf(opts, layout.cores) };
}

/** Frames each core's stand-in may hold: --backlog, or the default, within
 *  half the pool over all cores (the rest stays for rings and sending). */
function backlogOf(opts: RunOptions, cores: number): number {
  const buffers = opts.buffers ?? DEFAULTS.buffers, share = Math.floor(buffers / 2 / cores);
  if (opts.backlog === undefined) return Math.min(DEFAULTS.backlog, share);
  if (opts.backlog > share)
    throw new RunError(`--backlog ${opts.backlog} on ${cores} core(s) takes over half of the pool's ${buffers} buffers: lower it to ${share} or raise --buffers to ${opts.backlog * 2 * cores}`);
  return opts.backlog;
}

/** Frames each core's VNF may keep: --keep, or the default, within a
 *  quarter of the pool over all cores. */
function keepOf(opts: RunOptions, cores: number): number {
  const buffers = opts.buffers ?? DEFAULTS.buffers, share = Math.floor(buffers / 4 / cores);
  if (opts.keep === undefined) return Math.min(DEFAULTS.keep, share);
  if (opts.keep > share)
    throw new RunError(`--keep ${opts.keep} on ${cores} core(s) takes over a quarter of the pool's ${buffers} buffers: lower it to ${share} or raise --buffers to ${opts.keep * 4 * cores}`);
  return opts.keep;
}

function buildEngine(plan: Plan, opts: RunOptions, countersFile: string | undefined): NativeEngine {
  const { Engine } = loadAddon();
  try {
    return new Engine({
      buffers: opts.buffers ?? DEFAULTS.buffers,
      largeBuffers: opts.largeBuffers ?? DEFAULTS.largeBuffers,
      bufSize: DEFAULTS.bufSize,
      headroom: DEFAULTS.headroom,
      ringSize: opts.ringSize ?? DEFAULTS.ringSize,
      cores: plan.layout.cores,
      dist: plan.layout.dist,
      ...plan.core,
      backlog: plan.backlog,
      keep: plan.keep,
      count: opts.count ?? 0,
      ioCpus: plan.layout.ioCpus,
      rssKey: plan.rssKey,
      overflow: opts.overflow ?? "auto",
      ports: plan.specs.map((s) => ({ name: s.name, driver: s.driver, spec: s.spec, options: s.options })),
      countersFile,
      endpoint: plan.endpoint?.native,
    });
  } catch (e) {
    throw new RunError((e as Error).message);   // a driver's one line (a port that cannot open)
  }
}

/** What runs once the engine is built: its cores, and what watches them. */
interface Running {
  engine: NativeEngine;
  counters: Counters;
  stop(): void;
  stopped: boolean;                 // stop() was called: no core is started again
  control: SharedArrayBuffer;
  start: Snapshot;                  // the counters before any core ran
  watches: SharedArrayBuffer[];     // per core: the watchdog's words
  workers: RunningWorker[];
  reloader: Reloader;
  traces: TraceHub;
  vnfCounters: VnfCounters;
  memory: HeldMemory;        // each core's ctx.memory buffers, for a restarted core
  restarts: Restarts;        // cores whose context was lost and started again (restart.ts)
  timers: NodeJS.Timeout[];
  closers: { close(): void }[];
}

async function runBundle(bundle: Bundle, opts: RunOptions): Promise<Summary> {
  const say = opts.onMessage ?? ((t: string) => process.stderr.write(t + "\n"));
  // Under quickjs the bundle's top-level code runs only in QuickJS, also here.
  const sandboxed = opts.context === "quickjs" ? await sandboxedPorts(bundle).catch((e) => { throw new RunError(`${bundle.source}: ${(e as Error).message}`); }) : undefined;
  const plan = planRun(bundle, opts, say, sandboxed);
  const instance = await openRun(opts.name, say);
  let engine: NativeEngine;
  try {
    engine = buildEngine(plan, opts, instance?.countersFile);
  } catch (e) {
    instance?.close();
    throw e;
  }
  const counters = new Counters(engine.counters(), plan.layout.cores);
  const start = counters.snapshot();
  const alerts = new Alerts({ specs: plan.specs, largeBuffers: opts.largeBuffers }, say);
  const r: Running = {
    engine, counters, stopped: false, stop: () => { r.stopped = true; engine.stop(); }, control: new SharedArrayBuffer(CTL_WORDS * 4),
    start, watches: [], workers: [], reloader: undefined!, traces: undefined!, vnfCounters: new VnfCounters(), memory: new HeldMemory(), restarts: new Restarts(say), timers: [], closers: [],
  };
  let stopped = false;
  const onSigint = () => { if (stopped) process.exit(130); stopped = true; r.stop(); };
  process.on("SIGINT", onSigint);
  process.on("SIGTERM", onSigint);   // a service manager's stop: drain and summarize, as Ctrl-C does

  let warm: Snapshot | undefined;
  let end: Snapshot;
  try {
    const publish = publisher(r, plan, opts, instance);
    await startCores(r, plan, bundle, opts, say);
    publish();
    await watchRun(r, plan, bundle, opts, instance, say, publish, alerts, (s) => (warm = s));
    await Promise.all(r.workers.map((w) => w.exited));
  } finally {
    r.timers.forEach((t) => clearTimeout(t));
    r.closers.forEach((c) => c.close());
    r.reloader?.end();
    instance?.close();
    process.off("SIGINT", onSigint);
    process.off("SIGTERM", onSigint);
    engine.stop();
    engine.close();               // joins the I/O threads; drivers flush (pcap), counting what they send
    end = counters.snapshot();
    alerts.check(end);            // causes that counted in the last moments (or at close)
  }
  const describe = engine.describe();   // after close: includes drivers' warnings
  return {
    ...summarize(bundle.source, plan, describe, warm && end.at - warm.at > 0 ? diff(warm, end) : diff(start, end), diff(start, end), alerts.lines),
    generation: r.reloader.liveGen,
    reloads: r.reloader.history,
    vnf_counters: r.vnfCounters.totals(),
    vnf_histograms: r.vnfCounters.histograms(),
    restarts: r.restarts.history,
  };
}

/** One worker per core; resolves once every core has its context and state,
 *  and the I/O threads have been let go. */
async function startCores(r: Running, plan: Plan, bundle: Bundle, opts: RunOptions, say: (t: string) => void): Promise<void> {
  const { layout } = plan;
  r.watches = Array.from({ length: layout.cores }, () => new SharedArrayBuffer(8));
  const channels = r.watches.map(() => new MessageChannel());
  r.traces = new TraceHub(new Int32Array(r.control), plan.specs.map((p) => p.name));
  const coreErrors = () => r.counters.snapshot().cores.map((c) => ({ batches: c.batches, vnf_errors: c.vnf_errors }));
  r.reloader = new Reloader(channels.map((c) => c.port1), new Int32Array(r.control), coreErrors, opts.canaryS, { file: bundle.file, config: plan.config?.value });
  const warmupMs = (opts.warmupS ?? 0) * 1000;
  const wasm = opts.context === "quickjs" ? await compiledQuickjs() : undefined;
  r.workers = Array.from({ length: layout.cores }, (_, core) =>
    startWorker({
      engineId: r.engine.id,
      core,
      cores: layout.cores,
      bundleFile: bundle.file,
      config: plan.config?.value,
      rss: { key: [...plan.rssKey], dist: layout.dist },
      addresses: plan.endpoint?.addresses ?? [],
      tcpMemory: plan.endpoint?.tcpMemory,
      portNames: plan.vnfPorts,
      options: { ...plan.core, cpu: layout.coreCpus[core] },
      control: r.control,
      channel: channels[core].port2,
      reloadDiff: opts.reloadDiff,
      saveFailed: saveFailedFor(opts, layout.cores),
      profile: opts.profileBatches,
      watch: r.watches[core],
      context: opts.context ?? "v8",
      limits: { memoryBytes: opts.memoryLimit, cpuBudgetMs: opts.cpuBudgetMs },
      wasm,
      nativeForward: opts.nativeForward ? (opts.durationS ?? 1) * 1000 + warmupMs : undefined,
    }, r, say),
  );
  await Promise.all(r.workers.map((w) => w.ready));
  r.engine.start();
}

/** Each core's share of --save-failed's bounds. */
function saveFailedFor(opts: RunOptions, cores: number): SaveFailed | undefined {
  if (!opts.saveFailed) return undefined;
  return { dir: resolve(opts.saveFailed), vnf: resolve(opts.vnf), maxFiles: Math.max(1, Math.floor(SAVE_LIMITS.files / cores)), maxBytes: Math.floor(SAVE_LIMITS.bytes / cores) };
}

/** What `vnfrun ps` and `vnfrun top` read beside the counters file. */
function publisher(r: Running, plan: Plan, opts: RunOptions, instance: Instance | undefined): () => void {
  const region = r.engine.counters(), startedAt = Date.now(), portLines = r.engine.describe();
  return () => instance?.writeInfo({
    vnf: resolve(opts.vnf), started: startedAt, cores: plan.layout.cores, dist: plan.layout.dist, lanes: region.lanes,
    ports: plan.specs.map((s, i) => ({ name: s.name, spec: s.text, driver: portLines[i] })),
    core: region.core, port: region.port, generation: r.reloader.liveGen, lastReload: r.reloader.history.at(-1),
  });
}

/** While the cores run: reloads, metrics, the watchdog, set-up alerts, the
 *  warm-up mark, the duration and the live rate line. */
async function watchRun(r: Running, plan: Plan, bundle: Bundle, opts: RunOptions, instance: Instance | undefined,
  say: (t: string) => void, publish: () => void, alerts: Alerts, warmedUp: (s: Snapshot) => void): Promise<void> {
  const { counters, timers, closers } = r;
  const region = r.engine.counters();
  if (instance) timers.push(setInterval(() => instance.writeFile("vnf-counters.json", { at: Date.now(), counters: r.vnfCounters.totals(), histograms: r.vnfCounters.histograms() }), 1000));
  if (opts.metrics) {
    closers.push(await serveMetrics(opts.metrics, {
      region, cores: plan.layout.cores, io: plan.layout.dist === "sw1" || plan.layout.dist === "sw2", portNames: plan.specs.map((p) => p.name),
      generation: () => r.reloader.liveGen, reloads: () => r.reloader.history, vnfCounters: () => r.vnfCounters.perCore(), vnfHistograms: () => r.vnfCounters.histogramsPerCore(),
    }));
  }
  closers.push({ close: () => r.traces.end() });
  if (!opts.nativeForward) closers.push(...(await startReloading(bundle, opts, r.reloader, instance, say, publish, r.traces)));
  const warmupMs = (opts.warmupS ?? 0) * 1000;
  timers.push(watchdog(r.watches, r.workers, opts.vnfTimeoutS ?? DEFAULTS.vnfTimeoutS));
  timers.push(setInterval(() => alerts.check(counters.snapshot()), ALERT_POLL_MS));
  if (warmupMs > 0) timers.push(setTimeout(() => warmedUp(counters.snapshot()), warmupMs));
  if (opts.durationS !== undefined) timers.push(setTimeout(r.stop, opts.durationS * 1000 + warmupMs));
  if (opts.onLine) {
    let last = r.start;
    timers.push(setInterval(() => {
      const now = counters.snapshot();
      opts.onLine!(rateLine(diff(last, now)) + (opts.watch || r.reloader.history.length ? `  gen ${r.reloader.liveGen}` : "") + r.restarts.suffix());
      last = now;
    }, 1000));
  }
}

// The ways a running VNF is changed: --watch, and the control socket that
// `vnfrun reload` talks to. Both compile first, so a file that does not
// compile never reaches a core.
async function startReloading(bundle: Bundle, opts: RunOptions, reloader: Reloader, instance: Instance | undefined,
  say: (t: string) => void, published: () => void, traces: TraceHub): Promise<{ close(): void }[]> {
  const closers: { close(): void }[] = [];
  let watcher: { close(): void } | undefined;
  const rewatch = (inputs: string[]) => {
    watcher?.close();
    const configFile = opts.config === undefined ? undefined : readVnfConfig(opts.config)?.file;
    watcher = watchFiles(configFile ? [...inputs, configFile] : inputs, (at) => void reloadFile(opts.vnf, at).then((o) => { say(describeReload(o)); published(); }));
  };
  const reloadFile = async (vnf: string, startedAt = performance.now()): Promise<ReloadOutcome> => {
    const refused = (error: string): ReloadOutcome => ({ gen: reloader.liveGen, ok: false, rollback: false, error, ms: performance.now() - startedAt });
    const typeErrors = opts.typecheck ? checkTypes(vnf, opts) : "";
    if (typeErrors) {
      if (opts.watch) say(typeErrors);
      return refused(`${vnf} has type errors${opts.watch ? " (above)" : `:\n${typeErrors}`}`);
    }
    let next: Bundle;
    try {
      next = await compileVnf(vnf, opts);
    } catch (e) {
      if (!(e instanceof CompileError)) throw e;
      if (opts.watch) say(e.message);
      return refused(`${vnf} does not compile${opts.watch ? " (above)" : `: ${e.message}`}`);
    }
    let config: VnfConfig | undefined;
    try {
      config = readVnfConfig(opts.config);
    } catch (e) {
      if (opts.watch) say((e as Error).message);
      return refused((e as Error).message);
    }
    if (opts.watch && vnf === opts.vnf) rewatch(next.inputs);
    const outcome = await reloader.reload({ file: next.file, cache: codeCache(next.file), config: config?.value }, startedAt);
    if (outcome.ok) opts.onReload?.(outcome);
    return outcome;
  };
  if (opts.watch) rewatch(bundle.inputs);
  closers.push({ close: () => watcher?.close() });
  const handle = async (req: ControlRequest, sock: Socket) => {
    if (req.op === "trace") return void traces.attach(req, sock);
    const o = req.rollback ? await reloader.reload({ rollback: true }) : await reloadFile(req.vnf ?? opts.vnf);
    say(describeReload(o));
    published();
    return o;
  };
  try {
    await instance?.serve(handle);
  } catch (e) {
    say(`warning: no control socket (vnfrun reload will not find this run): ${(e as Error).message}`);
  }
  return closers;
}

// This run's directory (instance.ts); a run goes on without one where it
// cannot be made, but not under a name another run has.
async function openRun(name: string | undefined, say: (t: string) => void): Promise<Instance | undefined> {
  try {
    return await openInstance(name);
  } catch (e) {
    if (e instanceof InstanceError) throw e;
    say(`warning: no runtime directory (vnfrun ps, top and reload will not find this run): ${(e as Error).message}`);
    return undefined;
  }
}

// How often the counters are looked at for set-up warnings: soon enough to
// be "at that moment" for a person, rare enough to cost nothing.
const ALERT_POLL_MS = 200;

interface RunningWorker {
  ready: Promise<void>;    // its context is loaded and init() ran
  exited: Promise<void>;   // the core is done (the last of its workers exited)
  /** Ends the worker and starts another for the core (after a back-off). */
  restart(reason: string, cause: number): void;
}

// A process() call that never returns (an endless loop; in quickjs a long C
// built-in, which polls no interrupt) would hang its core: its worker is
// ended and another started in its place (startWorker).
function watchdog(watches: SharedArrayBuffer[], workers: RunningWorker[], limitS: number): NodeJS.Timeout {
  const views = watches.map((w) => new Int32Array(w));
  const last = views.map((v) => v[WATCH_BATCHES]);
  const stuckMs = views.map(() => 0);
  const stepMs = 250;
  return setInterval(() => {
    views.forEach((v, k) => {
      const busy = Atomics.load(v, WATCH_BUSY) === 1, done = Atomics.load(v, WATCH_BATCHES);
      stuckMs[k] = busy && done === last[k] ? stuckMs[k] + stepMs : 0;
      last[k] = done;
      if (stuckMs[k] >= limitS * 1000 && stuckMs[k] < limitS * 1000 + stepMs) {
        stuckMs[k] = 0;
        workers[k].restart(`process() had not returned after ${limitS} s (--vnf-timeout; an endless loop?)`, FAILED.restart);
      }
    });
  }, stepMs);
}

// Restarts of one core back off: the first within RESTART_WINDOW_MS starts
// its worker at once, the n-th after RESTART_FIRST_MS x 2^(n-2), at most
// RESTART_MAX_MS (the core's stand-in holds what arrives meanwhile, up to
// its backlog).
const RESTART_WINDOW_MS = 60_000;
const RESTART_FIRST_MS = 50;
const RESTART_MAX_MS = 5_000;

/** A core's worker, and the ones started in its place when it dies: ended
 *  by the watchdog, or (V8) out of its --memory-limit. The new worker takes
 *  the core the dead one left attached (native binding.cc), loads the live
 *  generation, adopts the counters and ctx.memory, and the core goes on;
 *  the batch the dead worker had is dropped under its cause. */
function startWorker(first: WorkerInit, r: Running, say: (t: string) => void): RunningWorker {
  let fatal: string | undefined;
  let markReady: () => void = () => {};
  let failReady: (e: Error) => void = () => {};
  const ready = new Promise<void>((res, rej) => { markReady = res; failReady = rej; });
  let resolveExit: () => void = () => {};
  let rejectExit: (e: Error) => void = () => {};
  const exited = new Promise<void>((res, rej) => { resolveExit = res; rejectExit = rej; });
  exited.catch(() => {});
  const core = first.core;
  let w: Worker;
  let restarting: { reason: string; cause: number; t0: number } | undefined;
  let started = false;   // a worker of this core reached ready: a failed first start ends the run instead
  const recent: number[] = [];

  const spawn = (init: WorkerInit, after?: { reason: string; t0: number }): void => {
    w = new Worker(join(__dirname, "worker.js"), { workerData: init, transferList: [init.channel as MessagePort], resourceLimits: v8Limits(init) });
    const self = w;
    w.on("message", (m: { type: string; text?: string; core?: number }) => {
      if (m.type === "trace") r.traces.deliver(m as TraceMessage);
      else if (m.type === "vnf-counters" || m.type === "vnf-histogram") r.vnfCounters.add(m as unknown as VnfCountersMessage);
      else if (m.type === "vnf-memory") r.memory.hold(m as unknown as VnfMemoryMessage);
      else if (m.type === "ready") {
        started = true;
        markReady();
        if (after) r.restarts.add({ type: "restart", core, reason: after.reason, ms: performance.now() - after.t0 });
      }
      else if (m.type === "restart") r.restarts.add(m as unknown as RestartMessage);
      else if (m.type === "vnf-error") say(`vnf error (core ${m.core}): ${m.text}`);
      else if (m.type === "log") say(`[core ${m.core}] ${m.text}`);
      else if (m.type === "fatal") { fatal = m.text; r.stop(); }
    });
    w.on("error", (e: Error & { code?: string }) => {
      if (self !== w || restarting) return;
      // V8 out of --memory-limit: the worker is lost, the core is not.
      if (e.code === "ERR_WORKER_OUT_OF_MEMORY" && started && !r.stopped) return restart("the VNF ran out of its memory limit (--memory-limit: V8's heap is full)", FAILED.memory);
      r.stop();
      const err = new RunError(`core ${core}: ${e.message}`);
      failReady(err);
      rejectExit(err);
    });
    w.on("exit", () => {
      if (self !== w) return;
      if (restarting && !r.stopped) return respawn(restarting);
      if (fatal) { const err = new RunError(`core ${core}: ${fatal}`); failReady(err); rejectExit(err); }
      else { markReady(); resolveExit(); }
    });
  };

  const restart = (reason: string, cause: number): void => {
    if (restarting) return;
    if (r.stopped) { void w.terminate(); return; }   // the run is ending: no new worker (binding.cc finishes the core at close)
    restarting = { reason, cause, t0: performance.now() };
    Atomics.store(new Int32Array(first.watch), WATCH_BUSY, 0);
    void w.terminate();
  };

  const respawn = ({ reason, cause, t0 }: { reason: string; cause: number; t0: number }): void => {
    const now = Date.now();
    while (recent.length && now - recent[0] > RESTART_WINDOW_MS) recent.shift();
    recent.push(now);
    const wait = recent.length === 1 ? 0 : Math.min(RESTART_MAX_MS, RESTART_FIRST_MS * 2 ** (recent.length - 2));
    setTimeout(() => {
      if (r.stopped) { restarting = undefined; resolveExit(); return; }   // the core is finished at close (binding.cc)
      const live = r.reloader.liveSource ?? { file: first.bundleFile, config: first.config };
      const channel = new MessageChannel();
      r.reloader.replaceChannel(core, channel.port1);
      const init: WorkerInit = {
        ...first, bundleFile: live.file, config: live.config, gen: r.reloader.liveGen, channel: channel.port2,
        lost: cause, held: { ...r.vnfCounters.heldBy(core), memory: r.memory.heldBy(core) },
      };
      spawn(init, { reason, t0 });
      restarting = undefined;
    }, wait);
  };

  spawn(first);
  return { ready, exited, restart };
}

function summarize(vnf: string, { layout, specs }: Plan, describe: string[], rate: Snapshot, total: Snapshot, warnings: string[]): Omit<Summary, "generation" | "reloads" | "vnf_counters" | "vnf_histograms" | "restarts"> {
  const secs = rate.at / 1000 || Number.MIN_VALUE;
  return {
    vnf,
    cores_used: layout.cores,
    dist: layout.dist,
    seconds: rate.at / 1000,
    rx_mpps: sum(rate.ports, "rx_packets") / secs / 1e6,
    tx_mpps: sum(rate.ports, "tx_packets") / secs / 1e6,
    tx_gbps: (sum(rate.ports, "tx_bytes") * 8) / secs / 1e9,
    drops: drops(total),
    ports: specs.map((s, i) => ({ name: s.name, spec: s.text, driver: describe[i], ...total.ports[i] })),
    cores: total.cores,
    warnings,
  };
}
