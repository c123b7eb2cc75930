import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: "forks",
    // Two files at a time. Most tests wait on loopback I/O and timers, so on a 2-core machine
    // vitest's default (cores - 1, here one file at a time) left a core idle and took twice as long.
    maxWorkers: 2,
  },
});
