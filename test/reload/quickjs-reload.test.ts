// Hot reload under --context quickjs: a new version loads into the same
// QuickJS runtime beside the live one, so migrate() gets the live state
// itself (the same object, no copy); every frame after the switch is the
// new version's, state counts go on, and rollback is instant.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { readPcap } from "../helpers/pcap";
import { vnfrun } from "../helpers/tools";
import { Running } from "./running";
import { ROOT, stampOf, vnfSource } from "./vnf-version";

const dir = mkdtempSync(join(tmpdir(), "vnfrun-qjs-reload-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Version k of vnf-version.ts, whose process() keeps the state it runs on
// at globalThis.live and whose migrate says whether it was handed that very
// object.
const version = (gen: number) => vnfSource({ gen })
  .replace("const b = batch.bytes,", "(globalThis as any).live = st;\n    const b = batch.bytes,")
  .replace("return { seen: prev.seen, core: ctx.core };", "ctx.log(`migrate got the live state itself: ${prev === (globalThis as any).live}`);\n    return { seen: prev.seen, core: ctx.core };");

it("reloads in the same runtime: migrate gets the live state by reference, counts go on, rollback is instant", async () => {
  const out = join(dir, "out.pcap");
  for (const g of [1, 2, 3]) writeFileSync(join(dir, `v${g}.ts`), version(g));
  const r = new Running([join(dir, "v1.ts"), "--context", "quickjs", "--port", "in=gen:flows=8,rate=20000", "--port", `out=pcap:${out},write`, "--json", "--duration", "60"]);
  try {
    await r.up(60_000);
    await sleep(300);
    const pid = String(r.proc.pid);
    expect(vnfrun(["reload", pid, "--vnf", join(dir, "v2.ts")], { timeoutMs: 60_000 }).stdout).toMatch(/gen 2 live/);
    await sleep(300);
    expect(vnfrun(["reload", pid, "--vnf", join(dir, "v3.ts")], { timeoutMs: 60_000 }).stdout).toMatch(/gen 3 live/);
    await sleep(300);
    expect(vnfrun(["reload", pid, "--rollback"]).stdout).toMatch(/rolled back: gen 2 live again/);
    await sleep(300);
    const s = await r.stop();
    expect(s.generation).toBe(2);
    const said = r.lines.filter((l) => l.includes("migrate got the live state itself"));
    expect(said).toHaveLength(2);
    for (const l of said) expect(l).toMatch(/itself: true/);
    const stamps = readPcap(out).map(stampOf);
    // Up to the rollback one state is carried through every version; after
    // it, gen 2 goes on from its own state.
    const rolledBack = stamps.map((st) => st.gen).lastIndexOf(3) + 1;
    const last = new Map<string, { gen: number; seen: number }>();
    stamps.slice(0, rolledBack).forEach((st) => {
      const prev = last.get(st.flow);
      if (prev) expect(st.seen).toBeGreaterThan(prev.seen);
      last.set(st.flow, st);
    });
    expect(new Set(stamps.map((st) => st.gen))).toEqual(new Set([1, 2, 3]));
    expect(stamps.at(-1)!.gen).toBe(2);
    expect(stamps.length).toBe(s.ports[1].tx_packets);
  } finally {
    r.proc.kill("SIGKILL");
  }
}, 180_000);

it("ctx.memory is one buffer for every generation in the runtime: what a version keeps there goes on after a reload without migrate", async () => {
  // No migrate: each version's state starts fresh, but its count lives in ctx.memory.
  const source = (gen: number) => `import { defineVnf } from "vnfrun/sdk";
export default defineVnf({
  ports: ["in", "out"],
  init: (ctx) => ({ seen: new Float64Array(ctx.memory("seen", 8)), shown: ctx.counters(["seen_now"]) }),
  process(batch, st) {
    for (let i = 0; i < batch.count; i++) batch.verdicts[i] = 2;
    st.seen[0] += batch.count;   // version ${gen}
    st.shown[0] = st.seen[0];
  },
});
`;
  for (const g of [1, 2]) writeFileSync(join(dir, `mem${g}.ts`), source(g));
  const r = new Running([join(dir, "mem1.ts"), "--context", "quickjs", "--port", "in=gen:flows=8,rate=20000", "--port", "out=sink", "--json", "--duration", "60"]);
  try {
    await r.up(60_000);
    await sleep(300);
    expect(vnfrun(["reload", String(r.proc.pid), "--vnf", join(dir, "mem2.ts")], { timeoutMs: 60_000 }).stdout).toMatch(/gen 2 live/);
    await sleep(300);
    const s = await r.stop();
    expect(s.generation).toBe(2);
    expect(s.ports[1].tx_packets).toBeGreaterThan(0);
    expect(s.vnf_counters.seen_now).toBe(s.ports[1].tx_packets);   // counted across both versions
  } finally {
    r.proc.kill("SIGKILL");
  }
}, 180_000);
