// npm run bench:tcp: sdk/tcp with two stacks back to back in memory on ONE
// thread (both ends share the core, so the per-core figures are for a
// client and a server together). Packets live in a shared pool of 2 KiB
// slots, as in the engine: the sender builds a segment in a slot, the
// receiver parses it in place and takes in-order data as a view of it.
// Three loads, each RUNS times for SECONDS, medians reported:
//   transactions: CONNS connections, a 64-byte request and a 64-byte answer
//   connections:  open, one 64-byte request and answer, server closes,
//                 client closes (TIME_WAIT 1 s on the server, 16 server ports)
//   bulk:         one connection writing 1448-byte messages, Gbit/s of payload
// Writes the table into BENCHMARKS.md between the tcp markers.
import { build } from "esbuild";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { writeSection } from "./benchmarks-md.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const RUNS = Number(process.env.RUNS ?? 5);
const SECONDS = Number(process.env.SECONDS ?? 2);
const CONNS = Number(process.env.CONNS ?? 64);
const WRITE = !process.argv.includes("--no-write");

const dir = mkdtempSync(join(tmpdir(), "vnfrun-bench-tcp-"));
const file = join(dir, "tcp.mjs");
await build({ entryPoints: [join(root, "sdk/tcp/index.ts")], bundle: true, format: "esm", platform: "neutral", target: "es2022", outfile: file, logLevel: "warning" });
const { TcpStack } = await import(pathToFileURL(file).href);
rmSync(dir, { recursive: true, force: true });

const SLOT = 2048, SLOTS = 8192;
// Rates are per CPU-second of this process (user + system), not per wall
// second: on a shared machine the wall clock counts other programs' turns.
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };

/** A pool of slots and one queue per direction (what the engine's rings do). */
class Link {
  constructor() {
    this.bytes = new Uint8Array(SLOT * SLOTS);
    this.free = new Int32Array(SLOTS); this.nFree = SLOTS;
    for (let i = 0; i < SLOTS; i++) this.free[i] = i;
  }
}
class Side {
  constructor(link) { this.link = link; this.bytes = link.bytes; this.qOff = new Int32Array(SLOTS); this.qLen = new Int32Array(SLOTS); this.n = 0; }
  alloc(len) {
    const l = this.link;
    if (len > SLOT || l.nFree === 0) return -1;
    return l.free[--l.nFree] * SLOT;
  }
  send(off, len) { this.qOff[this.n] = off; this.qLen[this.n] = len; this.n++; }
  /** Deliver everything queued to `to`, then give the slots back. */
  drainInto(to) {
    const n = this.n, l = this.link;
    for (let i = 0; i < n; i++) to.input(l.bytes, this.qOff[i], this.qLen[i]);
    for (let i = 0; i < n; i++) l.free[l.nFree++] = this.qOff[i] / SLOT;
    this.n = 0;
  }
}

function pair(extra = {}) {
  const link = new Link();
  const aOut = new Side(link), bOut = new Side(link);
  const clock = () => performance.now();
  const a = new TcpStack({ clock, out: aOut, local4: "10.0.0.1", ...extra });
  const b = new TcpStack({ clock, out: bOut, local4: "10.0.0.2", ...extra });
  /** One cycle per side: timers, packets in, send. */
  const cycle = () => {
    a.poll(); bOut.drainInto(a); a.flush();
    b.poll(); aOut.drainInto(b); b.flush();
  };
  return { a, b, cycle };
}

function transactions() {
  const { a, b, cycle } = pair();
  const req = new Uint8Array(64).fill(1), ans = new Uint8Array(64).fill(2);
  let done = 0;
  b.listen(7, { accepted: () => {}, data: (c, _b, _o, n) => { c.write(ans, 0, 64); return n; } });
  const client = { connected: (c) => c.write(req, 0, 64), data: (c, _b, _o, n) => { done++; c.write(req, 0, 64); return n; } };
  for (let i = 0; i < CONNS; i++) a.connect("10.0.0.2", 7, client);
  for (let i = 0; i < 50; i++) cycle(); // handshakes and warm-up
  done = 0;
  const c0 = cpu(), end = performance.now() + SECONDS * 1000;
  while (performance.now() < end) for (let i = 0; i < 64; i++) cycle();
  return done / (cpu() - c0);
}

function connections() {
  const { a, b, cycle } = pair({ timeWaitMs: 1000 });
  const req = new Uint8Array(64).fill(1), ans = new Uint8Array(64).fill(2);
  let closed = 0, open = 0, refused = 0;
  // 16 server ports: at these rates one port's 28k ephemeral 4-tuples would
  // all sit in the server's TIME_WAIT (as with Linux without tw_reuse).
  const server = { accepted: () => {}, data: (c, _b, _o, n) => { c.write(ans, 0, 64); c.close(); return n; } };
  for (let p = 0; p < 16; p++) b.listen(7000 + p, server, 4096);
  let k = 0;
  const client = {
    connected: (c) => c.write(req, 0, 64),
    end: (c) => c.close(),
    closed: () => { closed++; open--; },
    reset: () => { open--; },
  };
  const top = () => { while (open < CONNS) { if (a.connect("10.0.0.2", 7000 + (k++ & 15), client) === null) { refused++; break; } open++; } };
  const c0 = cpu(), end = performance.now() + SECONDS * 1000;
  while (performance.now() < end) for (let i = 0; i < 16; i++) { top(); cycle(); }
  const secs = cpu() - c0;
  if (process.env.DEBUG) console.error(JSON.stringify(a.counters), JSON.stringify(b.counters), a.connections, b.connections);
  if (b.counters.listenOverflow > 0 || refused > 0) console.error(`connections: ${b.counters.listenOverflow} SYNs over the backlog, ${refused} opens refused`);
  return closed / secs;
}

function bulk() {
  const { a, b, cycle } = pair();
  const msg = new Uint8Array(1448).fill(7);
  let got = 0;
  b.listen(7, { accepted: () => {}, data: (_c, _b, _o, n) => { got += n; return n; } });
  const pump = (c) => { while (c.write(msg, 0, 1448) === 1448); };
  a.connect("10.0.0.2", 7, { connected: pump, writable: pump });
  for (let i = 0; i < 2000; i++) cycle();
  got = 0;
  const c0 = cpu(), end = performance.now() + SECONDS * 1000;
  while (performance.now() < end) for (let i = 0; i < 16; i++) cycle();
  return (got * 8) / (cpu() - c0) / 1e9;
}

const median = (xs) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];
const rows = [
  ["small transactions/s (64 B each way, " + CONNS + " connections)", transactions, (v) => Math.round(v).toLocaleString("en-US")],
  ["new connections/s (open, 64 B request and answer, close)", connections, (v) => Math.round(v).toLocaleString("en-US")],
  ["bulk, one connection, 1448-byte writes (Gbit/s of payload)", bulk, (v) => v.toFixed(2)],
];
const lines = [
  "`npm run bench:tcp` (bench/tcp.mjs): two sdk/tcp stacks back to back in memory on one",
  "thread, V8 (" + process.version + "), packets in a shared pool of 2 KiB slots; both ends of every",
  `connection run on the same core, so a per-core rate for one end alone is higher. Rates per CPU-second of the`,
  `benchmark process (taken on a shared 2-CPU machine at load average ${loadavg()[0].toFixed(0)}). ${RUNS} runs of ${SECONDS} s, median.`,
  "",
  "| load | median | runs |",
  "|---|---|---|",
];
for (const [name, fn, fmt] of rows) {
  if (process.env.ONLY && !fn.name.startsWith(process.env.ONLY)) continue;
  const vs = [];
  for (let i = 0; i < RUNS; i++) vs.push(fn());
  const line = `| ${name} | ${fmt(median(vs))} | ${vs.map(fmt).join(", ")} |`;
  console.log(line);
  lines.push(line);
}
if (WRITE) writeSection("tcp", lines.join("\n"), "TCP in memory (issue 17)");
