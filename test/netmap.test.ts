// netmap ports through the CLI.
//
// Everywhere: the spec checks, and the one clear line a user gets for a
// netmap port on a machine without netmap (the engine built without netmap's
// headers, or no /dev/netmap).
//
// Where /dev/netmap exists and the engine was built with netmap (NETMAP_SRC=...
// npm run build): real traffic through netmap pipes and a VALE switch. One
// vnfrun runs a four-port VNF written here (src -> a, b -> dst): frames read
// from a pcap leave by port a, cross the pipe or switch, come back in by port
// b and are written to a second pcap, so both ends are open before any frame
// moves and the result is exact. Elsewhere those tests skip, with the reason
// in their name.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { frame, readPcap, writePcap } from "./helpers/pcap";

const ROOT = resolve(__dirname, "..");
const CLI = join(ROOT, "bin", "vnfrun.js");
const L2FWD = join(ROOT, "vnfs", "l2fwd.ts");

const NOT_BUILT =
  "netmap support was not built: install netmap (https://github.com/luigirizzo/netmap) and rebuild with NETMAP_SRC=/path/to/netmap npm run build";
const NO_DEVICE = "no /dev/netmap: load the netmap kernel module";

interface Run { status: number | null; stdout: string; stderr: string }

function vnfrun(args: string[], cwd = ROOT): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: "utf8", timeout: 60_000, maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// What opening a netmap port says on this machine: decides what runs below.
const probe = vnfrun([L2FWD, "--port", "in=netmap:vnfrun-probe{0", "--port", "out=sink", "--duration", "0.2", "--json"]);
const built = !probe.stderr.includes(NOT_BUILT);
const device = existsSync("/dev/netmap");
const live = built && device && probe.status === 0;
const skipped = !device
  ? "skipped: no /dev/netmap on this machine (load netmap.ko)"
  : !built
    ? "skipped: this engine was built without netmap (NETMAP_SRC=/path/to/netmap npm run build)"
    : probe.status !== 0
      ? `skipped: netmap is here but a pipe would not open: ${probe.stderr.trim()}`
      : "";
const named = (title: string) => (live ? title : `${title} (${skipped})`);

describe("netmap port specs and errors", () => {
  it.each([
    [["--port", "in=netmap"], /netmap needs a netmap port name: netmap:IFNAME/],
    [["--port", "in=netmap:eth0,ring=512"], /ring=512: choose 1024, 2048/],
    [["--port", "in=netmap:eth0,colour=red"], /netmap has no option "colour"|colour/],
    [["--port", "in=netmap:eth0!"], /"eth0!" is not a netmap port name/],
  ])("%j fails with one clear line", (args, message) => {
    const r = vnfrun([L2FWD, ...(args as string[])]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it.skipIf(device && built)("netmap:eth0 without netmap says what to install, in one line", () => {
    for (const spec of ["in=netmap:eth0", "in=vale0:p1"]) {
      const r = vnfrun([L2FWD, "--port", spec, "--port", "out=sink"]);
      expect(r.status).toBe(1);
      const lines = r.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(built ? NO_DEVICE : NOT_BUILT);
    }
  });

  it.skipIf(!live)(named("an interface that does not exist is named in one line"), () => {
    const r = vnfrun([L2FWD, "--port", "in=netmap:vnfrun-nosuch0", "--port", "out=sink"]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/no interface vnfrun-nosuch0/);
  });
});

describe.skipIf(!live)(named("netmap pipes and VALE through the CLI"), () => {
  let dir: string;
  let sent: Uint8Array[];
  const at = (name: string) => join(dir, name);
  // A run's own names, so that parallel runs and leftovers never meet.
  const tag = `t${process.pid}`;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "vnfrun-netmap-"));
    // src -> a; b -> dst; anything else is dropped (and would show as vnf_drops).
    writeFileSync(at("loop.ts"), `
import { defineVnf } from ${JSON.stringify(join(ROOT, "sdk"))};
export default defineVnf({
  ports: ["src", "a", "b", "dst"],
  init: (ctx) => ({ src: ctx.port("src"), a: ctx.port("a"), b: ctx.port("b"), dst: ctx.port("dst") }),
  process(batch, st) {
    const ins = batch.inPorts, v = batch.verdicts;
    for (let i = 0; i < batch.count; i++) v[i] = ins[i] === st.src ? st.a + 1 : ins[i] === st.b ? st.dst + 1 : 0;
  },
});
`);
    // 1000 frames of 60..1454 bytes over 50 flows: fewer than a ring holds, so
    // nothing can overflow however the core's batches fall.
    sent = [];
    for (let i = 0; i < 1000; i++) {
      const f = { src: [198, 18, 0, i % 50], dst: [198, 19, 0, 1], sport: 1000 + (i % 50), dport: 9, proto: 17 as const };
      sent.push(frame(f, i, 18 + ((i * 37) % 1400)));
    }
    writePcap(at("in.pcap"), sent);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // Runs the loop VNF with ports a and b; returns the JSON summary by port name.
  function loop(a: string, b: string, out: string, extra: string[] = []) {
    const r = vnfrun([at("loop.ts"), "--port", "src=pcap:in.pcap", "--port", `a=${a}`, "--port", `b=${b}`,
      "--port", `dst=pcap:${out},write`, "--count", String(2 * sent.length), "--duration", "30", "--json", ...extra], dir);
    if (r.status !== 0) throw new Error(`vnfrun exited ${r.status}: ${r.stderr}`);
    const s = JSON.parse(r.stdout);
    const ports: Record<string, any> = {};
    for (const p of s.ports) ports[p.name] = p;
    return { s, ports };
  }

  const bytes = (v: Uint8Array[]) => v.reduce((n, f) => n + f.length, 0);
  const hex = (v: Uint8Array[]) => v.map((f) => Buffer.from(f).toString("hex"));

  function exact(a: string, b: string, out: string, slots: number) {
    const { s, ports } = loop(a, b, out);
    expect(hex(readPcap(at(out)))).toEqual(hex(sent));
    expect(ports.a).toMatchObject({ tx_packets: sent.length, tx_bytes: bytes(sent), tx_ring_full: 0, tx_errors: 0 });
    expect(ports.b).toMatchObject({ rx_packets: sent.length, rx_bytes: bytes(sent), rx_malformed: 0, rx_no_buffer: 0 });
    expect(ports.dst.tx_packets).toBe(sent.length);
    expect(Object.values(s.drops).every((n) => n === 0)).toBe(true);
    expect(ports.a.driver).toContain(`${slots} slots per ring`);
    return ports;
  }

  it("a netmap pipe carries every frame intact, master to slave", () => {
    const ports = exact(`netmap:${tag}{1`, `netmap:${tag}}1`, "pipe.pcap", 1024);
    expect(ports.a.driver).toMatch(/^netmap t\d+\{1 \(pipe master/);
    expect(ports.b.driver).toMatch(/pipe slave/);
  });

  it("ring=2048 makes the pipe with 2048-slot rings", () => {
    exact(`netmap:${tag}{2,ring=2048`, `netmap:${tag}}2,ring=2048`, "pipe2048.pcap", 2048);
  });

  it("a VALE switch carries every frame intact between two of its ports", () => {
    const ports = exact(`vale${tag}:a`, `vale${tag}:b`, "vale.pcap", 1024);
    expect(ports.a.driver).toMatch(/VALE port/);
  });

  it("in hw distribution each core opens its own ring pair of the pipe", () => {
    const { s, ports } = loop(`netmap:${tag}{3`, `netmap:${tag}}3`, "hw.pcap", ["--cores", "2", "--dist", "hw"]);
    const got = hex(readPcap(at("hw.pcap"))).sort();
    expect(got).toEqual(hex(sent).sort());
    expect(ports.b.rx_packets).toBe(sent.length);
    expect(s.cores).toHaveLength(2);
    expect(ports.a.driver).toMatch(/ring pair \d of 2/);
  });

  it("in sw2 the rx thread and the tx thread share each port (rx and tx syncs on one descriptor)", () => {
    const { ports } = loop(`vale${tag}:c`, `vale${tag}:d`, "sw2.pcap", ["--cores", "2", "--dist", "sw2"]);
    expect(hex(readPcap(at("sw2.pcap"))).sort()).toEqual(hex(sent).sort());
    expect(ports.b).toMatchObject({ rx_packets: sent.length, rx_bytes: bytes(sent) });
  });
});
