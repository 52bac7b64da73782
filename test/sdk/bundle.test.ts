// The SDK must bundle for any JS context: no Node built-ins, no packages.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const entry = fileURLToPath(new URL("../../sdk/index.ts", import.meta.url));

describe("sdk bundle", () => {
  it("builds platform-neutral ES2020 with no imports and runs without Node globals", async () => {
    const out = await build({
      entryPoints: [entry], bundle: true, platform: "neutral", format: "iife", globalName: "sdk",
      target: "es2020", write: false, logLevel: "silent",
    });
    const code = out.outputFiles[0].text;
    expect(code).not.toMatch(/\brequire\(|\bimport\(|\bprocess\.|\bBuffer\b/);
    // Evaluate with Node-only globals shadowed, as a sandbox would see it.
    const run = new Function("require", "process", "Buffer", "module", `${code}; return sdk;`);
    const sdk = run(undefined, undefined, undefined, undefined);
    const b = sdk.Batch.fromFrames([new Uint8Array(60)], ["in"]);
    expect(b.packet(0).eth.etherType).toBe(0);
    expect(sdk.ip4str(sdk.ip4("10.0.0.1"))).toBe("10.0.0.1");
  });
});
