// Runs once before the suite: makes sure the addon and dist/ are built and
// the outside tools the end-to-end tests use are installed (as root, with
// apt-get; tests that need a missing tool skip and say why).
import { execFileSync, execSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { hasTool } from "../helpers/tools";

const root = join(__dirname, "..", "..");
const APT_TOOLS: Record<string, string> = { tshark: "tshark" };

export default function setup(): void {
  if (!existsSync(join(root, "build/Release/vnfrun.node"))) execSync("npx node-gyp rebuild", { cwd: root, stdio: "inherit" });
  execFileSync(process.execPath, [join(root, "runtime/build.mjs")], { cwd: root, stdio: "inherit" });

  const missing = Object.keys(APT_TOOLS).filter((t) => !hasTool(t));
  if (missing.length === 0 || process.getuid?.() !== 0) return;
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  try {
    execSync("apt-get update -qq", { stdio: "inherit", env });
    execSync(`apt-get install -y -qq ${missing.map((t) => APT_TOOLS[t]).join(" ")}`, { stdio: "inherit", env });
  } catch {
    console.warn(`could not install ${missing.join(", ")}; tests that need them will skip`);
  }
}
