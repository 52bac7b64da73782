// Local ports whose replies come back to the core that chose them.
//
// A core that opens a UDP socket, a TCP connection or a NAT binding picks
// the local port; the remote end answers to it, and the engine's RSS sends
// that answer to the core its hash names. Picking only ports whose reply
// tuple hashes to this core (mTCP's per-core address pools, Seastar's
// connect loop) keeps every flow on one core, so per-core state needs no
// locks and no reply crosses cores.
//
// What decides the core, per --dist (README "Many cores"):
//   sw1, sw2  the I/O thread's Toeplitz hash of the frame (native/rss.cc) under
//             --rss-key, then the 128-entry table: core = (hash & 127) % cores.
//   hw        files and gen: the same hash, at the source. packet (AF_PACKET):
//             the same hash, computed by a classic BPF fanout program the
//             engine generates from the key (native/rss_bpf.cc), not the
//             kernel's own flow hash (random per boot). xdp (AF_XDP): the
//             NIC's rx queue, which is the NIC's RSS: predictable only when
//             the NIC hashes with the same key and table (see README).
//   none      one core: every port is this core's.
// The tuple hashed is the reply as it arrives: source = the remote address
// and port, destination = the local ones. This file computes exactly that,
// with the functions of sdk/rss.ts (the TS twin of native/rss.cc).
import { RSS_SYMMETRIC_KEY, rssCore, toeplitz } from "./rss";

const RETA_MASK = 127;

/** Where a core stands: its number, the core count, the run's RSS key (a Ctx has all three). */
export interface RssCoreInfo {
  readonly core: number;
  readonly cores: number;
  readonly rss?: { readonly key: ArrayLike<number> };
}

/** The core an IPv4 TCP/UDP reply from remoteIp:remotePort to localIp:localPort lands on. */
export function replyCore4(key: ArrayLike<number>, cores: number, localIp: number, localPort: number, remoteIp: number, remotePort: number): number {
  const input = [remoteIp >>> 24, (remoteIp >>> 16) & 255, (remoteIp >>> 8) & 255, remoteIp & 255,
    localIp >>> 24, (localIp >>> 16) & 255, (localIp >>> 8) & 255, localIp & 255,
    remotePort >> 8, remotePort & 255, localPort >> 8, localPort & 255];
  return rssCore(toeplitz(key, input), cores);
}

/** The same for IPv6 (addresses as 16 bytes). */
export function replyCore6(key: ArrayLike<number>, cores: number, local: ArrayLike<number>, localPort: number, remote: ArrayLike<number>, remotePort: number): number {
  const input = [...Array.from(remote), ...Array.from(local), remotePort >> 8, remotePort & 255, localPort >> 8, localPort & 255];
  return rssCore(toeplitz(key, input), cores);
}

/** Hash contribution of each byte value at input position `pos` (Toeplitz is linear in its input). */
function byteTable(key: ArrayLike<number>, pos: number): Uint32Array {
  const t = new Uint32Array(256);
  const input = new Array<number>(pos + 1).fill(0);
  for (let v = 0; v < 256; v++) { input[pos] = v; t[v] = toeplitz(key, input); }
  return t;
}

/**
 * This core's pool of local ports in [lo, hi] (Linux's ephemeral range by
 * default). pick4/pick6 return a free port whose reply from that remote
 * lands on this core, marked used until release(); -1 when every such port
 * is taken. Ports are one pool per core for all remotes (a UDP socket's
 * port), so two cores never hand out the same port. About 1/cores of the
 * range qualifies for a given remote; a pick costs a few table lookups.
 */
export class RssPorts {
  private readonly key: ArrayLike<number>;
  private readonly used: Uint8Array;
  private readonly hiT: Uint32Array;
  private readonly loT: Uint32Array;
  private readonly hiT6: Uint32Array;
  private readonly loT6: Uint32Array;
  private cursor: number;

  constructor(private readonly at: RssCoreInfo, readonly lo = 32768, readonly hi = 60999) {
    if (!(Number.isInteger(lo) && Number.isInteger(hi) && lo >= 1 && lo <= hi && hi <= 65535))
      throw new RangeError(`RssPorts: the port range ${lo}-${hi} must be within 1-65535, low end first`);
    if (!(at.cores >= 1 && at.core >= 0 && at.core < at.cores)) throw new RangeError(`RssPorts: core ${at.core} of ${at.cores}`);
    this.key = at.rss?.key ?? RSS_SYMMETRIC_KEY;
    this.used = new Uint8Array(65536);
    // The local port is the last two input bytes: positions 10-11 (IPv4), 34-35 (IPv6).
    this.hiT = byteTable(this.key, 10);
    this.loT = byteTable(this.key, 11);
    this.hiT6 = byteTable(this.key, 34);
    this.loT6 = byteTable(this.key, 35);
    // Cores start at different places, so a wrap of one pool does not
    // walk through the ports another core uses most.
    this.cursor = lo + Math.floor(((hi - lo + 1) * at.core) / at.cores);
  }

  /** A free local port for replies from remoteIp:remotePort to localIp, or -1. */
  pick4(localIp: number, remoteIp: number, remotePort: number): number {
    const base = toeplitz(this.key, [remoteIp >>> 24, (remoteIp >>> 16) & 255, (remoteIp >>> 8) & 255, remoteIp & 255,
      localIp >>> 24, (localIp >>> 16) & 255, (localIp >>> 8) & 255, localIp & 255, remotePort >> 8, remotePort & 255, 0, 0]);
    return this.scan(base, this.hiT, this.loT);
  }

  /** The same for IPv6 (16-byte addresses). */
  pick6(local: ArrayLike<number>, remote: ArrayLike<number>, remotePort: number): number {
    const base = toeplitz(this.key, [...Array.from(remote), ...Array.from(local), remotePort >> 8, remotePort & 255, 0, 0]);
    return this.scan(base, this.hiT6, this.loT6);
  }

  /** Whether port p is marked used on this core. */
  inUse(port: number): boolean { return this.used[port & 0xffff] === 1; }

  /** Take a port this core knows is its own (a fixed bind); false if already taken. */
  claim(port: number): boolean {
    if (this.used[port] === 1) return false;
    this.used[port] = 1;
    return true;
  }

  release(port: number): void { this.used[port & 0xffff] = 0; }

  private scan(base: number, hiT: Uint32Array, loT: Uint32Array): number {
    const { lo, hi } = this;
    const { core, cores } = this.at;
    const span = hi - lo + 1;
    let p = this.cursor;
    for (let n = 0; n < span; n++, p = p === hi ? lo : p + 1) {
      if (this.used[p] === 1) continue;
      const h = base ^ hiT[p >> 8] ^ loT[p & 255];
      if ((h & RETA_MASK) % cores !== core) continue;
      this.used[p] = 1;
      this.cursor = p === hi ? lo : p + 1;
      return p;
    }
    return -1;
  }
}
