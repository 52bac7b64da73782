// --watch: calls back when a file the VNF was built from changes. Watches
// the files' directories, not the files, because editors save by writing a
// new file and renaming it over the old one. Events within a few ms are one
// save; a file written in two chunks may still give two, and the first (a
// broken half) is then refused by the compiler like any broken save.
import { watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";

const SETTLE_MS = 10;

export function watchFiles(files: string[], onChange: (at: number) => void): { close(): void } {
  const byDir = new Map<string, Set<string>>();
  for (const f of files) {
    const d = dirname(f);
    if (!byDir.has(d)) byDir.set(d, new Set());
    byDir.get(d)!.add(basename(f));
  }
  let timer: NodeJS.Timeout | undefined;
  let first = 0;
  const watchers: FSWatcher[] = [...byDir].map(([dir, names]) =>
    watch(dir, (_event, name) => {
      if (!name || !names.has(String(name))) return;
      if (!timer) first = performance.now();
      clearTimeout(timer);
      timer = setTimeout(() => { timer = undefined; onChange(first); }, SETTLE_MS);
    }));
  return { close: () => { clearTimeout(timer); watchers.forEach((w) => w.close()); } };
}
