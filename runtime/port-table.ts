// The README's table of port drivers and their options, made from the
// schemas the drivers declare (native/ports/*.cc). scripts/port-table.mjs
// writes it into README.md; test/port-table.test.ts fails when it is stale.
import type { DriverSpec } from "./addon";
import { synopsis, valueHint } from "./ports";

export const BEGIN = "<!-- port-table: made by `node scripts/port-table.mjs` from the drivers' schemas; do not edit -->";
export const END = "<!-- /port-table -->";

const cell = (t: string) => t.replace(/\|/g, "\\|");
const code = (t: string) => `\`${cell(t)}\``;

export function portTable(drivers: DriverSpec[]): string {
  const rows = ["| spec | option | default | meaning |", "|---|---|---|---|"];
  for (const d of drivers) {
    rows.push(`| ${code(synopsis(d))} | | | ${cell(d.help)} |`);
    const argKeys = d.argKeys ? d.argKeys.split("@") : [];
    for (const x of d.options) {
      if (argKeys.includes(x.key)) continue;
      const form = x.type === "flag" ? `${x.key}=on\\|off, no${x.key}` : `${x.key}=${cell(valueHint(x))}`;
      const dflt = x.default === undefined ? "" : x.type === "flag" ? (x.default === "1" ? "on" : "off") : code(x.default);
      rows.push(`| | \`${form}\` | ${dflt} | ${cell(x.help)} |`);
    }
  }
  return rows.join("\n");
}

/** README text with the table between its markers replaced. */
export function withPortTable(readme: string, drivers: DriverSpec[]): string {
  const a = readme.indexOf(BEGIN), b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error(`README.md has no port table markers (${BEGIN} ... ${END})`);
  return `${readme.slice(0, a + BEGIN.length)}\n${portTable(drivers)}\n${readme.slice(b)}`;
}
