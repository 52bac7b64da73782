// vnfrun replay FILE VNF: a batch kept by --save-failed (or any capture) run
// through the VNF again, as one batch, in this process, each packet on the
// in-port it came by (from FILE's .json). With --inspect-brk a debugger is
// awaited and the run stops at the first line of process(), where the
// source map shows the TS source.
import { existsSync, readFileSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import { compileVnf } from "./compile";
import { readConfig } from "./config";
import { errorLocation, mappedStack } from "./errors";
import { readCapture } from "./harness/pcap-file";
import { loadModule, type CoreView } from "./v8-context";
import { Histogram } from "../sdk/histogram";
import { UserError } from "./user-error";
import type { FailedBatchInfo } from "./failed-batches";

export interface ReplayOptions { config?: string; inspectBrk?: string | boolean; allowNode?: boolean }

export interface ReplayResult { text: string; threw: boolean }

export async function replay(file: string, vnfFile: string, opts: ReplayOptions = {}): Promise<ReplayResult> {
  if (!existsSync(file)) throw new UserError(`${file}: no such file`);
  if (!existsSync(vnfFile)) throw new UserError(`${vnfFile}: no such file`);
  const frames = readCapture(file);
  if (!frames.length) throw new UserError(`${file}: holds no packets`);
  const jsonFile = file.replace(/\.pcap(ng)?$/, "") + ".json";
  const info = existsSync(jsonFile) ? (JSON.parse(readFileSync(jsonFile, "utf8")) as FailedBatchInfo) : undefined;
  const bundle = await compileVnf(vnfFile, { allowNode: opts.allowNode, sourcesContent: !!opts.inspectBrk });
  try {
    const mod = require(bundle.file);
    const vnf = mod.default;
    if (!vnf || typeof vnf.process !== "function" || !Array.isArray(vnf.ports))
      throw new UserError(`${vnfFile}: the default export must be defineVnf({ ports, process, ... })`);
    const ports: string[] = [...vnf.ports];
    const inPorts = frames.map((_, i) => {
      const name = info?.inPorts[i] ?? ports[0];
      const k = ports.indexOf(name);
      if (k < 0) throw new UserError(`${jsonFile}: packet ${i} came in by "${name}", which ${vnfFile} has no port of (its ports: ${ports.join(", ")})`);
      return k;
    });
    // One batch over copies, as the --reload-diff trial runs one: the VNF's
    // own Batch class (the bundle carries its SDK).
    const batch = mod.Batch.fromFrames(frames, ports);
    batch.inPorts.set(inPorts);
    const memory = new Map<string, SharedArrayBuffer>();
    const view: CoreView = {
      core: info?.core ?? 0, cores: 1, portNames: ports,
      pool: batch.bytes, offsets: batch.offsets, lengths: batch.lengths, inPorts: batch.inPorts, verdicts: batch.verdicts, flags: batch.flags,
      fresh: batch.fresh, ctl: batch.ctl, kept: batch.kept, addresses: [], udpBound: new Uint8Array(65536),
      log: (t) => process.stderr.write(`[vnf] ${t}\n`),
      counters: (names) => new Float64Array(names.length),
      histogram: (_n, bounds) => new Histogram(bounds),
      rss: { key: [], dist: "none" },
      memory: (name, bytes) => { let b = memory.get(name); if (!b || b.byteLength < bytes) memory.set(name, (b = new SharedArrayBuffer(bytes))); return b; },
    };
    const config = opts.config === undefined ? undefined : readConfig(opts.config).value;
    const gen = loadModule(mod, info?.generation ?? 1, view, config).start();
    if (opts.inspectBrk) await stopAtProcess(vnf.process, opts.inspectBrk);
    const where = `${frames.length} packets from ${file}${info?.error ? ` (core ${info.core}, gen ${info.generation}; it threw: ${info.error})` : ""}`;
    try {
      gen.process(frames.length, performance.now());
    } catch (e) {
      return { threw: true, text: `replayed ${where}\nprocess() threw: ${errorLocation(e)}\n${mappedStack(e)}\n` };
    }
    const tally = new Map<string, number>();
    for (let i = 0; i < frames.length; i++) {
      const v = batch.verdicts[i], name = v === 0 ? "drop" : ports[v - 1] ?? `bad verdict ${v}`;
      tally.set(name, (tally.get(name) ?? 0) + 1);
    }
    return { threw: false, text: `replayed ${where}\nprocess() returned: ${[...tally].map(([k, n]) => `${k} ${n}`).join(", ")}\n` };
  } finally {
    rmSync(dirname(bundle.file), { recursive: true, force: true });
  }
}

/** Opens the inspector, waits for a debugger, and sets a breakpoint on the
 *  next call of `fn` (DevTools' debug(fn)): the first line of process(). */
async function stopAtProcess(fn: Function, where: string | boolean): Promise<void> {
  const inspector = await import("node:inspector");
  const [host, port] = typeof where === "string" && where.includes(":") ? where.split(":") : ["127.0.0.1", typeof where === "string" ? where : "9229"];
  inspector.open(Number(port), host, false);
  process.stderr.write(`waiting for a debugger at ${inspector.url()} (chrome://inspect, or VS Code "Attach"); it stops at the first line of process()\n`);
  const session = new inspector.Session();
  session.connect();
  const post = (method: string, params?: object) => new Promise<any>((res, rej) => session.post(method, params ?? {}, (e, r) => (e ? rej(e) : res(r))));
  await post("Debugger.enable");
  (globalThis as Record<string, unknown>).__vnfrunProcess = fn;
  const { result } = await post("Runtime.evaluate", { expression: "globalThis.__vnfrunProcess" });
  delete (globalThis as Record<string, unknown>).__vnfrunProcess;
  await post("Debugger.setBreakpointOnFunctionCall", { objectId: result.objectId });
  inspector.waitForDebugger();
}
