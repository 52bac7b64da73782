// npm's install step. Uses the engine that is already here, by node-gyp-build's
// rule (build/Release, else prebuilds/ for this platform), and compiles only
// when none loads or the user asks (npm install --build-from-source). So a
// second run, as npx does when it re-installs the project, changes nothing
// and never touches build/.
"use strict";
const { spawnSync } = require("node:child_process");
const { join } = require("node:path");
const { locate, missingLine, failedLine } = require("./locate");

const root = join(__dirname, "..");

function works(cmd) {
  return spawnSync(`${cmd} --version`, { shell: true, stdio: "ignore" }).status === 0;
}

/** Why `file` does not load here, or null when it does. */
function loadError(file) {
  try {
    require(file);
    return null;
  } catch (e) {
    return e;
  }
}

const asked = process.env.npm_config_build_from_source === "true";
const found = asked ? null : locate(root);
const failed = found && loadError(found);
if (found && !failed) process.exit(0);

const missing = [["C++ compiler", process.env.CXX || "c++"], ["make", "make"], ["python3", process.env.PYTHON || "python3"]]
  .filter(([, cmd]) => !works(cmd)).map(([what, cmd]) => `${what} (${cmd})`);
const problem = failed ? failedLine(root, found, failed) : asked ? "cannot build from source as asked: apt-get install g++ make python3" : missingLine(root);
if (missing.length) {
  console.error(`vnfrun: ${problem}; missing here: ${missing.join(", ")}`);
  process.exit(1);
}
if (failed) console.error(`vnfrun: ${problem}; building from source now`);

// npm names its own node-gyp in npm_config_node_gyp; elsewhere it is on PATH.
const gyp = process.env.npm_config_node_gyp;
const r = gyp
  ? spawnSync(process.execPath, [gyp, "rebuild"], { cwd: root, stdio: "inherit" })
  : spawnSync("node-gyp rebuild", { cwd: root, stdio: "inherit", shell: true });
process.exit(r.status ?? 1);
