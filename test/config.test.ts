// --config reaches the VNF as ctx.config (a file or inline JSON), is read
// before any packet moves, and is read again at each reload.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { vnfrun, vnfrunJson } from "./helpers/tools";

const dir = mkdtempSync(join(tmpdir(), "vnfrun-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ports = ["--port", "in=gen:count=1000", "--port", "out=sink"];
const delivered = (s: any) => s.ports.find((p: any) => p.name === "out").tx_packets;

describe("--config", () => {
  it("inline JSON and a file both reach init()", () => {
    expect(delivered(vnfrunJson(["test/fixtures/configured.ts", ...ports, "--config", '{"pass":true}']))).toBe(1000);
    const file = join(dir, "drop.json");
    writeFileSync(file, JSON.stringify({ pass: false }));
    expect(delivered(vnfrunJson(["test/fixtures/configured.ts", ...ports, "--config", file]))).toBe(0);
  });

  it("bad input is one line naming what to fix, before any packet moves", () => {
    const missing = vnfrun(["test/fixtures/configured.ts", ...ports, "--config", join(dir, "nope.json")]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr.trim()).toMatch(/^vnfrun: --config .*nope\.json: cannot read it \(ENOENT\)/);
    const bad = join(dir, "bad.json");
    writeFileSync(bad, "{ pass: true }");
    const notJson = vnfrun(["test/fixtures/configured.ts", ...ports, "--config", bad]);
    expect(notJson.code).not.toBe(0);
    expect(notJson.stderr.trim().split("\n")).toHaveLength(1);
    expect(notJson.stderr).toMatch(/bad\.json: not JSON/);
    const wrong = vnfrun(["test/fixtures/configured.ts", ...ports, "--config", '{"pass":"yes"}']);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/"pass" must be true or false/);
  });
});

describe("--config at a reload", () => {
  it("a changed file reaches the new version; a file that no longer parses is refused with the old one live", async () => {
    const { Running } = await import("./reload/running");
    const file = join(dir, "live.json");
    writeFileSync(file, JSON.stringify({ pass: false }));
    const r = new Running(["test/fixtures/configured.ts", "--port", "in=gen:rate=20000", "--port", "out=sink", "--config", file, "--json", "--duration", "60"]);
    try {
      await r.up();
      writeFileSync(file, "{ broken");
      const refused = vnfrun(["reload", String(r.proc.pid)]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/gen 1 stays live: --config .*live\.json: not JSON/);
      writeFileSync(file, JSON.stringify({ pass: true }));
      expect(vnfrun(["reload", String(r.proc.pid)]).stdout).toMatch(/gen 2 live/);
      await new Promise((res) => setTimeout(res, 300));
      const s = await r.stop();
      expect(s.generation).toBe(2);
      expect(delivered(s)).toBeGreaterThan(0);
    } finally {
      r.proc.kill("SIGKILL");
    }
  }, 60_000);
});
