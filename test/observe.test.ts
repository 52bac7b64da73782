// Watching a run from outside: vnfrun ps, vnfrun top (in a real terminal,
// tmux), --metrics checked by promtool and scraped by a real Prometheus.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runtimeDir } from "../runtime/instance";
import { hasTool, vnfrun } from "./helpers/tools";
import { Running } from "./reload/running";

const dir = mkdtempSync(join(tmpdir(), "vnfrun-observe-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const RATE = 20_000;

function start(name: string, extra: string[] = [], vnf = "vnfs/l2fwd.ts"): Running {
  return new Running([vnf, "--name", name, "--cores", "2", "--dist", "sw1", "--port", `in=gen:flows=64,rate=${RATE}`, "--port", "out=sink", "--json", ...extra]);
}

describe("vnfrun ps and top", () => {
  it("ps lists a running instance and clears what a killed one left", async () => {
    const name = `ps${process.pid}`;
    const r = start(name);
    try {
      await r.up();
      const ps = vnfrun(["ps"]);
      expect(ps.code).toBe(0);
      expect(ps.stdout).toMatch(new RegExp(`^${name}\\s+${r.proc.pid}\\s+\\S*l2fwd\\.ts\\s+1\\s+in=gen:flows=64,rate=${RATE} out=sink\\s+2 sw1\\s+\\d+s$`, "m"));
      r.proc.kill("SIGKILL");
      await r.exited;
      expect(existsSync(join(runtimeDir(), String(r.proc.pid)))).toBe(true);   // SIGKILL leaves it
      expect(vnfrun(["ps"]).stdout).not.toContain(name);
      expect(existsSync(join(runtimeDir(), String(r.proc.pid)))).toBe(false);
      expect(existsSync(join(runtimeDir(), name))).toBe(false);
    } finally {
      r.proc.kill("SIGKILL");
    }
  }, 30_000);

  it("top --once --json reads the counters from outside: its totals lead up to the final summary's", async () => {
    const name = `top${process.pid}`;
    const r = start(name);
    try {
      await r.up();
      await sleep(500);
      const t = vnfrun(["top", name, "--once", "--json"]);
      expect(t.code, t.stderr).toBe(0);
      const s1 = JSON.parse(t.stdout);
      const s = await r.stop();
      expect(s1.name).toBe(name);
      expect(s1.generation).toBe(1);
      const rx = s1.ports[0].rx_packets;
      expect(rx).toBeGreaterThan(0);
      expect(rx).toBeLessThanOrEqual(s.ports[0].rx_packets);
      expect(s1.ports[1].tx_packets).toBeLessThanOrEqual(s.ports[1].tx_packets);
      expect(s1.cores).toHaveLength(2);
      expect(s1.cores[0].packets + s1.cores[1].packets).toBeLessThanOrEqual(rx);
      expect(Object.keys(s1.drops).sort()).toEqual(Object.keys(s.drops).sort());
    } finally {
      r.proc.kill("SIGKILL");
    }
  }, 30_000);

  it.skipIf(!hasTool("tmux"))("top draws in a real terminal (tmux), with rates per port, core and drop cause; q quits", async () => {
    const name = `tmux${process.pid}`, session = `vnfrun-top-${process.pid}`;
    const r = start(name, [], "vnfs/firewall.ts");   // it publishes counters of its own (allowed, ...)
    try {
      await r.up();
      spawnSync("tmux", ["new-session", "-d", "-s", session, "-x", "140", "-y", "40", `${process.execPath} bin/vnfrun.js top ${name}`], { cwd: join(__dirname, "..") });
      let screen = "";
      for (let i = 0; i < 40 && !/in\s+0\.0[12]\d/.test(screen); i++) {
        await sleep(250);
        screen = spawnSync("tmux", ["capture-pane", "-p", "-t", session], { encoding: "utf8" }).stdout;
      }
      expect(screen).toContain(`${name} (pid ${r.proc.pid})`);
      expect(screen).toMatch(/in\s+0\.0[12]\d\s/);           // ~0.020 Mpps received on "in"
      expect(screen).toMatch(/core 1: 0\.0\d{2} Mpps/);
      expect(screen).toMatch(/dist_drops\s+0\s+0/);
      expect(screen).toContain("q quits, p pauses, c clears the totals");
      // c: totals count from now (the reader's baseline; the counters go on).
      const allowed = () => Number(/^allowed\s+\d+\s+(\d+)$/m.exec(screen)?.[1] ?? NaN);
      for (let i = 0; i < 60 && !(allowed() > 4 * RATE); i++) {
        await sleep(250);
        screen = spawnSync("tmux", ["capture-pane", "-p", "-t", session], { encoding: "utf8" }).stdout;
      }
      expect(allowed()).toBeGreaterThan(4 * RATE);
      spawnSync("tmux", ["send-keys", "-t", session, "c"]);
      await sleep(1300);
      screen = spawnSync("tmux", ["capture-pane", "-p", "-t", session], { encoding: "utf8" }).stdout;
      expect(allowed()).toBeLessThan(3 * RATE);   // at most the ~2.3 s since the baseline
      spawnSync("tmux", ["send-keys", "-t", session, "q"]);
      let alive = true;
      for (let i = 0; i < 20 && alive; i++) {
        await sleep(100);
        alive = spawnSync("tmux", ["has-session", "-t", session]).status === 0;
      }
      expect(alive).toBe(false);
    } finally {
      spawnSync("tmux", ["kill-session", "-t", session], { stdio: "ignore" });
      r.proc.kill("SIGKILL");
    }
  }, 40_000);

  it("top of an instance that is not there, or that another user owns, fails in one line", async () => {
    const none = vnfrun(["top", "no-such-instance", "--once"]);
    expect(none.code).toBe(1);
    expect(none.stderr.trim().split("\n")).toHaveLength(1);
    if (process.getuid?.() !== 0) return;
    const name = `own${process.pid}`;
    const r = start(name);
    try {
      await r.up();
      const other = spawnSync("runuser", ["-u", "nobody", "--", process.execPath, join(__dirname, "..", "bin", "vnfrun.js"), "top", name, "--once"], { cwd: "/", encoding: "utf8" });
      expect(other.status).toBe(1);
      expect(other.stderr.trim()).toMatch(/^vnfrun: instance \S+ belongs to another user \(root\)/);
    } finally {
      r.proc.kill("SIGKILL");
    }
  }, 30_000);
});

describe("vnfrun trace", () => {
  it.skipIf(!hasTool("tshark"))("writes the firewall's drops as pcapng that tshark reads, each with its cause, core and port", async () => {
    const fw = join(dir, "fw-block.ts");
    writeFileSync(fw, `import { makeFirewall } from ${JSON.stringify(join(__dirname, "..", "vnfs", "firewall"))};
export default makeFirewall({ defaultAction: "allow", rules: [{ action: "deny", proto: "udp", dport: 1203 }] });
`);
    const name = `trace${process.pid}`, out = join(dir, "drops.pcapng");
    const r = new Running([fw, "--name", name, "--cores", "2", "--dist", "sw1", "--port", "in=gen:flows=64,rate=20000,dport=1200-1263", "--port", "out=sink", "--json"]);
    try {
      await r.up();
      const t = vnfrun(["trace", name, "--cause", "vnf_drops", "--count", "50", "-w", out]);
      expect(t.code, t.stderr).toBe(0);
      expect(t.stderr).toMatch(/^50 packets captured/);
      const rows = spawnSync("tshark", ["-r", out, "-T", "fields", "-e", "frame.comment", "-e", "udp.dstport", "-e", "frame.interface_name", "-e", "frame.interface_queue"], { encoding: "utf8" })
        .stdout.trim().split("\n").map((l) => l.split("\t"));
      expect(rows).toHaveLength(50);
      for (const [comment, dport, iface, queue] of rows) {
        expect(comment).toMatch(new RegExp(`^vnf_drops core=${queue} gen=1 in=in$`));
        expect(dport).toBe("1203");
        expect(iface).toBe("in");
      }
      // A trace with --passed and a port sees what the VNF sent on, by output port.
      const p = vnfrun(["trace", name, "--passed", "--cause", "vnf_drops", "--port", "out", "--count", "5"]);
      expect(p.stdout.trim().split("\n")).toHaveLength(5);
      expect(p.stdout).toMatch(/passed core=\d gen=1 in=in out=out 60 bytes/);
      expect(vnfrun(["trace", name, "--cause", "nope"]).stderr.trim()).toMatch(/^vnfrun: \S+: no cause nope to trace/);
      // The firewall's own counters (ctx.counters) reach top and the summary, and agree with the engine's.
      await sleep(1200);
      const t1 = JSON.parse(vnfrun(["top", name, "--once", "--json"]).stdout);
      expect(t1.vnf_counters.denied).toBeGreaterThan(0);
      expect(t1.vnf_counters.allowed).toBeGreaterThan(t1.vnf_counters.denied);
      const s = await r.stop();
      expect(s.vnf_counters.denied).toBe(s.drops.vnf_drops);
      expect(s.vnf_counters.allowed).toBe(s.ports[1].tx_packets);
    } finally {
      r.proc.kill("SIGKILL");
    }
  }, 30_000);
});

describe("--metrics", () => {
  const port = 19000 + (process.pid % 500);

  it.skipIf(!hasTool("promtool"))("the VNF's histogram (ctx.histogram) and levels (ctx.counters' _now) reach the summary, top and Prometheus as a histogram and a gauge", async () => {
    const vnf = join(dir, "sizes.ts");
    writeFileSync(vnf, `import { defineVnf } from "vnfrun/sdk";
export default defineVnf({
  ports: ["in", "out"],
  init: (ctx) => ({ sizes: ctx.histogram("frame_bytes", [64, 128, 1518]), largest: ctx.counters(["largest_now"]) }),
  process(batch, st) {
    for (let i = 0; i < batch.count; i++) { st.sizes.observe(batch.lengths[i]); batch.verdicts[i] = 2; }
    let m = 0;
    for (let i = 0; i < batch.count; i++) m = Math.max(m, batch.lengths[i]);
    st.largest[0] = m;   // a level: set, not added to
  },
});
`);
    const name = `hist${process.pid}`;
    const r = new Running([vnf, "--name", name, "--cores", "2", "--dist", "sw1", "--metrics", `127.0.0.1:${port + 2}`,
      "--port", "in=gen:flows=64,size=64/594/1518,rate=20000", "--port", "out=sink", "--json"]);
    try {
      await r.up();
      await sleep(1500);
      const text = await (await fetch(`http://127.0.0.1:${port + 2}/metrics`)).text();
      const check = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
      expect(check.status, check.stdout + check.stderr).toBe(0);
      expect(text).toMatch(/^# TYPE vnfrun_vnf_frame_bytes histogram$/m);
      expect(text).toMatch(/^vnfrun_vnf_frame_bytes_bucket\{core="1",le="\+Inf"\} [1-9]\d*$/m);
      expect(text).toMatch(/^# TYPE vnfrun_vnf_largest_now gauge$/m);
      expect(text).toMatch(/^vnfrun_vnf_largest_now\{core="0"\} (60|590|1514)$/m);
      expect(text).not.toMatch(/largest_now_total/);
      const topText = vnfrun(["top", name, "--once"]).stdout;
      expect(topText).toMatch(/^frame_bytes: \d+ observed, mean [\d.]+; <=64: \d+  <=128: 0  <=1518: \d+  more: 0$/m);
      expect(topText).toMatch(/^largest_now +\d+$/m);   // one number: a value, no rate
      const s = await r.stop();
      const h = s.vnf_histograms.frame_bytes;
      expect(h.count).toBe(s.ports[0].rx_packets);
      expect(h.buckets[0] + h.buckets[2]).toBe(h.count);   // 60-byte frames, and 590 or 1514
      expect(h.buckets[1]).toBe(0);
      expect(h.sum).toBe(s.ports[0].rx_bytes);
    } finally {
      r.proc.kill("SIGKILL");
    }
  }, 30_000);

  it.skipIf(!hasTool("promtool"))("serves Prometheus text that promtool accepts, with every cause and lane", async () => {
    const r = start(`metrics${process.pid}`, ["--metrics", `127.0.0.1:${port}`]);
    try {
      await r.up();
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const check = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
      expect(check.status, check.stdout + check.stderr).toBe(0);
      expect(text).toMatch(/^vnfrun_port_packets_total\{port="in",direction="rx",core="io-rx"\} [1-9]\d*$/m);
      expect(text).toMatch(/^vnfrun_drops_total\{cause="dist_drops",core="0"\} 0$/m);
      expect(text).toMatch(/^vnfrun_generation 1$/m);
      expect(text).toMatch(/^vnfrun_build_info\{version="[\d.]+",node="v\d+/m);
    } finally {
      r.proc.kill("SIGKILL");
    }
  }, 30_000);

  it.skipIf(!hasTool("prometheus"))("a real Prometheus scraping it reads back the rate that was sent", async () => {
    const promPort = port + 500;
    writeFileSync(join(dir, "prometheus.yml"), `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: vnfrun\n    static_configs:\n      - targets: ["127.0.0.1:${port + 1}"]\n`);
    const r = start(`prom${process.pid}`, ["--metrics", `127.0.0.1:${port + 1}`]);
    const prom = spawn("prometheus", [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "tsdb")}`,
      `--web.listen-address=127.0.0.1:${promPort}`], { stdio: "ignore" });
    try {
      await r.up();
      // The first windows start before the run did: wait for a steady rate.
      let value = NaN;
      for (let i = 0; i < 60 && !(Math.abs(value - RATE) < RATE * 0.2); i++) {
        await sleep(500);
        try {
          const q = encodeURIComponent('sum(rate(vnfrun_port_packets_total{port="in",direction="rx"}[4s]))');
          const body = await (await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${q}`)).json() as any;
          value = Number(body.data?.result?.[0]?.value?.[1]);
        } catch { /* not up yet */ }
      }
      expect(value).toBeGreaterThan(RATE * 0.8);
      expect(value).toBeLessThan(RATE * 1.2);
    } finally {
      prom.kill("SIGKILL");
      r.proc.kill("SIGKILL");
    }
  }, 60_000);
});
