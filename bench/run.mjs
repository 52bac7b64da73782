// npm run bench: one core, gen -> VNF -> sink, at 64-byte frames and rx batch
// 256. Runs the three cases interleaved, REPS times, and reports medians:
//   (a) the engine's C++ l2fwd (no JS): the ceiling
//   (b) vnfs/l2fwd.ts
//   (c) bench/firewall-1k.ts: 1,000 blocked sources, 10 port rules
//   (d, e) the same two under --context quickjs
//   (f, g) bench/empty.ts under v8 and quickjs: what a batch costs with no
//          VNF work (quickjs: the copy in and out and one call)
// then the time a quickjs core takes to restart its context (bench/leak.ts
// runs out of a 32 MiB limit every few batches).
// Writes the table into BENCHMARKS.md between the engine markers.
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { writeSection } from "./benchmarks-md.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { run } = createRequire(import.meta.url)(join(root, "dist/index.js"));

const REPS = Number(process.env.REPS ?? 5);
const SECONDS = Number(process.env.SECONDS ?? 2);
const ports = ["in=gen:flows=1000,size=64", "out=sink"];
const base = { ports, rxBatch: 256, txBatch: 32, busyPoll: true, durationS: SECONDS, warmupS: 0.5, onMessage: (t) => console.error(t) };

const cases = [
  { key: "a", name: "native l2fwd (C++, no JS)", opts: { vnf: join(root, "vnfs/l2fwd.ts"), nativeForward: true } },
  { key: "b", name: "vnfs/l2fwd.ts", opts: { vnf: join(root, "vnfs/l2fwd.ts") } },
  { key: "c", name: "firewall, 1k blocked + 10 rules", opts: { vnf: join(root, "bench/firewall-1k.ts") } },
  { key: "d", name: "vnfs/l2fwd.ts, --context quickjs", opts: { vnf: join(root, "vnfs/l2fwd.ts"), context: "quickjs" } },
  { key: "e", name: "firewall, 1k blocked + 10 rules, --context quickjs", opts: { vnf: join(root, "bench/firewall-1k.ts"), context: "quickjs" } },
  { key: "f", name: "bench/empty.ts (a batch, no work)", opts: { vnf: join(root, "bench/empty.ts") } },
  { key: "g", name: "bench/empty.ts, --context quickjs (copy in/out + call)", opts: { vnf: join(root, "bench/empty.ts"), context: "quickjs" } },
];

const median = (xs) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];
const results = Object.fromEntries(cases.map((c) => [c.key, []]));
for (let r = 0; r < REPS; r++) {
  for (const c of cases) {
    const s = await run({ ...base, ...c.opts });
    results[c.key].push(s.rx_mpps);
    process.stderr.write(`rep ${r + 1}/${REPS} ${c.name}: ${s.rx_mpps.toFixed(2)} Mpps\n`);
  }
}

const med = Object.fromEntries(cases.map((c) => [c.key, median(results[c.key])]));
// Restarts: each the time from the lost batch to the new context's init done.
const leak = await run({ ...base, vnf: join(root, "bench/leak.ts"), context: "quickjs", memoryLimit: 32 * 2 ** 20, busyPoll: false, onMessage: () => {} });
const restartMs = leak.restarts.map((x) => x.ms);
// A worker replaced: test/fixtures/dies-once.ts gets stuck once; the time
// from the watchdog ending its worker to the new one's init() done.
const replaced = { v8: [], quickjs: [] };
for (let r = 0; r < 3; r++) for (const context of Object.keys(replaced)) {
  const s = await run({ ...base, ports: ["in=gen:rate=100k,count=100000", "out=sink"], durationS: undefined, warmupS: 0,
    vnf: join(root, "test/fixtures/dies-once.ts"), context, vnfTimeoutS: 0.5, onMessage: () => {} });
  replaced[context].push(s.restarts[0]?.ms ?? NaN);
}
const usPerBatch = (mpps) => 256 / mpps;
const rows = cases.map((c) => `| ${c.key} | ${c.name} | ${med[c.key].toFixed(1)} | ${results[c.key].map((x) => x.toFixed(1)).join(", ")} |`);
const table = [
  `Machine: ${cpus().length} x ${cpus()[0]?.model ?? "?"}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}.`,
  `Command: \`npm run bench\` (REPS=${REPS}, ${SECONDS} s per run after 0.5 s warm-up, busy-poll, gen flows=1000 size=64 -> VNF -> sink, rx batch 256, tx batch 32).`,
  "",
  "| case | what | median Mpps | runs |",
  "|---|---|---|---|",
  ...rows,
  "",
  `Ratios (medians): b/a = ${(med.b / med.a).toFixed(2)}, c/a = ${(med.c / med.a).toFixed(2)}; quickjs/v8: l2fwd d/b = ${(med.d / med.b).toFixed(3)}, firewall e/c = ${(med.e / med.c).toFixed(3)}.`,
  `A batch of 256 with no VNF work: ${usPerBatch(med.f).toFixed(1)} µs under v8, ${usPerBatch(med.g).toFixed(1)} µs under quickjs (the copy in and out and one call: ${(usPerBatch(med.g) - usPerBatch(med.f)).toFixed(1)} µs more).`,
  `A core's worker replaced after --vnf-timeout (test/fixtures/dies-once.ts, stuck once): v8 median ${median(replaced.v8).toFixed(1)} ms, quickjs ${median(replaced.quickjs).toFixed(1)} ms (3 runs each: ${replaced.v8.map((x) => x.toFixed(1)).join(", ")}; ${replaced.quickjs.map((x) => x.toFixed(1)).join(", ")}).`,
  `quickjs context restart (bench/leak.ts, --memory-limit 32m): median ${median(restartMs)?.toFixed(1) ?? "-"} ms over ${restartMs.length} restarts (min ${Math.min(...restartMs).toFixed(1)}, max ${Math.max(...restartMs).toFixed(1)}).`,
].join("\n");
console.log(table);

writeSection("engine", table);
