import { describe, expect, it } from "vitest";
import { firedAfterAGap, resolvedNote, viewOf } from "../../../src/notifications/render.js";
import type { EpisodeSnapshot } from "../../../src/store/store.js";

const ALERT = "0192c0de-0000-7000-8000-000000000001";

const HOUR = 3_600_000;

describe("firedAfterAGap", () => {
  it("counts firings up to one and a half check intervals apart as in a row", () => {
    expect(firedAfterAGap(1.5 * HOUR, 0, "hourly")).toBe(false);
    expect(firedAfterAGap(1.5 * HOUR + 1, 0, "hourly")).toBe(true);
    expect(firedAfterAGap(24 * HOUR, 0, "daily")).toBe(false);
    expect(firedAfterAGap(48 * HOUR, 0, "daily")).toBe(true);
    expect(firedAfterAGap(8 * 24 * HOUR, 0, "weekly")).toBe(false);
    // Newer servers' 15-minute checks: three days later is no streak.
    expect(firedAfterAGap(0.25 * HOUR, 0, "every_15_minutes")).toBe(false);
    expect(firedAfterAGap(72 * HOUR, 0, "every_15_minutes")).toBe(true);
  });

  it("counts as in a row whatever it cannot judge: unknown intervals or times", () => {
    expect(firedAfterAGap(100 * HOUR, 0, "every 5 minutes")).toBe(false);
    expect(firedAfterAGap(100 * HOUR, 0, null)).toBe(false);
    expect(firedAfterAGap(null, 0, "hourly")).toBe(false);
    expect(firedAfterAGap(100 * HOUR, null, "hourly")).toBe(false);
  });
});

describe("who undid a snooze or a disable", () => {
  const snapshot: EpisodeSnapshot = {
    alertName: "Signups dropped",
    insightName: null,
    insightShortId: null,
    breaches: null,
    latestValue: null,
    latestCheckedAt: null,
    details: { threshold: null, condition: null, frequency: null, recentValues: [] },
    snoozedUntil: null,
    enabled: true,
  };
  const links = { host: "https://us.posthog.com", projectId: "1" };
  const view = (over: Partial<EpisodeSnapshot>, undone: { action: "unsnooze" | "enable"; by: string }) =>
    viewOf(ALERT, { ...snapshot, ...over }, { status: "firing", repeatCount: 1, undone }, links, 1_000);

  it("is said while it holds", () => {
    expect(view({}, { action: "unsnooze", by: "U0ANN0001" }).undone).toEqual({
      action: "unsnooze",
      by: "U0ANN0001",
    });
    expect(view({}, { action: "enable", by: "U0ANN0001" }).undone).toEqual({
      action: "enable",
      by: "U0ANN0001",
    });
  });

  it("is not said once the alert is snoozed or disabled again (set in PostHog, say)", () => {
    expect(
      view({ snoozedUntil: "2099-01-01T00:00:00Z" }, { action: "unsnooze", by: "U0ANN0001" }).undone,
    ).toBeNull();
    expect(view({ enabled: false }, { action: "enable", by: "U0ANN0001" }).undone).toBeNull();
  });

  it("tells a message closed by an errored check from one whose alert cleared", () => {
    const closed = (reason: string) =>
      viewOf(
        ALERT,
        snapshot,
        { status: "resolved", repeatCount: 1, resolvedNote: resolvedNote(reason) },
        links,
        1_000,
      ).couldNotCheck;
    expect(closed("errored")).toBe(true);
    expect(closed("deleted")).toBe(false);
    expect(closed("cleared")).toBe(false);
  });
});
