// npm run bench:http (root; needs wrk and nginx: apt-get install wrk
// nginx-light): vnfs/http-static.ts on sdk/tcp against nginx on the kernel's
// TCP, the same file over the same path, one core each. Namespaces A (wrk)
// and V (the server) joined by a veth pair; nginx listens on V's kernel
// address, vnfrun on packet:v0 with an address of its own (--ip). Each round
// runs wrk once against each server (-t1 -c CONNS, keep-alive, SECONDS
// each, a FILE of SIZE bytes); ROUNDS rounds, medians reported.
// Writes the table into BENCHMARKS.md between the http markers.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeSection } from "./benchmarks-md.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const SECONDS = Number(process.env.SECONDS ?? 5);
const CONNS = Number(process.env.CONNS ?? 32);
const SIZES = [1024, 100 * 1024];

const missing = ["wrk", "nginx", "ip"].filter((t) => spawnSync("sh", ["-c", `command -v ${t}`]).status !== 0);
if (process.getuid?.() !== 0 || missing.length) {
  console.error(`bench:http needs root and ${missing.length ? missing.join(", ") : "nothing else"} (apt-get install wrk nginx-light)`);
  process.exit(1);
}

const tag = `bh${process.pid % 100000}`, A = `${tag}a`, V = `${tag}v`;
const NGINX_IP = "10.201.0.2", VNF_IP = "10.201.0.3";
const sh = (args, opts = {}) => spawnSync(args[0], args.slice(1), { encoding: "utf8", ...opts });
const inNs = (ns, args, opts) => sh(["ip", "netns", "exec", ns, ...args], opts);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];
const dir = mkdtempSync(join(tmpdir(), "vnfrun-bench-http-"));

function topology() {
  for (const ns of [A, V]) sh(["ip", "netns", "add", ns]);
  sh(["ip", "link", "add", "a0", "netns", A, "type", "veth", "peer", "name", "v0", "netns", V]);
  sh(["ip", "-n", A, "addr", "add", "10.201.0.1/24", "dev", "a0"]);
  sh(["ip", "-n", V, "addr", "add", `${NGINX_IP}/24`, "dev", "v0"]);
  for (const [ns, d] of [[A, "a0"], [V, "v0"], [A, "lo"], [V, "lo"]]) sh(["ip", "-n", ns, "link", "set", d, "up"]);
  for (const ns of [A, V]) inNs(ns, ["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
}

/** wrk's requests per second against url. */
function wrk(url) {
  const r = inNs(A, ["wrk", "-t1", `-c${CONNS}`, `-d${SECONDS}s`, url], { timeout: (SECONDS + 30) * 1000 });
  const m = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout ?? "");
  if (!m) throw new Error(`wrk printed no rate: ${r.stdout} ${r.stderr}`);
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: .*/.exec(r.stdout);
  return { rps: Number(m[1]), errors: errors ? errors[0] : "" };
}

async function withNginx(body) {
  const conf = join(dir, "nginx.conf");
  writeFileSync(conf, `user root; worker_processes 1; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/nginx.err;
events { worker_connections 1024; }
http { access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000; keepalive_timeout 60;
  types { text/html html; application/octet-stream bin; }
  server { listen ${NGINX_IP}:80; root ${dir}/site; } }`);
  const p = spawn("ip", ["netns", "exec", V, "nginx", "-c", conf], { stdio: "ignore" });
  try {
    for (let i = 0; i < 50 && inNs(A, ["curl", "-s", "-o", "/dev/null", `http://${NGINX_IP}/`]).status !== 0; i++) await sleep(100);
    return body(`http://${NGINX_IP}`);
  } finally {
    p.kill("SIGTERM");
    await new Promise((r) => p.on("exit", r));
  }
}

async function withVnf(body) {
  const args = [join(root, "bin/vnfrun.js"), join(root, "vnfs/http-static.ts"), "--allow-node", "--quiet", "--port", "packet:v0",
    "--ip", `${VNF_IP}/24`, "--config", JSON.stringify({ root: join(dir, "site") })];
  const p = spawn("ip", ["netns", "exec", V, process.execPath, ...args], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  p.stderr.on("data", (d) => (err += d));
  try {
    for (let i = 0; i < 100 && inNs(A, ["curl", "-s", "-o", "/dev/null", "--max-time", "1", `http://${VNF_IP}/`]).status !== 0; i++) {
      if (p.exitCode !== null) throw new Error(`vnfrun stopped: ${err}`);
      await sleep(100);
    }
    return body(`http://${VNF_IP}`);
  } finally {
    p.kill("SIGINT");
    await new Promise((r) => p.on("exit", r));
  }
}

const results = Object.fromEntries(SIZES.flatMap((s) => [[`nginx ${s}`, []], [`vnfrun ${s}`, []]]));
const notes = new Set();
const load0 = loadavg()[0];
try {
  topology();
  sh(["mkdir", "-p", join(dir, "site")]);
  for (const size of SIZES) writeFileSync(join(dir, "site", `f${size}.bin`), Buffer.alloc(size, 97));
  writeFileSync(join(dir, "site", "index.html"), "ok\n");
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, serve] of [["nginx", withNginx], ["vnfrun", withVnf]]) {
      await serve(async (base) => {
        for (const size of SIZES) {
          const w = wrk(`${base}/f${size}.bin`);
          results[`${name} ${size}`].push(w.rps);
          if (w.errors) notes.add(`${name}: ${w.errors}`);
          process.stderr.write(`round ${r + 1}/${ROUNDS} ${name} ${size} B: ${w.rps.toFixed(0)} requests/s${w.errors ? ` (${w.errors})` : ""}\n`);
        }
      });
    }
  }
} finally {
  for (const ns of [A, V]) sh(["ip", "netns", "del", ns]);
  rmSync(dir, { recursive: true, force: true });
}

const med = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v)]));
const table = [
  `Machine: ${cpus().length} x ${cpus()[0]?.model ?? "?"}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}, load ${load0.toFixed(1)} at the start.`,
  `Command: \`npm run bench:http\` (ROUNDS=${ROUNDS}, wrk -t1 -c${CONNS} -d${SECONDS}s with keep-alive from namespace A over a veth to V; nginx ${sh(["nginx", "-v"]).stderr.trim().replace("nginx version: ", "")} with one worker on V's kernel TCP, vnfs/http-static.ts on one core on packet:v0 with --ip).`,
  "",
  "| file | nginx requests/s, median | vnfrun requests/s, median | vnfrun / nginx | runs (nginx; vnfrun) |",
  "|---|---|---|---|---|",
  ...SIZES.map((s) => `| ${s} B | ${med[`nginx ${s}`].toFixed(0)} | ${med[`vnfrun ${s}`].toFixed(0)} | ${(med[`vnfrun ${s}`] / med[`nginx ${s}`]).toFixed(2)} | ${results[`nginx ${s}`].map((x) => x.toFixed(0)).join(", ")}; ${results[`vnfrun ${s}`].map((x) => x.toFixed(0)).join(", ")} |`),
  ...(notes.size ? ["", `wrk reported: ${[...notes].join("; ")}.`] : []),
].join("\n");
console.log(table);
if (!process.argv.includes("--no-write")) writeSection("http", table, "HTTP: http-static against nginx (issue 17)");
