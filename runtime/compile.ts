// Compiles a VNF module with esbuild into one platform-neutral script that
// carries its own copy of the SDK, so it runs in any JS context.
import { build, formatMessages, type Message, type Plugin } from "esbuild";
import { builtinModules } from "node:module";
import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { UserError } from "./user-error";

export const SDK_ENTRY = join(__dirname, "..", "sdk", "index.ts");

export class CompileError extends UserError {}

export interface CompileOptions {
  sourcesContent?: boolean;   // the TS sources inside the source map (a debugger shows them)
  allowNode?: boolean;   // let the VNF import Node built-ins (V8 context only)
}

export interface Bundle {
  source: string;        // the VNF's path as given
  code: string;          // CommonJS; exports `default` (the VNF), `Batch`, `Histogram` and `Tuples` (for a quickjs context)
  file: string;          // where the code was written, for require() and source maps
  inputs: string[];      // the files it was built from (absolute), for --watch
}

const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

function forbidNodeBuiltins(allow: boolean): Plugin {
  return {
    name: "vnfrun-no-node",
    setup(b) {
      b.onResolve({ filter: /^[a-z_:/]+$/ }, (args) => {
        if (!NODE_BUILTINS.has(args.path)) return undefined;
        if (allow) return { path: args.path, external: true };
        return {
          errors: [{ text: `a VNF cannot import the Node built-in "${args.path}": VNFs run in sandboxed per-core contexts (pass --allow-node to opt in, V8 context only)` }],
        };
      });
    },
  };
}

let seq = 0;

export async function compileVnf(path: string, opts: CompileOptions = {}): Promise<Bundle> {
  const abs = resolve(path);
  const dir = join(tmpdir(), `vnfrun-${process.pid}`);
  const file = join(dir, `${basename(abs).replace(/\.[tj]s$/, "")}.${seq++}.js`);
  const entry = `import vnf from ${JSON.stringify(abs)};\nexport { Batch, Histogram, Tuples } from "vnfrun/sdk";\nexport default vnf;\n`;
  let result;
  try {
    result = await build({
      stdin: { contents: entry, resolveDir: dirname(abs), sourcefile: "vnfrun-entry.js", loader: "js" },
      bundle: true,
      write: false,
      outfile: file,     // source map paths are made relative to it
      platform: "neutral",
      mainFields: ["module", "main"],
      format: "cjs",
      target: "es2022",
      sourcemap: "inline",
      sourcesContent: !!opts.sourcesContent,
      alias: { "vnfrun/sdk": SDK_ENTRY },
      plugins: [forbidNodeBuiltins(!!opts.allowNode)],
      logLevel: "silent",
      metafile: true,
    });
  } catch (e) {
    const errors: Message[] = (e as { errors?: Message[] }).errors ?? [];
    if (!errors.length) throw e;
    const text = await formatMessages(errors, { kind: "error", color: process.stderr.isTTY ?? false });
    throw new CompileError(text.join("").trimEnd());
  }
  const code = result.outputFiles[0].text;
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, code);
  const inputs = Object.keys(result.metafile!.inputs)
    .filter((i) => !i.startsWith("<") && !i.includes("node_modules"))
    .map((i) => resolve(i));
  return { source: path, code, file, inputs };
}
