// --profile: V8's deopt and inlining traces mapped to TS lines. A VNF written
// to deoptimize (a field that turns from small integer to double after some
// traffic) must show its deopt at the line that does it; a call too big to
// inline must show as such, where it is defined.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./helpers/tools";

const cli = (args: string[]) => spawnSync(process.execPath, [join(ROOT, "bin/vnfrun.js"), ...args], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
const lineOf = (file: string, text: string) => readFileSync(join(ROOT, file), "utf8").split("\n").findIndex((l) => l.includes(text)) + 1;

describe("vnfrun --profile", () => {
  it("finds the deopt of a field that changes type after some traffic, at its TS line", () => {
    const vnf = "test/fixtures/deopts-later.ts";
    const r = cli([vnf, "--port", "in=gen:count=1500000", "--port", "out=sink", "--config", '{"after":1000000}', "--profile", "--json"]);
    expect(r.status, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.ports[0].rx_packets).toBe(1500000);
    const line = lineOf(vnf, "st.total +=");
    const hit = s.profile.deopts.find((d: { at: string }) => d.at.startsWith(`${vnf}:${line}:`));
    expect(hit, JSON.stringify(s.profile.deopts)).toMatchObject({ fn: "process", kind: "deopt-eager" });
    expect(hit.count).toBeGreaterThanOrEqual(1);
    // Batches: the rate and the histogram of process() times, over every batch.
    const batches = s.cores[0].batches;
    expect(s.profile.batchUs.count).toBe(batches);
    expect(s.profile.batchesPerS).toBeCloseTo(batches / s.seconds, 0);
    expect(s.vnf_histograms.vnfrun_batch_us).toBeUndefined();   // not shown as the VNF's own
  }, 150_000);

  it("names a call too big to inline into the per-packet loop, where it is defined; prints the tables", () => {
    const vnf = "test/fixtures/calls-big.ts";
    const r = cli([vnf, "--port", "in=gen:count=1000000", "--port", "out=sink", "--profile"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^test\/fixtures\/calls-big\.ts: .* Mpps/m);   // the usual summary first
    expect(r.stdout).toMatch(new RegExp(`^ {2}\\d+ +big +${vnf.replace(/\./g, "\\.")}:${lineOf(vnf, "function big")}:1 +process +its bytecode is over the inlining limit`, "m"));
    expect(r.stdout).toMatch(/^deopts: none$/m);
    expect(r.stdout).toMatch(/^batches per second: \d+$/m);
    expect(r.stdout).toMatch(/^time per batch \(process\(\) only; \d+ batches, mean [\d.]+ µs\):\n +<= \d+ µs +\d+ +#+/m);
  }, 150_000);
});
