// Port specs: `--port [name=]driver[:arg][,key=value...]`, parsed and checked
// here against the option schema each driver declares in its own file
// (native/port.h's DriverSpec, exported by the addon), so the native drivers
// receive clean options with every default filled in, and users get one
// kind of one-line error, whichever driver they name.
import { loadAddon, type DriverSpec, type OptionSpec } from "./addon";
import { UserError } from "./user-error";

export interface PortSpec {
  name: string;
  driver: string;
  options: Record<string, string>;
  text: string;          // what the user wrote, for messages
  spec: string;          // the same without "name=": the driver and its options
}

export class SpecError extends UserError {}

let specs: Map<string, DriverSpec> | undefined;

/** The drivers built into this engine, by name, as they declare themselves. */
export function driverSpecs(): Map<string, DriverSpec> {
  specs ??= new Map(loadAddon().driverSpecs().map((d) => [d.name, d]));
  return specs;
}

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
  // A driver without an argument takes its first option after the colon:
  // gen:flows=1000,size=64
  if (arg?.includes("=") && driverSpecs().get(driver)?.argKeys === "") {
    const i = arg.indexOf("=");
    opts[arg.slice(0, i)] = arg.slice(i + 1);
    arg = undefined;
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
    byName.set(s.name, finish(s.name, s, t));
  }
  // Unnamed specs fill the remaining ports in the VNF's order.
  const textOf = new Map(parsed.map(({ t, s }) => [s, t]));
  for (const [index, name] of vnfPorts.entries()) {
    if (byName.has(name)) continue;
    const s = unnamed.shift();
    const text = s ? textOf.get(s)! : index === 0 ? "gen" : "sink";   // with no --port: gen into the first, sinks elsewhere
    byName.set(name, finish(name, s ?? split(text), text));
  }
  return vnfPorts.map((n) => byName.get(n)!);
}

function finish(name: string, s: ReturnType<typeof split>, text: string): PortSpec {
  const spec = driverSpecs().get(s.driver);
  if (!spec) throw new SpecError(`--port ${text}: unknown driver "${s.driver}" (known: ${[...driverSpecs().keys()].join(", ")})`);
  try {
    return { name, driver: s.driver, options: checkOptions(spec, s.arg, s.opts), text, spec: s.name ? text.slice(s.name.length + 1) : text };
  } catch (e) {
    if (e instanceof SpecError) throw new SpecError(`--port ${text}: ${e.message}`);
    throw e;
  }
}

/** The argument and options of one spec, read by the schema's types, with
 *  every default filled in. */
export function checkOptions(d: DriverSpec, arg: string | undefined, given: Record<string, string>): Record<string, string> {
  const o: Record<string, string> = {};
  const byKey = new Map(d.options.map((x) => [x.key, x]));
  const argKeys = d.argKeys ? d.argKeys.split("@") : [];
  if (argKeys.length && !arg) throw new SpecError(`${d.name} needs ${byKey.get(argKeys[0])?.help ?? d.arg}: ${d.name}:${d.arg}`);
  if (!argKeys.length && arg) throw new SpecError(`${d.name} takes ${d.options.length ? "key=value options" : "no argument"}, not "${arg}"`);
  if (arg !== undefined) {
    // "ifname@queue": the argument is split at "@"
    const parts = argKeys.length > 1 ? arg.split("@") : [arg];
    parts.forEach((v, i) => { if (argKeys[i] !== undefined) o[argKeys[i]] = v; });
  }
  // `noKEY` turns a flag off (novnet).
  for (const [k, v] of Object.entries(given)) {
    const flag = k.startsWith("no") ? byKey.get(k.slice(2)) : undefined;
    if (flag?.type === "flag" && !byKey.has(k)) {
      if (v !== "true") throw new SpecError(`${k} takes no value`);
      if (given[flag.key] !== undefined) throw new SpecError(`give ${flag.key} or ${k}, not both`);
      o[flag.key] = "off";
    } else if (byKey.has(k)) {
      o[k] = v;
    } else {
      const keys = d.options.filter((x) => !argKeys.includes(x.key)).map((x) => x.key);
      throw new SpecError(`${d.name} has no option "${k}"${keys.length ? ` (it takes ${keys.join(", ")})` : ""}`);
    }
  }
  for (const x of d.options) {
    if (o[x.key] !== undefined) o[x.key] = readValue(x, o[x.key]);
    else if (x.default !== undefined) o[x.key] = x.default;
  }
  return o;
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

const IMIX = "64/64/64/64/64/64/64/594/594/594/594/1518";
const range = (values: string) => values.split("-").map(Number) as [number, number];

// One reader per option type (port.h's OptionSpec.type), and so one set of
// messages for every driver.
const READERS: Record<string, (x: OptionSpec, v: string) => string> = {
  uint: (x, v) => {
    const [lo, hi] = range(x.values);
    if (!/^\d+$/.test(v) || +v < lo || +v > hi) throw new SpecError(`${x.key}=${v}: give a whole number from ${lo} to ${hi}`);
    return v;
  },
  quantity: (x, v) => {
    const [lo, hi] = range(x.values);
    const n = parseQuantity(v, x.key);
    if (n < lo || n > hi) throw new SpecError(`${x.key}=${v}: give a number from ${lo} to ${hi} (1000, 2.5M, 10k ...)`);
    return String(n);
  },
  fraction: (x, v) => {
    if (!(+v >= 0 && +v <= 1) || v.trim() === "") throw new SpecError(`${x.key}=${v}: give a share from 0 to 1`);
    return v;
  },
  flag: (x, v) => {
    if (["true", "on", "1"].includes(v)) return "1";
    if (["off", "0", "false"].includes(v)) return "0";
    throw new SpecError(`${x.key}=${v}: give on or off`);
  },
  choice: (x, v) => {
    const choices = x.values.split("|");
    if (!choices.includes(v)) throw new SpecError(`${x.key}=${v}: choose ${choices.join(", ")}`);
    return v;
  },
  sizes: (x, v) => {
    const [lo, hi] = range(x.values);
    const sizes = v === "imix" ? IMIX : v;
    for (const z of sizes.split("/"))
      if (!/^\d+$/.test(z) || +z < lo || +z > hi)
        throw new SpecError(`${x.key}=${v}: each size must be ${lo}..${hi} bytes (FCS included), joined by "/", or "imix"`);
    return sizes;
  },
  range: (x, v) => {
    const [lo, hi] = range(x.values);
    const m = /^(\d+)(?:-(\d+))?$/.exec(v);
    if (!m || +m[1] < lo || +m[1] > hi || (m[2] !== undefined && (+m[2] > hi || +m[2] < +m[1])))
      throw new SpecError(`${x.key}=${v}: give a number or a range LO-HI within ${lo}-${hi}`);
    return v;
  },
  repeat: (x, v) => {
    if (v === "true") return "0";   // bare: forever
    const [lo, hi] = range(x.values);
    if (!/^\d+$/.test(v) || +v < lo || +v > hi) throw new SpecError(`${x.key}=${v}: give a count, or just "${x.key}" to repeat forever`);
    return v;
  },
  ifname: (_x, v) => {
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(v)) throw new SpecError(`"${v}" is not an interface name (1-15 letters, digits, "_", ".", "-")`);
    return v;
  },
  text: (x, v) => {
    if (x.values && !new RegExp(x.values).test(v)) throw new SpecError(`"${v}" is not ${x.help}`);
    return v;
  },
};

function readValue(x: OptionSpec, v: string): string {
  const read = READERS[x.type];
  if (!read) throw new Error(`option ${x.key}: the engine declares a type "${x.type}" that runtime/ports.ts cannot read`);
  return read(x, v);
}

/** One line per driver: its synopsis, as --help shows it. */
export function synopsis(d: DriverSpec): string {
  const argKeys = d.argKeys ? d.argKeys.split("@") : [];
  const opts = d.options.filter((x) => !argKeys.includes(x.key)).map((x) => x.type === "flag" ? (x.default === "1" ? `no${x.key}` : x.key) : `${x.key}=${valueHint(x)}`);
  const head = d.arg ? `${d.name}:${d.arg}` : d.name;
  if (!opts.length) return head;
  return d.arg ? `${head}[,${opts.join(",")}]` : `${head}[:${opts.join(",")}]`;
}

/** What a value of this option looks like. */
export function valueHint(x: OptionSpec): string {
  switch (x.type) {
    case "choice": return x.values;
    case "fraction": return "0..1";
    case "sizes": return "N/N...|imix";
    case "range": return "LO-HI";
    case "repeat": return "N";
    case "quantity": return "N";
    case "uint": return range(x.values)[1] > 65535 ? "N" : x.values.replace("-", "..");
    default: return x.key.toUpperCase();
  }
}
