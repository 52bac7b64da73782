// Rate meters, as DPDK's rte_meter has them: a token bucket, and the
// single-rate (srTCM, RFC 2697) and two-rate (trTCM, RFC 2698) three-colour
// markers. The parameters live in the meter object; the state (bucket
// levels and the time of the last update) lives in a Float64Array slice the
// caller owns, so one meter serves any number of flows (a per-source state
// in a FlowTable's `numbers`, say) with no allocation per packet. Rates are
// bytes (or packets) a second, bursts bytes (or packets), time in ms.

export const GREEN = 0, YELLOW = 1, RED = 2;
export type Color = 0 | 1 | 2;

function check(what: string, v: number, zeroOk = false): number {
  if (!Number.isFinite(v) || v < 0 || (!zeroOk && v === 0)) throw new RangeError(`${what} must be a number above 0, got ${v}`);
  return v;
}

/** A token bucket: `rate` tokens a second, at most `burst` saved. State: [tokens, last ms] (2 words). */
export class TokenBucket {
  static readonly STATE = 2;
  readonly rate: number;
  readonly burst: number;
  /** State for a bucket used alone (`take(n, now)` without a state array). */
  readonly own = new Float64Array(TokenBucket.STATE);
  constructor(rate: number, burst: number) {
    this.rate = check("TokenBucket rate", rate);
    this.burst = check("TokenBucket burst", burst);
    this.reset(this.own, 0, NaN);
  }
  /** A full bucket at `s[at]`. */
  reset(s: Float64Array, at: number, now: number): void { s[at] = this.burst; s[at + 1] = now; }
  /** Takes n tokens if there are; whether it did. */
  take(n: number, now: number, s: Float64Array = this.own, at = 0): boolean {
    const last = s[at + 1];
    let t = s[at];
    if (now > last) t = Math.min(this.burst, t + ((now - last) * this.rate) / 1000);
    else if (last !== last) t = this.burst;   // never used: full
    s[at + 1] = now;
    if (t >= n) { s[at] = t - n; return true; }
    s[at] = t;
    return false;
  }
}

/**
 * srTCM (RFC 2697): committed rate CIR, committed burst CBS, excess burst
 * EBS. Tokens arrive at CIR, fill C up to CBS, then E up to EBS. A packet
 * of B bytes is green if C holds B (taken from C), else yellow if E does
 * (taken from E), else red. Colour-aware: a yellow packet never turns
 * green, a red one stays red. State: [Tc, Te, last ms] (3 words).
 */
export class SrTcm {
  static readonly STATE = 3;
  readonly own = new Float64Array(SrTcm.STATE);
  constructor(readonly cir: number, readonly cbs: number, readonly ebs: number) {
    check("srTCM CIR", cir); check("srTCM CBS", cbs); check("srTCM EBS", ebs, true);
    if (cbs === 0 && ebs === 0) throw new RangeError("srTCM: CBS and EBS cannot both be 0");
    this.reset(this.own, 0, NaN);
  }
  reset(s: Float64Array, at: number, now: number): void { s[at] = this.cbs; s[at + 1] = this.ebs; s[at + 2] = now; }
  color(bytes: number, now: number, s: Float64Array = this.own, at = 0, pre: Color = GREEN): Color {
    const last = s[at + 2];
    let tc = s[at], te = s[at + 1];
    if (last !== last) { tc = this.cbs; te = this.ebs; }
    else if (now > last) {
      const add = ((now - last) * this.cir) / 1000;
      const room = this.cbs - tc;
      if (add <= room) tc += add;
      else { tc = this.cbs; te = Math.min(this.ebs, te + add - room); }
    }
    s[at + 2] = now;
    let c: Color;
    if (pre === GREEN && tc >= bytes) { tc -= bytes; c = GREEN; }
    else if (pre !== RED && te >= bytes) { te -= bytes; c = YELLOW; }
    else c = RED;
    s[at] = tc; s[at + 1] = te;
    return c;
  }
}

/**
 * trTCM (RFC 2698): peak rate PIR with burst PBS, committed rate CIR with
 * burst CBS (PIR >= CIR). A packet of B bytes is red if P lacks B, else
 * yellow if C lacks B (taken from P), else green (taken from both).
 * Colour-aware: a yellow packet is never green, a red one stays red.
 * State: [Tp, Tc, last ms] (3 words).
 */
export class TrTcm {
  static readonly STATE = 3;
  readonly own = new Float64Array(TrTcm.STATE);
  constructor(readonly cir: number, readonly cbs: number, readonly pir: number, readonly pbs: number) {
    check("trTCM CIR", cir); check("trTCM CBS", cbs); check("trTCM PIR", pir); check("trTCM PBS", pbs);
    if (pir < cir) throw new RangeError(`trTCM: PIR (${pir}) must be at least CIR (${cir})`);
    this.reset(this.own, 0, NaN);
  }
  reset(s: Float64Array, at: number, now: number): void { s[at] = this.pbs; s[at + 1] = this.cbs; s[at + 2] = now; }
  color(bytes: number, now: number, s: Float64Array = this.own, at = 0, pre: Color = GREEN): Color {
    const last = s[at + 2];
    let tp = s[at], tc = s[at + 1];
    if (last !== last) { tp = this.pbs; tc = this.cbs; }
    else if (now > last) {
      const dt = now - last;
      tp = Math.min(this.pbs, tp + (dt * this.pir) / 1000);
      tc = Math.min(this.cbs, tc + (dt * this.cir) / 1000);
    }
    s[at + 2] = now;
    let c: Color;
    if (pre === RED || tp < bytes) c = RED;
    else if (pre === YELLOW || tc < bytes) { tp -= bytes; c = YELLOW; }
    else { tp -= bytes; tc -= bytes; c = GREEN; }
    s[at] = tp; s[at + 1] = tc;
    return c;
  }
}
