/**
 * Crash safety of the real process: SIGKILL in the middle of a burst of
 * notifications while Slack fails every other post, then a restart on the
 * same database. Every notification PostHog sent is delivered; none is lost.
 * A notification posted twice is allowed only for a delivery that was in
 * flight (`sending`) at the moment of the kill: Slack had accepted it, the
 * process died before recording that (the store's documented window).
 */
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runCrashScenario } from "./crash-run.js";
import { MAIN } from "./support.js";

describe("kill -9 mid-burst, then restart", () => {
  it("loses no notification; a duplicate only for a delivery in flight at the kill (50 notifications)", async () => {
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
    expect(report.unexplainedDuplicates).toBe(0);
    expect(report.duplicates.length).toBeLessThanOrEqual(report.sendingAtKill);
    expect(report.unhandled).toEqual([]);
  }, 90_000);
});
