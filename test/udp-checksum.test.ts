// The runtime checks the checksum of each datagram to a bound UDP socket
// (native/endpoint.cc) and marks the right ones CHECKSUM_GOOD, so the SDK
// sums none of them again; wrong ones stay unmarked and the socket counts
// them as bad. Through the real engine, from a pcap.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readPcap, writePcap } from "./helpers/pcap";
import { vnfrunJson } from "./helpers/tools";

const dir = mkdtempSync(join(tmpdir(), "vnfrun-udpsum-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sum(b: number[], acc = 0): number {
  let s = acc;
  for (let i = 0; i < b.length; i += 2) s += (b[i] << 8) | (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}
const ETH = [2, 0, 0, 0, 0, 0x53, 2, 0, 0, 0, 0, 1];
function udp4(payload: number[], how: "right" | "wrong" | "none"): Uint8Array {
  const total = 28 + payload.length, ulen = 8 + payload.length;
  const ip = [0x45, 0, total >> 8, total & 255, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 53];
  const h = ~sum(ip) & 0xffff;
  ip[10] = h >> 8; ip[11] = h & 255;
  const udp = [0x30, 0x39, 0, 7, ulen >> 8, ulen & 255, 0, 0];
  let c = how === "none" ? 0 : ~sum([...ip.slice(12, 20), 0, 17, 0, ulen, ...udp, ...payload]) & 0xffff || 0xffff;
  if (how === "wrong") c ^= 0x0101;
  udp[6] = c >> 8; udp[7] = c & 255;
  return Uint8Array.from([...ETH, 8, 0, ...ip, ...udp, ...payload]);
}
function udp6(payload: number[], how: "right" | "wrong"): Uint8Array {
  const ulen = 8 + payload.length;
  const src = [0xfd, 0, ...Array(13).fill(0), 1], dst = [0xfd, 0, ...Array(13).fill(0), 0x53];
  const udp = [0x30, 0x39, 0, 7, ulen >> 8, ulen & 255, 0, 0];
  let c = ~sum([...src, ...dst, 0, 0, 0, 17, 0, 0, ulen >> 8, ulen & 255, ...udp, ...payload]) & 0xffff || 0xffff;
  if (how === "wrong") c ^= 0x0101;
  udp[6] = c >> 8; udp[7] = c & 255;
  return Uint8Array.from([...ETH, 0x86, 0xdd, 0x60, 0, 0, 0, 0, ulen, 17, 64, ...src, ...dst, ...udp, ...payload]);
}

describe("UDP checksums checked by the runtime", () => {
  const frames = [udp4([1, 2, 3], "right"), udp4([4, 5, 6, 7], "wrong"), udp4([8], "none"), udp6([9, 9], "right"), udp6([1], "wrong"), udp4([2, 3], "right")];
  const file = join(dir, "mixed.pcap");
  writePcap(file, frames);
  const args = ["--port", `pcap:${file}`, "--ip", "10.0.0.53/24", "--ip", "fd00::53/64"];

  it("right ones (and IPv4's no checksum) are marked, wrong ones are not", () => {
    const s = vnfrunJson(["test/fixtures/udp-flags.ts", ...args]);
    expect(s.vnf_counters.good).toBe(4);
    expect(s.vnf_counters.unchecked).toBe(2);
  });

  it("a datagram whose IPv4 header checksum is wrong is dropped by the runtime, counted", () => {
    const broken = udp4([1, 2, 3], "right");
    broken[14 + 10] ^= 0x10;
    const f = join(dir, "bad-header.pcap");
    writePcap(f, [broken, udp4([4], "right")]);
    const s = vnfrunJson(["bench/udp-echo.ts", "--port", `pcap:${f}`, "--ip", "10.0.0.53/24"]);
    expect(s.drops.endpoint_malformed).toBe(1);
    expect(s.vnf_counters.udp7_rx).toBe(1);
  });

  it("a checksum the VNF leaves to the engine (Batch.l4Checksum) leaves the engine finished", () => {
    const f = join(dir, "left.pcap"), out = join(dir, "left-out.pcap");
    const sent = [udp4([1, 2, 3, 4, 5], "right"), udp4(Array.from({ length: 301 }, (_, i) => i & 255), "right")];
    writePcap(f, sent);
    const s = vnfrunJson(["test/fixtures/checksum-left.ts", "--port", `in=pcap:${f}`, "--port", `out=pcap:${out}`]);
    expect(s.ports[1].tx_packets).toBe(2);
    const got = readPcap(out);
    got.forEach((g, k) => {
      const ulen = (g[38] << 8) | g[39];
      expect(Array.from(g.subarray(42, 34 + ulen))).toEqual(Array.from(sent[k].subarray(42, 34 + ulen)).map((x) => x ^ 0x5a));
      expect(sum([...Array.from(g.subarray(26, 34)), 0, 17, ulen >> 8, ulen & 255, ...Array.from(g.subarray(34, 34 + ulen))])).toBe(0xffff);
    });
  });

  it("a socket that verifies still counts the wrong ones as bad and answers the rest", () => {
    const s = vnfrunJson(["bench/udp-echo.ts", ...args]);
    expect(s.vnf_counters.udp7_rx).toBe(4);
    expect(s.vnf_counters.udp7_rx_bad_checksum).toBe(2);
    expect(s.vnf_counters.udp7_tx).toBe(4);
  });
});
