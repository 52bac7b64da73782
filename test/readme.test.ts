// The README's examples are tests: every `npx vnfrun ...` line in README.md
// is run here with the README's own arguments (as `node bin/vnfrun.js`, and
// without `sudo` when root), so an example that stops working fails CI.
//
//   - files it reads (trace.pcap) are made first, in a scratch directory
//     that links vnfs/; what it writes is checked;
//   - examples that run until Ctrl-C get SIGINT after a few seconds and must
//     exit cleanly with a summary;
//   - live-port examples run in a namespace V whose interfaces have the
//     README's names, between hosts A and B: ping and iperf3 cross them;
//   - what cannot run here must fail with its one line that says why (netmap
//     not built, --cpus naming CPUs this machine lacks);
//   - `init` makes its project (whose install and test test/init.test.ts
//     runs); `replay` gets a saved batch made first, and with --inspect-brk
//     a debugger (test/helpers/cdp-paused.mjs) that must see process() stop;
//   - commands that act on a running instance (reload, ps, top, trace) run,
//     in the README's order, against a firewall the test starts with the
//     README's instance name.
// A new example that fits none of these fails the test until it is covered.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { canUseNetns, createTopology, whyNoNetns, type Topology } from "./helpers/netns";
import { frame, readPcap, writePcap, type Flow } from "./helpers/pcap";
import { ROOT, hasTool } from "./helpers/tools";

const CLI = join(ROOT, "bin", "vnfrun.js");
const README = readFileSync(join(ROOT, "README.md"), "utf8");

/** Each example line: its text and its arguments after `npx vnfrun`. */
const EXAMPLES = README.split("\n")
  .map((l) => /^\s+(?:sudo )?npx vnfrun (.*?)\s*(?:#.*)?$/.exec(l))   // a comment after # is prose
  .filter((m): m is RegExpExecArray => !!m && !m[1].includes("<"))   // the synopsis line
  .map((m) => ({ text: m[0].trim(), args: m[1].replace(/\s*&$/, "").split(/\s+/) }));
const SESSION = new Set(["reload", "ps", "top", "trace"]);

const dir = mkdtempSync(join(tmpdir(), "vnfrun-readme-"));
symlinkSync(join(ROOT, "vnfs"), join(dir, "vnfs"));
// The set-up's own VNF, and a second version of the firewall for `reload --vnf`.
writeFileSync(join(dir, "fw.ts"), `import { defineVnf } from "vnfrun/sdk";\nexport default defineVnf({ ports: ["in", "out"], process(b) { for (const p of b) p.send(1); } });\n`);
writeFileSync(join(dir, "my-firewall-v2.ts"), readFileSync(join(ROOT, "vnfs", "firewall.ts"), "utf8").replace(/from "\.\.\/sdk"/g, `from ${JSON.stringify(join(ROOT, "sdk"))}`));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const portsOf = (args: string[]) => args.flatMap((a, i) => (args[i - 1] === "--port" ? [a.replace(/^\w+=/, "")] : []));
const LIVE = /^(xdp|packet|tap|netmap):/;

// trace.pcap: UDP and TCP frames from 60 to 9,000 bytes, none the firewall blocks.
const udp: Flow = { src: [10, 0, 0, 1], dst: [10, 0, 0, 2], sport: 4000, dport: 9, proto: 17 };
const TRACE = [60, 590, 1514, 2030, 9000, 128].map((n, i) => frame(i % 2 ? { ...udp, proto: 6, dport: 80 } : udp, i, n - 42 - (i % 2 ? 12 : 0)));
writePcap(join(dir, "trace.pcap"), TRACE);

interface Ran { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** Run argv in `cwd` (inside namespace ns when given); SIGINT after `interruptMs` unless it ends first. */
function runCli(args: string[], o: { ns?: string; interruptMs?: number; during?: () => Promise<void> } = {}): Promise<Ran> {
  const cmd = o.ns ? ["ip", "netns", "exec", o.ns, process.execPath, CLI, ...args] : [process.execPath, CLI, ...args];
  const p = spawn(cmd[0], cmd.slice(1), { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "", stderr = "";
  p.stdout.on("data", (d) => (stdout += d));
  p.stderr.on("data", (d) => (stderr += d));
  const guard = setTimeout(() => p.kill("SIGKILL"), 90_000);
  // "close", not "exit": the output may still be in flight when the process exits.
  const exited = new Promise<Ran>((resolve) => p.on("close", (code, signal) => { clearTimeout(guard); resolve({ code, signal, stdout, stderr }); }));
  if (o.interruptMs !== undefined) {
    void (async () => {
      await new Promise((r) => setTimeout(r, o.interruptMs));
      if (o.during && p.exitCode === null) await o.during().catch((e) => (stderr += `\n[test] ${e.message}`));
      if (p.exitCode === null) p.kill("SIGINT");
    })();
  }
  return exited;
}

const sh = (ns: string, cmd: string[], timeoutMs = 30_000) => spawnSync("ip", ["netns", "exec", ns, ...cmd], { encoding: "utf8", timeout: timeoutMs });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function untilPing(topo: Topology, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(200))
    if (sh(topo.a, ["ping", "-c", "1", "-W", "0.3", topo.bIp], 3000).status === 0) return true;
  return false;
}

/** iperf3 TCP from A to B for 2 s; bits per second received. */
function iperfTcp(topo: Topology): number {
  const server = spawn("ip", ["netns", "exec", topo.b, "iperf3", "-s", "-1", "-B", topo.bIp], { stdio: "ignore" });
  try {
    for (let i = 0; i < 50 && !/:5201\b/.test(sh(topo.b, ["ss", "-ltn"]).stdout); i++) spawnSync("sleep", ["0.1"]);
    const r = sh(topo.a, ["iperf3", "-c", topo.bIp, "-t", "2", "-J"], 30_000);
    return JSON.parse(r.stdout).end.sum_received.bits_per_second;
  } finally {
    server.kill("SIGKILL");
  }
}

describe("README examples", () => {
  it("lists the examples this file covers", () => {
    expect(EXAMPLES.length).toBeGreaterThanOrEqual(8);
    expect(EXAMPLES.map((e) => e.text)).toContain("npx vnfrun vnfs/firewall.ts --port in=pcap:trace.pcap --port out=pcap:out.pcap");
  });

  for (const { text, args } of EXAMPLES.filter((e) => !SESSION.has(e.args[0]))) {
    const ports = portsOf(args);
    const live = ports.some((p) => LIVE.test(p));
    const cpus = args[args.indexOf("--cpus") + 1];
    const ifArg = args[0] === "doctor" ? args[1] : undefined;
    const needsRoot = live || ifArg !== undefined;
    const why = needsRoot && !canUseNetns ? whyNoNetns : "";

    it.skipIf(!!why)(`${text}${why ? ` (skipped: ${why})` : ""}`, async () => {
      if (args[0] === "init") {
        const r = await runCli(args);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toMatch(new RegExp(`^created ${args[1]}/: .*src/${args[1]}\\.ts.*\nnext:\n {2}cd ${args[1]}\n {2}npm install\n {2}npm test`, "m"));
        expect(existsSync(join(dir, args[1], "test", "golden", `${args[1]}.pcap`))).toBe(true);
        return;   // its npm install and npm test: test/init.test.ts
      }

      if (args[0] === "replay") {
        // The batch it replays, as --save-failed writes it (test/failed-batches.test.ts makes one for real).
        const file = join(dir, args[1]);
        mkdirSync(dirname(file), { recursive: true });
        writePcap(file, TRACE.slice(0, 3));
        writeFileSync(file.replace(/\.pcap$/, ".json"), JSON.stringify({ inPorts: ["in", "out", "in"] }));
        const brk = args.indexOf("--inspect-brk");
        const replayArgs = brk < 0 ? args : [...args.slice(0, brk + 1), "0", ...args.slice(brk + 1)];   // a free port
        const p = spawn(process.execPath, [CLI, ...replayArgs], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
        let out = "", err = "";
        p.stdout.on("data", (d) => (out += d));
        p.stderr.on("data", (d) => (err += d));
        const exited = new Promise<number | null>((res) => p.on("close", res));
        try {
          if (brk >= 0) {
            // Node's own "Debugger listening on ws://..." comes first; wait for vnfrun's line.
            for (let i = 0; i < 200 && !/waiting for a debugger at ws:\/\/\S+/.test(err); i++) await sleep(100);
            const url = /waiting for a debugger at (ws:\/\/\S+)/.exec(err)?.[1];
            expect(url, err).toBeDefined();
            const dbg = spawnSync(process.execPath, ["--experimental-websocket", join(ROOT, "test/helpers/cdp-paused.mjs"), url!], { encoding: "utf8", timeout: 30_000 });
            const paused = JSON.parse(dbg.stdout.trim().split("\n").at(-1)!);
            expect(paused.functionName).toBe("process");
            expect(paused.mapped.source).toMatch(new RegExp(`${args[2].replace(/\./g, "\\.")}$`));
          }
          expect(await exited, err).toBe(0);
          expect(out).toMatch(/^replayed 3 packets from .*\nprocess\(\) returned: (in|out|drop) \d/m);
        } finally {
          p.kill("SIGKILL");
        }
        return;
      }

      if (args[0] === "doctor") {
        if (!ifArg) {
          const r = await runCli(args);
          expect(r.code, r.stderr).toBe(0);
          expect(r.stdout).toMatch(/^ok\s+driver pcap/m);
          return;
        }
        const topo = createTopology({ names: [ifArg, `${ifArg}x`] });
        try {
          const r = await runCli(args, { ns: topo.v });
          expect(r.code, r.stderr).toBe(0);
          expect(r.stdout).toMatch(new RegExp(`xdp:${ifArg} checksums .*finishes them on receive`));
          expect(r.stdout).toMatch(/ethtool -K .* tx off/);
        } finally {
          topo.destroy();
        }
        return;
      }

      if (cpus && Math.max(...cpus.split(/[,-]/).map(Number)) >= availableParallelism()) {
        // Needs more CPUs than this machine has: the one line that says so.
        const r = await runCli(args);
        expect(r.code).not.toBe(0);
        expect(r.stderr.trim()).toMatch(new RegExp(`^vnfrun: --cpus ${cpus}: CPU \\d+ does not exist \\(this machine has CPUs 0-${availableParallelism() - 1}\\)$`));
        return;
      }

      if (!live) {
        const ends = (ports.some((p) => p.startsWith("pcap:")) || /count=/.test(ports.join(" ")) || args.includes("--duration")) && !args.includes("--watch");
        const r = await runCli(args, ends ? {} : { interruptMs: 3000 });
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).toBe("");
        if (args.includes("--json")) expect(JSON.parse(r.stdout).ports.length).toBe(2);
        else expect(r.stdout).toMatch(/rx \d+\s+tx \d+/);
        const out = ports.find((p, i) => i > 0 && p.startsWith("pcap:"));
        if (out) {
          const got = readPcap(join(dir, out.slice(5).split(",")[0]));
          expect(got.length).toBe(TRACE.length);
          got.forEach((f, i) => expect(Buffer.from(f).equals(Buffer.from(TRACE[i])), `frame ${i}`).toBe(true));
        }
        return;
      }

      const names = ports.map((p) => p.split(":")[1].split(",")[0]) as [string, string];
      const topo = createTopology({ names });
      try {
        if (ports.some((p) => p.startsWith("netmap:")) && !existsSync("/dev/netmap")) {
          // No netmap on this machine: the one line that says how to get it.
          const r = await runCli(args, { ns: topo.v });
          expect(r.code).not.toBe(0);
          expect(r.stderr.trim().split("\n")).toHaveLength(1);
          expect(r.stderr).toMatch(/^vnfrun: .*netmap.*(NETMAP_SRC=|insmod|modprobe)/);
          return;
        }
        let crossed = false, bps = -1;
        const r = await runCli(args, {
          ns: topo.v, interruptMs: 500,
          during: async () => {
            crossed = await untilPing(topo, 20_000);
            if (crossed && hasTool("iperf3")) bps = iperfTcp(topo);
          },
        });
        expect(crossed, `ping from A to B through: ${r.stderr}`).toBe(true);
        if (hasTool("iperf3")) expect(bps, "iperf3 TCP through the example").toBeGreaterThan(100e6);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout, `stderr: ${r.stderr}`).toMatch(/rx \d+\s+tx \d+/);
        // iperf3 drives TCP as fast as the path goes, so a ring may overflow
        // at its peak (said once, rightly); nothing else may be wrong.
        expect(r.stderr.split("\n").filter((l) => l && !/rx_ring_full \d+\); fix: /.test(l))).toEqual([]);
      } finally {
        topo.destroy();
      }
    }, 120_000);
  }

  // Against one running firewall named as the README names it (gen -> sink,
  // with ports the firewall's rules deny, so there are drops to trace).
  const session = EXAMPLES.filter((e) => SESSION.has(e.args[0]));
  it(`acting on a running instance: ${session.map((e) => e.text).join("; ")}`, async () => {
    const names = new Set(session.flatMap((e) => (e.args[0] === "ps" ? [] : [e.args[1]])));
    expect(names.size).toBe(1);
    const name = [...names][0];
    let results: { text: string; r: Ran }[] = [];
    const run = await runCli(["vnfs/firewall.ts", "--name", name, "--port", "in=gen:flows=256,tcp=0.5,dport=20-140,rate=20000", "--port", "out=sink", "--json"], {
      interruptMs: 1500,
      during: async () => {
        for (const { text, args } of session) results.push({ text, r: await runCli(args, args[0] === "top" && !args.includes("--once") ? { interruptMs: 2500 } : {}) });
      },
    });
    expect(run.code, run.stderr).toBe(0);
    for (const { text, r } of results) {
      expect(r.code, `${text}: ${r.stderr}`).toBe(r.signal === "SIGINT" ? null : 0);
      if (text.includes(" top ") && !text.includes("--once")) expect(r.stdout, text).toMatch(/^gen \d+ +rx [\d.]+ Mpps/m);
    }
    const out = (cmd: string) => results.find((x) => x.text.includes(cmd))!.r;
    expect(out("vnfrun ps").stdout).toMatch(new RegExp(`^${name}\\s+\\d+\\s+\\S*firewall\\.ts`, "m"));
    expect(out("--rollback").stdout).toMatch(/rolled back: gen \d+ live again/);
    expect(JSON.parse(out("--once --json").stdout).name).toBe(name);
    const trace = session.find((e) => e.args[0] === "trace")!;
    const file = trace.args[trace.args.indexOf("-w") + 1];
    if (hasTool("tshark")) {
      const comments = spawnSync("tshark", ["-r", join(dir, file), "-T", "fields", "-e", "frame.comment"], { encoding: "utf8" }).stdout.trim().split("\n");
      expect(comments).toHaveLength(Number(trace.args[trace.args.indexOf("--count") + 1]));
      expect(comments.every((c) => /^vnf_drops core=0 gen=\d+ in=(in|out)$/.test(c))).toBe(true);
    }
    results = [];
  }, 120_000);
});
