// A running vnfrun's directory, found by pid or by --name:
//   <runtime dir>/<pid>/control.sock   `vnfrun reload` talks to it (one JSON line each way)
//   <runtime dir>/<pid>/counters       the engine's counters, mapped shared (native/counters.h)
//   <runtime dir>/<pid>/info.json      what a reader needs: the VNF, ports, lanes, counter names
//   <runtime dir>/<name> -> <pid>      with --name
// The runtime dir is /run/vnfrun for root, else $XDG_RUNTIME_DIR/vnfrun or
// /tmp/vnfrun-<uid>. A killed run's directory is removed by the next run or
// `vnfrun ps`.
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { UserError } from "./user-error";

export class InstanceError extends UserError {}

const ROOT_DIR = "/run/vnfrun";

/** Where this user's instances live. */
export function runtimeDir(uid = process.getuid?.() ?? 0): string {
  if (uid === 0) return ROOT_DIR;
  const xdg = process.env.XDG_RUNTIME_DIR;
  return xdg ? join(xdg, "vnfrun") : `/tmp/vnfrun-${uid}`;
}

export type ControlRequest =
  | { op: "reload"; vnf?: string; rollback?: boolean }
  | { op: "trace"; causes?: string[]; port?: string; count?: number; passed?: boolean };

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function checkName(name: string): string {
  if (!NAME.test(name) || /^\d+$/.test(name))
    throw new InstanceError(`--name ${name}: use letters, digits, '.', '_' or '-' (not only digits: those are pids), up to 64`);
  return name;
}

export interface Instance {
  dir: string;
  countersFile: string;
  writeInfo(info: object): void;
  writeFile(name: string, value: object): void;   // JSON beside info.json, whole or not at all
  /** `handle` answers with one line, or, returning undefined, keeps the socket (a trace). */
  serve(handle: (req: ControlRequest, sock: Socket) => Promise<unknown>): Promise<void>;
  close(): void;
}

/** Makes this run's directory (and its name). */
export async function openInstance(name: string | undefined): Promise<Instance> {
  const root = runtimeDir();
  // Others may see that root's instances exist (and are told whose they
  // are); only the owner may look inside.
  mkdirSync(root, { recursive: true, mode: root === ROOT_DIR ? 0o755 : 0o700 });
  sweep(root);
  const dir = join(root, String(process.pid));
  const alias = name ? join(root, name) : undefined;
  if (alias && existsSync(alias)) {
    if (await answers(join(alias, "control.sock"))) throw new InstanceError(`an instance named ${name} is already running (pid ${readlinkSync(alias)}): choose another --name`);
    rmSync(alias, { force: true });   // left by an instance that was killed
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { mode: 0o700 });
  if (alias) symlinkSync(String(process.pid), alias);
  let server: Server | undefined;
  const close = () => {
    server?.close();
    if (alias && isLinkTo(alias, String(process.pid))) rmSync(alias, { force: true });
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", close);
  return {
    dir,
    countersFile: join(dir, "counters"),
    writeInfo: (info: object) => writeWhole(join(dir, "info.json"), { pid: process.pid, name, ...info }),
    writeFile: (file: string, value: object) => writeWhole(join(dir, file), value),
    async serve(handle) {
      server = createServer((sock) => {
        let text = "";
        sock.setEncoding("utf8");
        sock.on("data", (d) => {
          text += d;
          if (!text.includes("\n")) return;
          let req: ControlRequest;
          try {
            req = JSON.parse(text);
          } catch {
            sock.end(JSON.stringify({ ok: false, error: "not a JSON request" }) + "\n");
            return;
          }
          sock.removeAllListeners("data");
          handle(req, sock).then(
            (r) => { if (r !== undefined) sock.end(JSON.stringify(r) + "\n"); },
            (e) => sock.end(JSON.stringify({ ok: false, error: (e as Error).message }) + "\n"));
        });
        sock.on("error", () => {});
      });
      const path = join(dir, "control.sock");
      await new Promise<void>((res, rej) => { server!.once("error", rej); server!.listen(path, () => res()); });
      chmodSync(path, 0o600);
      server.unref();   // the run, not the socket, decides when the process ends
    },
    close: () => { process.off("exit", close); close(); },
  };
}

// Whole or not at all, for readers: written aside, then renamed.
function writeWhole(path: string, value: object): void {
  writeFileSync(`${path}.new`, JSON.stringify(value, null, 1));
  renameSync(`${path}.new`, path);
}

/** The directory of the instance named or numbered `target` (one-line errors). */
export function findInstance(target: string): string {
  const dir = join(runtimeDir(), target);
  if (existsSync(join(dir, "info.json")) && alive(Number(readlinkOr(dir)))) return dir;
  if (process.getuid?.() !== 0 && existsSync(join(ROOT_DIR, target)))
    throw new InstanceError(`instance ${target} belongs to another user (root): run this as that user`);
  throw new InstanceError(`no running vnfrun instance ${target} in ${runtimeDir()}; start one with --name ${target}, or give its pid (vnfrun ps lists them)`);
}

/** Sends `req` to the instance named or numbered `target`; returns its answer. */
export async function requestInstance(target: string, req: ControlRequest): Promise<any> {
  return new Promise((resolve, reject) => {
    const sock = connectInstance(target);
    let text = "";
    sock.setEncoding("utf8");
    sock.on("connect", () => sock.write(JSON.stringify(req) + "\n"));
    sock.on("data", (d) => (text += d));
    sock.on("end", () => {
      try { resolve(JSON.parse(text)); } catch { reject(new InstanceError(`instance ${target} gave no answer`)); }
    });
    sock.on("error", (e) => reject(connectError(target, e)));
  });
}

/** A connection to the instance's control socket (errors: connectError). */
export function connectInstance(target: string): Socket {
  return createConnection(join(findInstance(target), "control.sock"));
}

export function connectError(target: string, e: NodeJS.ErrnoException): InstanceError {
  if (e.code === "ECONNREFUSED" || e.code === "ENOENT") return new InstanceError(`instance ${target} is not taking requests (still starting, or ending)`);
  if (e.code === "EACCES") return new InstanceError(`instance ${target} belongs to another user: run this as that user`);
  return new InstanceError(`instance ${target}: ${e.message}`);
}

export interface InstanceInfo { pid: number; name?: string; dir: string; [k: string]: unknown }

/** This user's running instances (and removes what killed ones left). */
export function listInstances(): InstanceInfo[] {
  const root = runtimeDir();
  if (!existsSync(root)) return [];
  sweep(root);
  const out: InstanceInfo[] = [];
  for (const f of readdirSync(root)) {
    if (!/^\d+$/.test(f)) continue;
    try {
      out.push({ ...JSON.parse(readFileSync(join(root, f, "info.json"), "utf8")), dir: join(root, f) });
    } catch { /* starting, or not ours to read */ }
  }
  return out.sort((a, b) => a.pid - b.pid);
}

// Directories of runs that were killed (SIGKILL leaves them), and names
// that point at them.
function sweep(root: string): void {
  for (const f of readdirSync(root)) {
    const path = join(root, f);
    if (/^\d+$/.test(f)) {
      if (!alive(Number(f))) rmSync(path, { recursive: true, force: true });
    } else if (isLink(path) && !existsSync(path)) rmSync(path, { force: true });
  }
}

function alive(pid: number): boolean {
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readlinkOr(path: string): string {
  return isLink(path) ? readlinkSync(path) : path.split("/").pop()!;
}

function answers(path: string): Promise<boolean> {
  return new Promise((res) => {
    const s = createConnection(path);
    s.on("connect", () => { s.destroy(); res(true); });
    s.on("error", () => res(false));
  });
}

function isLink(path: string): boolean {
  try { return lstatSync(path).isSymbolicLink(); } catch { return false; }
}

function isLinkTo(path: string, target: string): boolean {
  return isLink(path) && readlinkSync(path) === target;
}

