// The README's port table is made from the drivers' own schemas
// (native/ports/*.cc): it fails here when a driver or an option changed and
// `node scripts/port-table.mjs` was not run.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { driverSpecs } from "../runtime/ports";
import { BEGIN, END, portTable } from "../runtime/port-table";
import { ROOT, vnfrun } from "./helpers/tools";

const readme = readFileSync(join(ROOT, "README.md"), "utf8");
const drivers = [...driverSpecs().values()];

describe("the drivers' schemas", () => {
  it("make the README's port table (run `node scripts/port-table.mjs` when this fails)", () => {
    const a = readme.indexOf(BEGIN), b = readme.indexOf(END);
    expect(a, "README.md has the port table's markers").toBeGreaterThan(0);
    expect(readme.slice(a + BEGIN.length, b).trim()).toBe(portTable(drivers));
  });

  it("list every driver and option in --help and doctor", () => {
    const help = vnfrun(["--help"]).stdout;
    const doctor = JSON.parse(vnfrun(["doctor", "--json"]).stdout) as { item: string }[];
    for (const d of drivers) {
      expect(help).toContain(`  ${d.name}`);
      expect(help).toContain(d.help);
      for (const x of d.options) if (!d.argKeys.split("@").includes(x.key)) expect(help).toMatch(new RegExp(`[,:\\[](no)?${x.key}[=,\\]]`));
      expect(doctor.map((f) => f.item)).toContain(`driver ${d.name}`);
    }
  });

  it("declare every option with a type ports.ts reads, and a default that passes its own check", async () => {
    const { checkOptions } = await import("../runtime/ports");
    for (const d of drivers)
      for (const x of d.options) {
        expect(["uint", "quantity", "fraction", "flag", "choice", "sizes", "range", "repeat", "ifname", "text"], `${d.name} ${x.key}`).toContain(x.type);
        expect(x.help, `${d.name} ${x.key} has help`).toBeTruthy();
        if (x.default !== undefined && !d.argKeys.split("@").includes(x.key)) {
          const arg = d.arg ? "eth0" : undefined;   // a name every driver's argument accepts
          expect(checkOptions(d, arg, { [x.key]: x.default })[x.key], `${d.name} ${x.key}`).toBe(x.default);
        }
      }
  });
});
