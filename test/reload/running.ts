// A vnfrun in the background for the reload tests: its stderr read line by
// line, and ways to wait for it.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { runtimeDir } from "../../runtime/instance";
import { ROOT } from "./vnf-version";

export const CLI = join(ROOT, "bin", "vnfrun.js");

export class Running {
  readonly proc: ChildProcess;
  lines: string[] = [];
  stdout = "";
  exited: Promise<number | null>;
  constructor(args: string[]) {
    this.proc = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let partial = "";
    this.proc.stderr!.on("data", (d) => {
      const parts = (partial + d).split("\n");
      partial = parts.pop()!;
      this.lines.push(...parts);
    });
    this.proc.stdout!.on("data", (d) => (this.stdout += d));
    this.exited = new Promise((res) => this.proc.on("exit", (code) => res(code)));
  }
  /** The first line from index `from` on matching `re`; waits for it. */
  async waitFor(re: RegExp, from: number, ms = 15_000): Promise<string> {
    const until = Date.now() + ms;
    for (;;) {
      const hit = this.lines.slice(from).find((l) => re.test(l));
      if (hit) return hit;
      if (Date.now() > until) throw new Error(`no line matching ${re} within ${ms} ms; stderr so far:\n${this.lines.join("\n")}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  /** Resolves once the run is up: its control socket exists. */
  async up(ms = 15_000): Promise<void> {
    const sock = join(runtimeDir(), String(this.proc.pid), "control.sock"), until = Date.now() + ms;
    while (!existsSync(sock)) {
      if (Date.now() > until) throw new Error(`vnfrun did not come up within ${ms} ms:\n${this.lines.join("\n")}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  async stop(): Promise<any> {
    this.proc.kill("SIGINT");
    const code = await this.exited;
    if (code !== 0) throw new Error(`vnfrun exited ${code}: ${this.lines.join("\n")}`);
    return JSON.parse(this.stdout);
  }
}

