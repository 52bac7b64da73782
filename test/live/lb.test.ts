// The load balancer between namespaces: clients in A, three backends in B
// (python's http.server, and a TCP sink that hashes what it receives),
// the VIP 10.200.2.100 in between:
//
//   [A 10.200.1.1] --a0/v0-- [V: lb] --v1/b0-- [B: 10.200.2.11 .12 .13 (.14 added later)]
//
// A's gateway and B's route back to A are static neighbours naming the MAC
// across the LB (it is a bump in the wire).
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { canUseNetns, createTopology, whyNoNetns, type Topology } from "../helpers/netns";
import { CLI, missing, quietHosts, sleep, start, succeeds, waitFor } from "./fixtures/live";

const VNF = "vnfs/lb.ts";
const A = "10.200.1.1", GW = "10.200.1.254", VIP = "10.200.2.100", BACK = "10.200.2.254";
const BACKENDS = ["10.200.2.11", "10.200.2.12", "10.200.2.13", "10.200.2.14"];

const ip = (args: string[]): void => { execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] }); };
const macOf = (t: Topology, ns: string, dev: string): string => /link\/ether ([0-9a-f:]+)/.exec(t.exec(ns, ["ip", "link", "show", dev]))![1];

function lbTopology(): Topology {
  const t = createTopology();
  try {
    quietHosts(t);
    ip(["-n", t.a, "addr", "flush", "dev", "a0"]);
    ip(["-n", t.b, "addr", "flush", "dev", "b0"]);
    ip(["-n", t.a, "addr", "add", `${A}/24`, "dev", "a0"]);
    ip(["-n", t.a, "route", "add", "default", "via", GW]);
    ip(["-n", t.a, "neigh", "replace", GW, "lladdr", macOf(t, t.b, "b0"), "dev", "a0", "nud", "permanent"]);
    for (const b of BACKENDS) ip(["-n", t.b, "addr", "add", `${b}/24`, "dev", "b0"]);
    ip(["-n", t.b, "route", "add", "10.200.1.0/24", "via", BACK]);
    ip(["-n", t.b, "neigh", "replace", BACK, "lladdr", macOf(t, t.a, "a0"), "dev", "b0", "nud", "permanent"]);
  } catch (e) {
    t.destroy();
    throw e;
  }
  return t;
}

// A TCP sink per backend: reads to EOF, answers with its name and the sha256 of what came.
const SINK = `
import socket, hashlib, sys, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((sys.argv[1], 9000)); s.listen(16)
def serve(c):
    m = hashlib.sha256()
    while True:
        d = c.recv(65536)
        if not d: break
        m.update(d)
    c.sendall((sys.argv[1] + " " + m.hexdigest() + "\\n").encode()); c.close()
while True:
    c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
`;
// A long-lived stream: ~4 s of random data, then the sink's answer and our own hash.
const STREAM = `
import socket, hashlib, os, sys, time
c = socket.create_connection((sys.argv[1], 9000)); m = hashlib.sha256()
print("up", flush=True)
for i in range(80):
    d = os.urandom(16384); m.update(d); c.sendall(d); time.sleep(0.05)
c.shutdown(socket.SHUT_WR); print(m.hexdigest(), c.makefile().read().strip())
`;

function config(backends: { address: string; weight?: number; state?: string }[]): string {
  return JSON.stringify({ vips: [{ address: VIP, proto: "tcp", backends }] });
}

describe("lb between namespaces", () => {
  const why = missing(canUseNetns, whyNoNetns, ["curl", "python3"]);
  it.skipIf(!!why)(`spreads connections by weight and keeps streams on their backend through add and drain${why ? ` (skipped: ${why})` : ""}`, async () => {
    const t = lbTopology();
    const dir = mkdtempSync(join(tmpdir(), "vnfrun-lb-"));
    const procs: ReturnType<typeof t.spawn>[] = [];
    const name = `lb${t.tag}`;
    try {
      for (const b of BACKENDS) {
        const www = join(dir, b);
        execFileSync("mkdir", ["-p", www]);
        writeFileSync(join(www, "who"), b);
        procs.push(t.spawn(t.b, ["python3", "-m", "http.server", "80", "--bind", b, "--directory", www]));
        procs.push(t.spawn(t.b, ["python3", "-c", SINK, b]));
      }
      const cfgFile = join(dir, "lb.json");
      writeFileSync(cfgFile, config([{ address: BACKENDS[0] }, { address: BACKENDS[1] }, { address: BACKENDS[2], weight: 2 }]));
      const run = start(t, VNF, ["--port", "in=packet:v0", "--port", "out=packet:v1", "--config", cfgFile, "--name", name], 60);
      try {
        await waitFor("the backends", 45_000, () => succeeds(t.b, ["sh", "-c", "ss -ltn | grep -c ':80 ' | grep -q 4 && ss -ltn | grep -c ':9000 ' | grep -q 4"]));
        await waitFor("curl to the VIP", 15_000, () => succeeds(t.a, ["curl", "-s", "--max-time", "1", `http://${VIP}/who`]), run);
        // 400 connections (http.server closes each): shares by weight 1:1:2.
        const urls = Array.from({ length: 400 }, () => `http://${VIP}/who`);
        const got = t.exec(t.a, ["curl", "-s", "--max-time", "60", "-w", "\\n", ...urls], { timeoutMs: 90_000 }).trim().split("\n");
        expect(got.length).toBe(400);
        const share = (b: string): number => got.filter((x) => x === b).length / got.length;
        for (const [b, w] of [[BACKENDS[0], 0.25], [BACKENDS[1], 0.25], [BACKENDS[2], 0.5]] as const) expect(Math.abs(share(b) - w)).toBeLessThan(0.1);

        // Streams, then a reload that adds .14 and drains .11 while they run.
        const outs: string[] = [];
        const streams = Array.from({ length: 6 }, (_, k) => {
          const p = t.spawn(t.a, ["python3", "-c", STREAM, VIP]);
          procs.push(p);
          outs[k] = "";
          p.stdout!.on("data", (d) => (outs[k] += d));
          return new Promise<string>((resolve) => p.on("close", () => resolve(outs[k].trim().split("\n").pop()!)));
        });
        await waitFor("every stream connected", 30_000, () => outs.every((o) => o.startsWith("up")));
        await sleep(300);
        writeFileSync(cfgFile, config([{ address: BACKENDS[0], state: "draining" }, { address: BACKENDS[1] }, { address: BACKENDS[2], weight: 2 }, { address: BACKENDS[3] }]));
        const reload = spawnSync(process.execPath, [CLI, "reload", name], { encoding: "utf8", timeout: 30_000 });
        expect(reload.status, reload.stderr).toBe(0);
        const results = await Promise.all(streams);
        for (const r of results) {
          const [mine, backend, theirs] = r.split(/\s+/);
          expect(BACKENDS.slice(0, 3)).toContain(backend);   // opened before the reload
          expect(theirs).toBe(mine);                           // every byte arrived, in order
        }
        // New connections: none to the drained backend, some to the new one.
        const after = t.exec(t.a, ["curl", "-s", "--max-time", "60", "-w", "\\n", ...urls.slice(0, 200)], { timeoutMs: 90_000 }).trim().split("\n");
        expect(after.length).toBe(200);
        expect(after.filter((x) => x === BACKENDS[0]).length).toBe(0);
        expect(after.filter((x) => x === BACKENDS[3]).length).toBeGreaterThan(200 * 0.2 - 20);
      } finally {
        run.proc.kill("SIGINT");
      }
      const s = await run.done;
      const n = s.vnf_counters as Record<string, number>;
      expect(n.be_10_200_2_14_any_flows).toBeGreaterThan(0);
      expect(n.noBackend).toBe(0);
    } finally {
      for (const p of procs) if (p.exitCode === null) p.kill("SIGKILL");
      t.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
