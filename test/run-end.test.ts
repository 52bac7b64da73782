// What ends a run with no --count or --duration: every input ending, or,
// when devices or pipes (which never end) are open too, every input that can
// end (files, counted generators) followed by a short linger for replies in
// flight. `pcap:trace.pcap` into a device replays the trace and exits.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { frame, readPcap, writePcap } from "./helpers/pcap";
import { vnfrun } from "./helpers/tools";

const dir = mkdtempSync(join(tmpdir(), "vnfrun-end-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FRAMES = 200;
const input = join(dir, "in.pcap");
writePcap(input, Array.from({ length: FRAMES }, (_, i) =>
  frame({ src: [198, 18, 0, i % 20], dst: [198, 19, 0, 1], sport: 1000 + (i % 20), dport: 9, proto: 17 }, i)));

describe("a run ends on its own", () => {
  it.each([["none", "1"], ["hw", "2"], ["sw1", "2"]])(
    "%s: a trace out through a pipe and back in ends the run once replayed, every frame delivered", (dist, cores) => {
      const out = join(dir, `out-${dist}.pcap`);
      const t0 = Date.now();
      const r = vnfrun(["test/fixtures/slow-loop.ts", "--cores", cores, "--dist", dist,
        "--port", `src=pcap:${input}`, "--port", "a=pipe:loop", "--port", "b=pipe:loop",
        "--port", `dst=pcap:${out},write`, "--json"], { timeoutMs: 30_000 });
      const took = Date.now() - t0;
      expect(r.code, r.stderr).toBe(0);
      expect(readPcap(out).length).toBe(FRAMES);
      expect(took).toBeLessThan(25_000);  // not a timing assertion: the run must not hang until the harness kills it
    });

  it("a generator with no count into a pipe runs until --duration", () => {
    const r = vnfrun(["vnfs/l2fwd.ts", "--port", "in=gen", "--port", "out=pipe:x", "--duration", "1", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).ports[0].rx_packets).toBeGreaterThan(0);
  });
});
