import { describe, expect, it } from "vitest";
import { Maglev } from "../../sdk";

const names = (n: number): { name: string }[] => Array.from({ length: n }, (_, i) => ({ name: `10.0.0.${i + 1}:80` }));

describe("Maglev", () => {
  it("gives each backend its share of the table, by weight", () => {
    const m = new Maglev(names(5));
    for (const s of m.shares(5)) expect(Math.abs(s - 65537 / 5)).toBeLessThan(65537 / 5 * 0.02);
    const w = new Maglev([{ name: "a", weight: 1 }, { name: "b", weight: 2 }, { name: "c", weight: 3 }, { name: "d", weight: 0 }]);
    const s = w.shares(4);
    expect(s[3]).toBe(0);
    expect(s[0] + s[1] + s[2]).toBe(65537);
    for (const [i, share] of [[0, 1 / 6], [1, 2 / 6], [2, 3 / 6]] as const) expect(Math.abs(s[i] / 65537 - share)).toBeLessThan(0.01);
  });

  it("moves few entries when a backend comes or goes (minimal disruption)", () => {
    const before = new Maglev(names(10));
    const removed = new Maglev(names(10).filter((_, i) => i !== 3));
    const kept = names(10).filter((_, i) => i !== 3).map((b) => b.name);
    let moved = 0;
    for (let e = 0; e < 65537; e++) {
      const was = before.table[e];
      if (was === 3) continue;   // its entries must move
      if (kept[removed.table[e]] !== names(10)[was].name) moved++;
    }
    // The paper's figure: a few per cent of the other entries move.
    expect(moved / 65537).toBeLessThan(0.05);
    const added = new Maglev(names(11));
    let changed = 0;
    for (let e = 0; e < 65537; e++) if (added.table[e] !== before.table[e]) changed++;
    expect(changed / 65537).toBeLessThan(1 / 11 + 0.05);
  });

  it("builds the same table from the same set on every call, empty without weight", () => {
    expect(new Maglev(names(3)).table).toEqual(new Maglev(names(3)).table);
    expect(new Maglev([{ name: "a", weight: 0 }]).lookup(12345)).toBe(-1);
    expect(() => new Maglev(names(2), 65536)).toThrow(/prime/);
    expect(() => new Maglev([{ name: "a" }, { name: "a" }])).toThrow(/twice/);
  });
});
