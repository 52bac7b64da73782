import type { Batch } from "./batch";
import { ArpHeader } from "./headers/arp";
import { EthernetHeader } from "./headers/ethernet";
import { Icmp6Header, IcmpHeader } from "./headers/icmp";
import { Ipv4Header } from "./headers/ipv4";
import { Ipv6Header } from "./headers/ipv6";
import { TcpHeader } from "./headers/tcp";
import { UdpHeader } from "./headers/udp";
import { VlanHeader } from "./headers/vlan";
import {
  L3_ARP, L3_IPV4, L3_IPV6, L3_NONE, L4_ICMP, L4_ICMP6, L4_NONE, L4_TCP, L4_UDP,
} from "./kinds";

/** Extension headers walked before giving up on an IPv6 packet. */
const MAX_IPV6_EXT = 8;

/**
 * A view of one packet of a Batch. There is ONE Packet object per batch:
 * iterating or calling batch.packet(i) moves it, so do not keep a reference
 * (or a header view) past the next move; copy() what you need to keep.
 *
 * Header getters return a reused view, or null when the header is absent or
 * does not fit. Nothing reads outside bytes[offset, offset+length). L3/L4 are
 * parsed on first access and cached until the packet moves, its offset or
 * length is set, or a structural field (a type, a length, a protocol, a
 * port) is written through a view; after other edits call reparse().
 */
export class Packet {
  /** Position in the batch. */
  index = 0;
  /** The whole buffer pool; this packet is bytes[offset, offset + length). */
  readonly bytes: Uint8Array;

  // Internal state, shared with the header views. Not API.
  readonly _batch: Batch;
  readonly _offsets: Uint32Array;
  readonly _lengths: Uint32Array;
  _off = 0;
  _len = 0;
  _parsed = false;
  _etherType = -1;
  _l3Kind = L3_NONE;
  _l3Off = -1;
  _l3End = 0;
  _l4Proto = -1;
  _l4Kind = L4_NONE;
  _l4Off = -1;
  _srcPort = -1;
  _dstPort = -1;
  _hasVlan = false;

  private readonly _eth: EthernetHeader;
  private readonly _vlan: VlanHeader;
  private readonly _arp: ArpHeader;
  private readonly _ip4: Ipv4Header;
  private readonly _ip6: Ipv6Header;
  private readonly _icmp: IcmpHeader;
  private readonly _icmp6: Icmp6Header;
  private readonly _tcp: TcpHeader;
  private readonly _udp: UdpHeader;

  constructor(batch: Batch) {
    this._batch = batch;
    this._offsets = batch.offsets;
    this._lengths = batch.lengths;
    const b = batch.bytes;
    this.bytes = b;
    this._eth = new EthernetHeader(b, this);
    this._vlan = new VlanHeader(b, this);
    this._arp = new ArpHeader(b, this);
    this._ip4 = new Ipv4Header(b, this);
    this._ip6 = new Ipv6Header(b, this);
    this._icmp = new IcmpHeader(b, this);
    this._icmp6 = new Icmp6Header(b, this);
    this._tcp = new TcpHeader(b, this);
    this._udp = new UdpHeader(b, this);
  }

  /** Move to packet i. Called by Batch; no bounds check here. */
  _moveTo(i: number): void {
    this.index = i;
    this._off = this._offsets[i];
    this._len = this._lengths[i];
    this._parsed = false;
  }

  /** Absolute offset of the frame in `bytes`. Setting it (to push or pop
   *  headers) writes batch.offsets; bounds are validated by the native side. */
  get offset(): number { return this._off; }
  set offset(v: number) {
    this._batch.offsets[this.index] = v;
    this._off = this._batch.offsets[this.index];
    this._parsed = false;
  }

  /** Frame length. Setting it writes batch.lengths and is not clamped here:
   *  the native side validates it against the buffer when transmitting. */
  get length(): number { return this._len; }
  set length(v: number) {
    this._batch.lengths[this.index] = v;
    this._len = this._batch.lengths[this.index];
    this._parsed = false;
  }

  /** Index of the port the packet arrived on. */
  get inPort(): number { return this._batch.inPorts[this.index]; }
  get inPortName(): string { return this._batch.portNames[this._batch.inPorts[this.index]]; }

  /** Raw verdict: 0 = drop, k + 1 = send out of port k. */
  get verdict(): number { return this._batch.verdicts[this.index]; }
  set verdict(v: number) { this._batch.verdicts[this.index] = v; }
  drop(): void { this._batch.verdicts[this.index] = 0; }
  /** Send out of a port, by index (fastest: resolve names once in init) or
   *  by name. Unknown ports throw. */
  send(port: string | number): void {
    const k = typeof port === "number" ? port : this._batch.port(port);
    if (!(k >= 0 && k < this._batch.portNames.length && (k | 0) === k)) {
      throw new Error(`send(${k}): no such port index; ports are 0..${this._batch.portNames.length - 1}`);
    }
    this._batch.verdicts[this.index] = k + 1;
  }

  /** A copy of the frame bytes. Allocates: for debugging and tests. */
  copy(): Uint8Array { return this.bytes.slice(this._off, this._off + this._len); }

  /** Forget the cached parse (after editing headers by hand). */
  reparse(): void { this._parsed = false; }
  ensureParsed(): void { if (!this._parsed) this.parse(); }

  get eth(): EthernetHeader | null {
    if (this._len < 14) return null;
    const h = this._eth;
    h.o = this._off;
    return h;
  }
  /** The outer VLAN tag, if any (L3 parsing skips up to two tags). */
  get vlan(): VlanHeader | null {
    if (!this._parsed) this.parse();
    return this._hasVlan ? this._vlan : null;
  }
  /** The Ethernet type after any VLAN tags, or -1 without Ethernet. */
  get etherType(): number {
    if (!this._parsed) this.parse();
    return this._etherType;
  }
  get arp(): ArpHeader | null {
    if (!this._parsed) this.parse();
    return this._l3Kind === L3_ARP ? this._arp : null;
  }
  get ipv4(): Ipv4Header | null {
    if (!this._parsed) this.parse();
    return this._l3Kind === L3_IPV4 ? this._ip4 : null;
  }
  get ipv6(): Ipv6Header | null {
    if (!this._parsed) this.parse();
    return this._l3Kind === L3_IPV6 ? this._ip6 : null;
  }
  get tcp(): TcpHeader | null {
    if (!this._parsed) this.parse();
    return this._l4Kind === L4_TCP ? this._tcp : null;
  }
  get udp(): UdpHeader | null {
    if (!this._parsed) this.parse();
    return this._l4Kind === L4_UDP ? this._udp : null;
  }
  get icmp(): IcmpHeader | null {
    if (!this._parsed) this.parse();
    return this._l4Kind === L4_ICMP ? this._icmp : null;
  }
  get icmp6(): Icmp6Header | null {
    if (!this._parsed) this.parse();
    return this._l4Kind === L4_ICMP6 ? this._icmp6 : null;
  }

  /** Absolute offset of the IP header, or -1 (not IP). */
  get l3Offset(): number {
    if (!this._parsed) this.parse();
    return this._l3Kind === L3_IPV4 || this._l3Kind === L3_IPV6 ? this._l3Off : -1;
  }
  /** Upper-layer protocol (after IPv6 extension headers), or -1 when not IP
   *  or the extension chain is malformed. Set for non-first fragments too. */
  get l4Protocol(): number {
    if (!this._parsed) this.parse();
    return this._l4Proto;
  }
  /** Absolute offset of the upper-layer header, or -1 (non-first fragment,
   *  no next header, not IP). May equal the IP end for an empty payload. */
  get l4Offset(): number {
    if (!this._parsed) this.parse();
    return this._l4Off;
  }
  /** TCP or UDP source port, or -1 when neither header is there. */
  get srcPort(): number {
    if (!this._parsed) this.parse();
    return this._srcPort;
  }
  /** TCP or UDP destination port, or -1. */
  get dstPort(): number {
    if (!this._parsed) this.parse();
    return this._dstPort;
  }
  /** Absolute offset of the data after the TCP/UDP/ICMP header, or -1. */
  get payloadOffset(): number {
    if (!this._parsed) this.parse();
    const k = this._l4Kind, o = this._l4Off;
    if (k === L4_TCP) return o + ((this.bytes[o + 12] >>> 4) << 2);
    if (k === L4_NONE) return -1;
    return o + 8; // UDP, ICMP and ICMPv6 headers are 8 bytes
  }
  /** Bytes of payload up to the end of the IP packet (padding excluded), or 0. */
  get payloadLength(): number {
    const po = this.payloadOffset;
    return po < 0 ? 0 : this._l3End - po;
  }

  /**
   * Parse L2..L4 once; fills the _l3/_l4 fields and the views' offsets.
   * Deliberately one big function: V8 will not inline it, so the getters
   * that call it stay small enough to inline into VNF code, and a packet
   * costs one call however many headers are asked for. Works on locals and
   * stores each field once at the end.
   */
  private parse(): void {
    const b = this.bytes, len = this._len, start = this._off, end = start + len;
    let etherType = -1, hasVlan = false;
    let l3Kind = L3_NONE, l3Off = -1, l3End = 0;
    let l4Proto = -1, l4Kind = L4_NONE, l4Off = -1, sport = -1, dport = -1;
    parse: {
      if (len < 14) break parse;
      let et = (b[start + 12] << 8) | b[start + 13];
      let p = start + 14;
      // Up to two VLAN tags (802.1ad/802.1Q, and the old 0x9100).
      if (et === 0x8100 || et === 0x88a8 || et === 0x9100) {
        if (p + 4 > end) break parse;
        hasVlan = true;
        this._vlan.o = start + 12;
        et = (b[p + 2] << 8) | b[p + 3];
        p += 4;
        if (et === 0x8100 || et === 0x88a8 || et === 0x9100) {
          if (p + 4 > end) break parse;
          et = (b[p + 2] << 8) | b[p + 3];
          p += 4;
        }
      }
      etherType = et;
      let q = 0, e = 0; // upper-layer start and IP end, for the L4 step below
      if (et === 0x0800) {
        if (p + 20 > end) break parse;
        const vi = b[p];
        const hl = (vi & 0x0f) << 2;
        const tl = (b[p + 2] << 8) | b[p + 3];
        if ((vi >>> 4) !== 4 || hl < 20 || tl < hl || p + tl > end) break parse;
        l3Kind = L3_IPV4; l3Off = p; l3End = p + tl;
        this._ip4.o = p;
        l4Proto = b[p + 9];
        if ((((b[p + 6] & 0x1f) << 8) | b[p + 7]) !== 0) break parse; // non-first fragment
        q = p + hl; e = p + tl;
      } else if (et === 0x86dd) {
        if (p + 40 > end || (b[p] >>> 4) !== 6) break parse;
        e = p + 40 + ((b[p + 4] << 8) | b[p + 5]);
        if (e > end) break parse; // includes jumbograms (payload length 0): unsupported
        l3Kind = L3_IPV6; l3Off = p; l3End = e;
        this._ip6.o = p;
        let nh = b[p + 6];
        q = p + 40;
        let n = 0;
        for (; n < MAX_IPV6_EXT; n++) {
          if (nh === 0 || nh === 43 || nh === 60 || nh === 51) {
            // Hop-by-hop, routing, destination options: (len+1)*8 bytes;
            // AH: (len+2)*4 bytes.
            if (q + 8 > e) break parse;
            const next = b[q];
            q += nh === 51 ? (b[q + 1] + 2) << 2 : (b[q + 1] + 1) << 3;
            if (q > e) break parse;
            nh = next;
          } else if (nh === 44) {
            if (q + 8 > e) break parse;
            const next = b[q];
            const fragOff = (b[q + 2] << 5) | (b[q + 3] >>> 3);
            q += 8;
            nh = next;
            if (fragOff !== 0) { l4Proto = nh; break parse; } // no L4 header in this fragment
          } else {
            break;
          }
        }
        if (n === MAX_IPV6_EXT) break parse; // too long a chain: upper layer unknown
        l4Proto = nh;
        if (nh === 59) break parse; // no next header
      } else {
        // ARP, Ethernet/IPv4 only: htype 1, ptype 0x0800, hlen 6, plen 4.
        if (et !== 0x0806 || p + 28 > end) break parse;
        if (b[p] !== 0 || b[p + 1] !== 1 || b[p + 2] !== 8 || b[p + 3] !== 0 || b[p + 4] !== 6 || b[p + 5] !== 4) break parse;
        l3Kind = L3_ARP; l3Off = p; l3End = p + 28;
        this._arp.o = p;
        break parse;
      }
      // L4: the header must fit inside the IP packet (not just the frame).
      l4Off = q;
      const proto = l4Proto;
      if (proto === 6) {
        if (q + 20 > e) break parse;
        const hl = (b[q + 12] >>> 4) << 2;
        if (hl < 20 || q + hl > e) break parse;
        l4Kind = L4_TCP;
        this._tcp.o = q;
        sport = (b[q] << 8) | b[q + 1];
        dport = (b[q + 2] << 8) | b[q + 3];
      } else if (proto === 17) {
        if (q + 8 > e) break parse;
        l4Kind = L4_UDP;
        this._udp.o = q;
        sport = (b[q] << 8) | b[q + 1];
        dport = (b[q + 2] << 8) | b[q + 3];
      } else if (proto === 1) {
        if (l3Kind !== L3_IPV4 || q + 8 > e) break parse;
        l4Kind = L4_ICMP;
        this._icmp.o = q;
      } else if (proto === 58) {
        if (l3Kind !== L3_IPV6 || q + 8 > e) break parse;
        l4Kind = L4_ICMP6;
        this._icmp6.o = q;
      }
    }
    this._etherType = etherType;
    this._hasVlan = hasVlan;
    this._l3Kind = l3Kind;
    this._l3Off = l3Off;
    this._l3End = l3End;
    this._l4Proto = l4Proto;
    this._l4Kind = l4Kind;
    this._l4Off = l4Off;
    this._srcPort = sport;
    this._dstPort = dport;
    this._parsed = true;
  }
}
