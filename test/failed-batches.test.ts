// --save-failed keeps the batch whose process() threw, as it arrived, with
// what threw where; vnfrun replay runs it again with its in-ports and throws
// at the same TS line; the saving is bounded.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FailedBatches } from "../runtime/failed-batches";
import { pkt, readCapture, writeCapture } from "../runtime/harness";
import { ROOT } from "./helpers/tools";
import type { CoreView } from "../runtime/v8-context";

const dir = mkdtempSync(join(tmpdir(), "vnfrun-failed-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cli = (args: string[]) => spawnSync(process.execPath, [join(ROOT, "bin/vnfrun.js"), ...args], { cwd: dir, encoding: "utf8", timeout: 60_000 });
const VNF = join(ROOT, "test/fixtures/throws-on-port.ts");
// Where the fixture throws: the line of its `throw`, the column of `new Error` (V8's position).
const THROW = (() => {
  const lines = readFileSync(VNF, "utf8").split("\n"), i = lines.findIndex((l) => l.includes("throw new Error"));
  return `${VNF}:${i + 1}:${lines[i].indexOf("new Error") + 1}`;
})();

describe("--save-failed and vnfrun replay", () => {
  it("keeps the batch that threw, and replay throws again at the same TS line with the in-ports restored", () => {
    const mk = (n: number, dport: number) => Array.from({ length: n }, (_, i) => pkt.eth().ipv4({ id: i }).udp({ sport: 1000 + i, dport }).payload(10).build());
    writeCapture(join(dir, "a.pcap"), mk(50, 666));                            // by "in": fine
    writeCapture(join(dir, "b.pcap"), [...mk(20, 80), ...mk(1, 666), ...mk(20, 80)]);   // by "out": one throws
    const run = cli([VNF, "--port", "in=pcap:a.pcap", "--port", "out=pcap:b.pcap,read", "--save-failed", "failed", "--json"]);
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).drops.vnf_error_drops).toBeGreaterThan(0);
    const files = readdirSync(join(dir, "failed")).sort();
    expect(files).toEqual(["core0-gen1-000001.json", "core0-gen1-000001.pcap"]);
    const info = JSON.parse(readFileSync(join(dir, "failed", files[0]), "utf8"));
    expect(info).toMatchObject({ core: 0, generation: 1, vnf: VNF, ports: ["in", "out"], location: THROW });
    expect(info.error).toBe(`Error: port 666 from out (packet of 52 bytes) at Object.process (${THROW})`);
    const saved = readCapture(join(dir, "failed", files[1]));
    expect(saved).toHaveLength(info.packets);
    expect(info.inPorts).toHaveLength(info.packets);
    expect(info.inPorts).toContain("out");
    // As it arrived: every saved frame is one of the inputs, unchanged.
    const inputs = new Set([...readCapture(join(dir, "a.pcap")), ...readCapture(join(dir, "b.pcap"))].map((f) => Buffer.from(f).toString("hex")));
    expect(saved.every((f) => inputs.has(Buffer.from(f).toString("hex")))).toBe(true);

    const again = cli(["replay", join("failed", files[1]), VNF]);
    expect(again.status).toBe(1);
    expect(again.stdout).toContain(`process() threw: Error: port 666 from out (packet of 52 bytes) at Object.process (${THROW})`);
    // Without the in-ports (no .json), every packet comes in by "in": no error.
    rmSync(join(dir, "failed", files[0]));
    const blind = cli(["replay", join("failed", files[1]), VNF]);
    expect(blind.status, blind.stdout + blind.stderr).toBe(0);
    expect(blind.stdout).toMatch(new RegExp(`process\\(\\) returned: out ${info.packets}`));
  });

  it("saves at most one batch a second per core, within the bounds on files and bytes", () => {
    const frames = [pkt.eth().ipv4().udp().build(), pkt.eth().ipv6().tcp().build()];
    const pool = new Uint8Array(4096);
    frames.forEach((f, i) => pool.set(f, i * 2048));
    const view = { core: 3, portNames: ["in", "out"], pool, offsets: Uint32Array.of(0, 2048), lengths: Uint32Array.of(frames[0].length, frames[1].length), inPorts: Uint8Array.of(1, 0) } as unknown as CoreView;
    const out = join(dir, "bounded");
    const saver = new FailedBatches({ dir: out, vnf: "x.ts", maxFiles: 2, maxBytes: 1 << 20 }, view);
    saver.keep(2);
    expect(saver.save(new Error("one"), 4)).toMatch(/core3-gen4-000001\.pcap$/);
    expect(saver.save(new Error("two"), 4)).toBeUndefined();   // within the same second
    expect(readCapture(join(out, "core3-gen4-000001.pcap"))).toEqual(frames);
    expect(JSON.parse(readFileSync(join(out, "core3-gen4-000001.json"), "utf8")).inPorts).toEqual(["out", "in"]);
    const tiny = new FailedBatches({ dir: join(dir, "tiny"), vnf: "x.ts", maxFiles: 10, maxBytes: 50 }, view);
    tiny.keep(2);
    expect(tiny.save(new Error("big"), 1)).toBeUndefined();   // over the byte bound
    expect(tiny.suppressed).toBe(1);
  });

  it("replay --inspect-brk waits for a debugger and stops at process()'s first line, the TS source through the source map", async () => {
    writeCapture(join(dir, "one.pcap"), [pkt.eth().ipv4().udp({ dport: 666 }).build()]);
    writeFileSync(join(dir, "one.json"), JSON.stringify({ inPorts: ["out"] }));   // the in-ports, as --save-failed writes them
    const child = spawn(process.execPath, [join(ROOT, "bin/vnfrun.js"), "replay", "one.pcap", VNF, "--inspect-brk", "0"], { cwd: dir });
    try {
      let err = "";
      const url = await new Promise<string>((res, rej) => {
        child.stderr.on("data", (d) => { err += d; const m = /waiting for a debugger at (ws:\/\/\S+)/.exec(err); if (m) res(m[1]); });
        child.on("exit", () => rej(new Error(`replay exited: ${err}`)));
      });
      const dbg = spawnSync(process.execPath, ["--experimental-websocket", join(ROOT, "test/helpers/cdp-paused.mjs"), url], { encoding: "utf8", timeout: 30_000 });
      const paused = JSON.parse(dbg.stdout.trim().split("\n").at(-1)!);
      const src = readFileSync(VNF, "utf8").split("\n");
      const first = src.findIndex((l) => l.includes("process(batch)")) + 2;   // the line after the signature
      expect(paused.functionName).toBe("process");
      expect(join(dir, paused.mapped.source.startsWith("/") ? "" : "x", paused.mapped.source)).toMatch(/test\/fixtures\/throws-on-port\.ts$/);
      expect(paused.mapped.line).toBe(first);
      expect(paused.mapped.content).toBe(readFileSync(VNF, "utf8"));   // DevTools shows the TS itself
      const code = await new Promise<number | null>((res) => child.on("exit", res));
      expect(code).toBe(1);   // and once resumed, it throws as the batch did
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("replay refuses what it cannot run with one line", () => {
    expect(cli(["replay", "nope.pcap", VNF]).stderr.trim()).toBe("vnfrun: nope.pcap: no such file");
  });
});
