// The supervisor's side of core restarts: a core whose context was lost
// inside its worker (quickjs: out of memory, a WASM trap) starts a new one
// itself and says so; a worker that was lost (--vnf-timeout, V8 out of
// --memory-limit) is replaced by the supervisor (supervisor.ts startWorker).
// Here each restart is kept for the summary, counted in the live line, and
// told once a second at most (a core that keeps dying would flood).
export interface RestartMessage { type: "restart"; core: number; reason: string; ms: number }
export interface RestartRecord { core: number; reason: string; ms: number; at: string }

// A core restarted this often within a minute is said to keep failing, with
// its last reason, in the live line.
const KEEPS_FAILING = 3;
const MINUTE_MS = 60_000;

export class Restarts {
  readonly history: RestartRecord[] = [];
  private times: { core: number; at: number; reason: string }[] = [];
  private lastSaid = 0;
  private unsaid = 0;
  constructor(private say: (t: string) => void) {}

  add(m: RestartMessage): void {
    this.history.push({ core: m.core, reason: m.reason, ms: m.ms, at: new Date().toISOString() });
    const now = Date.now();
    this.times.push({ core: m.core, at: now, reason: m.reason });
    if (now - this.lastSaid < 1000) { this.unsaid++; return; }
    const more = this.unsaid ? ` (${this.unsaid} more restarts since the last line)` : "";
    this.lastSaid = now;
    this.unsaid = 0;
    this.say(`core ${m.core}: context restarted in ${m.ms.toFixed(1)} ms: ${m.reason}${more}`);
  }

  /** For the live line: how many, when any, and a core that keeps failing
   *  (KEEPS_FAILING restarts within a minute) with its last reason. */
  suffix(now = Date.now()): string {
    if (!this.history.length) return "";
    this.times = this.times.filter((t) => now - t.at < MINUTE_MS);
    const perCore = new Map<number, { n: number; reason: string }>();
    for (const t of this.times) perCore.set(t.core, { n: (perCore.get(t.core)?.n ?? 0) + 1, reason: t.reason });
    const failing = [...perCore].filter(([, c]) => c.n >= KEEPS_FAILING).map(([core, c]) => `core ${core} keeps failing (${c.n} restarts in a minute): ${c.reason}`);
    return `  restarts ${this.history.length}${failing.length ? `; ${failing.join("; ")}` : ""}`;
  }
}
