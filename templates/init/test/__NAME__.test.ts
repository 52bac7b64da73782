// Tests run __NAME__ through vnfrun's real engine in this process (no root, no NIC).
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { expectPcap, pkt, runVnf } from "vnfrun/test";
import vnf from "../src/__NAME__";

// The traffic of the golden test; test/golden/__NAME__.pcap is what comes out.
const traffic = [
  pkt.eth().ipv4({ src: "10.0.0.1", dst: "10.0.0.2" }).tcp({ sport: 40000, dport: 443, flags: "PA", ack: 1 }).payload("hello"),
  pkt.eth().ipv4({ src: "10.0.0.1", dst: "10.0.0.2" }).tcp({ sport: 40001, dport: 23 }),
  pkt.eth().ipv4({ src: "10.0.0.1", dst: "10.0.0.2", ttl: 1 }).udp({ dport: 53 }).payload(12),
  pkt.eth().ipv6({ src: "2001:db8::1", dst: "2001:db8::2" }).udp({ sport: 5000, dport: 5001 }).payload("v6"),
];

describe("__NAME__", () => {
  it("passes https, drops telnet and expiring packets, and counts them", async () => {
    const r = await runVnf(vnf, { in: traffic });
    expect(r.verdicts).toEqual(["out", "drop", "drop", "out"]);
    expect(r.out.out[0]).toEqualPacket(pkt.eth().ipv4({ src: "10.0.0.1", dst: "10.0.0.2", ttl: 63 }).tcp({ sport: 40000, dport: 443, flags: "PA", ack: 1 }).payload("hello"));
    expect(r.counters).toEqual({ passed: 2, denied: 1, expired: 1 });
  });

  it("sends replies back the other way", async () => {
    const r = await runVnf(vnf, { out: [pkt.eth().ipv4().udp({ dport: 9000 })] });
    expect(r.verdicts).toEqual(["in"]);
  });

  it("takes the ports to deny from its config", async () => {
    const r = await runVnf(vnf, { in: traffic }, { config: { denyPorts: [443] } });
    expect(r.verdicts).toEqual(["drop", "out", "drop", "out"]);
  });

  it("puts out what the golden capture holds (VNFRUN_UPDATE_GOLDEN=1 npm test rewrites it)", async () => {
    const r = await runVnf(vnf, { in: traffic });
    expectPcap(r.out.out, join(__dirname, "golden", "__NAME__.pcap"));
  });
});
