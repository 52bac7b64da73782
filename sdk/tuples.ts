// A batch's IPv4 5-tuples as columns, for classifiers (a firewall, a
// balancer's flow lookup): one parse of the whole batch, then plain
// typed-array reads per packet. Under V8 that costs about what the Packet
// getters cost; in an interpreter (the quickjs context) a getter is a call
// of some 50 ns and a typed-array read some 10, and the host parses the
// batch in V8 before the guest runs (runtime/quickjs-context.ts), so a
// classifier written on these columns runs several times faster there.
import type { FieldView } from "./bytes";

/** Header words (Tuples.state): set by the host before process(), read by the guest. */
export const TUPLES_FILLED = 0;
/** Set by the guest when a VNF asked for the columns: the host fills them from then on. */
export const TUPLES_WANTED = 1;
const STATE_WORDS = 4;

/**
 * Per packet i < batch.count, as the packet arrived (the parse is done once
 * per batch, on the first batch.tuples(): call it before editing packets).
 * `proto[i]` is the IP protocol when the frame is untagged IPv4 with a
 * header that fits (as pkt.ipv4 !== null), else -1: ask batch.packet(i)
 * (VLAN tags, IPv6, ARP, malformed frames). For IPv4 the other columns
 * hold what the Packet getters give: `src`/`dst` as int32 (ip.src | 0),
 * `sport`/`dport` the TCP or UDP ports, -1 without a TCP/UDP header that
 * fits (ICMP, non-first fragments, truncated headers).
 */
export class Tuples {
  readonly proto: Int32Array;
  readonly src: Int32Array;
  readonly dst: Int32Array;
  readonly sport: Int32Array;
  readonly dport: Int32Array;
  /** [TUPLES_FILLED], [TUPLES_WANTED]: the hand-off with a host that fills the columns. */
  readonly state: Int32Array;

  /** Bytes for `capacity` packets (columns and header). */
  static bytes(capacity: number): number { return 4 * (STATE_WORDS + 5 * capacity); }

  constructor(readonly capacity: number, buffer: ArrayBufferLike = new ArrayBuffer(Tuples.bytes(capacity)), at = 0) {
    let o = at;
    const col = (words: number): Int32Array => { const a = new Int32Array(buffer, o, words); o += 4 * words; return a; };
    this.state = col(STATE_WORDS);
    this.proto = col(capacity);
    this.src = col(capacity);
    this.dst = col(capacity);
    this.sport = col(capacity);
    this.dport = col(capacity);
  }
}

/**
 * Parses packets 0..count-1 of a batch into `t` (count <= t.capacity).
 * The same decisions as Packet's parsers for untagged IPv4 (test/sdk/
 * tuples.test.ts compares them on random frames): version 4, header length
 * >= 20, total length between the header length and the frame's end; ports
 * unless a non-first fragment, from a UDP header of 8 bytes or a TCP header
 * whose data offset is >= 20 and fits, all inside the IP packet.
 */
export function fillTuples(
  t: Tuples, dv: FieldView, bytes: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number,
): void {
  const proto = t.proto, src = t.src, dst = t.dst, sport = t.sport, dport = t.dport;
  for (let i = 0; i < count; i++) {
    const o = offsets[i], len = lengths[i];
    let pr = -1, sp = -1, dp = -1;
    if (len >= 34 && dv.getUint16(o + 12) === 0x0800) {
      const p = o + 14, w0 = dv.getInt32(p), hl = (w0 >>> 22) & 0x3c, e = p + ((w0 << 16) >>> 16);
      if ((w0 >>> 28) === 4 && hl >= 20 && e >= p + hl && e <= o + len) {
        const w1 = dv.getInt32(p + 6), q = p + hl;
        pr = w1 & 0xff;
        src[i] = dv.getInt32(p + 12);
        dst[i] = dv.getInt32(p + 16);
        if ((w1 << 3) >>> 19 === 0) {   // not a non-first fragment
          let ok = false;
          if (pr === 17) ok = q + 8 <= e;
          else if (pr === 6 && q + 20 <= e) {
            const th = q + ((bytes[q + 12] >>> 2) & 0x3c);
            ok = th >= q + 20 && th <= e;
          }
          if (ok) {
            const ports = dv.getInt32(q);
            sp = ports >>> 16;
            dp = ports & 0xffff;
          }
        }
      }
    }
    proto[i] = pr;
    sport[i] = sp;
    dport[i] = dp;
  }
}
