// The per-core loop, one per worker thread:
//   n = core.cycle(failed)  -> native retires the last verdicts, fills a batch
//   vnf.process(batch)      -> JS reads and rewrites packets in place
// One native call per batch; packets are (offset, length) into the pool.
import { parentPort, workerData } from "node:worker_threads";
import { loadAddon } from "./addon";
import { WATCH_BATCHES, WATCH_BUSY, type WorkerInit } from "./control";
import { errorLocation } from "./errors";

const init = workerData as WorkerInit;
const post = (m: unknown) => parentPort!.postMessage(m);

function main(): void {
  const core = loadAddon().attach(init.engineId, init.core, init.options);
  if (init.nativeForward !== undefined) {
    post({ type: "ready", core: init.core });
    const packets = core.runNativeForward(init.nativeForward);
    core.detach();
    post({ type: "done", packets });
    return;
  }
  process.setSourceMapsEnabled(true);
  const mod = require(init.bundleFile);
  const vnf = mod.default;
  const L = core.layout;
  const batch = new mod.Batch(
    new Uint8Array(core.pool),
    new Uint32Array(core.batch, L.offsets, L.maxBatch),
    new Uint32Array(core.batch, L.lengths, L.maxBatch),
    new Uint8Array(core.batch, L.inPorts, L.maxBatch),
    new Uint8Array(core.batch, L.verdicts, L.maxBatch),
    init.portNames,
    new Uint8Array(core.batch, L.flags, L.maxBatch),
  );
  const meta = new Float64Array(core.batch, L.meta, 1);
  const ctx = {
    core: init.core,
    cores: init.cores,
    ports: init.portNames,
    port: (name: string) => batch.port(name),
    log: (...a: unknown[]) => post({ type: "log", core: init.core, text: a.map(String).join(" ") }),
  };
  const state = vnf.init ? vnf.init(ctx) : undefined;
  post({ type: "ready", core: init.core });

  const errors = new ErrorReporter(init.core);
  const watch = new Int32Array(init.watch);
  let failed = 0;
  for (;;) {
    const n = core.cycle(failed);
    failed = 0;
    if (n > 0) {
      batch.count = n;
      batch.now = meta[0];
      watch[WATCH_BUSY] = 1;   // plain stores: the watchdog only needs to see them eventually
      try {
        vnf.process(batch, state, ctx);
      } catch (e) {
        failed = 1;
        errors.report(e);
      }
      watch[WATCH_BUSY] = 0;
      watch[WATCH_BATCHES]++;
    } else if (n < 0) break;   // the engine stopped and this core drained
  }
  core.finish(failed);
  core.detach();
  errors.flush();
  post({ type: "done" });
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

try {
  main();
} catch (e) {
  post({ type: "fatal", core: init.core, text: errorLocation(e) });
}
