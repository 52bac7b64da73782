// pipe:NAME, the in-process netmap pipe: the host holds the far ends, a core
// forwards between them, frames arrive whole and in order, and closing the
// far end ends the core's input.
import { describe, expect, it } from "vitest";
import { loadAddon } from "../runtime/addon";
import { SYMMETRIC_KEY } from "../runtime/rss";

const addon = loadAddon();

function engine(ringSize = 1024) {
  return new addon.Engine({
    buffers: 4096, bufSize: 2048, headroom: 64, ringSize, cores: 1, dist: "none", rxBatch: 64, txBatch: 8,
    idleUs: 10, backlog: 0, keep: 0, busyPoll: false, count: 0, ioCpus: [], rssKey: SYMMETRIC_KEY, overflow: "auto", largeBuffers: 0,
    ports: [{ name: "in", driver: "pipe", options: { name: "a" } }, { name: "out", driver: "pipe", options: { name: "b" } }],
  });
}

// A C-side core with a JS l2fwd: port 0 <-> port 1.
function forward(core: ReturnType<typeof addon.attach>): number {
  const L = core.layout;
  const inPorts = new Uint8Array(core.batch, L.inPorts, L.maxBatch), verdicts = new Uint8Array(core.batch, L.verdicts, L.maxBatch);
  const n = core.cycle(0);
  for (let i = 0; i < n; i++) verdicts[i] = (inPorts[i] ^ 1) + 1;
  return n;
}

describe("pipe ports", () => {
  it("carry frames from one end to the other, whole and in order", () => {
    const e = engine();
    const a = e.pipeHost("a"), b = e.pipeHost("b");
    const core = addon.attach(e.id, 0, { rxBatch: 64, txBatch: 8, busyPoll: true, idleUs: 10, cpu: -1 });
    const frames = Array.from({ length: 500 }, (_, i) => Uint8Array.from({ length: 60 + (i % 200) }, (_, j) => (i + j) & 255));
    const got: Buffer[] = [];
    let sent = 0;
    for (let spins = 0; got.length < frames.length && spins < 10000; spins++) {
      if (sent < frames.length) sent += a.send(frames.slice(sent, sent + 100));
      forward(core);
      got.push(...(b.recv(256) ?? []));
    }
    core.finish(0);
    got.push(...(b.recv(256) ?? []));
    expect(got.length).toBe(frames.length);
    got.forEach((g, i) => expect(Buffer.compare(g, Buffer.from(frames[i]))).toBe(0));
    // and back the other way
    b.send([Uint8Array.from({ length: 64 }, () => 7)]);
    const core2 = addon.attach(e.id, 0, { rxBatch: 64, txBatch: 8, busyPoll: true, idleUs: 10, cpu: -1 });
    forward(core2);
    core2.finish(0);
    expect(a.recv(8)?.[0][0]).toBe(7);
    core.detach();
    core2.detach();
    e.close();
  });

  it("end the core's input when the host closes its ends", () => {
    const e = engine();
    const a = e.pipeHost("a"), b = e.pipeHost("b");
    const core = addon.attach(e.id, 0, { rxBatch: 64, txBatch: 8, busyPoll: true, idleUs: 10, cpu: -1 });
    a.send([new Uint8Array(60)]);
    a.close();
    b.close();
    let n = 0, last = 0;
    for (let i = 0; i < 10 && last >= 0; i++) { last = forward(core); if (last > 0) n += last; }
    expect(n).toBe(1);
    expect(last).toBe(-1);
    core.detach();
    e.close();
  });

  it("count a full ring as tx_ring_full and refuse a third opener", () => {
    const e = engine(64);
    const a = e.pipeHost("a");
    expect(() => e.pipeHost("a")).toThrow(/already has both ends open/);
    const accepted = a.send(Array.from({ length: 100 }, () => new Uint8Array(60)));
    expect(accepted).toBe(64);
    e.close();
  });
});
