// UDP echo on the SDK's sockets (bench/endpoint.mjs): every datagram to
// port 7 goes back to its sender from its own buffer (receive, swap, send:
// UdpSocket.echo, which sums no byte).
import { Udp, defineVnf } from "../sdk";

export default defineVnf({
  ports: ["net"],
  init(ctx) {
    const udp = new Udp(ctx);
    return { udp, sock: udp.bind(7) };
  },
  process(batch, st) {
    st.udp.receive(batch);
    const s = st.sock;
    for (let k = 0; k < s.count; k++) s.echo(batch, k);
  },
});
