// TCP VNFs (sdk/tcp over the engine) against the kernel's TCP across
// network namespaces: tcp-echo returns what a kernel client sends,
// byte-exact (SHA-256 both ways); a kernel sender into tcp-sink is counted
// exactly; tcp-blast's stream reaches a kernel receiver, every byte checked.
//
//   [A: a0 10.200.0.1] ---veth--- [V: v0 | vnfrun --ip 10.200.0.99/24]
import { describe, expect, it } from "vitest";
import { canUseNetns, createTopology, whyNoNetns, type Topology } from "../helpers/netns";
import { missing, start, succeeds, waitFor } from "./fixtures/live";

const VNF_IP = "10.200.0.99";

async function withHost(body: (t: Topology) => Promise<void>): Promise<void> {
  const topo = createTopology({ offloads: false });
  try {
    topo.exec(topo.v, ["sysctl", "-qw", "net.ipv6.conf.v0.disable_ipv6=1"]);
    await body(topo);
  } finally {
    topo.destroy();
  }
}

// A kernel client: sends N pseudo-random bytes while reading the echo, prints both hashes.
const ECHO_CLIENT = `import socket,hashlib,random,sys,threading
n=int(sys.argv[2]); data=random.Random(5).randbytes(n)
c=socket.create_connection((sys.argv[1],7),timeout=30)
got=hashlib.sha256(); cnt=[0]
def rd():
  while cnt[0]<n:
    d=c.recv(1<<20)
    if not d: break
    got.update(d); cnt[0]+=len(d)
t=threading.Thread(target=rd); t.start()
c.sendall(data); t.join(); c.shutdown(socket.SHUT_WR); c.close()
print(hashlib.sha256(data).hexdigest(), got.hexdigest(), cnt[0])`;
// A kernel sender: N bytes to tcp-sink, then waits for its close.
const SENDER = `import socket,sys
n=int(sys.argv[2]); c=socket.create_connection((sys.argv[1],5001),timeout=30)
c.sendall(bytes(range(256))*(n//256)); c.shutdown(socket.SHUT_WR)
while c.recv(65536): pass
print("ok")`;
// A kernel receiver: accepts K connections, checks each stream is p % 251, prints totals.
const RECEIVER = `import socket,sys,threading
k=int(sys.argv[1]); s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)
s.bind(("10.200.0.1",5001)); s.listen(64); print("ready",flush=True)
pat=bytes(i%251 for i in range(251))*((1<<20)//251+2)
res=[]
def one(c):
  p=0; bad=0
  while True:
    d=c.recv(1<<20)
    if not d: break
    o=p%251
    if d!=pat[o:o+len(d)] if len(d)<=len(pat)-o else False: bad+=1
    p+=len(d)
  c.close(); res.append((p,bad))
ts=[]
for i in range(k):
  c,_=s.accept(); t=threading.Thread(target=one,args=(c,)); t.start(); ts.append(t)
for t in ts: t.join()
print(sum(r[0] for r in res), sum(r[1] for r in res))`;

describe("TCP VNFs against the kernel's TCP", () => {
  const why = missing(canUseNetns, whyNoNetns, ["python3"]);

  it.skipIf(!!why)(`tcp-echo returns a kernel client's 4 MB byte-exact${why ? ` (skipped: ${why})` : ""}`, async () => {
    await withHost(async (topo) => {
      const run = start(topo, "vnfs/tcp-echo.ts", ["--port", "packet:v0", "--ip", `${VNF_IP}/24`], 25);
      try {
        await waitFor("the VNF answering ping", 15_000, () => succeeds(topo.a, ["ping", "-c", "1", "-W", "0.5", VNF_IP]), run);
        const [sent, echoed, n] = topo.exec(topo.a, ["python3", "-c", ECHO_CLIENT, VNF_IP, "4000000"], { timeoutMs: 60_000 }).trim().split(" ");
        expect(Number(n)).toBe(4_000_000);
        expect(echoed).toBe(sent);
        const s = (await run.done) as any;
        expect(s.vnf_counters.echo_bytes).toBe(4_000_000);
        expect(s.vnf_counters.tcp_resetsIn ?? 0).toBe(0);
      } finally {
        run.kill();
      }
    });
  }, 120_000);

  for (const context of ["v8", "quickjs"]) it.skipIf(!!why)(`a kernel sender into tcp-sink (--context ${context}) is counted exactly${why ? ` (skipped: ${why})` : ""}`, async () => {
    await withHost(async (topo) => {
      const run = start(topo, "vnfs/tcp-sink.ts", ["--port", "packet:v0", "--ip", `${VNF_IP}/24`, "--context", context], 20);
      try {
        await waitFor("the VNF answering ping", 15_000, () => succeeds(topo.a, ["ping", "-c", "1", "-W", "0.5", VNF_IP]), run);
        expect(topo.exec(topo.a, ["python3", "-c", SENDER, VNF_IP, "8000000"], { timeoutMs: 60_000 }).trim()).toBe("ok");
        const s = (await run.done) as any;
        expect(s.vnf_counters.sink_bytes).toBe(8_000_000);
        expect(s.vnf_counters.sink_connections).toBe(1);
        expect(s.vnf_counters.sink_resets).toBe(0);
        // Its SYN-ACK, the first frame to the sender while its MAC was
        // being resolved, left with a right checksum: no retransmission.
        expect(s.vnf_counters.tcp_retransSegs).toBe(0);
      } finally {
        run.kill();
      }
    });
  }, 120_000);

  it.skipIf(!!why)(`tcp-blast under --tcp-memory opens only the connections the budget holds, counted, and their bytes arrive exact${why ? ` (skipped: ${why})` : ""}`, async () => {
    await withHost(async (topo) => {
      // A connection is charged its buffers' first sizes, 16 KiB to send
      // and 64 KiB of window: 200 KiB holds two of the four asked for.
      const recv = topo.spawn(topo.a, ["python3", "-c", RECEIVER, "2"]);
      let out = "";
      recv.stdout!.on("data", (d) => (out += d));
      const closed = new Promise<void>((r) => recv.on("close", () => r()));
      await waitFor("the receiver", 10_000, () => out.includes("ready"));
      const run = start(topo, "vnfs/tcp-blast.ts", ["--port", "packet:v0", "--ip", `${VNF_IP}/24`, "--tcp-memory", "200k",
        "--config", JSON.stringify({ to: "10.200.0.1:5001", connections: 4, bytes: 3_000_000 })], 15);
      try {
        await Promise.race([closed, run.done.then(() => closed)]);
        const [total, bad] = out.trim().split("\n").pop()!.split(" ").map(Number);
        expect(bad).toBe(0);
        expect(total).toBe(2 * 3_000_000);
        const s = (await run.done) as any;
        expect(s.vnf_counters.blast_connections).toBe(2);
        expect(s.vnf_counters.tcp_memoryRefusedConn).toBe(1);   // tcp-blast stops asking at the first refusal
        expect(s.vnf_counters.tcp_memoryPeak_now).toBeLessThanOrEqual(200 << 10);
        expect(s.vnf_counters.tcp_memoryBytes_now).toBe(0);     // every buffer given back once closed
      } finally {
        run.kill();
        recv.kill();
      }
    });
  }, 120_000);

  for (const [dist, cores] of [["none", 1], ["hw", 2], ["sw1", 2]] as const) {
    const conns = 4 * cores;
    it.skipIf(!!why)(`tcp-blast (${dist}) streams reach a kernel receiver, every byte checked${why ? ` (skipped: ${why})` : ""}`, async () => {
      await withHost(async (topo) => {
        const recv = topo.spawn(topo.a, ["python3", "-c", RECEIVER, String(conns)]);
        let out = "";
        recv.stdout!.on("data", (d) => (out += d));
        const closed = new Promise<void>((r) => recv.on("close", () => r()));
        await waitFor("the receiver", 10_000, () => out.includes("ready"));
        const run = start(topo, "vnfs/tcp-blast.ts", ["--port", "packet:v0", "--ip", `${VNF_IP}/24`, "--cores", String(cores), "--dist", dist, "--config", JSON.stringify({ to: "10.200.0.1:5001", connections: 4, bytes: 2_000_000 })], 20);
        try {
          await Promise.race([closed, run.done.then(() => closed)]); // a vnfrun that fails ends the wait
          const [total, bad] = out.trim().split("\n").pop()!.split(" ").map(Number);
          expect(bad).toBe(0);
          expect(total).toBe(conns * 2_000_000);
          const s = (await run.done) as any;
          expect(s.vnf_counters.blast_connections).toBe(conns); // every core's connections established (replies landed on the opening core)
          expect(s.vnf_counters.blast_resets).toBe(0);
          // Each SYN, held until the receiver's MAC was known, left with a
          // right checksum: no retransmission timeout on a lossless link.
          expect(s.vnf_counters.tcp_rtoExpired).toBe(0);
        } finally {
          run.kill();
          recv.kill();
        }
      });
    }, 120_000);
  }

  // On an xdp port the checksums sdk/tcp leaves to offload go to the kernel
  // in AF_XDP tx metadata (Linux 6.11+). With the veth's tx checksumming
  // off, the kernel sums each segment itself from the position we gave it,
  // and the receiving kernel checks it: a wrong position would be dropped
  // (TcpInCsumErrors) and resent.
  for (const txCsum of ["on", "off"] as const) {
    it.skipIf(!!why)(`tcp-blast on an xdp port hands its checksums to the kernel (v0 tx checksumming ${txCsum}), every byte checked${why ? ` (skipped: ${why})` : ""}`, async () => {
      await withHost(async (topo) => {
        topo.exec(topo.v, ["ethtool", "-K", "v0", "tx", txCsum]);
        const recv = topo.spawn(topo.a, ["python3", "-c", RECEIVER, "2"]);
        let out = "";
        recv.stdout!.on("data", (d) => (out += d));
        const closed = new Promise<void>((r) => recv.on("close", () => r()));
        await waitFor("the receiver", 10_000, () => out.includes("ready"));
        const csumErrors = () => Number(/TcpInCsumErrors\s+(\d+)/.exec(topo.exec(topo.a, ["nstat", "-az", "TcpInCsumErrors"]))?.[1] ?? NaN);
        const before = csumErrors();
        const run = start(topo, "vnfs/tcp-blast.ts", ["--port", "xdp:v0", "--ip", `${VNF_IP}/24`, "--config", JSON.stringify({ to: "10.200.0.1:5001", connections: 2, bytes: 4_000_000 })], 20);
        try {
          await Promise.race([closed, run.done.then(() => closed)]);
          const [total, bad] = out.trim().split("\n").pop()!.split(" ").map(Number);
          expect(bad).toBe(0);
          expect(total).toBe(8_000_000);
          const s = (await run.done) as any;
          const port = Object.values(s.ports)[0] as any;
          if (!/tx metadata/.test(port.driver)) return;   // a kernel before 6.11: the engine sums them (the other tests)
          expect(port.tx_csum_offloaded, "segments whose checksum the kernel finished").toBeGreaterThan(5000);
          expect(csumErrors() - before, "segments the receiver found with a bad checksum").toBe(0);
          // A segment with a bad sum is dropped and resent; a busy machine may
          // resend one on a timer too, so the bound is loose but far below
          // what a wrong checksum position causes (every segment resent).
          expect(s.vnf_counters.tcp_retransSegs).toBeLessThan(port.tx_csum_offloaded / 100);
        } finally {
          run.kill();
          recv.kill();
        }
      });
    }, 120_000);
  }
});
