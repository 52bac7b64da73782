// npm run bench: one core, gen -> VNF -> sink, at 64-byte frames and rx batch
// 256. Runs the three cases interleaved, REPS times, and reports medians:
//   (a) the engine's C++ l2fwd (no JS): the ceiling
//   (b) vnfs/l2fwd.ts
//   (c) bench/firewall-1k.ts: 1,000 blocked sources, 10 port rules
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
const rows = cases.map((c) => `| ${c.key} | ${c.name} | ${med[c.key].toFixed(1)} | ${results[c.key].map((x) => x.toFixed(1)).join(", ")} |`);
const table = [
  `Machine: ${cpus().length} x ${cpus()[0]?.model ?? "?"}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}.`,
  `Command: \`npm run bench\` (REPS=${REPS}, ${SECONDS} s per run after 0.5 s warm-up, busy-poll, gen flows=1000 size=64 -> VNF -> sink, rx batch 256, tx batch 32).`,
  "",
  "| case | what | median Mpps | runs |",
  "|---|---|---|---|",
  ...rows,
  "",
  `Ratios (medians): b/a = ${(med.b / med.a).toFixed(2)}, c/a = ${(med.c / med.a).toFixed(2)}.`,
].join("\n");
console.log(table);

writeSection("engine", table);
