// vnfs/http-static.ts against curl over the kernel's TCP, across namespaces:
// a 20 MB download byte-exact, HEAD, a byte range, a 404, a 405, the index,
// and two requests on one kept-alive connection.
//
//   [A: a0 10.200.0.1, curl] ---veth--- [V: v0 | vnfrun http-static --ip 10.200.0.99/24]
import { randomBytes, createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { canUseNetns, createTopology, whyNoNetns } from "../helpers/netns";
import { missing, start, succeeds, waitFor } from "./fixtures/live";

const VNF_IP = "10.200.0.99";
const why = missing(canUseNetns, whyNoNetns, ["curl", "ping"]);

describe.skipIf(!!why)(`http-static against curl${why ? ` (skipped: ${why})` : ""}`, () => {
  it("serves a 20 MB file byte-exact, HEAD, a range, 404, 405, the index, and keeps the connection alive", async () => {
    const site = mkdtempSync(join(tmpdir(), "vnfrun-site-"));
    const big = randomBytes(20_000_000);
    writeFileSync(join(site, "big.bin"), big);
    writeFileSync(join(site, "index.html"), "<h1>hello from a VNF</h1>\n");
    mkdirSync(join(site, "docs"));
    writeFileSync(join(site, "docs", "a.txt"), "a text file\n");
    const topo = createTopology({ offloads: false });
    try {
      topo.exec(topo.v, ["sysctl", "-qw", "net.ipv6.conf.v0.disable_ipv6=1"]);
      const run = start(topo, "vnfs/http-static.ts", ["--allow-node", "--port", "packet:v0", "--ip", `${VNF_IP}/24`, "--config", JSON.stringify({ root: site })], 40);
      try {
        await waitFor("the VNF answering ping", 15_000, () => succeeds(topo.a, ["ping", "-c", "1", "-W", "0.5", VNF_IP]), run);
        const url = (p: string) => `http://${VNF_IP}${p}`;
        const curl = (args: string[]) => topo.exec(topo.a, ["curl", "-s", "--max-time", "30", ...args], { timeoutMs: 40_000 });

        const got = topo.exec(topo.a, ["sh", "-c", `curl -s --max-time 30 ${url("/big.bin")} | sha256sum`], { timeoutMs: 40_000 }).split(" ")[0];
        expect(got, "the download's SHA-256").toBe(createHash("sha256").update(big).digest("hex"));

        const head = curl(["-I", url("/big.bin")]);
        expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
        expect(head).toMatch(/\r\nContent-Length: 20000000\r\n/);
        expect(head).toMatch(/\r\nAccept-Ranges: bytes\r\n/);

        const range = topo.exec(topo.a, ["sh", "-c", `curl -s -r 1000000-1000999 -w '%{http_code}' -o /tmp/${topo.tag}.part ${url("/big.bin")} && sha256sum /tmp/${topo.tag}.part && rm /tmp/${topo.tag}.part`]);
        expect(range.slice(0, 3)).toBe("206");
        expect(range.slice(3).split(" ")[0]).toBe(createHash("sha256").update(big.subarray(1_000_000, 1_001_000)).digest("hex"));
        expect(curl(["-o", "/dev/null", "-w", "%{http_code}", "-r", "30000000-", url("/big.bin")])).toBe("416");

        expect(curl(["-o", "/dev/null", "-w", "%{http_code}", url("/nothing-here")])).toBe("404");
        expect(curl(["--path-as-is", "-o", "/dev/null", "-w", "%{http_code}", url("/../etc/passwd")])).toBe("404");
        expect(curl(["-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", url("/index.html")])).toBe("405");
        expect(curl([url("/")])).toBe("<h1>hello from a VNF</h1>\n");

        // Two URLs in one curl: the second goes over the same connection.
        const both = topo.exec(topo.a, ["sh", "-c", `curl -sv ${url("/docs/a.txt")} ${url("/index.html")} 2>&1`]);
        expect(both).toMatch(/Re-using existing connection/);
        expect(both).toContain("a text file");
        expect(both).toContain("hello from a VNF");

        run.proc.kill("SIGINT");
        const counters = (await run.done).vnf_counters as Record<string, number>;
        expect(counters.http_not_found).toBe(2);
        expect(counters.http_requests).toBe(10);
        expect(counters.http_bytes, "body bytes: the file, the range, two index pages, a.txt, two 404 pages").toBe(20_000_000 + 1000 + 26 * 2 + 12 + 10 * 2);
      } finally {
        run.kill();
      }
    } finally {
      topo.destroy();
      rmSync(site, { recursive: true, force: true });
    }
  }, 120_000);
});
