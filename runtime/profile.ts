// --profile: the run again as a child process under V8's deopt and inlining
// traces, each event mapped to the VNF's or the SDK's TS file and line
// through the bundle's source map; at the end a table of deopts (function,
// TS location, reason, count) and of calls V8 would not inline into the
// per-packet code, then batches per second and the time per batch.
// The child's bundle is deleted when it exits; this process compiles the
// same file to the same code (esbuild is deterministic), so its own copy's
// map serves for the child's lines.
import { spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { SourceMap } from "node:module";
import { dirname, relative, resolve } from "node:path";
import { compileVnf } from "./compile";
import { UserError } from "./user-error";
import type { Summary } from "./supervisor";
import type { HistogramTotals } from "./vnf-counters";

/** The histogram of process() times the cores keep under --profile (µs). */
export const BATCH_HISTOGRAM = "vnfrun_batch_us";
export const BATCH_US_BOUNDS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];
/** Set in the child's environment: its cores time each process() call. */
export const PROFILING_ENV = "VNFRUN_PROFILING";

export interface Deopt { fn: string; at: string; reason: string; kind: string; count: number; inlinedAt: string[] }
export interface NotInlined { callee: string; at: string; caller: string; reason: string; count: number }
export interface Profile { deopts: Deopt[]; notInlined: NotInlined[]; batchesPerS: number; batchUs?: HistogramTotals }

// V8's SharedFunctionInfo::Inlineability, the "(reason: N)" of --trace-turbo-inlining.
const INLINEABILITY = ["it has no script", "binary coverage is on", "it is a builtin", "it is not user JavaScript", "it has no bytecode",
  "its bytecode is over the inlining limit (460 bytes): split it or move the rare path out", "it may contain breakpoints", "optimization is disabled for it"];

/** Maps positions in the child's bundle (any /vnfrun-PID/NAME.N.js) to TS. */
export class BundleMap {
  private map: SourceMap;
  private lines: string[];
  constructor(private bundleFile: string, private cwd = process.cwd()) {
    const code = readFileSync(bundleFile, "utf8");
    const m = /\/\/# sourceMappingURL=data:application\/json;base64,([A-Za-z0-9+/=]+)\s*$/.exec(code);
    if (!m) throw new Error(`${bundleFile}: no inline source map`);
    this.map = new SourceMap(JSON.parse(Buffer.from(m[1], "base64").toString("utf8")));
    this.lines = code.split("\n");
  }

  /** "/tmp/vnfrun-9/fw.0.js:120:7" -> "vnfs/fw.ts:31:11" (relative to the cwd); as given when not in a bundle. */
  position(file: string, line: number, col: number): string {
    if (!/[/\\]vnfrun-\d+[/\\][^/\\]+\.\d+\.js$/.test(file)) return `${file}:${line}:${col}`;
    return this.mapped(line, col);
  }

  private mapped(line: number, col: number): string {
    const e = this.map.findEntry(line - 1, col - 1) as { originalSource?: string; originalLine?: number; originalColumn?: number };
    if (!e?.originalSource) return "?";
    const src = e.originalSource.startsWith("file://") ? new URL(e.originalSource).pathname : resolve(dirname(this.bundleFile), e.originalSource);
    return `${relative(this.cwd, src)}:${e.originalLine! + 1}:${e.originalColumn! + 1}`;
  }

  /** Where a function of this name is defined in the bundle, as TS (first match). */
  definition(name: string): string {
    const esc = name.replace(/^(get|set) /, "").replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const re = new RegExp(`(?:function\\s+${esc}\\s*\\(|^\\s*(?:static\\s+)?(?:get\\s+|set\\s+|async\\s+)?${esc}\\s*\\(|\\b${esc}\\s*[:=]\\s*(?:function\\b|\\([^)]*\\)\\s*=>))`);
    const i = this.lines.findIndex((l) => re.test(l));
    if (i < 0) return "?";
    return this.mapped(i + 1, this.lines[i].search(/\S/) + 1);
  }
}

/** Reads the child's trace output (both traces interleaved, any number of threads). */
export function parseTraces(text: string, map: BundleMap): { deopts: Deopt[]; notInlined: NotInlined[] } {
  const deopts = new Map<string, Deopt>();
  const cannot = new Map<string, NotInlined>();
  const lines = text.split("\n");
  const inlined = new Set<string>();            // SFI addresses V8 inlined somewhere
  const listed = new Map<string, { name: string; caller: string }>();   // candidates, by SFI address
  const pos = (s: string) => {
    const m = /^(.*):(\d+):(\d+)$/.exec(s);
    return m ? map.position(m[1], Number(m[2]), Number(m[3])) : s;
  };
  // The caller of a call V8 considers inlining is the function being
  // compiled: the last "[compiling method ... <JSFunction NAME" (--trace-opt)
  // before it (the child compiles on its own thread, one job at a time).
  let compiling = "?";
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    const job = /^\[compiling method .*?<JSFunction (.*?) ?\(sfi/.exec(l);
    if (job) { compiling = job[1] || "(anonymous)"; continue; }
    let m = /^\[bailout \(kind: ([^,]+), reason: (.*)\): begin\. deoptimizing .*?<JSFunction ([^ >]*)/.exec(l);
    if (m) {
      const kind = m[1], reason = m[2], fn = m[3] || "(anonymous)";
      let at = "?", inlinedAt: string[] = [];
      for (let k = i + 1; k < Math.min(lines.length, i + 6); k++) {
        const d = /;;; deoptimize at (.*)$/.exec(lines[k]);
        if (!d) continue;
        const chain = [...d[1].matchAll(/<([^>]+)>/g)].map((x) => pos(x[1]));
        at = chain[0] ?? "?";
        inlinedAt = chain.slice(1);
        break;
      }
      const key = `${fn}\0${at}\0${reason}`;
      const e = deopts.get(key) ?? { fn, at, reason, kind, count: 0, inlinedAt };
      e.count++;
      deopts.set(key, e);
      continue;
    }
    m = /^Cannot consider .*<SharedFunctionInfo ([^>]*)>\} for inlining \(reason: (\d+)\)/.exec(l);
    if (m) {
      const callee = m[1], caller = compiling;
      const key = `${callee}\0${caller}\0${m[2]}`;
      const e = cannot.get(key) ?? { callee, caller, at: map.definition(callee), reason: INLINEABILITY[Number(m[2])] ?? `V8 reason ${m[2]}`, count: 0 };
      e.count++;
      cannot.set(key, e);
      continue;
    }
    m = /^ {2}- target: \S+ \{(\S+) <SharedFunctionInfo ([^>]*)>\}, bytecode size: (\d+)/.exec(l);
    if (m) { if (!listed.has(m[1])) listed.set(m[1], { name: m[2], caller: compiling }); continue; }
    m = /^Inlining \S+ \{(\S+) <SharedFunctionInfo/.exec(l);
    if (m) inlined.add(m[1]);
  }
  // Candidates V8 listed but never inlined: the cumulative budget ran out.
  for (const [sfi, c] of listed) {
    if (inlined.has(sfi)) continue;
    const key = `${c.name}\0${c.caller}\0budget`;
    const e = cannot.get(key) ?? { callee: c.name, caller: c.caller, at: map.definition(c.name), reason: "the caller's inlining budget (920 bytes of bytecode) was used up", count: 0 };
    e.count++;
    cannot.set(key, e);
  }
  // Calls to code of the VNF's bundle (its own or the SDK's), not Node's;
  // and not to process() itself, which the runtime calls once a batch.
  const user = (n: NotInlined) => n.at !== "?" && n.callee !== "process";
  return {
    deopts: [...deopts.values()].sort((a, b) => b.count - a.count),
    notInlined: [...cannot.values()].filter(user).sort((a, b) => b.count - a.count),
  };
}

export function formatProfile(p: Profile): string {
  const out: string[] = ["", "profile (V8 traces of the VNF's bundle, at TS lines):"];
  const table = (head: string[], rows: string[][]) => {
    const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r: string[]) => "  " + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]))).join("  ");
    out.push(line(head), ...rows.map(line));
  };
  if (p.deopts.length) {
    out.push("deopts (the optimized code was thrown away; each costs a recompile, and a loop that keeps deopting runs slow):");
    table(["count", "function", "TS location", "reason"], p.deopts.map((d) => [String(d.count), d.fn, d.at + (d.inlinedAt.length ? ` (inlined at ${d.inlinedAt.join(" < ")})` : ""), `${d.reason} (${d.kind})`]));
  } else out.push("deopts: none");
  if (p.notInlined.length) {
    out.push("calls V8 did not inline (each is a real call per packet where it sits in the loop):");
    table(["count", "callee", "defined at", "called from", "why"], p.notInlined.map((n) => [String(n.count), n.callee, n.at, n.caller, n.reason]));
  } else out.push("calls not inlined: none");
  out.push(`batches per second: ${p.batchesPerS.toFixed(0)}`);
  const h = p.batchUs;
  if (h && h.count > 0) {
    out.push(`time per batch (process() only; ${h.count} batches, mean ${(h.sum / h.count).toFixed(1)} µs):`);
    const max = Math.max(...h.buckets);
    h.buckets.forEach((n, i) => {
      if (!n) return;
      const label = i < h.bounds.length ? `<= ${h.bounds[i]} µs` : `> ${h.bounds.at(-1)} µs`;
      out.push(`  ${label.padStart(12)}  ${String(n).padStart(9)}  ${"#".repeat(Math.max(1, Math.round((40 * n) / max)))}`);
    });
  }
  return out.join("\n") + "\n";
}

/** `vnfrun ARGS --profile`: runs ARGS (without --profile) as a child under
 *  the traces and returns its summary with the profile. */
export async function profileRun(cli: string, args: string[], vnf: string, allowNode: boolean): Promise<{ summary: Summary; profile: Profile }> {
  const own = await compileVnf(vnf, { allowNode });
  try {
    const map = new BundleMap(own.file);
    const child = spawn(process.execPath, ["--trace-deopt-verbose", "--trace-turbo-inlining", "--trace-opt", "--no-concurrent-recompilation", cli, ...args.filter((a) => a !== "--profile"), "--json"], {
      stdio: ["inherit", "pipe", "inherit"], env: { ...process.env, [PROFILING_ENV]: "1" },
    });
    const chunks: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => chunks.push(d));
    const forward = () => child.kill("SIGINT");   // Ctrl-C ends the child's run, which then reports
    process.on("SIGINT", forward);
    const code = await new Promise<number | null>((res) => child.on("close", res));
    process.off("SIGINT", forward);
    const text = Buffer.concat(chunks).toString("utf8");
    // The summary is a JSON object from a line "{" to a line "}"; V8 flushes
    // its trace buffer when it likes, so trace lines may come after it too.
    const at = text.startsWith("{\n") ? 0 : text.lastIndexOf("\n{\n") + 1;
    const end = at > 0 || text.startsWith("{\n") ? text.indexOf("\n}\n", at) : -1;
    if (code !== 0 || end < 0) throw new ProfileError(`the profiled run ended with code ${code}${end < 0 ? " and no summary" : ""}`);
    const summary = JSON.parse(text.slice(at, end + 2)) as Summary;
    const { deopts, notInlined } = parseTraces(text.slice(0, at) + text.slice(end + 3), map);
    const batches = summary.cores.reduce((a, c) => a + (c.batches ?? 0), 0);
    const batchUs = summary.vnf_histograms?.[BATCH_HISTOGRAM];
    delete summary.vnf_histograms?.[BATCH_HISTOGRAM];
    return { summary, profile: { deopts, notInlined, batchesPerS: summary.seconds > 0 ? batches / summary.seconds : 0, batchUs } };
  } finally {
    rmSync(dirname(own.file), { recursive: true, force: true });
  }
}

export class ProfileError extends UserError {}
