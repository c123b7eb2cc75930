import { expect, test } from "vitest";
import { resultsDir } from "./lib/report.js";
import { runStartMemory, startMemoryOptionsFromEnv } from "./start-memory.js";

test("start time and memory", async () => {
  const result = await runStartMemory(startMemoryOptionsFromEnv(process.env, resultsDir()));
  expect(result.targets.length).toBeGreaterThan(0);
});
