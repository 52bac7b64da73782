// The programmatic API: what the benchmark, tests and other tools use.
export { run, RunError, type RunOptions, type Summary } from "./supervisor";
export { compileVnf, CompileError } from "./compile";
export { parsePorts, SpecError } from "./ports";
export { loadAddon } from "./addon";
export { UserError } from "./user-error";
