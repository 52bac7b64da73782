// udp-sink: the UDP receiver sample app as a VNF. Every core binds `port` on
// the port's address (--ip) and counts what arrives: datagrams and payload
// bytes (application level: no headers). After `warmup` seconds each core
// says its application-level Gbit/s once a `report` seconds; the totals
// over all cores are the counters sink_datagrams / sink_bytes in the
// summary (counted from the end of the warm-up).
//
//   sudo vnfrun vnfs/udp-sink.ts --port xdp:eth1 --ip 10.0.0.2/24 --cores 2 \
//        --config '{"port":9000,"warmup":1}'
import { Udp, defineVnf } from "../sdk";

interface Config { port?: number; warmup?: number; report?: number }

export default defineVnf({
  ports: ["net"],
  init(ctx) {
    const c = (ctx.config ?? {}) as Config;
    for (const k of Object.keys(c)) if (!["port", "warmup", "report"].includes(k)) throw new Error(`udp-sink config: unknown key "${k}" (known: port, warmup, report)`);
    const port = c.port ?? 9000;
    if (!(Number.isInteger(port) && port >= 1 && port <= 65535)) throw new Error(`udp-sink config: port ${JSON.stringify(c.port)} is not a UDP port (1-65535)`);
    const udp = new Udp(ctx);
    return {
      udp, sock: udp.bind(port), core: ctx.core, log: ctx.log,
      warmupMs: (c.warmup ?? 0) * 1000, reportMs: (c.report ?? 1) * 1000,
      start: -1, from: -1, next: 0,
      n: ctx.counters(["sink_datagrams", "sink_bytes"]),
      datagrams: 0, bytes: 0,
    };
  },
  process(batch, st) {
    st.udp.receive(batch);
    const s = st.sock, now = batch.now;
    if (st.start < 0) st.start = now;
    if (now - st.start < st.warmupMs) return;
    if (st.from < 0) { st.from = now; st.next = now + st.reportMs; }
    let bytes = 0;
    for (let k = 0; k < s.count; k++) bytes += s.length[k];
    st.datagrams += s.count;
    st.bytes += bytes;
    st.n[0] += s.count;
    st.n[1] += bytes;
    if (now >= st.next && st.datagrams > 0) {
      st.next = now + st.reportMs;
      const secs = (now - st.from) / 1000;
      st.log(`udp-sink core ${st.core}: ${((st.bytes * 8) / secs / 1e9).toFixed(3)} Gbit/s, ${(st.datagrams / secs / 1e6).toFixed(3)} M datagrams/s over ${secs.toFixed(1)} s`);
    }
  },
});
