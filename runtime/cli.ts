// vnfrun <vnf.ts> [--port name=spec ...]: the command line. Checks and
// explains options, then hands everything to the supervisor.
import { Command, InvalidArgumentError } from "commander";
import { existsSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { CompileError } from "./compile";
import { driverSpecs, parseQuantity, synopsis } from "./ports";
import { DEFAULTS, DISTRIBUTIONS, OVERFLOW_POLICIES } from "./defaults";
import { run, type Summary } from "./supervisor";
import { UserError } from "./user-error";
import { diagnose, formatFindings } from "./doctor";
import { diagnoseInterface } from "./doctor-interface";
import { formatSummary } from "./summary";
import { checkName, listInstances, requestInstance } from "./instance";
import { formatPs, top } from "./top";
import { trace } from "./trace-client";
import { describeReload } from "./reload";
import { parseContext, parseCpuBudget, parseMemoryLimit } from "./limits";
import { parseTcpMemory } from "./endpoint";
import { TCP_DEFAULTS } from "../sdk/tcp/stack";
import { resolve } from "node:path";

// The port drivers, as each declares itself (ports.ts, native/port.h).
function portHelp(): string {
  let drivers;
  try {
    drivers = [...driverSpecs().values()];
  } catch (e) {
    return `\nPort specs: unavailable (${(e as Error).message})\n`;
  }
  const lines = drivers.flatMap((d) => {
    const head = synopsis(d);
    return head.length < 20 ? [`  ${head.padEnd(20)}${d.help}`] : [`  ${head}`, `  ${"".padEnd(20)}${d.help}`];
  });
  return `\nPort specs (--port [name=]spec; unnamed specs fill the VNF's ports in order; defaults in the README):\n${lines.join("\n")}\n`;
}

const EXAMPLES = () => `${portHelp()}
Examples:
  vnfrun vnfs/firewall.ts                              gen in, sink out, live rate
  vnfrun vnfs/firewall.ts --watch                      reload on every save
  vnfrun reload NAME|PID [--vnf FILE] [--rollback]     swap a running VNF (start it with --name NAME)
  vnfrun vnfs/firewall.ts --port in=pcap:trace.pcap --port out=pcap:out.pcap
  vnfrun vnfs/l2fwd.ts --port in=gen:flows=1000,size=64 --port out=sink \\
         --duration 5 --rx-batch 256 --tx-batch 32
  vnfrun vnfs/l2fwd.ts --port pcap:trace.pcap --port pcap:out.pcap --json
  vnfrun vnfs/firewall.ts --cores 4 --dist sw1 --cpus 0-4 --port in=gen:flows=10000 --port out=sink`;

// runtime/ (tests) and dist/ (the package) both sit one level below the root.
const ROOT = join(__dirname, "..");
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
const examplesDir = () => relative(process.cwd(), join(ROOT, "vnfs")) || ".";

// What a newcomer needs first, before the option list.
const START = () => `Start here:
  vnfrun fw.ts               run fw.ts (export default defineVnf({...}) from "vnfrun/sdk")
                             on generated traffic into a sink, with a live rate line
  vnfrun fw.ts --port in=pcap:in.pcap --port out=pcap:out.pcap
                             run it over a capture file
  vnfrun doctor              which live ports (xdp, packet, tap, netmap) this host can run
Examples to start from: ${examplesDir()}/*.ts
`;

function int(name: string, min: number, max: number) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}`);
    return n;
  };
}

function oneOf(choices: readonly string[]) {
  return (v: string): string => {
    if (!choices.includes(v)) throw new InvalidArgumentError(`choose ${choices.join(", ")}`);
    return v;
  };
}

function nameOption(v: string): string {
  try {
    return checkName(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

/** A repeatable option: each use adds its value. */
function collect(v: string, acc: string[]): string[] {
  return [...acc, v];
}

function seconds(v: string): number {
  const n = Number(v);
  if (!(n > 0)) throw new InvalidArgumentError("give a positive number of seconds");
  return n;
}

function limitOption<T>(parse: (v: string) => T) {
  return (v: string): T => {
    try {
      return parse(v);
    } catch (e) {
      throw new InvalidArgumentError((e as Error).message);
    }
  };
}

function quantity(v: string): number {
  try {
    return parseQuantity(v, "count");
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

const program = new Command()
  .name("vnfrun")
  .enablePositionalOptions()
  .description(`vnfrun ${VERSION}: run a network function written in TypeScript on a zero-copy packet engine`)
  .version(VERSION, "-V, --version", "print the version")
  .addHelpText("before", START)
  .argument("<vnf>", "the VNF module (.ts or .js) whose default export is defineVnf({...})")
  .option("-p, --port <spec>", "attach a port: [name=]driver:args (repeatable)", (v: string, acc: string[]) => [...acc, v], [] as string[])
  .option("--config <file|json>", "the VNF's configuration (ctx.config): a JSON file, read again at each reload and watched with --watch, or inline JSON like '{\"to\":\"10.0.0.2:9000\"}'")
  .option("--cores <n>", "worker cores, each with its own JS context", int("--cores", 1, 64), 1)
  .option("--dist <mode>", "how packets reach the cores: none (1 core), hw (a queue per core), sw1 (one I/O thread, N-1), sw2 (an rx and a tx thread, N-2); default none for 1 core, sw1 for more", oneOf(DISTRIBUTIONS))
  .option("--cpus <list>", "pin I/O threads, then cores, to these CPUs (e.g. 0-4)")
  .option("--rss-key <key>", "symmetric (default: 0x6d5a repeated, both directions of a flow on one core), microsoft, or 80 hex digits")
  .option("--overflow <policy>", "sw1/sw2 when a core's ring is full: drop (counted as dist_drops) or wait; default: wait when every port is a file or generator, else drop", oneOf(OVERFLOW_POLICIES))
  .option("--ip <[port=]addr/len>", "an address of the port (IPv4 or IPv6, repeatable; default port: the first): the runtime answers ARP, neighbour solicitations and ping for it", collect, [] as string[])
  .option("--mac <[port=]mac>", "the port's MAC address, where the port has none (default: the interface's, else 02:00:00:00:00:0N)", collect, [] as string[])
  .option("--gateway <[port=]ip>", "next hop for destinations outside the port's prefixes (IPv4 or IPv6)", collect, [] as string[])
  .option("--arp <ip=mac>", "a static neighbour (IPv4 or IPv6): used without asking, never replaced", collect, [] as string[])
  .option("--arp-retries <n>", "ARP/ND requests before frames waiting for a neighbour are dropped (neigh_unresolved)", int("--arp-retries", 1, 100), 3)
  .option("--arp-queue <n>", "frames that may wait for neighbours, per core (over it: neigh_queue_full)", int("--arp-queue", 1, 65536), 256)
  .option("--arp-age <s>", "seconds a learned neighbour is used before it is resolved again", seconds, 60)
  .option("--tcp-memory <size>", `bytes of TCP buffers each core may hold (64m, 1g; default ${TCP_DEFAULTS.memory / 2 ** 20}m): past it new connections are refused (tcp_memoryRefusedConn) and buffers stop growing; in use: tcp_memoryBytes_now`, limitOption(parseTcpMemory))
  .option("--rx-batch <n>", "most packets per batch handed to the VNF (MAX_BATCH_RECV)", int("--rx-batch", 1, 1024), DEFAULTS.rxBatch)
  .option("--tx-batch <n>", "most frames per driver transmit (MAX_BATCH_SEND)", int("--tx-batch", 1, 1024), DEFAULTS.txBatch)
  .option("--busy-poll", "spin when idle instead of sleeping (BUSY_WAIT)", false)
  .option("--idle-us <n>", "longest sleep when idle", int("--idle-us", 1, 1_000_000), DEFAULTS.idleUs)
  .option("--backlog <frames>", `frames a core's stand-in takes off live ports while the core is away (a reload, a GC pause, a slow batch), for the core to handle in order when back; 0: none, frames wait in the port's ring (default ${DEFAULTS.backlog}, at most half the pool)`, int("--backlog", 0, 1_000_000))
  .option("--keep <frames>", `frames each core's VNF may keep past their batch to send later (vnfs/impair.ts delays and reorders this way); 0: none (default ${DEFAULTS.keep}, at most a quarter of the pool)`, int("--keep", 0, 1_000_000))
  .option("-d, --duration <s>", "stop after this many seconds (default: when the inputs end, or Ctrl-C)", seconds)
  .option("-c, --count <n>", "stop after this many received packets (1M, 10k ...)", quantity)
  .option("--warmup <s>", "seconds to run before rates are counted (NO_OF_SAFE_ITR)", seconds)
  .option("--vnf-timeout <s>", "when one process() call runs this long (an endless loop), end its core's worker and start another in its place", seconds, DEFAULTS.vnfTimeoutS)
  .option("--context <kind>", "v8 (default: trusted code, fastest) or quickjs (each core in its own QuickJS runtime: no host access, a memory limit, a CPU budget per batch)", limitOption(parseContext), "v8")
  .option("--memory-limit <size>", "memory per core's context (32m, 256m): quickjs drops a batch that runs out (vnf_memory); V8 loses the core's context", limitOption(parseMemoryLimit))
  .option("--cpu-budget <time>", "quickjs: CPU time per batch (2ms, 500us); a batch past it is dropped (vnf_cpu_budget)", limitOption(parseCpuBudget))
  .option("--buffers <n>", "packet buffers in the pool (2 KiB each)", int("--buffers", 1024, 2_000_000), DEFAULTS.buffers)
  .option("--large-buffers <n>", `66 KiB buffers for GSO super-frames and frames over 1984 bytes (jumbo, pcap), when a port has vnet, reads a pcap or makes jumbo frames (default ${DEFAULTS.largeBuffers})`, int("--large-buffers", 0, 16384))
  .option("-w, --watch", "reload the VNF on every core whenever one of its files is saved (a version that fails to build, load or init never goes live)", false)
  .option("--typecheck", "run tsc on the VNF before it starts and before each reload, and refuse it on a type error", false)
  .option("--canary <s>", "a reload runs on core 0 alone for this long first, and goes no further if its VNF error rate is worse than the old version's", seconds)
  .option("--reload-diff", "at each reload, say how many of the last 4096 packets per core the new version treats differently (keeps copies: costs a copy per packet)", false)
  .option("--save-failed <dir>", "keep each batch whose process() threw as DIR/coreC-genG-N.pcap with a .json (error, TS line, in-ports) for `vnfrun replay`; at most one a second per core, 100 files, 64 MiB")
  .option("--profile", "run under V8's deopt and inlining traces; at the end, deopts and calls not inlined at their TS lines, batches per second and time per batch", false)
  .option("--metrics <host:port>", "serve the counters for Prometheus at http://HOST:PORT/metrics")
  .option("--name <name>", "name this run for `vnfrun reload NAME` (its pid always works)", nameOption)
  .option("--allow-node", "let the VNF import Node built-ins (not sandboxable)", false)
  .option("--native-forward", "replace the VNF with the engine's C++ l2fwd (measures the ceiling)", false)
  .option("-q, --quiet", "no live rate line and no summary", false)
  .option("--json", "print the final summary as JSON", false)
  .addHelpText("after", EXAMPLES)
  .showHelpAfterError("(vnfrun --help shows port specs and examples)")
  .action(async (vnf: string, o) => {
    if (!existsSync(vnf)) fail(`${vnf}: no such file`);
    if (o.profile) {
      const { profileRun, formatProfile } = await import("./profile");
      const { summary, profile } = await profileRun(join(ROOT, "bin", "vnfrun.js"), process.argv.slice(2), vnf, o.allowNode);
      if (o.json) process.stdout.write(JSON.stringify({ ...summary, profile }, null, 2) + "\n");
      else process.stdout.write((o.quiet ? "" : formatSummary(summary)) + formatProfile(profile));
      return;
    }
    const live = !o.quiet && !o.json && process.stderr.isTTY;
    let summary: Summary;
    try {
      summary = await run({
        vnf,
        ports: o.port,
        cores: o.cores,
        dist: o.dist,
        cpus: o.cpus,
        rssKey: o.rssKey,
        ip: o.ip,
        mac: o.mac,
        gateway: o.gateway,
        arp: o.arp,
        arpRetries: o.arpRetries,
        arpQueue: o.arpQueue,
        arpAgeS: o.arpAge,
        tcpMemory: o.tcpMemory,
        overflow: o.overflow,
        rxBatch: o.rxBatch,
        txBatch: o.txBatch,
        busyPoll: o.busyPoll,
        idleUs: o.idleUs,
        backlog: o.backlog,
        keep: o.keep,
        durationS: o.duration,
        count: o.count,
        warmupS: o.warmup,
        buffers: o.buffers,
        largeBuffers: o.largeBuffers,
        allowNode: o.allowNode,
        nativeForward: o.nativeForward,
        config: o.config,
        vnfTimeoutS: o.vnfTimeout,
        context: o.context,
        memoryLimit: o.memoryLimit,
        cpuBudgetMs: o.cpuBudget,
        watch: o.watch,
        name: o.name,
        canaryS: o.canary,
        typecheck: o.typecheck,
        reloadDiff: o.reloadDiff,
        saveFailed: o.saveFailed,
        profileBatches: process.env.VNFRUN_PROFILING === "1",   // set by --profile for its child (profile.ts)
        metrics: o.metrics,
        onLine: live ? (l) => process.stderr.write(`\r\x1b[K${l}`) : undefined,
        onMessage: (t) => process.stderr.write(`${live ? "\r\x1b[K" : ""}${t}\n`),
      });
    } catch (e) {
      if (e instanceof CompileError) { process.stderr.write(e.message + "\n"); process.exit(1); }
      if (e instanceof UserError) fail(e.message);
      throw e;
    }
    if (live) process.stderr.write("\r\x1b[K");
    if (o.json) process.stdout.write(JSON.stringify(summary, null, 2) + "\n");
    else if (!o.quiet) process.stdout.write(formatSummary(summary));
  });

program
  .command("reload")
  .description("swap a new version of a running VNF in on every core, or roll back to the previous one")
  .argument("<instance>", "the run's --name, or its pid")
  .option("--vnf <file>", "load this file instead of rebuilding the one the run started with")
  .option("--rollback", "go back to the previous generation (kept loaded, so instant)", false)
  .action(async (target: string, o) => {
    if (o.vnf && !existsSync(o.vnf)) fail(`${o.vnf}: no such file`);
    const out = await requestInstance(target, { op: "reload", vnf: o.vnf ? resolve(o.vnf) : undefined, rollback: o.rollback });
    const line = `${target}: ${describeReload(out)}`;
    if (!out.ok) fail(line);
    process.stdout.write(line + "\n");
  });

program
  .command("ps")
  .description("list the vnfrun instances running as this user")
  .option("--json", "as JSON", false)
  .action((o) => {
    process.stdout.write(o.json ? JSON.stringify(listInstances(), null, 2) + "\n" : formatPs());
  });

program
  .command("top")
  .description("watch a running instance: rates per port, per core and per drop cause (q quits, p pauses)")
  .argument("[instance]", "its --name or pid (default: the only one running)")
  .option("--once", "one sample (over a second) and exit", false)
  .option("--json", "samples as JSON", false)
  .option("-i, --interval <s>", "seconds between samples", seconds, 1)
  .action(async (target: string | undefined, o) => {
    if (!target) {
      const all = listInstances();
      if (all.length !== 1) fail(all.length ? `${all.length} instances are running: name one (vnfrun ps lists them)` : "no vnfrun instances running");
      target = String(all[0].pid);
    }
    await top(target, { once: o.once, json: o.json, intervalS: o.interval });
  });

program
  .command("trace")
  .description("capture the packets a running instance drops (with the cause in each packet's comment), or passes")
  .argument("<instance>", "its --name or pid")
  .option("--cause <causes>", "comma-separated: vnf_drops, vnf_error_drops, bad_verdicts (default: all three)")
  .option("--port <name>", "only packets that came in or go out by this port")
  .option("--passed", "also packets the VNF sent on, with their output port", false)
  .option("-c, --count <n>", "stop after this many packets", quantity)
  .option("-w, --write <file>", "write pcapng (read it with tshark/Wireshark: frame.comment has the cause); default: a line a packet")
  .action(async (target: string, o) => {
    const r = await trace(target, { causes: o.cause?.split(","), port: o.port, count: o.count, passed: o.passed, write: o.write });
    process.stderr.write(`${r.sent} packets captured${r.missed ? `, ${r.missed} missed (more than a core copies in a second)` : ""}\n`);
  });

program
  .command("doctor")
  .description("check which drivers this host can run, and what to install or change for the others; with IFNAME, what that interface needs")
  .argument("[ifname]", "an interface to check for the packet, tap and xdp ports")
  .option("--json", "print the findings as JSON", false)
  .action((ifname: string | undefined, o) => {
    let findings;
    try {
      findings = ifname ? diagnoseInterface(ifname) : diagnose();
    } catch (e) {
      fail((e as Error).message);
    }
    process.stdout.write(o.json ? JSON.stringify(findings, null, 2) + "\n" : formatFindings(findings));
  });

program
  .command("init")
  .description("start a VNF project: package.json, src/NAME.ts, tests on vnfrun/test with a golden capture, README")
  .argument("<name>", "the new folder (its last part names the package and the VNF)")
  .option("--force", "write into a folder that is not empty", false)
  .action(async (name: string, o) => {
    process.stdout.write(await (await import("./init")).init(name, { force: o.force }));
  });

program
  .command("replay")
  .description("run a batch kept by --save-failed (or any pcap) through a VNF again, in this process, each packet on its in-port")
  .argument("<file>", "the saved batch (coreC-genG-N.pcap; its .json beside it gives the in-ports)")
  .argument("<vnf>", "the VNF module")
  .option("--config <file|json>", "the VNF's ctx.config, as for a run")
  .option("--inspect-brk [[host:]port]", "wait for a debugger (default 127.0.0.1:9229) and stop at the first line of process(), in the TS source")
  .option("--allow-node", "let the VNF import Node built-ins", false)
  .action(async (file: string, vnf: string, o) => {
    const r = await (await import("./replay")).replay(file, vnf, { config: o.config, inspectBrk: o.inspectBrk, allowNode: o.allowNode });
    process.stdout.write(r.text);
    process.exit(r.threw ? 1 : 0);
  });

function fail(msg: string): never {
  process.stderr.write(`vnfrun: ${msg}\n`);
  process.exit(1);
}

// Errors the commands do not catch (an instance that is not there, another
// user's, ...) end here, as one line.
program.parseAsync().catch((e) => fail(e instanceof Error ? e.message : String(e)));
