// The stateful firewall between namespaces: A (inside, on "in") opens
// connections to B (outside); B cannot open any to A. Real clients and a
// real server: curl, python3's http.server, ping.
import { describe, expect, it } from "vitest";
import { canUseNetns, createTopology, whyNoNetns } from "../helpers/netns";
import { missing, pings, quietHosts, start, succeeds, waitFor } from "./fixtures/live";

const VNF = "vnfs/stateful-firewall.ts";

const CONFIG = JSON.stringify({
  rules: [
    { action: "deny", from: "in", proto: "tcp", dport: 8083 },   // a blocked port
    { action: "allow", from: "in" },
  ],
  defaultAction: "deny",
  logDrops: 5,
});

function curl(ns: string, url: string, topo: ReturnType<typeof createTopology>): { ok: boolean; body: string } {
  try {
    return { ok: true, body: topo.exec(ns, ["curl", "-sS", "--max-time", "3", url], { timeoutMs: 10_000 }) };
  } catch {
    return { ok: false, body: "" };
  }
}

describe("stateful firewall between namespaces", () => {
  const why = missing(canUseNetns, whyNoNetns, ["ping", "curl", "python3"]);
  it.skipIf(!!why)(`lets connections opened from inside pass both ways and refuses unsolicited ones${why ? ` (skipped: ${why})` : ""}`, async () => {
    const topo = createTopology();
    const servers: ReturnType<typeof topo.spawn>[] = [];
    try {
      quietHosts(topo);
      for (const [ns, port] of [[topo.b, 8080], [topo.b, 8083], [topo.a, 8081]] as const) {
        servers.push(topo.spawn(ns, ["python3", "-m", "http.server", String(port), "--bind", ns === topo.a ? topo.aIp : topo.bIp, "--directory", "/etc"]));
      }
      const run = start(topo, VNF, ["--port", "in=packet:v0", "--port", "out=packet:v1", "--config", CONFIG], 25);
      try {
        await waitFor("ping from A to B through the firewall", 15_000, () => pings(topo.a, topo.bIp), run);
        await waitFor("the http servers", 10_000, () => succeeds(topo.b, ["sh", "-c", "ss -ltn | grep -q ':8080 '"]) && succeeds(topo.a, ["sh", "-c", "ss -ltn | grep -q ':8081 '"]));
        // Inside -> outside: the reply direction passes, the whole file arrives.
        const got = curl(topo.a, `http://${topo.bIp}:8080/hostname`, topo);
        expect(got.ok).toBe(true);
        expect(got.body).toBe(topo.exec(topo.b, ["cat", "/etc/hostname"]));
        for (let i = 0; i < 5; i++) expect(curl(topo.a, `http://${topo.bIp}:8080/passwd`, topo).body).toMatch(/^root:/);
        // A blocked port really refuses (the SYN never arrives).
        expect(curl(topo.a, `http://${topo.bIp}:8083/hostname`, topo).ok).toBe(false);
        // Outside -> inside: not opened from inside, so not let in (neither TCP nor ping),
        // though A's server listens and the path works the other way.
        expect(curl(topo.b, `http://${topo.aIp}:8081/hostname`, topo).ok).toBe(false);
        expect(succeeds(topo.b, ["ping", "-c", "2", "-W", "0.5", topo.aIp], 4000)).toBe(false);
        expect(curl(topo.a, `http://${topo.bIp}:8080/hostname`, topo).ok).toBe(true);
      } finally {
        run.kill();
      }
      const s = await run.done.catch(() => null);
      const err = run.stderr();
      // Drops are logged with their cause and tuple.
      expect(err).toMatch(new RegExp(`drop denied by a rule: tcp ${topo.aIp.replace(/\./g, "\\.")}:\\d+ -> ${topo.bIp.replace(/\./g, "\\.")}:8083 flags 0x2 from in`));
      expect(err).toMatch(new RegExp(`drop by the default action: tcp ${topo.bIp.replace(/\./g, "\\.")}:\\d+ -> ${topo.aIp.replace(/\./g, "\\.")}:8081 flags 0x2 from out`));
      void s;
    } finally {
      for (const p of servers) if (p.exitCode === null) p.kill("SIGKILL");
      topo.destroy();
    }
  }, 90_000);
});
