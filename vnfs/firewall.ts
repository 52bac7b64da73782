// firewall: a stateless ACL between "in" and "out".
//
// Both directions are filtered by the same rules: a packet from "in" that is
// allowed goes out "out", one from "out" goes back "in". Rules see the
// packet's own src/dst, so a stateless policy must allow replies explicitly
// (e.g. `sport: 80` for answers from web servers) or restrict a rule to one
// direction with `from`. Order per packet:
//   1. ARP: `arp` action (default allow). Other non-IP: `nonIp` (default deny).
//      Ethernet type IPv4/IPv6 whose header does not parse: dropped.
//   2. blockedSources: exact IPv4 addresses are a hash-set lookup (fast for
//      thousands); prefixes and IPv6 entries become leading deny rules.
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

/** One counter per verdict cause, per core. */
export interface FirewallCounters {
  allowed: number;
  blocked: number; // blockedSources
  denied: number; // a deny rule
  defaulted: number; // defaultAction was deny
  malformed: number; // IPv4/IPv6 type, unparsable header
  nonIp: number; // non-IP (ARP included) denied by `arp`/`nonIp`
}

const PORTS = ["in", "out"] as const;
const DENY = 0, ALLOW = 1, BLOCKED = 2; // actions in the compiled rules; no match is -1

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
function splitRules(cfg: FirewallConfig, ctx: Ctx, blocked: U32Set): { r4: AclRule4[]; r6: AclRule6[] } {
  const rules = cfg.rules ?? [];
  const list = cfg.blockedSources ?? [];
  if (!Array.isArray(rules)) throw new Error("firewall: rules must be an array");
  if (!Array.isArray(list)) throw new Error("firewall: blockedSources must be an array");
  const r4: AclRule4[] = [];
  const r6: AclRule6[] = [];

  for (let i = 0; i < list.length; i++) {
    const a = parseAddr(list[i], `firewall blockedSources[${i}]`);
    if (a.v6) r6.push({ action: BLOCKED, src: a.p });
    else if (a.p.len === 32) blocked.add(a.p.addr);
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
  return { r4, r6 };
}

/** The compiled policy one core runs. */
export class Firewall {
  /** Exact IPv4 blocked sources. */
  readonly blocked = new U32Set(16);
  /** Compiled rule lists (blocked prefixes first); see sdk/acl. */
  readonly match4: Match4;
  readonly match6: Match6;
  readonly rules4: number;
  readonly rules6: number;
  readonly defaultAllow: boolean;
  readonly arpAllow: boolean;
  readonly nonIpAllow: boolean;

  constructor(cfg: FirewallConfig, ctx: Ctx, opts: AclOptions = {}) {
    if (cfg === null || typeof cfg !== "object") throw new Error("firewall: config must be an object");
    this.defaultAllow = parseAction(cfg.defaultAction, "firewall defaultAction") === ALLOW;
    this.arpAllow = parseAction(cfg.arp ?? "allow", "firewall arp") === ALLOW;
    this.nonIpAllow = parseAction(cfg.nonIp ?? "deny", "firewall nonIp") === ALLOW;
    const { r4, r6 } = splitRules(cfg, ctx, this.blocked);
    this.rules4 = r4.length;
    this.rules6 = r6.length;
    this.match4 = compileAcl4(r4, opts);
    this.match6 = compileAcl6(r6, opts);
  }

  /** The decision for one packet; counts its cause. IPv4 stays in this
   *  small function (cheap for V8 to inline); other kinds go out of line. */
  allows(pkt: Packet, from: number, c: FirewallCounters): boolean {
    const ip = pkt.ipv4;
    if (ip === null) return this.allowsOther(pkt, from, c);
    const src = ip.src;
    if (this.blocked.has(src)) { c.blocked++; return false; }
    return this.decide(this.match4(from, src, ip.dst, pkt.l4Protocol, pkt.srcPort, pkt.dstPort), c);
  }

  private allowsOther(pkt: Packet, from: number, c: FirewallCounters): boolean {
    const ip6 = pkt.ipv6;
    if (ip6 === null) return this.notIp(pkt.etherType, c);
    return this.decide(this.match6(from,
      ip6.srcWord(0), ip6.srcWord(1), ip6.srcWord(2), ip6.srcWord(3),
      ip6.dstWord(0), ip6.dstWord(1), ip6.dstWord(2), ip6.dstWord(3),
      pkt.l4Protocol, pkt.srcPort, pkt.dstPort), c);
  }

  private decide(r: number, c: FirewallCounters): boolean {
    if (r === ALLOW) { c.allowed++; return true; }
    if (r === DENY) { c.denied++; return false; }
    if (r === BLOCKED) { c.blocked++; return false; }
    if (this.defaultAllow) { c.allowed++; return true; }
    c.defaulted++;
    return false;
  }

  private notIp(etherType: number, c: FirewallCounters): boolean {
    if (etherType === 0x0800 || etherType === 0x86dd) { c.malformed++; return false; }
    if (etherType === 0x0806 ? this.arpAllow : this.nonIpAllow) { c.allowed++; return true; }
    c.nonIp++;
    return false;
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
    counters: { allowed: 0, blocked: 0, denied: 0, defaulted: 0, malformed: 0, nonIp: 0 },
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
      const fw = st.fw, c = st.counters, a = st.in, b = st.out;
      // An index loop: cheaper than for-of, whose iterator protocol V8
      // wraps in try/finally.
      for (let i = 0; i < batch.count; i++) {
        const pkt = batch.packet(i);
        const from = pkt.inPort;
        if (fw.allows(pkt, from, c)) pkt.verdict = (from === a ? b : a) + 1;
      }
    },
    // Keep the counters across a reload; the policy is this version's.
    migrate(prev, ctx) {
      const st = newState(cfg, ctx, opts);
      const old = (prev as Partial<FirewallState> | null)?.counters;
      if (old) for (const k of Object.keys(st.counters) as (keyof FirewallCounters)[]) st.counters[k] = old[k] ?? 0;
      return st;
    },
  });
}

export default makeFirewall(config);
