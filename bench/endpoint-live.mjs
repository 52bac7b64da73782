// npm run bench:endpoint-live (root): endpoints across one veth pair, in one
// run, same namespaces, one core each side:
//   DNS: dnsperf in X against vnfs/dns.ts on xdp:v0 in S, then against NSD
//        on the kernel stack in S serving the same zone (vnfs/dns.example.json).
//   UDP: udp-blast (xdp:a0, X) -> udp-sink (xdp:v0, S), then iperf3 -u
//        (a kernel sender -> a kernel receiver), 1448-byte datagrams.
// Medians of REPS runs into BENCHMARKS.md.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeSection } from "./benchmarks-md.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const CLI = join(root, "bin/vnfrun.js");
const REPS = Number(process.env.REPS ?? 3), SECONDS = Number(process.env.SECONDS ?? 5);
const dir = mkdtempSync(join(tmpdir(), "vnfrun-eplive-"));
const tag = `ep${process.pid % 100000}`, X = `${tag}x`, S = `${tag}s`;
const sh = (args) => execFileSync(args[0], args.slice(1), { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const inNs = (ns, cmd, opts = {}) => execFileSync("ip", ["netns", "exec", ns, ...cmd], { encoding: "utf8", timeout: 120_000, ...opts });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function bg(ns, cmd) {
  const p = spawn("ip", ["netns", "exec", ns, ...cmd], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "", err = "";
  p.stdout.on("data", (d) => (out += d));
  p.stderr.on("data", (d) => (err += d));
  return { p, out: () => out, err: () => err, done: new Promise((r) => p.on("close", () => r())) };
}

// The zone as a master file for NSD, and the query list for dnsperf.
const z = JSON.parse(readFileSync(join(root, "vnfs/dns.example.json"), "utf8"));
const lines = [`$ORIGIN ${z.zone}.`, `$TTL ${z.ttl}`, `@ IN SOA ${z.soa.mname}. ${z.soa.rname}. ${z.soa.serial} ${z.soa.refresh} ${z.soa.retry} ${z.soa.expire} ${z.soa.minimum}`];
for (const [name, types] of Object.entries(z.records))
  for (const [t, v] of Object.entries(types))
    for (const x of Array.isArray(v) && t !== "CNAME" ? v : [v])
      lines.push(`${name} IN ${t} ${t === "MX" ? `${x.preference} ${x.exchange}.` : t === "TXT" ? (Array.isArray(x) ? x : [x]).map((s) => JSON.stringify(s)).join(" ") : ["CNAME", "NS"].includes(t) ? `${x}.` : x}`);
writeFileSync(join(dir, "zone"), lines.join("\n") + "\n");
writeFileSync(join(dir, "nsd.conf"), `server:\n  ip-address: 10.0.0.53\n  server-count: 1\n  username: ""\n  zonesdir: "${dir}"\n  pidfile: "${dir}/nsd.pid"\n  database: ""\n  xfrdfile: "${dir}/xfrd.state"\n  zonelistfile: "${dir}/zone.list"\n  verbosity: 0\n  hide-version: yes\n  rrl-ratelimit: 0\n  rrl-whitelist-ratelimit: 0\nremote-control:\n  control-enable: no\nzone:\n  name: ${z.zone}\n  zonefile: zone\n`);
writeFileSync(join(dir, "queries"), ["www.example.test A", "www.example.test AAAA", "web.example.test A", "example.test MX", "nope.example.test A", "mail.example.test A"].join("\n") + "\n");

function setUp() {
  for (const ns of [X, S]) sh(["ip", "netns", "add", ns]);
  sh(["ip", "link", "add", "a0", "netns", X, "type", "veth", "peer", "name", "v0", "netns", S]);
  sh(["ip", "-n", X, "addr", "add", "10.0.0.1/24", "dev", "a0"]);
  for (const [ns, dev] of [[X, "a0"], [S, "v0"], [X, "lo"], [S, "lo"]]) sh(["ip", "-n", ns, "link", "set", dev, "up"]);
  for (const ns of [X, S]) inNs(ns, ["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
}
function tearDown() { for (const ns of [X, S]) spawnSync("ip", ["netns", "del", ns], { stdio: "ignore" }); }

/** CPU seconds (user + system, every thread) of `pid` and its descendants so far. */
function cpuSeconds(pid) {
  let ticks = 0;
  const tasks = readdirSync(`/proc/${pid}/task`);
  for (const t of tasks) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${t}/stat`, "utf8"), f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(f[11]) + Number(f[12]);   // utime, stime (fields 14, 15)
    } catch { /* the thread ended */ }
  }
  for (const c of readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean)) ticks += cpuSeconds(Number(c)) * 100;
  return ticks / 100;   // USER_HZ
}

/** dnsperf against 10.0.0.53; with `server` (a pid), that server's CPU over the run too. */
function dnsperf(server) {
  const before = server ? cpuSeconds(server) : 0;
  const out = inNs(X, ["dnsperf", "-s", "10.0.0.53", "-d", join(dir, "queries"), "-l", String(SECONDS), "-c", "4", "-q", "500"]);
  const cpu = server ? cpuSeconds(server) - before : NaN;
  const qps = Number(/Queries per second:\s+([\d.]+)/.exec(out)?.[1]);
  const lost = Number(/Queries lost:\s+(\d+)/.exec(out)?.[1]);
  // Answers per second of the server's CPU (the client's socket work that
  // the server's sends trigger on a veth is charged to it, for both).
  return { qps, lost, perCpu: (qps * SECONDS) / cpu };
}
async function dnsVnf() {
  const v = bg(S, [process.execPath, CLI, join(root, "vnfs/dns.ts"), "--port", "xdp:v0", "--ip", "10.0.0.53/24", "--config", join(root, "vnfs/dns.example.json"), "--duration", String(SECONDS + 15), "--json"]);
  for (let i = 0; i < 100 && spawnSync("ip", ["netns", "exec", X, "dig", "+time=1", "+tries=1", "@10.0.0.53", "www.example.test"], { stdio: "ignore" }).status !== 0; i++) await sleep(200);
  const r = dnsperf(v.p.pid);
  v.p.kill("SIGINT");
  await v.done;
  return r;
}
async function dnsNsd() {
  sh(["ip", "-n", S, "addr", "add", "10.0.0.53/24", "dev", "v0"]);
  const n = bg(S, ["nsd", "-d", "-c", join(dir, "nsd.conf")]);
  try {
    for (let i = 0; i < 100 && spawnSync("ip", ["netns", "exec", X, "dig", "+time=1", "+tries=1", "@10.0.0.53", "www.example.test"], { stdio: "ignore" }).status !== 0; i++) await sleep(200);
    return dnsperf(n.p.pid);
  } finally {
    n.p.kill("SIGTERM");
    await n.done;
    sh(["ip", "-n", S, "addr", "del", "10.0.0.53/24", "dev", "v0"]);
  }
}
async function udpVnf() {
  const sink = bg(S, [process.execPath, CLI, join(root, "vnfs/udp-sink.ts"), "--port", "xdp:v0", "--ip", "10.0.0.53/24", "--config", '{"port":9000}', "--duration", String(SECONDS + 20), "--json"]);
  for (let i = 0; i < 100 && spawnSync("ip", ["netns", "exec", X, "ping", "-c1", "-W0.3", "10.0.0.53"], { stdio: "ignore" }).status !== 0; i++) await sleep(200);
  const blast = bg(X, [process.execPath, CLI, join(root, "vnfs/udp-blast.ts"), "--port", "xdp:a0", "--ip", "10.0.0.1/24", "--config", '{"to":"10.0.0.53:9000","size":1448}', "--duration", String(SECONDS), "--json", "--busy-poll"]);
  await blast.done;
  await sleep(500);
  sink.p.kill("SIGINT");
  await sink.done;
  const b = JSON.parse(blast.out()), s = JSON.parse(sink.out());
  return { sent: b.vnf_counters.blast_datagrams / b.seconds, got: s.vnf_counters.sink_datagrams / b.seconds };
}
async function udpKernel() {
  sh(["ip", "-n", S, "addr", "add", "10.0.0.53/24", "dev", "v0"]);
  const srv = bg(S, ["iperf3", "-s", "-1", "-B", "10.0.0.53", "-p", "5999"]);
  try {
    await sleep(1000);
    const j = JSON.parse(inNs(X, ["iperf3", "-u", "-b", "0", "-l", "1448", "-t", String(SECONDS), "-c", "10.0.0.53", "-p", "5999", "-J"]));
    const sum = j.end.sum;
    return { sent: sum.packets / sum.seconds, got: (sum.packets - sum.lost_packets) / sum.seconds };
  } finally {
    srv.p.kill("SIGKILL");
    await srv.done;
    sh(["ip", "-n", S, "addr", "del", "10.0.0.53/24", "dev", "v0"]);
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const r = { vnfDns: [], nsd: [], vnfUdp: [], kernelUdp: [] };
setUp();
try {
  for (let i = 0; i < REPS; i++) {
    r.vnfDns.push(await dnsVnf());
    r.nsd.push(await dnsNsd());
    r.vnfUdp.push(await udpVnf());
    r.kernelUdp.push(await udpKernel());
    process.stderr.write(`rep ${i + 1}: dns.ts ${r.vnfDns[i].qps} q/s, NSD ${r.nsd[i].qps} q/s; blast->sink ${Math.round(r.vnfUdp[i].got)} dg/s (sent ${Math.round(r.vnfUdp[i].sent)}), kernel ${Math.round(r.kernelUdp[i].got)} dg/s (sent ${Math.round(r.kernelUdp[i].sent)})\n`);
  }
} finally {
  tearDown();
}
const m = (xs, f) => median(xs.map(f));
const k = (x) => (x / 1000).toFixed(1);
const table = [
  `Machine: ${cpus().length} x ${cpus()[0]?.model ?? "?"}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}; shared with other jobs while measured (ratios within one run are what to read).`,
  "",
  `\`sudo npm run bench:endpoint-live\` (one veth pair, one core each side, ${SECONDS} s per case, median of ${REPS}; vnfrun on xdp; the receivers sleep when idle (no --busy-poll: the machine has 2 CPUs for both sides), udp-blast spins):`,
  "",
  "| case | vnfrun (k/s) | kernel (k/s) | ratio | runs vnfrun / kernel |",
  "|---|---|---|---|---|",
  `| DNS answers: dnsperf -> dns.ts vs NSD | ${k(m(r.vnfDns, (x) => x.qps))} | ${k(m(r.nsd, (x) => x.qps))} | ${(m(r.vnfDns, (x) => x.qps) / m(r.nsd, (x) => x.qps)).toFixed(2)} | ${r.vnfDns.map((x) => k(x.qps)).join(", ")} / ${r.nsd.map((x) => k(x.qps)).join(", ")} |`,
  `| UDP datagrams received, 1448 B: udp-blast -> udp-sink vs iperf3 -u | ${k(m(r.vnfUdp, (x) => x.got))} | ${k(m(r.kernelUdp, (x) => x.got))} | ${(m(r.vnfUdp, (x) => x.got) / m(r.kernelUdp, (x) => x.got)).toFixed(2)} | ${r.vnfUdp.map((x) => k(x.got)).join(", ")} / ${r.kernelUdp.map((x) => k(x.got)).join(", ")} |`,
  `| (datagrams sent) | ${k(m(r.vnfUdp, (x) => x.sent))} | ${k(m(r.kernelUdp, (x) => x.sent))} | | |`,
  `| DNS answers per CPU-second of the server (dns.ts's vnfrun process vs NSD's, user + system) | ${k(m(r.vnfDns, (x) => x.perCpu))} | ${k(m(r.nsd, (x) => x.perCpu))} | ${(m(r.vnfDns, (x) => x.perCpu) / m(r.nsd, (x) => x.perCpu)).toFixed(2)} | ${r.vnfDns.map((x) => k(x.perCpu)).join(", ")} / ${r.nsd.map((x) => k(x.perCpu)).join(", ")} |`,
].join("\n");
console.log(table);
if (!process.env.NO_WRITE) writeSection("endpoint-live", table, "Endpoints across veth (dnsperf vs NSD, udp-blast vs the kernel)");
