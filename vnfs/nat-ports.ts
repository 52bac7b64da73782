// Outside ports whose replies come back to this core (the NAT's port choice).
//
// The engine spreads packets over cores by a Toeplitz hash of the IPv4
// addresses and TCP/UDP ports, and the core is (hash % 128) % cores
// (sdk/rss). Toeplitz is linear (XOR) in its input, and under a key that
// repeats every 2 bytes (the default symmetric key) a 16-bit word
// contributes the same 32 bits wherever it sits, so a packet's hash is
// F(src hi) ^ F(src lo) ^ F(dst hi) ^ F(dst lo) ^ F(sport) ^ F(dport). The
// reply to a translated flow, remote -> out:oport, then differs from the
// original inside -> remote packet (which landed on this core) by
// F(in hi) ^ F(in lo) ^ F(inport) ^ F(out hi) ^ F(out lo) ^ F(oport) alone:
// the remote's address and port cancel out. Choosing oport so that this
// difference has zero low bits (the core's bits of the index: log2(cores)
// when cores is a power of two, else all 7) puts every reply, from any
// remote, on the core that made the binding: endpoint-independent mapping
// and per-core state together, with no hand-off between cores.
//
// What decides the core in each mode: sw1/sw2 (the I/O thread's Toeplitz),
// hw with gen or pcap (split at the source by the same hash) and hw with
// packet ports (each core a PACKET_FANOUT member steered by a classic BPF
// program computing the same hash, native/rss_bpf.cc): this module's
// choice holds (test/live/nat.test.ts runs sw1, sw2 and hw). hw with xdp:
// the NIC's RSS (its own key and table; on veth the sender's queue)
// decides, and no port choice made here can follow it unless the NIC
// hashes with the run's key. sdk/rss-port.ts (from issue 16) asks the same
// question flow by flow; this class answers it for a whole class of ports
// at once, which EIM needs (one outside port for every destination).
import { toeplitz } from "../sdk";

/** F: the 32 hash bits a 16-bit word contributes under a 2-byte-periodic key
 *  (XOR of its bits' contributions, looked up a byte at a time). */
function wordHash(key: readonly number[]): (w: number) => number {
  const basis = new Int32Array(16);
  for (let b = 0; b < 16; b++) basis[b] = toeplitz(key, [(1 << b) >> 8, (1 << b) & 255]) | 0;
  const hi = new Int32Array(256), lo = new Int32Array(256);
  for (let v = 0; v < 256; v++) {
    for (let b = 0; b < 8; b++) if (v & (1 << b)) { lo[v] ^= basis[b]; hi[v] ^= basis[b + 8]; }
  }
  return (w: number): number => hi[(w >>> 8) & 255] ^ lo[w & 255];
}

export class RssPorts {
  /** Whether the choice steers replies (several cores, a 2-byte-periodic key). */
  readonly steering: boolean;
  private readonly mask: number;
  private readonly f: (w: number) => number;
  /** Ports by the low bits of F(port), each class a list. */
  private readonly lists: Uint16Array[];
  private readonly cursors: Uint32Array;

  constructor(key: readonly number[], cores: number, lo: number, hi: number) {
    const periodic = key.length === 40 && key.every((k, i) => k === key[i % 2]);
    this.steering = cores > 1 && periodic;
    this.mask = !this.steering ? 0 : (cores & (cores - 1)) === 0 ? cores - 1 : 127;
    this.f = wordHash(periodic ? key : key.slice(0, 2).concat(...Array(19).fill(key.slice(0, 2))));
    const byClass: number[][] = Array.from({ length: this.mask + 1 }, () => []);
    for (let p = lo; p <= hi; p++) byClass[this.f(p) & this.mask].push(p);
    // Spread each list so consecutive allocations are not neighbours.
    this.lists = byClass.map((l) => Uint16Array.from(l));
    this.cursors = new Uint32Array(this.mask + 1);
  }

  /** The class an outside port needs for an inside (addr, port) mapped to `out`. */
  classFor(inAddr: number, inPort: number, out: number): number {
    const f = this.f;
    return (f(inAddr >>> 16) ^ f(inAddr & 0xffff) ^ f(inPort) ^ f(out >>> 16) ^ f(out & 0xffff)) & this.mask;
  }

  /** How many ports a class has (the bindings one inside host can get per outside address). */
  perClass(): number { return this.lists[0].length; }

  /** A port of the class for which `free(port)` holds, or -1 (tries every port of the class once). */
  pick(cls: number, free: (port: number) => boolean): number {
    const list = this.lists[cls], n = list.length;
    let c = this.cursors[cls];
    for (let k = 0; k < n; k++) {
      const p = list[c];
      c = c + 1 === n ? 0 : c + 1;
      if (free(p)) { this.cursors[cls] = c; return p; }
    }
    return -1;
  }
}
