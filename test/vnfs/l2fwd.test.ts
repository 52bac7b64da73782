import { describe, expect, it } from "vitest";
import { pkt, runVnf } from "../../runtime/harness";
import l2fwd from "../../vnfs/l2fwd";

describe("l2fwd", () => {
  it("sends in->out and out->in and changes no byte", async () => {
    const frames = [0, 1, 2, 3, 4].map((i) => pkt.eth().ipv4({ id: i }).udp({ sport: i, dport: i }));
    const from = ["in", "out", "in", "out", "out"];
    const r = await runVnf(l2fwd, frames.map((packet, i) => ({ port: from[i], packet })));
    expect(r.verdicts).toEqual(["out", "in", "out", "in", "in"]);
    r.out.out.forEach((f, k) => expect(f).toEqualPacket(frames[[0, 2][k]]));
    r.out.in.forEach((f, k) => expect(f).toEqualPacket(frames[[1, 3, 4][k]]));
    expect(r.engine.ports.out).toMatchObject({ tx_packets: 2, rx_packets: 3 });
  });

  it("follows the port order it is given", async () => {
    const swapped = { ...l2fwd, ports: ["out", "in"] };
    const r = await runVnf(swapped, { in: [pkt.eth().ipv4()] });
    expect(r.verdicts).toEqual(["out"]);
    expect(r.out.out).toHaveLength(1);
  });
});
