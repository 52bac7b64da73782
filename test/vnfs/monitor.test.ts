// The monitor's IPFIX export, decoded by tshark (cflow), against the traffic sent.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Batch, ip4, makeCtx } from "../../sdk";
import monitor from "../../vnfs/monitor";
import { writePcap } from "../helpers/pcap";
import { needs } from "../helpers/tools";
import { frame, ipv4, tcp, udp } from "../sdk/frames";

const PORTS = ["in", "out"];
const noTshark = needs("tshark");

describe.skipIf(!!noTshark)(`monitor${noTshark}`, () => {
  it("exports each flow's packets and bytes as IPFIX that tshark decodes", async () => {
    const ctx = makeCtx(PORTS, { config: { collector: "192.0.2.50:4739", exporter: "192.0.2.1", inactiveTimeout: 0.001, capacity: 16 } });
    const st = monitor.init!(ctx);
    // Three flows: 3, 2 and 1 packets.
    const f1 = frame(0x0800, ipv4({ src: ip4("10.0.0.1"), dst: ip4("10.0.0.2"), proto: 17 }, udp(1111, 53, [1, 2, 3])));
    const f2 = frame(0x0800, ipv4({ src: ip4("10.0.0.3"), dst: ip4("10.0.0.4"), proto: 6 }, tcp({ sport: 2222, dport: 80 })));
    const f3 = frame(0x0800, ipv4({ src: ip4("10.0.0.5"), dst: ip4("10.0.0.6"), proto: 17 }, udp(3333, 123)));
    const b1 = Batch.fromFrames([f1, f1, f1, f2, f2, f3], PORTS);
    monitor.process(b1, st, ctx);
    expect(Array.from(b1.verdicts.slice(0, 6))).toEqual([2, 2, 2, 2, 2, 2]);
    await new Promise((r) => setTimeout(r, 20));
    // The next batch's sweep finds them idle: one message, out of "out".
    const b2 = Batch.fromFrames([], PORTS);
    for (let k = 0; k < 100000 && b2.originated === 0; k += 64) monitor.process(b2, st, ctx);
    expect(b2.originated).toBe(1);
    const i = b2.count;
    expect(b2.verdicts[i]).toBe(2);
    const dir = mkdtempSync(join(tmpdir(), "vnfrun-monitor-"));
    try {
      const file = join(dir, "ipfix.pcap");
      writePcap(file, [b2.bytes.slice(b2.offsets[i], b2.offsets[i] + b2.lengths[i])]);
      const out = execFileSync("tshark", ["-r", file, "-d", "udp.port==4739,cflow", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=;",
        "-e", "cflow.srcaddr", "-e", "cflow.srcport", "-e", "cflow.packets", "-e", "cflow.octets", "-e", "ip.checksum.status"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
      const [src, sport, pkts, octets] = out.trim().split("\t").map((x) => x.split(";"));
      const got = src.map((s, k) => `${s}:${sport[k]} ${pkts[k]} ${octets[k]}`).sort();
      expect(got).toEqual([`10.0.0.1:1111 3 ${3 * f1.length}`, `10.0.0.3:2222 2 ${2 * f2.length}`, `10.0.0.5:3333 1 ${f3.length}`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
