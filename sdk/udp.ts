// UDP sockets for VNFs that are endpoints (--ip).
//
//   init:    const udp = new Udp(ctx); const dns = udp.bind(53);
//   process: udp.receive(batch);                       // one pass, every socket
//            for (let k = 0; k < dns.count; k++) {     // datagram k: views, no copy
//              const at = dns.payload[k], len = dns.length[k];   // in batch.bytes
//              ... write the answer over it ...
//              dns.reply(batch, k, answerLength);      // in the request's buffer
//            }
//
// Datagrams arrive as positions in the pool (no copy, no allocation per
// datagram); a reply reuses the request's buffer (addresses and ports
// swapped, checksums computed); sendTo() / send() write a new frame into a
// fresh buffer (batch.originate) and leave its Ethernet addresses to the
// runtime, which knows the neighbours (native/endpoint.h). A socket from
// connect() gets a local port whose replies come back to this core
// (sdk/rss-port.ts). Datagrams to ports no socket is bound to are answered
// by the runtime with port unreachable; bad checksums are counted and
// dropped here. Fragments are not reassembled (they do not reach sockets).
import type { Batch } from "./batch";
import { CTL_FLAGS, CTL_USED } from "./batch";
import { CHECKSUM_GOOD, CHECKSUM_PENDING } from "./kinds";
import { fold, onesSum } from "./checksum";
import { ip4, ip6 } from "./addr";
import { RssPorts } from "./rss-port";
import type { Ctx } from "./vnf";

/** Batch flags bit: the runtime fills this frame's Ethernet addresses (native/endpoint.h kFlagResolve). */
export const FLAG_RESOLVE = 2;
const MAX_DATAGRAMS = 1024;

/** Per-socket counters, in order (ctx.counters names: udp<port>_<name>). */
export const UDP_COUNTERS = ["rx", "rx_bytes", "tx", "tx_bytes", "rx_bad_checksum", "tx_no_buffer"] as const;

function words6(text: string): Uint8Array {
  const w = ip6(text);
  return Uint8Array.from(w.flatMap((x) => [x >>> 24, (x >>> 16) & 255, (x >>> 8) & 255, x & 255]));
}

export class UdpSocket {
  /** Datagrams for this socket in the last receive(). */
  count = 0;
  /** Per datagram k < count: its batch entry, where its payload starts in
   *  batch.bytes and how long it is, the sender's port, where the sender's
   *  address starts in batch.bytes (4 or 16 bytes) and whether it is IPv6. */
  readonly entry = new Int32Array(MAX_DATAGRAMS);
  readonly payload = new Uint32Array(MAX_DATAGRAMS);
  readonly length = new Uint32Array(MAX_DATAGRAMS);
  readonly srcPort = new Uint16Array(MAX_DATAGRAMS);
  readonly srcAddr = new Uint32Array(MAX_DATAGRAMS);
  readonly v6 = new Uint8Array(MAX_DATAGRAMS);
  /** UDP_COUNTERS, published with the VNF's counters. */
  readonly counters: Float64Array;
  /** Set by connect(): the remote end send() uses. */
  peer4 = 0;
  peer6: Uint8Array | null = null;
  peerPort = 0;

  constructor(private readonly udp: Udp, readonly localPort: number, readonly netPort: number) {
    this.counters = udp.ctx.counters(UDP_COUNTERS.map((n) => `udp${localPort}_${n}`));
  }

  /** The sender's IPv4 address of datagram k (0 for IPv6). */
  srcIp4(batch: Batch, k: number): number {
    if (this.v6[k]) return 0;
    const b = batch.bytes, o = this.srcAddr[k];
    return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
  }

  /**
   * Answer datagram k in its own buffer with `len` payload bytes, already
   * written at payload[k]: addresses and ports swapped, lengths and
   * checksums set, sent out of the port it came in on. Returns false when
   * the answer does not fit the buffer.
   */
  reply(batch: Batch, k: number, len: number): boolean {
    const i = this.entry[k];
    const b = batch.bytes, o = batch.offsets[i];
    const l4 = this.payload[k] - 8;
    if (l4 + 8 + len - o > batch.freshCapacity) return false;
    // Ethernet: back to the sender.
    for (let j = 0; j < 6; j++) { const t = b[o + j]; b[o + j] = b[o + 6 + j]; b[o + 6 + j] = t; }
    const ip = o + 14;
    let sum: number;
    if (this.v6[k] === 0) {
      const ihl = (b[ip] & 15) << 2;
      for (let j = 0; j < 4; j++) { const t = b[ip + 12 + j]; b[ip + 12 + j] = b[ip + 16 + j]; b[ip + 16 + j] = t; }
      const total = ihl + 8 + len;
      // Header checksum updated for the two words that change (RFC 1624;
      // the runtime dropped requests whose header checksum was wrong).
      const oldTotal = (b[ip + 2] << 8) | b[ip + 3], oldTtl = (b[ip + 8] << 8) | b[ip + 9], newTtl = (64 << 8) | b[ip + 9];
      const hc = (b[ip + 10] << 8) | b[ip + 11];
      const c = ~fold((~hc & 0xffff) + (~oldTotal & 0xffff) + total + (~oldTtl & 0xffff) + newTtl) & 0xffff;
      b[ip + 2] = total >> 8; b[ip + 3] = total & 255;
      b[ip + 8] = 64;
      b[ip + 10] = c >> 8; b[ip + 11] = c & 255;
      sum = onesSum(b, ip + 12, 8, 17 + 8 + len);
      batch.lengths[i] = 14 + total;
    } else {
      for (let j = 0; j < 16; j++) { const t = b[ip + 8 + j]; b[ip + 8 + j] = b[ip + 24 + j]; b[ip + 24 + j] = t; }
      b[ip + 4] = (8 + len) >> 8; b[ip + 5] = (8 + len) & 255;
      b[ip + 7] = 64;
      sum = onesSum(b, ip + 8, 32, 17 + 8 + len);
      batch.lengths[i] = 14 + 40 + 8 + len;
    }
    // UDP: ports swapped, length, checksum.
    const sp = (b[l4] << 8) | b[l4 + 1];
    b[l4] = b[l4 + 2]; b[l4 + 1] = b[l4 + 3]; b[l4 + 2] = sp >> 8; b[l4 + 3] = sp & 255;
    b[l4 + 4] = (8 + len) >> 8; b[l4 + 5] = (8 + len) & 255;
    if ((batch.flags[i] & CHECKSUM_PENDING) !== 0) {
      // Left to offload when it came (the buffer's offload note still says
      // so): it goes out so, the field holding the pseudo-header sum.
      const p = fold(sum);
      b[l4 + 6] = p >> 8; b[l4 + 7] = p & 255;
    } else batch.l4Checksum(i, l4, 8 + len, l4 + 6, sum);
    batch.verdicts[i] = batch.inPorts[i] + 1;
    this.counters[2]++;
    this.counters[3] += len;
    return true;
  }

  /**
   * Send datagram k back to its sender unchanged (an echo), in its own
   * buffer. Swapping addresses and ports leaves every checksum sum as it
   * was, so only the IPv4 TTL's share is updated: no byte is summed.
   */
  echo(batch: Batch, k: number): void {
    const i = this.entry[k];
    const b = batch.bytes, o = batch.offsets[i];
    for (let j = 0; j < 6; j++) { const t = b[o + j]; b[o + j] = b[o + 6 + j]; b[o + 6 + j] = t; }
    const ip = o + 14, l4 = this.payload[k] - 8;
    if (this.v6[k] === 0) {
      for (let j = 12; j < 16; j++) { const t = b[ip + j]; b[ip + j] = b[ip + j + 4]; b[ip + j + 4] = t; }
      // TTL to 64: RFC 1624 update of the word (ttl << 8 | protocol).
      const old = (b[ip + 8] << 8) | b[ip + 9], now = (64 << 8) | b[ip + 9];
      const hc = (b[ip + 10] << 8) | b[ip + 11];
      const c = ~fold((~hc & 0xffff) + (~old & 0xffff) + now) & 0xffff;
      b[ip + 8] = 64;
      b[ip + 10] = c >> 8; b[ip + 11] = c & 255;
    } else {
      for (let j = 8; j < 24; j++) { const t = b[ip + j]; b[ip + j] = b[ip + j + 16]; b[ip + j + 16] = t; }
      b[ip + 7] = 64;
    }
    const t0 = b[l4], t1 = b[l4 + 1];
    b[l4] = b[l4 + 2]; b[l4 + 1] = b[l4 + 3]; b[l4 + 2] = t0; b[l4 + 3] = t1;
    batch.verdicts[i] = batch.inPorts[i] + 1;
    this.counters[2]++;
    this.counters[3] += this.length[k];
  }

  /**
   * Send `len` bytes of `data` (from `from`) to ip:port (IPv4 as a number
   * or text, IPv6 as text) in a fresh buffer. Returns false when this batch
   * has no fresh buffer left (counted in tx_no_buffer) or the datagram does
   * not fit one.
   */
  sendTo(batch: Batch, ip: number | string, port: number, data: Uint8Array, from = 0, len = data.length - from): boolean {
    const v6 = typeof ip === "string" && ip.includes(":");
    const at = this.udp.frame(batch, this, v6, typeof ip === "number" ? ip : v6 ? 0 : ip4(ip), v6 ? words6(ip as string) : null, port, len);
    if (at < 0) { this.counters[5]++; return false; }
    batch.bytes.set(data.subarray(from, from + len), at);
    this.udp.finish(batch, at, len, v6);
    this.counters[2]++;
    this.counters[3] += len;
    return true;
  }

  /** sendTo the peer given to connect(). `payloadSum`, when the same
   *  payload goes out again and again: onesSum of it (checksum.ts), so the
   *  checksum does not read it each time. */
  send(batch: Batch, data: Uint8Array, from = 0, len = data.length - from, payloadSum = -1): boolean {
    const v6 = this.peer6 !== null;
    const at = this.udp.frame(batch, this, v6, this.peer4, this.peer6, this.peerPort, len);
    if (at < 0) { this.counters[5]++; return false; }
    batch.bytes.set(from === 0 && len === data.length ? data : data.subarray(from, from + len), at);
    this.udp.finish(batch, at, len, v6, payloadSum);
    this.counters[2]++;
    this.counters[3] += len;
    return true;
  }

  /** Stop receiving: the port is answered with port unreachable again. */
  close(): void { this.udp.unbind(this); }
}

/** This core's UDP: its sockets, and one pass over each batch for all of them. */
export class Udp {
  private readonly byPort: (UdpSocket | undefined)[] = new Array(65536);
  private readonly sockets: UdpSocket[] = [];
  private readonly local4: number[];
  private readonly local6: Uint8Array[];
  private readonly ports: RssPorts;
  private dv: DataView | null = null;
  private dvOf: Uint8Array | null = null;
  /** Verify checksums of received datagrams (drop bad ones). */
  verify = true;

  constructor(readonly ctx: Ctx) {
    this.local4 = ctx.addresses.filter((a) => !a.v6).map((a) => ip4(a.ip));
    this.local6 = ctx.addresses.filter((a) => a.v6).map((a) => words6(a.ip));
    this.ports = new RssPorts(ctx);
    if (!ctx.addresses.length) throw new Error("UDP sockets need an address on a port: run with --ip ADDR/LEN");
  }

  /** A socket on local port `port` of every address of VNF port `netPort`. */
  bind(port: number, netPort = 0): UdpSocket {
    if (!(Number.isInteger(port) && port >= 1 && port <= 65535)) throw new RangeError(`bind(${port}): a UDP port is 1-65535`);
    if (this.byPort[port]) throw new Error(`bind(${port}): this core already has a socket on port ${port}`);
    this.ports.claim(port);
    return this.add(new UdpSocket(this, port, netPort));
  }

  /** A socket for one remote end, on a local port whose replies land on this core. */
  connect(ip: string, port: number, netPort = 0): UdpSocket {
    const v6 = ip.includes(":");
    const local = v6 ? this.local6[0] : this.local4[0];
    if (local === undefined) throw new Error(`connect(${ip}): no ${v6 ? "IPv6" : "IPv4"} address on the port (--ip)`);
    const lp = v6 ? this.ports.pick6(local as Uint8Array, words6(ip), port) : this.ports.pick4(local as number, ip4(ip), port);
    if (lp < 0) throw new Error(`connect(${ip}:${port}): no free local port lands on core ${this.ctx.core}`);
    const s = this.add(new UdpSocket(this, lp, netPort));
    if (v6) s.peer6 = words6(ip); else s.peer4 = ip4(ip);
    s.peerPort = port;
    return s;
  }

  private add(s: UdpSocket): UdpSocket {
    this.byPort[s.localPort] = s;
    this.sockets.push(s);
    this.ctx.udpBound[s.localPort] = 1;
    return s;
  }

  /** @internal */
  unbind(s: UdpSocket): void {
    if (this.byPort[s.localPort] !== s) return;
    this.byPort[s.localPort] = undefined;
    this.ctx.udpBound[s.localPort] = 0;
    this.ports.release(s.localPort);
    this.sockets.splice(this.sockets.indexOf(s), 1);
  }

  /** Hands the batch's datagrams to their sockets (each socket's count
   *  and arrays then describe them). One pass for all sockets. */
  receive(batch: Batch): void {
    const socks = this.sockets;
    for (let j = 0; j < socks.length; j++) socks[j].count = 0;
    const b = batch.bytes;
    if (this.dvOf !== b) { this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength); this.dvOf = b; }
    const dv = this.dv!;
    const offsets = batch.offsets, lengths = batch.lengths, flags = batch.flags;
    const n = batch.count;
    const l4s = this.local4;
    for (let i = 0; i < n; i++) {
      const o = offsets[i], len = lengths[i];
      if (len < 42) continue;
      const type = dv.getUint16(o + 12);
      let l4: number, ulen: number, v6: number, srcAt: number;
      if (type === 0x0800) {
        const vi = b[o + 14];
        if ((vi >> 4) !== 4 || b[o + 23] !== 17) continue;
        const ihl = (vi & 15) << 2;
        if ((dv.getUint16(o + 20) & 0x3fff) !== 0 || ihl < 20) continue;
        const dst = dv.getUint32(o + 30);
        let hit = false;
        for (let j = 0; j < l4s.length; j++) if (l4s[j] === dst) hit = true;
        if (!hit) continue;
        const total = dv.getUint16(o + 16);
        l4 = o + 14 + ihl;
        if (14 + total > len || total < ihl + 8) continue;
        ulen = dv.getUint16(l4 + 4);
        if (ulen < 8 || ulen > total - ihl) continue;
        v6 = 0;
        srcAt = o + 26;
      } else if (type === 0x86dd) {
        if (len < 62 || b[o + 20] !== 17 || !this.mine6(b, o + 38)) continue;
        const plen = dv.getUint16(o + 18);
        if (54 + plen > len) continue;
        l4 = o + 54;
        ulen = dv.getUint16(l4 + 4);
        if (ulen < 8 || ulen > plen) continue;
        v6 = 1;
        srcAt = o + 22;
      } else continue;
      const s = this.byPort[dv.getUint16(l4 + 2)];
      if (s === undefined) continue;
      // Unless the runtime checked it (or it is left to offload, or IPv4's "none").
      if (this.verify && (flags[i] & (CHECKSUM_GOOD | CHECKSUM_PENDING)) === 0 && (v6 === 1 || dv.getUint16(l4 + 6) !== 0) &&
          fold(onesSum(b, l4, ulen, onesSum(b, srcAt, v6 === 1 ? 32 : 8, 17 + ulen))) !== 0xffff) { s.counters[4]++; continue; }
      const k = s.count;
      if (k === MAX_DATAGRAMS) continue;
      s.entry[k] = i;
      s.payload[k] = l4 + 8;
      s.length[k] = ulen - 8;
      s.srcPort[k] = dv.getUint16(l4);
      s.srcAddr[k] = srcAt;
      s.v6[k] = v6;
      s.count = k + 1;
      s.counters[0]++;
      s.counters[1] += ulen - 8;
    }
  }

  private mine6(b: Uint8Array, at: number): boolean {
    for (const a of this.local6) {
      let same = true;
      for (let j = 0; j < 16 && same; j++) same = b[at + j] === a[j];
      if (same) return true;
    }
    return false;
  }

  /** @internal A fresh frame with Ethernet (left to the runtime), IP and UDP headers for
   *  `len` payload bytes; returns where the payload goes, or -1. */
  frame(batch: Batch, s: UdpSocket, v6: boolean, dst4: number, dst6: Uint8Array | null, port: number, len: number): number {
    const hdr = v6 ? 62 : 42;
    const i = batch.originate(s.netPort, hdr + len);
    if (i < 0) return -1;
    const b = batch.bytes, o = batch.offsets[i];
    for (let j = 0; j < 12; j++) b[o + j] = 0;   // the runtime writes them
    batch.flags[i] = FLAG_RESOLVE;
    batch.ctl[CTL_FLAGS] = 1;
    const ip = o + 14;
    let l4: number;
    if (!v6) {
      b[o + 12] = 0x08; b[o + 13] = 0x00;
      const total = 28 + len, src = this.local4[0];
      b[ip] = 0x45; b[ip + 1] = 0; b[ip + 2] = total >> 8; b[ip + 3] = total & 255;
      b[ip + 4] = 0; b[ip + 5] = 0; b[ip + 6] = 0x40; b[ip + 7] = 0; b[ip + 8] = 64; b[ip + 9] = 17; b[ip + 10] = 0; b[ip + 11] = 0;
      b[ip + 12] = src >>> 24; b[ip + 13] = (src >>> 16) & 255; b[ip + 14] = (src >>> 8) & 255; b[ip + 15] = src & 255;
      b[ip + 16] = dst4 >>> 24; b[ip + 17] = (dst4 >>> 16) & 255; b[ip + 18] = (dst4 >>> 8) & 255; b[ip + 19] = dst4 & 255;
      const hc = ~fold(onesSum(b, ip, 20, 0)) & 0xffff;
      b[ip + 10] = hc >> 8; b[ip + 11] = hc & 255;
      l4 = ip + 20;
    } else {
      b[o + 12] = 0x86; b[o + 13] = 0xdd;
      b[ip] = 0x60; b[ip + 1] = 0; b[ip + 2] = 0; b[ip + 3] = 0;
      b[ip + 4] = (8 + len) >> 8; b[ip + 5] = (8 + len) & 255; b[ip + 6] = 17; b[ip + 7] = 64;
      b.set(this.local6[0], ip + 8);
      b.set(dst6!, ip + 24);
      l4 = ip + 40;
    }
    b[l4] = s.localPort >> 8; b[l4 + 1] = s.localPort & 255; b[l4 + 2] = port >> 8; b[l4 + 3] = port & 255;
    b[l4 + 4] = (8 + len) >> 8; b[l4 + 5] = (8 + len) & 255; b[l4 + 6] = 0; b[l4 + 7] = 0;
    return l4 + 8;
  }

  /** @internal The UDP checksum of a frame frame() began, once its payload is written. */
  finish(batch: Batch, payloadAt: number, len: number, v6: boolean, payloadSum = -1): void {
    const b = batch.bytes, l4 = payloadAt - 8;
    const sum = v6 ? onesSum(b, l4 - 32, 32, 17 + 8 + len) : onesSum(b, l4 - 8, 8, 17 + 8 + len);
    if (payloadSum < 0) {
      batch.l4Checksum(batch.count + batch.ctl[CTL_USED] - 1, l4, 8 + len, l4 + 6, sum);   // the frame frame() began
      return;
    }
    // A payload summed once: only the header is summed here, cheaper than
    // any output summing it all.
    let c = ~fold(onesSum(b, l4, 8, sum + payloadSum)) & 0xffff;
    if (c === 0) c = 0xffff;
    b[l4 + 6] = c >> 8; b[l4 + 7] = c & 255;
  }

  /** Frames originated so far in this batch (for apps that pace themselves). */
  originated(batch: Batch): number { return batch.ctl[CTL_USED]; }
}
