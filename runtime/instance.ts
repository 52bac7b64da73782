// A running vnfrun's control endpoint: a unix socket in a per-user runtime
// directory, named by pid and, with --name, by name too. `vnfrun reload`
// finds it there. One JSON line in, one JSON line out.
import { chmodSync, existsSync, readdirSync, lstatSync, mkdirSync, readlinkSync, symlinkSync, unlinkSync } from "node:fs";
import { createConnection, createServer, type Server } from "node:net";
import { join } from "node:path";

export class InstanceError extends Error {}

const ROOT_DIR = "/run/vnfrun";

/** Where this user's instances keep their sockets. */
export function runtimeDir(uid = process.getuid?.() ?? 0): string {
  if (uid === 0) return ROOT_DIR;
  const xdg = process.env.XDG_RUNTIME_DIR;
  return xdg ? join(xdg, "vnfrun") : `/tmp/vnfrun-${uid}`;
}

export interface ControlRequest { op: "reload"; vnf?: string; rollback?: boolean }

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function checkName(name: string): string {
  if (!NAME.test(name) || /^\d+$/.test(name))
    throw new InstanceError(`--name ${name}: use letters, digits, '.', '_' or '-' (not only digits: those are pids), up to 64`);
  return name;
}

/** Listens as `<dir>/<pid>.sock` (and `<name>.sock` with a name). */
export async function serveInstance(name: string | undefined, handle: (req: ControlRequest) => Promise<unknown>): Promise<{ close(): void }> {
  const dir = runtimeDir();
  // Others may see that root's instances exist (and are told so); only the
  // owner may connect (the socket is 0600).
  mkdirSync(dir, { recursive: true, mode: dir === ROOT_DIR ? 0o755 : 0o700 });
  sweep(dir);
  const path = join(dir, `${process.pid}.sock`);
  const alias = name ? join(dir, `${name}.sock`) : undefined;
  if (alias && existsSync(alias)) {
    if (await answers(alias)) throw new InstanceError(`an instance named ${name} is already running (${readlinkSync(alias).replace(/\.sock$/, "")}): choose another --name`);
    unlinkSync(alias);   // left by an instance that was killed
  }
  rmSock(path);
  const server: Server = createServer((sock) => {
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
      handle(req).then(
        (r) => sock.end(JSON.stringify(r) + "\n"),
        (e) => sock.end(JSON.stringify({ ok: false, error: (e as Error).message }) + "\n"));
    });
    sock.on("error", () => {});
  });
  await new Promise<void>((res, rej) => { server.once("error", rej); server.listen(path, () => res()); });
  chmodSync(path, 0o600);
  server.unref();   // the run, not the socket, decides when the process ends
  if (alias) symlinkSync(`${process.pid}.sock`, alias);
  const close = () => {
    server.close();
    rmSock(path);
    if (alias && isLinkTo(alias, `${process.pid}.sock`)) rmSock(alias);
  };
  process.once("exit", close);
  return { close: () => { process.off("exit", close); close(); } };
}

/** Sends `req` to the instance named or numbered `target`; returns its answer. */
export async function requestInstance(target: string, req: ControlRequest): Promise<any> {
  const path = join(runtimeDir(), `${target}.sock`);
  if (!existsSync(path)) {
    const theirs = join(ROOT_DIR, `${target}.sock`);
    if (process.getuid?.() !== 0 && existsSync(theirs))
      throw new InstanceError(`instance ${target} belongs to another user (root): run vnfrun reload as that user`);
    throw new InstanceError(`no running vnfrun instance ${target} (looked for ${path}); start one with --name ${target}, or give its pid`);
  }
  return new Promise((resolve, reject) => {
    const sock = createConnection(path);
    let text = "";
    sock.setEncoding("utf8");
    sock.on("connect", () => sock.write(JSON.stringify(req) + "\n"));
    sock.on("data", (d) => (text += d));
    sock.on("end", () => {
      try { resolve(JSON.parse(text)); } catch { reject(new InstanceError(`instance ${target} gave no answer`)); }
    });
    sock.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "ECONNREFUSED" || e.code === "ENOENT") reject(new InstanceError(`instance ${target} is not running any more (its socket ${path} is stale)`));
      else if (e.code === "EACCES") reject(new InstanceError(`instance ${target} belongs to another user: run vnfrun reload as that user`));
      else reject(new InstanceError(`instance ${target}: ${e.message}`));
    });
  });
}

// Sockets of runs that were killed (SIGKILL leaves them), and names that
// point at them.
function sweep(dir: string): void {
  for (const f of readdirSync(dir)) {
    const pid = /^(\d+)\.sock$/.exec(f)?.[1];
    if (pid && !alive(Number(pid))) rmSock(join(dir, f));
    else if (!pid && f.endsWith(".sock") && !existsSync(join(dir, f))) rmSock(join(dir, f));   // a dangling name
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function answers(path: string): Promise<boolean> {
  return new Promise((res) => {
    const s = createConnection(path);
    s.on("connect", () => { s.destroy(); res(true); });
    s.on("error", () => res(false));
  });
}

function isLinkTo(path: string, target: string): boolean {
  try { return lstatSync(path).isSymbolicLink() && readlinkSync(path) === target; } catch { return false; }
}

function rmSock(path: string): void {
  try { unlinkSync(path); } catch { /* not there */ }
}
