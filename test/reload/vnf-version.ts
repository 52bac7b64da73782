// Writes versions of a VNF for the reload tests. Version k stamps each frame
// it forwards at byte 50 with k, at 51 with its core, and at 52..55 with how
// many packets its core's state has seen: a state carried by migrate keeps
// counting there, a fresh one starts again.
import { join } from "node:path";

export const ROOT = join(__dirname, "..", "..");

export interface Version {
  gen: number;
  migrate?: boolean;        // default true
  initThrows?: boolean;
  migrateThrows?: boolean;
  syntaxError?: boolean;
}

export function vnfSource(v: Version): string {
  if (v.syntaxError) return `import { defineVnf } from ${JSON.stringify(join(ROOT, "sdk"))};\nexport default defineVnf({ ports: ["in", "out"], process(batch) { for (;; }, });\n`;
  return `import { defineVnf } from ${JSON.stringify(join(ROOT, "sdk"))};

const GEN = ${v.gen};

export default defineVnf({
  ports: ["in", "out"],
  init: (ctx) => {
    ${v.initThrows ? 'if (GEN > 0) throw new Error("init fails on purpose");' : ""}
    return { seen: 0, core: ctx.core };
  },
  ${v.migrate === false ? "" : `migrate: (prev: any, ctx) => {
    ${v.migrateThrows ? 'if (GEN > 0) throw new Error("migrate fails on purpose");' : ""}
    return { seen: prev.seen, core: ctx.core };
  },`}
  process(batch, st) {
    const b = batch.bytes, off = batch.offsets, v = batch.verdicts;
    for (let i = 0; i < batch.count; i++) {
      const o = off[i];
      st.seen++;
      b[o + 50] = GEN;
      b[o + 51] = st.core;
      b[o + 52] = st.seen >>> 24; b[o + 53] = (st.seen >>> 16) & 255; b[o + 54] = (st.seen >>> 8) & 255; b[o + 55] = st.seen & 255;
      v[i] = 2;
    }
  },
});
`;
}

export interface Stamp { flow: string; gen: number; core: number; seen: number }

export function stampOf(f: Uint8Array): Stamp {
  return {
    flow: Buffer.from(f.subarray(26, 38)).toString("hex"),
    gen: f[50], core: f[51], seen: ((f[52] << 24) | (f[53] << 16) | (f[54] << 8) | f[55]) >>> 0,
  };
}
