// nat: source NAT44 from the inside networks ("in") to a pool of outside
// addresses ("out"), with the behaviour RFC 4787 (UDP), 5382 (TCP) and
// 5508 (ICMP) ask of a NAT:
//   - endpoint-independent mapping: an inside (address, port) keeps one
//     outside (address, port) for every destination, and one inside host
//     always gets the same outside address (paired pooling);
//   - filtering: "endpoint-independent", "address-dependent" (default) or
//     "address-and-port-dependent": which outside hosts may send to a mapping;
//   - hairpinning: inside hosts reach each other through outside addresses;
//   - TCP, UDP and ICMP echo (the identifier is the port); ICMP errors
//     (time exceeded, unreachable, ...) translated with the header they
//     quote, so traceroute and path-MTU discovery work through it;
//   - timeouts: UDP 300 s (at least 120), TCP established 7440 s (at least),
//     transitory 240 s (at least), ICMP 60 s (at least);
//   - static port forwards (DNAT) from an outside address:port to an inside one;
//   - incremental checksums, with the pending-checksum rule on vnet ports
//     (the SDK's rewrite helpers);
//   - a binding table of `capacity` that refuses (or evicts) when full, counted.
// Outside ports are chosen so that replies land on the core that owns the
// binding (nat-ports.ts says how, and in which distribution modes).
// The NAT is a bump in the wire: it does not route or answer ARP; the hosts
// beside it reach the outside addresses through their neighbour tables.
import { ConfigReader, defineVnf, FlowTable, Ip4Set, FT_EVICTED, FT_EXPIRED, FT_REFUSED, ip4str, updateChecksum16, updateChecksum32 } from "../sdk";
import type { Batch, Ctx, Packet } from "../sdk";
import { RssPorts } from "./nat-ports";

// Timeout classes.
const UDP = 0, TCP_EST = 1, TCP_TRANS = 2, ICMP = 3;
const TIMEOUT_NAMES = ["udp", "tcpEstablished", "tcpTransitory", "icmp"] as const;
const DEFAULTS = [300, 7440, 240, 60];
const MINIMUMS = [120, 7440, 240, 60];   // RFC 4787 REQ-5, RFC 5382 REQ-5, RFC 5508 REQ-1

// Counters.
const OUT = 0, IN = 1, NEW = 2, NO_PORT = 3, FULL = 4, NOT_INSIDE = 5, NOT_OURS = 6, NO_BINDING = 7, FILTERED = 8,
  HAIRPIN = 9, ICMP_ERR = 10, NON_IP = 11, UNSUPPORTED = 12, EXPIRED = 13, EVICTED = 14;
const CAUSES = ["translatedOut", "translatedIn", "newBindings", "noPort", "tableFull", "notInside", "notOurs", "noBinding",
  "filtered", "hairpinned", "icmpErrors", "nonIp", "unsupported", "expired", "evicted"];

const PORTS = ["in", "out"] as const;
const FILTERING = ["endpoint-independent", "address-dependent", "address-and-port-dependent"] as const;

interface Forward { proto: number; out: number; outPort: number; in: number; inPort: number }

export interface NatConfig {
  inside: { addr: number; mask: number }[];
  pool: Uint32Array;
  lo: number; hi: number;
  filtering: 0 | 1 | 2;
  hairpin: boolean;
  timeoutsMs: number[];
  forwards: Forward[];
  capacity: number;
  whenFull: "refuse" | "evict";
}

const maskOf = (len: number): number => (len === 0 ? 0 : (~0 << (32 - len)) | 0);

function hostPort(c: ConfigReader, field: string): [number, number] {
  const v = c.string(field);
  const m = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(v);
  if (!m || +m[2] > 65535) c.fail(`${JSON.stringify(v)} is not address:port; write it like "192.0.2.1:8080"`, field);
  const r = new ConfigReader({ a: m![1] }, c.name, c.path ? `${c.path}.${field}` : field);
  return [r.addr4("a"), +m![2]];
}

/** Reads and checks the config (throws naming the field). */
export function readNatConfig(config: unknown): NatConfig {
  const c = new ConfigReader(config ?? {}, "nat");
  const inside = c.list("inside", (e) => e.prefix4(), { min: 1 }).map((p) => ({ addr: p.addr | 0, mask: maskOf(p.len) }));
  const pool: number[] = [];
  const where = new Map<number, number>();
  c.list("outside", (e, i) => {
    const p = e.prefix4();
    if (p.len < 22) e.fail(`a /${p.len} is ${2 ** (32 - p.len)} addresses; give at most a /22 (1024)`);
    const n = 2 ** (32 - p.len);
    // A /31 or /32 is every address; a larger prefix leaves out its network and broadcast.
    for (let k = n > 2 ? 1 : 0; k < (n > 2 ? n - 1 : n); k++) {
      const a = (p.addr + k) >>> 0;
      if (where.has(a)) e.fail(`${ip4str(a)} is already in outside[${where.get(a)}]; each outside address once`);
      for (const [j, r] of inside.entries())
        if (((a | 0) & r.mask) === (r.addr & r.mask)) e.fail(`${ip4str(a)} is inside inside[${j}]; outside addresses must not be inside ones`);
      where.set(a, i);
      pool.push(a);
    }
  }, { min: 1 });
  const range = c.has("ports") ? c.list("ports", (e) => e.integer(undefined, { min: 1, max: 65535 })) : [1024, 65535];
  if (range.length !== 2 || range[0] > range[1] || range[1] - range[0] < 63) c.fail("give [lo, hi] with at least 64 ports, like [1024, 65535]", "ports");
  const t = c.obj("timeouts");
  const timeoutsMs = TIMEOUT_NAMES.map((n, i) => 1000 * t.number(n, { min: MINIMUMS[i], max: 2_000_000, default: DEFAULTS[i] }));
  const fwds = c.list("forwards", (f) => {
    const proto = f.oneOf("proto", ["tcp", "udp"]) === "tcp" ? 6 : 17;
    const [out, outPort] = hostPort(f, "outside");
    const [inAddr, inPort] = hostPort(f, "inside");
    if (!where.has(out)) f.fail(`${ip4str(out)} is not one of the outside addresses`, "outside");
    if (!inside.some((r) => ((inAddr | 0) & r.mask) === (r.addr & r.mask))) f.fail(`${ip4str(inAddr)} is not in an inside network`, "inside");
    return { proto, out, outPort, in: inAddr, inPort };
  });
  const seen = new Set<string>();
  fwds.forEach((f, i) => {
    const k = `${f.proto}/${f.out}:${f.outPort}`;
    if (seen.has(k)) c.fail(`forwards[${i}] uses the same outside address and port as an earlier one`, "forwards");
    seen.add(k);
  });
  const cfg: NatConfig = {
    inside, pool: Uint32Array.from(pool), lo: range[0], hi: range[1],
    filtering: FILTERING.indexOf(c.oneOf("filtering", FILTERING, "address-dependent")) as 0 | 1 | 2,
    hairpin: c.boolean("hairpin", true),
    timeoutsMs,
    forwards: fwds,
    capacity: c.integer("capacity", { min: 16, max: 1 << 26, default: 262_144 }),
    whenFull: c.oneOf("whenFull", ["refuse", "evict"], "refuse"),
  };
  c.done();
  return cfg;
}

export interface NatState {
  cfg: NatConfig;
  /** inside (addr, 0, port, 0, proto) -> [outside addr, outside port | TCP flags << 16,
   *  the last remote sent to, its port (address-and-port filtering, else 0),
   *  until when it may answer (ms, Date.now() mod 2^32)]: see allow(). */
  fwd: FlowTable;
  /** outside (addr, 0, port, 0, proto) -> [inside addr, inside port]. */
  rev: FlowTable;
  /** Sessions for filtering beside each binding's last remote: (inside
   *  addr, remote, inside port, remote port or 0, proto). */
  filt: FlowTable;
  ports: RssPorts;
  /** The pool's addresses. */
  ours: Ip4Set;
  statics: Map<string, Forward>;
  in: number;
  out: number;
  n: Float64Array;
  /** The batch's Date.now() mod 2^32, for the remotes' times in fwd. */
  now: number;
}

const SEEN_IN = 1 << 16, FIN_SEEN = 2 << 16;   // fwd value word 1, above the port
const REMOTE = 2, REMOTE_PORT = 3, REMOTE_UNTIL = 4;   // fwd value words

function newState(ctx: Ctx): NatState {
  const cfg = readNatConfig(ctx.config);
  const timeouts = cfg.timeoutsMs;
  const maxT = Math.max(...timeouts);
  const o = { capacity: cfg.capacity, timeouts, whenFull: cfg.whenFull, valueWords: 2 };
  const ports = new RssPorts(ctx.rss.key, ctx.cores, cfg.lo, cfg.hi);
  if (ctx.cores > 1 && !ports.steering && ctx.core === 0)
    ctx.log("nat: the RSS key does not repeat every 2 bytes, so outside ports cannot be chosen to bring replies back to their core; use --rss-key symmetric");
  const st: NatState = {
    cfg,
    fwd: FlowTable.shared(ctx, "nat-fwd", { ...o, valueWords: 5 }),
    // A reverse entry outlives no binding: it is checked against fwd on use.
    rev: FlowTable.shared(ctx, "nat-rev", { ...o, timeouts: [maxT] }),
    filt: FlowTable.shared(ctx, "nat-filter", { ...o, valueWords: 0, whenFull: "evict" }),
    ports,
    ours: new Ip4Set(cfg.pool),
    statics: new Map(cfg.forwards.map((f) => [`${f.proto}/${f.out}:${f.outPort}`, f])),
    in: ctx.port("in"), out: ctx.port("out"),
    n: ctx.counters(CAUSES),
    now: Date.now() >>> 0,
  };
  return st;
}

const inside = (cfg: NatConfig, a: number): boolean => {
  const r = cfg.inside;
  for (let i = 0; i < r.length; i++) if ((a & r[i].mask) === (r[i].addr & r[i].mask)) return true;
  return false;
};

/** RFC 5382: established once both sides have sent, transitory while
 *  opening and from the first FIN or RST on. */
function tcpClass(flags: number, seenBoth: boolean): number {
  if (flags & 5) return TCP_TRANS;
  return seenBoth ? TCP_EST : TCP_TRANS;
}

/**
 * The binding of inside (a, port, proto), made if absent: its fwd slot, or
 * a negative cause (NO_PORT, FULL). `remote` is only for the log.
 */
function bind(st: NatState, a: number, port: number, proto: number, cls: number): number {
  const fwd = st.fwd;
  let slot = fwd.find4(a, 0, port, 0, proto);
  if (slot >= 0) return slot;
  const cfg = st.cfg, pool = cfg.pool;
  // Paired pooling: one inside host, one outside address.
  const out = pool[(Math.imul(a, 0x9e3779b1) >>> 0) % pool.length];
  const rev = st.rev;
  const statics = st.statics;
  const p = st.ports.pick(st.ports.classFor(a, port, out), (q) =>
    rev.find4(out, 0, q, 0, proto) < 0 && (statics.size === 0 || !statics.has(`${proto}/${out}:${q}`)));
  if (p < 0) return -NO_PORT;
  slot = fwd.add4(a, 0, port, 0, proto, cls);
  if (slot < 0) return -FULL;
  fwd.values[fwd.at(slot)] = out;
  fwd.values[fwd.at(slot) + 1] = p;
  fwd.values[fwd.at(slot) + REMOTE_UNTIL] = st.now;   // no remote yet
  const r = rev.add4(out, 0, p, 0, proto, 0);
  if (r < 0) { fwd.remove(fwd.find4(a, 0, port, 0, proto)); return -FULL; }
  rev.values[rev.at(r)] = a;
  rev.values[rev.at(r) + 1] = port;
  st.n[NEW]++;
  return slot;   // adding to rev moves nothing in fwd
}

/** The inside (addr, port) of outside (out, port, proto), its binding renewed; or -1. */
function lookupIn(st: NatState, out: number, port: number, proto: number): number {
  const r = st.rev.find4(out, 0, port, 0, proto);
  if (r < 0) return -1;
  const a = st.rev.values[st.rev.at(r)], ip = st.rev.values[st.rev.at(r) + 1];
  const f = st.fwd.find4(a, 0, ip, 0, proto);
  if (f < 0 || (st.fwd.values[st.fwd.at(f)] | 0) !== (out | 0) || (st.fwd.values[st.fwd.at(f) + 1] & 0xffff) !== port) {
    st.rev.remove(r);   // its binding expired: the port is free again
    return -1;
  }
  return f;
}

/** ICMP echo id / TCP-UDP port of the packet's source, -1 when it has none to map. */
function srcId(pkt: Packet, proto: number): number {
  if (proto === 6 || proto === 17) return pkt.srcPort;
  if (proto === 1) {
    const icmp = pkt.icmp;
    return icmp !== null && icmp.type === 8 ? icmp.identifier : -1;
  }
  return -1;
}

function setIcmpId(pkt: Packet, id: number): void {
  const icmp = pkt.icmp!;
  const old = icmp.identifier;
  icmp.identifier = id;
  icmp.checksum = updateChecksum16(icmp.checksum, old, id);
}

/** inside -> outside. Returns the port to send on (index) or -cause. */
function outbound(st: NatState, pkt: Packet): number {
  const ip = pkt.ipv4;
  if (ip === null) return -NON_IP;
  const src = ip.src | 0, dst = ip.dst | 0;
  if (!inside(st.cfg, src)) return -NOT_INSIDE;
  const proto = pkt.l4Protocol;
  if (proto === 1) {
    const icmp = pkt.icmp;
    if (icmp !== null && isError(icmp.type)) return icmpError(st, pkt, false);
  }
  const id = srcId(pkt, proto);
  if (id < 0) return -UNSUPPORTED;
  const flags = proto === 6 ? pkt.tcp!.flags : 0;
  const fresh = proto === 6 ? TCP_TRANS : proto === 17 ? UDP : ICMP;
  const slot = bind(st, src, id, proto, fresh);
  if (slot < 0) return slot;
  const fwd = st.fwd, v = fwd.values;
  const at = fwd.at(slot);
  // int32: a uint32 above 2^31 passed to a call V8 did not inline is boxed (an allocation a packet).
  const out = v[at] | 0, w = v[at + 1], port = w & 0xffff;
  if (proto === 6) {
    const seenIn = (w & SEEN_IN) !== 0;
    if (flags & 5) v[at + 1] = w | FIN_SEEN;
    fwd.touch(slot, tcpClass(flags, seenIn && !(w & FIN_SEEN)));
  } else fwd.touch(slot, fresh);
  if (st.cfg.filtering !== 0) allow(st, slot, src, id, dst, st.cfg.filtering === 2 ? pkt.dstPort : 0, proto);
  ip.rewriteSrc(out);
  if (proto === 1) setIcmpId(pkt, port);
  else if (proto === 6) pkt.tcp!.rewriteSrcPort(port);
  else pkt.udp!.rewriteSrcPort(port);
  // Hairpin: to one of our own outside addresses, so back inside.
  if (st.ours.has(dst)) {
    if (!st.cfg.hairpin) return -NOT_OURS;
    const to = inbound(st, pkt);
    if (to < 0) return to;
    st.n[HAIRPIN]++;
    return st.in;
  }
  st.n[OUT]++;
  return st.out;
}

/**
 * Lets `remote` (with `rport`; 0 unless filtering by address and port)
 * send to binding `slot` of inside (a, port) for the binding's timeout.
 * The last remote lives in the binding itself, because most bindings talk
 * to one remote and a second table's lookup a packet (another cache miss)
 * was a third of the NAT's time; a remote it displaces goes to the filter
 * table with exactly the time it had left.
 */
function allow(st: NatState, slot: number, a: number, port: number, remote: number, rport: number, proto: number): void {
  const fwd = st.fwd, v = fwd.values, at = fwd.at(slot), cls = fwd.classOf(slot);
  if (v[at + REMOTE] !== remote >>> 0 || v[at + REMOTE_PORT] !== rport) {
    const left = (v[at + REMOTE_UNTIL] - st.now) | 0;
    if (left > 0) {
      const f = st.filt.add4(a, v[at + REMOTE] | 0, port, v[at + REMOTE_PORT], proto, cls);
      if (f >= 0) st.filt.expireIn(f, left);
    }
    v[at + REMOTE] = remote;
    v[at + REMOTE_PORT] = rport;
  }
  v[at + REMOTE_UNTIL] = st.now + st.cfg.timeoutsMs[cls];
}

/** Whether `remote` (`rport`) may send to binding `slot` of inside (a, port): see allow(). */
function allowed(st: NatState, slot: number, a: number, port: number, remote: number, rport: number, proto: number): boolean {
  const v = st.fwd.values, at = st.fwd.at(slot);
  if (v[at + REMOTE] === remote >>> 0 && v[at + REMOTE_PORT] === rport && ((v[at + REMOTE_UNTIL] - st.now) | 0) > 0) return true;
  return st.filt.find4(a, remote, port, rport, proto) >= 0;
}

/** outside -> inside. Returns the port index, or -cause. */
function inbound(st: NatState, pkt: Packet, forwards = true): number {
  const ip = pkt.ipv4;
  if (ip === null) return -NON_IP;
  const dst = ip.dst >>> 0, src = ip.src | 0;
  if (!st.ours.has(dst)) return -NOT_OURS;
  const proto = pkt.l4Protocol;
  let port: number;
  if (proto === 6 || proto === 17) port = pkt.dstPort;
  else if (proto === 1) {
    const icmp = pkt.icmp;
    if (icmp === null) return -UNSUPPORTED;
    if (isError(icmp.type)) return icmpError(st, pkt, true);
    if (icmp.type !== 0) return -UNSUPPORTED;
    port = icmp.identifier;
  } else return -UNSUPPORTED;
  if (port < 0) return -UNSUPPORTED;
  const slot = lookupIn(st, dst | 0, port, proto);
  if (slot < 0) return forwards ? forward(st, pkt, proto, dst, port) : -NO_BINDING;
  const fwd = st.fwd, v = fwd.values;
  const key0 = fwd.keyWord(slot, 0), inPort = fwd.keyWord(slot, 2) >>> 16;
  const f = st.cfg.filtering;
  if (f !== 0 && !allowed(st, slot, key0, inPort, src, f === 2 ? pkt.srcPort : 0, proto)) return -FILTERED;
  if (proto === 6) {
    const flags = pkt.tcp!.flags, at = fwd.at(slot), w = v[at + 1];
    v[at + 1] = w | SEEN_IN | (flags & 5 ? FIN_SEEN : 0);
    fwd.touch(slot, tcpClass(flags, !(w & FIN_SEEN)));
  } else fwd.touch(slot, fwd.classOf(slot));
  ip.rewriteDst(key0);
  if (proto === 1) setIcmpId(pkt, inPort);
  else if (proto === 6) pkt.tcp!.rewriteDstPort(inPort);
  else pkt.udp!.rewriteDstPort(inPort);
  st.n[IN]++;
  return st.in;
}

/** A static forward (DNAT), or -NO_BINDING. */
function forward(st: NatState, pkt: Packet, proto: number, dst: number, port: number): number {
  if (st.statics.size === 0) return -NO_BINDING;
  const f = st.statics.get(`${proto}/${dst}:${port}`);
  if (f === undefined) return -NO_BINDING;
  // The forward's binding is an ordinary one, made at the first packet, so
  // replies (outbound, from the inside host's port) find it.
  const fwd = st.fwd;
  let slot = fwd.find4(f.in, 0, f.inPort, 0, proto);
  if (slot < 0) {
    slot = fwd.add4(f.in, 0, f.inPort, 0, proto, proto === 6 ? TCP_TRANS : UDP);
    if (slot < 0) return -FULL;
    const r = st.rev.add4(f.out, 0, f.outPort, 0, proto, 0);
    if (r < 0) return -FULL;
    st.rev.values[st.rev.at(r)] = f.in;
    st.rev.values[st.rev.at(r) + 1] = f.inPort;
    slot = fwd.find4(f.in, 0, f.inPort, 0, proto);
    fwd.values[fwd.at(slot)] = f.out;
    fwd.values[fwd.at(slot) + 1] = f.outPort | SEEN_IN;
    fwd.values[fwd.at(slot) + REMOTE_UNTIL] = st.now;
    st.n[NEW]++;
  }
  if (st.cfg.filtering !== 0) allow(st, slot, f.in, f.inPort, pkt.ipv4!.src | 0, st.cfg.filtering === 2 ? pkt.srcPort : 0, proto);
  return inbound(st, pkt, false);
}

const isError = (type: number): boolean => type === 3 || type === 11 || type === 12 || type === 4;

const rd16 = (b: Uint8Array, o: number): number => (b[o] << 8) | b[o + 1];
const rd32 = (b: Uint8Array, o: number): number => (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
function wr16(b: Uint8Array, o: number, v: number): void { b[o] = v >>> 8; b[o + 1] = v & 255; }
function wr32(b: Uint8Array, o: number, v: number): void { b[o] = v >>> 24; b[o + 1] = (v >>> 16) & 255; b[o + 2] = (v >>> 8) & 255; b[o + 3] = v & 255; }

/**
 * An ICMP error about a translated packet (RFC 5508): the quoted packet is
 * translated as the packet it quotes was, and the outer header to match.
 * Inbound (from outside, about a packet we sent out): the quoted source and
 * the outer destination become the inside host's. Outbound (an inside
 * host's error about a packet that came in): the quoted destination and the
 * outer source become the outside address and port.
 */
function icmpError(st: NatState, pkt: Packet, fromOutside: boolean): number {
  const b = pkt.bytes, ip = pkt.ipv4!, l4 = pkt.l4Offset, end = pkt.offset + pkt.length;
  const q = l4 + 8;   // the quoted IP header
  if (q + 28 > end || b[q] >> 4 !== 4) return -UNSUPPORTED;
  const ihl = (b[q] & 15) * 4, qproto = b[q + 9], ql4 = q + ihl;
  if (ql4 + 8 > end) return -UNSUPPORTED;
  // The quoted packet's translated end: its source (inbound) or destination (outbound).
  const addrAt = fromOutside ? q + 12 : q + 16;
  const portAt = qproto === 1 ? ql4 + 4 : fromOutside ? ql4 : ql4 + 2;
  if (qproto !== 6 && qproto !== 17 && qproto !== 1) return -UNSUPPORTED;
  const qaddr = rd32(b, addrAt), qport = rd16(b, portAt);
  let newAddr: number, newPort: number, slot: number;
  if (fromOutside) {
    if ((qaddr >>> 0) !== ip.dst) return -NOT_OURS;
    slot = lookupIn(st, qaddr, qport, qproto);
    if (slot < 0) return -NO_BINDING;
    newAddr = st.fwd.keyWord(slot, 0); newPort = st.fwd.keyWord(slot, 2) >>> 16;
  } else {
    slot = st.fwd.find4(qaddr, 0, qport, 0, qproto);
    if (slot < 0) return -NO_BINDING;
    newAddr = st.fwd.values[st.fwd.at(slot)]; newPort = st.fwd.values[st.fwd.at(slot) + 1] & 0xffff;
  }
  // The quoted header: address (its checksum), port (its checksum, when quoted).
  wr32(b, addrAt, newAddr);
  wr16(b, q + 10, updateChecksum32(rd16(b, q + 10), qaddr, newAddr));
  wr16(b, portAt, newPort);
  const qsum = qproto === 17 ? ql4 + 6 : qproto === 6 ? ql4 + 16 : ql4 + 2;
  if (qsum + 2 <= end && !(qproto === 17 && rd16(b, qsum) === 0)) {
    let s = updateChecksum16(rd16(b, qsum), qport, newPort);
    if (qproto !== 1) s = updateChecksum32(s, qaddr, newAddr);   // ICMP has no pseudo-header
    wr16(b, qsum, s);
  }
  // The outer header; then the ICMP checksum over the whole message, once.
  if (fromOutside) ip.rewriteDst(newAddr); else ip.rewriteSrc(newAddr);
  wr16(b, l4 + 2, 0);
  let sum = 0;
  const icmpEnd = pkt.l3Offset + ip.totalLength;
  for (let o = l4; o < icmpEnd; o += 2) sum += (b[o] << 8) | (o + 1 < icmpEnd ? b[o + 1] : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  wr16(b, l4 + 2, ~sum & 0xffff);
  st.n[ICMP_ERR]++;
  return fromOutside ? st.in : st.out;
}

export default defineVnf<NatState>({
  ports: PORTS,
  init: (ctx) => newState(ctx),
  process(batch: Batch, st: NatState) {
    const now = Date.now();
    st.now = now >>> 0;
    st.fwd.tick(now);
    st.rev.tick(now);
    st.filt.tick(now);
    const a = st.in, n = st.n;
    for (let i = 0; i < batch.count; i++) {
      const pkt = batch.packet(i);
      const r = pkt.inPort === a ? outbound(st, pkt) : inbound(st, pkt);
      if (r >= 0) pkt.verdict = r + 1;
      else n[-r]++;
    }
    n[EXPIRED] = st.fwd.stats[FT_EXPIRED];
    n[EVICTED] = st.fwd.stats[FT_EVICTED];
    n[FULL] = st.fwd.stats[FT_REFUSED] + st.rev.stats[FT_REFUSED];
  },
  // Bindings live in ctx.memory: init() re-attached them.
  migrate: (_prev, _ctx, fresh) => fresh,
});
