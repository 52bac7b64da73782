// __NAME__: a starting point. Forwards between "in" and "out", drops TCP and
// UDP to the ports in its config (telnet by default), takes one off each
// IPv4 TTL (dropping what would reach 0), and counts what it did.
//   npx vnfrun src/__NAME__.ts --config '{"denyPorts":[23,445]}'
import { defineVnf } from "vnfrun/sdk";

interface Config { denyPorts?: number[] }

export default defineVnf({
  ports: ["in", "out"],
  init(ctx) {
    const cfg = (ctx.config ?? {}) as Config;
    const deny = new Uint8Array(65536);   // a table: one load per packet, no Set lookup
    for (const p of cfg.denyPorts ?? [23]) {
      if (!Number.isInteger(p) || p < 0 || p > 65535) throw new Error(`config: denyPorts: ${JSON.stringify(p)} is not a port number`);
      deny[p] = 1;
    }
    return { deny, in: ctx.port("in"), out: ctx.port("out"), counts: ctx.counters(["passed", "denied", "expired"]) };
  },
  process(batch, st) {
    const { deny, counts } = st;
    for (let i = 0; i < batch.count; i++) {
      const pkt = batch.packet(i);
      const port = pkt.dstPort;            // -1 when not TCP/UDP
      if (port >= 0 && deny[port] === 1) { counts[1]++; continue; }   // no verdict: dropped
      const ip = pkt.ipv4;
      if (ip !== null) {
        if (ip.ttl <= 1) { counts[2]++; continue; }
        ip.decrementTtl();                 // keeps the header checksum right
      }
      counts[0]++;
      pkt.send(pkt.inPort === st.in ? st.out : st.in);
    }
  },
});
