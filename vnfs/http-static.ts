// http-static: HTTP/1.1 static files over sdk/tcp, so that curl, wrk and
// browsers can be pointed at a vnfrun VNF. GET and HEAD, keep-alive (and
// pipelined requests, answered in order), Content-Length, one byte range
// (206, or 416 past the end) for resumed downloads, 404, 405 for other
// methods. The files under `root` are read at init, each core keeping its
// own copy (a reload reads them again), up to `maxBytes` in all; reading
// them takes Node's fs, so the run needs --allow-node.
//
//   sudo vnfrun vnfs/http-static.ts --allow-node --port packet:eth1 --ip 10.0.0.80/24 \
//        --cores 2 --config '{"root":"./site"}'
//   curl http://10.0.0.80/big.bin | sha256sum
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { ConfigReader, Tcp, defineVnf, type TcpConn } from "../sdk";

const MAX_HEAD = 8192;   // request line and headers; past it: 431

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8", htm: "text/html; charset=utf-8", txt: "text/plain; charset=utf-8",
  css: "text/css", js: "text/javascript", json: "application/json", svg: "image/svg+xml",
  png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", gif: "image/gif", ico: "image/x-icon",
};
const typeOf = (path: string) => TYPES[path.slice(path.lastIndexOf(".") + 1).toLowerCase()] ?? "application/octet-stream";

/** Every file under root, by URL path ("/a/b.html"). */
function readTree(root: string, maxBytes: number): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  let total = 0;
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name), st = statSync(full);
      if (st.isDirectory()) { walk(full); continue; }
      if (!st.isFile()) continue;
      total += st.size;
      if (total > maxBytes) throw new Error(`http-static: the files under ${root} pass maxBytes (${maxBytes}): raise it or serve fewer`);
      files.set("/" + relative(root, full).split(sep).join("/"), readFileSync(full));
    }
  };
  walk(root);
  return files;
}

/** A response being written: its head, then body[pos, end). */
interface Reply { head: Uint8Array; headPos: number; body: Uint8Array | null; pos: number; end: number; close: boolean }
/** Per connection: the request head so far, the reply in hand, the peer's FIN, our close. */
interface Session { head: Uint8Array; headLen: number; reply: Reply | null; peerDone: boolean; closed: boolean }

function latin1Bytes(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}

function reply(status: string, headers: string[], body: Uint8Array | null, start: number, end: number, close: boolean): Reply {
  const head = [`HTTP/1.1 ${status}`, "Server: vnfrun http-static", ...headers, ...(close ? ["Connection: close"] : []), "", ""].join("\r\n");
  return { head: latin1Bytes(head), headPos: 0, body, pos: start, end, close };
}

/** The bytes wanted by a single-range header, or "bad" when it cannot be met, or null to send it all. */
function rangeOf(header: string | undefined, size: number): [number, number] | "bad" | null {
  if (header === undefined) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return null;   // several ranges, or another unit: the whole file
  if (m[1] === "") {                                      // the last N bytes
    const n = Math.min(Number(m[2]), size);
    return n === 0 ? "bad" : [size - n, size];
  }
  const from = Number(m[1]), to = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  return from >= size || to < from ? "bad" : [from, to + 1];
}

/** The reply to one request head (latin1 text up to the blank line). */
function answer(text: string, files: Map<string, Uint8Array>, index: string, counts: Float64Array, heads: Map<string, Uint8Array>): Reply {
  const [line, ...rest] = text.split("\r\n");
  const m = /^([A-Z]+) (\S+) HTTP\/1\.([01])$/.exec(line);
  if (!m) return reply("400 Bad Request", ["Content-Length: 0"], null, 0, 0, true);
  const headers = new Map<string, string>();
  for (const h of rest) {
    const colon = h.indexOf(":");
    if (colon > 0) headers.set(h.slice(0, colon).trim().toLowerCase(), h.slice(colon + 1).trim());
  }
  const connection = (headers.get("connection") ?? "").toLowerCase();
  const close = m[3] === "0" ? connection !== "keep-alive" : connection === "close";
  const [method, target] = [m[1], m[2]];
  counts[0]++;
  if (method !== "GET" && method !== "HEAD") return reply("405 Method Not Allowed", ["Allow: GET, HEAD", "Content-Length: 0"], null, 0, 0, close);
  let path: string;
  try { path = decodeURIComponent(target.split("?")[0]); } catch { path = ""; }
  if (path.endsWith("/")) path += index;
  const file = path.split("/").includes("..") ? undefined : files.get(path);
  if (!file) {
    counts[1]++;
    const body = latin1Bytes("not found\n");
    return reply("404 Not Found", ["Content-Type: text/plain", `Content-Length: ${body.length}`], method === "GET" ? body : null, 0, body.length, close);
  }
  const range = rangeOf(headers.get("range"), file.length);
  if (range === "bad") return reply("416 Range Not Satisfiable", [`Content-Range: bytes */${file.length}`, "Content-Length: 0"], null, 0, 0, close);
  const [from, to] = range ?? [0, file.length];
  const body = method === "GET" ? file : null;
  // A whole file's head never changes: built once per path and close.
  const key = range ? "" : `${close ? "c" : "k"}${path}`;
  const cached = range ? undefined : heads.get(key);
  if (cached) return { head: cached, headPos: 0, body, pos: from, end: to, close };
  const head = [`Content-Type: ${typeOf(path)}`, `Content-Length: ${to - from}`, "Accept-Ranges: bytes",
    ...(range ? [`Content-Range: bytes ${from}-${to - 1}/${file.length}`] : [])];
  const r = reply(range ? "206 Partial Content" : "200 OK", head, body, from, to, close);
  if (!range) heads.set(key, r.head);
  return r;
}

export default defineVnf({
  ports: ["net"],
  originates: true,
  init(ctx) {
    const c = new ConfigReader(ctx.config ?? {}, "http-static");
    const root = c.string("root"), index = c.string("index", "index.html");
    const port = c.integer("port", { min: 1, max: 65535, default: 80 });
    const maxBytes = c.integer("maxBytes", { min: 0, default: 2 ** 30 });
    c.done();
    const files = readTree(root, maxBytes);
    // requests, not_found, bytes (body bytes written), connections
    const n = ctx.counters(["http_requests", "http_not_found", "http_bytes", "http_connections"]);
    const tcp = new Tcp(ctx);
    const heads = new Map<string, Uint8Array>();

    // Writes what the send buffer takes. Once the reply is out the
    // connection closes, or (from `writable`) the requests waiting in
    // TCP's buffer are offered again; inside `data` the loop there goes on.
    const pump = (conn: TcpConn, offerMore: boolean) => {
      const s = conn.user as Session;
      const r = s.reply;
      if (!r) return;
      if (r.headPos < r.head.length) {
        r.headPos += conn.write(r.head, r.headPos);
        if (r.headPos < r.head.length) return;
      }
      if (r.body && r.pos < r.end) {
        const k = conn.write(r.body, r.pos, r.end - r.pos);
        r.pos += k;
        n[2] += k;
        if (r.pos < r.end) return;
      }
      s.reply = null;
      if (r.close || s.peerDone) { s.closed = true; conn.close(); }
      else if (offerMore) conn.pull();
    };

    tcp.stack.listen(port, {
      accepted: (conn: TcpConn) => { conn.user = { head: new Uint8Array(MAX_HEAD + 1), headLen: 0, reply: null, peerDone: false, closed: false } satisfies Session; n[3]++; },
      // Takes bytes up to the end of a request head at a time; while its
      // reply is being written, the next (pipelined) requests stay in
      // TCP's buffer, and its window, until their turn.
      data: (conn: TcpConn, b: Uint8Array, off: number, len: number) => {
        const s = conn.user as Session;
        let i = 0;
        const h = s.head;
        while (i < len && !s.reply && !s.closed) {
          const k = ++s.headLen;
          h[k - 1] = b[off + i++];
          if (k >= 4 && h[k - 1] === 10 && h[k - 2] === 13 && h[k - 3] === 10 && h[k - 4] === 13) {
            s.headLen = 0;
            s.reply = answer(String.fromCharCode.apply(null, h.subarray(0, k - 4) as unknown as number[]), files, index, n, heads);
            pump(conn, false);
          } else if (k > MAX_HEAD) {
            s.reply = reply("431 Request Header Fields Too Large", ["Content-Length: 0"], null, 0, 0, true);
            pump(conn, false);
          }
        }
        return s.closed ? len : i;
      },
      writable: (conn: TcpConn) => pump(conn, true),
      end: (conn: TcpConn) => {
        const s = conn.user as Session;
        s.peerDone = true;
        if (!s.reply && !s.closed) { s.closed = true; conn.close(); }
      },
    }, 1024);
    return { tcp };
  },
  process(batch, st) {
    st.tcp.receive(batch);
    st.tcp.send();
  },
});
