import { expect, test } from "vitest";
import { burstOptionsFromEnv, runBurst } from "./burst.js";
import { resultsDir } from "./lib/report.js";

test("burst delivery: 1,000 notifications across 20 rate-limited channels", async () => {
  const result = await runBurst(burstOptionsFromEnv(process.env, resultsDir()));
  expect(result.tables.length).toBeGreaterThan(0);
});
