import { describe, expect, it } from "vitest";
import { withoutEndedSnooze } from "../../../src/alerts/describe.js";
import { makeAlert } from "../../fixtures/alerts.js";

describe("withoutEndedSnooze", () => {
  const now = Date.parse("2026-11-29T10:00:00Z");

  it("clears a snooze that has ended, and the Snoozed state PostHog may keep until the next check", () => {
    const ended = makeAlert({ snoozed_until: "2026-11-29T09:00:00Z", state: "Snoozed" });
    expect(withoutEndedSnooze(ended, now)).toMatchObject({ snoozed_until: null, state: "Not firing" });
    const disabled = makeAlert({
      snoozed_until: "2026-11-29T10:00:00Z",
      enabled: false,
      state: "Not firing",
    });
    expect(withoutEndedSnooze(disabled, now)).toMatchObject({ snoozed_until: null, enabled: false });
    // A state that is not about the snooze stays.
    const firing = makeAlert({ snoozed_until: "2026-11-28T10:00:00Z", state: "Firing" });
    expect(withoutEndedSnooze(firing, now).state).toBe("Firing");
  });

  it("hands back the same object when there is nothing to clear", () => {
    for (const alert of [
      makeAlert({ snoozed_until: null }),
      makeAlert({ snoozed_until: "2026-11-29T10:00:01Z", state: "Snoozed" }),
    ]) {
      expect(withoutEndedSnooze(alert, now)).toBe(alert);
    }
  });
});
