// Packets a VNF originates (batch.originate): fresh pool buffers offered per
// cycle, written by JS, sent by the next cycle, with no native call per
// packet. Every mode sends exactly what the VNF made, with its bytes; the
// buffers come back (a small pool sends far more frames than it has
// buffers); received packets still pass beside them.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Batch } from "../sdk";
import { readPcap } from "./helpers/pcap";
import { vnfrunJson } from "./helpers/tools";

const dir = mkdtempSync(join(tmpdir(), "vnfrun-orig-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const made = (frames: Uint8Array[]) => frames.filter((f) => f.length === 60 && f[42] === 0xee);

describe("batch.originate", () => {
  it.each([["none", 1], ["hw", 2], ["sw1", 2], ["sw2", 2]])("%s, %i core(s): every originated frame leaves once, with its bytes", (dist, cores) => {
    const out = join(dir, `o-${dist}.pcap`);
    const s = vnfrunJson(["test/fixtures/originate.ts", "--port", "in=pipe:nothing", "--port", `out=pcap:${out},write`,
      "--cores", String(cores), "--dist", dist, "--config", '{"count":3000,"per":50}', "--duration", "1.5", "--buffers", "1024"]);
    const frames = made(readPcap(out));
    expect(frames.length).toBe(3000 * cores);
    for (let core = 0; core < cores; core++) {
      const seqs = frames.filter((f) => f[43] === core).map((f) => (f[44] << 8) | f[45]);
      expect(seqs).toEqual(Array.from({ length: 3000 }, (_, i) => i));   // all, once, in order
    }
    expect(Object.values(s.drops as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(0);
  }, 30_000);

  it("originated frames go out beside the received ones", () => {
    const out = join(dir, "mixed.pcap");
    vnfrunJson(["test/fixtures/originate.ts", "--port", "in=gen:count=2000", "--port", `out=pcap:${out},write`, "--config", '{"count":1000000,"per":3}']);
    const frames = readPcap(out);
    const mine = made(frames).length;
    expect(frames.length - mine).toBe(2000);
    expect(mine).toBeGreaterThan(0);
  });

  it("Batch.fromFrames offers fresh buffers too; originate refuses what does not fit", () => {
    const b = Batch.fromFrames([new Uint8Array(60)], ["a", "b"]);
    b.count = 1;
    const i = b.originate(1, 100);
    expect(i).toBe(1);
    expect(b.verdicts[i]).toBe(2);
    expect(b.lengths[i]).toBe(100);
    expect(b.originated).toBe(1);
    expect(b.entry(i).length).toBe(100);
    expect(b.originate(0, b.freshCapacity + 1)).toBe(-1);
    expect(b.originate(0, 0)).toBe(-1);
    let n = 1;
    while (b.originate(0, 60) >= 0) n++;
    expect(n).toBe(64);
  });
});
