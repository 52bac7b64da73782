// npm run prebuild (and prepack): the linux N-API addon that ships in the
// package's prebuilds/, made by prebuildify from the current native sources.
// It builds in a scratch copy, so the checkout's build/ (which node-gyp-build
// loads before prebuilds/) is never touched, and without netmap, which needs
// a build from source with netmap's headers.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const scratch = mkdtempSync(join(tmpdir(), "vnfrun-prebuild-"));
try {
  for (const f of ["binding.gyp", "package.json", "native"]) cpSync(join(root, f), join(scratch, f), { recursive: true });
  symlinkSync(join(root, "node_modules"), join(scratch, "node_modules"));
  rmSync(join(root, "prebuilds"), { recursive: true, force: true });

  const env = { ...process.env };
  delete env.NETMAP_SRC;
  delete env.NETMAP_INCLUDE;
  // The running node's own headers, where it has them: no download from nodejs.org.
  const nodedir = dirname(dirname(process.execPath));
  if (existsSync(join(nodedir, "include", "node", "node_api.h"))) env.npm_config_nodedir = nodedir;
  const args = [join(root, "node_modules", "prebuildify", "bin.js"), "--napi", "--strip", "--tag-libc", "--target", process.version, "--out", root];
  // npm names its own node-gyp; prebuildify would otherwise look for one on PATH.
  if (env.npm_config_node_gyp) args.push("--node-gyp", env.npm_config_node_gyp);
  try {
    execFileSync(process.execPath, args, { cwd: scratch, env, stdio: ["ignore", "ignore", "inherit"] });
  } catch {
    console.error("prebuild: prebuildify failed (its output is above); the package would ship without an engine");
    process.exit(1);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

// The newest symbol version a binary asks for, e.g. "2.34" of GLIBC_2.34.
const newest = (bytes, prefix) => [...bytes.toString("latin1").matchAll(new RegExp(`${prefix}_([\\d.]+)`, "g"))]
  .map((m) => m[1]).sort((a, b) => a.localeCompare(b, undefined, { numeric: true })).pop();
for (const dir of readdirSync(join(root, "prebuilds"))) {
  for (const f of readdirSync(join(root, "prebuilds", dir))) {
    const bytes = readFileSync(join(root, "prebuilds", dir, f));
    console.log(`prebuilds/${dir}/${f}: node ${process.version}; needs glibc ${newest(bytes, "GLIBC")}, libstdc++ GLIBCXX_${newest(bytes, "GLIBCXX")}`);
  }
}
