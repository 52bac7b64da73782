// The command line as a user meets it: help, one-line errors, exit codes,
// and the counters that say where every packet went.
import { describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { frame, readPcap, writePcap } from "./helpers/pcap";
import { vnfrun, vnfrunJson } from "./helpers/tools";

const dropsTotal = (s: any) => Object.values(s.drops as Record<string, number>).reduce((a, b) => a + b, 0);
const rx = (s: any) => s.ports.reduce((a: number, p: any) => a + p.rx_packets, 0);
const tx = (s: any) => s.ports.reduce((a: number, p: any) => a + p.tx_packets, 0);

describe("vnfrun CLI", () => {
  it("--help starts with what a newcomer runs, then lists port specs and examples", () => {
    const r = vnfrun(["--help"]);
    expect(r.code).toBe(0);
    const start = r.stdout.split("\n").slice(0, 8).join("\n");
    expect(start).toMatch(/^Start here:/);
    expect(start).toMatch(/vnfrun fw\.ts /);
    expect(start).toMatch(/vnfrun doctor/);
    expect(r.stdout, "help speaks to users, not of the project's history").not.toMatch(/seed/i);
    expect(r.stdout).toContain("--port");
    expect(r.stdout).toContain("pcap:FILE");
    expect(r.stdout).toMatch(/Examples:/);
  });

  it("--version prints the package's version", () => {
    const r = vnfrun(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(require("../package.json").version);
  });

  it.each([
    [["vnfs/l2fwd.ts", "--port", "in=bogus:x"], /unknown driver "bogus"/],
    [["vnfs/l2fwd.ts", "--port", "nope=sink"], /no port "nope"/],
    [["vnfs/l2fwd.ts", "--port", "sink", "--port", "sink", "--port", "sink"], /3 --port given but the VNF declares 2/],
    [["vnfs/l2fwd.ts", "--port", "in=gen:flows=0"], /flows=0/],
    [["vnfs/l2fwd.ts", "--port", "in=gen:size=10"], /size=10/],
    [["vnfs/l2fwd.ts", "--port", "in=gen:colour=red"], /gen has no option "colour"/],
    [["vnfs/l2fwd.ts", "--port", "in=pcap:/nonexistent/x.pcap"], /\/nonexistent\/x\.pcap/],
    [["vnfs/l2fwd.ts", "--rx-batch", "0"], /--rx-batch must be a whole number from 1 to 1024/],
    [["vnfs/l2fwd.ts", "--large-buffers", "20000"], /--large-buffers must be a whole number from 0 to 16384/],
    // Batches name frames by 32-bit byte offsets; the pool is checked before any port opens.
    [["vnfs/l2fwd.ts", "--buffers", "2000000", "--large-buffers", "16384", "--port", "in=tap:vnfbig0,vnet", "--port", "out=sink"],
      /buffer pool of \d+ MiB is over the 4 GiB a batch can address: lower --buffers or --large-buffers/],
    [["no-such-vnf.ts"], /no-such-vnf\.ts: no such file/],
  ])("%j fails with one clear line", (args, message) => {
    const r = vnfrun(args as string[]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it("a compile error prints esbuild's diagnostic with file and line", () => {
    const r = vnfrun(["test/fixtures/syntax-error.ts"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/syntax-error\.ts:8:\d+/);
  });

  it("importing a Node built-in is a compile error that says why", () => {
    const r = vnfrun(["test/fixtures/imports-fs.ts"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot import the Node built-in "fs"/);
    expect(r.stderr).toMatch(/imports-fs\.ts:1/);
  });

  it("gen count=N delivers exactly N frames through l2fwd to the sink", () => {
    const s = vnfrunJson(["vnfs/l2fwd.ts", "--port", "in=gen:count=100000,flows=777", "--port", "out=sink"]);
    expect(s.ports[0].rx_packets).toBe(100000);
    expect(s.ports[1].tx_packets).toBe(100000);
    expect(dropsTotal(s)).toBe(0);
  });

  it("--count stops after that many received packets", () => {
    const s = vnfrunJson(["vnfs/l2fwd.ts", "--count", "5k"]);
    expect(s.ports[0].rx_packets).toBe(5000);
    expect(s.ports[1].tx_packets).toBe(5000);
  });

  it("--duration stops a run whose input never ends, and unnamed specs map in order", () => {
    const s = vnfrunJson(["vnfs/l2fwd.ts", "--port", "gen:size=128", "--port", "sink", "--duration", "0.5"]);
    expect(s.ports[0].driver).toMatch(/^gen/);
    expect(s.ports[1].driver).toBe("sink");
    expect(s.ports[1].tx_bytes).toBe(s.ports[1].tx_packets * 124);
    expect(s.ports[1].tx_packets).toBeGreaterThan(1000);
    expect(rx(s)).toBe(tx(s) + dropsTotal(s));
  });

  it("a VNF that throws loses only the batches that threw, and says where", () => {
    const r = vnfrun(["test/fixtures/throws-every-other.ts", "--port", "in=gen:count=64000", "--port", "out=sink", "--rx-batch", "64", "--json"]);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.cores[0].vnf_errors).toBeGreaterThan(100);
    expect(s.drops.vnf_error_drops).toBe(s.cores[0].vnf_errors * 64);
    expect(s.ports[1].tx_packets + s.drops.vnf_error_drops).toBe(64000);
    expect(s.ports[1].tx_packets).toBeGreaterThan(20000);
    expect(r.stderr).toMatch(/vnf error \(core 0\): Error: boom on purpose at .*\/test\/fixtures\/throws-every-other\.ts:8:\d+/);
    // rate-limited: far fewer lines than errors
    expect(r.stderr.split("\n").filter((l) => l.includes("boom")).length).toBeLessThan(10);
  });

  // A lost core: its worker is ended and another takes the core, with the
  // live version, its counters and (V8) its ctx.memory; only the batch in
  // hand is lost. test/fixtures/dies-once.ts loses its context once.
  it.each(["v8", "quickjs"])("a core stuck in an endless loop (--context %s) is started again: only its batch in hand is lost", (context) => {
    const s = vnfrunJson(["test/fixtures/dies-once.ts", "--context", context, "--config", '{"how":"loop"}', "--vnf-timeout", "1",
      "--port", "in=gen:rate=100k,count=200000", "--port", "out=sink"]);
    expect(s.restarts).toHaveLength(1);
    expect(s.restarts[0].reason).toMatch(/^process\(\) had not returned after 1 s \(--vnf-timeout; an endless loop\?\)$/);
    expect(s.drops.vnf_restart).toBeGreaterThan(0);
    expect(s.drops.vnf_restart).toBeLessThanOrEqual(256);   // one batch
    expect(s.ports[1].tx_packets + dropsTotal(s)).toBe(200000);
    expect(s.ports[1].tx_packets).toBe(200000 - s.drops.vnf_restart);
    expect(s.vnf_counters.dies_forwarded).toBe(s.ports[1].tx_packets);   // the counters went on
    expect(s.vnf_counters.dies_starts).toBe(2);
    expect(s.vnf_counters.dies_memory_starts).toBe(context === "v8" ? 2 : 1);
  });

  it("a V8 core past its --memory-limit is started again; the batch that ran out is counted as vnf_memory", () => {
    const s = vnfrunJson(["test/fixtures/dies-once.ts", "--config", '{"how":"leak"}', "--memory-limit", "64m",
      "--port", "in=gen:rate=100k,count=200000", "--port", "out=sink"]);
    expect(s.restarts.map((x: any) => x.reason)).toEqual(["the VNF ran out of its memory limit (--memory-limit: V8's heap is full)"]);
    expect(s.drops.vnf_memory).toBeGreaterThan(0);
    expect(s.ports[1].tx_packets + s.drops.vnf_memory).toBe(200000);
    expect(s.vnf_counters.dies_memory_starts).toBe(2);
  });

  it("a quickjs context out of its --memory-limit is restarted in its worker with the lost one's ctx.memory", () => {
    const s = vnfrunJson(["test/fixtures/dies-once.ts", "--context", "quickjs", "--config", '{"how":"leak"}', "--memory-limit", "32m",
      "--port", "in=gen:rate=100k,count=200000", "--port", "out=sink"]);
    expect(s.restarts.map((x: any) => x.reason)).toEqual(["the VNF ran out of its memory limit (32 MiB); its context is restarted"]);
    expect(s.ports[1].tx_packets + s.drops.vnf_memory).toBe(200000);
    expect(s.vnf_counters.dies_starts).toBe(2);
    expect(s.vnf_counters.dies_memory_starts).toBe(2);   // the table in ctx.memory went on
  });

  it("a core that keeps getting stuck is started again after longer and longer pauses, and the run still ends on time", () => {
    const t = Date.now();
    const r = vnfrun(["test/fixtures/runaway.ts", "--config", '{"mode":"loop"}', "--vnf-timeout", "0.5", "--duration", "5",
      "--port", "in=gen:rate=20k", "--port", "out=sink", "--json"], { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(0);
    const ms = JSON.parse(r.stdout).restarts.map((x: any) => x.ms);
    expect(ms.length).toBeGreaterThanOrEqual(3);
    ms.slice(1).forEach((m: number, k: number) => expect(m).toBeGreaterThanOrEqual(50 * 2 ** k));   // the back-off (supervisor.ts)
    expect(r.stderr).toMatch(/core 0: context restarted in [\d.]+ ms: process\(\) had not returned after 0\.5 s/);
    expect(Date.now() - t).toBeLessThan(15_000);
  });

  it("verdicts naming no port, or frames grown past their buffer, are dropped and counted", () => {
    const s = vnfrunJson(["test/fixtures/misbehaves.ts", "--port", "in=gen:count=4000", "--port", "out=sink"]);
    expect(s.drops.bad_verdicts).toBe(1000);
    expect(s.drops.bad_bounds).toBe(1000);
    expect(s.drops.vnf_drops).toBe(1000);
    expect(s.ports[1].tx_packets).toBe(1000);
  });

  it("drops mixed with sends, and batches dropped whole: the kept frames leave in order, the drops counted", () => {
    const dir = mkdtempSync(join(tmpdir(), "vnfrun-drops-"));
    try {
      const frames = Array.from({ length: 2000 }, (_, i) =>
        frame({ src: [10, 0, 0, 1], dst: [10, 0, 0, 2], sport: 1000 + (i % 50), dport: 53, proto: 17 }, i));
      writePcap(join(dir, "in.pcap"), frames);
      const s = vnfrunJson(["test/fixtures/drops-by-seq.ts", "--port", `in=pcap:${join(dir, "in.pcap")}`,
        "--port", `out=pcap:${join(dir, "out.pcap")}`, "--rx-batch", "32", "--tx-batch", "8"]);
      const want = frames.filter((_, i) => i % 3 !== 0 && (i < 600 || i >= 900));
      const got = readPcap(join(dir, "out.pcap"));
      expect(got.length).toBe(want.length);
      got.forEach((f, i) => expect(Buffer.from(f).equals(Buffer.from(want[i]))).toBe(true));
      expect(s.drops.vnf_drops).toBe(frames.length - want.length);
      expect(s.ports[1].tx_packets).toBe(want.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
