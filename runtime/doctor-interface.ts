// vnfrun doctor IFNAME: what one interface needs for the packet, tap and xdp
// ports, each line with the command that fixes it. The xdp line for a veth
// says what the driver does with checksums a local sender left to offload.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { XDP_NATIVE, interfaces, type Finding } from "./doctor";

// Largest frame a port takes after the engine's 64-byte headroom: a small
// pool buffer (packet), an AF_XDP chunk past the kernel's 256 bytes (xdp).
const PACKET_MAX_MTU = 1984 - 14 - 4;
const XDP_MAX_MTU = 1774;

function sys(name: string, file: string): string {
  try { return readFileSync(`/sys/class/net/${name}/${file}`, "utf8").trim(); } catch { return ""; }
}

// The veth's other end, when it is in this namespace; else its ifindex.
function vethPeer(name: string): string {
  const peerIndex = sys(name, "iflink");
  for (const other of readdirSync("/sys/class/net"))
    if (other !== name && sys(other, "ifindex") === peerIndex && sys(other, "iflink") === sys(name, "ifindex")) return other;
  return `PEER (its other end, ifindex ${peerIndex} in another namespace)`;
}

// A virtual device's kind (veth, tun, ...) as iproute2 reports it; "" when
// ip is missing or says nothing.
function linkKind(name: string): string {
  const r = spawnSync("ip", ["-d", "-j", "link", "show", "dev", name], { encoding: "utf8" });
  try { return JSON.parse(r.stdout)[0]?.linkinfo?.info_kind ?? ""; } catch { return ""; }
}

export function diagnoseInterface(name: string): Finding[] {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name) || !existsSync(`/sys/class/net/${name}`)) throw new Error(`no interface ${name} in this network namespace`);
  const found = interfaces().find((i) => i.name === name)?.driver ?? "virtual";
  const driver = found === "virtual" ? linkKind(name) || found : found;
  const mtu = Number(sys(name, "mtu"));
  const up = (Number.parseInt(sys(name, "flags"), 16) & 1) === 1;
  const out: Finding[] = [];
  out.push({ item: name, ok: up, detail: `${driver}, MTU ${mtu}, ${up ? "up" : "down"}`, fix: up ? undefined : `ip link set ${name} up` });
  out.push({
    item: `packet:${name}`, ok: mtu <= PACKET_MAX_MTU,
    detail: `virtio-net header on (the default): GRO/TSO super-frames cross whole, checksum offload kept${mtu <= PACKET_MAX_MTU ? "" : `; MTU ${mtu} is more than a buffer holds`}`,
    fix: mtu <= PACKET_MAX_MTU ? undefined : `ip link set ${name} mtu 1500`,
  });
  const native = XDP_NATIVE.has(driver);
  const xdpMtu = mtu <= XDP_MAX_MTU;
  out.push({
    item: `xdp:${name}`, ok: xdpMtu,
    detail: `${native ? "native" : "generic (skb) mode only"} XDP${xdpMtu ? "" : `; MTU ${mtu} is more than an AF_XDP buffer holds (${XDP_MAX_MTU})`}`,
    fix: xdpMtu ? undefined : `ip link set ${name} mtu 1500`,
  });
  if (driver === "veth") {
    const peer = vethPeer(name);
    out.push({
      item: `xdp:${name} checksums`, ok: true,
      detail: `a local sender behind the veth leaves TCP/UDP checksums to offload (tx checksumming is on by default) and AF_XDP hands them over unfinished; vnfrun finishes them on receive (one checksum per such frame, counted as rx_csum_finished)`,
      fix: `to save that work, turn it off on the sender: ethtool -K ${peer} tx off`,
    });
  }
  return out;
}
