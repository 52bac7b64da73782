// Builds the TypeScript host into dist/ (run by `npm install` via prepare;
// npx runs it too, so it stays a fraction of a second).
import { build } from "esbuild";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const common = { bundle: true, platform: "node", target: "node20", format: "cjs", sourcemap: "linked", packages: "external", logLevel: "warning" };

await build({ ...common, entryPoints: { cli: join(root, "runtime/cli.ts"), worker: join(root, "runtime/worker.ts"), index: join(root, "runtime/index.ts") }, outdir: join(root, "dist") });
await build({ ...common, entryPoints: { sdk: join(root, "sdk/index.ts") }, outdir: join(root, "dist"), platform: "neutral" });

// --types (npm pack, npm run build): declarations for `vnfrun/sdk`, so a user's
// tsc checks against the shipped types, never against the SDK's sources.
if (process.argv.includes("--types")) {
  const { execFileSync } = await import("node:child_process");
  const { createRequire } = await import("node:module");
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  execFileSync(process.execPath, [tsc, join(root, "sdk/index.ts"), "--declaration", "--emitDeclarationOnly", "--outDir", join(root, "dist/types"),
    "--target", "ES2022", "--lib", "ES2022", "--module", "commonjs", "--strict", "--skipLibCheck"], { stdio: "inherit" });
}
