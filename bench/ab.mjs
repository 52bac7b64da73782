// node bench/ab.mjs OTHER_CHECKOUT: `npm run bench`'s three cases, run from
// OTHER_CHECKOUT (built: dist/ and build/) and from this one in turn, REPS
// rounds (the order flips each round), each run in its own process; prints
// the medians. For a change's before and after on a shared, noisy machine:
// both sides see the same load.
import { execFileSync } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = join(dirname(fileURLToPath(import.meta.url)), "..");
if (process.argv[2] === "--one") {
  // A child: one case in one tree; prints its rx Mpps.
  const [tree, key] = process.argv.slice(3);
  const { createRequire } = await import("node:module");
  const { run } = createRequire(import.meta.url)(join(tree, "dist/index.js"));
  const vnf = { a: "vnfs/l2fwd.ts", b: "vnfs/l2fwd.ts", c: "bench/firewall-1k.ts" }[key];
  const s = await run({ vnf: join(tree, vnf), nativeForward: key === "a", ports: ["in=gen:flows=1000,size=64", "out=sink"],
    rxBatch: 256, txBatch: 32, busyPoll: true, durationS: 2, warmupS: 0.5, onMessage: () => {} });
  console.log(s.rx_mpps);
  process.exit(0);
}
if (!process.argv[2]) throw new Error("usage: node bench/ab.mjs OTHER_CHECKOUT");
const trees = [["before", resolve(process.argv[2])], ["after", here]];
const REPS = Number(process.env.REPS ?? 5);
const res = {};
for (let r = 0; r < REPS; r++)
  for (const c of ["a", "b", "c"])
    for (const [name, tree] of r % 2 ? [...trees].reverse() : trees) {
      const v = Number(execFileSync(process.execPath, [fileURLToPath(import.meta.url), "--one", tree, c], { encoding: "utf8" }).trim());
      (res[c] ??= {})[name] = [...(res[c]?.[name] ?? []), v];
      process.stderr.write(`rep ${r + 1}/${REPS} ${c} ${name}: ${v.toFixed(1)} Mpps\n`);
    }
const med = (xs) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];
const cell = (xs) => `${med(xs).toFixed(1)} (${xs.map((x) => x.toFixed(1)).join(", ")})`;
const what = { a: "native l2fwd", b: "vnfs/l2fwd.ts", c: "firewall 1k" };
console.log(["| case | before: median Mpps (runs) | after: median Mpps (runs) |", "|---|---|---|",
  ...Object.keys(res).map((c) => `| ${c} ${what[c]} | ${cell(res[c].before)} | ${cell(res[c].after)} |`)].join("\n"));
