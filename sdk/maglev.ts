// Maglev consistent hashing (Eisenbud et al., NSDI'16): a lookup table of a
// prime size M (65537 by default) in which each backend owns about M *
// weight / total entries, built from each backend's own permutation of the
// entries, so a change to the set moves few entries: a backend added or
// removed takes or gives back about its share, and the rest stay put.
// Weights follow Katran: each round a backend adds its weight to a credit
// and claims one entry per `maxWeight` of credit.
//
// Backends are named (an address:port, say); the permutation comes from the
// name, so the same set gives the same table on every core and after a
// reload. lookup(hash) is one typed-array load.

export interface MaglevBackend {
  /** Stable identity (e.g. "10.0.0.2:80"): what the permutation is made from. */
  name: string;
  /** Share of the table, relative to the others (default 1; 0 = no new flows). */
  weight?: number;
}

function fnv1a(s: string, seed: number): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  return (h ^ (h >>> 13)) >>> 0;
}

function isPrime(n: number): boolean {
  if (n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

export class Maglev {
  /** Backend index (into the list given) per entry; -1 when no backend has weight. */
  readonly table: Int32Array;
  readonly size: number;

  constructor(backends: readonly MaglevBackend[], size = 65537) {
    if (!Number.isInteger(size) || !isPrime(size) || size < 3 || size > 16_777_259)
      throw new RangeError(`Maglev: the table size must be a prime (65537 or 655373, say), got ${size}`);
    const names = new Set<string>();
    for (const b of backends) {
      if (typeof b.name !== "string" || b.name === "") throw new RangeError("Maglev: every backend needs a name");
      if (names.has(b.name)) throw new RangeError(`Maglev: backend ${b.name} is listed twice`);
      names.add(b.name);
      const w = b.weight ?? 1;
      if (!Number.isFinite(w) || w < 0) throw new RangeError(`Maglev: backend ${b.name}: weight must be 0 or more, got ${w}`);
    }
    this.size = size;
    this.table = new Int32Array(size).fill(-1);
    const live = backends.map((b, i) => ({ i, w: b.weight ?? 1, name: b.name })).filter((b) => b.w > 0);
    if (live.length === 0) return;
    const n = live.length;
    const offset = new Uint32Array(n), skip = new Uint32Array(n), next = new Uint32Array(n), credit = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      offset[k] = fnv1a(live[k].name, 0x5bd1e995) % size;
      skip[k] = (fnv1a(live[k].name, 0x1b873593) % (size - 1)) + 1;
    }
    const maxW = Math.max(...live.map((b) => b.w));
    const t = this.table;
    let filled = 0;
    for (;;) {
      for (let k = 0; k < n; k++) {
        credit[k] += live[k].w;
        while (credit[k] >= maxW) {
          credit[k] -= maxW;
          // The next entry of k's permutation that is still free.
          let c = (offset[k] + next[k] * skip[k]) % size;
          while (t[c] >= 0) { next[k]++; c = (offset[k] + next[k] * skip[k]) % size; }
          t[c] = live[k].i;
          next[k]++;
          if (++filled === size) return;
        }
      }
    }
  }

  /** The backend index for a flow's hash (any 32-bit number), or -1. */
  lookup(hash: number): number { return this.table[(hash >>> 0) % this.size]; }

  /** Entries per backend index (for checks and reports). */
  shares(backends: number): number[] {
    const out = new Array<number>(backends).fill(0);
    for (const b of this.table) if (b >= 0) out[b]++;
    return out;
  }
}
