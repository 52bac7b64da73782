// npm run bench:harness: how long vnfrun/test takes over 10,000 packets
// inside a vitest test (the target: under 1 s, so harness tests stay fast).
// Medians of REPS runs in one vitest process; building the frames with
// pkt is timed apart from runVnf.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeSection } from "./benchmarks-md.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const reps = Number(process.env.REPS ?? 7);
const r = spawnSync(process.execPath, [join(root, "node_modules/vitest/vitest.mjs"), "run", "--config", join(root, "bench/harness.vitest.config.mjs")],
  { cwd: root, encoding: "utf8", env: { ...process.env, REPS: String(reps) } });
const line = (r.stdout + r.stderr).split("\n").find((l) => l.startsWith("BENCH "));
if (!line) { console.error(r.stdout + r.stderr); process.exit(1); }
const t = JSON.parse(line.slice(6));
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const rows = [
  ["building 10,000 frames with pkt (Ethernet/IPv4/TCP, 18-byte payload)", t.build],
  ["runVnf(firewall) over them, 1 core", t.firewall],
  ["runVnf(l2fwd), 1 core", t.l2fwd],
  ["runVnf(firewall), 4 cores (hw, RSS by the engine's hash)", t.firewall4],
];
const table = [
  `\`npm run bench:harness\` (${reps} runs in one vitest process, medians; ${new Date().toISOString().slice(0, 10)}, measured while the machine was shared and loaded):`,
  "",
  "| what | ms |",
  "|---|---|",
  ...rows.map(([k, a]) => `| ${k} | ${median(a).toFixed(1)} |`),
].join("\n");
console.log(table);
writeSection("harness", table, "vnfrun/test: runVnf over 10,000 packets");
