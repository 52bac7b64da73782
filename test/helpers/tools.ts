// What the tests need from outside: tools on PATH, and running the CLI.
import { spawnSync } from "node:child_process";
import { join } from "node:path";

export const ROOT = join(__dirname, "..", "..");

export function hasTool(name: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" }).status === 0;
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
