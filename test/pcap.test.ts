// End to end through the CLI: pcap in -> l2fwd -> pcap out, checked against
// what scapy and tshark (independent readers and writers) make of the same
// files. Needs the built addon and dist/ (npm run build). Checks that need
// scapy or tshark are skipped, with the reason in their name, where the tool
// is missing.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { needs } from "./helpers/tools";

const ROOT = resolve(__dirname, "..");
const CLI = join(ROOT, "bin", "vnfrun.js");
const L2FWD = join(ROOT, "vnfs", "l2fwd.ts");

function works(cmd: string, args: string[]): boolean {
  return spawnSync(cmd, args, { stdio: "ignore" }).status === 0;
}
const PYTHON = ["/usr/bin/python3", "python3"].find((p) => works(p, ["-c", "import scapy.all"]));
const TSHARK = works("tshark", ["--version"]);
const EDITCAP = works("editcap", ["--version"]);
const noScapy = PYTHON ? "" : needs("python3-scapy");
const noTshark = TSHARK && EDITCAP ? "" : needs("tshark");

let dir: string;
const at = (name: string) => join(dir, name);

beforeAll(() => { dir = mkdtempSync(join(tmpdir(), "vnfrun-pcap-")); });
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

interface PortSummary { name: string; driver: string; [counter: string]: number | string }
interface Run { status: number | null; stdout: string; stderr: string; ports: Record<string, PortSummary> }

// Arguments starting with "-" go to the CLI as they are; the rest are ports.
function vnfrun(...args: string[]): Run {
  const argv = args.flatMap((a) => (a.startsWith("-") ? a.split(" ") : ["--port", a]));
  const r = spawnSync(process.execPath, [CLI, L2FWD, ...argv, "--json"], {
    cwd: dir, encoding: "utf8", timeout: 60_000, maxBuffer: 64 << 20,
  });
  const ports_: Record<string, PortSummary> = {};
  if (r.status === 0) for (const p of JSON.parse(r.stdout).ports as PortSummary[]) ports_[p.name] = p;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ports: ports_ };
}

function ok(...args: string[]): Run {
  const r = vnfrun(...args);
  if (r.status !== 0) throw new Error(`vnfrun exited ${r.status}: ${r.stderr}`);
  return r;
}

// Runs python with scapy; `code` sees `from scapy.all import *`, sys, and the
// helper E() for an Ethernet header with fixed addresses.
function scapy(code: string): string {
  const prelude = [
    "import sys, logging",
    "logging.getLogger('scapy').setLevel(logging.ERROR)",
    "from scapy.all import *",
    "def E(**kw): return Ether(src='02:00:00:00:00:01', dst='02:00:00:00:00:02', **kw)",
    "def hexes(path): print('\\n'.join(bytes(p).hex() for p in rdpcap(path)))",
  ].join("\n");
  const r = spawnSync(PYTHON!, ["-c", prelude + "\n" + code], { cwd: dir, encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return r.stdout;
}

const lines = (s: string) => s.split("\n").filter((l) => l.length > 0);

// Real traffic of many kinds and sizes (60..1514 bytes).
const TRAFFIC = `
pk = [E()/IP(src='10.0.0.1', dst='10.0.0.2')/TCP(sport=1234, dport=80, flags='S'),
      E()/IP(dst='10.0.0.53')/UDP(sport=5353, dport=53)/DNS(rd=1, qd=DNSQR(qname='example.com')),
      E()/IPv6(src='fe80::1', dst='fe80::2')/ICMPv6EchoRequest(data=b'ping'),
      Ether(src='02:00:00:00:00:01', dst='ff:ff:ff:ff:ff:ff')/ARP(psrc='10.0.0.1', pdst='10.0.0.7'),
      E()/Dot1Q(vlan=7)/IP(dst='10.7.7.7')/UDP(dport=4789)/Raw(b'v'*100),
      E()/IP(dst='10.0.0.9')/ICMP()/Raw(b'p'*1472)]
pk += [E()/IP(src='10.1.%d.%d' % (i // 250, i % 250), dst='10.2.0.1')/UDP(sport=1000+i, dport=9)/Raw(bytes([i % 256]) * (i * 7 % 1400))
       for i in range(300)]
pk = [p if len(p) >= 60 else p/Raw(b'\\0' * (60 - len(p))) for p in pk]
`;

function tsharkFields(file: string, ...fields: string[]): string {
  const r = spawnSync("tshark", ["-r", file, "-T", "fields", ...fields.flatMap((f) => ["-e", f])], { encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

describe.skipIf(!PYTHON)(`pcap port end to end (scapy)${noScapy}`, () => {
  let want: string[];

  beforeAll(() => {
    want = lines(scapy(TRAFFIC + `
wrpcap('in.pcap', pk)
wrpcap('in.be.pcap', pk, endianness='>')
wrpcap('in.ns.pcap', pk, nano=True)
wrpcapng('in.scapy.pcapng', pk)
for p in pk: print(bytes(p).hex())
`));
    expect(want.length).toBe(306);
  });

  it("l2fwd copies a pcap frame-for-frame, and the summary counts every frame", () => {
    const r = ok("pcap:in.pcap", "pcap:out.pcap");
    expect(lines(scapy("hexes('out.pcap')"))).toEqual(want);
    const bytes = want.reduce((n, h) => n + h.length / 2, 0);
    expect(r.ports.in).toMatchObject({ rx_packets: 306, rx_bytes: bytes, rx_malformed: 0, rx_no_buffer: 0 });
    expect(r.ports.out).toMatchObject({ tx_packets: 306, tx_bytes: bytes, tx_errors: 0 });
    expect(r.ports.in.driver).toBe("pcap read in.pcap (pcap)");
    expect(r.ports.out.driver).toBe("pcap write out.pcap");
  });

  it.skipIf(!TSHARK)(`tshark sees the same frames and protocols in our output${noTshark}`, () => {
    ok("pcap:in.pcap", "pcap:out-t.pcap");
    const fields = ["frame.len", "frame.cap_len", "frame.protocols"];
    expect(tsharkFields(at("out-t.pcap"), ...fields)).toBe(tsharkFields(at("in.pcap"), ...fields));
    const t = spawnSync("capinfos", ["-t", "-E", "-T", at("out-t.pcap")], { encoding: "utf8" });
    if (t.status === 0) expect(t.stdout).toMatch(/\tpcap\tether\n/);  // classic pcap, Ethernet
  });

  for (const [file, kind] of [
    ["in.be.pcap", "pcap, big-endian"],
    ["in.ns.pcap", "pcap, nanosecond"],
    ["in.scapy.pcapng", "pcapng, 1 interface"],
  ]) {
    it(`reads ${kind} written by scapy`, () => {
      const out = `out-${file}.pcap`;
      const r = ok(`pcap:${file}`, `pcap:${out}`);
      expect(r.ports.in.driver).toBe(`pcap read ${file} (${kind})`);
      expect(lines(scapy(`hexes('${out}')`))).toEqual(want);
    });
  }

  it.skipIf(!TSHARK || !EDITCAP)(`reads the pcapng that tshark writes by default, and editcap's nanosecond pcap${noTshark}`, () => {
    expect(spawnSync("tshark", ["-r", at("in.pcap"), "-w", at("in.tshark.pcapng")]).status).toBe(0);
    expect(spawnSync("editcap", ["-F", "nsecpcap", at("in.pcap"), at("in.editcap.pcap")]).status).toBe(0);
    const a = ok("pcap:in.tshark.pcapng", "pcap:out-tng.pcap");
    expect(a.ports.in.driver).toBe("pcap read in.tshark.pcapng (pcapng, 1 interface)");
    expect(lines(scapy("hexes('out-tng.pcap')"))).toEqual(want);
    const b = ok("pcap:in.editcap.pcap", "pcap:out-tns.pcap");
    expect(b.ports.in.driver).toBe("pcap read in.editcap.pcap (pcap, nanosecond)");
    expect(lines(scapy("hexes('out-tns.pcap')"))).toEqual(want);
  });

  it("replays a file N times with loop=N", () => {
    const r = ok("pcap:in.pcap,loop=3", "pcap:out-loop.pcap");
    expect(r.ports.in.rx_packets).toBe(3 * 306);
    expect(r.ports.out.tx_packets).toBe(3 * 306);
    expect(lines(scapy("hexes('out-loop.pcap')"))).toEqual([...want, ...want, ...want]);
  });

  it("loops forever with a bare loop flag, until --count stops it", () => {
    const r = ok("pcap:in.pcap,loop", "pcap:out-forever.pcap", "--count 2000");
    expect(r.ports.in.driver).toBe("pcap read in.pcap (pcap, looping forever)");
    expect(r.ports.in.rx_packets).toBeGreaterThanOrEqual(2000);
    const got = lines(scapy("hexes('out-forever.pcap')"));
    expect(got.length).toBe(r.ports.out.tx_packets);
    expect(got.length).toBeGreaterThanOrEqual(2000 - 306);
    got.forEach((h, i) => { if (h !== want[i % 306]) expect.fail(`frame ${i} is not input frame ${i % 306}`); });
  });

  it("cuts frames to snaplen on write and keeps their original length", () => {
    ok("pcap:in.pcap", "pcap:out-snap.pcap,snaplen=100");
    const got = lines(scapy("hexes('out-snap.pcap')"));
    expect(got).toEqual(want.map((h) => h.slice(0, 200)));
    if (TSHARK) {
      const lens = lines(tsharkFields(at("out-snap.pcap"), "frame.cap_len", "frame.len"));
      expect(lens).toEqual(want.map((h) => `${Math.min(h.length / 2, 100)}\t${h.length / 2}`));
    }
  });

  it("stops at a truncated record: the frames before it pass, one malformed is counted", () => {
    const full = readFileSync(at("in.pcap"));
    // Records 0..9 whole, then half of record 10.
    let off = 24;
    for (let i = 0; i < 10; i++) off += 16 + full.readUInt32LE(off + 8);
    writeFileSync(at("cut.pcap"), full.subarray(0, off + 16 + 20));
    const r = ok("pcap:cut.pcap", "pcap:out-cut.pcap");
    expect(r.ports.in).toMatchObject({ rx_packets: 10, rx_malformed: 1 });
    expect(r.ports.in.driver).toMatch(/^pcap read cut\.pcap \(pcap\); warning: truncated record at offset \d+ \(20 of \d+ bytes\); stopped reading there$/);
    expect(r.ports.out.tx_packets).toBe(10);
    expect(lines(scapy("hexes('out-cut.pcap')"))).toEqual(want.slice(0, 10));
  });

  it("counts a runt as malformed and passes the rest, a 3028-byte frame whole", () => {
    scapy(`
pk = [E()/IP(dst='10.0.0.1')/UDP()/Raw(b'a'*20), Raw(b'short'), E()/IP()/UDP()/Raw(b'j'*2986),
      E()/IP(dst='10.0.0.2')/UDP()/Raw(b'b'*20)]
wrpcap('odd.pcap', pk)
`);
    const r = ok("pcap:odd.pcap", "pcap:out-odd.pcap");
    expect(r.ports.in).toMatchObject({ rx_packets: 3, rx_malformed: 1, rx_oversize: 0 });
    expect(lines(scapy("hexes('out-odd.pcap')")).map((h) => h.length / 2)).toEqual([62, 3028, 62]);
  });

  it("refuses a capture that is not Ethernet, naming the link type", () => {
    scapy("wrpcap('raw.pcap', [IP(dst='10.0.0.1')/UDP()], linktype=101)");
    const r = vnfrun("pcap:raw.pcap", "pcap:out-raw.pcap");
    expect(r.status).not.toBe(0);
    expect(lines(r.stderr).length).toBe(1);
    expect(r.stderr).toContain("raw.pcap: the capture has link type 101 RAW");
  });
});

describe("pcap port errors", () => {
  const fails = (file: string, content: Buffer | string, message: string) => {
    writeFileSync(at(file), content);
    const r = vnfrun(`pcap:${file}`, "pcap:never.pcap");
    expect(r.status).not.toBe(0);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toContain(message);
  };

  it("a garbage file is one line and a non-zero exit", () => {
    fails("garbage.pcap", "GET / HTTP/1.1\r\n\r\n", "garbage.pcap: not a pcap or pcapng file (starts with 0x47455420)");
  });

  it("an empty file and a truncated header are explained", () => {
    fails("empty.pcap", "", "empty.pcap: empty file, not a pcap capture");
    const hdr = Buffer.from("d4c3b2a102000400000000000000", "hex");
    fails("short.pcap", hdr, "short.pcap: truncated pcap header (14 of 24 bytes)");
    fails("shortng.pcapng", Buffer.from("0a0d0d0a1c0000004d3c2b1a", "hex"), "truncated pcapng section header (12 of 28 bytes)");
  });

  it("a missing input and an unwritable output are explained", () => {
    const a = vnfrun("pcap:nope.pcap", "pcap:out.pcap");
    expect(a.status).not.toBe(0);
    expect(a.stderr).toContain("cannot read nope.pcap: No such file or directory");
    writeFileSync(at("one.pcap"), Buffer.from("d4c3b2a1020004000000000000000000ffff000001000000", "hex"));
    const b = vnfrun("pcap:one.pcap", "pcap:no/such/dir/out.pcap");
    expect(b.status).not.toBe(0);
    expect(b.stderr).toContain("cannot write no/such/dir/out.pcap: No such file or directory");
    const c = vnfrun("pcap:one.pcap", "pcap:/dev/full");
    expect(c.status).not.toBe(0);
    expect(c.stderr).toContain("cannot write /dev/full: No space left on device");
  });

  it("an empty capture (header only) runs and writes an empty capture", () => {
    writeFileSync(at("none.pcap"), Buffer.from("d4c3b2a1020004000000000000000000ffff000001000000", "hex"));
    const r = ok("pcap:none.pcap", "pcap:out-none.pcap");
    expect(r.ports.in.rx_packets).toBe(0);
    expect(readFileSync(at("out-none.pcap")).length).toBe(24);
  });
});
