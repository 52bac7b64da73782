// Golden captures and the packet matcher: a difference is shown as fields
// and bytes, never as two arrays of numbers; VNFRUN_UPDATE_GOLDEN=1 rewrites.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { assertPacket, expectPcap, GoldenMismatch, pkt, readCapture } from "../../runtime/harness";
import { ROOT } from "../helpers/tools";

const dir = mkdtempSync(join(tmpdir(), "vnfrun-golden-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => { delete process.env.VNFRUN_UPDATE_GOLDEN; });

const frames = [pkt.eth().ipv4({ ttl: 64 }).udp({ dport: 7 }).payload("one"), pkt.eth().ipv6().tcp({ dport: 443 }).payload("two")];

function failure(f: () => void): string {
  try { f(); } catch (e) { return (e as Error).message; }
  throw new Error("expected a failure");
}

describe("expectPcap", () => {
  it("asks for VNFRUN_UPDATE_GOLDEN=1 when the golden file is missing, then writes it with it", () => {
    const file = join(dir, "a.pcap");
    expect(failure(() => expectPcap(frames, file))).toMatch(/no golden capture yet; run the test once with VNFRUN_UPDATE_GOLDEN=1/);
    expect(existsSync(file)).toBe(false);
    process.env.VNFRUN_UPDATE_GOLDEN = "1";
    expectPcap(frames, file);
    delete process.env.VNFRUN_UPDATE_GOLDEN;
    expect(readCapture(file)).toEqual(frames.map((f) => f.build()));
    expectPcap(frames, file);   // now it matches
  });

  it("names the frame and the fields that differ, and dumps the bytes around the first difference", () => {
    const file = join(dir, "b.pcap");
    process.env.VNFRUN_UPDATE_GOLDEN = "1";
    expectPcap(frames, file);
    delete process.env.VNFRUN_UPDATE_GOLDEN;
    const changed = [frames[0], pkt.eth().ipv6({ hopLimit: 63 }).tcp({ dport: 443 }).payload("two")];
    const msg = failure(() => expectPcap(changed, file));
    expect(msg).toMatch(/b\.pcap: frame 2 of 2 differs/);
    expect(msg).toContain("ipv6.hopLimit: expected 64, got 63");
    expect(msg).toContain("first difference at byte 21 (0x15)");
    expect(msg).toMatch(/expected 0010 .*\[40\]/);
    expect(msg).toMatch(/got +0010 .*\[3f\]/);
    expect(msg).toContain("VNFRUN_UPDATE_GOLDEN=1 rewrites");
    expect(failure(() => expectPcap([frames[0]], file))).toMatch(/expected 2 frames, got 1; the first 1 agree; missing from frame 2:\neth/);
    try { expectPcap(changed, file); } catch (e) { expect(e).toBeInstanceOf(GoldenMismatch); }
  });
});

describe("toEqualPacket and assertPacket", () => {
  it("pass on equal bytes, builder or not", () => {
    expect(frames[0].build()).toEqualPacket(frames[0]);
    expect(Buffer.from(frames[0].build())).toEqualPacket(frames[0].build());
    expect(frames[0]).not.toEqualPacket(frames[1]);
    assertPacket(frames[1], frames[1].build());
  });

  it("fail with the packets decoded and the differing fields", () => {
    const msg = failure(() => expect(pkt.eth().ipv4({ ttl: 63 }).udp({ dport: 7 }).payload("one")).toEqualPacket(frames[0]));
    expect(msg).toContain("ipv4.ttl: expected 64, got 63");
    expect(msg).toMatch(/ipv4.checksum: expected 0x[0-9a-f]{4}, got 0x[0-9a-f]{4}/);
    expect(msg).toMatch(/expected:\n {2}eth/);
    expect(msg).not.toMatch(/Uint8Array \[/);
    expect(failure(() => assertPacket(pkt.eth().arp(), pkt.eth().ipv4()))).toContain("layer 2: expected ipv4, got arp");
  });

  it("work under node --test from the built package (vnfrun/test)", () => {
    const file = join(dir, "node-test.test.mjs");
    writeFileSync(file, `
import { test } from "node:test";
import { createRequire } from "node:module";
const require = createRequire(${JSON.stringify(join(ROOT, "package.json"))});
const { pkt, runVnf, assertPacket } = require("vnfrun/test");
const l2fwd = { ports: ["in", "out"], process(b) { for (let i = 0; i < b.count; i++) b.verdicts[i] = (b.inPorts[i] ^ 1) + 1; } };
test("forwards", async () => {
  const p = pkt.eth().ipv4().udp().payload("x");
  const r = await runVnf(l2fwd, { in: [p] });
  assertPacket(r.out.out[0], p);
});
test("a difference fails with fields", () => assertPacket(pkt.eth().ipv4({ ttl: 1 }), pkt.eth().ipv4()));
`);
    const r = spawnSync(process.execPath, ["--test", file], { encoding: "utf8", cwd: ROOT, timeout: 60_000 });
    expect(r.stdout).toMatch(/ok 1 - forwards/);
    expect(r.stdout).toMatch(/not ok 2 - a difference fails with fields/);
    expect(r.stdout).toContain("ipv4.ttl: expected 64, got 1");
    expect(r.status).toBe(1);
  });
});
