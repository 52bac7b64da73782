// The supervisor's side of core restarts: a core whose context was lost
// inside its worker (quickjs: out of memory, a WASM trap) starts a new one
// itself and says so; a worker that was lost (--vnf-timeout, V8 out of
// --memory-limit) is replaced by the supervisor (supervisor.ts startWorker).
// Here each restart is kept for the summary, counted in the live line, and
// told once a second at most (a core that keeps dying would flood).
export interface RestartMessage { type: "restart"; core: number; reason: string; ms: number }
export interface RestartRecord { core: number; reason: string; ms: number; at: string }

export class Restarts {
  readonly history: RestartRecord[] = [];
  private lastSaid = 0;
  private unsaid = 0;
  constructor(private say: (t: string) => void) {}

  add(m: RestartMessage): void {
    this.history.push({ core: m.core, reason: m.reason, ms: m.ms, at: new Date().toISOString() });
    const now = Date.now();
    if (now - this.lastSaid < 1000) { this.unsaid++; return; }
    const more = this.unsaid ? ` (${this.unsaid} more restarts since the last line)` : "";
    this.lastSaid = now;
    this.unsaid = 0;
    this.say(`core ${m.core}: context restarted in ${m.ms.toFixed(1)} ms: ${m.reason}${more}`);
  }

  /** For the live line: how many, when any. */
  suffix(): string {
    return this.history.length ? `  restarts ${this.history.length}` : "";
  }
}
