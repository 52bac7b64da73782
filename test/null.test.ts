// null: the driver that proves a driver is one file (native/ports/null.cc)
// plus this test; --help, doctor and the README's table learn it from its
// schema (test/port-table.test.ts checks those for every driver).
import { describe, expect, it } from "vitest";
import { vnfrun, vnfrunJson } from "./helpers/tools";

describe("null ports", () => {
  it("discard what they are sent, as sink does", () => {
    const s = vnfrunJson(["vnfs/l2fwd.ts", "--port", "in=gen:count=50000", "--port", "out=null"]);
    const out = s.ports.find((p: { name: string }) => p.name === "out");
    expect(out.driver).toBe("null");
    expect(out.tx_packets).toBe(50000);
    expect(out.tx_ring_full).toBe(0);
  });

  it("with rate, take at most that many frames a second and count the rest as tx_ring_full", () => {
    // 200,000 frames at full speed into a 1,000 frames/s link: most cannot pass.
    const s = vnfrunJson(["vnfs/l2fwd.ts", "--port", "in=gen:count=200000", "--port", "out=null:rate=1k"]);
    const out = s.ports.find((p: { name: string }) => p.name === "out");
    expect(out.driver).toBe("null, at most 1000 frames/s");
    expect(out.tx_packets + out.tx_ring_full).toBe(200000);
    expect(out.tx_ring_full).toBeGreaterThan(100000);
    expect(s.drops.tx_ring_full).toBe(out.tx_ring_full);
  });

  it("refuse a rate that is not a number with the one message every driver gives", () => {
    const r = vnfrun(["vnfs/l2fwd.ts", "--port", "in=gen", "--port", "out=null:rate=fast"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^vnfrun: --port out=null:rate=fast: rate=fast: expected a number such as 1000, 2\.5M or 10k\n$/);
  });
});
