// Reads the engine's counters (native memory, no copy) and turns them into
// totals, rates and the summary. Lanes are summed here, never in C++.
import type { CounterRegion } from "./addon";

export interface Snapshot {
  at: number;                                // ms, performance.now()
  cores: Record<string, number>[];           // per lane, core counters
  ports: Record<string, number>[];           // per port, summed over lanes
}

export class Counters {
  private words: BigUint64Array;
  private block: number;
  constructor(private region: CounterRegion, private laneCount: number) {
    this.words = new BigUint64Array(region.buffer);
    this.block = region.core.length + region.ports * region.port.length;
  }

  snapshot(): Snapshot {
    const { core, port, ports } = this.region;
    const cores: Record<string, number>[] = [];
    const perPort: Record<string, number>[] = Array.from({ length: ports }, () => Object.fromEntries(port.map((n) => [n, 0])));
    for (let l = 0; l < this.region.lanes; l++) {
      const base = l * this.block;
      if (l < this.laneCount) cores.push(Object.fromEntries(core.map((n, i) => [n, Number(this.words[base + i])])));
      for (let p = 0; p < ports; p++)
        for (let i = 0; i < port.length; i++) perPort[p][port[i]] += Number(this.words[base + core.length + p * port.length + i]);
    }
    return { at: performance.now(), cores, ports: perPort };
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

export function sum(rows: Record<string, number>[], key: string): number {
  return rows.reduce((a, r) => a + (r[key] ?? 0), 0);
}

export function diff(a: Snapshot, b: Snapshot): Snapshot {
  const sub = (x: Record<string, number>, y: Record<string, number>) => Object.fromEntries(Object.keys(y).map((k) => [k, y[k] - (x[k] ?? 0)]));
  return { at: b.at - a.at, cores: b.cores.map((c, i) => sub(a.cores[i], c)), ports: b.ports.map((p, i) => sub(a.ports[i], p)) };
}

export const DROP_KEYS_PORT = ["rx_malformed", "rx_oversize", "rx_no_buffer", "rx_ring_full", "tx_ring_full", "tx_errors", "tx_oversize", "tx_no_buffer", "tx_no_output"];
export const DROP_KEYS_CORE = ["vnf_drops", "vnf_error_drops", "bad_verdicts", "bad_bounds", "dist_drops"];

/** Every drop, by cause, summed over ports and cores. */
export function drops(s: Snapshot): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of DROP_KEYS_CORE) out[k] = sum(s.cores, k);
  for (const k of DROP_KEYS_PORT) out[k] = sum(s.ports, k);
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
