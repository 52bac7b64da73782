// gen's frames, judged by a dissector we did not write: every checksum valid,
// the asked-for mix of sizes and protocols, flows that keep their tuple.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { needs, vnfrunJson } from "./helpers/tools";

const dir = mkdtempSync(join(tmpdir(), "vnfrun-gen-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function tsharkFields(file: string, fields: string[]): string[][] {
  const out = execFileSync("tshark", ["-r", file, "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
    "-o", "tcp.check_checksum:TRUE", "-T", "fields", ...fields.flatMap((f) => ["-e", f])], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  return out.trim().split("\n").map((l) => l.split("\t"));
}

const noTshark = needs("tshark");
describe.skipIf(!!noTshark)(`gen, read back by tshark${noTshark}`, () => {
  it("writes valid IPv4/IPv6 UDP/TCP frames in the asked-for sizes", () => {
    const file = join(dir, "mix.pcap");
    const s = vnfrunJson(["vnfs/l2fwd.ts", "--port", "in=gen:count=3000,ipv6=0.5,tcp=0.5,size=64/594/1518,flows=300", "--port", `out=pcap:${file}`]);
    expect(s.ports[1].tx_packets).toBe(3000);
    const rows = tsharkFields(file, ["frame.len", "ip.checksum.status", "udp.checksum.status", "tcp.checksum.status", "ipv6.src", "ip.src"]);
    expect(rows.length).toBe(3000);
    const lens = new Set(rows.map((r) => +r[0]));
    // 64/594/1518 with FCS counted; the smallest IPv6 TCP frame needs 74 bytes
    for (const l of lens) expect([60, 62, 74, 590, 1514]).toContain(l);
    let v6 = 0, tcp = 0;
    for (const [, ipSum, udpSum, tcpSum, src6, src4] of rows) {
      if (src4) expect(ipSum).toBe("1");          // 1 = good
      expect(udpSum === "1" || tcpSum === "1").toBe(true);
      if (src6) { v6++; expect(src6).toMatch(/^2001:2::/); } else expect(src4).toMatch(/^198\.1[89]\./);
      if (tcpSum) tcp++;
    }
    expect(v6 / rows.length).toBeGreaterThan(0.35);
    expect(v6 / rows.length).toBeLessThan(0.65);
    expect(tcp / rows.length).toBeGreaterThan(0.35);
    expect(tcp / rows.length).toBeLessThan(0.65);
  });

  it("gives each of N flows a distinct 5-tuple that repeats every N frames", () => {
    const file = join(dir, "flows.pcap");
    vnfrunJson(["vnfs/l2fwd.ts", "--port", "in=gen:count=2000,flows=500,dport=5000-5009", "--port", `out=pcap:${file}`]);
    const rows = tsharkFields(file, ["ip.src", "udp.srcport", "udp.dstport"]).map((r) => r.join(" "));
    expect(new Set(rows).size).toBe(500);
    for (let i = 500; i < rows.length; i++) expect(rows[i]).toBe(rows[i - 500]);
    for (const r of rows) expect(+r.split(" ")[2]).toBeGreaterThanOrEqual(5000);
  });

  it("gives flows a life of K frames, new ones staggered, with TCP handshakes on both sides", () => {
    const a = join(dir, "a.pcap"), b = join(dir, "b.pcap");
    const opts = "flows=10,life=6,handshake=1,count=300";
    vnfrunJson(["vnfs/l2fwd.ts", "--port", `in=gen:${opts}`, "--port", `out=pcap:${a}`]);
    vnfrunJson(["vnfs/l2fwd.ts", "--port", `in=gen:${opts},reply=1`, "--port", `out=pcap:${b}`]);
    const fields = ["ip.src", "ip.dst", "tcp.srcport", "tcp.dstport", "tcp.flags", "tcp.checksum.status", "ip.checksum.status"];
    const ra = tsharkFields(a, fields), rb = tsharkFields(b, fields);
    expect(ra.length).toBe(300);
    expect(rb.length).toBe(300);
    const byFlow = new Map<string, string[]>();
    for (let i = 0; i < 300; i++) {
      const [src, dst, sp, dp, fl, sum, ipsum] = ra[i];
      expect(sum).toBe("1");
      expect(ipsum).toBe("1");
      expect(rb[i][5]).toBe("1");
      // frame i of the reply side is frame i's other end
      expect(rb[i].slice(0, 4)).toEqual([dst, src, dp, sp]);
      const k = `${src}:${sp}`;
      if (!byFlow.has(k)) byFlow.set(k, []);
      byFlow.get(k)!.push(`${fl}/${rb[i][4]}`);
    }
    // 30 rounds of 10 slots, 6 rounds a flow, staggered: 50 flows, whole ones
    // (SYN/SYN-ACK, data/ACK x3, FIN/FIN, ACK/ACK) except at the two ends.
    const whole = ["0x0002/0x0012", "0x0018/0x0010", "0x0018/0x0010", "0x0018/0x0010", "0x0011/0x0011", "0x0010/0x0010"];
    const lives = [...byFlow.values()];
    expect(lives.filter((l) => l.join() === whole.join()).length).toBeGreaterThanOrEqual(50 - 20);
    for (const l of lives) expect(whole.join()).toContain(l.join());
    expect(byFlow.size).toBeGreaterThanOrEqual(55);
  });
});
