// Turns a VNF exception into one line naming the TypeScript file and line.
// Stack frames point into the bundle (compile.ts writes it with an inline
// source map); they are mapped back here, and only when an error is printed:
// Node's own source-map support would parse every bundle's map as it loads,
// and loading happens between two batches during a reload.
import { readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { dirname, resolve } from "node:path";

const maps = new Map<string, SourceMap | null>();

function mapOf(file: string): SourceMap | null {
  if (!maps.has(file)) {
    let map: SourceMap | null = null;
    try {
      const m = /\/\/# sourceMappingURL=data:application\/json;base64,([A-Za-z0-9+/=]+)\s*$/.exec(readFileSync(file, "utf8"));
      if (m) map = new SourceMap(JSON.parse(Buffer.from(m[1], "base64").toString("utf8")));
    } catch { /* not a bundle of ours: leave the frame as it is */ }
    maps.set(file, map);
  }
  return maps.get(file)!;
}

/** "at fn (/tmp/vnfrun-1/fw.0.js:120:7)" -> "at fn (/home/me/fw.ts:31:11)" */
function mapFrame(frame: string): string {
  return frame.replace(/(\/[^():]+\.js):(\d+):(\d+)/, (all, file: string, line: string, col: string) => {
    const map = mapOf(file);
    const e = map?.findEntry(Number(line) - 1, Number(col) - 1) as { originalSource?: string; originalLine?: number; originalColumn?: number } | undefined;
    if (!e?.originalSource) return all;
    const source = e.originalSource.startsWith("file://") ? new URL(e.originalSource).pathname : resolve(dirname(file), e.originalSource);
    return `${source}:${e.originalLine! + 1}:${e.originalColumn! + 1}`;
  });
}

export function errorLocation(e: unknown): string {
  if (!(e instanceof Error)) return `VNF threw a non-Error value: ${String(e)}`;
  const frames = (e.stack ?? "").split("\n").slice(1).map((l) => mapFrame(l.trim()));
  // The first frame outside the bundled SDK and the runtime is the user's.
  const user = frames.find((f) => /\.(ts|js)x?:\d+:\d+\)?$/.test(f) && !/[/\\]sdk[/\\]|[/\\]runtime[/\\]|[/\\]dist[/\\]|node:internal/.test(f));
  const at = (user ?? frames[0] ?? "").replace(/^at\s+/, "");
  return `${e.name}: ${e.message}${at ? ` at ${at}` : ""}`;
}

/** The whole stack, each frame mapped to its TS file and line. */
export function mappedStack(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const [head, ...frames] = (e.stack ?? "").split("\n");
  return [head, ...frames.map((l) => "    " + mapFrame(l.trim()))].join("\n");
}
