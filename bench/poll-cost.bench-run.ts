import { expect, test } from "vitest";
import { resultsDir } from "./lib/report.js";
import { pollCostOptionsFromEnv, runPollCost } from "./poll-cost.js";

test("poller cost: requests and CPU per poll for 100, 1,000 and 10,000 alerts", async () => {
  const result = await runPollCost(pollCostOptionsFromEnv(process.env, resultsDir()));
  expect(result.tables.length).toBeGreaterThan(0);
});
