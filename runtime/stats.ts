// Reads the engine's counters (native memory, no copy) and turns them into
// totals, rates and the summary. Lanes are summed here, never in C++.
import { loadAddon, type CounterRegion } from "./addon";

export interface Snapshot {
  at: number;                                // ms, performance.now()
  cores: Record<string, number>[];           // per lane, core counters
  ports: Record<string, number>[];           // per port, summed over lanes
}

export class Counters {
  constructor(private region: CounterRegion, private laneCount: number) {}

  snapshot(): Snapshot {
    return snapshotOf(readLanes(this.region, this.laneCount), this.laneCount);
  }
}

export interface Lane { name: string; core: Record<string, number>; ports: Record<string, number>[] }

/** Lane l's name: a core's number, or the I/O and host lanes after them. */
export function laneName(l: number, cores: number): string {
  return l < cores ? String(l) : ["io-rx", "io-tx", "host"][l - cores] ?? `lane${l}`;
}

/** Every lane's counters, unsummed (metrics label them by lane). */
export function readLanes(region: CounterRegion, cores: number): Lane[] {
  const words = new BigUint64Array(region.buffer);
  const { core, port, ports } = region;
  const block = core.length + ports * port.length;
  return Array.from({ length: region.lanes }, (_, l) => {
    const base = l * block;
    return {
      name: laneName(l, cores),
      core: Object.fromEntries(core.map((n, i) => [n, Number(words[base + i])])),
      ports: Array.from({ length: ports }, (_, p) => Object.fromEntries(port.map((n, i) => [n, Number(words[base + core.length + p * port.length + i])]))),
    };
  });
}

/** The cores' counters, and the ports' summed over every lane. */
export function snapshotOf(lanes: Lane[], cores: number, at = performance.now()): Snapshot {
  const ports = (lanes[0]?.ports ?? []).map((first, p) =>
    Object.fromEntries(Object.keys(first).map((k) => [k, sum(lanes.map((l) => l.ports[p]), k)])));
  return { at, cores: lanes.slice(0, cores).map((l) => l.core), ports };
}

export function sum(rows: Record<string, number>[], key: string): number {
  return rows.reduce((a, r) => a + (r[key] ?? 0), 0);
}

export function diff(a: Snapshot, b: Snapshot): Snapshot {
  const sub = (x: Record<string, number>, y: Record<string, number>) => Object.fromEntries(Object.keys(y).map((k) => [k, y[k] - (x[k] ?? 0)]));
  return { at: b.at - a.at, cores: b.cores.map((c, i) => sub(a.cores[i], c)), ports: b.ports.map((p, i) => sub(a.ports[i], p)) };
}

let causes: { core: string[]; port: string[] } | undefined;

/** The drop causes a core and a port count, as the engine lists them (counters.h). */
export function dropKeys(): { core: string[]; port: string[] } {
  if (!causes) {
    const list = loadAddon().counterList();
    causes = { core: list.core.filter((c) => c.drop).map((c) => c.name), port: list.port.filter((c) => c.drop).map((c) => c.name) };
  }
  return causes;
}

/** Every drop, by cause, summed over ports and cores. */
export function drops(s: Snapshot): Record<string, number> {
  const out: Record<string, number> = {};
  const keys = dropKeys();
  for (const k of keys.core) out[k] = sum(s.cores, k);
  for (const k of keys.port) out[k] = sum(s.ports, k);
  return out;
}

export function rateLine(d: Snapshot): string {
  const secs = d.at / 1000 || 1;
  const rx = sum(d.ports, "rx_packets") / secs / 1e6;
  const tx = sum(d.ports, "tx_packets") / secs / 1e6;
  const gbps = (sum(d.ports, "tx_bytes") * 8) / secs / 1e9;
  const dropped = Object.values(drops(d)).reduce((a, b) => a + b, 0);
  return `rx ${rx.toFixed(2)} Mpps  tx ${tx.toFixed(2)} Mpps  ${gbps.toFixed(2)} Gbit/s  dropped ${(dropped / secs).toFixed(0)}/s`;
}
