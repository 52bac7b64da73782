// Runs once before the suite: builds what the tests load. The addon is
// rebuilt when a native source is newer than it (npm install no longer
// compiles when an engine is already there); dist/ is rebuilt every time
// (esbuild, a fraction of a second). Nothing is installed here: outside tools
// come from `npm run test:tools`, and a test without its tool skips, naming it.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const root = join(__dirname, "..", "..");
const addon = join(root, "build", "Release", "vnfrun.node");

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) { if (e.name !== "test") newest = Math.max(newest, newestSource(p)); }
    else if (/\.(cc|h)$/.test(e.name)) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

export default function setup(): void {
  const stale = !existsSync(addon) || Math.max(newestSource(join(root, "native")), statSync(join(root, "binding.gyp")).mtimeMs) > statSync(addon).mtimeMs;
  if (stale) {
    execFileSync(process.execPath, [join(root, "native", "install.js")], {
      cwd: root, stdio: "inherit", env: { ...process.env, npm_config_build_from_source: "true" },
    });
  }
  execFileSync(process.execPath, [join(root, "runtime/build.mjs")], { cwd: root, stdio: "inherit" });
}
