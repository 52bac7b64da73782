// What the tests need from outside: tools on PATH, and running the CLI.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

export const ROOT = join(__dirname, "..", "..");

export function hasTool(name: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" }).status === 0;
}

// Debian package -> a shell check that it is installed (npm run test:tools installs them).
const PACKAGES = JSON.parse(readFileSync(join(ROOT, "test", "tools.json"), "utf8")) as Record<string, string>;

/** Which of these Debian packages (names in test/tools.json) are missing here. */
export function missingPackages(...pkgs: string[]): string[] {
  return pkgs.filter((p) => {
    if (!(p in PACKAGES)) throw new Error(`test/tools.json has no package ${p}`);
    return spawnSync("sh", ["-c", PACKAGES[p]], { stdio: "ignore" }).status !== 0;
  });
}

/** What to install for a test that needs these packages, or "" when all are here. */
export function installHint(pkgs: string[]): string {
  return pkgs.length ? `needs ${pkgs.join(", ")}: npm run test:tools (as root), or apt-get install ${pkgs.join(" ")}` : "";
}

/** For a test's title: "" when the packages are here, else " (skipped: needs ...: npm run test:tools ...)". */
export function needs(...pkgs: string[]): string {
  const hint = installHint(missingPackages(...pkgs));
  return hint ? ` (skipped: ${hint})` : "";
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `vnfrun ARGS` as a user would (bin/vnfrun.js). */
export function vnfrun(args: string[], opts: { timeoutMs?: number } = {}): CliResult {
  const r = spawnSync(process.execPath, [join(ROOT, "bin/vnfrun.js"), ...args], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: opts.timeoutMs ?? 60_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Run vnfrun with --json and return the parsed summary (throws with stderr on failure). */
export function vnfrunJson(args: string[]): any {
  const r = vnfrun([...args, "--json"]);
  if (r.code !== 0) throw new Error(`vnfrun ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}
