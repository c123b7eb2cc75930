import { expect, test } from "vitest";
import { ackLatencyOptionsFromEnv, runAckLatency } from "./ack-latency.js";
import { resultsDir } from "./lib/report.js";

test("ack latency: bot vs bare Bolt, slow PostHog, step-up", async () => {
  const result = await runAckLatency(ackLatencyOptionsFromEnv(process.env, resultsDir()));
  expect(result.tables.length).toBeGreaterThan(0);
});
