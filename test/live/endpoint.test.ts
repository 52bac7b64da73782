// VNFs that are endpoints, against the kernel's own tools across network
// namespaces: ping and ping -6 answered by the runtime, the kernel's
// neighbour table learning the port's MAC, a static --arp entry used with
// no ARP request on the wire (tshark) and not replaced by forged replies
// (scapy), udp-blast counted exactly by a kernel receiver and a kernel
// sender counted exactly by udp-sink.
//
//   [A: a0 10.200.0.1, fd00::1] ---veth--- [V: v0 | vnfrun --ip 10.200.0.99/24 --ip fd00::99/64]
import { execFileSync, spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { canUseNetns, createTopology, whyNoNetns, type Topology } from "../helpers/netns";
import { missing, start, succeeds, waitFor, type Running } from "./fixtures/live";

const VNF_IP = "10.200.0.99", VNF_IP6 = "fd00::99";

function linkMac(ns: string, dev: string): string {
  return JSON.parse(execFileSync("ip", ["-n", ns, "-j", "link", "show", "dev", dev], { encoding: "utf8" }))[0].address;
}

async function withHost(body: (t: Topology) => Promise<void>): Promise<void> {
  const topo = createTopology();
  try {
    topo.exec(topo.a, ["ip", "addr", "add", "fd00::1/64", "dev", "a0", "nodad"]);
    topo.exec(topo.v, ["sysctl", "-qw", "net.ipv6.conf.v0.disable_ipv6=1"]);   // V's kernel stays out of it
    await body(topo);
  } finally {
    topo.destroy();
  }
}

// A kernel UDP receiver in A counting datagrams on port 9000 until, after
// the first (up to 60 s away: vnfrun starts slowly on a busy machine),
// `idle` s pass with none.
const RECEIVER = `import socket,sys
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET,33,64<<20)
s.bind(("10.200.0.1",9000))
print("ready",flush=True)
s.settimeout(60)
d=s.recv(65536);n=1;b=len(d)
s.settimeout(float(sys.argv[1]))
try:
  while True:
    d=s.recv(65536);n+=1;b+=len(d)
except socket.timeout: pass
print(n,b,flush=True)`;
// A kernel UDP sender: N datagrams of SIZE bytes to HOST:9000, RATE a second.
const SENDER = `import socket,sys,time
n,size,rate=int(sys.argv[1]),int(sys.argv[2]),float(sys.argv[3])
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)
d=bytes(size);t0=time.time()
for i in range(n):
  while time.time()-t0 < i/rate: pass
  s.sendto(d,("${VNF_IP}",9000))`;

function output(p: ReturnType<Topology["spawn"]>): { text: () => string; closed: Promise<void> } {
  let out = "";
  p.stdout!.on("data", (d) => (out += d));
  return { text: () => out, closed: new Promise((r) => p.on("close", () => r())) };
}

describe("the runtime answers for the port's addresses", () => {
  const why = missing(canUseNetns, whyNoNetns, ["ping"]);
  it.skipIf(!!why)(`ping, ping -6, and the kernel's neighbour table learns the port's MAC${why ? ` (skipped: ${why})` : ""}`, async () => {
    await withHost(async (topo) => {
      const run = start(topo, "test/fixtures/host.ts", ["--port", "packet:v0", "--ip", `${VNF_IP}/24`, "--ip", `${VNF_IP6}/64`], 8);
      try {
        await waitFor("ping", 10_000, () => succeeds(topo.a, ["ping", "-c", "1", "-W", "0.5", VNF_IP]), run);
        expect(succeeds(topo.a, ["ping", "-c", "3", "-i", "0.2", "-W", "1", VNF_IP])).toBe(true);
        expect(succeeds(topo.a, ["ping", "-6", "-c", "3", "-i", "0.2", "-W", "1", VNF_IP6])).toBe(true);
        const mac = linkMac(topo.v, "v0");
        const neigh = topo.exec(topo.a, ["ip", "neigh", "show", "dev", "a0"]);
        expect(neigh).toMatch(new RegExp(`${VNF_IP.replace(/\./g, "\\.")} lladdr ${mac}`));
        expect(neigh).toMatch(new RegExp(`${VNF_IP6} lladdr ${mac}`));
        // UDP to a closed port: the kernel's sender hears port unreachable (ECONNREFUSED).
        const refused = topo.exec(topo.a, ["python3", "-c", `import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.connect(("${VNF_IP}",4444))\ns.settimeout(2)\ns.send(b"x")\ntry:\n s.recv(10)\nexcept ConnectionRefusedError:\n print("refused")\nexcept socket.timeout:\n print("timeout")`]);
        expect(refused.trim()).toBe("refused");
        // 2000 echo requests at 5000 a second: answers stop at the rate limit
        // (1000 a second after a burst of 50), the rest are counted.
        const t0 = Date.now();
        spawnSync("ip", ["netns", "exec", topo.a, "ping", "-q", "-c", "2000", "-i", "0.0002", "-W", "1", VNF_IP], { stdio: "ignore", timeout: 20_000 });
        const flood = (Date.now() - t0) / 1000;
        const s = (await run.done) as any;
        const answered = s.cores.reduce((a: number, c: any) => a + c.echo_answered, 0);
        expect(s.drops.endpoint_malformed).toBe(0);
        expect(s.drops.udp_closed).toBe(1);
        expect(s.drops.icmp_rate_limited).toBeGreaterThan(0);
        expect(answered + s.drops.icmp_rate_limited).toBeGreaterThanOrEqual(2007);   // each request answered or counted (2000 + 3 + 3 + the probes)
        expect(answered - 7).toBeLessThanOrEqual(50 + 1000 * flood + 50);
      } finally {
        run.kill();
      }
    });
  }, 60_000);

  it.skipIf(!!why)(`a bad --ip, --arp, --gateway or --tcp-memory is one line naming it${why ? ` (skipped: ${why})` : ""}`, () => {
    const bad = (args: string[]) => {
      try {
        execFileSync(process.execPath, ["bin/vnfrun.js", "test/fixtures/host.ts", "--port", "sink", ...args], { encoding: "utf8", stdio: "pipe" });
        return "";
      } catch (e: any) {
        return String(e.stderr).trim();
      }
    };
    expect(bad(["--ip", "10.0.0.1"])).toMatch(/--ip 10\.0\.0\.1: give the prefix length/);
    expect(bad(["--ip", "10.0.0.300/24"])).toMatch(/--ip 10\.0\.0\.300\/24/);
    expect(bad(["--ip", "10.0.0.1/24", "--gateway", "10.9.9.9"])).toMatch(/--gateway 10\.9\.9\.9: not on a subnet of port net/);
    expect(bad(["--ip", "10.0.0.1/24", "--arp", "10.0.0.2=zz"])).toMatch(/--arp 10\.0\.0\.2=zz: zz is not a MAC address/);
    expect(bad(["--arp", "10.0.0.2=02:00:00:00:00:02"])).toMatch(/needs an address on the port/);
    expect(bad(["--ip", "wan=10.0.0.1/24"])).toMatch(/no port named wan/);
    expect(bad(["--tcp-memory", "64m"])).toMatch(/--tcp-memory: TCP endpoints need an address on the port: add --ip/);
    expect(bad(["--ip", "10.0.0.1/24", "--tcp-memory", "lots"])).toMatch(/--tcp-memory lots: give the TCP buffer memory per core as a size/);
    expect(bad(["--ip", "10.0.0.1/24", "--tcp-memory", "1k"])).toMatch(/--tcp-memory 1k: .* from 64k/);
    for (const line of [bad(["--ip", "10.0.0.1"]), bad(["--ip", "10.0.0.1/24", "--gateway", "10.9.9.9"])]) expect(line.split("\n").length).toBe(1);
  });
});

describe("UDP apps against kernel sockets", () => {
  const why = missing(canUseNetns, whyNoNetns, ["python3", "tshark"]);
  for (const [dist, fixed] of [["hw", true], ["sw1", false]] as const)
    it.skipIf(!!why)(`udp-blast (${dist}, 2 cores) -> kernel receiver, exactly; ${fixed ? "a static --arp entry: no ARP request on the wire, forged replies ignored" : "the receiver resolved by ARP"}${why ? ` (skipped: ${why})` : ""}`, async () => {
      await withHost(async (topo) => {
        const aMac = linkMac(topo.a, "a0");
        const recv = topo.spawn(topo.a, ["python3", "-c", RECEIVER, "3"]);
        const got = output(recv);
        const tshark = topo.spawn(topo.a, ["tshark", "-q", "-i", "a0", "-a", "duration:9", "-f", "arp", "-T", "fields", "-e", "arp.opcode", "-e", "arp.src.proto_ipv4", "-e", "arp.dst.proto_ipv4"]);
        const arps = output(tshark);
        let run: Running | undefined;
        try {
          await waitFor("the kernel receiver", 10_000, () => got.text().includes("ready"));
          await new Promise((r) => setTimeout(r, 2500));   // tshark starts slowly
          // Forged: "10.200.0.1 is at 02:66:...", unsolicited, before and while blasting.
          const forge = `from scapy.all import *\nimport time\nfor i in range(20):\n sendp(Ether(dst="ff:ff:ff:ff:ff:ff",src="02:66:66:66:66:66")/ARP(op=2,psrc="10.200.0.1",hwsrc="02:66:66:66:66:66",pdst="${VNF_IP}"),iface="a0",verbose=0)\n time.sleep(0.1)`;
          const forger = topo.spawn(topo.a, fixed ? ["python3", "-c", forge] : ["true"]);
          // 4000 a second per core: room to wait for the ARP answer, which
          // takes over 100 ms on a loaded machine (--arp-queue, per core).
          const count = 4000;
          run = start(topo, "vnfs/udp-blast.ts", ["--port", "packet:v0", "--ip", `${VNF_IP}/24`, ...(fixed ? ["--arp", `10.200.0.1=${aMac}`] : ["--arp-queue", "4096", "--arp-age", "0.5"]), "--cores", "2", "--dist", dist,
            "--config", JSON.stringify({ to: "10.200.0.1:9000", size: 1000, rate: 4000, count })], 3);
          const s = (await run.done) as any;
          await got.closed;
          forger.kill("SIGKILL");
          await arps.closed;
          const [n, bytes] = got.text().split("\n")[1].split(" ").map(Number);
          expect(s.vnf_counters.blast_datagrams).toBe(2 * count);
          expect(n, JSON.stringify({ drops: s.drops, cores: s.cores })).toBe(2 * count);
          expect(bytes).toBe(2 * count * 1000);
          expect(arps.text(), "tshark saw the gratuitous ARP at start").toMatch(/^1\t10\.200\.0\.99\t10\.200\.0\.99$/m);
          const requests = arps.text().split("\n").filter((l) => l.startsWith("1\t") && l.endsWith("\t10.200.0.1"));
          if (fixed) expect(requests, "no ARP request for the static neighbour").toEqual([]);
          else {
            // Learned, then aged out after 0.5 s and resolved again while sending (1 s).
            expect(requests.length).toBeGreaterThanOrEqual(2);
            expect(s.cores.reduce((a: number, c: any) => a + c.neigh_requests, 0)).toBeGreaterThanOrEqual(2);
          }
          expect(s.drops.neigh_unresolved + s.drops.neigh_queue_full + s.drops.no_route).toBe(0);
        } finally {
          run?.kill();
          recv.kill("SIGKILL");
          tshark.kill("SIGKILL");
        }
      });
    }, 90_000);

  for (const dist of ["hw", "sw1"])
    it.skipIf(!!why)(`kernel sender -> udp-sink (${dist}, 2 cores), exactly; the kernel resolved the VNF by ARP${why ? ` (skipped: ${why})` : ""}`, async () => {
      await withHost(async (topo) => {
        const run = start(topo, "vnfs/udp-sink.ts", ["--port", "packet:v0", "--ip", `${VNF_IP}/24`, "--cores", "2", "--dist", dist, "--config", '{"port":9000}'], 5);
        try {
          await waitFor("the VNF answering ping", 10_000, () => succeeds(topo.a, ["ping", "-c", "1", "-W", "0.5", VNF_IP]), run);
          const n = 6000;
          topo.exec(topo.a, ["python3", "-c", SENDER, String(n), "700", "5000"], { timeoutMs: 20_000 });
          const s = (await run.done) as any;
          expect(s.vnf_counters.sink_datagrams).toBe(n);
          expect(s.vnf_counters.sink_bytes).toBe(n * 700);
          expect(s.drops.udp_closed).toBe(0);
        } finally {
          run.kill();
        }
      });
    }, 60_000);
});

describe("dns.ts answers dig", () => {
  const why = missing(canUseNetns, whyNoNetns, ["dig"]);
  for (const dist of ["hw", "sw1"])
    it.skipIf(!!why)(`${dist}, 2 cores: the zone's answers, NXDOMAIN with the SOA, TC without EDNS, REFUSED outside the zone${why ? ` (skipped: ${why})` : ""}`, async () => {
      await withHost(async (topo) => {
        const run = start(topo, "vnfs/dns.ts", ["--port", "packet:v0", "--ip", `${VNF_IP}/24`, "--ip", `${VNF_IP6}/64`, "--config", "vnfs/dns.example.json", "--cores", "2", "--dist", dist], 8);
        try {
          const dig = (...args: string[]) => topo.exec(topo.a, ["dig", "+time=1", "+tries=2", `@${VNF_IP}`, ...args]);
          await waitFor("dns.ts answering", 15_000, () => { try { return /status: NOERROR/.test(dig("www.example.test", "A")); } catch { return false; } }, run);
          expect(topo.exec(topo.a, ["dig", "+short", "+time=1", "+tries=2", `@${VNF_IP}`, "www.example.test", "A"]).trim().split("\n").sort()).toEqual(["10.0.0.80", "10.0.0.81"]);
          expect(topo.exec(topo.a, ["dig", "+short", "+time=1", "+tries=2", `@${VNF_IP6}`, "www.example.test", "AAAA"]).trim()).toBe("2001:db8::80");
          expect(topo.exec(topo.a, ["dig", "+short", "+time=1", "+tries=2", `@${VNF_IP}`, "example.test", "MX"]).trim()).toBe("10 mail.example.test.");
          expect(topo.exec(topo.a, ["dig", "+short", "+time=1", "+tries=2", `@${VNF_IP}`, "web.example.test", "A"]).trim().split("\n")).toEqual(["www.example.test.", "10.0.0.80", "10.0.0.81"]);
          const nx = dig("nope.example.test", "A");
          expect(nx).toMatch(/status: NXDOMAIN/);
          expect(nx).toMatch(/flags: qr aa/);
          expect(nx).toMatch(/AUTHORITY SECTION:\nexample\.test\.\s+300\s+IN\s+SOA\s+ns1\.example\.test\. hostmaster\.example\.test\. 2026120301/);
          expect(dig("deep.example.test", "A")).toMatch(/status: NOERROR.*\n.*ANSWER: 0, AUTHORITY: 1/);
          const tc = dig("+noedns", "+ignore", "big.example.test", "TXT");
          expect(tc).toMatch(/flags: qr aa tc/);
          const edns = dig("big.example.test", "TXT");
          expect(edns).toMatch(/ANSWER: 12/);
          expect(edns).toMatch(/EDNS: version: 0/);
          expect(dig("example.org", "A")).toMatch(/status: REFUSED/);
          const s = (await run.done) as any;
          expect(s.vnf_counters.dns_truncated).toBeGreaterThanOrEqual(1);
          expect(s.vnf_counters.dns_nxdomain).toBeGreaterThanOrEqual(1);
          expect(s.vnf_counters.dns_formerr + s.vnf_counters.dns_dropped).toBe(0);
        } finally {
          run.kill();
        }
      });
    }, 60_000);
});

describe("udp-blast through neighbour discovery and a gateway", () => {
  const why = missing(canUseNetns, whyNoNetns, ["python3"]);
  // [what, the VNF's extra options, destination, the receiver's family and address]
  const cases = [
    ["IPv6: the next hop resolved by a neighbour solicitation", ["--ip", `${VNF_IP6}/64`], "[fd00::1]:9000", "AF_INET6", "fd00::1"],
    ["IPv4 off-link: sent to --gateway's MAC", ["--ip", `${VNF_IP}/24`, "--gateway", "10.200.0.1"], "192.0.2.1:9000", "AF_INET", "192.0.2.1"],
  ] as const;
  for (const [what, opts, to, family, addr] of cases)
    it.skipIf(!!why)(`${what}: a kernel receiver counts every datagram${why ? ` (skipped: ${why})` : ""}`, async () => {
      await withHost(async (topo) => {
        if (addr === "192.0.2.1") topo.exec(topo.a, ["ip", "addr", "add", "192.0.2.1/32", "dev", "lo"]);   // A is the gateway and the host
        const recv = topo.spawn(topo.a, ["python3", "-c", RECEIVER.replace("socket.AF_INET,", `socket.${family},`).replace('"10.200.0.1"', `"${addr}"`), "2"]);
        const got = output(recv);
        let run: Running | undefined;
        try {
          await waitFor("the kernel receiver", 10_000, () => got.text().includes("ready"));
          run = start(topo, "vnfs/udp-blast.ts", ["--port", "packet:v0", ...opts, "--config", JSON.stringify({ to, size: 500, rate: 2000, count: 2000 })], 3);
          const s = (await run.done) as any;
          await got.closed;
          expect(got.text().split("\n")[1]).toBe("2000 1000000");
          expect(s.cores.reduce((a: number, c: any) => a + c.neigh_requests, 0)).toBeGreaterThanOrEqual(1);
        } finally {
          run?.kill();
          recv.kill("SIGKILL");
        }
      });
    }, 60_000);
});
