// --context, --memory-limit and --cpu-budget: what they accept, one line of
// error each otherwise. What the limits do is the contexts' business
// (quickjs-context.ts; a V8 core's worker gets resource limits).
export class LimitError extends Error {}

export type ContextName = "v8" | "quickjs";

export function parseContext(v: string): ContextName {
  if (v !== "v8" && v !== "quickjs") throw new LimitError(`--context ${v}: choose v8 (trusted code, fastest) or quickjs (sandboxed: memory limit and CPU budget)`);
  return v;
}

/** "32m", "256M", "1g", "65536" (bytes) -> bytes; NaN when it is not a size. */
export function sizeBytes(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)i?b?$/i.exec(v.trim());
  return m ? Math.round(Number(m[1]) * { "": 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30 }[m[2].toLowerCase() as "" | "k" | "m" | "g"]) : NaN;
}

/** --memory-limit: a size from 1m to 2g. */
export function parseMemoryLimit(v: string): number {
  const bytes = sizeBytes(v);
  if (!(bytes >= 2 ** 20) || bytes > 2 ** 31) throw new LimitError(`--memory-limit ${v}: give a size from 1m to 2g, such as 32m or 256m`);
  return bytes;
}

/** "2ms", "500us", "0.5" (ms) -> milliseconds. */
export function parseCpuBudget(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|us|µs|s)?$/.exec(v.trim());
  const ms = m ? Number(m[1]) * { ms: 1, us: 1e-3, "µs": 1e-3, s: 1e3 }[(m[2] ?? "ms") as "ms"] : NaN;
  if (!(ms >= 0.05) || ms > 60_000) throw new LimitError(`--cpu-budget ${v}: give a time per batch from 50us to 60s, such as 2ms`);
  return ms;
}

/** A V8 core's worker heap limit (--memory-limit): past it the worker's
 *  context is lost, not the process. */
export function v8Limits(init: { context: ContextName; limits: { memoryBytes?: number } }): { maxOldGenerationSizeMb: number } | undefined {
  const bytes = init.context === "v8" ? init.limits.memoryBytes : undefined;
  return bytes ? { maxOldGenerationSizeMb: Math.max(1, Math.round(bytes / 2 ** 20)) } : undefined;
}

// (quickjs-context.ts QUICKJS_MIN_MEMORY, not imported: this file stays free of the WASM package.)
const QUICKJS_MIN_MEMORY = 20 * 2 ** 20;

/** Options that do not go together, as a one-line error; "" when they do. */
export function limitsRefused(o: { context?: ContextName; memoryLimit?: number; cpuBudgetMs?: number }): string {
  if (o.cpuBudgetMs !== undefined && o.context !== "quickjs") return "--cpu-budget needs --context quickjs (a V8 core is bounded by --vnf-timeout)";
  if (o.context === "quickjs" && o.memoryLimit !== undefined && o.memoryLimit < QUICKJS_MIN_MEMORY)
    return `--memory-limit ${o.memoryLimit / 2 ** 20}m: a quickjs context needs at least 20m (its WASM heap starts at 16 MiB)`;
  return "";
}
