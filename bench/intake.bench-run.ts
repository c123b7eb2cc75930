import { expect, test } from "vitest";
import { intakeOptionsFromEnv, runIntake } from "./intake.js";
import { resultsDir } from "./lib/report.js";

test("webhook intake: bot vs a do-nothing server, with and without delivery", async () => {
  const result = await runIntake(intakeOptionsFromEnv(process.env, resultsDir()));
  expect(result.tables.length).toBeGreaterThan(0);
});
