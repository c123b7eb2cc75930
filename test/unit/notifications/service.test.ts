import { describe, expect, it } from "vitest";
import { shownPrintOf } from "../../../src/notifications/poller.js";
import { changeRecord } from "../../../src/notifications/service.js";
import { ALERT_ID, makeAlert } from "./support.js";

describe("changeRecord (what the store keeps of a change made from Slack)", () => {
  const by = { userId: "U1", alertId: ALERT_ID };

  it("records a snooze with its end, who made it, and the print of what the message now shows", () => {
    const alert = makeAlert({ state: "Snoozed", snoozed_until: "2025-06-05T00:00:00Z" });
    expect(changeRecord(alert, { ...by, verb: "snooze" })).toEqual({
      alertId: ALERT_ID,
      action: "snooze",
      by: "U1",
      snoozedUntil: "2025-06-05T00:00:00Z",
      reason: "snooze",
      shownPrint: shownPrintOf(alert),
    });
  });

  it("records an edit as a redraw only, with the edited alert's print", () => {
    const renamed = makeAlert({ name: "Renamed from Slack" });
    expect(changeRecord(renamed, { ...by, verb: "edit" })).toMatchObject({
      action: null,
      reason: "edit",
      shownPrint: shownPrintOf(renamed),
    });
  });

  it("closes the messages of a deleted alert and keeps no print for it", () => {
    const record = changeRecord(null, { ...by, verb: "delete" });
    expect(record).toMatchObject({ action: null, close: true, reason: "deleted_from_slack" });
    expect(record).not.toHaveProperty("shownPrint");
  });
});
