// npm run bench:scaling: the firewall on 1, 2, 4, ... cores in hw and sw1
// modes (gen -> firewall -> sink, 64-byte frames), and the sw1 distributor's
// own ceiling (hash and hand-off to cores that forward in C++, no JS).
// Core counts stop where this machine runs out of CPUs (one per core, plus
// the I/O thread in sw1). Writes the table into BENCHMARKS.md.
import { availableParallelism, cpus as cpuList } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { writeSection } from "./benchmarks-md.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { run } = createRequire(import.meta.url)(join(root, "dist/index.js"));
const REPS = Number(process.env.REPS ?? 3);
const SECONDS = Number(process.env.SECONDS ?? 2);
const CPUS = availableParallelism();
const median = (xs) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];

async function measure(opts) {
  const xs = [];
  for (let r = 0; r < REPS; r++) {
    const s = await run({
      ports: ["in=gen:flows=10000,size=64", "out=sink"], rxBatch: 256, txBatch: 32, busyPoll: true,
      durationS: SECONDS, warmupS: 0.5, overflow: "drop", onMessage: (t) => console.error(t), ...opts,
    });
    xs.push(s.tx_mpps);
  }
  return median(xs);
}

const counts = (io) => [1, 2, 4, 8, 12, 16, 32].filter((n) => n + io <= CPUS);
const rows = [];
for (const dist of ["hw", "sw1"]) {
  const io = dist === "sw1" ? 1 : 0;
  let one;
  for (const n of counts(io)) {
    const cpus = `0-${n + io - 1}`;
    const mpps = await measure({ vnf: join(root, "bench/firewall-1k.ts"), cores: n, dist, cpus });
    one ??= mpps;
    rows.push(`| firewall-1k | ${dist} | ${n} | ${mpps.toFixed(1)} | ${(mpps / (n * one)).toFixed(2)} |`);
    process.stderr.write(`${dist} ${n} cores: ${mpps.toFixed(2)} Mpps\n`);
  }
}
for (const n of counts(1)) {
  const mpps = await measure({ vnf: join(root, "vnfs/l2fwd.ts"), cores: n, dist: "sw1", cpus: `0-${n}`, nativeForward: true });
  rows.push(`| distributor ceiling (C++ cores) | sw1 | ${n} | ${mpps.toFixed(1)} | - |`);
  process.stderr.write(`sw1 ceiling ${n} cores: ${mpps.toFixed(2)} Mpps\n`);
}

const table = [
  `Machine: ${CPUS} x ${cpuList()[0]?.model ?? "?"}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}.`,
  `Command: \`npm run bench:scaling\` (REPS=${REPS}, ${SECONDS} s per run after 0.5 s warm-up, busy-poll, gen flows=10000 size=64 -> VNF -> sink, overflow drop; Mpps delivered to the sink, median).`,
  "",
  "| VNF | dist | cores | Mpps | efficiency (Mpps / (cores x 1-core Mpps)) |",
  "|---|---|---|---|---|",
  ...rows,
].join("\n");
console.log(table);
writeSection("scaling", table);
