// Ordered packet-classification rules, first match wins, compiled once into
// a JS function with the rules' numbers as constants (as Snabb's pflua
// compiles filters to Lua): V8 then runs a few compares per rule instead of
// a dozen bounds-checked typed-array loads. Where code generation is not
// allowed (a locked-down context), the same rules run on typed arrays.
// Only validated integers ever reach the generated source.

import { prefixMask, prefixMask6 } from "./addr";
import type { Prefix4, Prefix6 } from "./addr";

export type PortRange = readonly [number, number];

interface AclRuleBase {
  /** Returned on match, 0..255. */
  action: number;
  /** In-port index the packet must have arrived on; absent or -1 = any. */
  from?: number;
  /** IP protocol (after IPv6 extension headers); absent or -1 = any. */
  proto?: number;
  /** Inclusive ranges; a packet without TCP/UDP ports (port -1) never matches one. */
  sport?: PortRange;
  dport?: PortRange;
}
export interface AclRule4 extends AclRuleBase { src?: Prefix4; dst?: Prefix4; }
export interface AclRule6 extends AclRuleBase { src?: Prefix6; dst?: Prefix6; }

/** First matching rule's action, or -1. Addresses as uint32 or int32. */
export type Match4 = (from: number, src: number, dst: number, proto: number, sport: number, dport: number) => number;
/** As Match4 with each IPv6 address as four 32-bit words. */
export type Match6 = (
  from: number, s0: number, s1: number, s2: number, s3: number,
  d0: number, d1: number, d2: number, d3: number, proto: number, sport: number, dport: number,
) => number;

export interface AclOptions {
  /** false forces the typed-array interpreter (tests, strict sandboxes). */
  codegen?: boolean;
}

const ARGS4 = ["from", "src", "dst", "proto", "sport", "dport"];
const ARGS6 = ["from", "s0", "s1", "s2", "s3", "d0", "d1", "d2", "d3", "proto", "sport", "dport"];

/** A rule with every field checked and turned into int32 masks/values. */
interface Flat {
  action: number; from: number; proto: number;
  sLo: number; sHi: number; dLo: number; dHi: number;
  srcMask: number[]; srcAddr: number[]; dstMask: number[]; dstAddr: number[];
}

function int(v: unknown, lo: number, hi: number, what: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) {
    throw new Error(`acl ${what}: expected an integer ${lo}..${hi}, got ${String(v)}`);
  }
  return v;
}

function range(r: PortRange | undefined, what: string): [number, number] {
  if (r === undefined) return [-1, 65535];
  const lo = int(r[0], 0, 65535, what), hi = int(r[1], 0, 65535, what);
  if (lo > hi) throw new Error(`acl ${what}: range [${lo}, ${hi}] is empty`);
  return [lo, hi];
}

function flatten(r: AclRuleBase, i: number, words: number, src: (number[] | null)[], dst: (number[] | null)[]): Flat {
  const at = `rule ${i}`;
  const [sLo, sHi] = range(r.sport, `${at} sport`);
  const [dLo, dHi] = range(r.dport, `${at} dport`);
  const toInt = (a: number[] | null, k: number): number => (a === null ? 0 : a[k] | 0);
  const seq = Array.from({ length: words }, (_, k) => k);
  return {
    action: int(r.action, 0, 255, `${at} action`),
    from: r.from === undefined ? -1 : int(r.from, -1, 255, `${at} from`),
    proto: r.proto === undefined ? -1 : int(r.proto, -1, 255, `${at} proto`),
    sLo, sHi, dLo, dHi,
    srcMask: seq.map((k) => toInt(src[0], k)), srcAddr: seq.map((k) => toInt(src[1], k)),
    dstMask: seq.map((k) => toInt(dst[0], k)), dstAddr: seq.map((k) => toInt(dst[1], k)),
  };
}

function masks4(p: Prefix4 | undefined, what: string): (number[] | null)[] {
  if (p === undefined) return [null, null];
  const m = prefixMask(int(p.len, 0, 32, `${what} prefix length`));
  return [[m], [(int(p.addr, 0, 0xffffffff, `${what} address`) & m) >>> 0]];
}

function masks6(p: Prefix6 | undefined, what: string): (number[] | null)[] {
  if (p === undefined) return [null, null];
  const len = int(p.len, 0, 128, `${what} prefix length`);
  const m = [0, 1, 2, 3].map((k) => prefixMask6(len, k));
  return [m, m.map((mk, k) => (int(p.words[k], 0, 0xffffffff, `${what} address`) & mk) >>> 0)];
}

/** The source of one rule's test, cheapest and most selective checks first. */
function condition(f: Flat, srcVars: string[], dstVars: string[]): string {
  const c: string[] = [];
  if (f.proto >= 0) c.push(`proto === ${f.proto}`);
  if (f.dLo >= 0) c.push(f.dLo === f.dHi ? `dport === ${f.dLo}` : `dport >= ${f.dLo} && dport <= ${f.dHi}`);
  if (f.sLo >= 0) c.push(f.sLo === f.sHi ? `sport === ${f.sLo}` : `sport >= ${f.sLo} && sport <= ${f.sHi}`);
  if (f.from >= 0) c.push(`from === ${f.from}`);
  srcVars.forEach((v, k) => { if (f.srcMask[k] !== 0) c.push(`(${v} & ${f.srcMask[k]}) === ${f.srcAddr[k]}`); });
  dstVars.forEach((v, k) => { if (f.dstMask[k] !== 0) c.push(`(${v} & ${f.dstMask[k]}) === ${f.dstAddr[k]}`); });
  return c.join(" && ");
}

/** The generated function's body. */
function aclSource(flat: readonly Flat[], v6: boolean): string {
  const srcVars = v6 ? ["s0", "s1", "s2", "s3"] : ["src"];
  const dstVars = v6 ? ["d0", "d1", "d2", "d3"] : ["dst"];
  const lines = ['"use strict";'];
  for (const f of flat) {
    const cond = condition(f, srcVars, dstVars);
    if (cond === "") { lines.push(`return ${f.action};`); return lines.join("\n"); } // the rest is unreachable
    lines.push(`if (${cond}) return ${f.action};`);
  }
  lines.push("return -1;");
  return lines.join("\n");
}

function generate<T>(args: string[], body: string): T | null {
  try {
    return new Function(...args, body) as T;
  } catch {
    return null; // code generation from strings is disabled here
  }
}

/** Rules as parallel typed arrays, for when code generation is unavailable. */
class AclTable {
  readonly n: number;
  readonly action: Uint8Array; readonly from: Int16Array; readonly proto: Int16Array;
  readonly sLo: Int32Array; readonly sHi: Int32Array; readonly dLo: Int32Array; readonly dHi: Int32Array;
  readonly srcMask: Int32Array; readonly srcAddr: Int32Array; readonly dstMask: Int32Array; readonly dstAddr: Int32Array;

  constructor(flat: readonly Flat[], words: number) {
    const n = flat.length;
    this.n = n;
    this.action = Uint8Array.from(flat, (f) => f.action);
    this.from = Int16Array.from(flat, (f) => f.from);
    this.proto = Int16Array.from(flat, (f) => f.proto);
    this.sLo = Int32Array.from(flat, (f) => f.sLo); this.sHi = Int32Array.from(flat, (f) => f.sHi);
    this.dLo = Int32Array.from(flat, (f) => f.dLo); this.dHi = Int32Array.from(flat, (f) => f.dHi);
    this.srcMask = Int32Array.from(flat.flatMap((f) => f.srcMask));
    this.srcAddr = Int32Array.from(flat.flatMap((f) => f.srcAddr));
    this.dstMask = Int32Array.from(flat.flatMap((f) => f.dstMask));
    this.dstAddr = Int32Array.from(flat.flatMap((f) => f.dstAddr));
    if (this.srcMask.length !== n * words) throw new Error("acl: internal word count mismatch");
  }

  /** Ports, protocol and port-of-arrival; the address words are checked by the caller. */
  head(r: number, from: number, proto: number, sport: number, dport: number): boolean {
    const f = this.from[r], p = this.proto[r];
    return dport >= this.dLo[r] && dport <= this.dHi[r] && sport >= this.sLo[r] && sport <= this.sHi[r]
      && (p < 0 || p === proto) && (f < 0 || f === from);
  }

  word(r: number, v: number, x: number): boolean {
    return ((v & this.srcMask[r]) ^ this.srcAddr[r]) === 0 && ((x & this.dstMask[r]) ^ this.dstAddr[r]) === 0;
  }
}

function interpret4(t: AclTable): Match4 {
  return (from, src, dst, proto, sport, dport) => {
    for (let r = 0; r < t.n; r++) {
      if (t.head(r, from, proto, sport, dport) && t.word(r, src, dst)) return t.action[r];
    }
    return -1;
  };
}

function interpret6(t: AclTable): Match6 {
  return (from, s0, s1, s2, s3, d0, d1, d2, d3, proto, sport, dport) => {
    for (let r = 0; r < t.n; r++) {
      const k = r << 2;
      if (t.head(r, from, proto, sport, dport) && t.word(k, s0, d0) && t.word(k + 1, s1, d1)
        && t.word(k + 2, s2, d2) && t.word(k + 3, s3, d3)) return t.action[r];
    }
    return -1;
  };
}

/** Compile IPv4 rules. Throws on out-of-range values. */
export function compileAcl4(rules: readonly AclRule4[], opts: AclOptions = {}): Match4 {
  const flat = rules.map((r, i) => flatten(r, i, 1, masks4(r.src, `rule ${i} src`), masks4(r.dst, `rule ${i} dst`)));
  const fn = opts.codegen === false ? null : generate<Match4>(ARGS4, aclSource(flat, false));
  return fn ?? interpret4(new AclTable(flat, 1));
}

/** Compile IPv6 rules. Throws on out-of-range values. */
export function compileAcl6(rules: readonly AclRule6[], opts: AclOptions = {}): Match6 {
  const flat = rules.map((r, i) => flatten(r, i, 4, masks6(r.src, `rule ${i} src`), masks6(r.dst, `rule ${i} dst`)));
  const fn = opts.codegen === false ? null : generate<Match6>(ARGS6, aclSource(flat, true));
  return fn ?? interpret6(new AclTable(flat, 4));
}
