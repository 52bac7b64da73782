// ratelimit: per-source rate limits for traffic from "in", by prefix.
// Each rule names an IPv4 prefix (the longest matching one applies: sdk/lpm
// Lpm4) and a meter, kept per source address in a FlowTable (so every host
// of a /16 gets its own bucket):
//   "bucket": a token bucket (rate, burst): over it, dropped;
//   "srtcm":  RFC 2697 (rate = CIR, burst = CBS, excess = EBS);
//   "trtcm":  RFC 2698 (rate = CIR, burst = CBS, peak = PIR, peakBurst = PBS);
// with action "mark" (DSCP AF11 green, AF12 yellow, AF13 red, the IPv4
// checksum kept right) or "drop" (red dropped, the rest passes unmarked).
// `unit`: "bytes" (default; rates in bytes a second) or "packets".
// Traffic from "out", unmatched sources and IPv6 pass unchanged.
import { ConfigReader, defineVnf, FlowTable, Lpm4, RED, SrTcm, TokenBucket, TrTcm, updateChecksum16 } from "../sdk";
import type { Batch, Ctx } from "../sdk";

const PASSED = 0, GREENS = 1, YELLOWS = 2, REDS = 3, DROPPED = 4, UNTRACKED = 5;
const CAUSES = ["passed", "green", "yellow", "red", "dropped", "untracked"];
const DSCP = [10, 12, 14];   // AF11, AF12, AF13

interface Rule { kind: 0 | 1 | 2; meter: TokenBucket | SrTcm | TrTcm; mark: boolean; packets: boolean }

export function readRules(config: unknown): { lpm: Lpm4; rules: Rule[]; capacity: number } {
  const c = new ConfigReader(config ?? {}, "ratelimit");
  const routes: { prefix: ReturnType<ConfigReader["prefix4"]>; value: number }[] = [];
  const rules = c.list("rules", (r, i) => {
    routes.push({ prefix: r.prefix4("prefix"), value: i });
    const kind = (["bucket", "srtcm", "trtcm"] as const).indexOf(r.oneOf("meter", ["bucket", "srtcm", "trtcm"], "bucket")) as 0 | 1 | 2;
    const rate = r.number("rate", { min: 1 }), burst = r.number("burst", { min: 1 });
    const meter = kind === 0 ? new TokenBucket(rate, burst)
      : kind === 1 ? new SrTcm(rate, burst, r.number("excess", { min: 0, default: 0 }))
      : (() => {
        const pir = r.number("peak", { min: rate });
        return new TrTcm(rate, burst, pir, r.number("peakBurst", { min: 1 }));
      })();
    const mark = r.oneOf("action", ["drop", "mark"], kind === 0 ? "drop" : "mark") === "mark";
    if (kind === 0 && mark) r.fail(`a token bucket has no colours to mark; use "drop", or meter "srtcm"/"trtcm"`, "action");
    return { kind, meter, mark, packets: r.oneOf("unit", ["bytes", "packets"], "bytes") === "packets" };
  }, { min: 1, max: 1 << 20 });
  const capacity = c.integer("capacity", { min: 16, max: 1 << 24, default: 65_536 });
  c.done();
  return { lpm: new Lpm4(routes), rules, capacity };
}

interface State { lpm: Lpm4; rules: Rule[]; t: FlowTable; in: number; out: number; n: Float64Array }

export default defineVnf<State>({
  ports: ["in", "out"],
  init(ctx: Ctx) {
    const { lpm, rules, capacity } = readRules(ctx.config);
    // Per source: the meter's state (3 words), idle sources forgotten after a minute (full again then).
    const t = FlowTable.shared(ctx, "ratelimit", { capacity, valueWords: 0, numberWords: 3, timeouts: [60_000], whenFull: "evict" });
    return { lpm, rules, t, in: ctx.port("in"), out: ctx.port("out"), n: ctx.counters(CAUSES) };
  },
  process(batch: Batch, st: State) {
    const now = Date.now(), t = st.t, n = st.n, a = st.in, b = st.out;
    t.tick(now);
    for (let i = 0; i < batch.count; i++) {
      const pkt = batch.packet(i);
      const from = pkt.inPort;
      const ip = pkt.ipv4;
      const r = from === a && ip !== null ? st.lpm.lookup(ip.src) : -1;
      if (r < 0) { pkt.verdict = (from === a ? b : a) + 1; n[PASSED]++; continue; }
      const rule = st.rules[r];
      const src = ip!.src | 0;
      let slot = t.find4(src, 0, 0, 0, r);
      if (slot < 0) {
        slot = t.add4(src, 0, 0, 0, r, 0);
        if (slot < 0) { pkt.verdict = b + 1; n[UNTRACKED]++; continue; }
        rule.meter.reset(t.numbers, slot * 3, now);
      } else t.touch(slot, 0);
      const amount = rule.packets ? 1 : pkt.length;
      if (rule.kind === 0) {
        if ((rule.meter as TokenBucket).take(amount, now, t.numbers, slot * 3)) { pkt.verdict = b + 1; n[GREENS]++; }
        else n[DROPPED]++;
        continue;
      }
      const color = (rule.meter as SrTcm | TrTcm).color(amount, now, t.numbers, slot * 3);
      n[GREENS + color]++;
      if (color === RED && !rule.mark) { n[DROPPED]++; continue; }
      if (rule.mark) {
        const h = ip!;
        const old = (pkt.bytes[h.o] << 8) | pkt.bytes[h.o + 1];
        h.dscp = DSCP[color];
        const now16 = (pkt.bytes[h.o] << 8) | pkt.bytes[h.o + 1];
        h.checksum = updateChecksum16(h.checksum, old, now16);
      }
      pkt.verdict = b + 1;
    }
  },
  migrate: (_prev, _ctx, fresh) => fresh,
});
