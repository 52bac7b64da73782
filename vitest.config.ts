import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    globalSetup: ["test/setup/global.ts"],
    exclude: ["**/node_modules/**", "templates/**"],   // the init template's test is the starter project's
    pool: "forks",          // native addon + worker threads: one process per file
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});
