// Reading a VNF's --config in init(): each getter checks one field and
// throws an Error naming it (its path from the top, like `rules[2].dport`)
// and what to write instead, so every VNF's config errors read alike.
// `done()` refuses fields nobody asked for (a typo is an error, not a
// silently ignored setting).
//
//   const c = new ConfigReader(ctx.config, "nat");
//   const pool = c.list("outside", (e) => e.prefix4());
//   const udp = c.obj("timeouts").number("udp", { min: 120_000, default: 300_000 });
//   c.done();
import { parsePrefix, parsePrefix6, type Prefix4, type Prefix6 } from "./addr";

export class ConfigError extends Error {}

export interface NumberRule { min?: number; max?: number; integer?: boolean; default?: number }

export class ConfigReader {
  private readonly seen = new Set<string>();
  private readonly children: ConfigReader[] = [];

  /** `value`: the object (or array element) read; `name`: the VNF (the message's first word); `path`: where it sits. */
  constructor(readonly value: unknown, readonly name: string, readonly path: string = "") {}

  /** Throws a ConfigError about this value (or one of its fields). */
  fail(what: string, field?: string): never {
    const at = this.at(field);
    throw new ConfigError(`${this.name} config${at ? ` ${at}` : ""}: ${what}`);
  }

  /** Whether the field is present. */
  has(field: string): boolean { return this.raw(field) !== undefined; }

  number(field?: string, r: NumberRule = {}): number {
    const v = this.raw(field) ?? r.default;
    if (v === undefined) this.fail("missing; give a number", field);
    const lo = r.min ?? -Infinity, hi = r.max ?? Infinity;
    const range = `${r.integer ? "an integer" : "a number"}${lo > -Infinity ? ` >= ${lo}` : ""}${hi < Infinity ? `${lo > -Infinity ? " and" : ""} <= ${hi}` : ""}`;
    if (typeof v !== "number" || !Number.isFinite(v) || (r.integer && !Number.isInteger(v)) || v < lo || v > hi) {
      this.fail(`${JSON.stringify(v)} is not ${range}`, field);
    }
    return v;
  }

  integer(field?: string, r: NumberRule = {}): number { return this.number(field, { ...r, integer: true }); }

  /** A TCP/UDP port number. */
  port(field?: string, dflt?: number): number { return this.integer(field, { min: 0, max: 65535, default: dflt }); }

  boolean(field?: string, dflt?: boolean): boolean {
    const v = this.raw(field) ?? dflt;
    if (typeof v !== "boolean") this.fail(v === undefined ? "missing; give true or false" : `${JSON.stringify(v)} is not true or false`, field);
    return v;
  }

  string(field?: string, dflt?: string): string {
    const v = this.raw(field) ?? dflt;
    if (typeof v !== "string") this.fail(v === undefined ? "missing; give a string" : `${JSON.stringify(v)} is not a string`, field);
    return v;
  }

  /** One of `choices`. */
  oneOf<T extends string>(field: string | undefined, choices: readonly T[], dflt?: T): T {
    const v = this.raw(field) ?? dflt;
    if (typeof v !== "string" || !choices.includes(v as T)) {
      this.fail(`${v === undefined ? "missing" : `${JSON.stringify(v)} is not allowed`}; give one of ${choices.map((c) => JSON.stringify(c)).join(", ")}`, field);
    }
    return v as T;
  }

  /** An IPv4 address, as a uint32. */
  addr4(field?: string, dflt?: string): number {
    const p = this.prefix4(field, dflt);
    if (p.len !== 32) this.fail(`${JSON.stringify(this.raw(field))} is a prefix; give one IPv4 address like "192.0.2.1"`, field);
    return p.addr;
  }

  /** An IPv4 prefix ("10.0.0.0/8"; an address alone is a /32). */
  prefix4(field?: string, dflt?: string): Prefix4 {
    const v = this.raw(field) ?? dflt;
    try {
      if (typeof v !== "string" || v.includes(":")) throw new Error();
      return parsePrefix(v);
    } catch {
      return this.fail(`${v === undefined ? "missing" : `${JSON.stringify(v)} is not an IPv4 address or prefix`}; write it like "10.0.0.0/8" or "192.0.2.1"`, field);
    }
  }

  /** An IPv6 prefix ("2001:db8::/32"). */
  prefix6(field?: string, dflt?: string): Prefix6 {
    const v = this.raw(field) ?? dflt;
    try {
      if (typeof v !== "string" || !v.includes(":")) throw new Error();
      return parsePrefix6(v);
    } catch {
      return this.fail(`${v === undefined ? "missing" : `${JSON.stringify(v)} is not an IPv6 address or prefix`}; write it like "2001:db8::/32"`, field);
    }
  }

  /** A nested object (absent: an empty one, so its fields take their defaults). */
  obj(field: string): ConfigReader {
    const v = this.raw(field);
    if (v !== undefined && (v === null || typeof v !== "object" || Array.isArray(v))) this.fail(`${JSON.stringify(v)} is not an object; give {...}`, field);
    const c = new ConfigReader(v ?? {}, this.name, this.at(field));
    this.children.push(c);
    return c;
  }

  /** An array (absent: empty), each element read by `each` as a reader of its own. */
  list<T>(field: string, each: (e: ConfigReader, i: number) => T, r: { min?: number; max?: number } = {}): T[] {
    const v = this.raw(field) ?? [];
    if (!Array.isArray(v)) this.fail(`${JSON.stringify(v)} is not a list; give [...]`, field);
    if (v.length < (r.min ?? 0)) this.fail(`give at least ${r.min} entr${r.min === 1 ? "y" : "ies"}`, field);
    if (v.length > (r.max ?? Infinity)) this.fail(`give at most ${r.max} entries (got ${v.length})`, field);
    return v.map((x, i) => {
      const c = new ConfigReader(x, this.name, `${this.at(field)}[${i}]`);
      this.children.push(c);
      return each(c, i);
    });
  }

  /** Throws for any field of this object (and the objects read from it) that nothing read. */
  done(): void {
    const v = this.value;
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      for (const k of Object.keys(v)) {
        if (!this.seen.has(k)) this.fail(`unknown field${this.seen.size ? `; known here: ${[...this.seen].join(", ")}` : ""}`, k);
      }
    }
    for (const c of this.children) c.done();
  }

  // The field's value; without a field, the value itself (a list element).
  private raw(field?: string): unknown {
    const v = this.value;
    if (field === undefined) return v;
    if (v === null || typeof v !== "object" || Array.isArray(v)) this.fail(`${JSON.stringify(v)} is not an object; give {...}`);
    this.seen.add(field);
    return (v as Record<string, unknown>)[field];
  }

  private at(field?: string): string {
    if (field === undefined) return this.path;
    return this.path ? `${this.path}.${field}` : field;
  }
}
