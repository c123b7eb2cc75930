/**
 * Crash safety of the real process: SIGKILL in the middle of a burst of
 * notifications while Slack fails every other post, then a restart on the
 * same database. Every notification PostHog sent is delivered exactly once:
 * a delivery in flight (`sending`) at the kill is looked for in its channel
 * after the restart (its post carries a key in its metadata) and recorded if
 * Slack had taken it, posted if not.
 */
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runCrashScenario } from "./crash-run.js";
import { MAIN } from "./support.js";

describe("kill -9 mid-burst, then restart", () => {
  it("loses no notification and posts none twice, even those in flight at the kill (50 notifications)", async () => {
    expect(existsSync(MAIN), "npm test builds dist/ before running the tests").toBe(true);
    const report = await runCrashScenario({
      notifications: 50,
      channels: 25,
      killAfterAccepted: 30,
      concurrency: 4,
      spacingMs: 120,
      deliverTimeoutMs: 30_000,
      slackLatencyMs: 400,
    });
    console.log(`crash: ${JSON.stringify(report)}`);
    expect(report.acceptedBeforeKill).toBeGreaterThanOrEqual(30);
    expect(report.faultsInjected).toBeGreaterThan(0);
    expect(report.lost).toEqual([]);
    expect(report.duplicates).toEqual([]);
    // Every delivery whose outcome the kill made unknown was looked for before anything was posted.
    expect(report.lookupsAfterRestart).toBeGreaterThanOrEqual(report.sendingAtKill);
    expect(report.unhandled).toEqual([]);
  }, 90_000);
});
