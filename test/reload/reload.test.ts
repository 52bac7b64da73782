// Hot reload through the CLI: --watch and `vnfrun reload`. Under generated
// load, every reload either goes live on every core or on none, no packet is
// lost or handled by an older generation than the one live when it arrived,
// per-flow order holds, and state carried by migrate keeps counting.
import { spawnSync } from "node:child_process";
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { frame, readPcap, writePcap } from "../helpers/pcap";
import { vnfrun } from "../helpers/tools";
import { CLI, Running } from "./running";
import { ROOT, stampOf, vnfSource, type Stamp, type Version } from "./vnf-version";

const dir = mkdtempSync(join(tmpdir(), "vnfrun-reload-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const write = (file: string, v: Version) => writeFileSync(file, vnfSource(v));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Per flow, in output order: generations never go back, the state count only grows. */
function checkStamps(stamps: Stamp[], lastGen: number, cores: number) {
  const byFlow = new Map<string, Stamp>();
  const lastByCore = new Map<number, Stamp>();
  const bad: string[] = [];
  for (const s of stamps) {
    const prev = byFlow.get(s.flow);
    if (prev && s.gen < prev.gen) bad.push(`flow ${s.flow}: gen ${s.gen} after gen ${prev.gen}`);
    if (prev && s.seen <= prev.seen) bad.push(`flow ${s.flow}: state count ${s.seen} after ${prev.seen}`);
    if (prev && s.core !== prev.core) bad.push(`flow ${s.flow} moved from core ${prev.core} to ${s.core}`);
    byFlow.set(s.flow, s);
    lastByCore.set(s.core, s);
  }
  expect(bad.slice(0, 5)).toEqual([]);
  expect(lastByCore.size).toBe(cores);
  for (const s of lastByCore.values()) expect(s.gen).toBe(lastGen);
}

const total = (s: any, key: string) => s.ports.reduce((n: number, p: any) => n + p[key], 0);

describe("hot reload", () => {
  it("--watch: ten saves under load, broken ones refused with the old handler still live, nothing lost", async () => {
    const file = join(dir, "watched.ts"), out = join(dir, "watched.pcap");
    write(file, { gen: 1 });
    const r = new Running([file, "--watch", "--cores", "2", "--dist", "sw1", "--port", "in=gen:flows=64,rate=50000",
      "--port", `out=pcap:${out},write`, "--json", "--duration", "60"]);
    try {
      await r.up();
      await sleep(300);   // traffic under gen 1 first
      const save = async (v: Version, expect: RegExp) => {
        const from = r.lines.length;
        write(file, v);
        return r.waitFor(expect, from);
      };
      await save({ gen: 2 }, /^gen 2 live in \d+ ms \(state migrated\)/);
      expect(await save({ gen: 9, syntaxError: true }, /^reload refused, gen 2 stays live: .*does not compile/)).toBeTruthy();
      expect(await save({ gen: 9, migrate: false, initThrows: true }, /^reload refused, gen 2 stays live/)).toMatch(/init fails on purpose at .*watched\.ts:\d+/);
      expect(await save({ gen: 9, migrateThrows: true }, /^reload refused, gen 2 stays live/)).toMatch(/migrate fails on purpose at .*watched\.ts:\d+/);
      // Written in two chunks, 150 ms apart: the first half may be seen and refused; the whole goes live.
      const from = r.lines.length;
      const text = vnfSource({ gen: 3 });
      writeFileSync(file, text.slice(0, text.length >> 1));
      await sleep(150);
      appendFileSync(file, text.slice(text.length >> 1));
      await r.waitFor(/^gen 3 live/, from);
      expect(r.lines.slice(from).filter((l) => /^gen \d+ live/.test(l))).toEqual([expect.stringMatching(/^gen 3 live/)]);
      await save({ gen: 4 }, /^gen 4 live/);
      await save({ gen: 5, migrate: false }, /^gen 5 live .*state fresh from init/);
      await save({ gen: 6 }, /^gen 6 live/);
      await save({ gen: 7 }, /^gen 7 live/);
      await sleep(300);
      const s = await r.stop();
      expect(s.generation).toBe(7);
      expect(s.reloads.filter((x: any) => x.ok).map((x: any) => x.gen)).toEqual([2, 3, 4, 5, 6, 7]);
      expect(Object.values(s.drops).every((n) => n === 0)).toBe(true);
      const frames = readPcap(out);
      expect(s.ports[0].rx_packets).toBeGreaterThan(10_000);
      expect(s.ports[1].tx_packets).toBe(s.ports[0].rx_packets);
      expect(frames.length).toBe(s.ports[0].rx_packets);
      // gen 5 started fresh (no migrate): check counting across the others.
      const stamps = frames.map(stampOf);
      checkStamps(stamps.filter((x) => x.gen >= 5), 7, 2);
      checkStamps(stamps.filter((x) => x.gen < 5), 4, 2);
      expect(new Set(stamps.map((x) => x.gen))).toEqual(new Set([1, 2, 3, 4, 5, 6, 7]));
    } finally {
      r.proc.kill("SIGKILL");
    }
  }, 90_000);

  it.each([["none", "1"], ["hw", "2"], ["sw1", "2"], ["sw2", "2"]])(
    "%s: `vnfrun reload NAME --vnf` swaps at a batch boundary on every core; order and state kept", async (dist, cores) => {
      const out = join(dir, `named-${dist}.pcap`), name = `t${process.pid}-${dist}`;
      write(join(dir, `${dist}-1.ts`), { gen: 1 });
      const r = new Running([join(dir, `${dist}-1.ts`), "--name", name, "--cores", cores, "--dist", dist,
        "--port", "in=gen:flows=64,rate=50000", "--port", `out=pcap:${out},write`, "--json", "--duration", "60"]);
      try {
        await r.up();
        await sleep(300);
        for (const gen of [2, 3, 4]) {
          write(join(dir, `${dist}-${gen}.ts`), { gen });
          const c = vnfrun(["reload", name, "--vnf", join(dir, `${dist}-${gen}.ts`)]);
          expect(c.code, c.stderr).toBe(0);
          expect(c.stdout).toMatch(new RegExp(`^${name}: gen ${gen} live in \\d+ ms \\(state migrated\\)`));
          await sleep(200);
        }
        const s = await r.stop();
        expect(s.ports[1].tx_packets).toBe(s.ports[0].rx_packets);
        expect(Object.values(s.drops).every((n) => n === 0)).toBe(true);
        checkStamps(readPcap(out).map(stampOf), 4, Number(cores));
      } finally {
        r.proc.kill("SIGKILL");
      }
    }, 60_000);

  it("under a pcap replay (sw1, overflow wait) reloads lose nothing: every packet read is sent", async () => {
    const trace = join(dir, "replay.pcap"), name = `replay${process.pid}`;
    writePcap(trace, Array.from({ length: 512 }, (_, i) =>
      frame({ src: [198, 18, 1, i & 255], dst: [198, 19, 0, 1], sport: 2000 + i, dport: 53, proto: 17 }, i)));
    write(join(dir, "replay-1.ts"), { gen: 1 });
    const r = new Running([join(dir, "replay-1.ts"), "--name", name, "--cores", "2", "--dist", "sw1",
      "--port", `in=pcap:${trace},loop`, "--port", "out=sink", "--json"]);
    try {
      await r.up();
      for (const gen of [2, 3, 4]) {
        write(join(dir, `replay-${gen}.ts`), { gen, migrate: gen !== 3 });
        expect(vnfrun(["reload", name, "--vnf", join(dir, `replay-${gen}.ts`)]).stdout).toMatch(new RegExp(`gen ${gen} live`));
        await sleep(150);
      }
      const s = await r.stop();
      expect(s.ports[0].rx_packets).toBeGreaterThan(100_000);
      expect(s.ports[1].tx_packets).toBe(s.ports[0].rx_packets);
      expect(Object.values(s.drops).every((n) => n === 0)).toBe(true);
    } finally {
      r.proc.kill("SIGKILL");
    }
  }, 60_000);

  it("--rollback by pid is instant and goes back to the previous generation; a broken --vnf is refused in one line", async () => {
    const out = join(dir, "rollback.pcap");
    write(join(dir, "rb-1.ts"), { gen: 1 });
    write(join(dir, "rb-2.ts"), { gen: 2 });
    write(join(dir, "rb-bad.ts"), { gen: 3, syntaxError: true });
    const r = new Running([join(dir, "rb-1.ts"), "--port", "in=gen:flows=8,rate=20000", "--port", `out=pcap:${out},write`, "--json", "--duration", "60"]);
    try {
      await r.up();
      await sleep(300);
      const pid = String(r.proc.pid);
      const bad = vnfrun(["reload", pid, "--vnf", join(dir, "rb-bad.ts")]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/reload refused, gen 1 stays live: .*rb-bad\.ts.*does not compile/s);
      expect(vnfrun(["reload", pid, "--rollback"]).stderr).toMatch(/no previous generation/);
      expect(vnfrun(["reload", pid, "--vnf", join(dir, "rb-2.ts")]).stdout).toMatch(/gen 2 live/);
      await sleep(200);
      const back = vnfrun(["reload", pid, "--rollback"]);
      expect(back.stdout).toMatch(/rolled back: gen 1 live again/);
      await sleep(200);
      const s = await r.stop();
      expect(s.generation).toBe(1);
      const gens = readPcap(out).map((f) => f[50]);
      expect(gens.at(-1)).toBe(1);
      expect(gens).toContain(2);
    } finally {
      r.proc.kill("SIGKILL");
    }
  }, 60_000);

  it("reload of an instance that does not exist, or belongs to another user, fails with one line", async () => {
    const none = vnfrun(["reload", "no-such-instance"]);
    expect(none.code).toBe(1);
    expect(none.stderr.trim().split("\n")).toHaveLength(1);
    expect(none.stderr).toMatch(/no running vnfrun instance no-such-instance/);
    if (process.getuid?.() !== 0 || spawnSync("runuser", ["--help"]).status !== 0) return;
    write(join(dir, "owned.ts"), { gen: 1 });
    const name = `owned${process.pid}`;
    const r = new Running([join(dir, "owned.ts"), "--name", name, "--port", "in=gen:rate=1000", "--port", "out=sink", "--json", "--duration", "30"]);
    try {
      await r.up();
      const other = spawnSync("runuser", ["-u", "nobody", "--", process.execPath, CLI, "reload", name], { cwd: "/", encoding: "utf8" });
      expect(other.status).toBe(1);
      expect(other.stderr.trim().split("\n")).toHaveLength(1);
      expect(other.stderr).toMatch(/belongs to another user/);
      await r.stop();
    } finally {
      r.proc.kill("SIGKILL");
    }
  }, 40_000);
});
