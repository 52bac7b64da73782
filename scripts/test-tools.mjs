// npm run test:tools: installs the Debian packages the end-to-end tests use
// (test/tools.json: package -> a shell check that it is there). `npm test`
// never installs anything; a test whose tool is missing skips and names it.
import { execSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const checks = JSON.parse(readFileSync(join(root, "test", "tools.json"), "utf8"));
const missing = Object.keys(checks).filter((pkg) => spawnSync("sh", ["-c", checks[pkg]], { stdio: "ignore" }).status !== 0);
if (missing.length === 0) {
  console.log(`test tools: all ${Object.keys(checks).length} packages present`);
  process.exit(0);
}
if (process.getuid?.() !== 0) {
  console.error(`test tools: missing ${missing.join(" ")}; run as root, or: sudo apt-get install ${missing.join(" ")}`);
  process.exit(1);
}
const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
execSync("apt-get update -qq", { stdio: "inherit", env });
execSync(`apt-get install -y -qq --no-install-recommends ${missing.join(" ")}`, { stdio: "inherit", env });
console.log(`test tools: installed ${missing.join(" ")}`);
