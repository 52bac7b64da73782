// vnfrun ps and vnfrun top: read a running instance's directory (instance.ts)
// from another process. The counters file is the engine's own memory, so
// reading it costs the packet path nothing; rates are deltas between reads.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { CounterRegion } from "./addon";
import { findInstance, listInstances, type InstanceInfo } from "./instance";
import { drops, readLanes, snapshotOf, type Lane } from "./stats";
import { isGauge } from "../sdk/vnf";

interface Info extends InstanceInfo {
  vnf: string; started: number; cores: number; dist: string; lanes: number;
  ports: { name: string; spec: string; driver: string }[];
  core: string[]; port: string[]; generation: number;
  lastReload?: { gen: number; ok: boolean; ms: number; at: string };
}

/** One reading of an instance: its info and every lane's counters. */
export interface Sample { at: number; info: Info; lanes: Lane[]; vnf: { at: number; counters: Record<string, number>; histograms?: Record<string, { bounds: number[]; buckets: number[]; sum: number; count: number }> } }

export function sample(dir: string): Sample {
  const info = { ...JSON.parse(readFileSync(join(dir, "info.json"), "utf8")), dir } as Info;
  const bytes = readFileSync(join(dir, "counters"));
  const region: CounterRegion = {
    buffer: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
    lanes: info.lanes, ports: info.ports.length, core: info.core, port: info.port,
  };
  let vnf = { at: Date.now(), counters: {} as Record<string, number> };
  try { vnf = JSON.parse(readFileSync(join(dir, "vnf-counters.json"), "utf8")); } catch { /* none yet */ }
  return { at: performance.now(), info, lanes: readLanes(region, info.cores), vnf };
}

// Causes only some runs can have (the limits: --cpu-budget, --memory-limit,
// restarts; kept frames: batch.keep) are shown once they count: the screen
// has room for 40 lines.
const RARE_CAUSES = new Set(["vnf_cpu_budget", "vnf_memory", "vnf_restart", "keep_refused", "kept_forgotten"]);

/** Totals of a sample: per port (summed over lanes), per core, per drop cause. */
export function totals(s: Sample) {
  const snap = snapshotOf(s.lanes, s.info.cores, s.at);
  const ports = s.info.ports.map((p, i) => ({ name: p.name, ...snap.ports[i] }));
  return { pid: s.info.pid, name: s.info.name, vnf: s.info.vnf, generation: s.info.generation, ports, cores: snap.cores, drops: drops(snap),
    vnf_counters: s.vnf.counters, vnf_histograms: s.vnf.histograms ?? {} };
}

const uptime = (ms: number) => {
  const s = Math.floor(ms / 1000);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
};

export function formatPs(list = listInstances()): string {
  if (!list.length) return "no vnfrun instances running\n";
  const rows = list.map((i) => {
    const info = i as Info;
    return [info.name ?? "-", String(info.pid), info.vnf, String(info.generation), info.ports.map((p) => (p.spec.startsWith(`${p.name}=`) ? p.spec : `${p.name}=${p.spec}`)).join(" "),
      `${info.cores}${info.cores > 1 ? ` ${info.dist}` : ""}`, uptime(Date.now() - info.started)];
  });
  const head = ["NAME", "PID", "VNF", "GEN", "PORTS", "CORES", "UP"];
  const width = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  return [head, ...rows].map((r) => r.map((v, c) => (c === r.length - 1 ? v : v.padEnd(width[c]))).join("  ")).join("\n") + "\n";
}

const rate = (n: number, secs: number) => (secs > 0 ? n / secs : 0);
const mpps = (n: number) => (n / 1e6).toFixed(3);
const gbps = (bytes: number) => ((bytes * 8) / 1e9).toFixed(3);

/** The screen for two samples of one instance (a, then b); totals count
 *  from `base` (the reader's "clear": the counters themselves never go back). */
export function formatTop(a: Sample, b: Sample, base?: Sample): string {
  const secs = (b.at - a.at) / 1000;
  const ta = totals(a), tb = totals(b), info = b.info, t0 = base ? totals(base) : undefined;
  const d = (x: number, y: number) => rate(y - x, secs);
  const lines = [
    `${info.name ?? info.pid} (pid ${info.pid})  ${info.vnf}  gen ${info.generation}  up ${uptime(Date.now() - info.started)}  ${info.cores} core${info.cores > 1 ? `s ${info.dist}` : ""}` +
      (info.lastReload ? `  last reload: gen ${info.lastReload.gen} ${info.lastReload.ok ? "live" : "refused"} at ${info.lastReload.at.slice(11, 19)}` : ""),
    "",
    `${"port".padEnd(10)}${"rx Mpps".padStart(10)}${"rx Gbit/s".padStart(11)}${"tx Mpps".padStart(10)}${"tx Gbit/s".padStart(11)}  driver`,
    ...tb.ports.map((p: any, i) => {
      const q: any = ta.ports[i];
      return `${p.name.padEnd(10)}${mpps(d(q.rx_packets, p.rx_packets)).padStart(10)}${gbps(d(q.rx_bytes, p.rx_bytes)).padStart(11)}` +
        `${mpps(d(q.tx_packets, p.tx_packets)).padStart(10)}${gbps(d(q.tx_bytes, p.tx_bytes)).padStart(11)}  ${info.ports[i].driver}`;
    }),
    "",
    ...tb.cores.map((c, k) => `core ${k}: ${mpps(d(ta.cores[k].packets, c.packets))} Mpps in ${d(ta.cores[k].batches, c.batches).toFixed(0)} batches/s, ${c.vnf_errors} VNF errors`),
    "",
    `${"drop cause".padEnd(18)}${"per second".padStart(12)}${"total".padStart(14)}`,
    ...Object.keys(tb.drops).filter((k) => tb.drops[k] !== 0 || !RARE_CAUSES.has(k)).map((k) => `${k.padEnd(18)}${d(ta.drops[k], tb.drops[k]).toFixed(0).padStart(12)}${String(tb.drops[k] - (t0?.drops[k] ?? 0)).padStart(14)}`),
  ];
  // The VNF's own counters: written once a second, so rates come from their own timestamps.
  const names = Object.keys(b.vnf.counters);
  if (names.length) {
    const vs = (b.vnf.at - a.vnf.at) / 1000;
    lines.push("", `${"VNF counter".padEnd(18)}${"per second".padStart(12)}${"total".padStart(14)}`,
      ...names.map((k) => isGauge(k) // a level: its value now, no rate
        ? `${k.padEnd(18)}${"".padStart(12)}${String(b.vnf.counters[k]).padStart(14)}`
        : `${k.padEnd(18)}${rate(b.vnf.counters[k] - (a.vnf.counters[k] ?? 0), vs).toFixed(0).padStart(12)}${String(b.vnf.counters[k] - (base?.vnf.counters[k] ?? 0)).padStart(14)}`));
  }
  for (const [k, h] of Object.entries(b.vnf.histograms ?? {})) {
    const le = h.bounds.map((x, i) => `<=${x}: ${h.buckets[i]}`).concat(`more: ${h.buckets[h.bounds.length]}`);
    lines.push("", `${k}: ${h.count} observed, mean ${(h.count ? h.sum / h.count : 0).toFixed(1)}; ${le.join("  ")}`);
  }
  return lines.join("\n") + "\n";
}

/** vnfrun top: redraws in a terminal (q quits, p pauses, c clears the
 *  totals), a line a sample otherwise. */
export async function top(target: string, opts: { once?: boolean; json?: boolean; intervalS?: number }): Promise<void> {
  const dir = findInstance(target);
  const interval = (opts.intervalS ?? 1) * 1000;
  let prev = sample(dir);
  if (opts.once) {
    await new Promise((r) => setTimeout(r, Math.min(interval, 1000)));
    const now = sample(dir);
    process.stdout.write(opts.json ? JSON.stringify({ ...totals(now), seconds: (now.at - prev.at) / 1000 }, null, 2) + "\n" : formatTop(prev, now));
    return;
  }
  const tty = process.stdout.isTTY && !opts.json;
  let paused = false, base: Sample | undefined, done: () => void = () => {};
  const finished = new Promise<void>((r) => (done = r));
  if (tty && process.stdin.isTTY) {
    process.stdin.setRawMode(true);
    process.stdin.resume();
    process.stdin.on("data", (k) => {
      const key = k.toString();
      if (key === "q" || key === "\u0003") done();
      else if (key === "p") paused = !paused;
      else if (key === "c") base = prev;
    });
  }
  if (tty) process.stdout.write("\x1b[?25l\x1b[2J");   // hide the cursor, clear once: later frames overwrite in place
  const timer = setInterval(() => {
    let now: Sample;
    try {
      now = sample(dir);
    } catch {
      if (tty) process.stdout.write("\x1b[?25h\n");
      process.stdout.write(`${target} has ended\n`);
      done();
      return;
    }
    if (!paused) {
      if (tty) process.stdout.write(`\x1b[H${formatTop(prev, now, base).replace(/\n/g, "\x1b[K\n")}\x1b[Jq quits, p pauses, c clears the totals\x1b[K`);
      else if (opts.json) process.stdout.write(JSON.stringify({ ...totals(now), seconds: (now.at - prev.at) / 1000 }) + "\n");
      else process.stdout.write(lineOf(prev, now) + "\n");
    }
    prev = now;
  }, interval);
  await finished;
  clearInterval(timer);
  if (tty) process.stdout.write("\x1b[?25h\n");
  if (process.stdin.isTTY) process.stdin.setRawMode(false);
  process.stdin.pause();
}

function lineOf(a: Sample, b: Sample): string {
  const secs = (b.at - a.at) / 1000, ta = totals(a), tb = totals(b);
  const rx = tb.ports.reduce((n, p: any, i) => n + p.rx_packets - (ta.ports[i] as any).rx_packets, 0);
  const tx = tb.ports.reduce((n, p: any, i) => n + p.tx_packets - (ta.ports[i] as any).tx_packets, 0);
  const dropped = Object.keys(tb.drops).reduce((n, k) => n + tb.drops[k] - ta.drops[k], 0);
  return `gen ${b.info.generation}  rx ${mpps(rate(rx, secs))} Mpps  tx ${mpps(rate(tx, secs))} Mpps  dropped ${rate(dropped, secs).toFixed(0)}/s`;
}
