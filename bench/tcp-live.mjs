// Live TCP benchmarks (root), sdk/tcp (vnfs/tcp-blast.ts, one connection)
// against the kernel's TCP as the sender into the same kernel receiver in
// namespace R, which counts one connection's goodput between WARMUP and
// WARMUP + SECONDS after accepting it. ROUNDS rounds of each sender,
// medians reported, written into BENCHMARKS.md.
//
// npm run bench:tcp-loss: through a lossy, slow path. vnfs/impair.ts in V
// adds DELAY ms each way and drops LOSS % of frames each way; the kernel
// sender is set to Reno; offloads are off on every veth, so the loss model
// sees wire-size frames:
//
//   [R: r0 10.202.0.1, receiver] --veth-- [V: impair.ts] --veth-- [S: s0]
//        S's kernel (10.202.0.2), a Python sender (TCP_CONGESTION reno)
//        vnfrun tcp-blast.ts on packet:s0 --ip 10.202.0.3
//
// npm run bench:tcp-bulk: R and S joined by one veth, no loss, the kernel
// sender with its default congestion control; once with offloads off on
// both ends (every frame wire-size, both senders; vnfrun on a packet port
// and on an xdp port) and once with them on (the kernel sends TSO
// super-frames; sdk/tcp sends wire-size frames on a packet port, which
// leaves their checksums to the offload and merges them into super-frames).
import { spawn, spawnSync } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeSection } from "./benchmarks-md.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const SECONDS = Number(process.env.SECONDS ?? 10);
const WARMUP = Number(process.env.WARMUP ?? 3);
const DELAY = Number(process.env.DELAY ?? 10);
const LOSS = Number(process.env.LOSS ?? 1);
const BULK = process.argv[2] === "bulk";

const missing = ["ip", "python3", "ethtool"].filter((t) => spawnSync("sh", ["-c", `command -v ${t}`]).status !== 0);
if (process.getuid?.() !== 0 || missing.length) {
  console.error(`bench:tcp-${BULK ? "bulk" : "loss"} needs root${missing.length ? ` and ${missing.join(", ")} (npm run test:tools)` : ""}`);
  process.exit(1);
}

const tag = `bl${process.pid % 100000}`, R = `${tag}r`, V = `${tag}v`, S = `${tag}s`;
const RECV_IP = "10.202.0.1", KERNEL_IP = "10.202.0.2", VNF_IP = "10.202.0.3", SINK_IP = "10.202.0.4";
const sh = (args, opts = {}) => spawnSync(args[0], args.slice(1), { encoding: "utf8", ...opts });
const inNs = (ns, args, opts) => sh(["ip", "netns", "exec", ns, ...args], opts);
const spawnIn = (ns, args) => spawn("ip", ["netns", "exec", ns, ...args], { stdio: ["ignore", "pipe", "pipe"] });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];
const exited = (p) => new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.on("exit", r)));

const NAMESPACES = BULK ? [R, S] : [R, V, S];
const offloads = (on) => (BULK ? [[R, "r0"], [S, "s0"]] : [[R, "r0"], [V, "v0"], [V, "v1"], [S, "s0"]])
  .forEach(([ns, d]) => inNs(ns, ["ethtool", "-K", d, "tso", on, "gso", on, "gro", on]));

function topology() {
  for (const ns of NAMESPACES) sh(["ip", "netns", "add", ns]);
  if (BULK) {
    sh(["ip", "link", "add", "r0", "netns", R, "type", "veth", "peer", "name", "s0", "netns", S]);
    sh(["ip", "-n", R, "addr", "add", `${RECV_IP}/24`, "dev", "r0"]);
    sh(["ip", "-n", S, "addr", "add", `${KERNEL_IP}/24`, "dev", "s0"]);
    for (const [ns, d] of [[R, "r0"], [S, "s0"], [R, "lo"], [S, "lo"]]) sh(["ip", "-n", ns, "link", "set", d, "up"]);
    for (const ns of NAMESPACES) inNs(ns, ["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
    return;
  }
  sh(["ip", "link", "add", "r0", "netns", R, "type", "veth", "peer", "name", "v0", "netns", V]);
  sh(["ip", "link", "add", "s0", "netns", S, "type", "veth", "peer", "name", "v1", "netns", V]);
  sh(["ip", "-n", R, "addr", "add", `${RECV_IP}/24`, "dev", "r0"]);
  sh(["ip", "-n", S, "addr", "add", `${KERNEL_IP}/24`, "dev", "s0"]);
  for (const [ns, d] of [[R, "r0"], [V, "v0"], [V, "v1"], [S, "s0"], [R, "lo"], [V, "lo"], [S, "lo"]]) sh(["ip", "-n", ns, "link", "set", d, "up"]);
  for (const ns of NAMESPACES) inNs(ns, ["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
  offloads("off");
}

// One connection's goodput over [WARMUP, WARMUP + SECONDS] after accept, in Mbit/s.
const RECEIVER = `import socket,sys,time
w,s=float(sys.argv[1]),float(sys.argv[2])
l=socket.socket(); l.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1); l.bind(("${RECV_IP}",5001)); l.listen(4); print("ready",flush=True)
c,_=l.accept(); c.settimeout(0.1); t0=time.monotonic(); counted=0
while True:
  try: d=c.recv(1<<20)
  except socket.timeout: d=None
  t=time.monotonic()-t0
  if t>=w+s or d==b"": break
  if d and t>=w: counted+=len(d)
print(counted*8/s/1e6,flush=True)`;
// The kernel's TCP as the sender (Reno under loss), writing as fast as the window allows.
const SENDER = `import socket
c=socket.socket(); ${BULK ? "" : 'c.setsockopt(socket.IPPROTO_TCP,socket.TCP_CONGESTION,b"reno"); '}c.connect(("${RECV_IP}",5001))
b=bytes(1<<16)
while True: c.sendall(b)`;

async function withImpair(body) {
    const cfg = JSON.stringify({ delay: DELAY, loss: LOSS });
  const p = spawnIn(V, [process.execPath, join(root, "bin/vnfrun.js"), join(root, "vnfs/impair.ts"), "--quiet", "--port", "in=packet:v0", "--port", "out=packet:v1", "--config", cfg]);
  let err = "";
  p.stderr.on("data", (d) => (err += d));
  try {
    for (let i = 0; i < 150 && inNs(S, ["ping", "-c", "1", "-W", "0.5", RECV_IP]).status !== 0; i++) {
      if (p.exitCode !== null) throw new Error(`impair stopped: ${err}`);
      await sleep(100);
    }
    return await body();
  } finally {
    p.kill("SIGINT");
    await exited(p);
  }
}

/** The sender's retransmissions, timeouts and tail loss probes, from the kernel's counters in S (nstat). */
function kernelLosses() {
  const out = inNs(S, ["nstat", "-az", "TcpRetransSegs", "TcpExtTCPTimeouts", "TcpExtTCPLossProbes"]).stdout ?? "";
  const get = (k) => Number(new RegExp(`${k}\\s+(\\d+)`).exec(out)?.[1] ?? NaN);
  return { retrans: get("TcpRetransSegs"), rto: get("TcpExtTCPTimeouts"), probes: get("TcpExtTCPLossProbes") };
}

/** Starts the receiver, then the sender; the receiver's figure once it has one. */
async function measure(startSender) {
  const recv = spawnIn(R, ["python3", "-c", RECEIVER, String(WARMUP), String(SECONDS)]);
  let out = "";
  recv.stdout.on("data", (d) => (out += d));
  try {
    for (let i = 0; i < 100 && !out.includes("ready"); i++) await sleep(50);
    const before = kernelLosses();
    const sender = startSender();
    const senderGone = exited(sender);
    let said = "";
    sender.stdout.on("data", (d) => (said += d));
    try {
      await Promise.race([exited(recv), sleep((WARMUP + SECONDS + 30) * 1000)]);
    } finally {
      sender.kill("SIGINT");   // vnfrun prints its summary
      await Promise.race([senderGone, sleep(5000)]);
      sender.kill("SIGKILL");
      await senderGone;
    }
    const mbps = Number(out.split("\n")[1]);
    if (!Number.isFinite(mbps)) throw new Error(`the receiver printed no goodput: ${out}`);
    const after = kernelLosses();
    let losses = { retrans: after.retrans - before.retrans, rto: after.rto - before.rto, probes: after.probes - before.probes };
    if (said.trim().startsWith("{")) {
      const summary = JSON.parse(said), c = summary.vnf_counters ?? {};
      if (process.env.VERBOSE) process.stderr.write(`drops ${JSON.stringify(summary.drops)}\n`);
      losses = { retrans: c.tcp_retransSegs, rto: c.tcp_rtoExpired, probes: c.tcp_tailLossProbes };
      if (process.env.VERBOSE) process.stderr.write(`${JSON.stringify(Object.fromEntries(Object.entries(c).filter(([k, v]) => k.startsWith("tcp_") && v)))}\n`);
    }
    return { mbps, losses };
  } finally {
    recv.kill("SIGKILL");
  }
}

// The kernel's TCP into vnfrun's tcp-sink on R's side of the veth (SINK_IP),
// connecting once the VNF answers.
const TO_SINK = `import socket,time
for i in range(200):
  try: c=socket.create_connection(("${SINK_IP}",5001),timeout=1); break
  except OSError: time.sleep(0.1)
c.settimeout(None); b=bytes(1<<16)
try:
  while True: c.sendall(b)
except OSError: pass`;

/** The kernel sender into tcp-sink on `port` (R's end): tcp-sink's own
 *  application-level rate over SECONDS after WARMUP, in Mbit/s. */
async function measureSink(port) {
  const run = spawnIn(R, [process.execPath, join(root, "bin/vnfrun.js"), join(root, "vnfs/tcp-sink.ts"), "--json", "--port", port, "--ip", `${SINK_IP}/24`,
    "--duration", String(WARMUP + SECONDS + 0.5), "--config", JSON.stringify({ warmup: WARMUP, report: 1 })]);
  let err = "", said = "";
  run.stderr.on("data", (d) => (err += d));
  run.stdout.on("data", (d) => (said += d));
  const gone = exited(run);
  const sender = spawnIn(S, ["python3", "-c", TO_SINK]);
  try {
    await Promise.race([gone, sleep((WARMUP + SECONDS + 30) * 1000)]);
  } finally {
    run.kill("SIGKILL");
    sender.kill("SIGKILL");
    await exited(sender);
  }
  const last = [...err.matchAll(/tcp-sink core 0: ([\d.]+) Gbit\/s over ([\d.]+) s/g)].pop();
  if (!last || Number(last[2]) < SECONDS - 1.5) throw new Error(`tcp-sink said no rate over ${SECONDS} s: ${err.slice(-500)}`);
  const c = said.trim().startsWith("{") ? JSON.parse(said).vnf_counters ?? {} : {};
  return { mbps: Number(last[1]) * 1000, losses: { retrans: c.tcp_retransSegs ?? NaN, rto: c.tcp_rtoExpired ?? NaN, probes: c.tcp_tailLossProbes ?? NaN } };
}

const kernelSender = () => spawnIn(S, ["python3", "-c", SENDER]);
const vnfSender = (port) => () => { const p = spawnIn(S, [process.execPath, join(root, "bin/vnfrun.js"), join(root, "vnfs/tcp-blast.ts"), "--json", "--port", port,
  "--ip", `${VNF_IP}/24`, "--config", JSON.stringify({ to: `${RECV_IP}:5001`, connections: 1 })]); if (process.env.VERBOSE) p.stderr.on("data", (d) => process.stderr.write(d)); return p; };

const load0 = loadavg()[0];
const machine = `Machine: ${cpus().length} x ${cpus()[0]?.model ?? "?"}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}, load ${load0.toFixed(1)} at the start.`;
const fixed = (xs) => xs.map((x) => x.toFixed(2)).join(", ");
/** ROUNDS rounds of kernel -> kernel, vnfrun's tcp-blast on each of `ports`
 *  (S's end) and, with `sinks`, the kernel into tcp-sink on each of those (R's
 *  end): { kernel: { mbps, losses }[], "packet:s0": ..., "sink packet:r0": ... }. */
async function rounds(label, ports = ["packet:s0"], sinks = []) {
  const cases = [["kernel", () => measure(kernelSender)], ...ports.map((p) => [p, () => measure(vnfSender(p))]),
    ...sinks.map((p) => [`sink ${p}`, () => measureSink(p)])];
  const out = Object.fromEntries(cases.map(([name]) => [name, []]));
  for (let r = 0; r < ROUNDS; r++)
    for (const [name, run] of cases) {
      const m = await run();
      out[name].push(m);
      process.stderr.write(`round ${r + 1}/${ROUNDS} ${label}${name}: ${m.mbps.toFixed(2)} Mbit/s, ${JSON.stringify(m.losses)}\n`);
    }
  return out;
}
const mbps = (ms) => ms.map((m) => m.mbps);

let table;
try {
  topology();
  if (BULK) {
    const cases = [];
    for (const on of (process.env.OFFLOADS ?? "off,on").split(",")) {
      offloads(on);
      // No TSO or GRO through an XDP socket: with offloads on only the packet port.
      const ports = on === "off" ? ["packet:s0", "xdp:s0"] : ["packet:s0"];
      const sinks = ports.map((p) => p.replace("s0", "r0"));
      const r = await rounds(`offloads ${on}: `, ports, sinks);
      for (const p of ports) cases.push([on, `tcp-blast.ts on ${p} -> kernel`, r.kernel, r[p]]);
      for (const p of sinks) cases.push([on, `kernel -> tcp-sink.ts on ${p}`, r.kernel, r[`sink ${p}`]]);
    }
    table = [
      machine,
      `Command: \`npm run bench:tcp-bulk\` (ROUNDS=${ROUNDS}; one veth, no loss, one connection; goodput over ${SECONDS} s after ${WARMUP} s, counted by the receiver: a Python socket for the kernel, tcp-sink's own count for vnfrun).`,
      "",
      "| offloads (TSO, GSO, GRO) | vnfrun as | kernel -> kernel, Mbit/s, median | vnfrun, Mbit/s, median | vnfrun / kernel | runs (kernel; vnfrun) |",
      "|---|---|---|---|---|---|",
      ...cases.map(([on, port, k, v]) => `| ${on} | ${port} | ${median(mbps(k)).toFixed(0)} | ${median(mbps(v)).toFixed(0)} | ${(median(mbps(v)) / median(mbps(k))).toFixed(2)} | ${fixed(mbps(k))}; ${fixed(mbps(v))} |`),
    ].join("\n");
  } else {
    const r = await withImpair(() => rounds(""));
    r.vnfrun = r["packet:s0"];
    const reno = median(mbps(r.kernel)), vnf = median(mbps(r.vnfrun));
    const lossText = (ms) => ms.map(({ losses: l }) => `${l.retrans}; ${l.rto}; ${l.probes}`).join(", ");
    table = [
      machine,
      `Command: \`npm run bench:tcp-loss\` (ROUNDS=${ROUNDS}; vnfs/impair.ts adds ${DELAY} ms and ${LOSS}% loss each way, offloads off; one connection into a kernel receiver, goodput over ${SECONDS} s after ${WARMUP} s).`,
      "",
      "| sender | goodput, Mbit/s, median | runs | retransmitted segments; timeouts (RTO); tail loss probes, per run |",
      "|---|---|---|---|",
      `| kernel TCP, Reno (SACK on) | ${reno.toFixed(2)} | ${fixed(mbps(r.kernel))} | ${lossText(r.kernel)} |`,
      `| vnfrun tcp-blast.ts (sdk/tcp: NewReno, SACK) | ${vnf.toFixed(2)} | ${fixed(mbps(r.vnfrun))} | ${lossText(r.vnfrun)} |`,
      "",
      `vnfrun / Reno: ${(vnf / reno).toFixed(2)}.`,
    ].join("\n");
  }
} finally {
  for (const ns of NAMESPACES) sh(["ip", "netns", "del", ns]);
}
console.log(table);
if (!process.argv.includes("--no-write"))
  writeSection(BULK ? "tcp-bulk" : "tcp-loss", table, BULK ? "TCP bulk on a veth: sdk/tcp against the kernel's TCP (issue 17)" : "TCP under loss and delay: sdk/tcp against Linux Reno (issue 17)");
