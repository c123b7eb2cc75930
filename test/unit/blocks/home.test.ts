import { describe, expect, it } from "vitest";
import { filterAlerts } from "../../../src/blocks/alert-list.js";
import { buildHome } from "../../../src/blocks/home.js";
import { HOSTILE_NAMES, makeAlert } from "../../fixtures/alerts.js";
import { expectValidView } from "../../support/block-kit.js";
import { unsafeMrkdwn } from "../../support/mrkdwn-safety.js";

const textOf = (view: ReturnType<typeof buildHome>) => JSON.stringify(view.blocks);

describe("the App Home tab", () => {
  it("counts and names errored alerts beside the firing ones: they can never fire", () => {
    const view = buildHome(
      [
        makeAlert({ name: "Signups dropped", state: "Firing" }),
        makeAlert({ name: "Broken funnel", state: "Errored" }),
        makeAlert({ name: "Quiet", state: "Not firing" }),
      ],
      null,
      "/alerts",
      Date.UTC(2026, 10, 29, 9),
    );
    expectValidView(view);
    const text = textOf(view);
    expect(text).toContain("*1* firing");
    expect(text).toContain("*1* errored");
    expect(text).toContain("🔴 Signups dropped");
    expect(text).toContain("⚠️ Broken funnel (errored: PostHog cannot check it)");
    expect(text).toContain(`As PostHog listed them <!date^${Date.UTC(2026, 10, 29, 9) / 1000}^`);
  });

  it("counts as snoozed what `/alerts list snoozed` lists", () => {
    const alerts = [
      makeAlert({ state: "Snoozed", snoozed_until: "2030-01-01T00:00:00Z" }),
      // Snoozed while firing: PostHog may keep the state until the next check.
      makeAlert({ state: "Firing", snoozed_until: "2030-01-01T00:00:00Z" }),
      makeAlert({ state: "Not firing" }),
    ];
    const listed = filterAlerts(alerts, "snoozed", "").length;
    expect(listed).toBe(2);
    expect(textOf(buildHome(alerts, null))).toContain(`${listed} snoozed`);
  });

  it("stays within Slack's limits and escapes names, with many firing alerts and hostile names", () => {
    const alerts = [
      ...HOSTILE_NAMES.map((name) => makeAlert({ name, state: "Firing" })),
      ...Array.from({ length: 40 }, (_, i) =>
        makeAlert({ name: `Errored ${i} ${"&".repeat(200)}`, state: "Errored" }),
      ),
    ];
    const view = buildHome(alerts, null, "/alerts", Date.now());
    expectValidView(view);
    expect(unsafeMrkdwn(view, "https://us.posthog.com")).toEqual([]);
    expect(textOf(view)).toMatch(/…and \d+ more/);
    // Every line shown is whole: the count of those left out is not cut off.
    const named = (view.blocks[2] as { text: { text: string } }).text.text;
    expect(named.length).toBeLessThanOrEqual(3000);
    expect(named).toMatch(/\n…and \d+ more$/);
  });

  it("says what went wrong when the list could not be read", () => {
    const view = buildHome(null, "PostHog did not answer.");
    expectValidView(view);
    expect(textOf(view)).toContain("PostHog did not answer.");
    expect(textOf(view)).not.toContain("As PostHog listed them");
  });
});
