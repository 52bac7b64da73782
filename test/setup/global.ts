// Runs once before the suite: makes sure the addon and dist/ are built and
// the outside tools the end-to-end tests use are installed (as root, with
// apt-get; tests that need a missing tool skip and say why).
import { execFileSync, execSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

const root = join(__dirname, "..", "..");
// A check per package: a command on PATH, or a shell test.
const APT: Record<string, string> = {
  tshark: "command -v tshark",
  "python3-scapy": "/usr/bin/python3 -c 'import scapy.all'",
  iproute2: "command -v ip && command -v ss",
  "iputils-ping": "command -v ping",
  iperf3: "command -v iperf3",
  tcpreplay: "command -v tcpreplay",
  "netcat-openbsd": "command -v nc",
  ethtool: "command -v ethtool",
  procps: "command -v sysctl",
  prometheus: "command -v promtool && command -v prometheus",
  tmux: "command -v tmux",
};

export default function setup(): void {
  if (!existsSync(join(root, "build/Release/vnfrun.node"))) execSync("npx node-gyp rebuild", { cwd: root, stdio: "inherit" });
  execFileSync(process.execPath, [join(root, "runtime/build.mjs")], { cwd: root, stdio: "inherit" });

  const missing = Object.keys(APT).filter((pkg) => spawnSync("sh", ["-c", APT[pkg]], { stdio: "ignore" }).status !== 0);
  if (missing.length === 0 || process.getuid?.() !== 0) return;
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  try {
    execSync("apt-get update -qq", { stdio: "inherit", env });
    execSync(`apt-get install -y -qq ${missing.join(" ")}`, { stdio: "inherit", env });
  } catch {
    console.warn(`could not install ${missing.join(", ")}; tests that need them will skip`);
  }
}
