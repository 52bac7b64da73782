// vnfs/impair.ts between two namespaces on live ports: ping sees the delay
// it adds (both ways) and the loss it makes, and the kernel's TCP gets a
// 1 MB file through loss, duplication, jitter and reordering intact.
import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { canUseNetns, createTopology, whyNoNetns, type Topology } from "../helpers/netns";
import { missing, pings, quietHosts, start, succeeds, waitFor, type Summary } from "./fixtures/live";

const IMPAIR = "vnfs/impair.ts";
const PORTS = ["--port", "in=packet:v0", "--port", "out=packet:v1"];
const why = missing(canUseNetns, whyNoNetns, ["ping", "python3", "curl"]);

/** ping -c N from A to B: per-reply RTTs (ms) and how many came back. */
function ping(topo: Topology, n: number, interval: string): { rtts: number[]; received: number } {
  let out = "";
  try {
    out = topo.exec(topo.a, ["ping", "-n", "-c", String(n), "-i", interval, "-W", "1", topo.bIp], { timeoutMs: 60_000 });
  } catch (e) {
    out = String((e as { stdout?: string }).stdout ?? "");   // ping exits 1 when some are lost
  }
  const rtts = [...out.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
  return { rtts, received: rtts.length };
}

async function withImpair<T>(config: object, seconds: number, body: (topo: Topology) => Promise<T> | T, offloads = true): Promise<{ result: T; summary: Summary }> {
  const topo = createTopology({ offloads });
  try {
    quietHosts(topo);
    const run = start(topo, IMPAIR, [...PORTS, "--config", JSON.stringify(config)], seconds);
    try {
      await waitFor("ping from A to B through impair", 15_000, () => pings(topo.a, topo.bIp), run);
      const result = await body(topo);
      run.proc.kill("SIGINT");   // ends the run with its summary
      return { result, summary: await run.done };
    } finally {
      run.kill();
    }
  } finally {
    topo.destroy();
  }
}

const counters = (s: Summary) => s.vnf_counters as Record<string, number>;
const core = (s: Summary, k: string) => s.cores.reduce((t, c) => t + c[k], 0);

describe.skipIf(!!why)(`impair.ts on live ports${why ? ` (skipped: ${why})` : ""}`, () => {
  it("adds its delay each way (ping's RTT) and drops about its loss rate", async () => {
    const delayed = await withImpair({ delay: 25 }, 60, (topo) => ping(topo, 10, "0.1"));
    expect(delayed.result.received).toBe(10);
    expect(Math.min(...delayed.result.rtts), "no reply faster than two 25 ms delays").toBeGreaterThanOrEqual(50);
    expect(Math.max(...delayed.result.rtts), "nor much slower").toBeLessThan(150);
    expect(core(delayed.summary, "kept")).toBe(core(delayed.summary, "released") + core(delayed.summary, "kept_forgotten"));

    // 20% each way: a reply comes back with probability 0.8 x 0.8.
    const lossy = await withImpair({ loss: 20, seed: 4 }, 60, (topo) => ping(topo, 300, "0.01"));
    const answered = lossy.result.received / 300;
    expect(answered).toBeGreaterThan(0.52);
    expect(answered).toBeLessThan(0.76);
    expect(counters(lossy.summary).lost).toBe(lossy.summary.drops.vnf_drops);
  }, 120_000);

  it("lets the kernel's TCP carry a file intact through loss, duplication, jitter and reordering", async () => {
    const data = randomBytes(1 << 20);
    const sha = createHash("sha256").update(data).digest("hex");
    const config = { delay: 4, jitter: 2, loss: 1, duplicate: 2, reorder: 5, seed: 9 };
    const { result, summary } = await withImpair(config, 60, async (topo) => {
      // Python's HTTP server in B; curl in A.
      topo.exec(topo.b, ["sh", "-c", "mkdir -p /tmp/$0 && cat > /tmp/$0/f", topo.tag], { input: data as unknown as string });
      const server = topo.spawn(topo.b, ["python3", "-m", "http.server", "8099", "--bind", topo.bIp, "--directory", `/tmp/${topo.tag}`]);
      try {
        await waitFor("the HTTP server in B", 10_000, () => succeeds(topo.b, ["sh", "-c", "ss -ltn | grep -q ':8099 '"]));
        const got = topo.exec(topo.a, ["sh", "-c", `curl -sf --max-time 30 http://${topo.bIp}:8099/f | sha256sum`], { timeoutMs: 40_000 });
        return got.split(" ")[0];
      } finally {
        server.kill("SIGKILL");
        topo.exec(topo.b, ["rm", "-rf", `/tmp/${topo.tag}`]);
      }
    }, false);   // wire-size frames: a loss model on 64 KiB super-frames is no model
    expect(result).toBe(sha);
    const c = counters(summary);
    expect(c.lost, "frames lost").toBeGreaterThan(0);
    expect(c.duplicated, "frames duplicated").toBeGreaterThan(0);
    expect(c.reordered, "frames sent past delayed ones").toBeGreaterThan(0);
    expect(c.overflow).toBe(0);
    expect(c.notDuplicated, "every frame picked was copied (all fit a fresh buffer)").toBe(0);
  }, 120_000);
});
