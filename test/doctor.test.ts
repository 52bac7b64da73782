// vnfrun doctor: every driver is listed, and every "no" says what to do.
import { availableParallelism } from "node:os";
import { describe, expect, it } from "vitest";
import { vnfrun } from "./helpers/tools";

describe("vnfrun doctor", () => {
  const r = vnfrun(["doctor", "--json"]);
  const findings: { item: string; ok: boolean; detail: string; fix?: string }[] = JSON.parse(r.stdout);
  const byItem = new Map(findings.map((f) => [f.item, f]));

  it("lists every driver and the CPU count", () => {
    expect(r.code).toBe(0);
    for (const d of ["gen", "sink", "pipe", "pcap", "packet", "xdp", "tap", "netmap"]) expect(byItem.has(`driver ${d}`)).toBe(true);
    expect(byItem.get("cpus")!.detail).toContain(`${availableParallelism()} CPUs`);
    for (const d of ["gen", "sink", "pipe", "pcap"]) expect(byItem.get(`driver ${d}`)!.ok).toBe(true);
  });

  it("gives a fix for everything that is not usable", () => {
    for (const f of findings) if (!f.ok) expect(f.fix, f.item).toBeTruthy();
  });

  it("says netmap is missing exactly when /dev/netmap is", async () => {
    const { existsSync } = await import("node:fs");
    expect(byItem.get("driver netmap")!.detail.includes("/dev/netmap present")).toBe(existsSync("/dev/netmap"));
  });

  it("prints a readable table without --json", () => {
    const t = vnfrun(["doctor"]);
    expect(t.stdout).toMatch(/^ok\s+driver pcap/m);
  });
});
