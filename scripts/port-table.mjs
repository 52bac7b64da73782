// node scripts/port-table.mjs: rewrite README.md's port table from the
// drivers' schemas (runtime/port-table.ts). Run it after adding a driver or
// an option; test/port-table.test.ts fails until it is done.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
// runtime/ is TypeScript: bundle the two modules this needs, and load them.
const out = join(root, "runtime", `.port-table.${process.pid}.js`);
await build({
  stdin: { contents: `export { withPortTable } from "./port-table"; export { driverSpecs } from "./ports";`, resolveDir: join(root, "runtime"), loader: "ts" },
  bundle: true, platform: "node", format: "cjs", packages: "external", outfile: out, logLevel: "warning",
});
let mod;
try {
  mod = createRequire(import.meta.url)(out);
} finally {
  (await import("node:fs")).rmSync(out, { force: true });
}
const file = join(root, "README.md");
const before = readFileSync(file, "utf8");
const after = mod.withPortTable(before, [...mod.driverSpecs().values()]);
if (after !== before) writeFileSync(file, after);
console.log(after === before ? "README.md: port table up to date" : "README.md: port table rewritten");
