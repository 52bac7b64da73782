// Three network namespaces for end-to-end tests, made and removed by the
// test itself:
//
//   [A: a0 10.200.0.1] ---veth--- [V: v0 | vnfrun | v1] ---veth--- [B: b0 10.200.0.2]
//
// A and B are hosts on one subnet; V holds the VNF, which must carry every
// frame between v0 and v1 (there is no bridge). Names carry a per-run tag so
// parallel runs do not collide. Everything is removed in `destroy`, also
// after a failed test (call it from afterAll/finally).
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { installHint } from "./tools";

export const canUseNetns = process.getuid?.() === 0 && spawnSync("ip", ["-V"], { stdio: "ignore" }).status === 0;
export const whyNoNetns = process.getuid?.() !== 0 ? "needs root (network namespaces)" : installHint(["iproute2"]);

export interface Topology {
  tag: string;
  a: string; b: string; v: string;          // namespace names
  aIp: string; bIp: string;                 // host addresses (no prefix)
  exec(ns: string, cmd: string[], opts?: { timeoutMs?: number; input?: string }): string;
  spawn(ns: string, cmd: string[]): ChildProcess;
  destroy(): void;
}

function ip(args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

// `names` renames V's two interfaces (v0, v1), as a README example names them.
export function createTopology(opts: { offloads?: boolean; names?: [string, string] } = {}): Topology {
  const [v0, v1] = opts.names ?? ["v0", "v1"];
  const tag = `vr${process.pid % 100000}${Math.floor(Math.random() * 100)}`;
  const a = `${tag}a`, b = `${tag}b`, v = `${tag}v`;
  const created: string[] = [];
  const destroy = () => {
    for (const ns of created.reverse()) spawnSync("ip", ["netns", "del", ns], { stdio: "ignore" });
    created.length = 0;
  };
  try {
    for (const ns of [a, b, v]) { ip(["netns", "add", ns]); created.push(ns); }
    ip(["link", "add", "a0", "netns", a, "type", "veth", "peer", "name", v0, "netns", v]);
    ip(["link", "add", "b0", "netns", b, "type", "veth", "peer", "name", v1, "netns", v]);
    ip(["-n", a, "addr", "add", "10.200.0.1/24", "dev", "a0"]);
    ip(["-n", b, "addr", "add", "10.200.0.2/24", "dev", "b0"]);
    for (const [ns, dev] of [[a, "a0"], [b, "b0"], [v, v0], [v, v1], [a, "lo"], [b, "lo"], [v, "lo"]]) ip(["-n", ns, "link", "set", dev, "up"]);
    if (opts.offloads === false)
      for (const [ns, dev] of [[a, "a0"], [b, "b0"], [v, v0], [v, v1]])
        spawnSync("ip", ["netns", "exec", ns, "ethtool", "-K", dev, "tso", "off", "gso", "off", "gro", "off"], { stdio: "ignore" });
  } catch (e) {
    destroy();
    throw e;
  }
  return {
    tag, a, b, v, aIp: "10.200.0.1", bIp: "10.200.0.2",
    exec: (ns, cmd, o = {}) => execFileSync("ip", ["netns", "exec", ns, ...cmd], { encoding: "utf8", timeout: o.timeoutMs ?? 30_000, input: o.input }),
    spawn: (ns, cmd) => spawn("ip", ["netns", "exec", ns, ...cmd], { stdio: ["ignore", "pipe", "pipe"] }),
    destroy,
  };
}
