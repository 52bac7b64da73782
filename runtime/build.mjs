// Builds the TypeScript host into dist/ (run by `npm install` via prepare).
import { build } from "esbuild";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const common = { bundle: true, platform: "node", target: "node20", format: "cjs", sourcemap: "linked", packages: "external", logLevel: "warning" };

await build({ ...common, entryPoints: { cli: join(root, "runtime/cli.ts"), worker: join(root, "runtime/worker.ts"), index: join(root, "runtime/index.ts") }, outdir: join(root, "dist") });
await build({ ...common, entryPoints: { sdk: join(root, "sdk/index.ts") }, outdir: join(root, "dist"), platform: "neutral" });
