// The supervisor: compiles the VNF, builds the engine, runs one worker per
// core and reports. It is the one place that changes what runs; the CLI,
// the benchmark and the tests all go through `run`.
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { Worker } from "node:worker_threads";
import { loadAddon, type NativeEngine } from "./addon";
import { compileVnf, type Bundle, type CompileOptions } from "./compile";
import { parsePorts, type PortSpec } from "./ports";
import { Counters, diff, drops, rateLine, sum, type Snapshot } from "./stats";
import { CTL_STOP, CTL_WORDS, type WorkerInit } from "./control";

export interface RunOptions extends CompileOptions {
  vnf: string;
  ports?: string[];
  rxBatch?: number;
  txBatch?: number;
  busyPoll?: boolean;
  idleUs?: number;
  durationS?: number;       // stop after this long; default: when inputs end
  count?: number;           // stop after this many received packets
  warmupS?: number;         // rates count from here (the seed's NO_OF_SAFE_ITR)
  buffers?: number;
  ringSize?: number;
  nativeForward?: boolean;  // replace the VNF with the C++ l2fwd (the engine's ceiling)
  onLine?: (line: string) => void;     // live rate line, once a second
  onMessage?: (text: string) => void;  // VNF errors and logs
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
  ports: PortSummary[];
  cores: Record<string, number>[];
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

async function runBundle(bundle: Bundle, opts: RunOptions): Promise<Summary> {
  const vnfPorts = loadVnfPorts(bundle);
  const specs = parsePorts(opts.ports ?? [], vnfPorts);
  const cores = 1;
  const { Engine } = loadAddon();
  let engine: NativeEngine;
  try {
    engine = new Engine({
      buffers: opts.buffers ?? 32768,
      bufSize: 2048,
      headroom: 64,
      ringSize: opts.ringSize ?? 1024,
      lanes: cores + 1,
      ports: specs.map((s) => ({ name: s.name, driver: s.driver, options: s.options })),
    });
  } catch (e) {
    throw new RunError((e as Error).message);
  }
  const counters = new Counters(engine.counters(), cores);
  const control = new SharedArrayBuffer(CTL_WORDS * 4);
  const ctl = new Int32Array(control);

  const start = counters.snapshot();
  let warm: Snapshot | undefined;
  let last = start;
  const warmupMs = (opts.warmupS ?? 0) * 1000;
  const timers: NodeJS.Timeout[] = [];
  const stop = () => Atomics.store(ctl, CTL_STOP, 1);
  if (warmupMs > 0) timers.push(setTimeout(() => (warm = counters.snapshot()), warmupMs));
  if (opts.durationS !== undefined) timers.push(setTimeout(stop, opts.durationS * 1000 + warmupMs));
  if (opts.onLine)
    timers.push(setInterval(() => {
      const now = counters.snapshot();
      opts.onLine!(rateLine(diff(last, now)));
      last = now;
    }, 1000));
  const onSigint = () => { if (Atomics.load(ctl, CTL_STOP)) process.exit(130); stop(); };
  process.on("SIGINT", onSigint);

  let end: Snapshot;
  try {
    await Promise.all(
      Array.from({ length: cores }, (_, core) =>
        runWorker({
          engineId: engine.id,
          core,
          cores,
          bundleFile: bundle.file,
          portNames: vnfPorts,
          options: {
            rxBatch: opts.rxBatch ?? 256,
            txBatch: opts.txBatch ?? 32,
            busyPoll: !!opts.busyPoll,
            idleUs: opts.idleUs ?? 100,
            count: opts.count ?? 0,
          },
          control,
          nativeForward: opts.nativeForward ? (opts.durationS ?? 1) * 1000 + warmupMs : undefined,
        }, opts.onMessage ?? ((t) => process.stderr.write(t + "\n")), stop),
      ),
    );
  } finally {
    timers.forEach((t) => clearTimeout(t));
    process.off("SIGINT", onSigint);
    engine.close();               // drivers flush here (pcap), counting what they send
    end = counters.snapshot();
  }
  const describe = engine.describe();   // after close: includes drivers' warnings
  return summarize(bundle.source, specs, describe, warm && end.at - warm.at > 0 ? diff(warm, end) : diff(start, end), diff(start, end));
}

function runWorker(init: WorkerInit, onMessage: (t: string) => void, stopAll: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const w = new Worker(join(__dirname, "worker.js"), { workerData: init });
    let fatal: string | undefined;
    w.on("message", (m: { type: string; text?: string; core?: number }) => {
      if (m.type === "vnf-error") onMessage(`vnf error (core ${m.core}): ${m.text}`);
      else if (m.type === "log") onMessage(`[core ${m.core}] ${m.text}`);
      else if (m.type === "fatal") { fatal = m.text; stopAll(); }
    });
    w.on("error", (e) => { stopAll(); reject(new RunError(`core ${init.core}: ${e.message}`)); });
    w.on("exit", () => (fatal ? reject(new RunError(`core ${init.core}: ${fatal}`)) : resolve()));
  });
}

function summarize(vnf: string, specs: PortSpec[], describe: string[], rate: Snapshot, total: Snapshot): Summary {
  const secs = rate.at / 1000 || Number.MIN_VALUE;
  return {
    vnf,
    seconds: rate.at / 1000,
    rx_mpps: sum(rate.ports, "rx_packets") / secs / 1e6,
    tx_mpps: sum(rate.ports, "tx_packets") / secs / 1e6,
    tx_gbps: (sum(rate.ports, "tx_bytes") * 8) / secs / 1e9,
    drops: drops(total),
    ports: specs.map((s, i) => ({ name: s.name, spec: s.text, driver: describe[i], ...total.ports[i] })),
    cores: total.cores,
  };
}
