// What a user sees before a version goes everywhere: --reload-diff counts
// how recent packets would fare under the new version, and --canary lets
// core 0 try it alone and refuses a version that throws more.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { frame, readPcap, writePcap } from "../helpers/pcap";
import { vnfrun } from "../helpers/tools";
import { Running } from "./running";
import { ROOT } from "./vnf-version";

const dir = mkdtempSync(join(tmpdir(), "vnfrun-diff-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SDK = JSON.stringify(join(ROOT, "sdk"));

// body: the loop's statement for packet i, with b, o (its offset), dport, v.
function vnf(name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, `import { defineVnf } from ${SDK};
export default defineVnf({
  ports: ["in", "out"],
  process(batch) {
    const b = batch.bytes, off = batch.offsets, v = batch.verdicts;
    for (let i = 0; i < batch.count; i++) {
      const o = off[i], dport = (b[o + 36] << 8) | b[o + 37];
      ${body}
    }
  },
});
`);
  return file;
}

describe("--reload-diff", () => {
  it.each(["v8", "quickjs"])("counts, over the last 4096 packets, the verdicts and bytes the new version changes (--context %s)", async (context) => {
    // 256 frames, 37 to port 53 and 10 to port 80, looped: any 4096 packets
    // in a row are 16 copies, so 16 x 37 = 592 change verdict, 160 bytes.
    const frames = Array.from({ length: 256 }, (_, i) =>
      frame({ src: [198, 18, 0, i], dst: [198, 19, 0, 1], sport: 1000 + i, dport: i < 37 ? 53 : i < 47 ? 80 : 9, proto: 17 }, i));
    writePcap(join(dir, "trace.pcap"), frames);
    const v1 = vnf("diff-1.ts", "v[i] = 2;");
    const v2 = vnf("diff-2.ts", "if (dport === 53) continue; if (dport === 80) b[o + 50] ^= 1; v[i] = 2;");
    const name = `diff${context}${process.pid}`;
    const r = new Running([v1, "--name", name, "--context", context, "--reload-diff", "--port", `in=pcap:${join(dir, "trace.pcap")},loop`, "--port", "out=sink", "--json"]);
    try {
      await r.up();
      await sleep(500);
      const c = vnfrun(["reload", name, "--vnf", v2]);
      expect(c.code, c.stderr).toBe(0);
      expect(c.stdout).toMatch(/gen 2 live .*; 592 of 4096 recent packets change verdict: out->drop 592; 160 more leave with other bytes$/m);
      const s = await r.stop();
      expect(s.reloads[0].diff).toEqual({ packets: 4096, verdicts: 592, bytes: 160, changes: { "out->drop": 592 } });
    } finally {
      r.proc.kill("SIGKILL");
    }
  }, 30_000);
});

describe("--typecheck", () => {
  it("refuses a reload whose VNF has a type error, which esbuild alone would run", async () => {
    const good = vnf("typed-1.ts", "v[i] = 2;");
    const bad = vnf("typed-2.ts", 'const port: number = "out"; v[i] = 2;');
    const name = `typed${process.pid}`;
    const r = new Running([good, "--name", name, "--typecheck", "--port", "in=gen:rate=1000", "--port", "out=sink", "--json"]);
    try {
      await r.up(30_000);
      const c = vnfrun(["reload", name, "--vnf", bad]);
      expect(c.code).toBe(1);
      expect(c.stderr).toMatch(/reload refused, gen 1 stays live: .*typed-2\.ts has type errors:\n.*error TS2322: Type 'string' is not assignable to type 'number'/);
      expect((await r.stop()).generation).toBe(1);
    } finally {
      r.proc.kill("SIGKILL");
    }
  }, 60_000);
});

describe("--canary", () => {
  it("refuses a version that throws on some packets after core 0 tried it, and lets a sound one through", async () => {
    const good1 = vnf("canary-1.ts", "b[o + 50] = 1; v[i] = 2;");
    const throws = vnf("canary-2.ts", 'if ((dport & 3) === 0) throw new Error("bad packet"); b[o + 50] = 2; v[i] = 2;');
    const good3 = vnf("canary-3.ts", "b[o + 50] = 3; v[i] = 2;");
    const out = join(dir, "canary.pcap"), name = `canary${process.pid}`;
    const r = new Running([good1, "--name", name, "--canary", "1", "--cores", "2", "--dist", "sw1",
      "--port", "in=gen:flows=64,rate=20000,dport=1200-1263", "--port", `out=pcap:${out},write`, "--json"]);
    try {
      await r.up();
      await sleep(300);
      const bad = vnfrun(["reload", name, "--vnf", throws]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/reload refused, gen 1 stays live: canary: on core 0 for 1 s, gen 2 had [1-9]\d* errors in \d+ batches, gen 1 0 errors in \d+ batches: core 0 rolled back/);
      await sleep(300);
      const good = vnfrun(["reload", name, "--vnf", good3]);
      expect(good.code, good.stderr).toBe(0);
      expect(good.stdout).toMatch(/gen 2 live/);
      await sleep(300);
      const s = await r.stop();
      expect(s.generation).toBe(2);
      // Core 0 ran version 2 (frames it did not throw on), went back to
      // version 1, then version 3 reached every core.
      const stamps = readPcap(out).map((f) => f[50]);
      expect(stamps).toContain(2);
      expect(stamps.slice(stamps.lastIndexOf(2) + 1)).toContain(1);
      expect(stamps.slice(-100).every((x) => x === 3)).toBe(true);
    } finally {
      r.proc.kill("SIGKILL");
    }
  }, 40_000);
});
