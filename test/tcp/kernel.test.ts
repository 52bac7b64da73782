// sdk/tcp against the Linux kernel's TCP, byte-exact, as root: the stack
// sits on one end of a TUN device (test/tcp/tun-relay.py carries its IP
// packets), the kernel in a network namespace on the other. Both directions,
// IPv4 and IPv6, clean and with 1% and 5% random loss in both directions:
// toward the kernel by nftables (`numgen random` in the namespace's input
// hook), toward the stack by the test dropping frames from the relay (a
// drop in the kernel's output hook is not a wire loss: TCP is told and
// sends the segment again at once, so no hole ever reaches the peer).
// This proves the protocol core against a real peer; the engine integration
// (VNFs on xdp/packet ports) is separate.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, spawnSync, execFileSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { canUseNetns, whyNoNetns } from "../helpers/netns";
import { TcpStack } from "../../sdk/tcp/stack";
import type { TcpConn } from "../../sdk/tcp/conn";

const hasNft = spawnSync("sh", ["-c", "command -v nft"], { stdio: "ignore" }).status === 0;
const tag = `vt${process.pid % 100000}${Math.floor(Math.random() * 100)}`;
const ns = `${tag}k`, dev = "tk0";
let relay: ChildProcess | null = null;
let stack: TcpStack;
let timer: NodeJS.Timeout | null = null;

function ip(args: string[]): void { execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] }); }

/** The stack's link: packets framed to the relay's stdin, written once per cycle. */
class RelayOut {
  bytes = new Uint8Array(70_000);
  private frames: Buffer[] = [];
  alloc(len: number): number { return len + 2 <= this.bytes.length ? 2 : -1; }
  send(off: number, len: number): void {
    const f = Buffer.allocUnsafe(len + 2);
    f.writeUInt16BE(len, 0);
    f.set(this.bytes.subarray(off, off + len), 2);
    this.frames.push(f);
  }
  push(): void {
    if (this.frames.length === 0 || relay === null) return;
    relay.stdin!.write(Buffer.concat(this.frames));
    this.frames = [];
  }
}
const out = new RelayOut();

function cycle(): void { stack.poll(); out.push(); }

/** Percent of the kernel's packets lost on their way to the stack. */
let lossToStack = 0;
let lossRng = 12345;
function lostToStack(): boolean {
  if (lossToStack === 0) return false;
  lossRng ^= lossRng << 13; lossRng ^= lossRng >>> 17; lossRng ^= lossRng << 5;
  return ((lossRng >>> 0) % 100) < lossToStack;
}

function setLoss(pct: number): void {
  lossToStack = pct;
  spawnSync("ip", ["netns", "exec", ns, "nft", "delete", "table", "inet", "impair"], { stdio: "ignore" });
  if (pct === 0) return;
  const rules = `table inet impair {
    chain in { type filter hook input priority 0; iifname "${dev}" numgen random mod 100 < ${pct} drop; }
  }`;
  execFileSync("ip", ["netns", "exec", ns, "nft", "-f", "-"], { input: rules });
}

function kernel(script: string, args: string[], listening?: () => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn("ip", ["netns", "exec", ns, "python3", "-c", script, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let so = "", se = "";
    p.stdout.on("data", (d) => {
      so += d;
      if (listening !== undefined && so.startsWith("listening\n")) { so = so.slice(10); listening(); listening = undefined; }
    });
    p.stderr.on("data", (d) => { se += d; });
    p.on("exit", (code) => (code === 0 ? resolve(so.trim()) : reject(new Error(`kernel side exited ${code}: ${se}`))));
  });
}

// A kernel receiver: accepts one connection, prints bytes and SHA-256 at EOF.
const SINK = `
import socket, hashlib, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1)
print("listening", flush=True)
c, _ = s.accept(); h = hashlib.sha256(); n = 0
while True:
    d = c.recv(1 << 20)
    if not d: break
    h.update(d); n += len(d)
c.close(); print(n, h.hexdigest(), flush=True)
`;
// A kernel sender: connects, sends N pseudo-random bytes, half-closes, waits for the peer's FIN.
const BLAST = `
import socket, hashlib, sys, random
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
n = int(sys.argv[3]); data = random.Random(7).randbytes(n)
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=60)
c.sendall(data); c.shutdown(socket.SHUT_WR)
while c.recv(65536): pass
c.close(); print(n, hashlib.sha256(data).hexdigest())
`;

function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const iv = setInterval(() => {
      if (cond()) { clearInterval(iv); resolve(); } else if (Date.now() - t0 > ms) { clearInterval(iv); reject(new Error(`timed out waiting for ${what}`)); }
    }, 5);
  });
}

/** The stack receives from a kernel sender. */
async function kernelToStack(v6: boolean, size: number, port: number): Promise<void> {
  const h = createHash("sha256");
  let n = 0, resets = 0;
  const l = stack.listen(port, {
    accepted: () => {},
    data: (_c, b, off, len) => { h.update(b.subarray(off, off + len)); n += len; },
    end: (c) => { c.close(); out.push(); },
    reset: () => { resets++; },
  });
  try {
    const r = await kernel(BLAST, [v6 ? "fd01::2" : "10.201.0.2", String(port), String(size)]);
    expect(resets).toBe(0);
    expect(`${n} ${h.digest("hex")}`).toBe(r);
  } finally { l.close(); }
}

/** The stack sends to a kernel receiver. */
async function stackToKernel(v6: boolean, size: number, port: number): Promise<void> {
  let ready!: () => void;
  const listening = new Promise<void>((r) => { ready = r; });
  const sink = kernel(SINK, [v6 ? "fd01::1" : "10.201.0.1", String(port)], () => ready());
  await listening;
  const src = Buffer.alloc(size);
  for (let i = 0; i < size; i++) src[i] = (i * 2654435761) >>> 24;
  let sent = 0, resets = 0;
  const pump = (c: TcpConn): void => {
    while (sent < size) { const k = c.write(src, sent, Math.min(1 << 16, size - sent)); if (k === 0) break; sent += k; }
    if (sent === size) c.close();
    out.push();
  };
  const c = stack.connect(v6 ? "fd01::1" : "10.201.0.1", port, { connected: pump, writable: pump, reset: () => { resets++; } })!;
  out.push();
  const r = await sink;
  expect(resets).toBe(0);
  expect(r).toBe(`${size} ${createHash("sha256").update(src).digest("hex")}`);
  await waitFor(() => c.stateName === "TIME_WAIT" || c.stateName === "CLOSED", 10_000, "the close to finish");
}

describe.skipIf(!canUseNetns)(`sdk/tcp against the kernel's TCP over a TUN device${canUseNetns ? "" : ` (${whyNoNetns})`}`, () => {
  beforeAll(async () => {
    ip(["netns", "add", ns]);
    relay = spawn("ip", ["netns", "exec", ns, "python3", join(__dirname, "tun-relay.py"), dev], { stdio: ["pipe", "pipe", "pipe"] });
    await new Promise<void>((resolve, reject) => {
      relay!.stderr!.on("data", (d) => { if (String(d).includes("ready")) resolve(); else reject(new Error(String(d))); });
      relay!.on("exit", (c) => reject(new Error(`tun relay exited ${c}`)));
    });
    ip(["-n", ns, "link", "set", dev, "up", "mtu", "1500"]);
    ip(["-n", ns, "link", "set", "lo", "up"]);
    ip(["-n", ns, "addr", "add", "10.201.0.1/24", "dev", dev]);
    ip(["-n", ns, "-6", "addr", "add", "fd01::1/64", "dev", dev, "nodad"]);
    stack = new TcpStack({ clock: () => performance.now(), out, local4: "10.201.0.2", local6: "fd01::2" });
    let pending = Buffer.alloc(0);
    relay.stdout!.on("data", (d: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, d]) : Buffer.from(d);
      let o = 0;
      while (pending.length - o >= 2) {
        const n = pending.readUInt16BE(o);
        if (pending.length - o - 2 < n) break;
        if (!lostToStack()) stack.input(pending, o + 2, n);
        o += 2 + n;
      }
      pending = pending.subarray(o);
      stack.flush(); out.push();
    });
    timer = setInterval(cycle, 1);
  });

  afterAll(() => {
    if (timer) clearInterval(timer);
    relay?.kill();
    spawnSync("ip", ["netns", "del", ns], { stdio: "ignore" });
  });

  for (const v6 of [false, true]) {
    it(`kernel -> stack, 10 MB, byte-exact (${v6 ? "IPv6" : "IPv4"})`, async () => { await kernelToStack(v6, 10_000_000, v6 ? 5011 : 5001); }, 120_000);
    it(`stack -> kernel, 10 MB, byte-exact (${v6 ? "IPv6" : "IPv4"})`, async () => { await stackToKernel(v6, 10_000_000, v6 ? 5012 : 5002); }, 120_000);
  }

  for (const loss of [1, 5]) {
    it.skipIf(!hasNft)(`both directions byte-exact with ${loss}% loss each way${hasNft ? "" : " (needs nftables)"}`, async () => {
      setLoss(loss);
      try {
        await kernelToStack(false, 3_000_000, 5100 + loss);
        await stackToKernel(false, 3_000_000, 5200 + loss);
        expect(stack.counters.retransSegs).toBeGreaterThan(0);
      } finally { setLoss(0); }
    }, 240_000);
  }

  it("used the kernel's SACK blocks and sent its own under loss, and gave every buffer back", () => {
    if (hasNft) {
      expect(stack.counters.sackBlocksIn).toBeGreaterThan(0); // the kernel SACKed our holes
      expect(stack.counters.oooSegs).toBeGreaterThan(0);      // we held its out-of-order segments (and SACKed them)
    }
    expect(stack.counters.badChecksum).toBe(0);
    expect(stack.memory.used).toBe(0);
  });
});
