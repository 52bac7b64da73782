// Port specs: `--port [name=]driver[:arg][,key=value...]`, parsed and checked
// here so the native drivers receive clean options and users get one-line
// errors that say what to fix.
import { UserError } from "./user-error";

export interface PortSpec {
  name: string;
  driver: string;
  options: Record<string, string>;
  text: string;          // what the user wrote, for messages
}

export class SpecError extends UserError {}

type Check = (arg: string | undefined, opts: Record<string, string>, index: number) => void;

const DRIVERS: Record<string, Check> = {
  gen: checkGen,
  sink: (arg) => { if (arg) throw new SpecError("sink takes no argument"); },
  pipe: (arg, opts) => { if (!arg) throw new SpecError("pipe needs a name: pipe:NAME"); opts.name = arg; },
  pcap: checkPcap,
  xdp: checkXdp,
  packet: checkPacket,
  tap: checkTap,
  netmap: checkNetmap,
};

export const DRIVER_NAMES = Object.keys(DRIVERS);

// Split `[name=]driver[:arg][,k=v...]`. A bare word after the first comma is a
// flag (`pcap:x.pcap,loop` = loop=true).
function split(text: string): { name?: string; driver: string; arg?: string; opts: Record<string, string> } {
  const eq = text.indexOf("=");
  const colon = text.indexOf(":");
  let name: string | undefined;
  let rest = text;
  if (eq > 0 && (colon < 0 || eq < colon) && /^[A-Za-z_][\w-]*$/.test(text.slice(0, eq))) {
    name = text.slice(0, eq);
    rest = text.slice(eq + 1);
  }
  const parts = rest.split(",");
  const head = parts.shift()!;
  const c = head.indexOf(":");
  let driver = c < 0 ? head : head.slice(0, c);
  let arg = c < 0 ? undefined : head.slice(c + 1);
  // netmap's own names: valeX:PORT is a VALE switch port
  if (/^vale\w*$/.test(driver) && arg) { arg = `${driver}:${arg}`; driver = "netmap"; }
  const opts: Record<string, string> = {};
  for (const p of parts) {
    if (!p) continue;
    const i = p.indexOf("=");
    if (i < 0) opts[p] = "true";
    else opts[p.slice(0, i)] = p.slice(i + 1);
  }
  // gen's options usually come after the colon: gen:flows=1000,size=64
  if (driver === "gen" && arg && arg.includes("=")) {
    const i = arg.indexOf("=");
    opts[arg.slice(0, i)] = arg.slice(i + 1);
    return { name, driver, arg: undefined, opts };
  }
  return { name, driver, arg, opts };
}

/** Parse the user's --port values against the VNF's declared port names. */
export function parsePorts(texts: string[], vnfPorts: readonly string[]): PortSpec[] {
  if (texts.length > vnfPorts.length)
    throw new SpecError(`${texts.length} --port given but the VNF declares ${vnfPorts.length} (${vnfPorts.join(", ")})`);
  const byName = new Map<string, PortSpec>();
  const unnamed: ReturnType<typeof split>[] = [];
  const parsed = texts.map((t) => ({ t, s: split(t) }));
  for (const { t, s } of parsed) {
    if (!s.name) { unnamed.push(s); continue; }
    if (!vnfPorts.includes(s.name)) throw new SpecError(`--port ${t}: the VNF has no port "${s.name}" (it has ${vnfPorts.join(", ")})`);
    if (byName.has(s.name)) throw new SpecError(`--port ${t}: port "${s.name}" is given twice`);
    byName.set(s.name, finish(s.name, s, t, vnfPorts.indexOf(s.name)));
  }
  // Unnamed specs fill the remaining ports in the VNF's order.
  const textOf = new Map(parsed.map(({ t, s }) => [s, t]));
  for (const name of vnfPorts) {
    if (byName.has(name)) continue;
    const s = unnamed.shift();
    const index = vnfPorts.indexOf(name);
    if (s) byName.set(name, finish(name, s, textOf.get(s)!, index));
    else byName.set(name, defaultPort(name, index));
  }
  return vnfPorts.map((n) => byName.get(n)!);
}

/** With no --port: generated traffic into the first port, sinks elsewhere. */
function defaultPort(name: string, index: number): PortSpec {
  return index === 0
    ? { name, driver: "gen", options: {}, text: "gen" }
    : { name, driver: "sink", options: {}, text: "sink" };
}

function finish(name: string, s: ReturnType<typeof split>, text: string, index: number): PortSpec {
  const check = DRIVERS[s.driver];
  if (!check) throw new SpecError(`--port ${text}: unknown driver "${s.driver}" (known: ${DRIVER_NAMES.join(", ")})`);
  const options = { ...s.opts };
  try {
    check(s.arg, options, index);
  } catch (e) {
    if (e instanceof SpecError) throw new SpecError(`--port ${text}: ${e.message}`);
    throw e;
  }
  return { name, driver: s.driver, options, text };
}

function allowOnly(opts: Record<string, string>, keys: string[], driver: string): void {
  for (const k of Object.keys(opts))
    if (!keys.includes(k)) throw new SpecError(`${driver} has no option "${k}" (it takes ${keys.join(", ")})`);
}

/** "1.5M" -> 1500000; k, M, G suffixes. */
export function parseQuantity(v: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmMgG]?)$/.exec(v);
  if (!m) throw new SpecError(`${what}=${v}: expected a number such as 1000, 2.5M or 10k`);
  const mult = { "": 1, k: 1e3, K: 1e3, m: 1e6, M: 1e6, g: 1e9, G: 1e9 }[m[2]]!;
  return Math.round(Number(m[1]) * mult);
}

// A small pool buffer holds 1984 bytes after the headroom; a large one a
// frame of up to 65535 (a slot's length is 16 bits).
export const SMALL_FRAME = 1984;
export const MAX_FRAME = 65535;
const MAX_GEN_SIZE = MAX_FRAME + 4;

function checkGen(arg: string | undefined, o: Record<string, string>): void {
  if (arg) throw new SpecError(`gen takes key=value options, not "${arg}"`);
  allowOnly(o, ["flows", "size", "ipv6", "tcp", "rate", "count", "dport", "churn", "life", "handshake", "reply"], "gen");
  checkGenSessions(o);
  if (o.flows !== undefined) {
    const f = parseQuantity(o.flows, "flows");
    if (f < 1 || f > 2 ** 32 - 1) throw new SpecError(`flows=${o.flows}: must be 1 or more`);
    o.flows = String(f);
  }
  if (o.size !== undefined) {
    if (o.size === "imix") o.size = "64/64/64/64/64/64/64/594/594/594/594/1518";
    const sizes = o.size.split("/");
    for (const z of sizes)
      if (!/^\d+$/.test(z) || +z < 64 || +z > MAX_GEN_SIZE)
        throw new SpecError(`size=${o.size}: each size must be 64..${MAX_GEN_SIZE} bytes (FCS included), joined by "/", or "imix"`);
    // Jumbo frames live in the pool's large buffers.
    if (sizes.some((z) => +z > SMALL_FRAME + 4)) o.large = "1";
  }
  for (const k of ["ipv6", "tcp"]) {
    if (o[k] === undefined) continue;
    const v = Number(o[k]);
    if (!(v >= 0 && v <= 1)) throw new SpecError(`${k}=${o[k]}: give the share of flows as 0..1`);
  }
  if (o.rate !== undefined) o.rate = String(parseQuantity(o.rate, "rate"));
  if (o.count !== undefined) o.count = String(parseQuantity(o.count, "count"));
  if (o.dport !== undefined) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(o.dport);
    if (!m || +m[1] > 65535 || (m[2] !== undefined && (+m[2] > 65535 || +m[2] < +m[1])))
      throw new SpecError(`dport=${o.dport}: give a port or a range LO-HI within 0-65535`);
  }
}

// Sessions for stateful VNFs (gen.cc says how the two sides keep in step).
function checkGenSessions(o: Record<string, string>): void {
  for (const k of ["handshake", "reply"]) {
    if (o[k] === undefined) continue;
    if (o[k] === "true") o[k] = "1";
    if (o[k] !== "0" && o[k] !== "1") throw new SpecError(`${k}=${o[k]}: give 0 or 1`);
  }
  if (o.churn !== undefined) {
    o.churn = String(parseQuantity(o.churn, "churn"));
    if (+o.churn < 1) throw new SpecError(`churn=${o.churn}: give new flows a second, 1 or more`);
    if (o.rate === undefined) throw new SpecError("churn=R (new flows a second) needs rate=PPS to pace it, or give life=K frames per flow");
    if (o.life !== undefined) throw new SpecError("give churn=R or life=K, not both");
  }
  if (o.life !== undefined && (!/^\d+$/.test(o.life) || +o.life < 1)) throw new SpecError(`life=${o.life}: give frames per flow, 1 or more (4 or more with handshake)`);
  if (o.handshake === "1" && o.life !== undefined && +o.life < 4) throw new SpecError(`life=${o.life}: a handshake flow lives at least 4 frames (SYN, ACK, FIN, ACK)`);
}

function checkPcap(arg: string | undefined, o: Record<string, string>, index: number): void {
  if (!arg) throw new SpecError("pcap needs a file: pcap:FILE");
  allowOnly(o, ["read", "write", "loop", "snaplen"], "pcap");
  if (o.read && o.write) throw new SpecError("pcap: choose read or write, not both");
  // The VNF's first port reads; the others write, unless told.
  o.mode = o.read ? "read" : o.write ? "write" : index === 0 ? "read" : "write";
  delete o.read;
  delete o.write;
  o.file = arg;
  if (o.loop !== undefined) {
    if (o.loop === "true") o.loop = "0";
    if (!/^\d+$/.test(o.loop)) throw new SpecError(`loop=${o.loop}: give a count, or just "loop" to repeat forever`);
    if (o.mode !== "read") throw new SpecError("loop only applies to a pcap that is read");
  }
  if (o.snaplen !== undefined && !/^\d+$/.test(o.snaplen)) throw new SpecError(`snaplen=${o.snaplen}: expected a byte count`);
  // Frames longer than a small buffer are read into the pool's large ones.
  if (o.mode === "read") o.large = "1";
}

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

function checkIfname(name: string | undefined, driver: string, form: string): string {
  if (!name) throw new SpecError(`${driver} needs an interface: ${form}`);
  if (!IFNAME.test(name)) throw new SpecError(`"${name}" is not an interface name (1-15 letters, digits, "_", ".", "-")`);
  return name;
}

function checkChoice(o: Record<string, string>, key: string, choices: string[]): void {
  if (o[key] !== undefined && !choices.includes(o[key])) throw new SpecError(`${key}=${o[key]}: choose ${choices.join(", ")}`);
}

function checkFlag(o: Record<string, string>, key: string): void {
  if (o[key] === undefined) return;
  if (o[key] === "true" || o[key] === "on" || o[key] === "1") o[key] = "1";
  else if (o[key] === "off" || o[key] === "0" || o[key] === "false") o[key] = "0";
  else throw new SpecError(`${key}=${o[key]}: give on or off`);
}

/** xdp:IFNAME[@QUEUE][,mode=native|generic|auto][,bind=zerocopy|copy|auto] */
function checkXdp(arg: string | undefined, o: Record<string, string>): void {
  const [ifname, queue] = (arg ?? "").split("@");
  o.ifname = checkIfname(ifname, "xdp", "xdp:IFNAME[@QUEUE]");
  if (queue !== undefined) {
    if (!/^\d+$/.test(queue)) throw new SpecError(`@${queue}: the queue is a number, as in xdp:${ifname}@0`);
    o.queue = queue;
  }
  allowOnly(o, ["ifname", "queue", "mode", "bind"], "xdp");
  checkChoice(o, "mode", ["native", "generic", "auto"]);
  checkChoice(o, "bind", ["zerocopy", "copy", "auto"]);
}

// The virtio-net header is on unless the spec says `novnet` (or vnet=off):
// without it, GRO/TSO super-frames from the kernel cannot cross, and TCP
// through the port crawls.
function checkVnet(o: Record<string, string>): void {
  if (o.novnet !== undefined) {
    if (o.novnet !== "true") throw new SpecError(`novnet takes no value`);
    if (o.vnet !== undefined) throw new SpecError("give vnet or novnet, not both");
    delete o.novnet;
    o.vnet = "0";
  }
  checkFlag(o, "vnet");
  o.vnet ??= "1";
}

/** packet:IFNAME[,fanout=ID][,novnet][,promisc=off][,bypass=off] */
function checkPacket(arg: string | undefined, o: Record<string, string>): void {
  o.ifname = checkIfname(arg, "packet", "packet:IFNAME");
  allowOnly(o, ["ifname", "fanout", "vnet", "novnet", "promisc", "bypass"], "packet");
  if (o.fanout !== undefined && !(/^\d+$/.test(o.fanout) && +o.fanout < 65536)) throw new SpecError(`fanout=${o.fanout}: give a group id 0..65535`);
  for (const k of ["promisc", "bypass"]) checkFlag(o, k);
  checkVnet(o);
}

/** tap:NAME[,novnet] (created when absent, removed at exit if vnfrun made it) */
function checkTap(arg: string | undefined, o: Record<string, string>): void {
  o.ifname = checkIfname(arg, "tap", "tap:NAME");
  allowOnly(o, ["ifname", "vnet", "novnet"], "tap");
  checkVnet(o);
}

/** netmap:IFNAME, netmap:IFNAME-RING, netmap:IFNAME{N / }N (pipes), valeX:PORT */
function checkNetmap(arg: string | undefined, o: Record<string, string>): void {
  if (!arg) throw new SpecError("netmap needs a port: netmap:IFNAME, netmap:IFNAME-RING, netmap:NAME{N, or valeX:PORT");
  if (!/^[A-Za-z0-9_.:{}-]{1,64}$/.test(arg)) throw new SpecError(`"${arg}" is not a netmap port name`);
  o.name = arg;
  allowOnly(o, ["name", "ring"], "netmap");
  if (o.ring !== undefined && o.ring !== "1024" && o.ring !== "2048") throw new SpecError(`ring=${o.ring}: netmap rings here are 1024 or 2048 slots`);
}
