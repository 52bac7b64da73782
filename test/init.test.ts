// vnfrun init: a starter project that passes its own tests. It is installed
// offline against this checkout (file: links to the repository and to its
// vitest, which is what `npm install vnfrun` gives a user, without the
// registry) and its `npm test` runs.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stripVTControlCharacters } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT, vnfrun } from "./helpers/tools";
import { readCapture } from "../runtime/harness";

const dir = mkdtempSync(join(tmpdir(), "vnfrun-init-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cli = (args: string[]) => spawnSync(process.execPath, [join(ROOT, "bin/vnfrun.js"), ...args], { cwd: dir, encoding: "utf8", timeout: 60_000 });
// NO_COLOR and no FORCE_COLOR: the child vitest's summary is read as plain text.
const plainEnv = { ...process.env, VNFRUN_UPDATE_GOLDEN: "", NO_COLOR: "1", FORCE_COLOR: undefined };
const npm = (args: string[], cwd: string) => {
  const r = spawnSync("npm", args, { cwd, encoding: "utf8", timeout: 180_000, env: plainEnv });
  return { ...r, stdout: stripVTControlCharacters(r.stdout ?? ""), stderr: stripVTControlCharacters(r.stderr ?? "") };
};

describe("vnfrun init", () => {
  it("makes a project that installs offline and passes its npm test; a broken VNF fails it with the field that changed", () => {
    const r = cli(["init", "edge-fw"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^created edge-fw\/: \.gitignore, README\.md, package\.json, src\/edge-fw\.ts, test\/edge-fw\.test\.ts, test\/golden\/edge-fw\.pcap, tsconfig\.json$/m);
    expect(r.stdout).toMatch(/next:\n {2}cd edge-fw\n {2}npm install\n {2}npm test/);
    const p = join(dir, "edge-fw");
    const pkg = JSON.parse(readFileSync(join(p, "package.json"), "utf8"));
    expect(pkg.scripts).toEqual({ start: "vnfrun src/edge-fw.ts", test: "vitest run" });
    expect(pkg.dependencies.vnfrun).toBe(`^${JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version}`);
    expect(readCapture(join(p, "test/golden/edge-fw.pcap"))).toHaveLength(2);
    expect(readFileSync(join(p, "test/edge-fw.test.ts"), "utf8")).toContain('from "vnfrun/test"');

    pkg.dependencies.vnfrun = `file:${ROOT}`;
    pkg.devDependencies.vitest = `file:${join(ROOT, "node_modules", "vitest")}`;
    writeFileSync(join(p, "package.json"), JSON.stringify(pkg, null, 2));
    const t0 = performance.now();
    const inst = npm(["install", "--offline", "--no-audit", "--no-fund"], p);
    const installMs = performance.now() - t0;
    expect(inst.status, inst.stderr).toBe(0);
    const t1 = performance.now();
    const test = npm(["test"], p);
    console.log(`vnfrun init: npm install ${installMs.toFixed(0)} ms, npm test ${(performance.now() - t1).toFixed(0)} ms`);
    expect(test.status, test.stdout + test.stderr).toBe(0);
    expect(test.stdout).toMatch(/Tests\s+4 passed \(4\)/);

    // The tests can fail: a VNF that stops decrementing the TTL.
    const src = join(p, "src/edge-fw.ts");
    writeFileSync(src, readFileSync(src, "utf8").replace("ip.decrementTtl();", ""));
    const broken = npm(["test"], p);
    expect(broken.status).not.toBe(0);
    expect(broken.stdout + broken.stderr).toContain("ipv4.ttl: expected 63, got 64");
    expect(broken.stdout + broken.stderr).toMatch(/edge-fw\.pcap: frame 1 of 2 differs/);
  }, 300_000);

  it("refuses a folder that is not empty unless --force, and a name npm would refuse", () => {
    const p = join(dir, "busy");
    mkdirSync(p);
    writeFileSync(join(p, "notes.txt"), "mine");
    const r = cli(["init", "busy"]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe("vnfrun: busy: the folder is not empty; pick another name, or add --force to write the starter files into it (files of the same name are replaced)");
    expect(existsSync(join(p, "package.json"))).toBe(false);
    expect(cli(["init", "busy", "--force"]).status).toBe(0);
    expect(readFileSync(join(p, "notes.txt"), "utf8")).toBe("mine");
    expect(existsSync(join(p, "src/busy.ts"))).toBe(true);
    const bad = vnfrun(["init", join(dir, "My Firewall")]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/name the project in lower case/);
  });
});
