// --metrics HOST:PORT: the counters in Prometheus' text format, read at
// scrape time (nothing is kept or copied between scrapes). One series per
// lane (a core, or an I/O thread) and port: Prometheus sums them.
import { createServer, type Server } from "node:http";
import type { CounterRegion } from "./addon";
import { dropKeys, readLanes } from "./stats";
import { UserError } from "./user-error";
import { isGauge } from "../sdk/vnf";

export class MetricsError extends UserError {}

export interface MetricsSource {
  region: CounterRegion;
  cores: number;
  io: boolean;              // sw1/sw2: the I/O threads' lanes count too
  portNames: string[];
  generation(): number;
  reloads(): { ok: boolean }[];
  vnfCounters(): Map<string, Map<number, number>>;   // the VNF's own, per name and core
  vnfHistograms(): Map<string, { core: number; bounds: number[]; values: Float64Array }[]>;
}

const VERSION: string = require("../package.json").version;

const esc = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
const labels = (o: Record<string, string>) => {
  const kv = Object.entries(o).map(([k, v]) => `${k}="${esc(v)}"`);
  return kv.length ? `{${kv.join(",")}}` : "";
};

export function formatMetrics(src: MetricsSource): string {
  // The cores' lanes, and the I/O threads' where there are any (the host
  // lane serves in-process pipe ends only).
  const lanes = readLanes(src.region, src.cores).filter((l, i) => i < src.cores || (src.io && l.name.startsWith("io-")));
  const out: string[] = [];
  const family = (name: string, type: "counter" | "gauge", help: string, rows: [Record<string, string>, number][]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [l, v] of rows) out.push(`${name}${labels(l)} ${v}`);
  };
  const perPort = (key: string, direction: string) => lanes.flatMap((lane) =>
    src.portNames.map((port, p): [Record<string, string>, number] => [{ port, direction, core: lane.name }, lane.ports[p][key]]));
  family("vnfrun_port_packets_total", "counter", "Frames received (rx) or transmitted (tx), per port and lane.",
    [...perPort("rx_packets", "rx"), ...perPort("tx_packets", "tx")]);
  family("vnfrun_port_bytes_total", "counter", "Bytes received (rx) or transmitted (tx), per port and lane.",
    [...perPort("rx_bytes", "rx"), ...perPort("tx_bytes", "tx")]);
  const cores = lanes.slice(0, src.cores);
  family("vnfrun_core_batches_total", "counter", "Batches handed to the VNF, per core.", cores.map((c) => [{ core: c.name }, c.core.batches]));
  family("vnfrun_core_packets_total", "counter", "Packets handed to the VNF, per core.", cores.map((c) => [{ core: c.name }, c.core.packets]));
  family("vnfrun_vnf_errors_total", "counter", "Batches whose process() threw, per core.", cores.map((c) => [{ core: c.name }, c.core.vnf_errors]));
  const causes = dropKeys();
  family("vnfrun_drops_total", "counter", "Packets dropped, by cause, per port (for causes a port decides) and lane.", [
    ...lanes.flatMap((lane) => causes.core.map((cause): [Record<string, string>, number] => [{ cause, core: lane.name }, lane.core[cause]])),
    ...lanes.flatMap((lane) => causes.port.flatMap((cause) =>
      src.portNames.map((port, p): [Record<string, string>, number] => [{ cause, port, core: lane.name }, lane.ports[p][cause]]))),
  ]);
  for (const [name, byCore] of src.vnfCounters()) {
    const rows = [...byCore].map(([core, v]): [Record<string, string>, number] => [{ core: String(core) }, v]);
    if (isGauge(name)) family(`vnfrun_vnf_${name}`, "gauge", `The VNF's own level ${name} (ctx.counters), per core.`, rows);
    else family(`vnfrun_vnf_${name}_total`, "counter", `The VNF's own counter ${name} (ctx.counters), per core.`, rows);
  }
  for (const [name, list] of src.vnfHistograms()) {
    const metric = `vnfrun_vnf_${name}`;
    out.push(`# HELP ${metric} The VNF's own histogram ${name} (ctx.histogram), per core.`, `# TYPE ${metric} histogram`);
    for (const h of list) {
      const n = h.bounds.length, core = String(h.core);
      let cumulative = 0;
      for (let i = 0; i <= n; i++) {
        cumulative += h.values[i];
        out.push(`${metric}_bucket${labels({ core, le: i < n ? String(h.bounds[i]) : "+Inf" })} ${cumulative}`);
      }
      out.push(`${metric}_sum${labels({ core })} ${h.values[n + 1]}`, `${metric}_count${labels({ core })} ${h.values[n + 2]}`);
    }
  }
  family("vnfrun_generation", "gauge", "The VNF generation live now (1 as started; each reload adds one).", [[{}, src.generation()]]);
  const reloads = src.reloads();
  family("vnfrun_reloads_total", "counter", "Reloads, by outcome.", [
    [{ outcome: "live" }, reloads.filter((r) => r.ok).length], [{ outcome: "refused" }, reloads.filter((r) => !r.ok).length]]);
  family("vnfrun_build_info", "gauge", "vnfrun's version and Node's, as labels; always 1.", [[{ version: VERSION, node: process.version }, 1]]);
  return out.join("\n") + "\n";
}

/** Serves GET /metrics on HOST:PORT (`:9464` means every address). */
export async function serveMetrics(listen: string, src: MetricsSource): Promise<{ close(): void; port: number }> {
  const m = /^(.*):(\d+)$/.exec(listen);
  if (!m || Number(m[2]) > 65535) throw new MetricsError(`--metrics ${listen}: give HOST:PORT, e.g. 127.0.0.1:9464`);
  const server: Server = createServer((req, res) => {
    if (req.method !== "GET" || !req.url?.startsWith("/metrics")) {
      res.writeHead(404, { "content-type": "text/plain" }).end("vnfrun serves /metrics\n");
      return;
    }
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }).end(formatMetrics(src));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      reject(new MetricsError(`--metrics ${listen}: ${e.code === "EADDRINUSE" ? "that port is in use" : e.code === "EACCES" ? "not allowed to listen there" : e.message}`)));
    server.listen(Number(m[2]), m[1] || undefined, () => resolve());
  });
  server.unref();
  return { close: () => server.close(), port: (server.address() as { port: number }).port };
}
