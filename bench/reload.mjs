// npm run bench:reload: hot reload under load. For l2fwd.ts and the
// firewall, on 1 and 2 cores (gen -> VNF -> sink, as fast as it goes), a
// copy of the VNF is saved SAVES times, one save every GAP_MS, while --watch
// reloads it. Reports medians over the saves: save to every core switched,
// the longest a core held a batch at the swap, and the rx rate in the
// seconds before, during and after the saves (from the once-a-second line).
// A pause is the longest gap between two batches on any core that the
// reload caused (loading the bundle and init(), or migrate() and the wait
// for the other cores); the hold is the second kind alone.
// Then, as root, the loss check: a second vnfrun sends at half of what a
// forwarding vnfrun carries over a veth pair (packet: ports, its own
// namespace), while the forwarder's file is saved RELOADS times under
// --watch (saves, not `vnfrun reload`: a node process per reload would take
// the forwarder's CPU on a small machine); every frame the sender put on the
// wire must reach the forwarder's VNF. Nothing is pinned: on two CPUs a
// pinned core cannot get away from esbuild rebuilding the file.
// Writes the table into BENCHMARKS.md between the reload markers.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { writeSection } from "./benchmarks-md.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { run } = createRequire(import.meta.url)(join(root, "dist/index.js"));

const SAVES = Number(process.env.SAVES ?? 20);
const GAP_MS = Number(process.env.GAP_MS ?? 250);
// The loss check's port: packet:s1 without the virtio-net header, so 64-byte
// frames and a 4096-slot ring (with the header, the default, the ring holds
// 256 super-frames, which at these rates absorb under a millisecond).
const PORT = process.env.LOSS_PORT ?? "packet:s1,novnet";
const BEFORE_S = 2, AFTER_S = 2;
const dir = mkdtempSync(join(tmpdir(), "vnfrun-bench-reload-"));
const median = (xs) => (xs.length ? [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)] : NaN);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function one(vnf, cores) {
  // A copy whose SDK import points back here, so saves touch only the copy.
  const text = readFileSync(join(root, vnf), "utf8").replace(/from "\.\.\/sdk"/g, `from ${JSON.stringify(join(root, "sdk"))}`);
  const file = join(dir, `${vnf.replace(/\W/g, "_")}-${cores}.ts`);
  writeFileSync(file, text);
  const rates = [];   // [seconds since start, rx Mpps]
  const lines = [];
  const t0 = performance.now();
  const durationS = BEFORE_S + (SAVES * GAP_MS) / 1000 + AFTER_S + 1;
  const running = run({
    vnf: file, watch: true, cores, dist: cores > 1 ? "sw1" : "none", ports: ["in=gen:flows=1000,size=64", "out=sink"], durationS,
    onLine: (l) => rates.push([(performance.now() - t0) / 1000, Number(/rx ([\d.]+) Mpps/.exec(l)[1])]),
    onMessage: (t) => lines.push(t),
  });
  await sleep(BEFORE_S * 1000 + 300);
  const savesFrom = (performance.now() - t0) / 1000;
  for (let i = 0; i < SAVES; i++) {
    writeFileSync(file, `${text}\n// save ${i}\n`);
    await sleep(GAP_MS);
  }
  const savesTo = (performance.now() - t0) / 1000;
  const s = await running;
  const live = s.reloads.filter((r) => r.ok);
  const phase = (a, b) => median(rates.filter(([t]) => t > a && t <= b).map(([, r]) => r));
  return {
    vnf, cores, saves: SAVES, live: live.length, refused: s.reloads.length - live.length,
    switchMs: median(live.map((r) => r.ms)), pauseMs: median(live.map((r) => r.pauseMs)), maxPauseMs: Math.max(...live.map((r) => r.pauseMs)),
    holdMs: median(live.map((r) => r.holdMs)),
    before: phase(0.5, savesFrom), during: phase(savesFrom + 1, savesTo), after: phase(savesTo + 1, 1e9),
    errors: lines.filter((l) => !/^gen \d+ live/.test(l)),
  };
}

// LOSS_ONLY=1: the loss check alone, printed, BENCHMARKS.md left as it is.
const LOSS_ONLY = process.env.LOSS_ONLY === "1";
const results = [];
if (!LOSS_ONLY) for (const vnf of ["vnfs/l2fwd.ts", "vnfs/firewall.ts"])
  for (const cores of [1, 2]) {
    const r = await one(vnf, cores);
    results.push(r);
    process.stderr.write(`${vnf} ${cores} core(s): ${r.live}/${r.saves} live, switch ${r.switchMs.toFixed(1)} ms, pause ${r.pauseMs.toFixed(2)} ms (max ${r.maxPauseMs.toFixed(2)}, hold ${r.holdMs.toFixed(2)}), Mpps ${r.before.toFixed(2)} / ${r.during.toFixed(2)} / ${r.after.toFixed(2)}${r.errors.length ? `; ${r.errors.join("; ")}` : ""}\n`);
  }
const loss = process.getuid?.() === 0 ? await lossUnderReloads() : undefined;
rmSync(dir, { recursive: true, force: true });

// --- zero loss on a live port across RELOADS reloads --------------------
async function lossUnderReloads() {
  const RELOADS = Number(process.env.RELOADS ?? 100);
  const ns = `br${process.pid % 100000}`, cli = join(root, "bin", "vnfrun.js");
  const sh = (args) => spawnSync("ip", ["netns", "exec", ns, ...args], { stdio: "ignore" });
  spawnSync("ip", ["netns", "add", ns]);
  try {
    spawnSync("ip", ["-n", ns, "link", "add", "s0", "type", "veth", "peer", "name", "s1"]);
    sh(["sysctl", "-q", "net.ipv6.conf.all.disable_ipv6=1"]);   // no ND/MLD frames of the stack's own
    for (const d of ["s0", "s1", "lo"]) spawnSync("ip", ["-n", ns, "link", "set", d, "up"]);
    const vnfrun = (args) => {
      const p = spawn("ip", ["netns", "exec", ns, process.execPath, cli, ...args], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      p.stdout.on("data", (d) => (out += d));
      return { p, done: new Promise((res) => p.on("exit", () => res(out ? JSON.parse(out) : undefined))) };
    };
    const forwarder = () => vnfrun([join(dir, "fwd.ts"), "--watch", "--port", `in=${PORT}`, "--port", "out=sink", "--json"]);
    const sender = (gen, extra = []) => vnfrun([join(root, "vnfs/l2fwd.ts"), "--port", `in=gen:flows=1000,size=64${gen}`, "--port", "out=packet:s0", "--json", ...extra]);
    writeFileSync(join(dir, "fwd.ts"), readFileSync(join(root, "vnfs/l2fwd.ts"), "utf8").replace(/from "\.\.\/sdk"/g, `from ${JSON.stringify(join(root, "sdk"))}`));
    const stop = async (r) => { r.p.kill("SIGINT"); return r.done; };
    // Capacity: the sender flat out for 3 s.
    const fwd = forwarder();
    await sleep(1500);
    const flat = await sender("", ["--duration", "3"]).done;
    const cap = (await stop(fwd)).ports[0].rx_packets / flat.seconds;
    // Half of it, for as long as the reloads take; the same without saves
    // first (what the path loses anyway on this machine), then with them.
    const SAVE_MS = 150, rate = Math.floor(cap / 2), seconds = RELOADS * SAVE_MS / 1000 + 2;
    const text = readFileSync(join(dir, "fwd.ts"), "utf8");
    const phase = async (saves) => {
      const fwd = forwarder();
      await sleep(1500);
      const send = sender(`,rate=${rate},count=${Math.floor(rate * seconds)}`);
      await sleep(500);
      for (let i = 0; i < saves; i++) {
        writeFileSync(join(dir, "fwd.ts"), `${text}\n// save ${i}\n`);
        await sleep(SAVE_MS);
      }
      const sent = await send.done;
      await sleep(500);
      const got = await stop(fwd);
      const wire = sent.ports[1].tx_packets, received = got.ports[0].rx_packets;
      return { live: got.reloads.filter((r) => r.ok).length, maxPauseMs: Math.max(0, ...got.reloads.map((r) => r.pauseMs ?? 0)),
        longestPausesMs: got.reloads.map((r) => r.pauseMs ?? 0).sort((a, b) => b - a).slice(0, 8).map((x) => +x.toFixed(1)), wire, received, lost: wire - received, drops: got.drops };
    };
    const control = await phase(0);
    const reloads = await phase(RELOADS);
    const result = { port: PORT, reloads: RELOADS, rateMpps: rate / 1e6, capMpps: cap / 1e6, control, ...reloads };
    process.stderr.write(`loss check: ${JSON.stringify(result)}\n`);
    return result;
  } finally {
    spawnSync("ip", ["netns", "del", ns]);
  }
}

const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "-");
const table = [
  `Machine: ${cpus().length} x ${cpus()[0]?.model ?? "?"}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}.`,
  `Command: \`npm run bench:reload\` (SAVES=${SAVES}, one save every ${GAP_MS} ms under --watch, gen flows=1000 size=64 -> VNF -> sink, 2 cores in sw1).`,
  "",
  "| VNF | cores | reloads live | save to all switched, median ms | longest pause, median / max ms | hold, median ms | rx Mpps before / during / after |",
  "|---|---|---|---|---|---|---|",
  ...results.map((r) => `| ${r.vnf} | ${r.cores} | ${r.live} of ${r.saves} | ${f(r.switchMs)} | ${f(r.pauseMs, 2)} / ${f(r.maxPauseMs, 2)} | ${f(r.holdMs, 2)} | ${f(r.before, 2)} / ${f(r.during, 2)} / ${f(r.after, 2)} |`),
  ...(loss ? ["", `Live port, loss check (root): vnfs/l2fwd.ts on ${loss.port} of a veth pair, a second vnfrun sending 64-byte frames into s0 at ${loss.rateMpps.toFixed(3)} Mpps (half of the ${loss.capMpps.toFixed(3)} Mpps it carried flat out). Without reloads: ${loss.control.wire} frames on the wire, ${loss.control.lost} lost. With ${loss.live} reloads live from ${loss.reloads} saves (longest pause ${loss.maxPauseMs.toFixed(1)} ms): ${loss.wire} frames on the wire, ${loss.received} received by the forwarder, ${loss.lost} lost; drops counted by the forwarder: ${Object.entries(loss.drops).filter(([, n]) => n).map(([k, n]) => `${k} ${n}`).join(", ") || "none"}.`] : []),
].join("\n");
console.log(table);
if (LOSS_ONLY) process.exit(0);

writeSection("reload", table, "Hot reload");
