// The supervisor's record of core restarts (runtime/restart.ts): what the
// live line says, and how often a restart is told.
import { describe, expect, it } from "vitest";
import { Restarts } from "../runtime/restart";

const loop = "process() had not returned after 1 s (--vnf-timeout; an endless loop?)";

describe("Restarts", () => {
  it("counts restarts in the live line, and names a core that keeps failing with its last reason", () => {
    const said: string[] = [];
    const r = new Restarts((t) => said.push(t));
    expect(r.suffix()).toBe("");
    r.add({ type: "restart", core: 1, reason: "out of memory", ms: 40 });
    r.add({ type: "restart", core: 0, reason: loop, ms: 35 });
    expect(r.suffix()).toBe("  restarts 2");
    r.add({ type: "restart", core: 0, reason: loop, ms: 90 });
    r.add({ type: "restart", core: 0, reason: loop, ms: 140 });
    expect(r.suffix()).toBe(`  restarts 4; core 0 keeps failing (3 restarts in a minute): ${loop}`);
    expect(r.suffix(Date.now() + 61_000), "a minute later only the count stays").toBe("  restarts 4");
    // Told once a second at most: the first line, the rest counted in the next.
    expect(said).toHaveLength(1);
    expect(said[0]).toBe("core 1: context restarted in 40.0 ms: out of memory");
    expect(r.history.map((h) => h.core)).toEqual([1, 0, 0, 0]);
  });
});
