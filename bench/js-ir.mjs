// Instructions per packet, engine included, counted by callgrind: a figure
// that does not move when other work shares the CPU. Runs js-engine.mjs at
// two lengths under valgrind and divides the difference in instructions by
// the difference in packets, so start-up, compilation and warm-up cancel.
//
//   node bench/js-ir.mjs [vnf.ts ...]        (needs valgrind; ~2 min per VNF)
//
// --single-threaded (and fixed seeds) make V8 compile synchronously and
// the figure repeat to a few instructions; its inlining choices can differ
// from a normal run's, though
// (they depend on what is already optimised when): check a change with a
// timed run too (js-engine.mjs), or perf (see BENCHMARKS.md).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const vnfs = process.argv.slice(2).map((v) => resolve(v));
if (!vnfs.length) vnfs.push(join(root, "bench/firewall-1k.ts"));
const dir = mkdtempSync(join(tmpdir(), "js-ir-"));
const SHORT = 1000, LONG = 4000, WARM = 3000;

function ir(vnf, cycles) {
  const out = join(dir, `cg.${cycles}.out`);
  const stdout = execFileSync("valgrind", [
    "--tool=callgrind", `--callgrind-out-file=${out}`,
    process.execPath, "--single-threaded", "--random-seed=1", "--predictable-gc-schedule", join(root, "bench/js-engine.mjs"), vnf,
    "--cycles", String(cycles), "--warm", String(WARM),
  ], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], cwd: dir });
  const summary = /^summary:\s*(\d+)/m.exec(readFileSync(out, "utf8"));
  return { ir: Number(summary[1]), packets: JSON.parse(stdout.trim().split("\n").pop()).packets };
}

for (const v of vnfs) {
  const a = ir(v, SHORT), b = ir(v, LONG);
  const per = (b.ir - a.ir) / (b.packets - a.packets);
  console.log(`${per.toFixed(1)} instructions/packet  ${v}`);
}
