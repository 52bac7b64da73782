// vnfrun doctor: can this host run each driver, and if not, what to change.
// The manual of the netmap VNF layer vnfrun grew from was a long checklist of host set-up; this is it, checked.
import { existsSync, readFileSync, readdirSync, readlinkSync } from "node:fs";
import { availableParallelism, release } from "node:os";
import { basename } from "node:path";
import { loadAddon, type DriverSpec } from "./addon";
import { driverSpecs } from "./ports";

export interface Finding {
  item: string;
  ok: boolean;
  detail: string;     // what was found, or why not
  fix?: string;       // what to install or change
}

const CAP = { NET_ADMIN: 12, NET_RAW: 13, IPC_LOCK: 14, SYS_ADMIN: 21, BPF: 39 };
const AF_PACKET = 17, AF_XDP = 44, SOCK_RAW = 3;

// Drivers with native XDP (XDP_DRV) in mainline, and those with AF_XDP zero copy.
export const XDP_NATIVE = new Set(["veth", "virtio_net", "tun", "ixgbe", "ixgbevf", "i40e", "ice", "igb", "igc", "mlx4_core", "mlx4_en", "mlx5_core", "bnxt_en", "nfp", "ena", "qede", "thunder_nicvf", "stmmac", "sfc", "netsec", "mvneta", "mvpp2", "dpaa2-eth", "enetc", "fec", "hv_netvsc", "xen-netfront", "bond", "lan966x"]);
const XDP_ZEROCOPY = new Set(["i40e", "ice", "ixgbe", "igc", "mlx5_core", "stmmac", "enetc", "fec", "igb"]);

function effectiveCaps(): bigint {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

const has = (caps: bigint, bit: number) => ((caps >> BigInt(bit)) & 1n) === 1n;

export function interfaces(): { name: string; driver: string }[] {
  try {
    return readdirSync("/sys/class/net").map((name) => {
      let driver = "virtual";
      try { driver = basename(readlinkSync(`/sys/class/net/${name}/device/driver`)); } catch {
        if (existsSync(`/sys/class/net/${name}/bridge`)) driver = "bridge";
        else if (name.startsWith("veth") || existsSync(`/sys/class/net/${name}/peer`)) driver = "veth";
        else if (existsSync(`/sys/class/net/${name}/tun_flags`)) driver = "tun";
        else if (name === "lo") driver = "loopback";
      }
      return { name, driver };
    });
  } catch {
    return [];
  }
}

export function diagnose(): Finding[] {
  const out: Finding[] = [];
  const addon = loadAddon();
  const caps = effectiveCaps();
  const root = process.getuid?.() === 0;
  const cpus = availableParallelism();
  out.push({ item: "cpus", ok: cpus >= 2, detail: `${cpus} CPUs for cores and I/O threads`, fix: cpus < 2 ? "one CPU: sw1/sw2 share it with the cores; use --dist none" : undefined });
  out.push({ item: "kernel", ok: true, detail: `Linux ${release()}` });
  out.push({ item: "privilege", ok: root || has(caps, CAP.NET_RAW), detail: root ? "root" : `not root; capabilities: ${Object.entries(CAP).filter(([, b]) => has(caps, b)).map(([n]) => `CAP_${n}`).join(", ") || "none"}`, fix: root ? undefined : "live ports need root, or CAP_NET_RAW (packet), CAP_NET_ADMIN + CAP_BPF (xdp), CAP_NET_ADMIN (tap)" });

  for (const d of driverSpecs().values()) {
    out.push(checkDriver(d, addon.socketProbe, caps, root));
    if (d.name === "xdp") out.push(...xdpInterfaces());
  }

  const cmdline = existsSync("/proc/cmdline") ? readFileSync("/proc/cmdline", "utf8") : "";
  const isolated = /isolcpus=([^\s]+)/.exec(cmdline)?.[1];
  out.push({ item: "isolated cpus", ok: true, detail: isolated ? `isolcpus=${isolated}: pin cores there with --cpus` : "none: with --busy-poll, cores compete with the rest of the system", fix: isolated ? undefined : "for steady latency, boot with isolcpus=... nohz_full=... and use --cpus" });
  return out;
}

const FAMILY: Record<number, string> = { [AF_PACKET]: "AF_PACKET", [AF_XDP]: "AF_XDP" };

/** What a driver needs of this host (native/port.h's HostNeeds), checked. */
function checkDriver(d: DriverSpec, probe: (domain: number, type: number) => string, caps: bigint, root: boolean): Finding {
  const item = `driver ${d.name}`;
  const h = d.host;
  if (!h.socket && !h.caps && !h.device && h.built) return { item, ok: true, detail: "usable (no privilege needed)" };
  const family = FAMILY[h.socket] ?? `family ${h.socket}`;
  const socketErr = h.socket ? probe(h.socket, SOCK_RAW) : "";
  const devicePresent = !h.device || existsSync(h.device);
  const wanted = h.caps ? h.caps.split("+") : [];
  // CAP_SYS_ADMIN covers CAP_BPF on kernels before 5.8.
  const missing = root ? [] : wanted.filter((c) => !has(caps, CAP[c as keyof typeof CAP]) && !(c === "BPF" && has(caps, CAP.SYS_ADMIN)));
  const grant = `run as root or grant ${wanted.map((c) => `CAP_${c}`).join(", ")} (setcap ${wanted.map((c) => `cap_${c.toLowerCase()}`).join(",")}+ep $(which node))`;
  const device = h.device ? (devicePresent ? `${h.device} present` : `no ${h.device}`) : "";
  const built = h.built ? "" : `this build lacks what ${d.name} needs`;
  const ok = h.built && devicePresent && !socketErr && !missing.length;
  const detail = ok ? [`usable: ${d.usable}`, device].filter(Boolean).join("; ")
    : [built, device && !devicePresent ? device : "", socketErr ? `cannot open ${family} sockets: ${socketErr}` : "",
       missing.length ? `needs ${missing.map((c) => `CAP_${c}`).join(", ")}` : "", devicePresent && device ? device : ""].filter(Boolean).join("; ");
  const fix = ok ? undefined
    : !h.built ? [devicePresent ? "" : h.deviceFix, h.builtFix].filter(Boolean).join(", then ")
    : !devicePresent ? h.deviceFix
    : socketErr.includes("not supported") ? `the kernel lacks ${family} sockets`
    : grant;
  return { item, ok, detail, fix };
}

// xdp per interface: native XDP or generic, and whether zero copy.
function xdpInterfaces(): Finding[] {
  return interfaces().filter(({ driver }) => driver !== "loopback" && driver !== "bridge").map(({ name, driver }) => {
    const native = XDP_NATIVE.has(driver), zc = XDP_ZEROCOPY.has(driver);
    return { item: `  xdp on ${name}`, ok: native, detail: `${driver}: ${native ? "native XDP" : "XDP only in generic (skb) mode: slower, frames are copied"}${zc ? ", zero-copy AF_XDP" : native ? ", copy-mode AF_XDP" : ""}`, fix: native ? undefined : "a NIC whose driver has native XDP (e.g. i40e, ice, mlx5, virtio_net, veth)" };
  });
}

export function formatFindings(fs: Finding[]): string {
  return fs.map((f) => `${f.ok ? "ok  " : "no  "} ${f.item.padEnd(22)} ${f.detail}${f.fix ? `\n      ${"".padEnd(22)} -> ${f.fix}` : ""}`).join("\n") + "\n";
}
