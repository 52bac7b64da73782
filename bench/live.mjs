// npm run bench:live — live-port forwarding rates across veth, in one run.
//
//   [A: a0] ---veth--- [V: v0 | forwarder | v1] ---veth--- [B: b0]
//
// 64-byte frames from a small C AF_PACKET generator in A (pinned to CPU 0)
// through a forwarder in V (pinned to CPU 1 where it is a process) to b0 in
// B, where a native XDP_DROP program discards them and rx_packets counts
// them. Forwarders: vnfrun vnfs/l2fwd.ts on xdp and packet, plain C AF_XDP
// and AF_PACKET forwarders (bench/c/, the kernel-interface ceilings), a Linux
// bridge, and dpdk-testpmd io forwarding (af_xdp, af_packet) when installed.
// The AF_XDP ones run again with the veths' NAPI threaded, where the
// forwarder rather than the generator's CPU sets the rate.
// Then iperf3 TCP A -> B through vnfrun l2fwd with the default specs
// (`packet:v0 packet:v1`, which carry the virtio-net header, and
// `xdp:v0 xdp:v1`, which finish the checksums A and B leave to offload) and
// through the bridge, offloads on as a new user has them.
//
// `npm run bench:live -- --only tcp` runs the TCP part alone and prints its
// table without writing BENCHMARKS.md. `--base DIR` adds a TCP case: another
// build of vnfrun (a checkout at DIR, built) on `packet,vnet`, for a
// same-run A/B of a change.
//
// The machine this runs on is shared, and its speed drifts by tens of per
// cent within a minute. So the cases are interleaved: each round runs every
// case once (start, 1 s warm-up, one 3 s window, stop), and a comparison is
// the median over rounds of the ratio within a round, where both sides saw
// the same machine. Each rate is the median over rounds (min-max in
// brackets). The table is printed and written into BENCHMARKS.md between
// the bench:live markers. Namespaces (and with them veths, bridge, XDP links)
// are removed at the end, also on failure or Ctrl-C.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const argAfter = (flag) => (process.argv.includes(flag) ? process.argv[process.argv.indexOf(flag) + 1] : undefined);
const onlyTcp = argAfter("--only") === "tcp";
const baseDir = argAfter("--base");
if (baseDir && !existsSync(join(baseDir, "bin", "vnfrun.js"))) { console.error(`bench:live: --base ${baseDir}: no bin/vnfrun.js there`); process.exit(1); }
const WARMUP_S = 1, WINDOW_S = 3, PPS_ROUNDS = 5, TCP_ROUNDS = 7;

if (process.getuid?.() !== 0) {
  console.log("bench:live needs root (network namespaces, XDP); run it with sudo");
  process.exit(0);
}
const has = (tool) => spawnSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" }).status === 0;
for (const t of ["ip", "cc", "taskset"]) if (!has(t)) { console.error(`bench:live: needs ${t}`); process.exit(1); }
if (!existsSync(join(ROOT, "build", "Release", "vnfrun.node")) || !existsSync(join(ROOT, "dist", "cli.js"))) {
  console.error("bench:live: needs the built addon and dist/ (npm run build)");
  process.exit(1);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// --- cleanup: every child is its own process group, killed by its id -----
const children = new Set();
const tmp = mkdtempSync("/tmp/vnfrun-bench-live-");
const tag = `bl${process.pid % 100000}`;
const A = `${tag}a`, V = `${tag}v`, B = `${tag}b`;
const made = [];
let cleaned = false;
function cleanup() {
  if (cleaned) return;
  cleaned = true;
  for (const c of children) stop(c);
  for (const ns of made.reverse()) spawnSync("ip", ["netns", "del", ns], { stdio: "ignore" });
  rmSync(tmp, { recursive: true, force: true });
}
process.on("exit", cleanup);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(sig, () => { console.error(`\nbench:live: ${sig}, cleaning up`); cleanup(); process.exit(130); });

function start(ns, cmd, opts = {}) {
  const c = spawn("ip", ["netns", "exec", ns, ...cmd], { stdio: [opts.stdin ? "pipe" : "ignore", "pipe", "pipe"], detached: true });
  c.out = "";
  c.stdout.on("data", (d) => (c.out = (c.out + d).slice(-4000)));
  c.stderr.on("data", (d) => (c.out = (c.out + d).slice(-4000)));
  c.on("exit", () => children.delete(c));
  children.add(c);
  return c;
}
function stop(c, sig = "SIGKILL") {
  if (c.exitCode !== null || c.signalCode !== null) return;
  try { process.kill(-c.pid, sig); } catch {}
}
async function stopGently(c) {
  stop(c, "SIGINT");
  for (let i = 0; i < 30 && c.exitCode === null && c.signalCode === null; i++) await sleep(100);
  stop(c);
  await sleep(200);
}
const sh = (args) => execFileSync("ip", args, { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
const nsx = (ns, cmd) => execFileSync("ip", ["netns", "exec", ns, ...cmd], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
function stat(ns, dev, dir) {
  const j = JSON.parse(sh(["-n", ns, "-s", "-j", "link", "show", "dev", dev]))[0];
  return j.stats64[dir].packets;
}

// --- build the C helpers --------------------------------------------------
const bin = {};
for (const f of ["gen", "afxdp_fwd", "afpacket_fwd", "xdp_drop"]) {
  bin[f] = join(tmp, f);
  execFileSync("cc", ["-O2", "-o", bin[f], join(ROOT, "bench", "c", `${f}.c`)], { stdio: "inherit" });
}

// --- topology -------------------------------------------------------------
for (const ns of [A, B, V]) { sh(["netns", "add", ns]); made.push(ns); }
sh(["link", "add", "a0", "netns", A, "type", "veth", "peer", "name", "v0", "netns", V]);
sh(["link", "add", "b0", "netns", B, "type", "veth", "peer", "name", "v1", "netns", V]);
sh(["-n", A, "addr", "add", "10.200.0.1/24", "dev", "a0"]);
sh(["-n", B, "addr", "add", "10.200.0.2/24", "dev", "b0"]);
for (const [ns, dev] of [[A, "a0"], [B, "b0"], [V, "v0"], [V, "v1"], [A, "lo"], [B, "lo"], [V, "lo"]]) sh(["-n", ns, "link", "set", dev, "up"]);
const bMac = JSON.parse(sh(["-n", B, "-j", "link", "show", "dev", "b0"]))[0].address;

const machine = `${cpus().length} x ${cpus()[0]?.model?.trim() ?? "unknown CPU"}, Linux ${readFileSync("/proc/sys/kernel/osrelease", "utf8").trim()}`;
const load0 = loadavg()[0].toFixed(1);
console.log(`bench:live on ${machine}; load average ${load0} at start`);

const vnfrun = (ports) => [process.execPath, join(ROOT, "bin", "vnfrun.js"), join(ROOT, "vnfs", "l2fwd.ts"),
  "--port", `in=${ports[0]}`, "--port", `out=${ports[1]}`, "--duration", "600"];
const testpmd = (pmd) => ["dpdk-testpmd", "-l", "0,1", "--no-huge", "-m", "512", "--no-shconf", "--no-pci",
  "--vdev", `net_${pmd}0,iface=v0`, "--vdev", `net_${pmd}1,iface=v1`, "--",
  "--forward-mode=io", "--total-num-mbufs=32768", "--auto-start"];
const pin1 = (cmd) => ["taskset", "-c", "1", ...cmd];
const bridgeUp = () => {
  sh(["-n", V, "link", "add", "br0", "type", "bridge"]);
  for (const d of ["v0", "v1"]) sh(["-n", V, "link", "set", d, "master", "br0"]);
  sh(["-n", V, "link", "set", "br0", "up"]);
};
const bridgeDown = () => spawnSync("ip", ["-n", V, "link", "del", "br0"], { stdio: "ignore" });

// --- 64-byte frame cases ------------------------------------------------
const hasTestpmd = has("dpdk-testpmd");
const cases = [
  { name: "vnfrun l2fwd.ts on `xdp` (native mode)", cmd: pin1(vnfrun(["xdp:v0,mode=native", "xdp:v1,mode=native"])) },
  { name: "vnfrun l2fwd.ts on `packet` (default spec: vnet)", cmd: pin1(vnfrun(["packet:v0", "packet:v1"])) },
  { name: "vnfrun l2fwd.ts on `packet,novnet`", cmd: pin1(vnfrun(["packet:v0,novnet", "packet:v1,novnet"])) },
  { name: "plain C AF_XDP forwarder (bench/c/afxdp_fwd.c, native, copy bind, busy poll)", cmd: pin1([bin.afxdp_fwd, "v0", "v1"]) },
  { name: "plain C AF_PACKET forwarder (bench/c/afpacket_fwd.c, recvmmsg/sendmmsg)", cmd: pin1([bin.afpacket_fwd, "v0", "v1"]) },
  { name: "Linux bridge in V", setup: bridgeUp, teardown: bridgeDown },
  ...(hasTestpmd ? [
    { name: "dpdk-testpmd io, af_xdp PMD", cmd: testpmd("af_xdp"), stdin: true },
    { name: "dpdk-testpmd io, af_packet PMD", cmd: testpmd("af_packet"), stdin: true },
  ] : []),
];

async function measurePps(c) {
  let fwd = null, gen = null;
  try {
    c.setup?.();
    if (c.cmd) { fwd = start(V, c.cmd, { stdin: c.stdin }); await sleep(1500); }
    c.started?.();
    gen = start(A, ["taskset", "-c", "0", bin.gen, "a0", bMac]);
    const first = stat(B, "b0", "rx");
    const until = Date.now() + 20_000;
    for (;;) {
      if (fwd && fwd.exitCode !== null) throw new Error(`forwarder exited ${fwd.exitCode}: ${fwd.out.trim().split("\n").slice(-3).join(" | ")}`);
      if (gen.exitCode !== null) throw new Error(`generator exited: ${gen.out.trim()}`);
      if (stat(B, "b0", "rx") - first > 1000) break;
      if (Date.now() > until) throw new Error("no frames reached b0 within 20 s");
      await sleep(200);
    }
    await sleep(WARMUP_S * 1000);
    const t0 = process.hrtime.bigint(), r0 = stat(B, "b0", "rx"), s0 = stat(A, "a0", "tx");
    await sleep(WINDOW_S * 1000);
    const t1 = process.hrtime.bigint(), r1 = stat(B, "b0", "rx"), s1 = stat(A, "a0", "tx");
    const dt = Number(t1 - t0) / 1e9;
    if (fwd && fwd.exitCode !== null) throw new Error(`forwarder exited during the run: ${fwd.out.trim().split("\n").pop()}`);
    return { rx: (r1 - r0) / dt / 1e6, tx: (s1 - s0) / dt / 1e6 };
  } finally {
    if (gen) await stopGently(gen);
    if (fwd) await stopGently(fwd);
    c.teardown?.();
  }
}

// Runs every case once per round; a case that fails is dropped from the
// later rounds. Returns, per case, its results by round (null where it did
// not run) and the first error.
async function rounds(list, count, measure, show) {
  const runs = list.map(() => ({ results: [], error: null }));
  for (let r = 0; r < count; r++) {
    console.log(`  round ${r + 1}/${count}`);
    for (const [k, c] of list.entries()) {
      if (runs[k].error) { runs[k].results.push(null); continue; }
      process.stdout.write(`    ${c.name} ... `);
      try {
        const x = await measure(c);
        runs[k].results.push(x);
        console.log(show(x));
      } catch (e) {
        runs[k].results.push(null);
        runs[k].error = String(e.message ?? e).slice(0, 160);
        console.log(`failed: ${e.message}`);
      }
    }
  }
  return runs;
}
const spread = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) });
// The median over rounds of a/b, both measured in the same round.
function pairedRatio(a, b, value) {
  const r = [];
  a.results.forEach((x, i) => { const y = b.results[i]; if (x && y && value(y) > 0) r.push(value(x) / value(y)); });
  return r.length ? spread(r) : null;
}

const sink = start(B, [bin.xdp_drop, "b0"]);
await sleep(500);
if (sink.exitCode !== null) { console.error(`bench:live: XDP_DROP sink on b0 failed: ${sink.out.trim()}`); process.exit(1); }
const showPps = (x) => `${x.rx.toFixed(3)} Mpps (offered ${x.tx.toFixed(3)})`;
const ppsTable = (list, runs) => list.map((c, k) => {
  const ok = runs[k].results.filter(Boolean);
  if (!ok.length) return { name: c.name, error: runs[k].error };
  return { name: c.name, mpps: spread(ok.map((x) => x.rx)), offered: median(ok.map((x) => x.tx)), share: median(ok.map((x) => x.rx / x.tx)) };
});
console.log("64-byte frames:");
const ppsRuns = onlyTcp ? [] : await rounds(cases, PPS_ROUNDS, measurePps, showPps);
const ppsRows = onlyTcp ? [] : ppsTable(cases, ppsRuns);

// The same AF_XDP forwarders with the veths' NAPI threaded: v0's receive
// work (XDP program, copy into the socket) leaves the generator's CPU for a
// kernel thread, so the generator offers more and the forwarders, not the
// generator, set the rate. (A veth has NAPI only while an XDP program is
// attached, so the switch is thrown once the forwarder runs.)
const threaded = () => {
  const r = spawnSync("ip", ["netns", "exec", V, "sh", "-c",
    "echo 1 > /sys/class/net/v0/threaded && echo 1 > /sys/class/net/v1/threaded"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`cannot make the veths' NAPI threaded: ${(r.stderr ?? "").trim()}`);
};
const xdpCases = cases.filter((c) => c.cmd && /xdp/i.test(c.name)).map((c) => ({ ...c, started: threaded }));
console.log("64-byte frames, veth NAPI threaded:");
const xdpThreadedRuns = onlyTcp ? [] : await rounds(xdpCases, PPS_ROUNDS, measurePps, showPps);
const xdpThreadedRows = onlyTcp ? [] : ppsTable(xdpCases, xdpThreadedRuns);
await stopGently(sink);

// --- iperf3 TCP A -> B --------------------------------------------------
const tcpCases = [];
let tcpRuns = [];
if (has("iperf3")) {
  tcpCases.push(
    { name: "vnfrun l2fwd.ts on `packet` (default spec: vnet)", cmd: pin1(vnfrun(["packet:v0", "packet:v1"])) },
    { name: "Linux bridge in V", setup: bridgeUp, teardown: bridgeDown },
    { name: "vnfrun l2fwd.ts on `xdp` (default spec; A, B tx checksumming on)", cmd: pin1(vnfrun(["xdp:v0", "xdp:v1"])) },
    ...(baseDir ? [{ name: `vnfrun at ${baseDir} on \`packet,vnet\``, cmd: pin1([process.execPath, join(baseDir, "bin", "vnfrun.js"),
      join(ROOT, "vnfs", "l2fwd.ts"), "--port", "in=packet:v0,vnet", "--port", "out=packet:v1,vnet", "--duration", "600"]) }] : []),
  );
  const server = start(B, ["iperf3", "-s"]);
  await sleep(500);
  console.log("iperf3 TCP:");
  tcpRuns = await rounds(tcpCases, TCP_ROUNDS, async (c) => {
    let fwd = null;
    try {
      c.setup?.();
      if (c.cmd) fwd = start(V, c.cmd);
      const until = Date.now() + 20_000;
      while (spawnSync("ip", ["netns", "exec", A, "ping", "-c1", "-W1", "10.200.0.2"], { stdio: "ignore" }).status !== 0) {
        if (fwd && fwd.exitCode !== null) throw new Error(`vnfrun exited: ${fwd.out.trim().split("\n").pop()}`);
        if (Date.now() > until) throw new Error("B not reachable within 20 s");
        await sleep(300);
      }
      // Latency first, on an idle path: ping's average round trip.
      const ping = spawnSync("ip", ["netns", "exec", A, "ping", "-q", "-c", "50", "-i", "0.02", "10.200.0.2"], { encoding: "utf8" });
      const rtt = /= [\d.]+\/([\d.]+)\//.exec(ping.stdout ?? "");
      const j = JSON.parse(nsx(A, ["iperf3", "-c", "10.200.0.2", "-t", String(WINDOW_S + WARMUP_S), "-O", String(WARMUP_S), "-J"]));
      return { gbps: j.end.sum_received.bits_per_second / 1e9, rttMs: rtt ? Number(rtt[1]) : NaN };
    } finally {
      if (fwd) await stopGently(fwd);
      c.teardown?.();
    }
  }, (x) => `${x.gbps.toFixed(2)} Gbit/s, ping ${x.rttMs.toFixed(3)} ms`);
  await stopGently(server);
}
const tcpRows = tcpRuns.map((run, k) => {
  const ok = run.results.filter(Boolean);
  if (!ok.length) return { name: tcpCases[k].name, error: run.error };
  return { name: tcpCases[k].name, gbps: spread(ok.map((x) => x.gbps)), rttMs: median(ok.map((x) => x.rttMs)) };
});
const load1 = loadavg()[0].toFixed(1);
cleanup();

// --- report -------------------------------------------------------------
const f3 = (x) => x.toFixed(3), f2 = (x) => x.toFixed(2);
const cell = (sp, f) => `${f(sp.median)} (${f(sp.min)}-${f(sp.max)})`;
const failed = (r) => `failed: ${r.error.replace(/\|/g, "/")}`;
// The comparisons the targets name, each paired within rounds.
const byName = (list, runs, prefix) => runs[list.findIndex((c) => c.name.startsWith(prefix))];
const comparisons = [
  ["vnfrun on `xdp` / testpmd af_xdp", "vnfrun l2fwd.ts on `xdp`", "dpdk-testpmd io, af_xdp"],
  ["vnfrun on `xdp` / plain C AF_XDP", "vnfrun l2fwd.ts on `xdp`", "plain C AF_XDP"],
  ["vnfrun on `packet` / testpmd af_packet", "vnfrun l2fwd.ts on `packet`", "dpdk-testpmd io, af_packet"],
  ["vnfrun on `packet` / plain C AF_PACKET", "vnfrun l2fwd.ts on `packet`", "plain C AF_PACKET"],
  ["vnfrun on `packet` (vnet) / `packet,novnet`", "vnfrun l2fwd.ts on `packet` (default", "vnfrun l2fwd.ts on `packet,novnet`"],
].flatMap(([label, a, b]) => {
  const pair = (list, runs, suffix) => {
    const x = byName(list, runs, a), y = byName(list, runs, b);
    return x && y ? [[label + suffix, pairedRatio(x, y, (v) => v.rx)]] : [];
  };
  return [...pair(cases, ppsRuns, ""), ...(xdpThreadedRuns.length ? pair(xdpCases, xdpThreadedRuns, ", NAPI threaded") : [])];
});
const ppsLines = (title, rows) => [
  `| ${title} | delivered Mpps | offered Mpps | delivered/offered |`,
  "|---|---|---|---|",
  ...rows.map((r) => r.error ? `| ${r.name} | ${failed(r)} | | |`
    : `| ${r.name} | ${cell(r.mpps, f3)} | ${f3(r.offered)} | ${f2(r.share)} |`),
];
const tcpRatio = tcpRuns.length >= 2 ? pairedRatio(tcpRuns[0], tcpRuns[1], (v) => v.gbps) : null;
const tcpXdpRatio = tcpRuns.length >= 3 ? pairedRatio(tcpRuns[2], tcpRuns[1], (v) => v.gbps) : null;
const tcpBaseRatio = tcpRuns.length >= 4 ? pairedRatio(tcpRuns[0], tcpRuns[3], (v) => v.gbps) : null;
const lines = [
  `Written by \`npm run bench:live\` on ${new Date().toISOString().slice(0, 10)}: ${machine}; load average ${load0} at start, ${load1} at end.`,
  `Cases interleaved in ${PPS_ROUNDS} rounds (64-byte frames) and ${TCP_ROUNDS} rounds (TCP); in each round every case runs once: start, ${WARMUP_S} s warm-up,`,
  `one ${WINDOW_S} s window. Rates: median over rounds (min-max). 64-byte frames from bench/c/gen.c (AF_PACKET sendmmsg, pinned to CPU 0)`,
  "in A; forwarder processes in V pinned to CPU 1 (testpmd: `-l 0,1`); native XDP_DROP on b0 (bench/c/xdp_drop.c), counted by b0's",
  "rx_packets. Offered = a0's tx rate; delivered/offered is the median of the per-round shares.",
  "",
  ...ppsLines("forwarder in V", ppsRows),
  ...(hasTestpmd ? [] : ["| dpdk-testpmd | skipped: dpdk-testpmd not installed | | |"]),
  ...(xdpThreadedRows.length ? [
    "",
    "The AF_XDP forwarders again with the veths' NAPI threaded (`echo 1 > /sys/class/net/v0/threaded`, v1 too): v0's receive work",
    "moves from the generator's CPU to a kernel thread, so the forwarder rather than the generator sets the rate:",
    "",
    ...ppsLines("forwarder in V, NAPI threaded", xdpThreadedRows),
  ] : []),
  "",
  `iperf3 TCP A -> B, offloads on (\`iperf3 -c 10.200.0.2 -t ${WINDOW_S + WARMUP_S} -O ${WARMUP_S}\`, once per round):`,
  "",
  "| path through V | Gbit/s | ping RTT A -> B, ms (idle, `ping -c 50 -i 0.02`, median over rounds) |",
  "|---|---|---|",
  ...(tcpRows.length ? tcpRows.map((r) => r.error ? `| ${r.name} | ${failed(r)} | |`
    : `| ${r.name} | ${cell(r.gbps, f2)} | ${f3(r.rttMs)} |`) : ["| (skipped: iperf3 not installed) | | |"]),
  "",
  "Ratios, each the median over rounds of the two rates measured in the same round (min-max):",
  "",
  "| comparison | ratio |",
  "|---|---|",
  ...comparisons.map(([label, r]) => `| ${label} | ${r ? cell(r, f2) : "not measured"} |`),
  `| iperf3 TCP: vnfrun \`packet\` (default spec) / Linux bridge | ${tcpRatio ? cell(tcpRatio, f2) : "not measured"} |`,
  `| iperf3 TCP: vnfrun \`xdp\` (default spec) / Linux bridge | ${tcpXdpRatio ? cell(tcpXdpRatio, f2) : "not measured"} |`,
  ...(tcpBaseRatio ? [`| iperf3 TCP: this vnfrun \`packet\` / vnfrun at ${baseDir} | ${cell(tcpBaseRatio, f2)} |`] : []),
];
const table = lines.join("\n");
console.log("\n" + table);

const md = join(ROOT, "BENCHMARKS.md");
const BEGIN = "<!-- bench:live:begin -->", END = "<!-- bench:live:end -->";
const doc = readFileSync(md, "utf8");
const i = doc.indexOf(BEGIN), k = doc.indexOf(END);
if (onlyTcp) console.log("\n(--only tcp: BENCHMARKS.md left as it is)");
else if (i >= 0 && k > i) {
  writeFileSync(md, doc.slice(0, i + BEGIN.length) + "\n" + table + "\n" + doc.slice(k));
  console.log(`\nwritten into ${md}`);
} else console.log(`\n(no ${BEGIN} / ${END} markers in BENCHMARKS.md; table not written)`);
