// npm run bench:vnfs: the stateful VNFs on one core, in memory, 64-byte
// frames, each against l2fwd on the same traffic in the same run (the
// cases alternate, REPS rounds), through the CLI as a user runs them:
//
//   firewall   vnfs/stateful-firewall.ts, gen both sides (handshake=1, the
//              reply side reply=1): N live connections, both directions
//   nat        vnfs/nat.ts, gen inside -> sink: N bindings, outbound
//   nat-new    vnfs/nat.ts, gen life=1: every frame a new inside flow, so a
//              new binding (the table full, evicting): new bindings a second
//   lb         vnfs/lb.ts, gen -> VIP -> sink: N tracked flows
//
// Each run: --duration S after --warmup W (the tables fill during the
// warm-up; the rate is of the live tables). Prints the table and writes it
// into BENCHMARKS.md (bench:vnfs markers).
//
//   node bench/vnfs.mjs [--reps R] [--seconds S] [--only firewall,nat,...]
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeSection } from "./benchmarks-md.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i < 0 ? dflt : args[i + 1]; };
const REPS = Number(opt("--reps", process.env.REPS ?? 3));
const SECONDS = Number(opt("--seconds", 3));
const only = opt("--only", "");

const example = (name) => JSON.parse(readFileSync(join(root, "vnfs", `${name}.example.json`), "utf8"));
// Tables sized to the flows (capacity 1.25 x): a table's slots are its
// memory, and the lookups' cache misses are most of the cost (a 10k-flow
// firewall in a 262,144-entry table ran at 1.04 Mpps, in a 16,384 one 2.79).
const fwCfg = (flows) => JSON.stringify({ ...example("stateful-firewall"), capacity: Math.ceil(flows * 1.25), capacity6: 1024, logDrops: 0 });
const both = (flows) => [`in=gen:flows=${flows},handshake=1`, `out=gen:flows=${flows},handshake=1,reply=1`];

// [key, what, vnf, ports, config, warm-up s]; each case's l2fwd twin runs the same ports.
const CASES = [
  ["firewall-10k", "stateful firewall, 10,000 live TCP connections, both directions (VPP's ACL anchor size)", "vnfs/stateful-firewall.ts", both(10_000), fwCfg(10_000), 2],
  ["firewall-100k", "stateful firewall, 100,000 live TCP connections, both directions", "vnfs/stateful-firewall.ts", both(100_000), fwCfg(100_000), 2],
  ["firewall-1m", "stateful firewall, 1,000,000 live TCP connections, both directions", "vnfs/stateful-firewall.ts", both(1_000_000), fwCfg(1_000_000), 6],
  ["nat-100k", "NAT44, 100,000 bindings (UDP, outbound)", "vnfs/nat.ts", ["in=gen:flows=100000", "out=sink"], JSON.stringify({ ...example("nat"), capacity: 125_000 }), 2],
  ["nat-new", "NAT44, a new binding every frame (table full: evicting)", "vnfs/nat.ts", ["in=gen:flows=100000,life=1", "out=sink"],
    JSON.stringify({ ...example("nat"), capacity: 125_000, whenFull: "evict", forwards: [] }), 1],
  ["lb-100k", "LB (Maglev, NAT mode), 100,000 tracked flows", "vnfs/lb.ts", ["in=gen:flows=100000", "out=sink"], JSON.stringify({ ...example("lb"), capacity: 125_000 }), 2],
].filter((c) => !only || only.split(",").some((k) => c[0].startsWith(k)));

function runOnce(vnf, ports, config, warm) {
  const a = [join(root, "bin/vnfrun.js"), join(root, vnf), ...ports.flatMap((p) => ["--port", p]),
    "--duration", String(SECONDS), "--warmup", String(warm), "--json", "--busy-poll"];
  if (config) a.push("--config", config);
  const j = JSON.parse(execFileSync(process.execPath, a, { encoding: "utf8", maxBuffer: 1 << 26, stdio: ["ignore", "pipe", "ignore"] }));
  return { mpps: j.rx_mpps, counters: j.vnf_counters ?? {}, seconds: j.seconds };
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const rows = [];
for (const [key, what, vnf, ports, config, warm] of CASES) {
  const vnfRates = [], baseRates = [], extra = [];
  for (let r = 0; r < REPS; r++) {
    const v = runOnce(vnf, ports, config, warm);
    const b = runOnce("vnfs/l2fwd.ts", ports, undefined, warm);
    vnfRates.push(v.mpps);
    baseRates.push(b.mpps);
    if (key === "nat-new") extra.push(v.counters.newBindings / (v.seconds + warm) / 1e6);
    process.stderr.write(`${key} rep ${r + 1}: ${v.mpps.toFixed(2)} Mpps, l2fwd ${b.mpps.toFixed(2)}${extra.length ? `, new bindings ${extra.at(-1).toFixed(2)} M/s` : ""}\n`);
  }
  rows.push({ key, what, ports, vnf: median(vnfRates), base: median(baseRates), ratio: median(vnfRates.map((x, i) => x / baseRates[i])), runs: vnfRates, extra: extra.length ? median(extra) : undefined });
}

const f = (x) => x.toFixed(2);
const table = [
  `Machine: ${execFileSync("sh", ["-c", "nproc"]).toString().trim()} CPUs shared with other work (load ${execFileSync("sh", ["-c", "cut -d' ' -f1 /proc/loadavg"]).toString().trim()} at the end), Node ${process.version}, ${new Date().toISOString().slice(0, 10)}.`,
  `Command: \`node bench/vnfs.mjs --reps ${REPS} --seconds ${SECONDS}\` (one core, --busy-poll, 64-byte frames, each case and l2fwd on the same ports alternating; Mpps = frames received by the core a second).`,
  "",
  "| case | what | ports | VNF Mpps (median) | l2fwd Mpps, same ports | VNF / l2fwd | VNF runs |",
  "|---|---|---|---|---|---|---|",
  ...rows.map((r) => `| ${r.key} | ${r.what}${r.extra !== undefined ? `; **${f(r.extra)} M new bindings/s**` : ""} | \`${r.ports.join(" ")}\` | ${f(r.vnf)} | ${f(r.base)} | ${f(r.ratio)} | ${r.runs.map(f).join(", ")} |`),
].join("\n");
console.log(table);
if (!only) writeSection("vnfs", table, "Stateful VNFs on one core (issue 13)");
