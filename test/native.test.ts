// The engine's own selftests (native/test/*_selftest.cc): plain C++ programs
// that drive one part of the engine without Node. Built here with
// AddressSanitizer and UBSan, so a read past a buffer fails the test too.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { basename, join } from "node:path";
import { promisify } from "node:util";
import { hasTool, installHint, ROOT } from "./helpers/tools";

// Each selftest and the engine sources it links.
const SELFTESTS: Record<string, string[]> = {
  vnet: ["ports/vnet.cc", "pool.cc"],
  pcap: ["ports/pcap.cc", "ports/pcap_format.cc", "ports/vnet.cc", "pool.cc", "counters.cc", "port.cc", "engine.cc",
    "rss.cc", "distributor.cc", "transmit.cc"],
};
const CXX = process.env.CXX || "g++";
const FLAGS = ["-std=c++17", "-O0", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined", "-Wall", "-Wextra",
  "-Wno-unused-parameter", "-I", join(ROOT, "native")];
const missing = hasTool(CXX) ? "" : ` (skipped: no C++ compiler ${CXX}; ${installHint(["g++"])})`;
const run = promisify(execFile);
const out = mkdtempSync(join(tmpdir(), "vnfrun-selftest-"));

// Compile every source once, a few at a time (objects are shared between selftests).
async function compile(): Promise<void> {
  const sources = [...new Set(Object.entries(SELFTESTS).flatMap(([name, srcs]) => [`test/${name}_selftest.cc`, ...srcs]))];
  const queue = [...sources];
  const worker = async () => {
    for (let src = queue.shift(); src; src = queue.shift()) {
      await run(CXX, [...FLAGS, "-c", join(ROOT, "native", src), "-o", join(out, obj(src))], { maxBuffer: 1 << 24 })
        .catch((e) => { throw new Error(`${CXX} native/${src}: ${e.stderr || e.message}`); });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, cpus().length) }, worker));
}
const obj = (src: string) => src.replace(/\//g, "_").replace(/\.cc$/, ".o");

describe.skipIf(!!missing)(`native selftests, built with ASan and UBSan${missing}`, () => {
  beforeAll(compile, 300_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it.each(Object.keys(SELFTESTS))("%s selftest passes", (name) => {
    const exe = join(out, `${name}_selftest`);
    const objs = [`test/${name}_selftest.cc`, ...SELFTESTS[name]].map((s) => join(out, obj(s)));
    const link = spawnSync(CXX, [...FLAGS, "-o", exe, ...objs, "-lpthread"], { encoding: "utf8" });
    expect(link.stderr, `linking ${basename(exe)}`).toBe("");
    const r = spawnSync(exe, [], { encoding: "utf8", timeout: 240_000, env: { ...process.env, ASAN_OPTIONS: "detect_leaks=1" } });
    expect(r.stderr.trim(), "sanitizer reports").toBe("");
    expect(r.status, r.stdout.split("\n").filter((l) => /FAIL/.test(l)).slice(0, 20).join("\n")).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`${name} selftest: (ok|all \\d+ checks passed)`));
  }, 300_000);
});
