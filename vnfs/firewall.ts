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
import { defineVnf, makeCtx, parsePrefix, parsePrefix6, prefixMask, prefixMask6, U32Set } from "../sdk";
import type { Batch, Ctx, Packet, VnfDefinition } from "../sdk";

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
const DENY = 0, ALLOW = 1, BLOCKED = 2, NO_MATCH = -1;

/** Rules compiled to parallel typed arrays; one table per IP family. A
 *  field that matches anything has mask 0, proto -1, from -1, ports -1..65535.
 *  Addresses are `words` 32-bit words each (1 for IPv4, 4 for IPv6). */
class RuleTable {
  n = 0;
  readonly action: Uint8Array;
  readonly from: Int8Array;
  readonly proto: Int16Array;
  readonly sLo: Int32Array; readonly sHi: Int32Array;
  readonly dLo: Int32Array; readonly dHi: Int32Array;
  readonly srcAddr: Int32Array; readonly srcMask: Int32Array;
  readonly dstAddr: Int32Array; readonly dstMask: Int32Array;

  constructor(cap: number, readonly words: number) {
    this.action = new Uint8Array(cap);
    this.from = new Int8Array(cap);
    this.proto = new Int16Array(cap);
    this.sLo = new Int32Array(cap); this.sHi = new Int32Array(cap);
    this.dLo = new Int32Array(cap); this.dHi = new Int32Array(cap);
    this.srcAddr = new Int32Array(cap * words); this.srcMask = new Int32Array(cap * words);
    this.dstAddr = new Int32Array(cap * words); this.dstMask = new Int32Array(cap * words);
  }

  /** First matching rule's action for an IPv4 packet, or NO_MATCH. */
  match4(from: number, src: number, dst: number, proto: number, sport: number, dport: number): number {
    const f = this.from, pr = this.proto, sa = this.srcAddr, sm = this.srcMask;
    const da = this.dstAddr, dm = this.dstMask;
    const sLo = this.sLo, sHi = this.sHi, dLo = this.dLo, dHi = this.dHi;
    for (let r = 0; r < this.n; r++) {
      if ((((src & sm[r]) ^ sa[r]) | ((dst & dm[r]) ^ da[r])) !== 0) continue;
      if ((f[r] >= 0 && f[r] !== from) || (pr[r] >= 0 && pr[r] !== proto)) continue;
      if (sport < sLo[r] || sport > sHi[r] || dport < dLo[r] || dport > dHi[r]) continue;
      return this.action[r];
    }
    return NO_MATCH;
  }

  /** As match4, with the packet's addresses as four int32 words each. */
  match6(
    from: number, s0: number, s1: number, s2: number, s3: number,
    d0: number, d1: number, d2: number, d3: number, proto: number, sport: number, dport: number,
  ): number {
    const f = this.from, pr = this.proto, sa = this.srcAddr, sm = this.srcMask;
    const da = this.dstAddr, dm = this.dstMask;
    const sLo = this.sLo, sHi = this.sHi, dLo = this.dLo, dHi = this.dHi;
    for (let r = 0; r < this.n; r++) {
      const k = r << 2;
      if ((((s0 & sm[k]) ^ sa[k]) | ((s1 & sm[k + 1]) ^ sa[k + 1])
        | ((s2 & sm[k + 2]) ^ sa[k + 2]) | ((s3 & sm[k + 3]) ^ sa[k + 3])) !== 0) continue;
      if ((((d0 & dm[k]) ^ da[k]) | ((d1 & dm[k + 1]) ^ da[k + 1])
        | ((d2 & dm[k + 2]) ^ da[k + 2]) | ((d3 & dm[k + 3]) ^ da[k + 3])) !== 0) continue;
      if ((f[r] >= 0 && f[r] !== from) || (pr[r] >= 0 && pr[r] !== proto)) continue;
      if (sport < sLo[r] || sport > sHi[r] || dport < dLo[r] || dport > dHi[r]) continue;
      return this.action[r];
    }
    return NO_MATCH;
  }

  add(action: number, from: number, proto: number, sp: readonly [number, number],
    dp: readonly [number, number], src: Addr | null, dst: Addr | null): void {
    const r = this.n++, w = this.words;
    this.action[r] = action; this.from[r] = from; this.proto[r] = proto;
    this.sLo[r] = sp[0]; this.sHi[r] = sp[1]; this.dLo[r] = dp[0]; this.dHi[r] = dp[1];
    for (let i = 0; i < w; i++) {
      if (src) { this.srcAddr[r * w + i] = src.words[i]; this.srcMask[r * w + i] = src.masks[i]; }
      if (dst) { this.dstAddr[r * w + i] = dst.words[i]; this.dstMask[r * w + i] = dst.masks[i]; }
    }
  }
}

/** A parsed prefix as int32 words and masks. */
interface Addr { v6: boolean; words: number[]; masks: number[]; }

function parseAddr(s: string, what: string): Addr {
  if (typeof s !== "string") throw new Error(`${what}: expected an address or prefix string`);
  try {
    if (s.indexOf(":") >= 0) {
      const p = parsePrefix6(s);
      return { v6: true, words: p.words.map((x) => x | 0), masks: [0, 1, 2, 3].map((i) => prefixMask6(p.len, i) | 0) };
    }
    const p = parsePrefix(s);
    return { v6: false, words: [p.addr | 0], masks: [prefixMask(p.len) | 0] };
  } catch (e) {
    throw new Error(`${what}: ${(e as Error).message}`);
  }
}

const ANY_PORT: readonly [number, number] = [-1, 65535];

function parsePorts(m: PortMatch | undefined, what: string): readonly [number, number] {
  if (m === undefined) return ANY_PORT;
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

/** proto for each family table, -1 for any, or null when it cannot match that family. */
function parseProto(p: FirewallRule["proto"], v6: boolean, what: string): number | null {
  if (p === undefined) return -1;
  if (p === "tcp") return 6;
  if (p === "udp") return 17;
  if (p === "icmp") return v6 ? 58 : 1;
  if (p === "icmp6") return v6 ? 58 : null;
  if (typeof p === "number" && Number.isInteger(p) && p >= 0 && p <= 255) return p;
  throw new Error(`${what}: proto must be "tcp", "udp", "icmp", "icmp6" or 0..255, got ${JSON.stringify(p)}`);
}

/** The compiled policy one core runs. */
export class Firewall {
  readonly v4: RuleTable;
  readonly v6: RuleTable;
  readonly blocked = new U32Set(16);
  readonly defaultAllow: boolean;
  readonly arpAllow: boolean;
  readonly nonIpAllow: boolean;

  constructor(cfg: FirewallConfig, ctx: Ctx) {
    if (cfg === null || typeof cfg !== "object") throw new Error("firewall: config must be an object");
    this.defaultAllow = parseAction(cfg.defaultAction, "firewall defaultAction") === ALLOW;
    this.arpAllow = parseAction(cfg.arp ?? "allow", "firewall arp") === ALLOW;
    this.nonIpAllow = parseAction(cfg.nonIp ?? "deny", "firewall nonIp") === ALLOW;
    const rules = cfg.rules ?? [];
    const blocked = cfg.blockedSources ?? [];
    if (!Array.isArray(rules)) throw new Error("firewall: rules must be an array");
    if (!Array.isArray(blocked)) throw new Error("firewall: blockedSources must be an array");
    const cap = rules.length + blocked.length;
    this.v4 = new RuleTable(cap, 1);
    this.v6 = new RuleTable(cap, 4);

    for (let i = 0; i < blocked.length; i++) {
      const a = parseAddr(blocked[i], `firewall blockedSources[${i}]`);
      if (!a.v6 && a.masks[0] === -1) this.blocked.add(a.words[0]);
      else (a.v6 ? this.v6 : this.v4).add(BLOCKED, -1, -1, ANY_PORT, ANY_PORT, a, null);
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
      const sp = parsePorts(r.sport, `${what} sport`);
      const dp = parsePorts(r.dport, `${what} dport`);
      const p4 = parseProto(r.proto, false, what);
      const p6 = parseProto(r.proto, true, what);
      if ((sp !== ANY_PORT || dp !== ANY_PORT) && r.proto !== undefined && p4 !== 6 && p4 !== 17) {
        throw new Error(`${what}: sport/dport need proto "tcp", "udp" or none`);
      }
      const fam = src ?? dst;
      if (p6 === null && fam && fam.v6) throw new Error(`${what}: proto ${JSON.stringify(r.proto)} never matches IPv6`);
      if (p4 === null && fam && !fam.v6) throw new Error(`${what}: proto ${JSON.stringify(r.proto)} never matches IPv4`);
      if (p4 !== null && (!fam || !fam.v6)) this.v4.add(action, from, p4, sp, dp, src, dst);
      if (p6 !== null && (!fam || fam.v6)) this.v6.add(action, from, p6, sp, dp, src, dst);
    }
  }

  /** The decision for one packet; counts its cause. */
  allows(pkt: Packet, from: number, c: FirewallCounters): boolean {
    const ip = pkt.ipv4;
    let r: number;
    if (ip !== null) {
      const src = ip.src;
      if (this.blocked.has(src)) { c.blocked++; return false; }
      r = this.v4.match4(from, src | 0, ip.dst | 0, pkt.l4Protocol, pkt.srcPort, pkt.dstPort);
    } else {
      const ip6 = pkt.ipv6;
      if (ip6 === null) return this.notIp(pkt.etherType, c);
      r = this.v6.match6(from,
        ip6.srcWord(0) | 0, ip6.srcWord(1) | 0, ip6.srcWord(2) | 0, ip6.srcWord(3) | 0,
        ip6.dstWord(0) | 0, ip6.dstWord(1) | 0, ip6.dstWord(2) | 0, ip6.dstWord(3) | 0,
        pkt.l4Protocol, pkt.srcPort, pkt.dstPort);
    }
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

function newState(cfg: FirewallConfig, ctx: Ctx): FirewallState {
  return {
    fw: new Firewall(cfg, ctx),
    in: ctx.port("in"),
    out: ctx.port("out"),
    counters: { allowed: 0, blocked: 0, denied: 0, defaulted: 0, malformed: 0, nonIp: 0 },
  };
}

/** A firewall VNF for a given policy. Throws at once on a bad policy. */
export function makeFirewall(cfg: FirewallConfig): VnfDefinition<FirewallState> {
  new Firewall(cfg, makeCtx(PORTS)); // validate now, not on the first core
  return defineVnf<FirewallState>({
    ports: PORTS,
    init: (ctx) => newState(cfg, ctx),
    process(batch: Batch, st: FirewallState) {
      const fw = st.fw, c = st.counters, a = st.in, b = st.out;
      for (const pkt of batch) {
        const from = pkt.inPort;
        if (fw.allows(pkt, from, c)) pkt.verdict = (from === a ? b : a) + 1;
      }
    },
    // Keep the counters across a reload; the policy is this version's.
    migrate(prev, ctx) {
      const st = newState(cfg, ctx);
      const old = (prev as Partial<FirewallState> | null)?.counters;
      if (old) for (const k of Object.keys(st.counters) as (keyof FirewallCounters)[]) st.counters[k] = old[k] ?? 0;
      return st;
    },
  });
}

export default makeFirewall(config);
