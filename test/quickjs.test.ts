// --context quickjs: what a sandboxed VNF cannot do, the limits it runs
// under (each cause counted, the error located in the TS source, the core
// going on or restarting its context), and the package internals the
// context relies on.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileVnf } from "../runtime/compile";
import { QuickJsCore } from "../runtime/quickjs-context";
import { ROOT, vnfrun } from "./helpers/tools";

const json = (args: string[]) => {
  const r = vnfrun([...args, "--json"], { timeoutMs: 240_000 });
  if (r.code !== 0) throw new Error(`vnfrun ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return { s: JSON.parse(r.stdout), stderr: r.stderr };
};
const COUNT = 20_000;
const runaway = (mode: string, ...more: string[]) =>
  json(["test/fixtures/runaway.ts", "--context", "quickjs", "-c", String(COUNT), "--config", JSON.stringify({ mode }), ...more]);

describe("quickjs-emscripten internals", () => {
  it("is the pinned version, and its heap and buffers are where the context looks", async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
    const installed = JSON.parse(readFileSync(join(ROOT, "node_modules/quickjs-emscripten-core/package.json"), "utf8")).version;
    expect(pkg.dependencies["quickjs-emscripten-core"]).toBe(installed);   // exact, no range
    // A core's context with a stand-in for the native core: creating it
    // reads the emscripten heap and locates the batch buffer by its marker;
    // loading the firewall locates its counters. Any of these throws on an
    // upgrade that moved them.
    const bundle = await compileVnf(join(ROOT, "vnfs/firewall.ts"));
    const published: string[][] = [];
    const view = {
      core: 0, cores: 1, portNames: ["in", "out"], log: () => {},
      counters: (names: readonly string[]) => { published.push([...names]); return new Float64Array(new SharedArrayBuffer(8 * names.length)); },
    };
    // (native/core_guest.cc's layout for 256 received and 256 fresh entries)
    const native = { layout: { maxBatch: 256, maxFresh: 256, maxReleases: 256 }, guestLayout: { offsets: 0, lengths: 2048, inPorts: 4096, verdicts: 4608, flags: 5120, meta: 5632, fresh: 5648, ctl: 6672, tickets: 6704, releases: 8752, keepFree: 10800, bytes: 12864 } };
    const core = await QuickJsCore.create(view as never, native as never, { memoryBytes: 32 * 2 ** 20 });
    core.loadBundle(bundle.file, 1, undefined).start();
    expect(published).toEqual([["allowed", "blocked", "denied", "defaulted", "malformed", "nonIp"]]);
    expect(core.memoryUsed()).toBeGreaterThan(0);
  }, 60_000);
});

describe("nothing of the host leaks into a quickjs context", () => {
  it("refuses every way out, and prototype pollution changes nothing the host does", () => {
    const { s, stderr } = json(["test/fixtures/escapes.ts", "--context", "quickjs", "--memory-limit", "64m", "-c", "5000"]);
    const line = /escapes (\{.*\})/.exec(stderr);
    expect(line, stderr).not.toBeNull();
    const r = JSON.parse(line![1]);
    for (const k of ["require", "process", "console", "setTimeout", "WebAssembly", "transfer", "transferFixed"]) expect(r[k], k).toBe('"undefined"');
    expect(r.constructorChain).toBe("[]");
    expect(r.globals).toBe("[]");
    expect(r.hostFunctionsOnCtx).not.toContain("true");   // ctx's functions are the guest's own
    expect(r.hugeAlloc).toMatch(/^threw/);
    expect(r.hugeString).toMatch(/^threw/);                // 512 MiB past a 64 MiB limit
    expect(r.deepRecursion).toBe("threw InternalError");   // stack overflow, not a host crash
    expect(r.getterLoop).toBe("threw InternalError");
    expect(s.ports[1].tx_packets).toBe(5000);
  }, 240_000);

  it("runs the VNF's top-level code only inside QuickJS, also to read its ports", () => {
    expect(json(["test/fixtures/host-probe.ts", "-c", "100"]).s.ports.map((p: { name: string }) => p.name)).toEqual(["host", "seen"]);
    expect(json(["test/fixtures/host-probe.ts", "--context", "quickjs", "-c", "100"]).s.ports.map((p: { name: string }) => p.name)).toEqual(["in", "out"]);
  }, 120_000);
});

describe("limits in a quickjs context", () => {
  it("--cpu-budget drops a runaway batch as vnf_cpu_budget, says where it ran, and the core goes on", () => {
    for (const mode of ["loop", "getter"]) {
      const { s, stderr } = runaway(mode, "--cpu-budget", "5ms");
      expect(s.drops.vnf_cpu_budget, mode).toBeGreaterThan(0);
      expect(s.drops.vnf_cpu_budget % 256, mode).toBe(0);   // whole batches (the gen's batches are full)
      expect(s.ports[1].tx_packets + s.drops.vnf_cpu_budget, mode).toBe(COUNT);
      expect(stderr).toMatch(/CPU budget of 5 ms \(stopped after [\d.]+ ms\) at spin \(.*test\/fixtures\/runaway\.ts:\d+:\d+\)/);
      expect(stderr.split("\n").filter((l) => l.startsWith("vnf error")).length).toBeLessThan(20);   // once a second, not per batch
    }
  }, 480_000);

  it("--memory-limit drops the batch that ran out as vnf_memory and restarts the core's context", () => {
    const { s, stderr } = runaway("leak", "--memory-limit", "32m");
    expect(s.drops.vnf_memory).toBeGreaterThan(0);
    expect(s.ports[1].tx_packets + s.drops.vnf_memory).toBe(COUNT);
    expect(s.restarts.length).toBeGreaterThan(0);
    expect(s.restarts[0].reason).toMatch(/memory limit/);
    expect(stderr).toMatch(/MemoryLimitError: .* at process \(.*test\/fixtures\/runaway\.ts:\d+:\d+\)/);
    expect(stderr).toMatch(/core 0: context restarted in [\d.]+ ms/);
  }, 240_000);

  it("a deep recursion is a stack overflow error in the guest, counted as a VNF error", () => {
    const { s, stderr } = runaway("recurse");
    expect(s.drops.vnf_error_drops).toBeGreaterThan(0);
    expect(s.ports[1].tx_packets + s.drops.vnf_error_drops).toBe(COUNT);
    expect(stderr).toMatch(/InternalError: stack overflow at f \(.*runaway\.ts:\d+:\d+\)/);
  }, 240_000);

  it("the memory limit holds: a VNF fills at most the limit and at least 85% of it", () => {
    const limit = 64 * 2 ** 20;
    const { stderr } = json(["test/fixtures/fills-memory.ts", "--context", "quickjs", "--memory-limit", "64m", "-c", "100"]);
    const held = Number(/held (\d+)/.exec(stderr)?.[1]);
    expect(held).toBeLessThanOrEqual(limit);
    expect(held).toBeGreaterThanOrEqual(0.85 * limit);
  }, 240_000);

  it("bad limits are one-line errors that say what to give", () => {
    const cases: [string[], RegExp][] = [
      [["--context", "spidermonkey"], /--context spidermonkey: choose v8 .* or quickjs/],
      [["--memory-limit", "lots"], /--memory-limit lots: give a size from 1m to 2g/],
      [["--cpu-budget", "soon"], /--cpu-budget soon: give a time per batch/],
      [["--cpu-budget", "2ms"], /--cpu-budget needs --context quickjs/],
      [["--context", "quickjs", "--memory-limit", "8m"], /needs at least 20m/],
    ];
    for (const [args, want] of cases) {
      const r = vnfrun(["vnfs/l2fwd.ts", "-c", "10", ...args]);
      expect(r.code, args.join(" ")).not.toBe(0);
      expect(r.stderr.trim().split("\n")[0], args.join(" ")).toMatch(want);
    }
  }, 120_000);
});
