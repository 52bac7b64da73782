// Writes a benchmark's table into BENCHMARKS.md between its markers
// (<!-- bench:KEY:begin --> and <!-- bench:KEY:end -->); where the markers
// are missing, appends them with the table under `heading`.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const FILE = join(dirname(fileURLToPath(import.meta.url)), "..", "BENCHMARKS.md");

export function writeSection(key, table, heading) {
  const begin = `<!-- bench:${key}:begin -->`, end = `<!-- bench:${key}:end -->`;
  const doc = readFileSync(FILE, "utf8");
  const i = doc.indexOf(begin), j = doc.indexOf(end);
  if (i >= 0 && j > i) writeFileSync(FILE, doc.slice(0, i + begin.length) + "\n" + table + "\n" + doc.slice(j));
  else if (heading) writeFileSync(FILE, `${doc.trimEnd()}\n\n## ${heading}\n\n${begin}\n${table}\n${end}\n`);
}
