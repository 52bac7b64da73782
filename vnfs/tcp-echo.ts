// tcp-echo: request/response over sdk/tcp. Every core listens on `port`
// (default 7) on the port's addresses (--ip) and writes back what it
// reads; when the send buffer is full it takes less, so the window closes
// on the sender instead of data being dropped. Closes when the peer does.
//
//   sudo vnfrun vnfs/tcp-echo.ts --port packet:eth1 --ip 10.0.0.2/24 --cores 2
import { Tcp, defineVnf, type TcpConn } from "../sdk";

interface Config { port?: number }

export default defineVnf({
  ports: ["net"],
  originates: true,
  init(ctx) {
    const c = (ctx.config ?? {}) as Config;
    for (const k of Object.keys(c)) if (k !== "port") throw new Error(`tcp-echo config: unknown key "${k}" (known: port)`);
    const port = c.port ?? 7;
    if (!(Number.isInteger(port) && port >= 1 && port <= 65535)) throw new Error(`tcp-echo config: port ${JSON.stringify(c.port)} is not a TCP port (1-65535)`);
    const tcp = new Tcp(ctx);
    const n = ctx.counters(["echo_connections", "echo_bytes"]);
    tcp.stack.listen(port, {
      accepted: () => { n[0]++; },
      data: (conn: TcpConn, b: Uint8Array, off: number, len: number) => { const k = conn.write(b, off, len); n[1] += k; return k; },
      writable: (conn: TcpConn) => conn.pull(),
      end: (conn: TcpConn) => conn.close(),
    }, 1024);
    return { tcp };
  },
  process(batch, st) {
    st.tcp.receive(batch);
    st.tcp.send();
  },
});
