// firewall: a stateless ACL between "in" and "out".
//
// Both directions are filtered by the same rules: a packet from "in" that is
// allowed goes out "out", one from "out" goes back "in". Rules see the
// packet's own src/dst, so a stateless policy must allow replies explicitly
// (e.g. `sport: 80` for answers from web servers) or restrict a rule to one
// direction with `from`. Order per packet:
//   1. ARP: `arp` action (default allow). Other non-IP: `nonIp` (default deny).
//      Ethernet type IPv4/IPv6 whose header does not parse: dropped.
//   2. blockedSources: exact IPv4 addresses are one hash lookup (fast for
//      thousands; compiled into the rules, sdk/acl srcIn); prefixes and IPv6
//      entries become leading deny rules.
//   3. rules, in order; first match wins. A rule's prefixes pick its family:
//      IPv4 prefixes match only IPv4, IPv6 prefixes only IPv6, no prefix both.
//      `proto: "icmp"` means ICMP on IPv4 and ICMPv6 on IPv6. Port matches
//      need a TCP/UDP header (non-first fragments never match them).
//   4. defaultAction.
// Rules compile once per core (sdk/acl: generated code, typed arrays where
// code generation is off); each drop cause has its own counter in the state.
import { compileAcl4, compileAcl6, defineVnf, makeCtx, parsePrefix, parsePrefix6, U32Set } from "../sdk";
import type {
  AclOptions, AclRule4, AclRule6, Batch, Ctx, Match4, Match6, Packet, PortRange, Prefix4, Prefix6, VnfDefinition,
} from "../sdk";

// ---- Edit this policy. ----------------------------------------------------
export const config: FirewallConfig = {
  defaultAction: "allow",
  blockedSources: [
    "192.0.2.66", // a single host (hash set)
    "198.51.100.0/24", // a whole network (deny rule)
  ],
  rules: [
    { action: "deny", proto: "tcp", dport: 23 }, // telnet
    { action: "deny", proto: "udp", dport: [137, 139] }, // NetBIOS
    { action: "deny", from: "out", proto: "tcp", dport: [6000, 6063] }, // X11 from outside
  ],
};
// ----------------------------------------------------------------------------

export type Action = "allow" | "deny";
export type PortMatch = number | readonly [number, number];

export interface FirewallRule {
  action: Action;
  /** "10.0.0.0/8", "10.1.2.3", "2001:db8::/32". */
  src?: string;
  dst?: string;
  proto?: "tcp" | "udp" | "icmp" | "icmp6" | number;
  sport?: PortMatch;
  dport?: PortMatch;
  /** Only packets arriving on this port. */
  from?: "in" | "out";
}

export interface FirewallConfig {
  defaultAction: Action;
  rules?: readonly FirewallRule[];
  /** Sources dropped before any rule: IPv4/IPv6 addresses or prefixes. */
  blockedSources?: readonly string[];
  /** ARP frames (default "allow"). */
  arp?: Action;
  /** Frames neither IP nor ARP (default "deny"). */
  nonIp?: Action;
}

// Verdict causes: each is a counter's index, and the first three are the
// actions in the compiled rules (no match is -1), so a decision is counted
// by using the action as an index.
const ALLOWED = 0, BLOCKED = 1, DENIED = 2, DEFAULTED = 3, MALFORMED = 4, NON_IP = 5;
const ALLOW = ALLOWED, DENY = DENIED;
const CAUSES = ["allowed", "blocked", "denied", "defaulted", "malformed", "nonIp"] as const;

/**
 * One counter per verdict cause, per core. The counts live in a
 * Float64Array (`n`, indexed by cause): exact to 2^53, and counting is an
 * in-place add. Plain object properties would be small integers to V8 until
 * 2^30, and the first count past that changes the object's shape, which
 * throws away the optimised packet loop (once, some 30 s into a busy run).
 */
export class FirewallCounters {
  /** Published by vnfrun (ctx.counters): top, --metrics and the summary show them. */
  constructor(readonly n: Float64Array = new Float64Array(CAUSES.length)) {}
  get allowed(): number { return this.n[ALLOWED]; }
  set allowed(v: number) { this.n[ALLOWED] = v; }
  /** Dropped by blockedSources. */
  get blocked(): number { return this.n[BLOCKED]; }
  set blocked(v: number) { this.n[BLOCKED] = v; }
  /** Dropped by a deny rule. */
  get denied(): number { return this.n[DENIED]; }
  set denied(v: number) { this.n[DENIED] = v; }
  /** Dropped by defaultAction "deny". */
  get defaulted(): number { return this.n[DEFAULTED]; }
  set defaulted(v: number) { this.n[DEFAULTED] = v; }
  /** Dropped: IPv4/IPv6 Ethernet type with a header that does not parse. */
  get malformed(): number { return this.n[MALFORMED]; }
  set malformed(v: number) { this.n[MALFORMED] = v; }
  /** Non-IP (ARP included) dropped by `arp`/`nonIp`. */
  get nonIp(): number { return this.n[NON_IP]; }
  set nonIp(v: number) { this.n[NON_IP] = v; }
  toJSON(): Record<(typeof CAUSES)[number], number> {
    return Object.fromEntries(CAUSES.map((k, i) => [k, this.n[i]])) as Record<(typeof CAUSES)[number], number>;
  }
}

const PORTS = ["in", "out"] as const;

/** A parsed address or prefix of either family. */
type Addr = { v6: false; p: Prefix4 } | { v6: true; p: Prefix6 };

function parseAddr(s: string, what: string): Addr {
  if (typeof s !== "string") throw new Error(`${what}: expected an address or prefix string`);
  try {
    return s.indexOf(":") >= 0 ? { v6: true, p: parsePrefix6(s) } : { v6: false, p: parsePrefix(s) };
  } catch (e) {
    throw new Error(`${what}: ${(e as Error).message}`);
  }
}

function parsePorts(m: PortMatch | undefined, what: string): PortRange | undefined {
  if (m === undefined) return undefined;
  const [lo, hi] = typeof m === "number" ? [m, m] : Array.isArray(m) && m.length === 2 ? m : [NaN, NaN];
  const ok = (x: number): boolean => Number.isInteger(x) && x >= 0 && x <= 65535;
  if (!ok(lo) || !ok(hi) || lo > hi) {
    throw new Error(`${what}: expected a port 0..65535 or a range [lo, hi], got ${JSON.stringify(m)}`);
  }
  return [lo, hi];
}

function parseAction(a: unknown, what: string): number {
  if (a === "allow") return ALLOW;
  if (a === "deny") return DENY;
  throw new Error(`${what}: action must be "allow" or "deny", got ${JSON.stringify(a)}`);
}

/** Protocol number for one family, -1 for any, or null when it cannot match that family. */
function parseProto(p: FirewallRule["proto"], v6: boolean, what: string): number | null {
  if (p === undefined) return -1;
  if (p === "tcp") return 6;
  if (p === "udp") return 17;
  if (p === "icmp") return v6 ? 58 : 1;
  if (p === "icmp6") return v6 ? 58 : null;
  if (typeof p === "number" && Number.isInteger(p) && p >= 0 && p <= 255) return p;
  throw new Error(`${what}: proto must be "tcp", "udp", "icmp", "icmp6" or 0..255, got ${JSON.stringify(p)}`);
}

/** Split the policy into IPv4 and IPv6 rule lists (blocked prefixes first). */
function splitRules(cfg: FirewallConfig, ctx: Ctx, blocked: U32Set): { r4: AclRule4[]; r6: AclRule6[]; exact: number[] } {
  const rules = cfg.rules ?? [];
  const list = cfg.blockedSources ?? [];
  if (!Array.isArray(rules)) throw new Error("firewall: rules must be an array");
  if (!Array.isArray(list)) throw new Error("firewall: blockedSources must be an array");
  const r4: AclRule4[] = [];
  const r6: AclRule6[] = [];
  const exact: number[] = [];

  for (let i = 0; i < list.length; i++) {
    const a = parseAddr(list[i], `firewall blockedSources[${i}]`);
    if (a.v6) r6.push({ action: BLOCKED, src: a.p });
    else if (a.p.len === 32) { blocked.add(a.p.addr); exact.push(a.p.addr); }
    else r4.push({ action: BLOCKED, src: a.p });
  }

  for (let i = 0; i < rules.length; i++) {
    const r = rules[i], what = `firewall rule #${i + 1}`;
    if (r === null || typeof r !== "object") throw new Error(`${what}: expected an object`);
    const action = parseAction(r.action, what);
    const src = r.src === undefined ? null : parseAddr(r.src, `${what} src`);
    const dst = r.dst === undefined ? null : parseAddr(r.dst, `${what} dst`);
    if (src && dst && src.v6 !== dst.v6) throw new Error(`${what}: src and dst are different IP versions`);
    if (r.from !== undefined && r.from !== "in" && r.from !== "out") {
      throw new Error(`${what}: from must be "in" or "out", got ${JSON.stringify(r.from)}`);
    }
    const from = r.from === undefined ? -1 : ctx.port(r.from);
    const sport = parsePorts(r.sport, `${what} sport`);
    const dport = parsePorts(r.dport, `${what} dport`);
    const p4 = parseProto(r.proto, false, what);
    const p6 = parseProto(r.proto, true, what);
    if ((sport || dport) && r.proto !== undefined && p4 !== 6 && p4 !== 17) {
      throw new Error(`${what}: sport/dport need proto "tcp", "udp" or none`);
    }
    const fam = src ?? dst;
    if (p6 === null && fam && fam.v6) throw new Error(`${what}: proto ${JSON.stringify(r.proto)} never matches IPv6`);
    if (p4 === null && fam && !fam.v6) throw new Error(`${what}: proto ${JSON.stringify(r.proto)} never matches IPv4`);
    if (p4 !== null && (!fam || !fam.v6)) {
      r4.push({ action, from, proto: p4, sport, dport, src: src?.p as Prefix4 | undefined, dst: dst?.p as Prefix4 | undefined });
    }
    if (p6 !== null && (!fam || fam.v6)) {
      r6.push({ action, from, proto: p6, sport, dport, src: src?.p as Prefix6 | undefined, dst: dst?.p as Prefix6 | undefined });
    }
  }
  return { r4, r6, exact };
}

/** The compiled policy one core runs. */
export class Firewall {
  /** Exact IPv4 blocked sources (match4 has them compiled in). */
  readonly blocked = new U32Set(16);
  /** Compiled rule lists (blocked prefixes first); see sdk/acl. */
  declare readonly match4: Match4;
  declare readonly match6: Match6;
  declare readonly rules4: number;
  declare readonly rules6: number;
  declare readonly defaultAllow: boolean;
  declare readonly arpAllow: boolean;
  declare readonly nonIpAllow: boolean;
  /** The cause counted when no rule matches: ALLOWED or DEFAULTED. */
  declare readonly noMatch: number;

  constructor(cfg: FirewallConfig, ctx: Ctx, opts: AclOptions = {}) {
    if (cfg === null || typeof cfg !== "object") throw new Error("firewall: config must be an object");
    this.defaultAllow = parseAction(cfg.defaultAction, "firewall defaultAction") === ALLOW;
    this.arpAllow = parseAction(cfg.arp ?? "allow", "firewall arp") === ALLOW;
    this.nonIpAllow = parseAction(cfg.nonIp ?? "deny", "firewall nonIp") === ALLOW;
    const { r4, r6, exact } = splitRules(cfg, ctx, this.blocked);
    this.rules4 = r4.length;
    this.rules6 = r6.length;
    // The exact sources become the first IPv4 rule: a hash lookup compiled
    // into the matcher with its table as constants (sdk/acl srcIn).
    this.match4 = compileAcl4(exact.length ? [{ action: BLOCKED, srcIn: exact }, ...r4] : r4, opts);
    this.match6 = compileAcl6(r6, opts);
    this.noMatch = this.defaultAllow ? ALLOWED : DEFAULTED;
  }

  /** The decision for one packet, as its cause (ALLOWED or why not). */
  cause(pkt: Packet, from: number): number {
    const ip = pkt.ipv4;
    if (ip !== null) return this.ruled(this.match4(from, ip.src | 0, ip.dst | 0, pkt.l4Protocol, pkt.srcPort, pkt.dstPort));
    const ip6 = pkt.ipv6;
    if (ip6 === null) return this.notIp(pkt.etherType);
    return this.ruled(this.match6(from,
      ip6.srcWord(0), ip6.srcWord(1), ip6.srcWord(2), ip6.srcWord(3),
      ip6.dstWord(0), ip6.dstWord(1), ip6.dstWord(2), ip6.dstWord(3),
      pkt.l4Protocol, pkt.srcPort, pkt.dstPort));
  }

  /** Whether the packet may pass; counts its cause. */
  allows(pkt: Packet, from: number, c: FirewallCounters): boolean {
    const cause = this.cause(pkt, from);
    c.n[cause]++;
    return cause === ALLOWED;
  }

  /** A rule's action is its cause; no match (-1) is the default's. */
  ruled(r: number): number { return r >= 0 ? r : this.noMatch; }

  private notIp(etherType: number): number {
    if (etherType === 0x0800 || etherType === 0x86dd) return MALFORMED;
    return (etherType === 0x0806 ? this.arpAllow : this.nonIpAllow) ? ALLOWED : NON_IP;
  }
}

export interface FirewallState {
  fw: Firewall;
  in: number;
  out: number;
  counters: FirewallCounters;
}

function newState(cfg: FirewallConfig, ctx: Ctx, opts: AclOptions): FirewallState {
  return {
    fw: new Firewall(cfg, ctx, opts),
    in: ctx.port("in"),
    out: ctx.port("out"),
    counters: new FirewallCounters(ctx.counters(CAUSES)),
  };
}

/** A firewall VNF for a given policy. Throws at once on a bad policy.
 *  `opts.codegen: false` runs the rules on typed arrays instead of a
 *  generated function (for sandboxes that forbid code from strings). */
export function makeFirewall(cfg: FirewallConfig, opts: AclOptions = {}): VnfDefinition<FirewallState> {
  new Firewall(cfg, makeCtx(PORTS), opts); // validate now, not on the first core
  return defineVnf<FirewallState>({
    ports: PORTS,
    init: (ctx) => newState(cfg, ctx, opts),
    process(batch: Batch, st: FirewallState) {
      const fw = st.fw, match4 = fw.match4, noMatch = fw.noMatch;
      const n = st.counters.n, a = st.in, b = st.out;
      const count = batch.count, inPorts = batch.inPorts, verdicts = batch.verdicts;
      // IPv4 5-tuples as columns, parsed once for the batch (sdk/tuples):
      // an array read a field. The same speed as the Packet getters in V8,
      // and several times faster in the quickjs context, where every getter
      // is a call and the host has parsed the columns before we run.
      const t = batch.tuples();
      const proto = t.proto, src = t.src, dst = t.dst, sport = t.sport, dport = t.dport;
      // Module constants are variables once bundled (esbuild emits `var`),
      // which V8 reloads and checks at each use: copy the hot one here.
      const allowed = ALLOWED;
      // Allowed packets are counted once per batch (count minus the rest):
      // a Float64Array increment is some 20 instructions.
      let dropped = 0;
      // An index loop: for-of costs some 6 instructions a packet more.
      for (let i = 0; i < count; i++) {
        const from = inPorts[i], pr = proto[i];
        let cause: number;
        if (pr >= 0) {
          const r = match4(from, src[i], dst[i], pr, sport[i], dport[i]);
          cause = r >= 0 ? r : noMatch;
        } else {
          cause = fw.cause(batch.packet(i), from);   // not plain IPv4: the Packet API
        }
        if (cause === allowed) {
          verdicts[i] = (from === a ? b : a) + 1;
        } else {
          n[cause]++;
          dropped++;
        }
      }
      n[allowed] += count - dropped;
    },
    // Keep the counters across a reload; the policy is this version's
    // (compiled by init() into `st` before the cores paused).
    migrate(prev, _ctx, st) {
      const old = (prev as { counters?: Partial<Record<(typeof CAUSES)[number], number>> } | null)?.counters;
      if (old) for (const k of CAUSES) st.counters[k] = old[k] ?? 0;
      return st;
    },
  });
}

export default makeFirewall(config);
