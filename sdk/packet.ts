import type { Batch } from "./batch";
import { ArpHeader } from "./headers/arp";
import { EthernetHeader } from "./headers/ethernet";
import { Icmp6Header, IcmpHeader } from "./headers/icmp";
import { Ipv4Header } from "./headers/ipv4";
import { Ipv6Header } from "./headers/ipv6";
import { TcpHeader } from "./headers/tcp";
import { UdpHeader } from "./headers/udp";
import { VlanHeader } from "./headers/vlan";
import { ByteFields, type FieldView } from "./bytes";
import {
  CHECKSUM_PENDING, L3_ARP, L3_IPV4, L3_IPV6, L3_NONE, L4_ICMP, L4_ICMP6, L4_NONE, L4_TCP, L4_UDP, UNPARSED,
} from "./kinds";

/** Extension headers walked before giving up on an IPv6 packet. */
const MAX_IPV6_EXT = 8;

/**
 * A view of one packet of a Batch. There is ONE Packet object per batch:
 * iterating or calling batch.packet(i) moves it, so do not keep a reference
 * (or a header view) past the next move; copy() what you need to keep.
 *
 * Header getters return a reused view, or null when the header is absent or
 * does not fit. Nothing reads outside bytes[offset, offset+length). Once
 * the VNF has asked for a header, the common case is parsed on the move;
 * anything else, L3 on the first L2/L3 question and L4 on the first L4
 * question. The parse holds until the
 * packet moves, its offset or length is set, or a structural field (a
 * type, a length, a protocol, a port) is written through a view; after
 * other edits call reparse().
 *
 * How this stays cheap (V8 inlines the getters into the VNF's loop; see
 * bench/js-*.mjs for the measurements): moving to a packet parses the
 * common case (untagged IPv4 + UDP/TCP) in straight-line code (from the
 * first header question on, so that loops without any cost nothing), reading
 * multi-byte fields with one DataView load each instead of two or four
 * bounds-checked byte loads; the getters are then one compare and a field
 * load, small enough for V8 to inline anywhere; VLAN tags, IPv6 extension
 * headers, ARP and anything malformed go to out-of-line full parsers.
 */
export class Packet {
  /** Position in the batch. */
  index = 0;
  /** The whole buffer pool; this packet is bytes[offset, offset + length). */
  declare readonly bytes: Uint8Array;

  // Internal state, shared with the header views. Not API.
  declare readonly _batch: Batch;
  /** The pool again, for big-endian 16/32-bit reads in one load. */
  declare readonly _dv: FieldView;
  declare readonly _offsets: Uint32Array;
  declare readonly _lengths: Uint32Array;
  declare readonly _inPorts: Uint8Array;
  declare readonly _verdicts: Uint8Array;
  declare readonly _flags: Uint8Array;
  _off = 0;
  _len = 0;
  /** 1 once the VNF has asked for a header: from then on each move parses
   *  the common case. A VNF that never looks at headers pays nothing. */
  _eager = 0;
  /** L3_* once L2/L3 are parsed; UNPARSED before. */
  _l3Kind = UNPARSED;
  _etherType = -1;
  _l3Off = -1;
  /** L4_* once L4 is parsed; UNPARSED before (L3 is parsed first). */
  _l4Kind = UNPARSED;
  _l4Proto = -1;
  _l4Off = -1;
  _srcPort = -1;
  _dstPort = -1;

  declare readonly _eth: EthernetHeader;
  declare readonly _vlan: VlanHeader;
  declare readonly _arp: ArpHeader;
  declare readonly _ip4: Ipv4Header;
  declare readonly _ip6: Ipv6Header;
  declare readonly _icmp: IcmpHeader;
  declare readonly _icmp6: Icmp6Header;
  declare readonly _tcp: TcpHeader;
  declare readonly _udp: UdpHeader;

  /** Move to packet i (called by Batch; no bounds check) and parse the
   *  common case: see moveToFor at the end of this file. A closure made
   *  for this batch's arrays rather than a method, for speed. */
  declare readonly _moveTo: (this: Packet, i: number) => void;

  constructor(batch: Batch) {
    this._batch = batch;
    this._offsets = batch.offsets;
    this._lengths = batch.lengths;
    this._inPorts = batch.inPorts;
    this._verdicts = batch.verdicts;
    this._flags = batch.flags;
    const b = batch.bytes;
    this.bytes = b;
    this._dv = batch.byteFields ? new ByteFields(b) : new DataView(b.buffer, b.byteOffset, b.byteLength);
    this._eth = new EthernetHeader(this);
    this._vlan = new VlanHeader(this);
    this._arp = new ArpHeader(this);
    this._ip4 = new Ipv4Header(this);
    this._ip6 = new Ipv6Header(this);
    this._icmp = new IcmpHeader(this);
    this._icmp6 = new Icmp6Header(this);
    this._tcp = new TcpHeader(this);
    this._udp = new UdpHeader(this);
    this._moveTo = moveToFor(this._dv, batch.offsets, batch.lengths, b, this._ip4);
  }

  /**
   * Move to packet i. Called by Batch; no bounds check here.
   *
   * The common case is parsed right here, in straight-line code: an
   * untagged IPv4 header that fits (options allowed) and, unless the packet
   * is a non-first fragment, its UDP header or its TCP header with options.
   * That decides the getters below with one field compare each, so they stay
   * tiny and V8 inlines them all; parsing in the first getter instead would
   * put the parser in every getter, past V8's inlining budget (measured:
   * bench/js-ir.mjs). Everything else (VLAN tags, IPv6 and its extension
   * headers, ARP, ICMP, malformed frames) is left UNPARSED for the
   * out-of-line parsers, run on the first question that needs them.
   */
  /** Absolute offset of the frame in `bytes`. Setting it (to push or pop
   *  headers) writes batch.offsets; bounds are validated by the native side. */
  get offset(): number { return this._off; }
  set offset(v: number) {
    this._offsets[this.index] = v;
    this._off = this._offsets[this.index];
    this.reparse();
  }

  /** Frame length. Setting it writes batch.lengths and is not clamped here:
   *  the native side validates it against the buffer when transmitting. */
  get length(): number { return this._len; }
  set length(v: number) {
    this._lengths[this.index] = v;
    this._len = this._lengths[this.index];
    this.reparse();
  }

  /** True when the TCP/UDP checksum is left to offload (the packet came in
   *  on a vnet port): the field holds the pseudo-header sum, which the
   *  rewrite* helpers and updateChecksum() keep right. */
  get checksumPending(): boolean { return (this._flags[this.index] & CHECKSUM_PENDING) !== 0; }

  /** Index of the port the packet arrived on. */
  get inPort(): number { return this._inPorts[this.index]; }
  get inPortName(): string { return this._batch.portNames[this._inPorts[this.index]]; }

  /** Raw verdict: 0 = drop, k + 1 = send out of port k. */
  get verdict(): number { return this._verdicts[this.index]; }
  set verdict(v: number) { this._verdicts[this.index] = v; }
  drop(): void { this._verdicts[this.index] = 0; }
  /** Send out of a port, by index (fastest: resolve names once in init) or
   *  by name. Unknown ports throw. */
  send(port: string | number): void {
    const k = typeof port === "number" ? port : this._batch.port(port);
    if (!(k >= 0 && k < this._batch.portNames.length && (k | 0) === k)) badPort(k, this._batch.portNames.length);
    this._verdicts[this.index] = k + 1;
  }

  /** A copy of the frame bytes. Allocates: for debugging and tests. */
  copy(): Uint8Array { return this.bytes.slice(this._off, this._off + this._len); }

  /** Forget the cached parse (after editing headers by hand). */
  reparse(): void { this._l3Kind = UNPARSED; this._l4Kind = UNPARSED; }
  /** Parse L2..L4 now (they are parsed on demand anyway). */
  ensureParsed(): void { this._l4(); }

  get eth(): EthernetHeader | null {
    if (this._len < 14) return null;
    const h = this._eth;
    h.o = this._off;
    return h;
  }
  /** The outer VLAN tag, if any (L3 parsing skips up to two tags). Read
   *  from the frame, so the parse keeps no state for it. */
  get vlan(): VlanHeader | null {
    const o = this._off;
    if (this._len < 18) return null;
    const et = this._dv.getUint16(o + 12);
    if (et !== 0x8100 && et !== 0x88a8 && et !== 0x9100) return null;
    const h = this._vlan;
    h.o = o + 12;
    return h;
  }
  /** The Ethernet type after any VLAN tags, or -1 without Ethernet. */
  get etherType(): number {
    return this._l3() === L3_IPV4 ? 0x0800 : this._etherType; // _moveTo stores no type
  }
  // The hot getters are one compare when _moveTo decided the packet, and
  // call out otherwise. Written to stay at most 27 bytes of bytecode (the
  // literal kinds help: L3_IPV4 = 1, L4_TCP = 1, L4_UDP = 2): V8 inlines
  // functions that small anywhere, outside its inlining budget.
  get ipv4(): Ipv4Header | null {
    if (this._l3Kind === 1) return this._ip4;
    return this._ipv4Slow();
  }
  get ipv6(): Ipv6Header | null { return this._l3() === L3_IPV6 ? this._ip6 : null; }
  get arp(): ArpHeader | null { return this._l3() === L3_ARP ? this._arp : null; }
  // The L4 views get their offset when handed out (most packets never ask).
  get tcp(): TcpHeader | null { return this._tcpView(); }
  get udp(): UdpHeader | null { return this._udpView(); }
  get icmp(): IcmpHeader | null { return this._l4() === L4_ICMP ? this._icmp : null; }
  get icmp6(): Icmp6Header | null { return this._l4() === L4_ICMP6 ? this._icmp6 : null; }

  /** Absolute offset of the IP header, or -1 (not IP). */
  get l3Offset(): number {
    const k = this._l3();
    return k === L3_IPV4 || k === L3_IPV6 ? this._l3Off : -1;
  }
  /** Upper-layer protocol (after IPv6 extension headers), or -1 when not IP
   *  or the extension chain is malformed. Set for non-first fragments too. */
  get l4Protocol(): number { return this._l4Kind >= 0 ? this._l4Proto : this._l4ProtoSlow(); }
  /** Absolute offset of the upper-layer header, or -1 (non-first fragment,
   *  no next header, not IP). May equal the IP end for an empty payload. */
  get l4Offset(): number {
    this._l4();
    return this._l4Off;
  }
  /** TCP or UDP source port, or -1 when neither header is there. */
  get srcPort(): number { return this._l4Kind >= 0 ? this._srcPort : this._srcPortSlow(); }
  /** TCP or UDP destination port, or -1. */
  get dstPort(): number { return this._l4Kind >= 0 ? this._dstPort : this._dstPortSlow(); }
  /** Absolute offset of the data after the TCP/UDP/ICMP header, or -1. */
  get payloadOffset(): number {
    const k = this._l4(), o = this._l4Off;
    if (k === L4_TCP) return o + ((this.bytes[o + 12] >>> 4) << 2);
    if (k === L4_NONE) return -1;
    return o + 8; // UDP, ICMP and ICMPv6 headers are 8 bytes
  }
  /** Bytes of payload up to the end of the IP packet (padding excluded), or 0. */
  get payloadLength(): number {
    const po = this.payloadOffset;
    return po < 0 ? 0 : this._l3End - po;
  }

  /** Where the IP packet (or ARP message) ends, from its header: the parse
   *  checked it fits, so it stores nothing. Clamped to the frame in case
   *  the header was edited without reparse(). 0 when not IP or ARP. */
  get _l3End(): number {
    const k = this._l3(), p = this._l3Off;
    let e: number;
    if (k === L3_IPV4) e = p + this._dv.getUint16(p + 2);
    else if (k === L3_IPV6) e = p + 40 + this._dv.getUint16(p + 4);
    else if (k === L3_ARP) e = p + 28;
    else return 0;
    return Math.min(e, this._off + this._len);
  }

  // ---- Parsing ------------------------------------------------------------
  // _moveTo parses the common case; these run the full parsers on demand.

  /** L3 kind, parsing L2/L3 first if needed. (-1 is UNPARSED, as a
   *  literal: bundled, a module constant is a variable V8 must load.) */
  _l3(): number {
    const k = this._l3Kind;
    return k !== -1 ? k : this._parseL3Full();
  }

  /** L4 kind, parsing L2..L4 first if needed. */
  _l4(): number {
    const k = this._l4Kind;
    return k !== -1 ? k : this._parseL4Full();
  }

  private _ipv4Slow(): Ipv4Header | null { return this._l3() === L3_IPV4 ? this._ip4 : null; }
  private _tcpView(): TcpHeader | null {
    if (this._l4() !== 1) return null; // L4_TCP
    const h = this._tcp;
    h.o = this._l4Off;
    return h;
  }
  private _udpView(): UdpHeader | null {
    if (this._l4() !== 2) return null; // L4_UDP
    const h = this._udp;
    h.o = this._l4Off;
    return h;
  }
  private _l4ProtoSlow(): number { this._l4(); return this._l4Proto; }
  private _srcPortSlow(): number { this._l4(); return this._srcPort; }
  private _dstPortSlow(): number { this._l4(); return this._dstPort; }

  /**
   * Everything L2/L3: up to two VLAN tags, IPv4, IPv6, ARP, and frames that
   * are none of these or malformed. Out of line by design: _moveTo covers
   * the common case.
   */
  private _parseL3Full(): number {
    this._eager = 1;
    const b = this.bytes, len = this._len, start = this._off, end = start + len;
    let etherType = -1, l3Kind = L3_NONE, l3Off = -1;
    parse: {
      if (len < 14) break parse;
      let et = (b[start + 12] << 8) | b[start + 13];
      let p = start + 14;
      // Up to two VLAN tags (802.1ad/802.1Q, and the old 0x9100).
      if (et === 0x8100 || et === 0x88a8 || et === 0x9100) {
        if (p + 4 > end) break parse;
        et = (b[p + 2] << 8) | b[p + 3];
        p += 4;
        if (et === 0x8100 || et === 0x88a8 || et === 0x9100) {
          if (p + 4 > end) break parse;
          et = (b[p + 2] << 8) | b[p + 3];
          p += 4;
        }
      }
      etherType = et;
      if (et === 0x0800) {
        if (p + 20 > end) break parse;
        const vi = b[p];
        const hl = (vi & 0x0f) << 2;
        const tl = (b[p + 2] << 8) | b[p + 3];
        if ((vi >>> 4) !== 4 || hl < 20 || tl < hl || p + tl > end) break parse;
        l3Kind = L3_IPV4; l3Off = p;
        this._ip4.o = p;
      } else if (et === 0x86dd) {
        if (p + 40 > end || (b[p] >>> 4) !== 6) break parse;
        const e = p + 40 + ((b[p + 4] << 8) | b[p + 5]);
        if (e > end) break parse; // includes jumbograms (payload length 0): unsupported
        l3Kind = L3_IPV6; l3Off = p;
        this._ip6.o = p;
      } else if (et === 0x0806) {
        // ARP, Ethernet/IPv4 only: htype 1, ptype 0x0800, hlen 6, plen 4.
        if (p + 28 > end) break parse;
        if (b[p] !== 0 || b[p + 1] !== 1 || b[p + 2] !== 8 || b[p + 3] !== 0 || b[p + 4] !== 6 || b[p + 5] !== 4) break parse;
        l3Kind = L3_ARP; l3Off = p;
        this._arp.o = p;
      }
    }
    this._etherType = etherType;
    this._l3Off = l3Off;
    this._l4Kind = UNPARSED;
    return (this._l3Kind = l3Kind);
  }

  /** Everything L4: IPv4 fragments and other protocols, the IPv6 extension
   *  header chain, ICMP/ICMPv6, and headers that do not fit. */
  private _parseL4Full(): number {
    const l3 = this._l3();
    const b = this.bytes;
    let l4Proto = -1, l4Kind = L4_NONE, l4Off = -1, sport = -1, dport = -1;
    parse: {
      let q: number; // upper-layer start
      const e = this._l3End;
      if (l3 === L3_IPV4) {
        const p = this._l3Off;
        l4Proto = b[p + 9];
        if ((((b[p + 6] & 0x1f) << 8) | b[p + 7]) !== 0) break parse; // non-first fragment
        q = p + ((b[p] & 0x0f) << 2);
      } else if (l3 === L3_IPV6) {
        const p = this._l3Off;
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
        break parse;
      }
      // The header must fit inside the IP packet (not just the frame).
      l4Off = q;
      if (l4Proto === 6) {
        if (q + 20 > e) break parse;
        const hl = (b[q + 12] >>> 4) << 2;
        if (hl < 20 || q + hl > e) break parse;
        l4Kind = L4_TCP;
        sport = (b[q] << 8) | b[q + 1];
        dport = (b[q + 2] << 8) | b[q + 3];
      } else if (l4Proto === 17) {
        if (q + 8 > e) break parse;
        l4Kind = L4_UDP;
        sport = (b[q] << 8) | b[q + 1];
        dport = (b[q + 2] << 8) | b[q + 3];
      } else if (l4Proto === 1) {
        if (l3 !== L3_IPV4 || q + 8 > e) break parse;
        l4Kind = L4_ICMP;
        this._icmp.o = q;
      } else if (l4Proto === 58) {
        if (l3 !== L3_IPV6 || q + 8 > e) break parse;
        l4Kind = L4_ICMP6;
        this._icmp6.o = q;
      }
    }
    this._l4Proto = l4Proto;
    this._l4Off = l4Off;
    this._srcPort = sport;
    this._dstPort = dport;
    return (this._l4Kind = l4Kind);
  }
}

/** Out of line so send() stays small enough to inline. */
function badPort(k: number, n: number): never {
  throw new Error(`send(${k}): no such port index; ports are 0..${n - 1}`);
}

/**
 * Packet._moveTo for one batch. Once the VNF has asked for a header
 * (pkt._eager), the common case is parsed right here, in straight-line
 * code: an untagged IPv4 header that fits (options allowed)
 * and, unless the packet is a non-first fragment, its UDP header or its TCP
 * header with options. That decides the getters with one field compare
 * each, so they stay tiny and V8 inlines them all; parsing in the first
 * getter instead would put the parser in every getter, past V8's inlining
 * budget. Everything else (VLAN tags, IPv6 and its extension headers, ARP,
 * ICMP, malformed frames) is left UNPARSED for the out-of-line parsers, run
 * on the first question that needs them.
 *
 * A closure over the batch's DataView and arrays, not a method: V8 inlines
 * it (the call site always sees this one function) and then knows them as
 * constants, their addresses and lengths included, which saves a dozen or
 * so instructions a packet over loading them from the Packet
 * (bench/js-ir.mjs). Written for a small bytecode too (V8's inlining budget
 * counts bytecode): the kinds are literals (L3_IPV4 = 1, L4_TCP = 1,
 * L4_UDP = 2, UNPARSED = -1; kinds.ts).
 */
function moveToFor(
  dv: FieldView, offsets: Uint32Array, lengths: Uint32Array, bytes: Uint8Array, ip4: Ipv4Header,
): (this: Packet, i: number) => void {
  return function moveTo(this: Packet, i: number): void {
    const o = offsets[i], len = lengths[i];
    this.index = i;
    this._off = o;
    this._len = len;
    let k3 = -1, k4 = -1;
    if (this._eager !== 0 && len >= 34 && dv.getUint16(o + 12) === 0x0800) {
      // Version/IHL .. total length, then flags/fragment .. protocol: two
      // 32-bit loads. Version 4, IHL >= 5, IHL*4 <= total <= frame.
      // (Shifts, not masks above 0x7fff: those take 10 bytes of bytecode.)
      const p = o + 14, w0 = dv.getInt32(p), hl = (w0 >>> 22) & 0x3c, e = p + ((w0 << 16) >>> 16);
      if ((w0 >>> 28) === 4 && hl >= 20 && e >= p + hl && e <= o + len) {
        const w1 = dv.getInt32(p + 6), q = p + hl, proto = w1 & 0xff;
        k3 = 1;
        this._l3Off = p;
        ip4.o = p; // the view keeps its offset: ip.src then loads nothing more
        // Not a non-first fragment, and a UDP header or a TCP header (with
        // its options) that fits: else the full L4 parser decides, later.
        if ((w1 << 3) >>> 19 === 0) {
          if (proto === 17) {
            if (q + 8 <= e) k4 = 2;
          } else if (proto === 6 && q + 20 <= e) {
            const t = q + ((bytes[q + 12] >>> 2) & 0x3c);
            if (t >= q + 20 && t <= e) k4 = 1;
          }
          if (k4 > 0) {
            const ports = dv.getInt32(q);
            this._l4Proto = proto;
            this._l4Off = q;
            this._srcPort = ports >>> 16;
            this._dstPort = (ports << 16) >>> 16;
          }
        }
      }
    }
    this._l3Kind = k3;
    this._l4Kind = k4;
  };
}
