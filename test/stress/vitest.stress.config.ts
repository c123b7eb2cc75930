import { defineConfig } from "vitest/config";

/** Long reliability runs: `npm run test:stress` (not part of `npm test`). */
export default defineConfig({
  test: {
    include: ["test/stress/**/*.stress.ts"],
    environment: "node",
    testTimeout: 600_000,
    hookTimeout: 60_000,
    pool: "forks",
    fileParallelism: false,
  },
});
