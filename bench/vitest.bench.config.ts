import { defineConfig } from "vitest/config";

/**
 * Benchmarks: `npm run bench` (all) or `npm run bench -- <name>` (one).
 * One file at a time in one forked process, so benchmarks never share the CPU;
 * BENCHMARKS.md is regenerated from bench/results/*.json when the run ends.
 */
export default defineConfig({
  test: {
    include: ["bench/**/*.bench-run.ts"],
    environment: "node",
    pool: "forks",
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 60 * 60_000,
    hookTimeout: 120_000,
    globalSetup: ["bench/run-all.ts"],
    reporters: ["verbose"],
  },
});
