// lb: an L4 load balancer in NAT mode. Clients ("in") reach virtual IPs
// (a VIP: address, optional port and protocol); each new flow to a VIP gets
// a backend by Maglev (sdk/maglev.ts, weights), and the flow's connection
// entry keeps that backend for its life, whatever happens to the set. The
// destination becomes the backend's address and port on the way in, and
// the source becomes the VIP's again on the way back ("out"), so backends
// run unmodified (their replies must come back through the LB: route the
// clients' networks via it). Traffic that is not for a VIP, or not a reply
// of a tracked flow, passes unchanged.
//
// The backend set is the config: edit it and `vnfrun reload NAME` (or run
// with --watch): a backend added takes new flows at once; `"state":
// "draining"` takes no new flows but keeps its connections; one removed
// from the list takes no new flows either, and its open connections go on
// to it until they end; a closed connection's ports reused by a new one
// (a SYN after its FIN or RST) are balanced again. Connection tables live in ctx.memory, so a reload
// keeps every connection. Per backend: flows and bytes (counters named by
// address and port).
import { ConfigReader, defineVnf, FlowTable, FT_EVICTED, FT_REFUSED, hash4, ip4str, Maglev } from "../sdk";
import type { Batch, Ctx, Packet } from "../sdk";

const TCP = 0, TCP_CLOSING = 1, UDP = 2;
const TIMEOUTS = ["tcp", "tcpClosing", "udp"] as const;
const DEFAULT_TIMEOUTS = [900, 10, 60];
const PASSED = 0, NEW = 1, NO_BACKEND = 2, FULL = 3, EVICTED = 4, REPLIES = 5, BALANCED = 6;
const CAUSES = ["passed", "newFlows", "noBackend", "tableFull", "evicted", "replies", "balanced"];

interface Backend { address: number; port: number; weight: number; draining: boolean; name: string }
interface Vip { address: number; port: number; proto: number; backends: Backend[]; maglev: Maglev }

export interface LbConfig { vips: Vip[]; capacity: number; timeoutsMs: number[]; whenFull: "refuse" | "evict"; tableSize: number }

export function readLbConfig(config: unknown): LbConfig {
  const c = new ConfigReader(config ?? {}, "lb");
  const tableSize = c.integer("tableSize", { min: 3, max: 16_777_259, default: 65537 });
  const vips = c.list("vips", (v) => {
    const address = v.addr4("address");
    const port = v.has("port") ? v.port("port") : -1;
    const p = v.oneOf("proto", ["tcp", "udp", "any"], "any");
    const proto = p === "tcp" ? 6 : p === "udp" ? 17 : -1;
    const seen = new Set<string>();
    const backends = v.list("backends", (b) => {
      const a = b.addr4("address");
      const bp = b.has("port") ? b.port("port") : -1;
      const name = `${ip4str(a)}:${bp < 0 ? "*" : bp}`;
      if (seen.has(name)) b.fail(`${name} is listed twice`, "address");
      seen.add(name);
      return { address: a, port: bp, weight: b.number("weight", { min: 0, max: 1000, default: 1 }), draining: b.oneOf("state", ["active", "draining"], "active") === "draining", name };
    }, { min: 1 });
    let maglev: Maglev;
    try {
      maglev = new Maglev(backends.map((b) => ({ name: b.name, weight: b.draining ? 0 : b.weight })), tableSize);
    } catch (e) {
      return c.fail((e as Error).message.replace(/^Maglev: /, ""), "tableSize");
    }
    return { address, port, proto, backends, maglev };
  }, { min: 1 });
  const t = c.obj("timeouts");
  const cfg: LbConfig = {
    vips,
    tableSize,
    capacity: c.integer("capacity", { min: 16, max: 1 << 26, default: 262_144 }),
    timeoutsMs: TIMEOUTS.map((n, i) => 1000 * t.number(n, { min: 1, max: 500_000, default: DEFAULT_TIMEOUTS[i] })),
    whenFull: c.oneOf("whenFull", ["refuse", "evict"], "evict"),
  };
  c.done();
  return cfg;
}

export interface LbState {
  cfg: LbConfig;
  /** client (src, vip, sport, vport, proto) -> [backend addr, backend port, tag << 16 | counter index]. */
  fwd: FlowTable;
  /** backend (baddr, client, bport, cport, proto) -> [vip addr, vip port]. */
  rev: FlowTable;
  vipAddr: Int32Array; vipPort: Int32Array; vipProto: Int32Array;
  /** Per backend of every VIP, in order: its counter index; the counters: flows then bytes. */
  flows: Float64Array;
  bytes: Float64Array;
  byName: Map<string, number>;
  tag: number;
  in: number; out: number;
  n: Float64Array;
}

const counterName = (b: Backend, what: string): string => `be_${ip4str(b.address).replace(/\./g, "_")}_${b.port < 0 ? "any" : b.port}_${what}`;

function newState(ctx: Ctx): LbState {
  const cfg = readLbConfig(ctx.config);
  const all: Backend[] = [];
  const byName = new Map<string, number>();
  for (const v of cfg.vips) for (const b of v.backends) if (!byName.has(b.name)) { byName.set(b.name, all.length); all.push(b); }
  const o = { capacity: cfg.capacity, timeouts: cfg.timeoutsMs, whenFull: cfg.whenFull, valueWords: 3 };
  return {
    cfg,
    fwd: FlowTable.shared(ctx, "lb-conns", o),
    rev: FlowTable.shared(ctx, "lb-replies", { ...o, valueWords: 2, timeouts: [Math.max(...cfg.timeoutsMs)] }),
    vipAddr: Int32Array.from(cfg.vips, (v) => v.address | 0),
    vipPort: Int32Array.from(cfg.vips, (v) => v.port),
    vipProto: Int32Array.from(cfg.vips, (v) => v.proto),
    flows: ctx.counters(all.map((b) => counterName(b, "flows"))),
    bytes: ctx.counters(all.map((b) => counterName(b, "bytes"))),
    byName,
    // Entries made by another version carry another tag: their counter index is looked up again.
    tag: (Date.now() ^ (Math.random() * 0xffff)) & 0x7fff,
    in: ctx.port("in"), out: ctx.port("out"),
    n: ctx.counters(CAUSES),
  };
}

function vipOf(st: LbState, dst: number, dport: number, proto: number): number {
  const a = st.vipAddr;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === dst && (st.vipPort[i] < 0 || st.vipPort[i] === dport) && (st.vipProto[i] < 0 || st.vipProto[i] === proto)) return i;
  }
  return -1;
}

const classOf = (proto: number, flags: number): number => (proto === 17 ? UDP : flags & 5 ? TCP_CLOSING : TCP);

/** A client's packet to a VIP: the backend's port index to send on, or -cause. */
function toBackend(st: LbState, pkt: Packet, v: number, src: number, dst: number, sp: number, dp: number, proto: number): number {
  const fwd = st.fwd, vals = fwd.values;
  const flags = proto === 6 ? pkt.tcp!.flags : 0;
  let slot = fwd.find4(src, dst, sp, dp, proto);
  // A SYN on a connection that has closed is a new connection on the same
  // ports (clients reuse them within seconds): it gets a backend afresh, as
  // IPVS's conn_reuse_mode does, so it never lands on a drained one.
  if (slot >= 0 && (flags & 0x12) === 0x02 && fwd.classOf(slot) === TCP_CLOSING) { fwd.remove(slot); slot = -1; }
  if (slot < 0) {
    const vip = st.cfg.vips[v];
    const b = vip.maglev.lookup(hash4(src, dst, (sp << 16) | dp, proto));
    if (b < 0) return -NO_BACKEND;
    const be = vip.backends[b];
    slot = fwd.add4(src, dst, sp, dp, proto, classOf(proto, flags));
    if (slot < 0) return -FULL;
    const bport = be.port < 0 ? dp : be.port;
    const idx = st.byName.get(be.name)!;
    const at = fwd.at(slot);
    vals[at] = be.address; vals[at + 1] = bport; vals[at + 2] = (st.tag << 16) | idx;
    const r = st.rev.add4(be.address, src, bport, sp, proto, 0);
    if (r >= 0) { st.rev.values[st.rev.at(r)] = dst; st.rev.values[st.rev.at(r) + 1] = dp; }
    st.flows[idx]++;
    st.n[NEW]++;
  } else fwd.touch(slot, classOf(proto, flags));
  const at = fwd.at(slot);
  let w = vals[at + 2];
  if (w >>> 16 !== st.tag) {   // made by another version: find its counters again (or none: removed)
    const addr = ip4str(vals[at]);
    const idx = st.byName.get(`${addr}:${vals[at + 1]}`) ?? st.byName.get(`${addr}:*`);
    w = vals[at + 2] = (st.tag << 16) | (idx ?? 0xffff);
  }
  const idx = w & 0xffff;
  if (idx !== 0xffff) st.bytes[idx] += pkt.length;
  const ip = pkt.ipv4!;
  ip.rewriteDst(vals[at] | 0);   // int32: a uint32 above 2^31 would be boxed in a call
  const bport = vals[at + 1];
  if (bport !== dp) { if (proto === 6) pkt.tcp!.rewriteDstPort(bport); else pkt.udp!.rewriteDstPort(bport); }
  return st.out;
}

export default defineVnf<LbState>({
  ports: ["in", "out"],
  init: (ctx) => newState(ctx),
  process(batch: Batch, st: LbState) {
    const now = Date.now();
    st.fwd.tick(now);
    st.rev.tick(now);
    const a = st.in, b = st.out, n = st.n;
    let passed = 0, balanced = 0, replies = 0;
    for (let i = 0; i < batch.count; i++) {
      const pkt = batch.packet(i);
      const from = pkt.inPort;
      const ip = pkt.ipv4;
      const sp = pkt.srcPort;
      if (ip === null || sp < 0) { pkt.verdict = (from === a ? b : a) + 1; passed++; continue; }
      const proto = pkt.l4Protocol, dp = pkt.dstPort, src = ip.src | 0, dst = ip.dst | 0;
      if (from === a) {
        const v = vipOf(st, dst, dp, proto);
        if (v < 0) { pkt.verdict = b + 1; passed++; continue; }
        const r = toBackend(st, pkt, v, src, dst, sp, dp, proto);
        if (r >= 0) { pkt.verdict = r + 1; balanced++; } else n[-r]++;
      } else {
        const r = st.rev.find4(src, dst, sp, dp, proto);
        if (r >= 0) {
          const vals = st.rev.values, ra = st.rev.at(r);
          st.rev.touch(r, 0);
          ip.rewriteSrc(vals[ra] | 0);
          const vport = vals[ra + 1];
          if (vport !== sp) { if (proto === 6) pkt.tcp!.rewriteSrcPort(vport); else pkt.udp!.rewriteSrcPort(vport); }
          replies++;
        } else passed++;
        pkt.verdict = a + 1;
      }
    }
    n[PASSED] += passed; n[BALANCED] += balanced; n[REPLIES] += replies;
    n[FULL] = st.fwd.stats[FT_REFUSED];
    n[EVICTED] = st.fwd.stats[FT_EVICTED];
  },
  // The connections are in ctx.memory (init re-attached them); the
  // backend set and the Maglev tables are this version's config.
  migrate: (_prev, _ctx, fresh) => fresh,
});
