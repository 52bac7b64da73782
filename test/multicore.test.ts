// Many cores: every distribution mode keeps both directions of a flow on one
// core, keeps each flow's order, spreads many flows evenly, and accounts for
// every packet.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { flowKey, frame, readPcap, writePcap, type Flow } from "./helpers/pcap";
import { vnfrun, vnfrunJson } from "./helpers/tools";

const dir = mkdtempSync(join(tmpdir(), "vnfrun-mc-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rx = (s: any) => s.ports.reduce((a: number, p: any) => a + p.rx_packets, 0);
const tx = (s: any) => s.ports.reduce((a: number, p: any) => a + p.tx_packets, 0);
const dropped = (s: any) => Object.values(s.drops as Record<string, number>).reduce((a, b) => a + b, 0);

// 300 flows, each sending 8 frames each way, interleaved across flows.
function bidirectionalTrace(): { file: string; frames: Uint8Array[] } {
  const flows: Flow[] = Array.from({ length: 300 }, (_, i) => ({
    src: [198, 18, i >> 8, i & 255], dst: [198, 19, 0, (i * 7) & 255],
    sport: 1024 + i, dport: 80 + (i % 5), proto: i % 3 === 0 ? 6 : 17,
  }));
  const frames: Uint8Array[] = [];
  for (let seq = 0; seq < 8; seq++)
    for (const f of flows) {
      frames.push(frame(f, seq * 2));
      frames.push(frame({ ...f, src: f.dst, dst: f.src, sport: f.dport, dport: f.sport }, seq * 2 + 1));
    }
  const file = join(dir, "bidir.pcap");
  writePcap(file, frames);
  return { file, frames };
}

describe("distribution modes", () => {
  const trace = bidirectionalTrace();

  it.each([["hw"], ["sw1"], ["sw2"]])("%s: both directions of every flow on one core, in order, none lost", (dist) => {
    const out = join(dir, `out-${dist}.pcap`);
    const s = vnfrunJson(["test/fixtures/mark-core.ts", "--cores", "2", "--dist", dist, "--port", `in=pcap:${trace.file}`,
      "--port", `out=pcap:${out}`, "--rx-batch", "32", "--buffers", "65536"]);
    expect(rx(s)).toBe(trace.frames.length);
    expect(dropped(s)).toBe(0);
    const got = readPcap(out);
    expect(got.length).toBe(trace.frames.length);
    const coreOf = new Map<string, number>();
    const lastSeq = new Map<string, number>();
    const used = new Set<number>();
    for (const fr of got) {
      const key = flowKey(fr), core = (fr[18] << 8) | fr[19];
      used.add(core);
      expect(coreOf.get(key) ?? core).toBe(core);
      coreOf.set(key, core);
      const seq = (fr[fr.length - 18] << 24) | (fr[fr.length - 17] << 16) | (fr[fr.length - 16] << 8) | fr[fr.length - 15];
      expect(seq).toBeGreaterThan(lastSeq.get(key) ?? -1);   // per-flow order kept
      lastSeq.set(key, seq);
    }
    expect(coreOf.size).toBe(300);
    expect([...used].sort()).toEqual([0, 1]);
    expect(s.cores.length).toBe(2);
  });

  it.each([["hw"], ["sw1"], ["sw2"]])("%s: 20,000 flows spread within a few percent", (dist) => {
    const s = vnfrunJson(["vnfs/l2fwd.ts", "--cores", "2", "--dist", dist, "--port", "in=gen:flows=20000,count=200000,rate=400k", "--port", "out=sink"]);
    const [a, b] = s.cores.map((c: any) => c.packets + c.dist_drops);
    expect(a + b).toBe(200000);
    expect(Math.abs(a - b) / (a + b)).toBeLessThan(0.03);
  });

  it.each([["hw"], ["sw1"], ["sw2"]])("%s under overload, dropping: in == out + counted drops, exactly", (dist) => {
    const s = vnfrunJson(["vnfs/l2fwd.ts", "--cores", "2", "--dist", dist, "--overflow", "drop", "--port", "in=gen:count=300000", "--port", "out=sink"]);
    expect(rx(s)).toBe(300000);
    expect(tx(s) + dropped(s)).toBe(300000);
    if (dist !== "hw") expect(s.drops.dist_drops).toBeGreaterThan(0);  // 3 threads on 2 CPUs, unpaced
  });

  it("sw1 waits for a full core instead of dropping when the source can wait", () => {
    const s = vnfrunJson(["vnfs/l2fwd.ts", "--cores", "2", "--dist", "sw1", "--port", "in=gen:count=300000", "--port", "out=sink"]);
    expect(tx(s)).toBe(300000);
    expect(dropped(s)).toBe(0);
  });

  it("--duration drains what is in flight: nothing received goes missing", () => {
    const s = vnfrunJson(["vnfs/l2fwd.ts", "--cores", "2", "--dist", "sw1", "--port", "in=gen:rate=200k", "--port", "out=sink", "--duration", "0.5"]);
    expect(rx(s)).toBeGreaterThan(10000);
    expect(tx(s) + dropped(s)).toBe(rx(s));
  });

  it("rejects CPUs this machine lacks, and too short a CPU list, in one line", () => {
    let r = vnfrun(["vnfs/l2fwd.ts", "--cores", "2", "--cpus", "0,999"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/CPU 999 does not exist/);
    r = vnfrun(["vnfs/l2fwd.ts", "--cores", "2", "--dist", "sw1", "--cpus", "0-1"]);
    expect(r.stderr).toMatch(/needs 3 \(2 cores \+ 1 I\/O thread\)/);
    r = vnfrun(["vnfs/l2fwd.ts", "--cores", "2", "--dist", "none"]);
    expect(r.stderr).toMatch(/--dist none runs one core/);
  });

  it("warns when a one-byte RSS key folds the hash space", () => {
    const r = vnfrun(["vnfs/l2fwd.ts", "--cores", "2", "--rss-key", "05".repeat(40), "--count", "1000"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/at most 64 hashes/);
  });
});
