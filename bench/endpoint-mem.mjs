// npm run bench:endpoint-mem: endpoints in memory, one core, 64-byte-class
// frames from a looping pcap (no device): UDP echo on the SDK's sockets
// (bench/udp-echo.ts) and vnfs/dns.ts answering a mix of queries for
// vnfs/dns.example.json. Counts answers per second (the VNF's own
// counters), median of REPS runs, into BENCHMARKS.md.
import { mkdtempSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { writeSection } from "./benchmarks-md.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { run } = createRequire(import.meta.url)(join(root, "dist/index.js"));
const REPS = Number(process.env.REPS ?? 3);
const SECONDS = Number(process.env.SECONDS ?? 3);
const dir = mkdtempSync(join(tmpdir(), "vnfrun-epbench-"));

function sum16(b) {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += (b[i] << 8) | (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}
function udp4(src, dport, sport, payload) {
  const total = 28 + payload.length;
  const ip = [0x45, 0, total >> 8, total & 255, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, src >> 8, src & 255, 10, 0, 0, 53];
  const c = sum16(ip);
  ip[10] = c >> 8; ip[11] = c & 255;
  const udp = [sport >> 8, sport & 255, dport >> 8, dport & 255, (8 + payload.length) >> 8, (8 + payload.length) & 255, 0, 0];
  // The UDP checksum, so the socket's check passes.
  const pseudo = [...ip.slice(12, 20), 0, 17, (8 + payload.length) >> 8, (8 + payload.length) & 255, ...udp, ...payload];
  const u = sum16(pseudo) || 0xffff;
  udp[6] = u >> 8; udp[7] = u & 255;
  return Uint8Array.from([2, 0, 0, 0, 0, 0x53, 2, 0, 0, 0, 0, 1, 8, 0, ...ip, ...udp, ...payload]);
}
function pcap(file, frames) {
  const parts = [Buffer.from([0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0])];
  for (const f of frames) {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(f.length, 8); h.writeUInt32LE(f.length, 12);
    parts.push(h, Buffer.from(f));
  }
  writeFileSync(file, Buffer.concat(parts));
}
function query(id, name, type) {
  const q = [id >> 8, id & 255, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
  for (const l of name.split(".")) q.push(l.length, ...Buffer.from(l));
  q.push(0, 0, type, 0, 1);
  return q;
}

const echoFile = join(dir, "echo.pcap"), dnsFile = join(dir, "dns.pcap");
pcap(echoFile, Array.from({ length: 1024 }, (_, i) => udp4(i, 7, 1024 + i, Array(18).fill(i & 255))));
const names = [["www.example.test", 1], ["www.example.test", 28], ["web.example.test", 1], ["example.test", 15], ["nope.example.test", 1], ["mail.example.test", 1]];
pcap(dnsFile, Array.from({ length: 1024 }, (_, i) => udp4(i, 53, 1024 + i, query(i, ...names[i % names.length]))));

const cases = [
  { key: "echo", name: "UDP echo (bench/udp-echo.ts), 60-byte frames", vnf: join(root, "bench/udp-echo.ts"), file: echoFile, counter: "udp7_tx", config: undefined },
  { key: "ceiling", name: "ceiling: test/fixtures/host.ts on the echo pcap (frames/s; no JS work: the pcap loop, the endpoint check, a drop)", vnf: join(root, "test/fixtures/host.ts"), file: echoFile },
  { key: "dns", name: "dns.ts, 6 query kinds (A, AAAA, CNAME, MX, NXDOMAIN)", vnf: join(root, "vnfs/dns.ts"), file: dnsFile, counter: "dns_answers", config: join(root, "vnfs/dns.example.json") },
];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = Object.fromEntries(cases.map((c) => [c.key, []]));
for (let r = 0; r < REPS; r++)
  for (const c of cases) {
    const s = await run({ vnf: c.vnf, ports: [`pcap:${c.file},loop=100000000`], ip: ["10.0.0.53/24"], config: c.config, busyPoll: true, durationS: SECONDS, onMessage: () => {} });
    const rate = (c.counter ? s.vnf_counters[c.counter] : s.ports[0].rx_packets) / s.seconds / 1e6;
    results[c.key].push(rate);
    process.stderr.write(`rep ${r + 1}/${REPS} ${c.key}: ${rate.toFixed(2)} M answers/s (rx ${s.rx_mpps.toFixed(2)} Mpps)\n`);
  }
const rows = cases.map((c) => `| ${c.name} | ${median(results[c.key]).toFixed(2)} | ${results[c.key].map((x) => x.toFixed(2)).join(", ")} |`);
const table = [
  `Machine: ${cpus().length} x ${cpus()[0]?.model ?? "?"}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}; shared with other jobs while measured.`,
  "",
  "`npm run bench:endpoint-mem` (one core, busy-poll, a looping pcap in memory, answers counted by the VNF over " + SECONDS + " s):",
  "",
  "| case | median M answers/s | runs |",
  "|---|---|---|",
  ...rows,
].join("\n");
console.log(table);
if (!process.env.NO_WRITE) writeSection("endpoint-mem", table, "Endpoints in memory (UDP echo, dns.ts)");
