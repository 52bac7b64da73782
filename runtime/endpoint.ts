// --ip, --mac, --gateway, --arp, the ARP/ND knobs and --tcp-memory, checked and turned into
// what the engine's endpoint takes (native/endpoint.h). A value that does not
// parse or does not fit its port is a one-line error naming it.
import { readFileSync } from "node:fs";
import { ip4, ip6, mac, parsePrefix, parsePrefix6 } from "../sdk/addr";
import type { PortSpec } from "./ports";
import { UserError } from "./user-error";
import { sizeBytes } from "./limits";

export class EndpointError extends UserError {}

export interface EndpointOptions {
  ip?: string[];        // [port=]ADDR/LEN, repeatable
  mac?: string[];       // [port=]MAC
  gateway?: string[];   // [port=]IP (IPv4 or IPv6)
  arp?: string[];       // IP=MAC, repeatable
  arpRetries?: number;
  arpQueue?: number;
  arpAgeS?: number;
  tcpMemory?: number;   // bytes of TCP buffers per core (ctx.tcpMemory)
}

interface Addr { v6: boolean; bytes: number[] }
export interface NativeEndpoint {
  ports: { addrs: (Addr & { len: number })[]; mac: number[]; gw4?: Addr; gw6?: Addr }[];
  statics: { ip: Addr; mac: number[] }[];
  retries?: number;
  queue?: number;
  ageMs?: number;
}
import type { PortAddress } from "../sdk/vnf";
export type { PortAddress };

function bytes4(n: number): number[] { return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]; }
function bytes6(words: number[]): number[] { return words.flatMap(bytes4); }
function macBytes(n: number): number[] { return Array.from({ length: 6 }, (_, i) => Math.floor(n / 2 ** (8 * (5 - i))) & 255); }

function addr(text: string, what: string): Addr {
  try {
    if (text.includes(":")) return { v6: true, bytes: bytes6(ip6(text)) };
    const b = bytes4(ip4(text));
    return { v6: false, bytes: b.concat(new Array(12).fill(0)) };
  } catch {
    throw new EndpointError(`${what} ${text}: not an IPv4 or IPv6 address`);
  }
}

/** "[port=]value" -> [port index, value]; no port: the VNF's first port. */
function onPort(text: string, ports: readonly PortSpec[], flag: string, example: string): [number, string] {
  const eq = text.indexOf("=");
  // An IPv6 value has colons, never "="; a port name never has ":" or "/".
  if (eq > 0 && !/[:/.]/.test(text.slice(0, eq))) {
    const name = text.slice(0, eq);
    const i = ports.findIndex((p) => p.name === name);
    if (i < 0) throw new EndpointError(`${flag} ${text}: no port named ${name}; this VNF's ports are ${ports.map((p) => p.name).join(", ")}`);
    return [i, text.slice(eq + 1)];
  }
  if (!ports.length) throw new EndpointError(`${flag} ${text}: the VNF has no port (give one as ${example})`);
  return [0, text];
}

function interfaceMac(spec: PortSpec): number | undefined {
  const ifname = spec.options.ifname;
  if (!ifname || !["packet", "xdp", "tap", "netmap"].includes(spec.driver)) return undefined;
  try {
    return mac(readFileSync(`/sys/class/net/${ifname}/address`, "utf8").trim());
  } catch {
    return undefined;   // the driver names a missing interface itself
  }
}

function inPrefix(a: Addr, p: Addr & { len: number }): boolean {
  if (a.v6 !== p.v6) return false;
  for (let bit = 0; bit < p.len; bit++) {
    const m = 0x80 >> (bit & 7);
    if ((a.bytes[bit >> 3] & m) !== (p.bytes[bit >> 3] & m)) return false;
  }
  return true;
}

/** undefined when no --ip was given: the engine then has no endpoint. */
export function parseEndpoint(o: EndpointOptions, ports: readonly PortSpec[]): { native: NativeEndpoint; addresses: PortAddress[]; macs: string[]; tcpMemory?: number } | undefined {
  const ips = o.ip ?? [];
  if (!ips.length) {
    for (const [flag, v] of [["--gateway", o.gateway], ["--arp", o.arp], ["--mac", o.mac]] as const)
      if (v?.length) throw new EndpointError(`${flag} ${v[0]}: needs an address on the port: add --ip ADDR/LEN`);
    if (o.tcpMemory !== undefined) throw new EndpointError("--tcp-memory: TCP endpoints need an address on the port: add --ip ADDR/LEN");
    return undefined;
  }
  if (o.tcpMemory !== undefined) checkTcpMemory(o.tcpMemory, String(o.tcpMemory));
  const native: NativeEndpoint = { ports: ports.map(() => ({ addrs: [], mac: [] })), statics: [] };
  const addresses: PortAddress[] = [];
  for (const t of ips) {
    const [p, v] = onPort(t, ports, "--ip", "--ip in=10.0.0.1/24");
    if (!v.includes("/")) throw new EndpointError(`--ip ${t}: give the prefix length too, as in 10.0.0.1/24 or 2001:db8::1/64`);
    const [a, len] = v.split("/");
    const v6 = a.includes(":");
    try {
      if (v6) parsePrefix6(v); else parsePrefix(v);
    } catch {
      throw new EndpointError(`--ip ${t}: not an address with a prefix length (10.0.0.1/24, 2001:db8::1/64)`);
    }
    const n = Number(len);
    if (!Number.isInteger(n) || n < 1 || n > (v6 ? 128 : 32)) throw new EndpointError(`--ip ${t}: the prefix length must be 1-${v6 ? 128 : 32}`);
    const ad = addr(a, "--ip");
    if (native.ports[p].addrs.some((x) => x.bytes.join() === ad.bytes.join())) throw new EndpointError(`--ip ${t}: given twice`);
    native.ports[p].addrs.push({ ...ad, len: n });
    addresses.push({ port: p, ip: a, prefix: n, v6 });
  }
  const macSet = new Map<number, number>();
  for (const t of o.mac ?? []) {
    const [p, v] = onPort(t, ports, "--mac", "--mac in=02:00:00:00:00:01");
    let m: number;
    try { m = mac(v); } catch { throw new EndpointError(`--mac ${t}: not a MAC address (02:00:00:00:00:01)`); }
    if (Math.floor(m / 2 ** 40) & 1) throw new EndpointError(`--mac ${t}: a multicast address cannot be a port's own`);
    macSet.set(p, m);
  }
  const macs: string[] = [];
  native.ports.forEach((np, p) => {
    // --mac, else the interface's own, else a locally administered one per port.
    const m = macSet.get(p) ?? interfaceMac(ports[p]) ?? 0x020000000000 + p + 1;
    np.mac = macBytes(m);
    macs.push(np.mac.map((x) => x.toString(16).padStart(2, "0")).join(":"));
  });
  for (const t of o.gateway ?? []) {
    const [p, v] = onPort(t, ports, "--gateway", "--gateway out=10.0.0.254");
    const g = addr(v, "--gateway");
    if (!native.ports[p].addrs.some((x) => inPrefix(g, x)))
      throw new EndpointError(`--gateway ${t}: not on a subnet of port ${ports[p].name} (its --ip prefixes must hold the gateway)`);
    if (g.v6) native.ports[p].gw6 = g; else native.ports[p].gw4 = g;
  }
  for (const t of o.arp ?? []) {
    const eq = t.lastIndexOf("=");
    if (eq < 0) throw new EndpointError(`--arp ${t}: give IP=MAC, as in 10.0.0.2=02:00:00:00:00:02`);
    const ip = addr(t.slice(0, eq), "--arp");
    let m: number;
    try { m = mac(t.slice(eq + 1)); } catch { throw new EndpointError(`--arp ${t}: ${t.slice(eq + 1)} is not a MAC address`); }
    if (!native.ports.some((np) => np.addrs.some((x) => inPrefix(ip, x)))) throw new EndpointError(`--arp ${t}: on no port's subnet (no --ip prefix holds ${t.slice(0, eq)})`);
    native.statics.push({ ip, mac: macBytes(m) });
  }
  if (o.arpRetries !== undefined) native.retries = o.arpRetries;
  if (o.arpQueue !== undefined) native.queue = o.arpQueue;
  if (o.arpAgeS !== undefined) native.ageMs = o.arpAgeS * 1000;
  return { native, addresses, macs, tcpMemory: o.tcpMemory };
}

const TCP_MEMORY_MIN = 64 << 10, TCP_MEMORY_MAX = 2 ** 40;

function checkTcpMemory(bytes: number, text: string): number {
  if (!(Number.isInteger(bytes) && bytes >= TCP_MEMORY_MIN && bytes <= TCP_MEMORY_MAX))
    throw new EndpointError(`--tcp-memory ${text}: give the TCP buffer memory per core as a size from 64k to 1024g, such as 64m`);
  return bytes;
}

/** --tcp-memory's text ("64m", "1g") -> bytes per core. */
export function parseTcpMemory(v: string): number {
  return checkTcpMemory(sizeBytes(v), v);
}
