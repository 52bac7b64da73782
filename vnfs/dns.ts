// dns: an authoritative DNS server for one zone, on every core.
//
//   sudo vnfrun vnfs/dns.ts --port xdp:eth1 --ip 10.0.0.53/24 --config vnfs/dns.example.json --cores 2
//   dig @10.0.0.53 www.example.test A
//
// The zone is a JSON file (--config; vnfs/dns.example.json shows every
// key): `zone` (the apex), `ttl`, `soa`, and `records`, a map from names
// (relative to the apex, "@" for the apex itself) to types: A, AAAA (lists
// of addresses), CNAME (one name), NS (names), MX ({preference, exchange}),
// TXT (strings, or lists of strings for one record of several strings).
// Every answer is compiled in init() to the bytes it puts on the wire, so a
// query costs a name hash, a compare and a copy. Answers: the records of the
// type asked (a CNAME and, inside the zone, its target's records), NOERROR
// with no data and NXDOMAIN both with the SOA in the authority section,
// REFUSED outside the zone, TC when the answer is longer than 512 bytes
// (no EDNS) or the client's EDNS(0) size, an OPT record to EDNS queries
// (BADVERS to versions above 0). A query that does not parse gets FORMERR
// when its header does, else it is dropped; both are counted
// (dns_formerr, dns_dropped), never thrown. Queries reach the server by the
// SDK's UDP socket on port 53 (the runtime answers ARP and ping).
import { Udp, defineVnf, ip4, ip6, utf8 } from "../sdk";

interface Soa { mname: string; rname: string; serial: number; refresh: number; retry: number; expire: number; minimum: number }
interface Zone { zone: string; ttl?: number; soa: Soa; records: Record<string, Record<string, unknown>> }

const TYPE: Record<string, number> = { A: 1, NS: 2, CNAME: 5, SOA: 6, MX: 15, TXT: 16, AAAA: 28 };
const T_OPT = 41, T_ANY = 255;
const TYPES_LISTED = Math.max(...Object.values(TYPE)) + 1;   // Node.byType's length
const RC_FORMERR = 1, RC_NXDOMAIN = 3, RC_NOTIMP = 4, RC_REFUSED = 5;
const EDNS_SIZE = 1232;   // what this server offers (the DNS flag day 2020 value)

/** A name in wire format, lower case: labels with length bytes, the root's 0 last. */
function wire(name: string): number[] {
  const n = name.replace(/\.$/, "").toLowerCase();
  const out: number[] = [];
  if (n !== "")
    for (const label of n.split(".")) {
      if (label.length === 0 || label.length > 63) throw new Error(`dns zone: bad name "${name}" (empty label or one over 63 bytes)`);
      out.push(label.length);
      for (const ch of label) {
        const c = ch.charCodeAt(0);
        if (c > 127) throw new Error(`dns zone: name "${name}" is not ASCII (write IDNs as xn--)`);
        out.push(c);
      }
    }
  out.push(0);
  if (out.length > 255) throw new Error(`dns zone: name "${name}" is over 255 bytes`);
  return out;
}

/** A hash of wire-format bytes b[at, at+len) that ignores ASCII case: four
 *  bytes a step, each with bit 5 set (which folds A-Z onto a-z, and also
 *  some other pairs together: a collision costs only a compare). */
function hashName(b: ArrayLike<number>, at: number, len: number): number {
  let h = 0x811c9dc5 ^ len, i = 0;
  for (; i + 4 <= len; i += 4) {
    const w = (b[at + i] | (b[at + i + 1] << 8) | (b[at + i + 2] << 16) | (b[at + i + 3] << 24)) | 0x20202020;
    h = Math.imul(h ^ w, 0x01000193);
    h ^= h >>> 15;
  }
  for (; i < len; i++) h = Math.imul(h ^ (b[at + i] | 0x20), 0x01000193);
  h ^= h >>> 16;
  return Math.imul(h, 0x85ebca6b) >>> 0;
}

const u16 = (v: number) => [(v >> 8) & 255, v & 255];
const u32 = (v: number) => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];

/** One resource record: owner (wire bytes, or the question's name when null), type, ttl, rdata. */
function rr(owner: number[] | null, type: number, ttl: number, rdata: number[]): number[] {
  return [...(owner ?? [0xc0, 0x0c]), ...u16(type), 0, 1, ...u32(ttl), ...u16(rdata.length), ...rdata];
}

interface Answer { rcode: number; an: number; ns: number; bytes: Uint8Array }
interface Node { name: number[]; answers: Map<number, Answer>; any: Answer; nodata: Answer; byType: Answer[] }

/** The names' index: open addressing over typed arrays (a query looks up
 *  one name; a Map's hashing cost more than the rest of the lookup). */
class NameIndex {
  private readonly hashes: Uint32Array;
  private readonly ids: Int32Array;   // node + 1; 0 is an empty slot
  private readonly mask: number;
  constructor(readonly nodes: Node[]) {
    let size = 8;
    while (size < nodes.length * 2) size *= 2;
    this.hashes = new Uint32Array(size);
    this.ids = new Int32Array(size);
    this.mask = size - 1;
    nodes.forEach((node, id) => {
      const h = hashName(node.name, 0, node.name.length);
      let i = h & this.mask;
      while (this.ids[i] !== 0) i = (i + 1) & this.mask;
      this.hashes[i] = h;
      this.ids[i] = id + 1;
    });
  }
  /** The node named by the wire-format name at b[at, at+len), any case. */
  find(b: Uint8Array, at: number, len: number): Node | undefined {
    const h = hashName(b, at, len), ids = this.ids;
    for (let i = h & this.mask; ids[i] !== 0; i = (i + 1) & this.mask) {
      if (this.hashes[i] !== h) continue;
      const node = this.nodes[ids[i] - 1], w = node.name;
      if (w.length !== len) continue;
      let same = true;
      for (let j = 0; j < len && same; j++) { let c = b[at + j]; if (c >= 65 && c <= 90) c |= 0x20; same = c === w[j]; }
      if (same) return node;
    }
    return undefined;
  }
}

function compile(z: Zone): { names: NameIndex; apex: number[]; nx: Answer } {
  if (!z || typeof z !== "object" || typeof z.zone !== "string") throw new Error('dns config: give the zone as {"zone":"example.test","soa":{...},"records":{...}} (vnfs/dns.example.json)');
  const apex = wire(z.zone);
  const ttl = z.ttl ?? 300;
  const s = z.soa;
  if (!s || typeof s.mname !== "string" || typeof s.rname !== "string") throw new Error("dns config: soa needs mname, rname, serial, refresh, retry, expire, minimum");
  const soaRr = rr(apex, TYPE.SOA, s.minimum ?? ttl, [...wire(s.mname), ...wire(s.rname), ...u32(s.serial ?? 1), ...u32(s.refresh ?? 3600), ...u32(s.retry ?? 600), ...u32(s.expire ?? 86400), ...u32(s.minimum ?? ttl)]);
  const full = (rel: string) => (rel === "@" ? z.zone : `${rel}.${z.zone}`);
  // Each name's records as rdata lists per type.
  const rdata = new Map<string, Map<number, number[][]>>();
  const names = Object.keys(z.records ?? {});
  for (const rel of names) {
    const types = new Map<number, number[][]>();
    for (const [t, v] of Object.entries(z.records[rel])) {
      const type = TYPE[t];
      if (type === undefined || type === TYPE.SOA) throw new Error(`dns config: ${rel}: type ${t} is not served (A, AAAA, CNAME, NS, MX, TXT)`);
      const list = Array.isArray(v) && type !== TYPE.CNAME ? v : [v];
      types.set(type, list.map((x: any) => {
        switch (type) {
          case TYPE.A: return u32(ip4(String(x)));
          case TYPE.AAAA: return ip6(String(x)).flatMap(u32);
          case TYPE.CNAME: case TYPE.NS: return wire(String(x));
          case TYPE.MX: return [...u16(Number(x.preference)), ...wire(String(x.exchange))];
          default: {   // TXT: a string, or a list of strings (one record)
            const parts: string[] = Array.isArray(x) ? x.map(String) : [String(x)];
            return parts.flatMap((p) => {
              const bytes = Array.from(utf8(p));
              if (bytes.length > 255) throw new Error(`dns config: ${rel}: a TXT string is at most 255 bytes (split it into a list)`);
              return [bytes.length, ...bytes];
            });
          }
        }
      }));
    }
    if (types.has(TYPE.CNAME) && types.size > 1) throw new Error(`dns config: ${rel}: a CNAME cannot have other records beside it`);
    rdata.set(full(rel).toLowerCase(), types);
  }
  const apexName = z.zone.toLowerCase();
  if (!rdata.has(apexName)) rdata.set(apexName, new Map());
  rdata.get(apexName)!.set(TYPE.SOA, [soaRr.slice(apex.length + 10)]);
  const negative = (rcode: number): Answer => ({ rcode, an: 0, ns: 1, bytes: Uint8Array.from(soaRr) });
  const nodes: Node[] = [];
  for (const [name, types] of rdata) {
    const w = wire(name);
    const answers = new Map<number, Answer>();
    const cname = types.get(TYPE.CNAME);
    const all: number[] = [];
    let anyCount = 0;
    for (const [type, list] of types) for (const d of list) { all.push(...rr(null, type, ttl, d)); anyCount++; }
    if (cname) {
      // Every type: the CNAME, then its target's records of that type when the target is in the zone.
      const target = cname[0];
      const tname = names.map(full).find((n) => wire(n).join() === target.join())?.toLowerCase();
      const ttypes = tname ? rdata.get(tname) : undefined;
      for (const type of [...Object.values(TYPE), T_ANY]) {
        const bytes = [...rr(null, TYPE.CNAME, ttl, target)];
        let an = 1;
        if (type !== TYPE.CNAME && ttypes?.get(type)) for (const d of ttypes.get(type)!) { bytes.push(...rr(target, type, ttl, d)); an++; }
        answers.set(type, { rcode: 0, an, ns: 0, bytes: Uint8Array.from(bytes) });
      }
    } else {
      for (const [type, list] of types) {
        const bytes: number[] = [];
        for (const d of list) bytes.push(...rr(null, type, ttl, d));
        answers.set(type, { rcode: 0, an: list.length, ns: 0, bytes: Uint8Array.from(bytes) });
      }
    }
    nodes.push(makeNode(w, answers, { rcode: 0, an: anyCount, ns: 0, bytes: Uint8Array.from(all) }, negative(0)));
  }
  // Empty non-terminals (a.b.zone exists, so b.zone answers NODATA).
  for (const name of [...rdata.keys()]) {
    let n = name;
    while (n.length > apexName.length && n.includes(".")) {
      n = n.slice(n.indexOf(".") + 1);
      const w = wire(n);
      if (!nodes.some((x) => x.name.join() === w.join())) nodes.push(makeNode(w, new Map(), negative(0), negative(0)));
    }
  }
  return { names: new NameIndex(nodes), apex, nx: negative(RC_NXDOMAIN) };
}

/** A name's answers, also as a list by the types served (NODATA filled in). */
function makeNode(name: number[], answers: Map<number, Answer>, any: Answer, nodata: Answer): Node {
  const byType = Array.from({ length: TYPES_LISTED }, (_, t) => answers.get(t) ?? nodata);
  return { name, answers, any, nodata, byType };
}

export default defineVnf({
  ports: ["net"],
  init(ctx) {
    const z = compile(ctx.config as Zone);
    const udp = new Udp(ctx);
    return {
      ...z, udp, sock: udp.bind(53), refused: { rcode: RC_REFUSED, an: 0, ns: 0, bytes: new Uint8Array(0) } as Answer,
      n: ctx.counters(["dns_queries", "dns_answers", "dns_nxdomain", "dns_truncated", "dns_formerr", "dns_dropped"]),
    };
  },
  process(batch, st) {
    st.udp.receive(batch);
    const s = st.sock, b = batch.bytes, n = st.n;
    for (let k = 0; k < s.count; k++) {
      n[0]++;
      const q = s.payload[k], len = s.length[k];
      if (len < 12 || (b[q + 2] & 0x80) !== 0) { n[5]++; continue; }   // no header, or a response: drop
      const flags = b[q + 2];
      const opcode = (flags >> 3) & 15;
      const qd = (b[q + 4] << 8) | b[q + 5], an = (b[q + 6] << 8) | b[q + 7], ns = (b[q + 8] << 8) | b[q + 9], ar = (b[q + 10] << 8) | b[q + 11];
      // The question: one name of labels (no compression), type, class.
      let at = q + 12, ok = qd === 1 && an === 0 && ns === 0 && opcode === 0;
      const end = q + len;
      if (ok) {
        for (;;) {
          if (at >= end) { ok = false; break; }
          const l = b[at];
          if (l === 0) { at++; break; }
          if (l > 63 || at + 1 + l > end) { ok = false; break; }
          at += 1 + l;
        }
        if (at - (q + 12) > 255 || at + 4 > end) ok = false;
      }
      const nameLen = at - (q + 12);
      let rcode = 0, ednsSize = 0, badVers = false;
      if (ok && ar > 0) {
        // The additional section: an OPT record is EDNS(0) (one at most).
        let p = at + 4;
        for (let r = 0; r < ar && ok; r++) {
          const owner = b[p];
          if (p + 11 > end || owner !== 0) { ok = false; break; }
          const type = (b[p + 1] << 8) | b[p + 2], rdlen = (b[p + 9] << 8) | b[p + 10];
          if (p + 11 + rdlen > end) { ok = false; break; }
          if (type === T_OPT) {
            if (ednsSize !== 0) { ok = false; break; }
            ednsSize = Math.max(512, (b[p + 3] << 8) | b[p + 4]);
            badVers = b[p + 6] !== 0;
          }
          p += 11 + rdlen;
        }
      }
      if (!ok) {
        if (opcode !== 0 && qd <= 1) rcode = RC_NOTIMP;
        else rcode = RC_FORMERR;
      }
      // The answer for the name asked.
      let ans: Answer = st.refused;
      if (rcode === 0 && !badVers) {
        const qtype = (b[at] << 8) | b[at + 1], qclass = (b[at + 2] << 8) | b[at + 3];
        const node = st.names.find(b, q + 12, nameLen);
        if (qclass !== 1 && qclass !== 255) ans = st.refused;
        else if (node !== undefined) ans = qtype < TYPES_LISTED ? node.byType[qtype] : qtype === T_ANY ? node.any : node.answers.get(qtype) ?? node.nodata;
        else {
          // Inside the zone (ends with the apex, on a label boundary): NXDOMAIN.
          const apex = st.apex;
          let inside = nameLen >= apex.length;
          if (inside) {
            const from = q + 12 + nameLen - apex.length;
            for (let i = 0; i < apex.length && inside; i++) { let c = b[from + i]; if (c >= 65 && c <= 90) c |= 0x20; inside = c === apex[i]; }
            // on a label boundary: walk the labels to `from`
            if (inside && apex.length < nameLen) {
              let p = q + 12;
              while (p < from) p += 1 + b[p];
              inside = p === from;
            }
          }
          ans = inside ? st.nx : st.refused;
        }
        rcode = ans.rcode;
      }
      // Write the response over the query: header, the question as asked, the answer, OPT.
      const qEnd = rcode === RC_FORMERR && !ok ? q + 12 : at + 4;
      const limit = ednsSize > 0 ? Math.min(ednsSize, EDNS_SIZE) : 512;
      const opt = ednsSize > 0 ? 11 : 0;
      let size = qEnd - q + ans.bytes.length + opt;
      let tc = 0;
      let anc = ans.an, nsc = ans.ns;
      if (size > limit) { tc = 1; anc = 0; nsc = 0; size = qEnd - q + opt; }
      if (q + size - batch.offsets[s.entry[k]] > batch.freshCapacity) { n[5]++; continue; }
      if (tc === 0) b.set(ans.bytes, qEnd);
      if (opt) {
        const o = q + size - 11;
        b[o] = 0; b[o + 1] = 0; b[o + 2] = T_OPT; b[o + 3] = EDNS_SIZE >> 8; b[o + 4] = EDNS_SIZE & 255;
        b[o + 5] = badVers ? 1 : 0; b[o + 6] = 0; b[o + 7] = 0; b[o + 8] = 0; b[o + 9] = 0; b[o + 10] = 0;
      }
      const aa = rcode === 0 || rcode === RC_NXDOMAIN ? 0x04 : 0;   // authoritative for the zone only
      b[q + 2] = 0x80 | (opcode << 3) | aa | (tc << 1) | (flags & 1);   // QR, AA, TC, RD as asked
      b[q + 3] = rcode & 15;
      b[q + 4] = 0; b[q + 5] = qEnd > q + 12 ? 1 : 0;
      b[q + 6] = anc >> 8; b[q + 7] = anc & 255;
      b[q + 8] = 0; b[q + 9] = nsc;
      b[q + 10] = 0; b[q + 11] = opt ? 1 : 0;
      s.reply(batch, k, size);
      n[1]++;
      if (rcode === RC_NXDOMAIN) n[2]++;
      if (tc) n[3]++;
      if (rcode === RC_FORMERR) n[4]++;
    }
  },
});
