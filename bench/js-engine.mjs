// A VNF through the engine on the main thread (no worker, no supervisor):
// gen -> VNF -> sink, rx batch 256, 64-byte frames, as `npm run bench` has it.
// For iterating on the JS hot path; `npm run bench` stays the official figure.
//
//   node bench/js-engine.mjs [vnf.ts ...] [--seconds S] [--reps R]
//       rates: R runs of S seconds per VNF, interleaved; prints medians of
//       Mpps by the wall clock and of Mpps per CPU second used (steadier
//       when other work shares the CPUs). Engines in one process share the
//       caches and slow each other down (measured: up to a third): for
//       figures to report, run one VNF per process, alternating.
//   node bench/js-engine.mjs vnf.ts --cycles N [--warm W]
//       a fixed amount of work (W cycles, then N more), for instruction
//       counts under callgrind: run it at two N and divide the difference in
//       Ir by the difference in packets (256 per cycle):
//         valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.%p \
//           node --single-threaded bench/js-engine.mjs bench/firewall-1k.ts --cycles 4000
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const { compileVnf, loadAddon: builtAddon } = require(join(root, "dist/index.js"));
// ADDON=path/to/vnfrun.node tries another build of the engine.
const loadAddon = process.env.ADDON ? () => require(resolve(process.env.ADDON)) : builtAddon;

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(args[i + 1]);
  args.splice(i, 2);
  return v;
};
const seconds = opt("--seconds", 1);
const reps = opt("--reps", 5);
const cycles = opt("--cycles", 0);
const warm = opt("--warm", 2000);
const vnfs = args.length ? args : [join(root, "bench/firewall-1k.ts")];
const BATCH = 256;

/** Compile a VNF and wire it to a fresh one-core engine. */
async function setup(path) {
  const bundle = await compileVnf(resolve(path));
  const a = loadAddon();
  const engine = new a.Engine({
    buffers: 32768, bufSize: 2048, headroom: 64, ringSize: 1024, cores: 1, dist: "none",
    rxBatch: BATCH, txBatch: 32, idleUs: 100, backlog: 0, keep: 0, busyPoll: true, count: 0, ioCpus: [], overflow: "auto", largeBuffers: 256,
    rssKey: new Uint8Array(40).fill(0x6d),
    ports: [{ name: "in", driver: "gen", options: { flows: "1000", size: "64" } }, { name: "out", driver: "sink", options: {} }],
  });
  const core = a.attach(engine.id, 0, { rxBatch: BATCH, txBatch: 32, busyPoll: true, idleUs: 100, cpu: -1 });
  const mod = require(bundle.file);
  const vnf = mod.default, L = core.layout;
  const batch = new mod.Batch(
    new Uint8Array(core.pool),
    new Uint32Array(core.batch, L.offsets, BATCH), new Uint32Array(core.batch, L.lengths, BATCH),
    new Uint8Array(core.batch, L.inPorts, BATCH), new Uint8Array(core.batch, L.verdicts, BATCH),
    vnf.ports,
  );
  // Counters in a SharedArrayBuffer, as a worker publishes them (runtime/vnf-counters.ts).
  const ctx = { core: 0, cores: 1, ports: vnf.ports, port: (n) => batch.port(n), log: console.log,
    counters: (names) => new Float64Array(new SharedArrayBuffer(8 * names.length)), histogram: () => { throw new Error("no histograms here"); } };
  const state = vnf.init ? vnf.init(ctx) : undefined;
  const close = () => { engine.stop(); while (core.cycle(0) >= 0); core.detach(); engine.join(); engine.close(); };
  return { core, vnf, batch, ctx, state, close, loop: new Function("s", "n", LOOP) };
}

// The worker's loop, for `n` cycles; returns packets seen. One copy per VNF
// (new Function), so each has its own type feedback as in a worker.
const LOOP = `
  const { core, vnf, batch, ctx, state } = s;
  let tot = 0;
  for (let k = 0; k < n; k++) {
    const got = core.cycle(0);
    batch.count = got;
    vnf.process(batch, state, ctx);
    tot += got;
  }
  return tot;`;
const loop = (s, n) => s.loop(s, n);

/** [Mpps by the wall clock, Mpps per CPU second]. On a shared machine the
 *  second moves less: time the process spends descheduled does not count. */
function rate(s) {
  const t0 = performance.now(), c0 = process.cpuUsage();
  let tot = 0, t = t0;
  while (t - t0 < seconds * 1000) { tot += loop(s, 256); t = performance.now(); }
  const c = process.cpuUsage(c0);
  return [tot / (t - t0) / 1e3, tot / (c.user + c.system)];
}

const median = (xs) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];

if (cycles > 0) {
  const s = await setup(vnfs[0]);
  const w = loop(s, warm), n = loop(s, cycles);
  console.log(JSON.stringify({ vnf: vnfs[0], warm: w, packets: n, state: s.state?.counters }));
  s.close();
} else {
  const wall = vnfs.map(() => []), cpu = vnfs.map(() => []);
  const setups = [];
  for (const v of vnfs) { const s = await setup(v); loop(s, 20000); setups.push(s); }  // warm: optimised code
  for (let r = 0; r < reps; r++) {
    setups.forEach((s, k) => { const [w, c] = rate(s); wall[k].push(w); cpu[k].push(c); });
  }
  const fmt = (xs) => xs.map((x) => x.toFixed(1)).join(" ");
  vnfs.forEach((v, k) => console.log(`${median(wall[k]).toFixed(1)} Mpps wall, ${median(cpu[k]).toFixed(1)} per CPU s  ${v}  [${fmt(wall[k])}] [${fmt(cpu[k])}]`));
  for (const s of setups) s.close();
}
