import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Batch, ip4, makeCtx, verifyIpv4HeaderChecksum } from "../../sdk";
import rl, { readRules } from "../../vnfs/ratelimit";
import { frame, ipv4, udp } from "../sdk/frames";

const PORTS = ["in", "out"];
const u4 = (src: string, len = 100): Uint8Array => frame(0x0800, ipv4({ src: ip4(src), dst: ip4("192.0.2.1"), proto: 17 }, udp(1000, 53, Array(len).fill(0))));

function run(config: unknown, frames: Uint8Array[]) {
  const ctx = makeCtx(PORTS, { config });
  const st = rl.init!(ctx);
  const b = Batch.fromFrames(frames, PORTS);
  rl.process(b, st, ctx);
  return { b, st };
}

describe("ratelimit", () => {
  it("drops over a per-source token bucket, each source its own, by the longest prefix", () => {
    const cfg = { rules: [{ prefix: "10.0.0.0/8", rate: 1, burst: 3, unit: "packets" }, { prefix: "10.1.0.0/16", rate: 1, burst: 1, unit: "packets" }] };
    const { b } = run(cfg, [...Array(5).fill(0).map(() => u4("10.0.0.1")), ...Array(5).fill(0).map(() => u4("10.0.0.2")), ...Array(3).fill(0).map(() => u4("10.1.0.1")), u4("172.16.0.1")]);
    expect(Array.from(b.verdicts.slice(0, 14))).toEqual([2, 2, 2, 0, 0, 2, 2, 2, 0, 0, 2, 0, 0, 2]);
  });

  it("marks srTCM colours in DSCP with the header checksum right", () => {
    const cfg = { rules: [{ prefix: "10.0.0.0/8", meter: "srtcm", rate: 1000, burst: 300, excess: 300 }] };
    const { b } = run(cfg, Array(6).fill(0).map(() => u4("10.0.0.1", 108)));   // 150-byte frames
    const dscp = Array.from({ length: 6 }, (_, i) => b.bytes[b.offsets[i] + 15] >> 2);
    expect(dscp).toEqual([10, 10, 12, 12, 14, 14]);
    for (let i = 0; i < 6; i++) expect(verifyIpv4HeaderChecksum(b.bytes, b.offsets[i] + 14)).toBe(true);
  });

  it("names the bad field and runs its example", () => {
    const bad = (c: unknown): string => { try { readRules(c); return ""; } catch (e) { return (e as Error).message; } };
    expect(bad({ rules: [{ prefix: "10.0.0.0/33", rate: 1, burst: 1 }] })).toMatch(/^ratelimit config rules\[0\]\.prefix: "10\.0\.0\.0\/33" is not an IPv4/);
    expect(bad({ rules: [{ prefix: "10.0.0.0/8", rate: 1, burst: 1, action: "mark" }] })).toMatch(/rules\[0\]\.action: a token bucket has no colours/);
    expect(bad({ rules: [{ prefix: "10.0.0.0/8", meter: "trtcm", rate: 10, burst: 1, peak: 5, peakBurst: 1 }] })).toMatch(/rules\[0\]\.peak: 5 is not a number >= 10/);
    const cfg = JSON.parse(readFileSync(new URL("../../vnfs/ratelimit.example.json", import.meta.url), "utf8"));
    expect(run(cfg, [u4("198.18.5.5")]).b.verdicts[0]).toBe(2);
  });
});
