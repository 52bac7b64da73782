// Turns a VNF exception into one line naming the TypeScript file and line
// (source maps are on, so stack frames already point into the .ts source).

export function errorLocation(e: unknown): string {
  if (!(e instanceof Error)) return `VNF threw a non-Error value: ${String(e)}`;
  const frames = (e.stack ?? "").split("\n").slice(1).map((l) => l.trim());
  // The first frame outside the bundled SDK and the runtime is the user's.
  const user = frames.find((f) => /\.(ts|js)x?:\d+:\d+\)?$/.test(f) && !/[/\\]sdk[/\\]|[/\\]runtime[/\\]|[/\\]dist[/\\]|node:internal/.test(f));
  const at = (user ?? frames[0] ?? "").replace(/^at\s+/, "");
  return `${e.name}: ${e.message}${at ? ` at ${at}` : ""}`;
}
