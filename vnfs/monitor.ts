// monitor: passes everything between "in" and "out" and keeps a flow cache
// (IPv4 5-tuples: packets, bytes, first and last seen). A flow idle for
// `inactiveTimeout` s is exported and forgotten; one alive for
// `activeTimeout` s is exported and its counts start again. Exports are
// IPFIX (RFC 7011) messages over UDP, originated by the VNF out of
// `exportPort` to `collector` (from `exporter`, with the MACs given): a
// template set (id 256: addresses, ports, protocol, packetDeltaCount,
// octetDeltaCount, flowStart/EndMilliseconds) and data records, up to 25
// per message. The sweep looks at a few cache slots per batch. Counters:
// flows, exported, messages, and the bytes of the top talker so far.
import { ConfigReader, defineVnf, FlowTable, ipv4HeaderChecksum, mac } from "../sdk";
import type { Batch, Ctx } from "../sdk";

const FLOWS = 0, EXPORTED = 1, MESSAGES = 2, NO_BUFFER = 3, TOP_BYTES = 4;
const CAUSES = ["flows", "exported", "messages", "exportNoBuffer", "topTalkerBytes"];
const REC = 45, PER_MESSAGE = 25, HDR = 14 + 20 + 8;
// Template 256: (element id, length) pairs, RFC 7012 numbers.
const FIELDS = [[8, 4], [12, 4], [7, 2], [11, 2], [4, 1], [2, 8], [1, 8], [152, 8], [153, 8]];
const TEMPLATE = [0, 2, 0, 4 + 4 + FIELDS.length * 4, 1, 0, 0, FIELDS.length, ...FIELDS.flatMap(([id, len]) => [id >> 8, id & 255, len >> 8, len & 255])];

interface State {
  t: FlowTable; in: number; out: number; exportPort: number; n: Float64Array;
  src: number; dst: number; sport: number; dport: number; smac: number; dmac: number; domain: number;
  activeMs: number; inactiveMs: number; cursor: number; seq: number; lastFlush: number;
  /** Records waiting for the next message: 45 bytes each. */
  pending: Uint8Array; npending: number;
}

function hostPort(c: ConfigReader, f: string): [number, number] {
  const v = c.string(f);
  const m = /^([\d.]+):(\d+)$/.exec(v);
  if (!m || +m[2] > 65535) c.fail(`${JSON.stringify(v)} is not address:port; write it like "192.0.2.50:4739"`, f);
  return [new ConfigReader({ a: m![1] }, c.name, f).addr4("a"), +m![2]];
}

function newState(ctx: Ctx): State {
  const c = new ConfigReader(ctx.config ?? {}, "monitor");
  const [dst, dport] = hostPort(c, "collector");
  const src = c.addr4("exporter");
  const macOf = (f: string, d: string): number => { const v = c.string(f, d); try { return mac(v); } catch { return c.fail(`${JSON.stringify(v)} is not a MAC address like "02:00:00:00:00:01"`, f); } };
  const st: State = {
    t: FlowTable.shared(ctx, "monitor", {
      capacity: c.integer("capacity", { min: 16, max: 1 << 24, default: 65_536 }),
      valueWords: 0, numberWords: 4, timeouts: [2 ** 29], whenFull: "evict",   // the sweep below expires, by exporting
    }),
    in: ctx.port("in"), out: ctx.port("out"),
    exportPort: ctx.port(c.oneOf("exportPort", ["in", "out"], "out")),
    n: ctx.counters(CAUSES),
    src, dst, sport: c.port("exporterPort", 4739), dport,
    smac: macOf("exporterMac", "02:00:00:00:00:01"), dmac: macOf("collectorMac", "ff:ff:ff:ff:ff:ff"),
    domain: c.integer("domain", { min: 0, max: 2 ** 32 - 1, default: ctx.core }),
    activeMs: 1000 * c.number("activeTimeout", { min: 1, default: 60 }),
    inactiveMs: 1000 * c.number("inactiveTimeout", { min: 0.001, default: 15 }),
    cursor: 0, seq: 0, lastFlush: 0, pending: new Uint8Array(PER_MESSAGE * REC), npending: 0,
  };
  c.done();
  return st;
}

const put = (b: Uint8Array, o: number, v: number, n: number): void => {
  for (let k = n - 1; k >= 0; k--) { b[o + k] = v % 256; v = Math.floor(v / 256); }
};

/** Adds a flow's record; a full message goes out. */
function record(st: State, batch: Batch, slot: number, now: number): void {
  const t = st.t, nums = t.numbers, o = slot * 4, r = st.pending, p = st.npending * REC;
  put(r, p, t.keyWord(slot, 0) >>> 0, 4);
  put(r, p + 4, t.keyWord(slot, 1) >>> 0, 4);
  const ports = t.keyWord(slot, 2);
  put(r, p + 8, ports >>> 16, 2);
  put(r, p + 10, ports & 0xffff, 2);
  r[p + 12] = t.keyWord(slot, 3);
  put(r, p + 13, nums[o], 8);
  put(r, p + 21, nums[o + 1], 8);
  put(r, p + 29, nums[o + 2], 8);
  put(r, p + 37, nums[o + 3], 8);
  st.n[EXPORTED]++;
  if (++st.npending === PER_MESSAGE) flush(st, batch, now);
}

/** Sends the pending records as one IPFIX message. */
function flush(st: State, batch: Batch, now: number): void {
  if (st.npending === 0) return;
  const ipfix = 16 + TEMPLATE.length + 4 + st.npending * REC;
  const len = HDR + ipfix;
  const i = batch.originate(st.exportPort, len);
  if (i < 0) { st.n[NO_BUFFER]++; return; }   // kept; tried again at the next batch
  const b = batch.bytes, o = batch.offsets[i];
  put(b, o, st.dmac, 6); put(b, o + 6, st.smac, 6); put(b, o + 12, 0x0800, 2);
  const ip = o + 14;
  b.fill(0, ip, ip + 20);
  b[ip] = 0x45; put(b, ip + 2, 20 + 8 + ipfix, 2); b[ip + 6] = 0x40; b[ip + 8] = 64; b[ip + 9] = 17;
  put(b, ip + 12, st.src >>> 0, 4); put(b, ip + 16, st.dst >>> 0, 4);
  put(b, ip + 10, ipv4HeaderChecksum(b, ip), 2);
  const u = ip + 20;
  put(b, u, st.sport, 2); put(b, u + 2, st.dport, 2); put(b, u + 4, 8 + ipfix, 2); put(b, u + 6, 0, 2);   // no UDP checksum (IPv4 allows it)
  const m = u + 8;
  put(b, m, 10, 2); put(b, m + 2, ipfix, 2); put(b, m + 4, Math.floor(now / 1000), 4); put(b, m + 8, st.seq >>> 0, 4); put(b, m + 12, st.domain, 4);
  b.set(TEMPLATE, m + 16);
  const d = m + 16 + TEMPLATE.length;
  put(b, d, 256, 2); put(b, d + 2, 4 + st.npending * REC, 2);
  b.set(st.pending.subarray(0, st.npending * REC), d + 4);
  st.seq += st.npending;   // RFC 7011: the sequence counts data records
  st.npending = 0;
  st.lastFlush = now;
  st.n[MESSAGES]++;
}

/** Looks at a few slots: exports (and forgets) idle flows, exports (and restarts) long ones. */
function sweep(st: State, batch: Batch, now: number, budget: number): void {
  const t = st.t, nums = t.numbers;
  for (let k = 0; k < budget; k++) {
    const s = st.cursor;
    if (t.live(s)) {
      const o = s * 4;
      if (now - nums[o + 3] >= st.inactiveMs) { record(st, batch, s, now); t.remove(s); continue; }   // a later entry may move here
      if (now - nums[o + 2] >= st.activeMs) { record(st, batch, s, now); nums[o] = 0; nums[o + 1] = 0; nums[o + 2] = now; }
    }
    st.cursor = s + 1 === t.slots ? 0 : s + 1;
  }
}

export default defineVnf<State>({
  ports: ["in", "out"],
  init: (ctx) => newState(ctx),
  process(batch: Batch, st: State) {
    const now = Date.now(), t = st.t, nums = t.numbers, a = st.in, b = st.out;
    t.tick(now, 0);
    for (let i = 0; i < batch.count; i++) {
      const pkt = batch.packet(i);
      pkt.verdict = (pkt.inPort === a ? b : a) + 1;
      const ip = pkt.ipv4;
      if (ip === null) continue;
      const sp = pkt.srcPort, dp = pkt.dstPort;
      const slot = t.add4(ip.src | 0, ip.dst | 0, sp < 0 ? 0 : sp, dp < 0 ? 0 : dp, pkt.l4Protocol, 0);
      if (slot < 0) continue;
      const o = slot * 4;
      if (t.isNew) { nums[o + 2] = now; st.n[FLOWS]++; }
      nums[o]++;
      nums[o + 1] += pkt.length;
      nums[o + 3] = now;
      if (nums[o + 1] > st.n[TOP_BYTES]) st.n[TOP_BYTES] = nums[o + 1];
    }
    sweep(st, batch, now, 64);
    if (st.npending > 0 && now - st.lastFlush >= 1000) flush(st, batch, now);   // a part message at least once a second
  },
  migrate: (_prev, _ctx, fresh) => fresh,
});
