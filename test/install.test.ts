// The install step in a checkout that already has an engine: what npx re-runs
// each time it re-installs the project. It must keep the engine it finds,
// compile nothing and leave build/ exactly as it was. CXX=false turns any
// attempt to compile into a failure.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./helpers/tools";

function snapshot(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? snapshot(p) : [`${p} ${statSync(p).size} ${statSync(p).mtimeMs}`];
  }).sort();
}

function install(extra: NodeJS.ProcessEnv) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("npm_")));
  const r = spawnSync(process.execPath, [join(ROOT, "native", "install.js")], { cwd: ROOT, encoding: "utf8", env: { ...env, CXX: "false", ...extra } });
  return { code: r.status, out: r.stdout + r.stderr };
}

describe("the install step with an engine present", () => {
  it("keeps it: compiles nothing, says nothing, leaves build/ as it was", () => {
    const before = snapshot(join(ROOT, "build"));
    const r = install({});
    expect(r.out).toBe("");
    expect(r.code).toBe(0);
    expect(snapshot(join(ROOT, "build"))).toEqual(before);
  });

  it("--build-from-source without a compiler: one line saying what is missing, build/ untouched", () => {
    const before = snapshot(join(ROOT, "build"));
    const r = install({ npm_config_build_from_source: "true" });
    expect(r.code).not.toBe(0);
    expect(r.out.trim().split("\n")).toEqual([expect.stringMatching(/^vnfrun: cannot build from source as asked: apt-get install g\+\+ make python3; missing here: C\+\+ compiler \(false\)$/)]);
    expect(snapshot(join(ROOT, "build"))).toEqual(before);
  });
});
