// Reload, the supervisor's side: every core switches to a new generation of
// the VNF, or none does.
//   prepare  every core loads the bundle beside the live one (and runs
//            init()), still running the live generation
//   build    all loaded, and the new version has migrate: every core runs
//            migrate(live state) and holds
//   commit   all built: each core switches before its next batch (a core
//            that did not hold switches when it sees the message)
// Any failure, at any step: abort, and every core goes on with the live
// generation. With a canary, core 0 goes through build and commit first and
// runs alone on the new generation for a while; the others follow only if
// its VNF error rate is no worse than the old generation's.
// --watch, `vnfrun reload` and the tests all come through `reload`.
import type { MessagePort } from "node:worker_threads";
import { CTL_SEQ, type FromCore, type ToCore } from "./control";
import { addDiffs, describeDiff, type Diff } from "./sampler";

export interface ReloadOutcome {
  gen: number;              // the generation live afterwards
  ok: boolean;
  rollback: boolean;
  error?: string;           // why it was refused (with the core and TS file:line)
  migrated?: boolean;       // state came from migrate(), not a fresh init()
  ms: number;               // from the request (or the save) to every core switched
  pauseMs?: number;         // the longest gap between two batches on any core: loading, or migrate and the wait
  holdMs?: number;          // the longest a core held its next batch for migrate and the other cores
  diff?: Diff;              // --reload-diff: what the new version does differently to recent packets
}

/** Per core: batches processed and those whose process() threw. */
export type CoreErrors = () => { batches: number; vnf_errors: number }[];

// How long a step may take before the reload is refused.
const STEP_LIMIT_MS = 10_000;

type Prepared = Extract<FromCore, { ok: true }>;   // a prepared or built answer
type Switched = Extract<FromCore, { type: "switched" }>;

export class Reloader {
  private nextGen = 2;
  private nextId = 1;
  private prevGen: number | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private waiting = new Map<string, (m: FromCore) => void>();
  private ended = false;
  private liveSince: { batches: number; vnf_errors: number }[];
  readonly history: (ReloadOutcome & { at: string })[] = [];

  /** What each generation was loaded from: a core's worker started again runs the live one. */
  private sources = new Map<number, { file: string; config?: unknown }>();

  constructor(private channels: MessagePort[], private control: Int32Array, private coreErrors: CoreErrors, private canaryS = 0, first?: { file: string; config?: unknown }) {
    channels.forEach((c) => this.listen(c));
    this.liveSince = coreErrors();
    if (first) this.sources.set(1, first);
  }

  liveGen = 1;

  /** The live generation's bundle and config. */
  get liveSource(): { file: string; config?: unknown } | undefined { return this.sources.get(this.liveGen); }

  /** A core's worker was started again: its new channel. A reload under
   *  way meanwhile finds that core silent and is refused by its time limit. */
  replaceChannel(core: number, port: MessagePort): void {
    this.channels[core].close();
    this.channels[core] = port;
    this.listen(port);
    if (this.ended) port.close();
  }

  private listen(c: MessagePort): void {
    c.on("message", (m: FromCore) => this.waiting.get(`${m.type}/${m.id}/${m.core}`)?.(m));
  }

  /** No more reloads: the run is ending. */
  end(): void {
    this.ended = true;
    this.channels.forEach((c) => c.close());
  }

  /** Swap in the bundle at `file`, or the previous generation. One at a time. */
  reload(what: { file: string; cache?: Buffer; config?: unknown } | { rollback: true }, startedAt = performance.now()): Promise<ReloadOutcome> {
    const next = this.queue.then(() => this.swap(what, startedAt));
    this.queue = next.catch(() => {});
    return next;
  }

  private async swap(what: { file: string; cache?: Buffer; config?: unknown } | { rollback: true }, startedAt: number): Promise<ReloadOutcome> {
    const rollback = "rollback" in what;
    const refuse = (error: string, diff?: Diff): ReloadOutcome =>
      this.record({ gen: this.liveGen, ok: false, rollback, error, ms: performance.now() - startedAt, diff });
    if (this.ended) return refuse("the run is ending");
    if (rollback && this.prevGen === undefined) return refuse("there is no previous generation to roll back to");
    const all = this.channels.map((_, k) => k);
    const id = this.nextId++, gen = rollback ? this.prevGen! : this.nextGen;
    this.send(rollback ? { type: "prepare", id, gen, rollback: true } : { type: "prepare", id, gen, file: what.file, cache: what.cache, config: what.config }, all);
    const prepared = await this.allOk("prepared", id, all);
    if (typeof prepared === "string") return refuse(prepared);
    const migrates = prepared.some((p) => p.migrated);
    const diffs = prepared.flatMap((p) => (p.diff ? [p.diff] : []));
    const diff = diffs.length ? addDiffs(diffs) : undefined;

    let switched: Switched[] = [];
    const canary = this.canaryS > 0 && !rollback;
    if (canary) {
      const first = await this.switchCores(id, [0], migrates);
      if (typeof first === "string") { this.send({ type: "abort", id }, all); return refuse(first, diff); }
      const verdict = await this.watchCanary(gen);
      if (verdict) {
        this.send({ type: "abort", id }, all);
        await this.backOnCore0();
        return refuse(verdict, diff);
      }
      switched = first;
    }
    const rest = await this.switchCores(id, canary ? all.slice(1) : all, migrates);
    if (typeof rest === "string") {
      if (canary) await this.backOnCore0();
      return refuse(rest, diff);
    }
    switched.push(...rest);
    this.prevGen = this.liveGen;
    this.liveGen = gen;
    if (!rollback) this.sources.set(gen, { file: what.file, config: what.config });
    for (const g of this.sources.keys()) if (g !== this.liveGen && g !== this.prevGen) this.sources.delete(g);
    this.liveSince = this.coreErrors();
    if (!rollback) this.nextGen++;
    const holdMs = Math.max(0, ...switched.map((d) => d.holdMs));
    return this.record({
      gen, ok: true, rollback, migrated: rollback ? undefined : migrates, diff,
      ms: performance.now() - startedAt, pauseMs: Math.max(holdMs, ...prepared.map((p) => p.ms)), holdMs,
    });
  }

  // build (when migrating) and commit on `cores`; a failure aborts them.
  private async switchCores(id: number, cores: number[], migrates: boolean): Promise<Switched[] | string> {
    if (!cores.length) return [];
    if (migrates) {
      this.send({ type: "build", id }, cores);
      const built = await this.allOk("built", id, cores);
      if (typeof built === "string") return built;
    }
    const switched = this.collect("switched", id, cores);
    this.send({ type: "commit", id }, cores);
    // A core that ended meanwhile (the run is stopping) never answers.
    return (await withLimit(switched, STEP_LIMIT_MS)).filter((d): d is Switched => d !== "timeout");
  }

  // Core 0 alone on the new generation for canaryS: a reason to refuse, or
  // undefined when its error rate is no worse than the old generation's.
  private async watchCanary(gen: number): Promise<string | undefined> {
    const before = this.coreErrors();
    await new Promise((r) => setTimeout(r, this.canaryS * 1000));
    const after = this.coreErrors();
    const rate = (e: number, b: number) => (b > 0 ? e / b : 0);
    const newErr = after[0].vnf_errors - before[0].vnf_errors, newBatches = after[0].batches - before[0].batches;
    const oldErr = before.reduce((n, c, k) => n + c.vnf_errors - this.liveSince[k].vnf_errors, 0);
    const oldBatches = before.reduce((n, c, k) => n + c.batches - this.liveSince[k].batches, 0);
    if (rate(newErr, newBatches) <= rate(oldErr, oldBatches)) return undefined;
    const per = (e: number, b: number) => `${e} errors in ${b} batches`;
    return `canary: on core 0 for ${this.canaryS} s, gen ${gen} had ${per(newErr, newBatches)}, gen ${this.liveGen} ${per(oldErr, oldBatches)}: core 0 rolled back`;
  }

  // Core 0 back to the live generation (its previous one) after a canary.
  private async backOnCore0(): Promise<void> {
    const id = this.nextId++;
    this.send({ type: "prepare", id, gen: this.liveGen, rollback: true }, [0]);
    const ok = await this.allOk("prepared", id, [0]);
    if (typeof ok !== "string") await this.switchCores(id, [0], false);
  }

  // Every core's answer of `type` to attempt `id`; on a failure or a silent
  // core, aborts the attempt on `cores` and says why.
  private async allOk(type: "prepared" | "built", id: number, cores: number[]): Promise<Prepared[] | string> {
    const got = (await withLimit(this.collect(type, id, cores), STEP_LIMIT_MS)) as (Extract<FromCore, { ok: boolean }> | "timeout")[];
    const failed = got.find((a) => a === "timeout" || !a.ok);
    if (!failed) return got as Prepared[];
    this.send({ type: "abort", id }, cores);
    if (failed === "timeout") return `a core did not answer within ${STEP_LIMIT_MS / 1000} s`;
    return `core ${failed.core}: ${(failed as { error: string }).error}`;
  }

  private record(o: ReloadOutcome): ReloadOutcome {
    this.history.push({ ...o, at: new Date().toISOString() });
    return o;
  }

  private send(m: ToCore, cores: number[]): void {
    for (const k of cores) this.channels[k].postMessage(m);
    Atomics.add(this.control, CTL_SEQ, 1);
    Atomics.notify(this.control, CTL_SEQ);
  }

  private collect(type: FromCore["type"], id: number, cores: number[]): Promise<FromCore[]> {
    return Promise.all(cores.map((core) => new Promise<FromCore>((resolve) => {
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
  const diff = o.diff ? `; ${describeDiff(o.diff)}` : "";
  if (!o.ok) return `reload refused, gen ${o.gen} stays live: ${o.error}${diff}`;
  if (o.rollback) return `rolled back: gen ${o.gen} live again in ${o.ms.toFixed(0)} ms${diff}`;
  const state = o.migrated ? "state migrated" : "state fresh from init(): this version has no migrate()";
  return `gen ${o.gen} live in ${o.ms.toFixed(0)} ms (${state}); longest pause ${o.pauseMs!.toFixed(1)} ms, held ${o.holdMs!.toFixed(1)} ms${diff}`;
}
