// udp-blast: the UDP sender sample app as a VNF. Every core opens a socket
// to `to` (its local port chosen so replies would land on that core) and
// sends `size`-byte datagrams (default 1448, DATA_LEN of those sample apps) as fast
// as the port takes them, or `rate` datagrams per second per core, stopping
// after `count` per core when given. After `warmup` seconds each core says
// its application-level Gbit/s once a `report` seconds; blast_datagrams /
// blast_bytes in the summary are the totals from the end of the warm-up.
//
//   sudo vnfrun vnfs/udp-blast.ts --port xdp:eth1 --ip 10.0.0.1/24 --cores 2 \
//        --config '{"to":"10.0.0.2:9000","size":1448}'
import { Udp, defineVnf, onesSum } from "../sdk";

interface Config { to?: string; size?: number; rate?: number; count?: number; warmup?: number; report?: number }
const KEYS = ["to", "size", "rate", "count", "warmup", "report"];

export default defineVnf({
  ports: ["net"],
  originates: true,
  init(ctx) {
    const c = (ctx.config ?? {}) as Config;
    for (const k of Object.keys(c)) if (!KEYS.includes(k)) throw new Error(`udp-blast config: unknown key "${k}" (known: ${KEYS.join(", ")})`);
    const m = /^(?:\[([0-9a-fA-F:]+)\]|([0-9.]+)):(\d+)$/.exec(c.to ?? "");
    if (!m) throw new Error(`udp-blast config: "to" must be IP:PORT (10.0.0.2:9000, or [2001:db8::2]:9000), got ${JSON.stringify(c.to)}`);
    const size = c.size ?? 1448;
    if (!(Number.isInteger(size) && size >= 0 && size <= 1472)) throw new Error(`udp-blast config: size ${c.size} must be 0-1472 bytes (one 1500-byte frame)`);
    if (c.rate !== undefined && !(c.rate > 0)) throw new Error(`udp-blast config: rate ${c.rate} must be a positive number of datagrams per second per core`);
    if (c.count !== undefined && !(Number.isInteger(c.count) && c.count >= 0)) throw new Error(`udp-blast config: count ${c.count} must be a whole number`);
    const udp = new Udp(ctx);
    const sock = udp.connect(m[1] ?? m[2], Number(m[3]));
    const payload = new Uint8Array(size);
    for (let i = 0; i < size; i++) payload[i] = (i + ctx.core) & 255;
    return {
      sock, payload, sum: onesSum(payload, 0, size, 0), core: ctx.core, log: ctx.log,
      rate: c.rate ?? 0, left: c.count ?? Infinity,
      warmupMs: (c.warmup ?? 0) * 1000, reportMs: (c.report ?? 1) * 1000,
      start: -1, from: -1, next: 0, sent: 0,
      n: ctx.counters(["blast_datagrams", "blast_bytes"]),
      datagrams: 0, bytes: 0,
    };
  },
  process(batch, st) {
    const now = batch.now;
    if (st.start < 0) st.start = now;
    let budget = st.left;
    if (st.rate > 0) budget = Math.min(budget, Math.floor(((now - st.start) * st.rate) / 1000) - st.sent);
    let sent = 0;
    const size = st.payload.length;
    while (sent < budget && st.sock.send(batch, st.payload, 0, size, st.sum)) sent++;
    st.sent += sent;
    st.left -= sent;
    if (now - st.start < st.warmupMs) return;
    if (st.from < 0) { st.from = now; st.next = now + st.reportMs; }
    st.datagrams += sent;
    st.bytes += sent * size;
    st.n[0] += sent;
    st.n[1] += sent * size;
    if (now >= st.next && st.datagrams > 0) {
      st.next = now + st.reportMs;
      const secs = (now - st.from) / 1000;
      st.log(`udp-blast core ${st.core}: ${((st.bytes * 8) / secs / 1e9).toFixed(3)} Gbit/s, ${(st.datagrams / secs / 1e6).toFixed(3)} M datagrams/s over ${secs.toFixed(1)} s`);
    }
  },
});
