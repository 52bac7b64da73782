// A core's stand-in (native/stand_in.h) end to end: vnfrun in namespace V
// forwards between veths with a VNF that goes away for 40 ms every 250 ms,
// iperf3 sends UDP from A to B through it at a rate that overflows the
// port's 256-slot ring within each stall. With the stand-in (the default)
// nothing is lost and nothing is reordered; with --backlog 0 the same run
// loses frames to the full ring, which shows the stalls were real.
import { describe, expect, it } from "vitest";
import { canUseNetns, createTopology, whyNoNetns } from "../helpers/netns";
import { iperf, missing, pings, quietHosts, start, waitFor, type Summary } from "./fixtures/live";

const STALL = "test/live/fixtures/stall.ts";
const PORTS = ["--port", "in=packet:v0", "--port", "out=packet:v1"];
const why = missing(canUseNetns, whyNoNetns, ["ping", "iperf3"]);

interface Outcome { lostPercent: number; outOfOrder: number; summary: Summary }

/** iperf3 UDP, 30 kpps of 100-byte datagrams for 4 s, A to B through the stalling VNF. */
async function stalledRun(extra: string[]): Promise<Outcome> {
  const topo = createTopology();
  try {
    quietHosts(topo);
    const run = start(topo, STALL, [...PORTS, ...extra], 9);
    try {
      await waitFor("ping from A to B through vnfrun", 15_000, () => pings(topo.a, topo.bIp), run);
      const udp = await iperf(topo, topo.bIp, ["-u", "-b", "24M", "-l", "100", "-w", "4M"], 4);
      const summary = await run.done;
      return { lostPercent: udp.lostPercent!, outOfOrder: udp.outOfOrder ?? 0, summary };
    } finally {
      run.kill();
    }
  } finally {
    topo.destroy();
  }
}

describe.skipIf(!!why)(`a core's stand-in on a live port${why ? ` (skipped: ${why})` : ""}`, () => {
  it("a core away 40 ms at a time loses nothing and reorders nothing; with --backlog 0 the ring overflows", async () => {
    const held = await stalledRun([]);
    expect(held.summary.ports.in.rx_ring_full, "frames the ring dropped with the stand-in").toBe(0);
    expect(held.lostPercent, "iperf3's lost datagrams with the stand-in").toBe(0);
    expect(held.outOfOrder, "iperf3's out-of-order datagrams").toBe(0);
    expect(held.summary.cores[0].stand_in_frames, "frames the stand-in took").toBeGreaterThan(1000);

    const bare = await stalledRun(["--backlog", "0"]);
    expect(bare.summary.ports.in.rx_ring_full, "without a stand-in the stalls overflow the ring").toBeGreaterThan(0);
    expect(bare.lostPercent).toBeGreaterThan(0);
    expect(bare.summary.cores[0].stand_in_frames).toBe(0);
  }, 90_000);
});
