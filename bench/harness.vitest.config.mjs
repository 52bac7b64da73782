import { defineConfig } from "vitest/config";
// bench/harness.mjs's own config: the bench file is not a test of npm test.
export default defineConfig({ test: { include: ["bench/harness-10k.vitest.ts"], pool: "forks", testTimeout: 600_000 } });
