/**
 * The crash scenario at scale, three times: 500 notifications over 20
 * channels, the real process killed with SIGKILL once 250 are accepted (while
 * deliveries are under way), restarted with Slack healthy. Nothing is lost and
 * nothing is posted twice, including the deliveries in flight at the kill.
 */
import { expect, it } from "vitest";
import { runCrashScenario } from "../reliability/crash-run.js";

it("500 notifications, kill -9 mid-burst, restart (×3): none lost, none posted twice", async () => {
  for (let run = 1; run <= 3; run++) {
    const report = await runCrashScenario({
      notifications: 500,
      channels: 20,
      killAfterAccepted: 250,
      concurrency: 8,
      spacingMs: 50,
      deliverTimeoutMs: 240_000,
      logLevel: "info",
      slackLatencyMs: 400,
    });
    const { duplicates, lost, ...rest } = report;
    console.log(
      `crash (stress) run ${run}: ${JSON.stringify({ ...rest, lost: lost.length, duplicates: duplicates.length })}`,
    );
    expect(report.lost).toEqual([]);
    expect(report.duplicates).toEqual([]);
    expect(report.lookupsAfterRestart).toBeGreaterThanOrEqual(report.sendingAtKill);
    expect(report.unhandled).toEqual([]);
  }
});
