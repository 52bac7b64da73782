// The supervisor: compiles the VNF, builds the engine, runs one worker per
// core and reports. It is the one place that changes what runs; the CLI,
// the benchmark and the tests all go through `run`.
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { Worker } from "node:worker_threads";
import { loadAddon, type Distribution, type NativeEngine } from "./addon";
import { CpuListError, parseCpuList } from "./cpus";
import { RssKeyError, parseRssKey } from "./rss";
import { compileVnf, type Bundle, type CompileOptions } from "./compile";
import { parsePorts, type PortSpec } from "./ports";
import { Counters, diff, drops, rateLine, sum, type Snapshot } from "./stats";
import { CTL_WORDS, WATCH_BATCHES, WATCH_BUSY, type WorkerInit } from "./control";
import { Alerts } from "./alerts";

export interface RunOptions extends CompileOptions {
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
  durationS?: number;       // stop after this long; default: when inputs end
  count?: number;           // stop after this many received packets
  warmupS?: number;         // rates count from here (the seed's NO_OF_SAFE_ITR)
  buffers?: number;
  largeBuffers?: number;
  ringSize?: number;
  nativeForward?: boolean;  // replace the VNF with the C++ l2fwd (the engine's ceiling)
  vnfTimeoutS?: number;     // a process() call running longer than this stops the run (default 5)
  onLine?: (line: string) => void;     // live rate line, once a second
  onMessage?: (text: string) => void;  // VNF errors, logs and warnings
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
  warnings: string[];          // the set-up warnings printed during the run (alerts.ts)
}

export class RunError extends Error {}

export async function run(opts: RunOptions): Promise<Summary> {
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

interface Layout {
  cores: number;
  dist: Distribution;
  coreCpus: number[];      // -1: unpinned
  ioCpus: number[];
}

/** Cores, distribution and pinning, checked before anything starts. */
function plan(opts: RunOptions): Layout {
  const cores = opts.cores ?? 1;
  if (!Number.isInteger(cores) || cores < 1 || cores > 64) throw new RunError(`--cores ${cores}: give 1 to 64`);
  const dist = opts.dist ?? (cores === 1 ? "none" : "sw1");
  if (dist === "none" && cores > 1) throw new RunError(`--dist none runs one core; for ${cores} use hw, sw1 or sw2`);
  const io = dist === "sw1" ? 1 : dist === "sw2" ? 2 : 0;
  if (!opts.cpus) return { cores, dist, coreCpus: Array(cores).fill(-1), ioCpus: [] };
  let cpus: number[];
  try {
    cpus = parseCpuList(opts.cpus);
  } catch (e) {
    throw new RunError((e as CpuListError).message);
  }
  if (cpus.length < cores + io)
    throw new RunError(`--cpus ${opts.cpus} lists ${cpus.length} CPUs; --cores ${cores} --dist ${dist} needs ${cores + io} (${cores} cores${io ? ` + ${io} I/O thread${io > 1 ? "s" : ""}` : ""})`);
  // The seed's layout: I/O on the first CPUs, then one core each.
  return { cores, dist, ioCpus: cpus.slice(0, io), coreCpus: cpus.slice(io, io + cores) };
}

async function runBundle(bundle: Bundle, opts: RunOptions): Promise<Summary> {
  const say = opts.onMessage ?? ((t: string) => process.stderr.write(t + "\n"));
  const vnfPorts = loadVnfPorts(bundle);
  const specs = parsePorts(opts.ports ?? [], vnfPorts);
  const layout = plan(opts);
  let rss;
  try {
    rss = parseRssKey(opts.rssKey);
  } catch (e) {
    throw new RunError((e as RssKeyError).message);
  }
  if (rss.warning && layout.cores > 1) say(`warning: ${rss.warning}`);
  const { Engine } = loadAddon();
  const rxBatch = opts.rxBatch ?? 256, txBatch = opts.txBatch ?? 32, idleUs = opts.idleUs ?? 100, busyPoll = !!opts.busyPoll;
  let engine: NativeEngine;
  try {
    engine = new Engine({
      buffers: opts.buffers ?? 32768,
      largeBuffers: opts.largeBuffers,
      bufSize: 2048,
      headroom: 64,
      ringSize: opts.ringSize ?? 1024,
      cores: layout.cores,
      dist: layout.dist,
      rxBatch, txBatch, idleUs, busyPoll,
      count: opts.count ?? 0,
      ioCpus: layout.ioCpus,
      rssKey: rss.key,
      overflow: opts.overflow ?? "auto",
      ports: specs.map((s) => ({ name: s.name, driver: s.driver, options: s.options })),
    });
  } catch (e) {
    throw new RunError((e as Error).message);
  }
  const counters = new Counters(engine.counters(), layout.cores);
  const control = new SharedArrayBuffer(CTL_WORDS * 4);

  const start = counters.snapshot();
  const alerts = new Alerts({ specs, largeBuffers: opts.largeBuffers }, say);
  let warm: Snapshot | undefined;
  let last = start;
  const warmupMs = (opts.warmupS ?? 0) * 1000;
  const timers: NodeJS.Timeout[] = [];
  const stop = () => engine.stop();
  let stopped = false;
  const onSigint = () => { if (stopped) process.exit(130); stopped = true; stop(); };
  process.on("SIGINT", onSigint);

  let end: Snapshot;
  try {
    const watches = Array.from({ length: layout.cores }, () => new SharedArrayBuffer(8));
    const workers = Array.from({ length: layout.cores }, (_, core) =>
      startWorker({
        engineId: engine.id,
        core,
        cores: layout.cores,
        bundleFile: bundle.file,
        portNames: vnfPorts,
        options: { rxBatch, txBatch, busyPoll, idleUs, cpu: layout.coreCpus[core] },
        control,
        watch: watches[core],
        nativeForward: opts.nativeForward ? (opts.durationS ?? 1) * 1000 + warmupMs : undefined,
      }, say, stop),
    );
    // Every core has its context and state: let the I/O threads go.
    await Promise.all(workers.map((w) => w.ready));
    engine.start();
    timers.push(watchdog(watches, workers, opts.vnfTimeoutS ?? 5, stop));
    timers.push(setInterval(() => alerts.check(counters.snapshot()), ALERT_POLL_MS));
    if (warmupMs > 0) timers.push(setTimeout(() => (warm = counters.snapshot()), warmupMs));
    if (opts.durationS !== undefined) timers.push(setTimeout(stop, opts.durationS * 1000 + warmupMs));
    if (opts.onLine)
      timers.push(setInterval(() => {
        const now = counters.snapshot();
        opts.onLine!(rateLine(diff(last, now)));
        last = now;
      }, 1000));
    await Promise.all(workers.map((w) => w.exited));
  } finally {
    timers.forEach((t) => clearTimeout(t));
    process.off("SIGINT", onSigint);
    engine.stop();
    engine.close();               // joins the I/O threads; drivers flush (pcap), counting what they send
    end = counters.snapshot();
    alerts.check(end);            // causes that counted in the last moments (or at close)
  }
  const describe = engine.describe();   // after close: includes drivers' warnings
  return summarize(bundle.source, layout, specs, describe, warm && end.at - warm.at > 0 ? diff(warm, end) : diff(start, end), diff(start, end), alerts.lines);
}

// How often the counters are looked at for set-up warnings: soon enough to
// be "at that moment" for a person, rare enough to cost nothing.
const ALERT_POLL_MS = 200;

interface RunningWorker {
  ready: Promise<void>;    // its context is loaded and init() ran
  exited: Promise<void>;
  kill(reason: string): void;
}

// A process() call that never returns (an endless loop) would hang its core
// and the run: stop that worker, say so, and end the run with an error.
function watchdog(watches: SharedArrayBuffer[], workers: RunningWorker[], limitS: number, stopAll: () => void): NodeJS.Timeout {
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
        workers[k].kill(`process() has not returned for ${limitS} s (an endless loop?); this core was stopped`);
        stopAll();
      }
    });
  }, stepMs);
}

function startWorker(init: WorkerInit, say: (t: string) => void, stopAll: () => void): RunningWorker {
  const w = new Worker(join(__dirname, "worker.js"), { workerData: init });
  let fatal: string | undefined;
  let markReady: () => void = () => {};
  let failReady: (e: Error) => void = () => {};
  const ready = new Promise<void>((res, rej) => { markReady = res; failReady = rej; });
  const exited = new Promise<void>((resolve, reject) => {
    w.on("message", (m: { type: string; text?: string; core?: number }) => {
      if (m.type === "ready") markReady();
      else if (m.type === "vnf-error") say(`vnf error (core ${m.core}): ${m.text}`);
      else if (m.type === "log") say(`[core ${m.core}] ${m.text}`);
      else if (m.type === "fatal") { fatal = m.text; stopAll(); }
    });
    w.on("error", (e) => { stopAll(); const err = new RunError(`core ${init.core}: ${e.message}`); failReady(err); reject(err); });
    w.on("exit", () => {
      if (fatal) { const err = new RunError(`core ${init.core}: ${fatal}`); failReady(err); reject(err); }
      else { markReady(); resolve(); }
    });
  });
  exited.catch(() => {});
  const kill = (reason: string) => { fatal = reason; void w.terminate(); };
  return { ready, exited, kill };
}

function summarize(vnf: string, layout: Layout, specs: PortSpec[], describe: string[], rate: Snapshot, total: Snapshot, warnings: string[]): Summary {
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
