// A lost core on a live port (supervisor.ts startWorker): vnfrun in
// namespace V forwards between veths with a VNF that gets stuck in
// process() once, while iperf3 sends UDP from A to B through it. The
// watchdog ends the core's worker after --vnf-timeout, a new worker takes
// the core, and the traffic goes on: what arrived during the stall waited
// with the core's stand-in; only the batch in hand is lost.
import { describe, expect, it } from "vitest";
import { canUseNetns, createTopology, whyNoNetns } from "../helpers/netns";
import { iperf, missing, pings, quietHosts, start, waitFor } from "./fixtures/live";

const why = missing(canUseNetns, whyNoNetns, ["ping", "iperf3"]);

describe.skipIf(!!why)(`a lost core on a live port${why ? ` (skipped: ${why})` : ""}`, () => {
  it.each(["v8", "quickjs"])("is started again within the run (--context %s): iperf3's datagrams keep arriving, in order", async (context) => {
    const topo = createTopology();
    try {
      quietHosts(topo);
      const run = start(topo, "test/fixtures/dies-once.ts", ["--port", "in=xdp:v0", "--port", "out=xdp:v1", "--context", context,
        "--vnf-timeout", "1", "--config", '{"after":300}'], 9);
      try {
        await waitFor("ping from A to B through vnfrun", 15_000, () => pings(topo.a, topo.bIp), run);
        // 2,000 datagrams a second for 5 s: the stall (1 s and the restart) falls inside.
        const udp = await iperf(topo, topo.bIp, ["-u", "-b", "1.6M", "-l", "100", "-w", "4M"], 5);   // a receive buffer for the backlog's burst
        const s = await run.done;
        const restarts = s.restarts as { reason: string }[];
        expect(restarts.map((r) => r.reason)).toEqual(["process() had not returned after 1 s (--vnf-timeout; an endless loop?)"]);
        expect(s.drops.vnf_restart, "the batch in hand").toBeGreaterThan(0);
        expect(s.drops.vnf_restart).toBeLessThanOrEqual(256);
        expect(s.cores[0].stand_in_frames, "what arrived while the core was lost waited").toBeGreaterThan(1000);
        expect(udp.lostPercent, "iperf3's lost datagrams (of 10,000): about the batch in hand").toBeLessThan(0.5);
        expect(udp.outOfOrder ?? 0).toBe(0);
        expect((s.vnf_counters as Record<string, number>).dies_starts).toBe(2);
      } finally {
        run.kill();
      }
    } finally {
      topo.destroy();
    }
  }, 60_000);
});
