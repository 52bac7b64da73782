// stateful-firewall: connection tracking between "in" (inside) and "out".
//
// Rules decide only who may open a connection; once open, its packets pass
// both ways and nothing else does. The first packet of a flow goes through
// `rules` (first match wins, then `defaultAction`); an allowed one creates a
// conntrack entry, and every later packet of either direction finds it with
// one FlowTable lookup (the key is the tuple in one canonical order, so both
// directions share an entry). TCP follows Linux conntrack's states and
// default timeouts (SYN_SENT 120 s, SYN_RECV 60 s, ESTABLISHED 5 days,
// FIN_WAIT 120 s, CLOSE_WAIT 60 s, LAST_ACK 30 s, TIME_WAIT 120 s, CLOSE
// 10 s); a new TCP flow must start with a SYN unless `loose` (then any
// packet but a RST picks up an established connection, as after a
// restart). UDP, ICMP echo and other protocols are pseudo-connections
// (UDP 30 s, 120 s once answered; ICMP 30 s). ICMP errors about a tracked
// flow pass as related. Drops are logged, at most `logDrops` lines a second
// per core.
//
// Config (--config FILE, see stateful-firewall.example.json):
//   rules: [{ action, from: "in"|"out", src, dst, proto, sport, dport }]
//   defaultAction: "deny" | "allow"        (default "deny"; the default rule
//                                           set allows new flows from "in")
//   loose, timeouts: { established: s, ... }, capacity, capacity6,
//   whenFull: "refuse" | "evict", logDrops
import {
  compileAcl4, compileAcl6, ConfigReader, defineVnf, FlowTable, FT_EVICTED, FT_EXPIRED, FT_REFUSED,
} from "../sdk";
import type { AclRule4, AclRule6, Batch, Ctx, Match4, Match6, Packet, PortRange } from "../sdk";

// Timeout classes = conntrack states.
const SYN_SENT = 0, SYN_RECV = 1, ESTABLISHED = 2, FIN_WAIT = 3, CLOSE_WAIT = 4, LAST_ACK = 5, TIME_WAIT = 6, CLOSE = 7;
const UDP = 8, UDP_STREAM = 9, ICMP = 10, OTHER = 11;
export const STATES = ["synSent", "synRecv", "established", "finWait", "closeWait", "lastAck", "timeWait", "close",
  "udp", "udpStream", "icmp", "other"] as const;
/** Linux conntrack's defaults, seconds. */
export const DEFAULT_TIMEOUTS: readonly number[] = [120, 60, 432_000, 120, 60, 30, 120, 10, 30, 120, 30, 600];

// Entry flags (value word 0).
const SWAPPED = 1, FIN_ORIG = 2, FIN_REPLY = 4, REPLIED = 8;

// Counters, by index.
const PASSED = 0, NEW = 1, INVALID = 2, DENIED = 3, DEFAULTED = 4, UNTRACKED = 5, RELATED = 6, NON_IP = 7,
  MALFORMED = 8, EXPIRED = 9, EVICTED = 10, LOG_SUPPRESSED = 11;
const CAUSES = ["passed", "new", "invalid", "denied", "defaulted", "untracked", "related", "nonIp", "malformed",
  "expired", "evicted", "logSuppressed"];

const TCP_FIN = 1, TCP_SYN = 2, TCP_RST = 4, TCP_ACK = 0x10;
const PORTS = ["in", "out"] as const;

export interface Policy {
  match4: Match4;
  match6: Match6;
  /** Per rule: 1 allow, 0 deny (index = the rule's number - 1). */
  allow: Uint8Array;
  defaultAllow: boolean;
  loose: boolean;
  timeoutsMs: number[];
  capacity: number;
  capacity6: number;
  whenFull: "refuse" | "evict";
  logDrops: number;
  rules: number;
}

function ports(c: ConfigReader, field: string): PortRange | undefined {
  if (!c.has(field)) return undefined;
  const v = (c.value as Record<string, unknown>)[field];
  if (Array.isArray(v)) {
    const r = c.list(field, (e) => e.port());
    if (r.length !== 2 || r[0] > r[1]) c.fail(`give a port or a range [lo, hi] with lo <= hi`, field);
    return [r[0], r[1]];
  }
  const p = c.port(field);
  return [p, p];
}

function proto(c: ConfigReader): number {
  if (!c.has("proto")) return -1;
  const v = (c.value as Record<string, unknown>).proto;
  if (typeof v === "number") return c.integer("proto", { min: 0, max: 255 });
  const names: Record<string, number> = { tcp: 6, udp: 17, icmp: 1, icmp6: 58 };
  return names[c.oneOf("proto", ["tcp", "udp", "icmp", "icmp6"])];
}

/** Reads and checks the config (throws naming the field). */
export function readPolicy(config: unknown, ctx: Pick<Ctx, "port">): Policy {
  const c = new ConfigReader(config ?? {}, "stateful-firewall");
  const defaultRules = !c.has("rules");
  const r4: AclRule4[] = [], r6: AclRule6[] = [], allow: number[] = [];
  const list = defaultRules ? [{ action: 1, from: ctx.port("in") }] : c.list("rules", (r, i) => {
    const action = r.oneOf("action", ["allow", "deny"]) === "allow" ? 1 : 0;
    const from = r.has("from") ? ctx.port(r.oneOf("from", PORTS)) : -1;
    const v6 = (f: string): boolean => r.has(f) && String((r.value as Record<string, unknown>)[f]).includes(":");
    const fam6 = v6("src") || v6("dst");
    const src = r.has("src") ? (fam6 ? r.prefix6("src") : r.prefix4("src")) : undefined;
    const dst = r.has("dst") ? (fam6 ? r.prefix6("dst") : r.prefix4("dst")) : undefined;
    const p = proto(r), sport = ports(r, "sport"), dport = ports(r, "dport");
    if ((sport || dport) && p !== -1 && p !== 6 && p !== 17) r.fail(`ports need proto "tcp" or "udp" (or none)`, "proto");
    const rule = { action: i, from, proto: p, sport, dport };
    const hasAddr = src !== undefined || dst !== undefined;
    if ((!hasAddr || !fam6) && p !== 58) r4.push({ ...rule, proto: p, src: src as AclRule4["src"], dst: dst as AclRule4["dst"] });
    if (!hasAddr || fam6) r6.push({ ...rule, proto: p === 1 ? 58 : p, src: src as AclRule6["src"], dst: dst as AclRule6["dst"] });
    return action;
  }, { max: 255 });
  if (defaultRules) { r4.push({ action: 0, from: ctx.port("in") }); r6.push({ action: 0, from: ctx.port("in") }); allow.push(1); }
  else allow.push(...(list as number[]));
  const t = c.obj("timeouts");
  const timeoutsMs = STATES.map((s, i) => 1000 * t.number(s, { min: 1, max: 2_000_000, default: DEFAULT_TIMEOUTS[i] }));
  if (timeoutsMs[UDP_STREAM] < timeoutsMs[UDP]) t.fail("udpStream must be at least udp", "udpStream");
  const policy: Policy = {
    match4: compileAcl4(r4),
    match6: compileAcl6(r6),
    allow: Uint8Array.from(allow),
    defaultAllow: c.oneOf("defaultAction", ["allow", "deny"], "deny") === "allow",
    loose: c.boolean("loose", false),
    timeoutsMs,
    capacity: c.integer("capacity", { min: 1, max: 1 << 26, default: 262_144 }),
    capacity6: c.integer("capacity6", { min: 1, max: 1 << 24, default: 65_536 }),
    whenFull: c.oneOf("whenFull", ["refuse", "evict"], "refuse"),
    logDrops: c.integer("logDrops", { min: 0, default: 10 }),
    rules: allow.length,
  };
  c.done();
  return policy;
}

export interface FirewallState {
  p: Policy;
  t4: FlowTable;
  t6: FlowTable;
  in: number;
  out: number;
  n: Float64Array;      // CAUSES
  hits: Float64Array;   // per rule
  log: DropLog;
}

/** At most `perSecond` drop lines a second; the rest counted. */
class DropLog {
  private second = 0;
  private lines = 0;
  constructor(private perSecond: number, private ctx: Ctx, private n: Float64Array) {}
  drop(pkt: Packet, why: string): void {
    const now = Math.floor(Date.now() / 1000);
    if (now !== this.second) { this.second = now; this.lines = 0; }
    if (this.lines >= this.perSecond) { this.n[LOG_SUPPRESSED]++; return; }
    this.lines++;
    this.ctx.log(`drop ${why}: ${describe(pkt, this.ctx)}`);
  }
}

function describe(pkt: Packet, ctx: Ctx): string {
  const ip = pkt.ipv4, ip6 = pkt.ipv6;
  const from = ctx.ports[pkt.inPort];
  const p = pkt.l4Protocol, name = p === 6 ? "tcp" : p === 17 ? "udp" : p === 1 ? "icmp" : p === 58 ? "icmp6" : `proto ${p}`;
  const at = (a: string, port: number): string => (port >= 0 ? (a.includes(":") ? `[${a}]:${port}` : `${a}:${port}`) : a);
  const src = ip ? ip.srcString : ip6 ? ip6.srcString : "?", dst = ip ? ip.dstString : ip6 ? ip6.dstString : "?";
  const flags = p === 6 && pkt.tcp ? ` flags 0x${pkt.tcp.flags.toString(16)}` : "";
  return `${name} ${at(src, pkt.srcPort)} -> ${at(dst, pkt.dstPort)}${flags} from ${from}`;
}

function tables(p: Policy, ctx: Ctx): { t4: FlowTable; t6: FlowTable } {
  // In the core's memory: a reload (or a core given its memory back after
  // a restart) attaches to the same connections when the tables' shape is
  // the same; new timeouts apply from then on.
  const o4 = { capacity: p.capacity, timeouts: p.timeoutsMs, whenFull: p.whenFull, valueWords: 1 };
  return {
    t4: FlowTable.shared(ctx, "conntrack4", o4),
    t6: FlowTable.shared(ctx, "conntrack6", { ...o4, capacity: p.capacity6, ipv6: true }),
  };
}

function newState(ctx: Ctx): FirewallState {
  const p = readPolicy(ctx.config, ctx);
  const n = ctx.counters(CAUSES);
  const { t4, t6 } = tables(p, ctx);
  return {
    p, t4, t6, in: ctx.port("in"), out: ctx.port("out"), n,
    hits: ctx.counters(Array.from({ length: p.rules }, (_, i) => `rule_${i + 1}`)),
    log: new DropLog(p.logDrops, ctx, n),
  };
}

/**
 * One step of TCP tracking for a packet of direction `dir` (0: the
 * direction that opened the connection) with `flags`: the new state, or -1
 * for a packet that does not fit the connection (dropped as invalid).
 */
export function tcpStep(state: number, dir: number, flags: number, f: number): number {
  if (flags & TCP_RST) return CLOSE;
  const syn = flags & TCP_SYN, ack = flags & TCP_ACK, fin = flags & TCP_FIN;
  switch (state) {
    case SYN_SENT:
      if (dir === 0) return syn && !ack ? SYN_SENT : -1;
      return syn && ack ? SYN_RECV : -1;
    case SYN_RECV:
      if (dir === 1) return syn && ack ? SYN_RECV : fin ? CLOSE_WAIT : ESTABLISHED;
      if (syn) return -1;
      return fin ? FIN_WAIT : ack ? ESTABLISHED : SYN_RECV;
    case TIME_WAIT:
    case CLOSE:
      if (syn && !ack && dir === 0) return SYN_SENT;      // the port is reused
      return state;
    default: {
      if (syn) return ack && dir === 1 ? state : -1;     // a late SYN-ACK retransmit passes
      if (!fin) {
        if (state === LAST_ACK && ack) return TIME_WAIT;
        return state;
      }
      // A FIN: both sides' FINs seen make LAST_ACK (the last ACK ends it).
      const both = (f | (dir === 0 ? FIN_ORIG : FIN_REPLY)) & (FIN_ORIG | FIN_REPLY);
      if (both === (FIN_ORIG | FIN_REPLY)) return state === LAST_ACK || state === TIME_WAIT ? state : LAST_ACK;
      return dir === 0 ? FIN_WAIT : CLOSE_WAIT;
    }
  }
}

/** Updates a found entry for a packet (dir 0/1); whether it passes. */
function track(t: FlowTable, slot: number, dir: number, proto: number, flags: number): boolean {
  const v = t.values, at = t.at(slot), f = v[at], state = t.classOf(slot);
  if (proto === 6) {
    const next = tcpStep(state, dir, flags, f);
    if (next < 0) return false;
    if (next === SYN_SENT && state !== SYN_SENT) v[at] = f & SWAPPED;   // reopened
    else if (flags & TCP_FIN) v[at] = f | (dir === 0 ? FIN_ORIG : FIN_REPLY);
    t.touch(slot, next);
    return true;
  }
  if (dir === 1 && !(f & REPLIED)) {
    v[at] = f | REPLIED;
    t.touch(slot, state === UDP ? UDP_STREAM : state);
  } else t.touch(slot, state);
  return true;
}

/** The first state of a new flow, or -1 when it may not start one. */
function firstState(proto: number, flags: number, loose: boolean): number {
  if (proto === 6) {
    if (flags & TCP_RST) return -1;
    if ((flags & (TCP_SYN | TCP_ACK)) === TCP_SYN) return SYN_SENT;
    return loose ? ((flags & TCP_FIN) ? FIN_WAIT : ESTABLISHED) : -1;
  }
  return proto === 17 ? UDP : proto === 1 || proto === 58 ? ICMP : OTHER;
}

// ICMP types that carry the header of the packet they are about.
const isError4 = (type: number): boolean => type === 3 || type === 11 || type === 12 || type === 4;
const isError6 = (type: number): boolean => type >= 1 && type <= 4;

/** The packet's verdict cause (PASSED or why not); IPv4. */
function slow4(st: FirewallState, pkt: Packet): number {
  const ip = pkt.ipv4!, b = pkt.bytes, t = st.t4;
  const proto = pkt.l4Protocol, l4 = pkt.l4Offset;
  let sp = pkt.srcPort, dp = pkt.dstPort, flags = 0;
  if (proto === 1) {
    if (l4 < 0 || pkt.icmp === null) return MALFORMED;
    const type = b[l4];
    if (isError4(type)) return related4(st, pkt, l4 + 8);
    if (type !== 8 && type !== 0 && type !== 13 && type !== 14) return INVALID;
    sp = dp = (b[l4 + 4] << 8) | b[l4 + 5];   // echo id both ways
  } else if (sp < 0) { sp = 0; dp = 0; }      // other protocols, non-first fragments
  if (proto === 6) flags = b[l4 + 13];
  if (proto === 6 && sp < 0) return MALFORMED;
  const s = ip.src | 0, d = ip.dst | 0;
  const swap = s >>> 0 > d >>> 0 || (s === d && sp > dp) ? 1 : 0;
  let slot = swap ? t.find4(d, s, dp, sp, proto) : t.find4(s, d, sp, dp, proto);
  if (slot >= 0) return track(t, slot, swap ^ (t.values[t.at(slot)] & SWAPPED), proto, flags) ? PASSED : INVALID;
  const r = st.p.match4(pkt.inPort, s, d, proto, pkt.srcPort, pkt.dstPort);
  const why = admit(st, r, proto, flags);
  if (why !== NEW) return why;
  slot = swap ? t.add4(d, s, dp, sp, proto, firstState(proto, flags, st.p.loose)) : t.add4(s, d, sp, dp, proto, firstState(proto, flags, st.p.loose));
  if (slot < 0) return UNTRACKED;
  t.values[t.at(slot)] = swap;
  st.n[NEW]++;
  return PASSED;
}

/** Whether rules let a new flow start: NEW, or the cause of its drop. */
function admit(st: FirewallState, r: number, proto: number, flags: number): number {
  // A packet that cannot start a connection (a TCP ACK without one) is
  // invalid whatever the rules say, and counts no rule's hit.
  if (firstState(proto, flags, st.p.loose) < 0) return INVALID;
  if (r >= 0) st.hits[r]++;
  const allowed = r >= 0 ? st.p.allow[r] === 1 : st.p.defaultAllow;
  return allowed ? NEW : r >= 0 ? DENIED : DEFAULTED;
}

/** An ICMPv4 error passes when the packet it quotes (at `inner`) belongs to a tracked flow. */
function related4(st: FirewallState, pkt: Packet, inner: number): number {
  const b = pkt.bytes, end = pkt.offset + pkt.length;
  if (inner + 20 > end || b[inner] >> 4 !== 4) return INVALID;
  const ihl = (b[inner] & 15) * 4, proto = b[inner + 9];
  const s = (b[inner + 12] << 24) | (b[inner + 13] << 16) | (b[inner + 14] << 8) | b[inner + 15];
  const d = (b[inner + 16] << 24) | (b[inner + 17] << 16) | (b[inner + 18] << 8) | b[inner + 19];
  let sp = 0, dp = 0;
  const l4 = inner + ihl;
  if (proto === 6 || proto === 17) {
    if (l4 + 4 > end) return INVALID;
    sp = (b[l4] << 8) | b[l4 + 1]; dp = (b[l4 + 2] << 8) | b[l4 + 3];
  } else if (proto === 1) {
    if (l4 + 6 > end) return INVALID;
    sp = dp = (b[l4 + 4] << 8) | b[l4 + 5];
  }
  const swap = s >>> 0 > d >>> 0 || (s === d && sp > dp);
  const slot = swap ? st.t4.find4(d, s, dp, sp, proto) : st.t4.find4(s, d, sp, dp, proto);
  return slot >= 0 ? RELATED : INVALID;
}

function words(b: Uint8Array, o: number, w: Int32Array): void {
  for (let k = 0; k < 8; k++) w[k] = (b[o + 4 * k] << 24) | (b[o + 4 * k + 1] << 16) | (b[o + 4 * k + 2] << 8) | b[o + 4 * k + 3];
}
const W = new Int32Array(8);

/** IPv6, not on the fast path: the same tracking with the IPv6 table. */
function slow6(st: FirewallState, pkt: Packet): number {
  const b = pkt.bytes, t = st.t6, l3 = pkt.l3Offset;
  const proto = pkt.l4Protocol, l4 = pkt.l4Offset;
  let sp = pkt.srcPort, dp = pkt.dstPort, flags = 0;
  if (proto === 58) {
    if (l4 < 0 || pkt.icmp6 === null) return MALFORMED;
    const type = b[l4];
    if (type >= 133 && type <= 137) return PASSED;     // neighbour discovery and router messages
    if (isError6(type)) return related6(st, pkt, l4 + 8);
    if (type !== 128 && type !== 129) return INVALID;
    sp = dp = (b[l4 + 4] << 8) | b[l4 + 5];
  } else if (sp < 0) { if (proto === 6) return MALFORMED; sp = 0; dp = 0; }
  if (proto === 6) flags = b[l4 + 13];
  words(b, l3 + 8, W);
  return track6(st, W, sp, dp, proto === 58 ? 1 : proto, flags, pkt, true);
}

function lessWords(w: Int32Array, sp: number, dp: number): boolean {
  for (let k = 0; k < 4; k++) if (w[k] !== w[k + 4]) return w[k] >>> 0 > w[k + 4] >>> 0;
  return sp > dp;
}

function track6(st: FirewallState, w: Int32Array, sp: number, dp: number, proto: number, flags: number, pkt: Packet, mayAdd: boolean): number {
  const t = st.t6;
  const swap = lessWords(w, sp, dp) ? 1 : 0;
  const find = (): number => swap
    ? t.find6(w[4], w[5], w[6], w[7], w[0], w[1], w[2], w[3], dp, sp, proto)
    : t.find6(w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], sp, dp, proto);
  let slot = find();
  if (!mayAdd) return slot >= 0 ? RELATED : INVALID;
  if (slot >= 0) return track(t, slot, swap ^ (t.values[t.at(slot)] & SWAPPED), proto, flags) ? PASSED : INVALID;
  const r = st.p.match6(pkt.inPort, w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], proto === 1 ? 58 : proto, pkt.srcPort, pkt.dstPort);
  const why = admit(st, r, proto, flags);
  if (why !== NEW) return why;
  const cls = firstState(proto, flags, st.p.loose);
  slot = swap
    ? t.add6(w[4], w[5], w[6], w[7], w[0], w[1], w[2], w[3], dp, sp, proto, cls)
    : t.add6(w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], sp, dp, proto, cls);
  if (slot < 0) return UNTRACKED;
  t.values[t.at(slot)] = swap;
  st.n[NEW]++;
  return PASSED;
}

function related6(st: FirewallState, pkt: Packet, inner: number): number {
  const b = pkt.bytes, end = pkt.offset + pkt.length;
  if (inner + 44 > end || b[inner] >> 4 !== 6) return INVALID;
  const proto = b[inner + 6], l4 = inner + 40;
  let sp = 0, dp = 0;
  if (proto === 6 || proto === 17) { sp = (b[l4] << 8) | b[l4 + 1]; dp = (b[l4 + 2] << 8) | b[l4 + 3]; }
  else if (proto === 58) { if (l4 + 6 > end) return INVALID; sp = dp = (b[l4 + 4] << 8) | b[l4 + 5]; }
  const w = new Int32Array(8);
  words(b, inner + 8, w);
  return track6(st, w, sp, dp, proto === 58 ? 1 : proto, 0, pkt, false);
}

const DROP_WHY = ["", "", "invalid for its connection", "denied by a rule", "by the default action", "untracked (table full)",
  "", "not IP", "malformed"];

/** The cause for a packet not on the IPv4 fast path. */
function other(st: FirewallState, pkt: Packet): number {
  if (pkt.ipv4 !== null) return slow4(st, pkt);
  if (pkt.ipv6 !== null) return slow6(st, pkt);
  const et = pkt.etherType;
  if (et === 0x0806) return PASSED;            // ARP
  return et === 0x0800 || et === 0x86dd ? MALFORMED : NON_IP;
}

export default defineVnf<FirewallState>({
  ports: PORTS,
  init: (ctx) => newState(ctx),
  process(batch: Batch, st: FirewallState) {
    const t = st.t4, n = st.n, a = st.in, b = st.out;
    t.tick(Date.now());
    st.t6.tick(Date.now());
    const count = batch.count;
    let passed = 0;
    for (let i = 0; i < count; i++) {
      const pkt = batch.packet(i);
      const from = pkt.inPort;
      // The common case inline: an IPv4 TCP/UDP packet of a tracked flow.
      const ip = pkt.ipv4;
      let cause = -1;
      if (ip !== null) {
        const sp = pkt.srcPort, dp = pkt.dstPort, proto = pkt.l4Protocol;
        if (sp >= 0) {
          const s = ip.src | 0, d = ip.dst | 0;
          const swap = s >>> 0 > d >>> 0 || (s === d && sp > dp) ? 1 : 0;
          const slot = swap ? t.find4(d, s, dp, sp, proto) : t.find4(s, d, sp, dp, proto);
          if (slot >= 0) {
            const flags = proto === 6 ? pkt.bytes[pkt.l4Offset + 13] : 0;
            // ESTABLISHED with no SYN/FIN/RST: just renew it.
            if (proto === 6 && (flags & 7) === 0 && t.classOf(slot) === ESTABLISHED) { t.touch(slot, ESTABLISHED); cause = PASSED; }
            else cause = track(t, slot, swap ^ (t.values[t.at(slot)] & SWAPPED), proto, flags) ? PASSED : INVALID;
          }
        }
      }
      if (cause < 0) cause = other(st, pkt);
      if (cause === PASSED || cause === RELATED) {
        pkt.verdict = (from === a ? b : a) + 1;
        passed++;
        if (cause === RELATED) n[RELATED]++;
      } else {
        n[cause]++;
        if (st.p.logDrops > 0) st.log.drop(pkt, DROP_WHY[cause]);
      }
    }
    n[PASSED] += passed;
    n[EXPIRED] = t.stats[FT_EXPIRED] + st.t6.stats[FT_EXPIRED];
    n[EVICTED] = t.stats[FT_EVICTED] + st.t6.stats[FT_EVICTED];
    n[UNTRACKED] = t.stats[FT_REFUSED] + st.t6.stats[FT_REFUSED];
  },
  // A reload re-reads --config: new rules and timeouts; init() attached the
  // same connections (ctx.memory), so there is nothing to carry.
  migrate: (_prev, _ctx, fresh) => fresh,
});
