// tcp-blast: the TCP sender sample app (mTCP's epoll client) as a VNF. Every core opens
// `connections` (default 1) connections to `to`, each from a local port
// whose replies land on that core, and writes `size`-byte messages
// (default 1448, DATA_LEN of those sample apps) as fast as the window allows; with
// `bytes`, each connection sends that many and closes. The stream is the
// pattern byte(p) = p % 251, so a receiver can check every byte. After
// `warmup` seconds each core says its application-level Gbit/s once a
// `report` seconds; blast_bytes in the summary is the total written.
//
//   sudo vnfrun vnfs/tcp-blast.ts --port packet:eth1 --ip 10.0.0.1/24 --cores 2 \
//        --config '{"to":"10.0.0.2:5001","connections":8}'
import { Tcp, defineVnf, type TcpConn } from "../sdk";

interface Config { to?: string; size?: number; connections?: number; bytes?: number; warmup?: number; report?: number }
const KEYS = ["to", "size", "connections", "bytes", "warmup", "report"];

export default defineVnf({
  ports: ["net"],
  originates: true,
  init(ctx) {
    const c = (ctx.config ?? {}) as Config;
    for (const k of Object.keys(c)) if (!KEYS.includes(k)) throw new Error(`tcp-blast config: unknown key "${k}" (known: ${KEYS.join(", ")})`);
    const m = /^(?:\[([0-9a-fA-F:]+)\]|([0-9.]+)):(\d+)$/.exec(c.to ?? "");
    if (!m) throw new Error(`tcp-blast config: "to" must be IP:PORT (10.0.0.2:5001, or [2001:db8::2]:5001), got ${JSON.stringify(c.to)}`);
    const size = c.size ?? 1448;
    if (!(Number.isInteger(size) && size >= 1 && size <= 1 << 20)) throw new Error(`tcp-blast config: size ${c.size} must be 1 to 1048576 bytes`);
    const conns = c.connections ?? 1;
    if (!(Number.isInteger(conns) && conns >= 1 && conns <= 10000)) throw new Error(`tcp-blast config: connections ${c.connections} must be 1-10000 per core`);
    if (c.bytes !== undefined && !(Number.isInteger(c.bytes) && c.bytes >= 0)) throw new Error(`tcp-blast config: bytes ${c.bytes} must be a whole number`);
    const pattern = new Uint8Array(251 + size);
    for (let i = 0; i < pattern.length; i++) pattern[i] = i % 251;
    const tcp = new Tcp(ctx);
    const st = {
      tcp, core: ctx.core, log: ctx.log, warmupMs: (c.warmup ?? 0) * 1000, reportMs: (c.report ?? 1) * 1000,
      start: -1, from: -1, next: 0, bytes: 0, opened: false, live: [] as TcpConn[],
      n: ctx.counters(["blast_connections", "blast_bytes", "blast_resets", "blast_closed"]),
      open: () => {
        for (let i = 0; i < conns; i++) {
          const conn = tcp.stack.connect(m[1] ?? m[2], Number(m[3]), handlers);
          if (conn === null) { ctx.log(`tcp-blast core ${ctx.core}: no connection (memory budget or no free local port)`); break; }
          conn.user = 0; // bytes written on this connection
        }
      },
    };
    const pump = (conn: TcpConn): void => {
      let sent = conn.user as number;
      for (;;) {
        let want = size;
        if (c.bytes !== undefined) { want = Math.min(size, c.bytes - sent); if (want <= 0) { conn.close(); break; } }
        const k = conn.write(pattern, sent % 251, want);
        sent += k; st.n[1] += k; if (st.from >= 0) st.bytes += k;
        if (k < want) break;
      }
      conn.user = sent;
    };
    const handlers = {
      connected: (conn: TcpConn) => { st.n[0]++; st.live.push(conn); pump(conn); },
      writable: pump,
      end: (conn: TcpConn) => conn.close(),
      closed: (conn: TcpConn) => { st.n[3]++; st.live.splice(st.live.indexOf(conn), 1); },
      reset: (conn: TcpConn) => { st.n[2]++; const i = st.live.indexOf(conn); if (i >= 0) st.live.splice(i, 1); },
    };
    return st;
  },
  process(batch, st) {
    st.tcp.receive(batch);
    if (!st.opened) { st.opened = true; st.open(); }
    st.tcp.send();
    const now = batch.now;
    if (st.start < 0) st.start = now;
    if (now - st.start < st.warmupMs) return;
    if (st.from < 0) { st.from = now; st.next = now + st.reportMs; }
    if (now >= st.next && st.bytes > 0) {
      st.next = now + st.reportMs;
      const secs = (now - st.from) / 1000;
      st.log(`tcp-blast core ${st.core}: ${((st.bytes * 8) / secs / 1e9).toFixed(3)} Gbit/s over ${secs.toFixed(1)} s`);
    }
  },
});
