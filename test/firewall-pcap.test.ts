// The shipped firewall through the engine: a crafted capture in, exactly the
// allowed frames out, in order, and every drop counted.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { frame, readPcap, writePcap, type Flow } from "./helpers/pcap";
import { vnfrunJson } from "./helpers/tools";

const dir = mkdtempSync(join(tmpdir(), "vnfrun-fw-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const host = (a: number, b: number, c: number, d: number) => [a, b, c, d];
const cases: { flow: Flow; allowed: boolean; why: string }[] = [
  { flow: { src: host(203, 0, 113, 5), dst: host(198, 19, 0, 1), sport: 40000, dport: 443, proto: 6 }, allowed: true, why: "https" },
  { flow: { src: host(192, 0, 2, 66), dst: host(198, 19, 0, 1), sport: 40001, dport: 443, proto: 6 }, allowed: false, why: "blocked host" },
  { flow: { src: host(198, 51, 100, 77), dst: host(198, 19, 0, 1), sport: 40002, dport: 53, proto: 17 }, allowed: false, why: "blocked network" },
  { flow: { src: host(203, 0, 113, 6), dst: host(198, 19, 0, 1), sport: 40003, dport: 23, proto: 6 }, allowed: false, why: "telnet" },
  { flow: { src: host(203, 0, 113, 7), dst: host(198, 19, 0, 1), sport: 40004, dport: 138, proto: 17 }, allowed: false, why: "netbios" },
  { flow: { src: host(203, 0, 113, 8), dst: host(198, 19, 0, 1), sport: 40005, dport: 23, proto: 17 }, allowed: true, why: "udp 23 is not telnet" },
  { flow: { src: host(203, 0, 113, 9), dst: host(198, 19, 0, 1), sport: 40006, dport: 6001, proto: 6 }, allowed: true, why: "X11 from inside" },
];

it("vnfs/firewall.ts passes exactly the allowed frames of a crafted pcap", () => {
  const frames = cases.flatMap((c, i) => [frame(c.flow, i * 10), frame(c.flow, i * 10 + 1)]);
  const input = join(dir, "in.pcap"), output = join(dir, "out.pcap");
  writePcap(input, frames);
  const s = vnfrunJson(["vnfs/firewall.ts", "--port", `in=pcap:${input}`, "--port", `out=pcap:${output}`]);
  const want = frames.filter((_, i) => cases[i >> 1].allowed);
  const got = readPcap(output);
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(Buffer.compare(Buffer.from(g), Buffer.from(want[i]))).toBe(0));
  expect(s.drops.vnf_drops).toBe(frames.length - want.length);
  expect(s.ports[1].tx_packets).toBe(want.length);
});
