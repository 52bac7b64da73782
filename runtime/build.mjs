// Builds the TypeScript host into dist/ (run by `npm install` via prepare;
// npx runs it too, so when dist/ is newer than every source it does nothing).
// A file is replaced by a rename, and only when it changed: a vnfrun starting
// meanwhile (a second npx, a test) reads the old file or the new one, never
// half of one.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const OUTPUTS = ["cli.js", "worker.js", "index.js", "sdk.js", "test.js"].map((f) => join(root, "dist", f));
const mtime = (p) => statSync(p).mtimeMs;
const newestIn = (dir) => Math.max(0, ...readdirSync(dir, { withFileTypes: true, recursive: true })
  .filter((e) => e.isFile()).map((e) => mtime(join(e.parentPath ?? e.path, e.name))));
const newestSource = () => Math.max(newestIn(join(root, "runtime")), newestIn(join(root, "sdk")), mtime(join(root, "native", "locate.js")));
const fresh = OUTPUTS.every(existsSync) && Math.min(...OUTPUTS.map(mtime)) > newestSource();

function put({ path, contents }) {
  if (existsSync(path) && Buffer.compare(readFileSync(path), contents) === 0) {
    utimesSync(path, new Date(), new Date());   // same bytes: now counts as fresh
    return;
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.${process.pid}.tmp`, contents);
  renameSync(`${path}.${process.pid}.tmp`, path);
}

if (!fresh) {
  const { build } = await import("esbuild");
  const common = { bundle: true, platform: "node", target: "node20", format: "cjs", sourcemap: "linked", packages: "external", logLevel: "warning", write: false };
  const host = await build({ ...common, entryPoints: { cli: join(root, "runtime/cli.ts"), worker: join(root, "runtime/worker.ts"), index: join(root, "runtime/index.ts"), test: join(root, "runtime/harness/index.ts") }, outdir: join(root, "dist") });
  const sdk = await build({ ...common, entryPoints: { sdk: join(root, "sdk/index.ts") }, outdir: join(root, "dist"), platform: "neutral" });
  for (const f of [...host.outputFiles, ...sdk.outputFiles]) put(f);
}

// --types (npm pack, npm run build): declarations for `vnfrun/sdk` and
// `vnfrun/test`, so a user's tsc checks against the shipped types, never
// against the sources.
if (process.argv.includes("--types")) {
  const { execFileSync } = await import("node:child_process");
  const { createRequire } = await import("node:module");
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  execFileSync(process.execPath, [tsc, join(root, "sdk/index.ts"), "--declaration", "--emitDeclarationOnly", "--outDir", join(root, "dist/types"),
    "--target", "ES2022", "--lib", "ES2022", "--module", "commonjs", "--strict", "--skipLibCheck"], { stdio: "inherit" });
  // The harness's declarations keep the tree's layout (it reaches into runtime/ and sdk/).
  execFileSync(process.execPath, [tsc, join(root, "runtime/harness/index.ts"), "--declaration", "--emitDeclarationOnly", "--outDir", join(root, "dist/types-test"),
    "--rootDir", root, "--target", "ES2022", "--lib", "ES2022", "--module", "esnext", "--moduleResolution", "bundler", "--types", "node,vitest",
    "--strict", "--skipLibCheck", "--esModuleInterop"], { stdio: "inherit" });
}
