// Reload, the supervisor's side: every core switches to a new generation of
// the VNF, or none does.
//   prepare  every core loads the bundle beside the live one (and runs
//            init() if the new version has no migrate), still running the
//            live generation
//   build    all loaded, and the new version has migrate: every core runs
//            migrate(live state) and holds
//   commit   all built: each core switches before its next batch (a core
//            that did not hold switches when it sees the message)
// Any failure, at any step: abort, and every core goes on with the live
// generation.
// --watch, `vnfrun reload` and the tests all come through `reload`.
import type { MessagePort } from "node:worker_threads";
import { CTL_SEQ, type FromCore, type ToCore } from "./control";

export interface ReloadOutcome {
  gen: number;              // the generation live afterwards
  ok: boolean;
  rollback: boolean;
  error?: string;           // why it was refused (with the core and TS file:line)
  migrated?: boolean;       // state came from migrate(), not a fresh init()
  ms: number;               // from the request (or the save) to every core switched
  pauseMs?: number;         // the longest gap between two batches on any core: loading, or migrate and the wait
  holdMs?: number;          // the longest a core held its next batch for migrate and the other cores
}

// How long phase one may take before the reload is refused.
const PREPARE_LIMIT_MS = 10_000;

export class Reloader {
  private nextGen = 2;
  private nextId = 1;
  private prevGen: number | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private waiting = new Map<string, (m: FromCore) => void>();
  private ended = false;
  readonly history: (ReloadOutcome & { at: string })[] = [];

  constructor(private channels: MessagePort[], private control: Int32Array, public liveGen = 1) {
    channels.forEach((c) => c.on("message", (m: FromCore) => this.waiting.get(`${m.type}/${m.id}/${m.core}`)?.(m)));
  }

  /** No more reloads: the run is ending. */
  end(): void {
    this.ended = true;
    this.channels.forEach((c) => c.close());
  }

  /** Swap in the bundle at `file`, or the previous generation. One at a time. */
  reload(what: { file: string } | { rollback: true }, startedAt = performance.now()): Promise<ReloadOutcome> {
    const next = this.queue.then(() => this.swap(what, startedAt));
    this.queue = next.catch(() => {});
    return next;
  }

  private async swap(what: { file: string } | { rollback: true }, startedAt: number): Promise<ReloadOutcome> {
    const rollback = "rollback" in what;
    const refuse = (error: string): ReloadOutcome =>
      this.record({ gen: this.liveGen, ok: false, rollback, error, ms: performance.now() - startedAt });
    if (this.ended) return refuse("the run is ending");
    if (rollback && this.prevGen === undefined) return refuse("there is no previous generation to roll back to");
    const id = this.nextId++, gen = rollback ? this.prevGen! : this.nextGen;
    const prepared = this.collect("prepared", id);
    this.send(rollback ? { type: "prepare", id, gen, rollback: true } : { type: "prepare", id, gen, file: what.file });
    let why = await this.allOk(prepared, id);
    if (why) return refuse(why);
    // Without migrate every core's state is built already: nothing to hold for.
    const loads = (await prepared) as Extract<FromCore, { ok: true }>[];
    const migrates = loads.some((p) => p.migrated);
    if (migrates) {
      const built = this.collect("built", id);
      this.send({ type: "build", id });
      why = await this.allOk(built, id);
      if (why) return refuse(why);
    }
    const switched = this.collect("switched", id);
    this.send({ type: "commit", id });
    // A core that ended meanwhile (the run is stopping) never answers.
    const done = (await withLimit(switched, PREPARE_LIMIT_MS)).filter((d) => d !== "timeout") as Extract<FromCore, { type: "switched" }>[];
    this.prevGen = this.liveGen;
    this.liveGen = gen;
    if (!rollback) this.nextGen++;
    const holdMs = Math.max(0, ...done.map((d) => d.holdMs));
    return this.record({
      gen, ok: true, rollback, migrated: rollback ? undefined : migrates,
      ms: performance.now() - startedAt, pauseMs: Math.max(holdMs, ...loads.map((p) => p.ms)), holdMs,
    });
  }

  // Waits for every core's answer; on a failure or a silent core, aborts
  // the attempt and says why.
  private async allOk(answers: Promise<FromCore[]>, id: number): Promise<string | undefined> {
    const got = (await withLimit(answers, PREPARE_LIMIT_MS)) as (Extract<FromCore, { ok: boolean }> | "timeout")[];
    const failed = got.find((a) => a === "timeout" || !a.ok);
    if (!failed) return undefined;
    this.send({ type: "abort", id });
    if (failed === "timeout") return `a core did not answer within ${PREPARE_LIMIT_MS / 1000} s`;
    return `core ${failed.core}: ${(failed as { error: string }).error}`;
  }

  private record(o: ReloadOutcome): ReloadOutcome {
    this.history.push({ ...o, at: new Date().toISOString() });
    return o;
  }

  private send(m: ToCore): void {
    for (const c of this.channels) c.postMessage(m);
    Atomics.add(this.control, CTL_SEQ, 1);
    Atomics.notify(this.control, CTL_SEQ);
  }

  // One answer of `type` to attempt `id` from every core.
  private collect(type: FromCore["type"], id: number): Promise<FromCore[]> {
    return Promise.all(this.channels.map((_, core) => new Promise<FromCore>((resolve) => {
      const key = `${type}/${id}/${core}`;
      this.waiting.set(key, (m) => { this.waiting.delete(key); resolve(m); });
    })));
  }
}

async function withLimit<T>(p: Promise<T[]>, ms: number): Promise<(T | "timeout")[]> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<"timeout"[]>((res) => { timer = setTimeout(() => res(["timeout"]), ms); });
  try {
    return await Promise.race([p, limit]);
  } finally {
    clearTimeout(timer);
  }
}

/** The line a user sees after a reload. */
export function describeReload(o: ReloadOutcome): string {
  if (!o.ok) return `reload refused, gen ${o.gen} stays live: ${o.error}`;
  if (o.rollback) return `rolled back: gen ${o.gen} live again in ${o.ms.toFixed(0)} ms`;
  const state = o.migrated ? "state migrated" : "state fresh from init(): this version has no migrate()";
  return `gen ${o.gen} live in ${o.ms.toFixed(0)} ms (${state}); longest pause ${o.pauseMs!.toFixed(1)} ms, held ${o.holdMs!.toFixed(1)} ms`;
}
