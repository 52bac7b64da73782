// tcp-sink: the TCP receiver sample app (mTCP's epoll server) as a VNF. Every core accepts on
// `port` (default 5001) on the port's addresses (--ip) and counts what
// arrives (application level: payload only). After `warmup` seconds each
// core says its application-level Gbit/s once a `report` seconds;
// sink_bytes / sink_connections in the summary are the totals.
//
//   sudo vnfrun vnfs/tcp-sink.ts --port packet:eth1 --ip 10.0.0.2/24 --cores 2
import { Tcp, defineVnf, type TcpConn } from "../sdk";

interface Config { port?: number; warmup?: number; report?: number }
const KEYS = ["port", "warmup", "report"];

export default defineVnf({
  ports: ["net"],
  originates: true,
  init(ctx) {
    const c = (ctx.config ?? {}) as Config;
    for (const k of Object.keys(c)) if (!KEYS.includes(k)) throw new Error(`tcp-sink config: unknown key "${k}" (known: ${KEYS.join(", ")})`);
    const port = c.port ?? 5001;
    if (!(Number.isInteger(port) && port >= 1 && port <= 65535)) throw new Error(`tcp-sink config: port ${JSON.stringify(c.port)} is not a TCP port (1-65535)`);
    const tcp = new Tcp(ctx);
    const st = {
      tcp, core: ctx.core, log: ctx.log, warmupMs: (c.warmup ?? 0) * 1000, reportMs: (c.report ?? 1) * 1000,
      start: -1, from: -1, next: 0, bytes: 0,
      n: ctx.counters(["sink_connections", "sink_bytes", "sink_resets"]),
    };
    tcp.stack.listen(port, {
      accepted: () => { st.n[0]++; },
      data: (_c: TcpConn, _b: Uint8Array, _o: number, len: number) => { st.n[1] += len; if (st.from >= 0) st.bytes += len; },
      end: (conn: TcpConn) => conn.close(),
      reset: () => { st.n[2]++; },
    }, 1024);
    return st;
  },
  process(batch, st) {
    st.tcp.receive(batch);
    st.tcp.send();
    const now = batch.now;
    if (st.start < 0) st.start = now;
    if (now - st.start < st.warmupMs) return;
    if (st.from < 0) { st.from = now; st.next = now + st.reportMs; }
    if (now >= st.next && st.bytes > 0) {
      st.next = now + st.reportMs;
      const secs = (now - st.from) / 1000;
      st.log(`tcp-sink core ${st.core}: ${((st.bytes * 8) / secs / 1e9).toFixed(3)} Gbit/s over ${secs.toFixed(1)} s`);
    }
  },
});
