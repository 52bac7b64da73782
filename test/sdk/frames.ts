// Frame builders for tests. Independent of the SDK on purpose: checksums here
// use a different algorithm (mod 0xffff arithmetic) than sdk/checksum.ts.

export type Bytes = number[];

/** Reference ones'-complement checksum: end-around carry == mod 0xffff. */
export function refChecksum(bytes: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += bytes[i] * 256 + (i + 1 < bytes.length ? bytes[i + 1] : 0);
  const ones = sum === 0 ? 0 : ((sum - 1) % 0xffff) + 1; // in 1..0xffff unless all zero
  return 0xffff - ones;
}

export const u16 = (v: number): Bytes => [(v >>> 8) & 255, v & 255];
export const u32 = (v: number): Bytes => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
export const u48 = (v: number): Bytes => [...u16(Math.floor(v / 2 ** 32)), ...u32(v >>> 0)];

export const MAC_A = 0x020000000001;
export const MAC_B = 0x020000000002;

export function ethHeader(type: number, dst = MAC_B, src = MAC_A): Bytes {
  return [...u48(dst), ...u48(src), ...u16(type)];
}

/** One 802.1Q/802.1ad tag (TPID, TCI); put it between the MACs and the type. */
export function vlanTag(tpid: number, pcp: number, dei: boolean, vid: number): Bytes {
  return [...u16(tpid), ...u16((pcp << 13) | (dei ? 0x1000 : 0) | vid)];
}

/** Ethernet with optional tags: dst, src, tags..., type, payload. */
export function frame(type: number, payload: Bytes, tags: Bytes[] = []): Uint8Array {
  const h = ethHeader(type);
  return Uint8Array.from([...h.slice(0, 12), ...tags.flat(), ...h.slice(12), ...payload]);
}

export interface Ip4Opts {
  src?: number; dst?: number; proto?: number; ttl?: number; id?: number;
  tos?: number; flags?: number; fragOff?: number; options?: Bytes;
}

/** IPv4 header + payload with a correct header checksum. */
export function ipv4(o: Ip4Opts, payload: Bytes): Bytes {
  const opts = o.options ?? [];
  if (opts.length % 4 !== 0) throw new Error("options must be a multiple of 4 bytes");
  const hl = 20 + opts.length;
  const h = [
    0x40 | (hl / 4), o.tos ?? 0, ...u16(hl + payload.length), ...u16(o.id ?? 0x1234),
    ...u16(((o.flags ?? 2) << 13) | (o.fragOff ?? 0)), o.ttl ?? 64, o.proto ?? 17, 0, 0,
    ...u32(o.src ?? 0x0a000001), ...u32(o.dst ?? 0x0a000002), ...opts,
  ];
  const c = refChecksum(h);
  h[10] = c >>> 8; h[11] = c & 255;
  return [...h, ...payload];
}

export interface Ip6Opts { src?: number[]; dst?: number[]; next?: number; hopLimit?: number; tc?: number; flow?: number; }

export const V6_A = [0x20010db8, 0, 0, 1];
export const V6_B = [0x20010db8, 0, 0, 2];

/** IPv6 fixed header + payload (extension headers go in the payload). */
export function ipv6(o: Ip6Opts, payload: Bytes): Bytes {
  const tc = o.tc ?? 0, flow = o.flow ?? 0;
  return [
    0x60 | (tc >>> 4), ((tc & 15) << 4) | (flow >>> 16), (flow >>> 8) & 255, flow & 255,
    ...u16(payload.length), o.next ?? 17, o.hopLimit ?? 64,
    ...(o.src ?? V6_A).flatMap(u32), ...(o.dst ?? V6_B).flatMap(u32), ...payload,
  ];
}

/** Hop-by-hop / routing / destination options header of (len+1)*8 bytes. */
export function extHeader(next: number, len = 0): Bytes {
  const h = new Array<number>((len + 1) * 8).fill(0);
  h[0] = next; h[1] = len;
  if (len === 0) { h[2] = 1; h[3] = 4; } // a PadN option filling the rest
  return h;
}

/** IPv6 fragment header. */
export function fragHeader(next: number, offset8: number, more: boolean, id = 0xabcdef): Bytes {
  return [next, 0, ...u16((offset8 << 3) | (more ? 1 : 0)), ...u32(id)];
}

export interface TcpOpts { sport?: number; dport?: number; seq?: number; ack?: number; flags?: number; window?: number; urgent?: number; options?: Bytes; }

export function tcp(o: TcpOpts, payload: Bytes = []): Bytes {
  const opts = o.options ?? [];
  const hl = 20 + opts.length;
  return [
    ...u16(o.sport ?? 40000), ...u16(o.dport ?? 80), ...u32(o.seq ?? 1000), ...u32(o.ack ?? 0),
    (hl / 4) << 4, o.flags ?? 0x02, ...u16(o.window ?? 65535), 0, 0, ...u16(o.urgent ?? 0),
    ...opts, ...payload,
  ];
}

export function udp(sport: number, dport: number, payload: Bytes = []): Bytes {
  return [...u16(sport), ...u16(dport), ...u16(8 + payload.length), 0, 0, ...payload];
}

export function icmpEcho(type: number, id: number, seq: number, payload: Bytes = []): Bytes {
  const m = [type, 0, 0, 0, ...u16(id), ...u16(seq), ...payload];
  const c = refChecksum(m);
  m[2] = c >>> 8; m[3] = c & 255;
  return m;
}

/** Checksum offset within a transport header. */
function csumAt(proto: number): number {
  return proto === 6 ? 16 : proto === 17 ? 6 : 2;
}

/** Fill the L4 checksum of an IPv4 packet whose L4 header starts at l4 (relative to ip). */
export function fillL4v4(ip: Bytes, proto: number, l4: number): Bytes {
  const seg = ip.slice(l4);
  const at = csumAt(proto);
  seg[at] = 0; seg[at + 1] = 0;
  const pseudo = proto === 1 ? [] : [...ip.slice(12, 20), 0, proto, ...u16(seg.length)];
  let c = refChecksum([...pseudo, ...(pseudo.length % 2 ? [0] : []), ...seg]);
  if (c === 0 && proto === 17) c = 0xffff;
  const out = ip.slice();
  out[l4 + at] = c >>> 8; out[l4 + at + 1] = c & 255;
  return out;
}

/** Fill the L4 checksum of an IPv6 packet whose L4 header starts at l4 (relative to ip). */
export function fillL4v6(ip: Bytes, proto: number, l4: number): Bytes {
  const seg = ip.slice(l4);
  const at = csumAt(proto);
  seg[at] = 0; seg[at + 1] = 0;
  const pseudo = [...ip.slice(8, 40), ...u32(seg.length), 0, 0, 0, proto];
  let c = refChecksum([...pseudo, ...seg]);
  if (c === 0 && proto === 17) c = 0xffff;
  const out = ip.slice();
  out[l4 + at] = c >>> 8; out[l4 + at + 1] = c & 255;
  return out;
}

export function arp(op: number, sha: number, spa: number, tha: number, tpa: number): Bytes {
  return [0, 1, 8, 0, 6, 4, ...u16(op), ...u48(sha), ...u32(spa), ...u48(tha), ...u32(tpa)];
}

export const hex = (s: string): Uint8Array => Uint8Array.from(s.replace(/\s+/g, "").match(/../g)!.map((x) => parseInt(x, 16)));
