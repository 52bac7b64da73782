// iperf3 TCP through the NAT against the same path with l2fwd (no
// translation), alternating, on packet ports (vnet) between namespaces:
//   [A 10.200.1.1] --veth-- [V: vnfrun] --veth-- [B 10.200.2.1]
// A's gateway and B's neighbour for the NAT's outside address are static
// neighbour entries (the NAT is a bump in the wire). Run as root.
//   node bench/nat-iperf.mjs [--reps R] [--seconds S]
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const opt = (n, d) => { const i = args.indexOf(n); return i < 0 ? d : Number(args[i + 1]); };
const REPS = opt("--reps", 3), SECONDS = opt("--seconds", 5);
const tag = `nb${process.pid % 10000}`, A = `${tag}a`, B = `${tag}b`, V = `${tag}v`;
const ip = (...a) => execFileSync("ip", a, { stdio: ["ignore", "ignore", "inherit"] });
const ns = (n, ...cmd) => execFileSync("ip", ["netns", "exec", n, ...cmd], { encoding: "utf8" });
const mac = (n, dev) => /link\/ether (\S+)/.exec(ns(n, "ip", "link", "show", dev))[1];

function setup() {
  for (const n of [A, B, V]) ip("netns", "add", n);
  ip("link", "add", "a0", "netns", A, "type", "veth", "peer", "name", "v0", "netns", V);
  ip("link", "add", "b0", "netns", B, "type", "veth", "peer", "name", "v1", "netns", V);
  for (const [n, d] of [[A, "a0"], [B, "b0"], [V, "v0"], [V, "v1"], [A, "lo"], [B, "lo"]]) ip("-n", n, "link", "set", d, "up");
  ip("-n", A, "addr", "add", "10.200.1.1/24", "dev", "a0");
  ip("-n", A, "route", "add", "default", "via", "10.200.1.254");
  ip("-n", A, "neigh", "replace", "10.200.1.254", "lladdr", mac(B, "b0"), "dev", "a0", "nud", "permanent");
  ip("-n", B, "addr", "add", "10.200.2.1/24", "dev", "b0");
  ip("-n", B, "neigh", "replace", "10.200.2.100", "lladdr", mac(A, "a0"), "dev", "b0", "nud", "permanent");
  // l2fwd's path: B answers A directly (same MACs, no translation).
  ip("-n", B, "route", "add", "10.200.1.0/24", "via", "10.200.2.100");
}
const cleanup = () => { for (const n of [A, B, V]) spawnSync("ip", ["netns", "del", n], { stdio: "ignore" }); };

async function once(vnf, config) {
  const a = [join(root, "bin/vnfrun.js"), join(root, vnf), "--port", "in=packet:v0", "--port", "out=packet:v1", "--duration", String(SECONDS + 6)];
  if (config) a.push("--config", config);
  const run = spawn("ip", ["netns", "exec", V, process.execPath, ...a], { stdio: "ignore" });
  const server = spawn("ip", ["netns", "exec", B, "iperf3", "-s", "-1", "-B", "10.200.2.1"], { stdio: "ignore" });
  try {
    for (let i = 0; i < 100 && spawnSync("ip", ["netns", "exec", A, "ping", "-c", "1", "-W", "0.3", "10.200.2.1"]).status !== 0; i++);
    const j = JSON.parse(ns(A, "iperf3", "-c", "10.200.2.1", "-t", String(SECONDS), "-J"));
    return j.end.sum_received.bits_per_second / 1e9;
  } finally {
    run.kill("SIGINT");
    server.kill();
    await new Promise((r) => run.on("close", r));
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
cleanup();
setup();
try {
  const nat = [], wire = [];
  const cfg = JSON.stringify({ inside: ["10.200.1.0/24"], outside: ["10.200.2.100"] });
  for (let r = 0; r < REPS; r++) {
    nat.push(await once("vnfs/nat.ts", cfg));
    wire.push(await once("vnfs/l2fwd.ts"));
    process.stderr.write(`rep ${r + 1}: nat ${nat.at(-1).toFixed(2)} Gbit/s, l2fwd ${wire.at(-1).toFixed(2)}\n`);
  }
  console.log(`iperf3 TCP A -> B, ${SECONDS} s, packet ports (vnet), one core: nat ${median(nat).toFixed(2)} Gbit/s (${nat.map((x) => x.toFixed(2)).join(", ")}), ` +
    `l2fwd ${median(wire).toFixed(2)} (${wire.map((x) => x.toFixed(2)).join(", ")}), nat / l2fwd ${median(nat.map((x, i) => x / wire[i])).toFixed(2)}`);
} finally {
  cleanup();
}
