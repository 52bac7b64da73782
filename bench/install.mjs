// npm run bench:install: a newcomer's first minute, median of REPS (3) runs.
//   1. `npm install` in a fresh clone (npm's cache is warm: no download time)
//   2. the first `npx vnfrun --help` after it, and whether it touched build/
//   3. `npm install <tarball>` into an empty project with the compiler hidden
//      (CXX=false CC=false); the tarball is packed once from a fresh clone
// REF=<commit> measures steps 1 and 2 on another commit (default HEAD; a
// clone has only what is committed). Writes the table into BENCHMARKS.md
// between the install markers when REF is HEAD.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const REPS = Number(process.env.REPS ?? 3);
const REF = process.env.REF ?? "HEAD";
// npm's variables from `npm run` must not steer the npm we measure.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("npm_")));
const quiet = ["--no-audit", "--no-fund", "--loglevel=error"];

function timed(cmd, args, cwd, extraEnv = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd, env: { ...env, ...extraEnv }, encoding: "utf8", maxBuffer: 1 << 26 });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} in ${cwd} exited ${r.status}: ${(r.stderr || "").slice(-2000)}`);
  return s;
}

function clone(dir) {
  execFileSync("git", ["clone", "--quiet", "--no-checkout", root, dir]);
  execFileSync("git", ["-C", dir, "checkout", "--quiet", execFileSync("git", ["-C", root, "rev-parse", REF], { encoding: "utf8" }).trim()]);
}

// Every file under build/ with its size and mtime: npx must leave it as it was.
function snapshot(dir) {
  if (!existsSync(dir)) return "";
  const walk = (d) => readdirSync(d, { withFileTypes: true }).flatMap((e) => {
    const p = join(d, e.name);
    return e.isDirectory() ? walk(p) : [`${p} ${statSync(p).size} ${statSync(p).mtimeMs}`];
  });
  return walk(dir).sort().join("\n");
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const work = mkdtempSync(join(tmpdir(), "vnfrun-bench-install-"));
const installs = [], helps = [], tarballs = [];
let touched = 0, packS = 0, tarball = "";
try {
  for (let r = 0; r < REPS; r++) {
    const dir = join(work, `clone${r}`);
    clone(dir);
    installs.push(timed("npm", ["install", ...quiet], dir));
    const before = snapshot(join(dir, "build"));
    helps.push(timed("npx", ["vnfrun", "--help"], dir));
    if (snapshot(join(dir, "build")) !== before) touched++;
    process.stderr.write(`rep ${r + 1}/${REPS}: npm install ${installs[r].toFixed(1)} s, first npx vnfrun --help ${helps[r].toFixed(2)} s\n`);
    if (r === 0 && REF === "HEAD") {
      packS = timed("npm", ["pack", "--silent", "--pack-destination", work], dir);
      tarball = join(work, readdirSync(work).find((f) => f.endsWith(".tgz")));
    }
  }
  for (let r = 0; r < REPS && tarball; r++) {
    const proj = join(work, `project${r}`);
    mkdirSync(proj);
    writeFileSync(join(proj, "package.json"), JSON.stringify({ name: "myfw", version: "1.0.0", private: true }));
    tarballs.push(timed("npm", ["install", ...quiet, tarball], proj, { CXX: "false", CC: "false" }));
    if (existsSync(join(proj, "node_modules/vnfrun/build"))) throw new Error("the tarball install compiled something (node_modules/vnfrun/build exists)");
    process.stderr.write(`rep ${r + 1}/${REPS}: npm install <tarball> ${tarballs[r].toFixed(1)} s\n`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const rev = execFileSync("git", ["-C", root, "rev-parse", "--short", REF], { encoding: "utf8" }).trim();
const f = (xs, d = 1) => `${median(xs).toFixed(d)} | ${xs.map((x) => x.toFixed(d)).join(", ")}`;
const table = [
  `Machine: ${cpus().length} x ${cpus()[0]?.model ?? "?"}, Node ${process.version}, npm ${execFileSync("npm", ["-v"], { env, encoding: "utf8" }).trim()}, commit ${rev}, ${new Date().toISOString().slice(0, 10)}.`,
  `Command: \`npm run bench:install\` (REPS=${REPS}; npm's cache warm, so no download time; the machine shared with other builds).`,
  "",
  "| step | median s | runs |",
  "|---|---|---|",
  `| \`npm install\` in a fresh clone (compiles the addon once) | ${f(installs)} |`,
  `| first \`npx vnfrun --help\` after it | ${f(helps, 2)} |`,
  ...(tarball ? [`| \`npm install vnfrun-*.tgz\` into an empty project, CXX=false CC=false | ${f(tarballs)} |`] : []),
  "",
  `The first \`npx vnfrun --help\` changed build/ in ${touched} of ${REPS} runs.${tarball ? ` \`npm pack\` (prepack: dist/, the SDK's types, prebuildify) took ${packS.toFixed(1)} s.` : ""}`,
].join("\n");
console.log(table);

if (REF === "HEAD") {
  const file = join(root, "BENCHMARKS.md");
  const begin = "<!-- bench:install:begin -->", end = "<!-- bench:install:end -->";
  const doc = readFileSync(file, "utf8");
  const i = doc.indexOf(begin), j = doc.indexOf(end);
  if (i >= 0 && j > i) writeFileSync(file, doc.slice(0, i + begin.length) + "\n" + table + "\n" + doc.slice(j));
}
