// Frames shown decoded, for people: each layer's fields by name (the names
// the builder takes), a field-by-field diff of two frames, and a hexdump
// around the first byte that differs. Not the SDK's views: a test's reader
// should not share code with what it checks.
import { TCP_FLAGS, inetChecksum } from "./packet";

export interface Decoded { layer: string; fields: Record<string, string | number> }

const hex = (v: number, w = 4) => "0x" + v.toString(16).padStart(w, "0");
const macS = (b: Uint8Array, o: number) => Array.from(b.subarray(o, o + 6), (x) => x.toString(16).padStart(2, "0")).join(":");
const ip4S = (b: Uint8Array, o: number) => Array.from(b.subarray(o, o + 4)).join(".");
function ip6S(b: Uint8Array, o: number): string {
  const w = Array.from({ length: 8 }, (_, i) => (b[o + 2 * i] << 8) | b[o + 2 * i + 1]);
  // The longest run of zero words (2 or more) becomes "::" (RFC 5952).
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j > i ? j : i + 1;
  }
  const h = w.map((x) => x.toString(16));
  return best < 0 ? h.join(":") : `${h.slice(0, best).join(":")}::${h.slice(best + bestLen).join(":")}`;
}
const u16 = (b: Uint8Array, o: number) => (b[o] << 8) | b[o + 1];
const u32 = (b: Uint8Array, o: number) => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;

function flagLetters(bits: number): string {
  let s = "";
  for (let i = 0; i < 8; i++) if (bits & (1 << i)) s += TCP_FLAGS[i];
  return s || ".";
}

/** A checksum as found, marked when it is not what the bytes add up to. */
function checked(found: number, sumOverAll: number): string {
  return sumOverAll === 0 ? hex(found) : `${hex(found)} (bad)`;
}

/** The frame's layers, as far as they can be read; what is left is `payload`. */
export function decode(frame: Uint8Array): Decoded[] {
  const out: Decoded[] = [];
  const b = frame;
  let o = 0;
  const rest = (from: number) => {
    if (from < b.length) out.push({ layer: "payload", fields: { length: b.length - from, bytes: Buffer.from(b.subarray(from)).toString("hex") } });
  };
  if (b.length < 14) { rest(0); return out; }
  out.push({ layer: "eth", fields: { dst: macS(b, 0), src: macS(b, 6), type: hex(u16(b, 12)) } });
  let type = u16(b, 12);
  o = 14;
  while ((type === 0x8100 || type === 0x88a8) && o + 4 <= b.length) {
    const tci = u16(b, o);
    out.push({ layer: "vlan", fields: { tpid: hex(type), pcp: tci >> 13, dei: (tci >> 12) & 1, vid: tci & 0xfff, type: hex(u16(b, o + 2)) } });
    type = u16(b, o + 2);
    o += 4;
  }
  let proto = -1, pseudo: number[] = [], l4 = o;
  if (type === 0x0806 && o + 28 <= b.length) {
    out.push({ layer: "arp", fields: { op: u16(b, o + 6), sha: macS(b, o + 8), spa: ip4S(b, o + 14), tha: macS(b, o + 18), tpa: ip4S(b, o + 24) } });
    rest(o + 28);
    return out;
  } else if (type === 0x0800 && o + 20 <= b.length && b[o] >> 4 === 4) {
    const hl = (b[o] & 15) * 4, len = u16(b, o + 2), frag = u16(b, o + 6);
    out.push({ layer: "ipv4", fields: {
      src: ip4S(b, o + 12), dst: ip4S(b, o + 16), ttl: b[o + 8], proto: b[o + 9], len, id: u16(b, o + 4), tos: b[o + 1],
      df: (frag >> 14) & 1, mf: (frag >> 13) & 1, fragOffset: frag & 0x1fff, ihl: hl / 4,
      checksum: checked(u16(b, o + 10), inetChecksum(b.subarray(o, o + hl))),
      ...(hl > 20 ? { options: Buffer.from(b.subarray(o + 20, o + hl)).toString("hex") } : {}),
    } });
    if ((frag & 0x1fff) !== 0) { rest(o + hl); return out; }   // a later fragment: no L4 header
    proto = b[o + 9];
    pseudo = [...b.subarray(o + 12, o + 20), 0, proto, 0, 0];
    l4 = o + hl;
  } else if (type === 0x86dd && o + 40 <= b.length) {
    const vtf = u32(b, o);
    out.push({ layer: "ipv6", fields: {
      src: ip6S(b, o + 8), dst: ip6S(b, o + 24), hopLimit: b[o + 7], next: b[o + 6], len: u16(b, o + 4),
      tc: (vtf >>> 20) & 0xff, flow: vtf & 0xfffff,
    } });
    proto = b[o + 6];
    pseudo = [...b.subarray(o + 8, o + 40), 0, 0, 0, 0, 0, 0, 0, proto];
    l4 = o + 40;
  } else {
    rest(o);
    return out;
  }
  const l4len = b.length - l4;
  const withLen = (p: number[]) => {
    if (p.length === 12) { p[10] = (l4len >> 8) & 255; p[11] = l4len & 255; } else { p[34] = (l4len >> 8) & 255; p[35] = l4len & 255; }
    return p;
  };
  if (proto === 6 && l4len >= 20) {
    const doff = (b[l4 + 12] >> 4) * 4;
    out.push({ layer: "tcp", fields: {
      sport: u16(b, l4), dport: u16(b, l4 + 2), flags: flagLetters(b[l4 + 13]), seq: u32(b, l4 + 4), ack: u32(b, l4 + 8),
      window: u16(b, l4 + 14), dataOffset: doff / 4, urg: u16(b, l4 + 18),
      checksum: checked(u16(b, l4 + 16), inetChecksum(withLen(pseudo), b.subarray(l4))),
      ...(doff > 20 ? { options: Buffer.from(b.subarray(l4 + 20, l4 + doff)).toString("hex") } : {}),
    } });
    rest(l4 + Math.max(20, doff));
  } else if (proto === 17 && l4len >= 8) {
    const c = u16(b, l4 + 6);
    out.push({ layer: "udp", fields: { sport: u16(b, l4), dport: u16(b, l4 + 2), len: u16(b, l4 + 4),
      checksum: c === 0 ? "0x0000 (none)" : checked(c, inetChecksum(withLen(pseudo), b.subarray(l4))) } });
    rest(l4 + 8);
  } else if ((proto === 1 || proto === 58) && l4len >= 8) {
    out.push({ layer: proto === 1 ? "icmp" : "icmpv6", fields: { type: b[l4], code: b[l4 + 1], id: u16(b, l4 + 4), seq: u16(b, l4 + 6),
      checksum: checked(u16(b, l4 + 2), proto === 1 ? inetChecksum(b.subarray(l4)) : inetChecksum(withLen(pseudo), b.subarray(l4))) } });
    rest(l4 + 8);
  } else {
    rest(l4);
  }
  return out;
}

/** One line per layer: "ipv4 src=10.0.0.1 dst=10.0.0.2 ttl=64 ...". */
export function describePacket(frame: Uint8Array): string {
  return decode(frame).map((l) => `${l.layer.padEnd(7)} ${Object.entries(l.fields).map(([k, v]) => `${k}=${l.layer === "payload" && k === "bytes" ? shortHex(String(v)) : v}`).join(" ")}`).join("\n");
}

const shortHex = (h: string) => (h.length > 64 ? `${h.slice(0, 64)}...` : h);

/** "ipv4.ttl: expected 64, got 63", one line per field that differs. */
export function diffFields(actual: Uint8Array, expected: Uint8Array): string[] {
  const a = decode(actual), e = decode(expected);
  const lines: string[] = [];
  for (let i = 0; i < Math.max(a.length, e.length); i++) {
    const x = a[i], y = e[i];
    if (!x || !y || x.layer !== y.layer) {
      lines.push(`layer ${i + 1}: expected ${y?.layer ?? "(none)"}, got ${x?.layer ?? "(none)"}`);
      break;   // past a different layer, fields no longer line up
    }
    for (const k of new Set([...Object.keys(y.fields), ...Object.keys(x.fields)]))
      if (x.fields[k] !== y.fields[k]) lines.push(`${x.layer}.${k}: expected ${show(y.fields[k])}, got ${show(x.fields[k])}`);
  }
  return lines;
}

const show = (v: string | number | undefined) => (v === undefined ? "(absent)" : typeof v === "string" ? shortHex(v) : String(v));

/** The index of the first differing byte (or the shorter length); -1 when equal. */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/** Both frames' bytes around the first difference, 16 a row, the byte marked. */
export function hexdumpDifference(actual: Uint8Array, expected: Uint8Array): string {
  const at = firstDifference(actual, expected);
  if (at < 0) return "";
  const from = Math.max(0, (at & ~15) - 16), to = (at & ~15) + 32;
  const rows = (b: Uint8Array, label: string) => {
    const out: string[] = [];
    for (let o = from; o < Math.min(to, Math.max(b.length, at + 1)); o += 16) {
      const cells = Array.from({ length: 16 }, (_, i) => {
        const k = o + i;
        const c = k < b.length ? b[k].toString(16).padStart(2, "0") : "  ";
        return k === at ? `[${c}]` : ` ${c} `;
      });
      out.push(`  ${label} ${o.toString(16).padStart(4, "0")} ${cells.join("")}`);
    }
    return out;
  };
  return [`first difference at byte ${at} (0x${at.toString(16)}); lengths ${actual.length} (got) and ${expected.length} (expected)`,
    ...rows(expected, "expected"), ...rows(actual, "got     ")].join("\n");
}

/** Everything a failed comparison should say: fields, then bytes. */
export function explainDifference(actual: Uint8Array, expected: Uint8Array): string {
  const fields = diffFields(actual, expected);
  return [
    fields.length ? fields.join("\n") : "(the decoded fields agree; the bytes differ)",
    hexdumpDifference(actual, expected),
    "expected:", indent(describePacket(expected)),
    "got:", indent(describePacket(actual)),
  ].join("\n");
}

const indent = (s: string) => s.split("\n").map((l) => "  " + l).join("\n");
