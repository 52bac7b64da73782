// The packet builder of vnfrun/test: scapy's layering in TypeScript.
//   pkt.eth().vlan({ vid: 10 }).ipv4({ dst: "10.0.0.9" }).tcp({ dport: 443, flags: "PA" }).payload("hi")
// Each call returns a new builder (a base can be reused). Lengths, type and
// protocol fields and checksums are filled in when the frame is built,
// unless given; defaults follow scapy's where scapy has one.
import { ip4, ip6, mac } from "../../sdk/addr";

export type Bytes = Uint8Array | readonly number[] | string;

export interface EthFields { dst?: string; src?: string; type?: number }
export interface VlanFields { vid?: number; pcp?: number; dei?: boolean; tpid?: number; type?: number }
export interface ArpFields { op?: number; sha?: string; spa?: string; tha?: string; tpa?: string }
export interface Ipv4Fields {
  src?: string; dst?: string; ttl?: number; id?: number; tos?: number;
  df?: boolean; mf?: boolean; fragOffset?: number;   // fragOffset in 8-byte units
  proto?: number; len?: number; checksum?: number; options?: Bytes;   // options: padded to 4 bytes
}
export interface Ipv6Fields { src?: string; dst?: string; hopLimit?: number; tc?: number; flow?: number; next?: number; len?: number }
export interface IcmpFields { type?: number; code?: number; id?: number; seq?: number; checksum?: number }
export type TcpOption =
  | { mss: number } | { wscale: number } | { sackOk: true } | { sack: [number, number][] }
  | { ts: [number, number] } | { nop: true } | { eol: true } | { kind: number; data?: Bytes };
export interface TcpFields {
  sport?: number; dport?: number; seq?: number; ack?: number;
  /** Letters of FSRPAUEC ("S", "SA", "PA"), or the flag bits as a number. */
  flags?: string | number;
  window?: number; urg?: number; checksum?: number; dataOffset?: number;   // dataOffset in 32-bit words
  options?: TcpOption[];   // padded with EOL (0) to a multiple of 4 bytes
}
export interface UdpFields { sport?: number; dport?: number; len?: number; checksum?: number }

export type Layer =
  | { kind: "eth"; f: EthFields } | { kind: "vlan"; f: VlanFields } | { kind: "arp"; f: ArpFields }
  | { kind: "ipv4"; f: Ipv4Fields } | { kind: "ipv6"; f: Ipv6Fields }
  | { kind: "icmp"; f: IcmpFields } | { kind: "icmpv6"; f: IcmpFields }
  | { kind: "tcp"; f: TcpFields } | { kind: "udp"; f: UdpFields } | { kind: "payload"; data: Uint8Array };

export const TCP_FLAGS = "FSRPAUEC";   // bit 0 (FIN) .. bit 7 (CWR)

const ETHERTYPE: Partial<Record<Layer["kind"], number>> = { vlan: 0x8100, arp: 0x0806, ipv4: 0x0800, ipv6: 0x86dd };
const IPPROTO: Partial<Record<Layer["kind"], number>> = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58 };

/** A frame being described; `build()` (or any vnfrun/test function) turns it into bytes. */
export class PacketBuilder {
  constructor(readonly layers: readonly Layer[] = []) {}
  private add(l: Layer): PacketBuilder { return new PacketBuilder([...this.layers, l]); }
  eth(f: EthFields = {}): PacketBuilder { return this.add({ kind: "eth", f }); }
  vlan(f: VlanFields = {}): PacketBuilder { return this.add({ kind: "vlan", f }); }
  arp(f: ArpFields = {}): PacketBuilder { return this.add({ kind: "arp", f }); }
  ipv4(f: Ipv4Fields = {}): PacketBuilder { return this.add({ kind: "ipv4", f }); }
  ipv6(f: Ipv6Fields = {}): PacketBuilder { return this.add({ kind: "ipv6", f }); }
  icmp(f: IcmpFields = {}): PacketBuilder { return this.add({ kind: "icmp", f }); }
  icmpv6(f: IcmpFields = {}): PacketBuilder { return this.add({ kind: "icmpv6", f }); }
  tcp(f: TcpFields = {}): PacketBuilder { return this.add({ kind: "tcp", f }); }
  udp(f: UdpFields = {}): PacketBuilder { return this.add({ kind: "udp", f }); }
  /** Bytes after the last header: a string (UTF-8), bytes, or a count of zero bytes. */
  payload(data: Bytes | number): PacketBuilder { return this.add({ kind: "payload", data: typeof data === "number" ? new Uint8Array(data) : toBytes(data) }); }
  build(): Uint8Array { return buildFrame(this.layers); }
}

/** Start a frame: `pkt.eth()...`, or any other first layer. */
export const pkt = new PacketBuilder();

export function toBytes(b: Bytes): Uint8Array {
  return typeof b === "string" ? new TextEncoder().encode(b) : b instanceof Uint8Array ? b : Uint8Array.from(b);
}

// ---- building ----

class Writer {
  bytes: number[] = [];
  u8(v: number) { this.bytes.push(v & 255); }
  u16(v: number) { this.bytes.push((v >>> 8) & 255, v & 255); }
  u32(v: number) { this.bytes.push((v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255); }
  raw(b: ArrayLike<number>) { for (let i = 0; i < b.length; i++) this.bytes.push(b[i]); }
  set16(at: number, v: number) { this.bytes[at] = (v >>> 8) & 255; this.bytes[at + 1] = v & 255; }
}

/** The Internet checksum (RFC 1071) of `parts`, each padded to even length. */
export function inetChecksum(...parts: ArrayLike<number>[]): number {
  let s = 0;
  for (const p of parts) for (let i = 0; i < p.length; i += 2) s += (p[i] << 8) | (i + 1 < p.length ? p[i + 1] : 0);
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return ~s & 0xffff;
}

const u16b = (v: number) => [(v >>> 8) & 255, v & 255];
const u32b = (v: number) => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
// Tests build many frames from a few addresses: parse each text once.
const parsed = new Map<string, number[]>();
function cached(key: string, f: () => number[]): number[] {
  let b = parsed.get(key);
  if (!b) {
    if (parsed.size > 4096) parsed.clear();
    parsed.set(key, (b = f()));
  }
  return b;
}
const macBytes = (s: string, what: string): number[] => cached(`m${s}`, () => { const n = parse(() => mac(s), what, s); return [...u16b(Math.floor(n / 2 ** 32)), ...u32b(n >>> 0)]; });
const ip4Bytes = (s: string, what: string): number[] => cached(`4${s}`, () => u32b(parse(() => ip4(s), what, s)));
const ip6Bytes = (s: string, what: string): number[] => cached(`6${s}`, () => parse(() => ip6(s), what, s).flatMap(u32b));

function parse<T>(f: () => T, what: string, s: string): T {
  try {
    return f();
  } catch (e) {
    throw new Error(`pkt: ${what} ${JSON.stringify(s)}: ${(e as Error).message}`);
  }
}

function tcpFlagBits(flags: string | number): number {
  if (typeof flags === "number") return flags;
  let bits = 0;
  for (const c of flags.toUpperCase()) {
    const i = TCP_FLAGS.indexOf(c);
    if (i < 0) throw new Error(`pkt.tcp: flag "${c}" in "${flags}": use letters of ${TCP_FLAGS} (F FIN, S SYN, R RST, P PSH, A ACK, U URG, E ECE, C CWR)`);
    bits |= 1 << i;
  }
  return bits;
}

function tcpOptions(opts: TcpOption[]): number[] {
  const out: number[] = [];
  for (const o of opts) {
    if ("mss" in o) out.push(2, 4, ...u16b(o.mss));
    else if ("wscale" in o) out.push(3, 3, o.wscale);
    else if ("sackOk" in o) out.push(4, 2);
    else if ("sack" in o) out.push(5, 2 + 8 * o.sack.length, ...o.sack.flatMap(([a, b]) => [...u32b(a), ...u32b(b)]));
    else if ("ts" in o) out.push(8, 10, ...u32b(o.ts[0]), ...u32b(o.ts[1]));
    else if ("nop" in o) out.push(1);
    else if ("eol" in o) out.push(0);
    else { const d = o.data ? Array.from(toBytes(o.data)) : []; out.push(o.kind, 2 + d.length, ...d); }
  }
  while (out.length % 4) out.push(0);   // EOL pads to the 32-bit boundary
  return out;
}

/** Serialises layers, then fills what was left open, innermost first. */
export function buildFrame(layers: readonly Layer[]): Uint8Array {
  const w = new Writer();
  const starts: number[] = [];
  const next = (i: number): Layer["kind"] | undefined => layers[i + 1]?.kind;
  layers.forEach((l, i) => {
    starts.push(w.bytes.length);
    const f = "f" in l ? l.f : undefined;
    switch (l.kind) {
      case "eth": {
        const e = f as EthFields;
        w.raw(macBytes(e.dst ?? "02:00:00:00:00:02", "eth dst")); w.raw(macBytes(e.src ?? "02:00:00:00:00:01", "eth src"));
        const n = layers[i + 1];
        w.u16(e.type ?? (n?.kind === "vlan" ? n.f.tpid ?? 0x8100 : ETHERTYPE[n?.kind ?? "payload"] ?? 0x9000));
        break;
      }
      case "vlan": {   // the tag's TPID was written as the type before it; here TCI, then the inner type
        const v = f as VlanFields;
        w.u16(((v.pcp ?? 0) << 13) | (v.dei ? 0x1000 : 0) | (v.vid ?? 1));
        const n = layers[i + 1];
        w.u16(v.type ?? (n?.kind === "vlan" ? n.f.tpid ?? 0x8100 : ETHERTYPE[n?.kind ?? "payload"] ?? 0x9000));
        break;
      }
      case "arp": {
        const a = f as ArpFields;
        const eth = layers.find((x) => x.kind === "eth") as { f: EthFields } | undefined;
        w.u16(1); w.u16(0x0800); w.u8(6); w.u8(4); w.u16(a.op ?? 1);
        w.raw(macBytes(a.sha ?? eth?.f.src ?? "02:00:00:00:00:01", "arp sha")); w.raw(ip4Bytes(a.spa ?? "10.0.0.1", "arp spa"));
        w.raw(macBytes(a.tha ?? "00:00:00:00:00:00", "arp tha")); w.raw(ip4Bytes(a.tpa ?? "10.0.0.2", "arp tpa"));
        break;
      }
      case "ipv4": {
        const p = f as Ipv4Fields;
        const opts = p.options ? Array.from(toBytes(p.options)) : [];
        while (opts.length % 4) opts.push(0);
        w.u8(0x40 | ((20 + opts.length) / 4)); w.u8(p.tos ?? 0); w.u16(0); w.u16(p.id ?? 1);
        w.u16((p.df ? 0x4000 : 0) | (p.mf ? 0x2000 : 0) | (p.fragOffset ?? 0));
        w.u8(p.ttl ?? 64); w.u8(p.proto ?? IPPROTO[next(i) ?? "payload"] ?? 0); w.u16(0);
        w.raw(ip4Bytes(p.src ?? "10.0.0.1", "ipv4 src")); w.raw(ip4Bytes(p.dst ?? "10.0.0.2", "ipv4 dst")); w.raw(opts);
        break;
      }
      case "ipv6": {
        const p = f as Ipv6Fields;
        w.u32((6 << 28) | ((p.tc ?? 0) << 20) | (p.flow ?? 0)); w.u16(0);
        w.u8(p.next ?? IPPROTO[next(i) ?? "payload"] ?? 59); w.u8(p.hopLimit ?? 64);   // 59: no next header
        w.raw(ip6Bytes(p.src ?? "2001:db8::1", "ipv6 src")); w.raw(ip6Bytes(p.dst ?? "2001:db8::2", "ipv6 dst"));
        break;
      }
      case "icmp": case "icmpv6": {
        const c = f as IcmpFields;
        w.u8(c.type ?? (l.kind === "icmp" ? 8 : 128)); w.u8(c.code ?? 0); w.u16(0); w.u16(c.id ?? 0); w.u16(c.seq ?? 0);
        break;
      }
      case "tcp": {
        const t = f as TcpFields;
        const opts = tcpOptions(t.options ?? []);
        w.u16(t.sport ?? 20); w.u16(t.dport ?? 80); w.u32(t.seq ?? 0); w.u32(t.ack ?? 0);
        const bits = tcpFlagBits(t.flags ?? "S");
        w.u16(((t.dataOffset ?? (20 + opts.length) / 4) << 12) | (bits & 0x1ff));
        w.u16(t.window ?? 8192); w.u16(0); w.u16(t.urg ?? 0); w.raw(opts);
        break;
      }
      case "udp": {   // default ports 9 (discard): no dissector reads the payload as a protocol
        const u = f as UdpFields;
        w.u16(u.sport ?? 9); w.u16(u.dport ?? 9); w.u16(0); w.u16(0);
        break;
      }
      case "payload": w.raw(l.data); break;
    }
  });
  starts.push(w.bytes.length);
  // Lengths and checksums, from the innermost layer out: a checksum covers
  // the finished bytes after it.
  const b = w.bytes;
  const put16 = (at: number, v: number) => { b[at] = (v >>> 8) & 255; b[at + 1] = v & 255; };
  const ipBefore = (i: number) => { for (let k = i - 1; k >= 0; k--) if (layers[k].kind === "ipv4" || layers[k].kind === "ipv6") return k; return -1; };
  const pseudo = (i: number, proto: number, len: number): number[] => {
    const k = ipBefore(i);
    if (k < 0) return [];
    const s = starts[k];
    return layers[k].kind === "ipv4"
      ? [...b.slice(s + 12, s + 20), 0, proto, ...u16b(len)]
      : [...b.slice(s + 8, s + 40), ...u32b(len), 0, 0, 0, proto];
  };
  for (let i = layers.length - 1; i >= 0; i--) {
    const l = layers[i], s = starts[i], end = b.length, len = end - s;
    if (l.kind === "udp") {
      put16(s + 4, l.f.len ?? len);
      const c = inetChecksum(pseudo(i, 17, len), b.slice(s, end));
      put16(s + 6, l.f.checksum ?? (c === 0 ? 0xffff : c));   // 0 would mean "no checksum"
    } else if (l.kind === "tcp") {
      put16(s + 16, l.f.checksum ?? inetChecksum(pseudo(i, 6, len), b.slice(s, end)));
    } else if (l.kind === "icmp") {
      put16(s + 2, l.f.checksum ?? inetChecksum(b.slice(s, end)));
    } else if (l.kind === "icmpv6") {
      put16(s + 2, l.f.checksum ?? inetChecksum(pseudo(i, 58, len), b.slice(s, end)));
    } else if (l.kind === "ipv4") {
      put16(s + 2, l.f.len ?? len);
      const hl = (b[s] & 15) * 4;
      put16(s + 10, l.f.checksum ?? inetChecksum(b.slice(s, s + hl)));
    } else if (l.kind === "ipv6") {
      put16(s + 4, l.f.len ?? len - 40);
    }
  }
  return Uint8Array.from(b);
}

/** What vnfrun/test accepts as a packet: a builder or the bytes themselves. */
export type PacketLike = PacketBuilder | Uint8Array | readonly number[];

export function frameOf(p: PacketLike): Uint8Array {
  if (p instanceof PacketBuilder) return p.build();
  if (p instanceof Uint8Array) return p;
  if (Array.isArray(p)) return Uint8Array.from(p);
  // Another copy of vnfrun/test (a second install) builds its own class.
  if (p && typeof (p as { build?: unknown }).build === "function") return (p as unknown as PacketBuilder).build();
  throw new Error(`expected a packet (pkt.eth()..., a Uint8Array or an array of bytes), got ${typeof p}`);
}
