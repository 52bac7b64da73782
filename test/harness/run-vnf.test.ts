// runVnf: a VNF through the real engine in this process (pipe ports), with
// verdicts per packet, frames per port, and the VNF's and engine's counters.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { pkt, runVnf, writeCapture } from "../../runtime/harness";
import fw from "../../vnfs/firewall";
import l2fwd from "../../vnfs/l2fwd";

const dir = mkdtempSync(join(tmpdir(), "vnfrun-runvnf-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("runVnf", () => {
  it("runs the issue's example: telnet dropped, https passed, counters counted", async () => {
    const r = await runVnf(fw, { in: [pkt.eth().ipv4({ src: "10.0.0.1", dst: "10.0.0.2" }).tcp({ dport: 23 }),
                                      pkt.eth().ipv4().tcp({ dport: 443 }).payload("hello")] });
    expect(r.verdicts).toEqual(["drop", "out"]);
    expect(r.out.out).toHaveLength(1);
    expect(r.out.out[0]).toEqualPacket(pkt.eth().ipv4().tcp({ dport: 443 }).payload("hello"));
    expect(r.out.in).toEqual([]);
    expect(r.counters).toMatchObject({ denied: 1, allowed: 1 });
    // The engine's own counters: what crossed each port, and the drop's cause.
    expect(r.engine.ports.in).toMatchObject({ rx_packets: 2, tx_packets: 0 });
    expect(r.engine.ports.out).toMatchObject({ tx_packets: 1 });
    expect(r.engine.cores[0]).toMatchObject({ packets: 2, vnf_drops: 1 });
  });

  it("keeps input order across ports, and sends each frame out unchanged", async () => {
    const frames = Array.from({ length: 600 }, (_, i) => pkt.eth().ipv4({ id: i }).udp({ sport: i }).build());
    const inputs = frames.map((f, i) => ({ port: i % 3 === 0 ? "out" : "in", packet: f }));
    const r = await runVnf(l2fwd, inputs);
    expect(r.verdicts).toEqual(inputs.map((x) => (x.port === "in" ? "out" : "in")));
    expect(r.out.out.map((f) => Buffer.from(f).toString("hex"))).toEqual(inputs.filter((x) => x.port === "in").map((x) => Buffer.from(x.packet).toString("hex")));
    expect(r.out.in).toHaveLength(200);
    expect(r.engine.ports.in.rx_packets + r.engine.ports.out.rx_packets).toBe(600);
  });

  it("reads inputs from a pcap file", async () => {
    const file = join(dir, "in.pcap");
    writeCapture(file, [pkt.eth().ipv4().tcp({ dport: 23 }).build(), pkt.eth().ipv4().tcp({ dport: 80 }).build()]);
    const r = await runVnf(fw, { in: file });
    expect(r.verdicts).toEqual(["drop", "out"]);
  });

  it("compiles a VNF given by path and feeds it --config's forms: inline JSON, a file, a value", async () => {
    const vnf = join(__dirname, "..", "fixtures", "configured.ts");
    const p = [pkt.eth().ipv4().udp()];
    expect((await runVnf(vnf, p, { config: '{"pass":true}' })).verdicts).toEqual(["out"]);
    const file = join(dir, "cfg.json");
    writeFileSync(file, '{"pass":false}');
    expect((await runVnf(vnf, p, { config: file })).verdicts).toEqual(["drop"]);
    expect((await runVnf(vnf, p, { config: { pass: true } })).verdicts).toEqual(["out"]);
    await expect(runVnf(vnf, p)).rejects.toThrow(/"pass" must be true or false/);
    await expect(runVnf(vnf, p, { config: join(dir, "missing.json") })).rejects.toThrow(/--config .*missing.json: cannot read it/);
  });

  it("gives the same verdicts on 4 cores, the flows spread by the engine's RSS hash", async () => {
    const frames = Array.from({ length: 2000 }, (_, i) => pkt.eth().ipv4({ src: `10.1.${i >> 8}.${i & 255}` }).tcp({ dport: i % 5 === 0 ? 23 : 443 }).build());
    const one = await runVnf(fw, { in: frames });
    const four = await runVnf(fw, { in: frames }, { cores: 4 });
    expect(four.verdicts).toEqual(one.verdicts);
    expect(four.counters).toEqual(one.counters);
    expect(four.engine.cores).toHaveLength(4);
    // Every core got some of the flows, and the packets add up.
    expect(four.engine.cores.every((c) => c.packets > 0)).toBe(true);
    expect(four.engine.cores.reduce((a, c) => a + c.packets, 0)).toBe(2000);
    expect(four.out.out).toHaveLength(1600);
  });

  it("ends with the VNF's error at its TS line, or records it and drops the batch as a live run does", async () => {
    const vnf = join(__dirname, "..", "fixtures", "throws-every-other.ts");
    const frames = Array.from({ length: 600 }, () => pkt.eth().ipv4().udp().build());
    await expect(runVnf(vnf, frames, { rxBatch: 100 })).rejects.toThrow(/process\(\) threw on packets 100\.\.199: Error: boom on purpose at .*throws-every-other\.ts:8:/);
    const r = await runVnf(vnf, frames, { rxBatch: 100, onError: "record" });
    expect(r.errors.map((e) => e.packets[0])).toEqual([100, 300, 500]);
    expect(r.verdicts.filter((v) => v === "error")).toHaveLength(300);
    expect(r.verdicts.slice(0, 100).every((v) => v === "out")).toBe(true);
    expect(r.engine.cores[0]).toMatchObject({ vnf_errors: 3, vnf_error_drops: 300 });
    expect(r.out.out).toHaveLength(300);
  });

  it("refuses what it cannot run with a line saying what to give", async () => {
    await expect(runVnf(fw, { wan: [pkt.eth()] })).rejects.toThrow(/no port "wan"; this VNF's ports are: in, out/);
    await expect(runVnf(fw, [new Uint8Array(3000)])).rejects.toThrow(/packet 0 is 3000 bytes; give 1 to 1984/);
    await expect(runVnf(fw, [], { cores: 2, dist: "none" })).rejects.toThrow(/dist "none" runs one core/);
  });
});
