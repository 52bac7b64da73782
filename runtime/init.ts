// vnfrun init NAME: a new project from templates/init, its files named after
// NAME; a golden capture of what the starter VNF puts out for its test's
// traffic, so the project's own `npm test` passes from the start.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";
import { runVnf } from "./harness/run-vnf";
import { pkt } from "./harness/packet";
import { writeCapture } from "./harness/pcap-file";

import { UserError } from "./user-error";

export class InitError extends UserError {}

const ROOT = join(__dirname, "..");
const TEMPLATE = join(ROOT, "templates", "init");

export interface InitOptions { force?: boolean; vnfrun?: string }

/** Creates the project; returns what to print. */
export async function init(target: string, opts: InitOptions = {}): Promise<string> {
  const dir = resolve(target);
  const name = basename(dir);
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(name) || name.length > 100)
    throw new InitError(`${target}: name the project in lower case, digits, ".", "_" or "-" (it is the npm package name and the VNF's file name)`);
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new InitError(`${target}: exists and is not a folder`);
  if (existsSync(dir) && readdirSync(dir).length && !opts.force)
    throw new InitError(`${target}: the folder is not empty; pick another name, or add --force to write the starter files into it (files of the same name are replaced)`);
  mkdirSync(dir, { recursive: true });
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string; devDependencies: Record<string, string> };
  const fill = (text: string) => text.replaceAll("__NAME__", name)
    .replaceAll("__VNFRUN__", opts.vnfrun ?? `^${pkg.version}`).replaceAll("__VITEST__", pkg.devDependencies.vitest);
  const made: string[] = [];
  const copy = (from: string, to: string) => {
    for (const e of readdirSync(from, { withFileTypes: true })) {
      // npm pack drops files named .gitignore: the template keeps it as gitignore.
      const out = join(to, fill(e.name === "gitignore" ? ".gitignore" : e.name));
      if (e.isDirectory()) { mkdirSync(out, { recursive: true }); copy(join(from, e.name), out); continue; }
      writeFileSync(out, fill(readFileSync(join(from, e.name), "utf8")));
      made.push(relative(dir, out));
    }
  };
  copy(TEMPLATE, dir);
  const golden = join(dir, "test", "golden", `${name}.pcap`);
  writeCapture(golden, await starterGolden(join(dir, "src", `${name}.ts`)));
  made.push(relative(dir, golden));
  const cd = relative(process.cwd(), dir) || ".";
  return [
    `created ${cd}/: ${made.sort().join(", ")}`,
    "next:",
    ...(cd === "." ? [] : [`  cd ${cd}`]),
    "  npm install",
    "  npm test                     # its tests run it through vnfrun's engine, in-process",
    `  npx vnfrun src/${name}.ts     # generated traffic in, a sink out, a live rate line`,
    "",
  ].join("\n");
}

/** The starter VNF's output for its golden test's traffic (test/NAME.test.ts
 *  builds the same frames), run through the engine now, so the golden file
 *  is the real output, not a copy of the expectation. */
async function starterGolden(vnfFile: string): Promise<Uint8Array[]> {
  const traffic = [
    pkt.eth().ipv4({ src: "10.0.0.1", dst: "10.0.0.2" }).tcp({ sport: 40000, dport: 443, flags: "PA", ack: 1 }).payload("hello"),
    pkt.eth().ipv4({ src: "10.0.0.1", dst: "10.0.0.2" }).tcp({ sport: 40001, dport: 23 }),
    pkt.eth().ipv4({ src: "10.0.0.1", dst: "10.0.0.2", ttl: 1 }).udp({ dport: 53 }).payload(12),
    pkt.eth().ipv6({ src: "2001:db8::1", dst: "2001:db8::2" }).udp({ sport: 5000, dport: 5001 }).payload("v6"),
  ];
  // The starter imports "vnfrun/sdk", which resolves to this package until
  // the project has its own node_modules.
  const r = await runVnf(vnfFile, { in: traffic });
  return r.out.out;
}
