// --config: the VNF's own configuration, a JSON file or JSON written inline.
// Read before any packet moves, and again at each reload, so a changed file
// reaches the new version (its init() or migrate() sees ctx.config).
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { UserError } from "./user-error";

export class ConfigError extends UserError {}

export interface VnfConfig {
  value: unknown;
  file?: string;     // absolute; undefined when written inline
}

/** `arg` is inline JSON when it starts with { or [, else a file's path. */
export function readConfig(arg: string): VnfConfig {
  const inline = /^\s*[[{]/.test(arg);
  const file = inline ? undefined : resolve(arg);
  let text: string;
  try {
    text = inline ? arg : readFileSync(file!, "utf8");
  } catch (e) {
    throw new ConfigError(`--config ${arg}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); give a JSON file or inline JSON like '{"key":1}'`);
  }
  try {
    return { value: JSON.parse(text), file };
  } catch (e) {
    throw new ConfigError(`--config ${inline ? "(inline)" : arg}: not JSON: ${(e as Error).message}`);
  }
}
