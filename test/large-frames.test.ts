// Frames up to 64 KiB through pcap and gen (issue 9): a capture taken with
// GRO/TSO on, or on a jumbo link, crosses l2fwd byte for byte; a frame longer
// than the largest buffer is counted under rx_oversize and named on stderr
// once; gen makes jumbo frames with valid checksums. tshark, where present,
// reads the output as an independent judge.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { frame, readPcap, writePcap, type Flow } from "./helpers/pcap";
import { hasTool, vnfrun } from "./helpers/tools";

const dir = mkdtempSync(join(tmpdir(), "vnfrun-large-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const TSHARK = hasTool("tshark");

const udp: Flow = { src: [10, 0, 0, 1], dst: [10, 0, 0, 2], sport: 4000, dport: 9, proto: 17 };
const tcp: Flow = { ...udp, sport: 40000, dport: 80, proto: 6 };

// Ethernet + IPv4 + UDP/TCP frames of exactly `len` bytes, payload varying with i.
function sized(len: number, i: number, f: Flow = udp): Uint8Array {
  const fr = frame(f, i, len - 14 - 20 - (f.proto === 6 ? 20 : 8));
  for (let k = 14 + 20 + 28; k < fr.length; k++) fr[k] = (k * 31 + i) & 255;
  return fr;
}

function run(args: string[]): { code: number; summary: any; stderr: string } {
  const r = vnfrun(["vnfs/l2fwd.ts", ...args, "--json"], { timeoutMs: 60_000 });
  return { code: r.code, summary: r.code === 0 ? JSON.parse(r.stdout) : undefined, stderr: r.stderr };
}

function tsharkLens(file: string): number[] {
  return execFileSync("tshark", ["-r", file, "-T", "fields", "-e", "frame.len"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
    .trim().split("\n").map(Number);
}

describe("frames up to 64 KiB", () => {
  it("a pcap of 2,000-, 9,000- and 65,000-byte frames (and small ones between) comes out of l2fwd byte for byte", () => {
    const input = join(dir, "big.pcap"), output = join(dir, "big-out.pcap");
    const sizes = [60, 2000, 2030, 1514, 9000, 65000, 65535, 128, 9000, 2000, 65000];
    const frames = sizes.map((n, i) => sized(n, i, i % 3 === 2 ? tcp : udp));
    writePcap(input, frames, 262144);
    const r = run(["--port", `in=pcap:${input}`, "--port", `out=pcap:${output}`]);
    expect(r.code, r.stderr).toBe(0);
    const [pin, pout] = r.summary.ports;
    expect(pin).toMatchObject({ rx_packets: frames.length, rx_malformed: 0, rx_oversize: 0, rx_no_buffer: 0 });
    expect(pout).toMatchObject({ tx_packets: frames.length, tx_errors: 0 });
    const got = readPcap(output);
    expect(got.map((f) => f.length)).toEqual(sizes);
    got.forEach((f, i) => expect(Buffer.from(f).equals(Buffer.from(frames[i])), `frame ${i} (${sizes[i]} bytes)`).toBe(true));
    if (TSHARK) expect(tsharkLens(output)).toEqual(sizes);
    expect(r.stderr).toBe("");
  });

  it("a frame longer than the largest buffer is counted under rx_oversize, said once on stderr; the rest pass", () => {
    const input = join(dir, "over.pcap"), output = join(dir, "over-out.pcap");
    const huge = new Uint8Array(70_000).fill(0xab);
    huge.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x88, 0xb5]);
    writePcap(input, [sized(100, 0), huge, sized(3000, 1), huge], 262144);
    const r = run(["--port", `in=pcap:${input}`, "--port", `out=pcap:${output}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.summary.ports[0]).toMatchObject({ rx_packets: 2, rx_oversize: 2, rx_malformed: 0 });
    expect(r.summary.drops.rx_oversize).toBe(2);
    expect(r.summary.ports[0].driver).toMatch(/70000-byte frame at offset \d+ dropped: the largest buffer holds 65535 bytes/);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^warning: port in \(pcap:.*over\.pcap\): frames longer than the largest buffer were dropped \(rx_oversize [12]\); fix: .*editcap -s 65535/);
    expect(r.summary.warnings).toEqual(lines);
    expect(readPcap(output).map((f) => f.length)).toEqual([100, 3000]);
  });

  it("--large-buffers 0 leaves only small buffers: long frames count as rx_oversize and the line says to drop the option", () => {
    const input = join(dir, "small.pcap"), output = join(dir, "small-out.pcap");
    writePcap(input, [sized(1514, 0), sized(2000, 1)]);
    const r = run(["--large-buffers", "0", "--port", `in=pcap:${input}`, "--port", `out=pcap:${output}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.summary.ports[0]).toMatchObject({ rx_packets: 1, rx_oversize: 1 });
    expect(r.stderr).toMatch(/^warning: port in .*rx_oversize 1\); fix: frames over 1984 bytes need large buffers: drop --large-buffers 0\n$/);
  });

  it("a pcap larger than the large buffers loops through them: 600 frames of 9,000 bytes with 8 large buffers", () => {
    const input = join(dir, "many.pcap"), output = join(dir, "many-out.pcap");
    const frames = Array.from({ length: 600 }, (_, i) => sized(i % 2 ? 9000 : 64, i));
    writePcap(input, frames);
    const r = run(["--large-buffers", "8", "--port", `in=pcap:${input}`, "--port", `out=pcap:${output}`]);
    expect(r.code, r.stderr).toBe(0);
    const got = readPcap(output);
    expect(got.length).toBe(600);
    got.forEach((f, i) => expect(Buffer.from(f).equals(Buffer.from(frames[i])), `frame ${i}`).toBe(true));
  });

  describe.skipIf(!TSHARK)("gen:size=9000 (read back by tshark)", () => {
    it("makes 8,996-byte jumbo frames (FCS counted) with valid checksums, UDP and TCP, IPv4 and IPv6", () => {
      const file = join(dir, "jumbo.pcap");
      const r = run(["--port", "in=gen:size=9000,count=400,tcp=0.5,ipv6=0.5,flows=40", "--port", `out=pcap:${file}`]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.summary.ports[1].tx_packets).toBe(400);
      const rows = execFileSync("tshark", ["-r", file, "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
        "-T", "fields", "-e", "frame.len", "-e", "udp.checksum.status", "-e", "tcp.checksum.status"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
        .trim().split("\n").map((l) => l.split("\t"));
      expect(rows.length).toBe(400);
      for (const [len, u, t] of rows) {
        expect(+len).toBe(8996);
        expect(u || t).toBe("1");   // 1: good
      }
    });

    it("refuses a size no buffer holds, naming the range", () => {
      const r = run(["--port", "in=gen:size=70000", "--port", "sink"]);
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim()).toBe("vnfrun: --port in=gen:size=70000: size=70000: each size must be 64..65539 bytes (FCS included), joined by \"/\", or \"imix\"");
    });
  });
});
