// --typecheck: tsc's verdict on a VNF before it runs or reloads (esbuild
// strips types without checking them). Uses the project's own typescript
// when it has one, else ours; none at all is a one-line error.
import { dirname } from "node:path";
import { SDK_ENTRY } from "./compile";
import { UserError } from "./user-error";

export class TypecheckError extends UserError {}

/** tsc's diagnostics for `file`, formatted, or "" when there are none. */
export function typecheck(file: string, opts: { allowNode?: boolean } = {}): string {
  let ts: typeof import("typescript");
  try {
    ts = require(require.resolve("typescript", { paths: [dirname(file), __dirname] }));
  } catch {
    throw new TypecheckError("--typecheck needs the typescript package: npm install --save-dev typescript");
  }
  const options: import("typescript").CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ["lib.es2022.d.ts"],
    types: opts.allowNode ? ["node"] : [],
    paths: { "vnfrun/sdk": [SDK_ENTRY] },
  };
  const program = ts.createProgram([file], options);
  const diagnostics = ts.getPreEmitDiagnostics(program);
  if (!diagnostics.length) return "";
  return ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => process.cwd(),
    getNewLine: () => "\n",
  }).trimEnd();
}
