// Address parsing and formatting. These allocate and throw: they are for
// setup code (init, config compilation) and debugging, not the packet loop.

export interface Prefix4 { addr: number; len: number; }
export interface Prefix6 { words: number[]; len: number; }

/** Netmask for a prefix length 0..32, as uint32 (len 0 gives 0). */
export function prefixMask(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

/** "10.1.2.3" -> 0x0a010203. Strict dotted quad; throws on anything else. */
export function ip4(s: string): number {
  const parts = s.split(".");
  if (parts.length !== 4) throw new Error(`invalid IPv4 address "${s}"`);
  let n = 0;
  for (let i = 0; i < 4; i++) {
    const p = parts[i];
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) throw new Error(`invalid IPv4 address "${s}"`);
    n = n * 256 + Number(p);
  }
  return n;
}

/** 0x0a010203 -> "10.1.2.3". */
export function ip4str(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** "10.0.0.0/8" -> {addr: 0x0a000000, len: 8}; a bare address is a /32.
 *  Host bits are cleared, so "10.1.2.3/8" gives addr 10.0.0.0. */
export function parsePrefix(s: string): Prefix4 {
  const slash = s.indexOf("/");
  const addr = ip4(slash < 0 ? s : s.slice(0, slash));
  const len = slash < 0 ? 32 : prefixLen(s, s.slice(slash + 1), 32);
  return { addr: (addr & prefixMask(len)) >>> 0, len };
}

function prefixLen(whole: string, s: string, max: number): number {
  if (!/^\d{1,3}$/.test(s) || Number(s) > max) throw new Error(`invalid prefix length in "${whole}" (0..${max})`);
  return Number(s);
}

/** "aa:bb:cc:dd:ee:ff" (or '-' separated) -> 48-bit number. */
export function mac(s: string): number {
  const parts = s.split(/[:-]/);
  if (parts.length !== 6) throw new Error(`invalid MAC address "${s}"`);
  let n = 0;
  for (let i = 0; i < 6; i++) {
    if (!/^[0-9a-fA-F]{1,2}$/.test(parts[i])) throw new Error(`invalid MAC address "${s}"`);
    n = n * 256 + parseInt(parts[i], 16);
  }
  return n;
}

/** 48-bit number -> "aa:bb:cc:dd:ee:ff". */
export function macStr(n: number): string {
  const hi = Math.floor(n / 0x100000000) & 0xffff;
  const lo = n >>> 0;
  const bytes = [hi >>> 8, hi & 255, lo >>> 24, (lo >>> 16) & 255, (lo >>> 8) & 255, lo & 255];
  return bytes.map((x) => (x < 16 ? "0" : "") + x.toString(16)).join(":");
}

/** "2001:db8::1" -> four uint32 words, most significant first. Accepts "::"
 *  compression and a trailing dotted quad ("::ffff:10.0.0.1"). */
export function ip6(s: string): number[] {
  const bad = (): Error => new Error(`invalid IPv6 address "${s}"`);
  const groups: number[] = [];
  const halves = s.split("::");
  if (halves.length > 2) throw bad();
  const parseHalf = (h: string, isLast: boolean): number[] => {
    if (h === "") return [];
    const out: number[] = [];
    const parts = h.split(":");
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (isLast && i === parts.length - 1 && p.indexOf(".") >= 0) {
        const v4 = ip4(p);
        out.push(v4 >>> 16, v4 & 0xffff);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) {
        out.push(parseInt(p, 16));
      } else {
        throw bad();
      }
    }
    return out;
  };
  const head = parseHalf(halves[0], halves.length === 1);
  if (halves.length === 1) {
    if (head.length !== 8) throw bad();
    groups.push(...head);
  } else {
    const tail = parseHalf(halves[1], true);
    const zeros = 8 - head.length - tail.length;
    if (zeros < 1) throw bad();
    groups.push(...head);
    for (let i = 0; i < zeros; i++) groups.push(0);
    groups.push(...tail);
  }
  const w: number[] = [];
  for (let i = 0; i < 4; i++) w.push(((groups[2 * i] << 16) | groups[2 * i + 1]) >>> 0);
  return w;
}

/** Four uint32 words -> RFC 5952 text (lower case, longest zero run as "::"). */
export function ip6str(words: ArrayLike<number>): string {
  const g: number[] = [];
  for (let i = 0; i < 4; i++) g.push(words[i] >>> 16, words[i] & 0xffff);
  let bestAt = -1, bestLen = 1; // RFC 5952: never compress a single group
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { bestAt = i; bestLen = j - i; }
    i = j;
  }
  const hex = (a: number[]): string => a.map((x) => x.toString(16)).join(":");
  if (bestAt < 0) return hex(g);
  return `${hex(g.slice(0, bestAt))}::${hex(g.slice(bestAt + bestLen))}`;
}

/** Mask word i (0..3) of an IPv6 prefix of length len. */
export function prefixMask6(len: number, i: number): number {
  const bits = len - 32 * i;
  return bits >= 32 ? 0xffffffff : bits <= 0 ? 0 : prefixMask(bits);
}

/** "2001:db8::/32" -> {words, len}; a bare address is a /128. Host bits cleared. */
export function parsePrefix6(s: string): Prefix6 {
  const slash = s.indexOf("/");
  const words = ip6(slash < 0 ? s : s.slice(0, slash));
  const len = slash < 0 ? 128 : prefixLen(s, s.slice(slash + 1), 128);
  for (let i = 0; i < 4; i++) words[i] = (words[i] & prefixMask6(len, i)) >>> 0;
  return { words, len };
}
