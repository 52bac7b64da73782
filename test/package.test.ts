// The packed tarball is the product. It is packed from a copy of this checkout
// (so prepack builds dist/, the SDK's types and the prebuild as on a fresh
// clone), installed into a fresh project with the compiler hidden, and used
// the way the README's newcomer does: a VNF importing vnfrun/sdk, checked with
// that project's own tsc, run with npx.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { ROOT } from "./helpers/tools";

// npm's variables from an outer `npm test` must not steer the inner npm.
const packEnv: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("npm_")));
packEnv.npm_config_update_notifier = "false";
// The user's machine: nothing may compile.
const env: NodeJS.ProcessEnv = { ...packEnv, CXX: "false", CC: "false" };

const work = mkdtempSync(join(tmpdir(), "vnfrun-pack-"));
const project = join(work, "myfw");
const installed = join(project, "node_modules", "vnfrun");
let tarball = "";

function sh(cmd: string, args: string[], cwd: string, withEnv = env) {
  const r = spawnSync(cmd, args, { cwd, env: withEnv, encoding: "utf8", timeout: 300_000 });
  return { code: r.status ?? -1, out: r.stdout ?? "", err: r.stderr ?? "" };
}

function must(cmd: string, args: string[], cwd: string, withEnv = env): string {
  const r = sh(cmd, args, cwd, withEnv);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.code}: ${r.err.slice(-2000)}`);
  return r.out;
}

const FW = `import { defineVnf } from "vnfrun/sdk";
export default defineVnf({ ports: ["in", "out"], process(b) { for (const p of b) p.send(1); } });
`;
// The same VNF with a type error: proves tsc really checks against the shipped types.
const BAD = `import { defineVnf } from "vnfrun/sdk";
export default defineVnf({ ports: ["in", "out"], process(b) { for (const p of b) p.send({ port: 1 }); } });
`;

beforeAll(() => {
  const copy = join(work, "checkout");
  const files = execFileSync("git", ["ls-files", "-z", "-co", "--exclude-standard"], { cwd: ROOT, encoding: "utf8" }).split("\0").filter(Boolean);
  for (const f of files) {
    if (!existsSync(join(ROOT, f))) continue;   // deleted, not yet committed
    mkdirSync(dirname(join(copy, f)), { recursive: true });
    cpSync(join(ROOT, f), join(copy, f));
  }
  symlinkSync(join(ROOT, "node_modules"), join(copy, "node_modules"));
  const name = must("npm", ["pack", "--pack-destination", work, "--silent"], copy, packEnv).trim().split("\n").pop()!;
  tarball = join(work, name);

  mkdirSync(project);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "myfw", version: "1.0.0", private: true }));
  writeFileSync(join(project, "tsconfig.json"), JSON.stringify({
    compilerOptions: { module: "nodenext", moduleResolution: "nodenext", target: "es2022", strict: true, noEmit: true, types: [] },
  }));
  writeFileSync(join(project, "fw.ts"), FW);
  const ts = require("typescript/package.json").version as string;
  must("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", tarball, `typescript@${ts}`], project);
}, 600_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("the packed package, installed into a fresh project without a compiler", () => {
  it("holds what a user needs and nothing else", () => {
    const entries = execFileSync("tar", ["tzf", tarball], { encoding: "utf8" }).split("\n").filter(Boolean).map((e) => e.replace(/^package\//, ""));
    expect(new Set(entries.map((e) => e.split("/")[0]))).toEqual(new Set(["README.md", "package.json", "bin", "binding.gyp", "dist", "native", "prebuilds", "sdk", "templates", "vnfs"]));
    for (const f of ["bin/vnfrun.js", "dist/cli.js", "dist/worker.js", "dist/sdk.js", "dist/types/index.d.ts", "dist/test.js", "dist/types-test/runtime/harness/index.d.ts", "templates/init/package.json", "sdk/index.ts", "native/binding.cc", "native/install.js", "vnfs/firewall.ts"]) {
      expect(entries, f).toContain(f);
    }
    expect(entries.filter((e) => e.startsWith("prebuilds/linux-x64/") && e.endsWith(".node")), "the linux-x64 prebuild").toHaveLength(1);
    // The init template's own test is the starter project's, not ours.
    expect(entries.filter((e) => !e.startsWith("templates/") && /\.test\.ts$|\.o$|^native\/test\//.test(e)), "tests and build leftovers").toEqual([]);
  });

  it("the README names the glibc and libstdc++ that the shipped prebuild needs", () => {
    const dir = join(installed, "prebuilds", "linux-x64");
    const text = readFileSync(join(dir, readdirSync(dir)[0])).toString("latin1");
    const newest = (prefix: string) => [...text.matchAll(new RegExp(`${prefix}_([\\d.]+)`, "g"))].map((m) => m[1])
      .sort((a, b) => a.localeCompare(b, undefined, { numeric: true })).pop();
    const readme = readFileSync(join(ROOT, "README.md"), "utf8").replace(/\s+/g, " ");
    expect(readme).toContain(`needs glibc ${newest("GLIBC")} or later`);
    expect(readme).toContain(`(GLIBCXX_${newest("GLIBCXX")})`);
  });

  it("installed without compiling anything", () => {
    expect(existsSync(installed)).toBe(true);
    expect(existsSync(join(installed, "build")), "node_modules/vnfrun/build").toBe(false);
  });

  it("a VNF importing vnfrun/sdk typechecks with the project's own tsc, and a wrong one does not", () => {
    const tsc = join(project, "node_modules", "typescript", "bin", "tsc");
    const ok = sh(process.execPath, [tsc, "-p", "."], project);
    expect(ok.out + ok.err).toBe("");
    expect(ok.code).toBe(0);
    writeFileSync(join(project, "bad.ts"), BAD);
    try {
      const bad = sh(process.execPath, [tsc, "-p", "."], project);
      expect(bad.code).not.toBe(0);
      expect(bad.out).toMatch(/bad\.ts\(2,\d+\): error TS2345/);
    } finally {
      renameSync(join(project, "bad.ts"), join(work, "bad.ts"));
    }
  });

  it("npx vnfrun runs it from gen to sink and counts every packet", () => {
    const s = JSON.parse(must("npx", ["vnfrun", "fw.ts", "--port", "gen:count=100000", "--port", "sink", "--json"], project));
    expect(s.ports.map((p: any) => [p.name, p.rx_packets, p.tx_packets])).toEqual([["in", 100000, 0], ["out", 0, 100000]]);
    expect(Object.values(s.drops).every((n) => n === 0)).toBe(true);
    expect(must("npx", ["vnfrun", "--version"], project).trim()).toBe(require("../package.json").version);
  });

  it("vnfrun/test works from the package under node --test: packets built, a VNF run through the prebuilt engine", () => {
    writeFileSync(join(project, "harness.test.mjs"), `import { test } from "node:test";
import { createRequire } from "node:module";
const { pkt, runVnf, assertPacket } = createRequire(import.meta.url)("vnfrun/test");
const fwd = { ports: ["in", "out"], process(b) { for (let i = 0; i < b.count; i++) b.verdicts[i] = 2; } };
test("through the engine", async () => {
  const p = pkt.eth().ipv4().tcp({ dport: 443 }).payload("hi");
  const r = await runVnf(fwd, { in: [p, p] });
  if (r.verdicts.join() !== "out,out" || r.engine.ports.out.tx_packets !== 2) throw new Error(JSON.stringify(r.verdicts));
  assertPacket(r.out.out[1], p);
});
`);
    const r = sh(process.execPath, ["--test", "harness.test.mjs"], project);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/^# pass 1$/m);
  });

  it("the shipped examples run from where they were installed", () => {
    const s = JSON.parse(must("npx", ["vnfrun", "node_modules/vnfrun/vnfs/l2fwd.ts", "--port", "gen:count=1000", "--port", "sink", "--json"], project));
    expect(s.ports[1].tx_packets).toBe(1000);
  });

  describe("when the engine cannot be had", () => {
    const prebuilds = join(installed, "prebuilds");
    const aside = join(work, "prebuilds-aside");
    const oneLine = (text: string) => text.trim().split("\n").filter((l) => l.trim());

    it("no prebuild for the platform and no compiler: one line naming the platform and how to build", () => {
      renameSync(prebuilds, aside);
      try {
        const r = sh("npx", ["vnfrun", "fw.ts", "--port", "gen:count=10", "--port", "sink"], project);
        expect(r.code).not.toBe(0);
        expect(oneLine(r.err)).toHaveLength(1);
        expect(r.err).toMatch(/^vnfrun: no native engine for linux-x64 \(glibc [\d.]+\): .*apt-get install g\+\+ make python3.*npm rebuild vnfrun/);
        // npm rebuild runs the install script: it says the same and which tool is missing.
        const rb = sh("npm", ["rebuild", "vnfrun"], project);
        expect(rb.code).not.toBe(0);
        const ours = (rb.out + rb.err).split("\n").filter((l) => l.includes("vnfrun: "));
        expect(ours).toHaveLength(1);
        expect(ours[0]).toMatch(/no native engine for linux-x64 .*missing here: C\+\+ compiler \(false\)/);
      } finally {
        renameSync(aside, prebuilds);
      }
    });

    it("an addon that does not load: one line naming the file and the loader's reason, no stack", () => {
      const dir = join(prebuilds, "linux-x64");
      const file = join(dir, readdirSync(dir)[0]);
      renameSync(file, join(work, "engine.node"));
      try {
        writeFileSync(file, "this is not an ELF file");
        chmodSync(file, 0o755);
        const r = sh("npx", ["vnfrun", "fw.ts", "--port", "gen:count=10", "--port", "sink"], project);
        expect(r.code).not.toBe(0);
        expect(oneLine(r.err)).toHaveLength(1);
        expect(r.err).toContain(`cannot load the native engine ${file}: `);
        expect(r.err).toMatch(/invalid ELF header|file too short/);
        expect(r.err).not.toMatch(/^\s+at /m);
      } finally {
        renameSync(join(work, "engine.node"), file);
      }
    });
  });

  // Last: it leaves a source build in the installed package, which then loads first.
  it("the advice works: with a compiler, npm rebuild vnfrun --build-from-source builds an engine that runs the VNF", () => {
    must("npm", ["rebuild", "vnfrun", "--build-from-source"], project, packEnv);
    expect(existsSync(join(installed, "build", "Release", "vnfrun.node"))).toBe(true);
    const s = JSON.parse(must("npx", ["vnfrun", "fw.ts", "--port", "gen:count=1000", "--port", "sink", "--json"], project));
    expect(s.ports[1].tx_packets).toBe(1000);
  }, 600_000);
});
