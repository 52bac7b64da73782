// --count stops exactly: a run that stops by count receives that many
// packets, hands each to the VNF and retires it, in every distribution mode.
// Many short runs of a slow loop VNF over pipes (src -> pipe -> dst), with a
// count below two batches, so the cores' reservations of the last packets
// overlap; a core that stops early leaves frames in its pipe and the count
// is never reached.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { frame, readPcap, writePcap } from "./helpers/pcap";
import { vnfrun } from "./helpers/tools";

const dir = mkdtempSync(join(tmpdir(), "vnfrun-count-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// 50 frames over 20 flows, so both cores get some in hw mode.
const FRAMES = 50;
const input = join(dir, "in.pcap");
writePcap(input, Array.from({ length: FRAMES }, (_, i) =>
  frame({ src: [198, 18, 0, i % 20], dst: [198, 19, 0, 1], sport: 1000 + (i % 20), dport: 9, proto: 17 }, i)));

const BUDGET_MS = 15_000;  // per mode: as many runs as fit (before the fix, hw lost frames in 2 of the first 14)

describe("--count", () => {
  it.each([["hw"], ["sw1"], ["sw2"]])("%s, 2 cores: every run receives exactly the count and delivers every frame", (dist) => {
    const deadline = Date.now() + BUDGET_MS;
    const failures: string[] = [];
    let runs = 0;
    for (; runs < 40 && (runs < 5 || Date.now() < deadline); runs++) {
      const out = join(dir, `out-${dist}-${runs}.pcap`);
      const r = vnfrun(["test/fixtures/slow-loop.ts", "--cores", "2", "--dist", dist, "--rx-batch", "64", "--busy-poll",
        "--port", `src=pcap:${input}`, "--port", `a=pipe:loop${runs}`, "--port", `b=pipe:loop${runs}`,
        "--port", `dst=pcap:${out},write`, "--count", String(2 * FRAMES), "--duration", "10", "--json"]);
      if (r.code !== 0) { failures.push(`run ${runs}: exited ${r.code}: ${r.stderr.trim()}`); continue; }
      const s = JSON.parse(r.stdout);
      const received = s.cores.reduce((n: number, c: any) => n + c.packets, 0);
      const delivered = readPcap(out).length;
      if (received !== 2 * FRAMES || delivered !== FRAMES)
        failures.push(`run ${runs}: received ${received} of ${2 * FRAMES}, delivered ${delivered} of ${FRAMES}, per core ${s.cores.map((c: any) => c.packets)}`);
    }
    expect(failures).toEqual([]);
    expect(runs).toBeGreaterThanOrEqual(5);
  }, 120_000);
});
