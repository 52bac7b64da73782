// vnfrun doctor: can this host run each driver, and if not, what to change.
// The seed's manual was a long checklist of host set-up; this is it, checked.
import { existsSync, readFileSync, readdirSync, readlinkSync } from "node:fs";
import { availableParallelism, release } from "node:os";
import { basename } from "node:path";
import { loadAddon } from "./addon";

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
  const built = new Set(addon.drivers());
  const caps = effectiveCaps();
  const root = process.getuid?.() === 0;
  const cpus = availableParallelism();
  out.push({ item: "cpus", ok: cpus >= 2, detail: `${cpus} CPUs for cores and I/O threads`, fix: cpus < 2 ? "one CPU: sw1/sw2 share it with the cores; use --dist none" : undefined });
  out.push({ item: "kernel", ok: true, detail: `Linux ${release()}` });
  out.push({ item: "privilege", ok: root || has(caps, CAP.NET_RAW), detail: root ? "root" : `not root; capabilities: ${Object.entries(CAP).filter(([, b]) => has(caps, b)).map(([n]) => `CAP_${n}`).join(", ") || "none"}`, fix: root ? undefined : "live ports need root, or CAP_NET_RAW (packet), CAP_NET_ADMIN + CAP_BPF (xdp), CAP_NET_ADMIN (tap)" });

  for (const d of ["gen", "sink", "pipe", "pcap"])
    out.push({ item: `driver ${d}`, ok: built.has(d), detail: built.has(d) ? "usable (no privilege needed)" : "not built", fix: built.has(d) ? undefined : "rebuild: npm run build" });

  const rebuild = "rebuild vnfrun (npm run build): this build lacks the driver";
  const packetErr = addon.socketProbe(AF_PACKET, SOCK_RAW);
  out.push({ item: "driver packet", ok: built.has("packet") && !packetErr, detail: !built.has("packet") ? "not built into this engine" : packetErr ? `cannot open AF_PACKET sockets: ${packetErr}` : "usable: AF_PACKET with TPACKET_V2 rings", fix: !built.has("packet") ? rebuild : packetErr ? "run as root or grant CAP_NET_RAW (setcap cap_net_raw+ep $(which node))" : undefined });

  const xdpErr = addon.socketProbe(AF_XDP, SOCK_RAW);
  const xdpOk = built.has("xdp") && !xdpErr && (root || (has(caps, CAP.NET_ADMIN) && (has(caps, CAP.BPF) || has(caps, CAP.SYS_ADMIN))));
  out.push({ item: "driver xdp", ok: xdpOk, detail: !built.has("xdp") ? "not built into this engine" : xdpErr ? `cannot open AF_XDP sockets: ${xdpErr}` : xdpOk ? "usable: AF_XDP, the buffer pool is the UMEM" : "AF_XDP sockets open, but loading the XDP program needs CAP_NET_ADMIN and CAP_BPF", fix: !built.has("xdp") ? rebuild : xdpErr ? (xdpErr.includes("not supported") ? "the kernel lacks CONFIG_XDP_SOCKETS (Linux 4.18+ with AF_XDP enabled)" : "run as root") : xdpOk ? undefined : "run as root or grant CAP_NET_ADMIN,CAP_BPF" });
  for (const { name, driver } of interfaces()) {
    if (driver === "loopback" || driver === "bridge") continue;
    const native = XDP_NATIVE.has(driver), zc = XDP_ZEROCOPY.has(driver);
    out.push({ item: `  xdp on ${name}`, ok: native, detail: `${driver}: ${native ? "native XDP" : "XDP only in generic (skb) mode: slower, frames are copied"}${zc ? ", zero-copy AF_XDP" : native ? ", copy-mode AF_XDP" : ""}`, fix: native ? undefined : "a NIC whose driver has native XDP (e.g. i40e, ice, mlx5, virtio_net, veth)" });
  }

  const tun = existsSync("/dev/net/tun");
  out.push({ item: "driver tap", ok: built.has("tap") && tun && (root || has(caps, CAP.NET_ADMIN)), detail: !built.has("tap") ? "not built into this engine" : !tun ? "no /dev/net/tun" : root || has(caps, CAP.NET_ADMIN) ? "usable: TAP devices (created when absent)" : "creating TAP devices needs CAP_NET_ADMIN", fix: !built.has("tap") ? rebuild : !tun ? "modprobe tun (or mknod /dev/net/tun c 10 200)" : root || has(caps, CAP.NET_ADMIN) ? undefined : "run as root or grant CAP_NET_ADMIN" });

  const nm = existsSync("/dev/netmap"), nmBuilt = built.has("netmap") && addon.netmapBuilt();
  const nmHow = "build and load netmap (github.com/luigirizzo/netmap: ./configure && make && insmod netmap.ko), then rebuild vnfrun: NETMAP_SRC=/path/to/netmap npm run build";
  out.push({ item: "driver netmap", ok: nmBuilt && nm, detail: `${nmBuilt ? "built with netmap's headers" : "built without netmap's headers"}; ${nm ? "/dev/netmap present" : "no /dev/netmap: the netmap kernel module is not loaded"}`, fix: nmBuilt && nm ? undefined : nmHow });

  const cmdline = existsSync("/proc/cmdline") ? readFileSync("/proc/cmdline", "utf8") : "";
  const isolated = /isolcpus=([^\s]+)/.exec(cmdline)?.[1];
  out.push({ item: "isolated cpus", ok: true, detail: isolated ? `isolcpus=${isolated}: pin cores there with --cpus` : "none: with --busy-poll, cores compete with the rest of the system", fix: isolated ? undefined : "for steady latency, boot with isolcpus=... nohz_full=... and use --cpus" });
  return out;
}

export function formatFindings(fs: Finding[]): string {
  return fs.map((f) => `${f.ok ? "ok  " : "no  "} ${f.item.padEnd(22)} ${f.detail}${f.fix ? `\n      ${"".padEnd(22)} -> ${f.fix}` : ""}`).join("\n") + "\n";
}
