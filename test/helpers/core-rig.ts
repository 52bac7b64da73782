// One core of a real engine between two pipe ports, cycled by the test: the
// SDK's Batch over the core's own memory, the far ends held here.
import { loadAddon, type NativeCore } from "../../runtime/addon";
import { SYMMETRIC_KEY } from "../../runtime/rss";
import { readLanes } from "../../runtime/stats";
import { batchArrays } from "../../runtime/v8-context";
import { Batch } from "../../sdk/batch";

const addon = loadAddon();
let seq = 0;

export interface CoreRig {
  batch: Batch;
  core: NativeCore;
  /** One cycle: `frames` sent in on "in" first, then `decide` on the batch (its `now` set to `now` when given). */
  cycle(frames: Uint8Array[], decide?: (batch: Batch) => void, now?: number): void;
  /** The engine's counters of the core. */
  counters(): Record<string, number>;
  /** Frames that left by "out" since the last call. */
  received(): Uint8Array[];
  close(): void;
}

export function coreRig(keep: number): CoreRig {
  const tag = `rig${process.pid}-${seq++}`;
  const e = new addon.Engine({
    buffers: 4096, bufSize: 2048, headroom: 64, ringSize: 1024, cores: 1, dist: "none", rxBatch: 64, txBatch: 8,
    idleUs: 10, backlog: 0, keep, busyPoll: false, count: 0, ioCpus: [], rssKey: SYMMETRIC_KEY, overflow: "auto", largeBuffers: 0,
    ports: [{ name: "in", driver: "pipe", options: { name: `${tag}a` } }, { name: "out", driver: "pipe", options: { name: `${tag}b` } }],
  });
  const a = e.pipeHost(`${tag}a`), b = e.pipeHost(`${tag}b`);
  const core = addon.attach(e.id, 0, { rxBatch: 64, txBatch: 8, busyPoll: true, idleUs: 10, cpu: -1 });
  const v = batchArrays(core);
  const batch = new Batch(v.pool, v.offsets, v.lengths, v.inPorts, v.verdicts, ["in", "out"], v.flags, v.fresh, v.ctl, false, v.kept);
  return {
    batch, core,
    cycle(frames, decide = () => {}, now) {
      if (frames.length) a.send(frames);
      batch.count = Math.max(0, core.cycle(0));
      batch._tuplesFilled = false;
      if (now !== undefined) batch.now = now;
      decide(batch);
    },
    counters: () => readLanes(e.counters(), 1)[0].core,
    received: () => (b.recv(256) ?? []).map((f) => new Uint8Array(f)),
    close() { core.detach(); e.close(); },
  };
}
