import pino from "pino";
import { describe, expect, it } from "vitest";
import { AlertService, type AlertsApi } from "../../../src/alerts/service.js";
import { performWrite, SHORTER_SNOOZE_SLACK_MS } from "../../../src/alerts/writes.js";
import type { WritePolicy } from "../../../src/auth/policy.js";
import type { Alert, AlertPatch } from "../../../src/posthog/schemas.js";
import { makeAlert } from "../../fixtures/alerts.js";

const NOW = new Date("2026-11-29T10:00:00Z");
const HOUR = 3_600_000;

/**
 * PostHog as far as a write sees it: one alert and the client's snooze (scripted: whether a
 * longer snooze is kept is the client's to decide, and its own tests cover that), plus PATCH.
 */
function world(alert: Alert, answer?: (patched: Alert) => Alert) {
  let current = alert;
  const patches: AlertPatch[] = [];
  const keeps: Array<number | undefined> = [];
  const patch = (p: AlertPatch) => {
    patches.push(p);
    current = { ...current, ...p } as Alert;
    return answer ? answer(current) : current;
  };
  const api = {
    async updateAlert(_id: string, p: AlertPatch) {
      return patch(p);
    },
    async snoozeAlert(_id: string, until: string, options: { keepLongerByMs?: number } = {}) {
      keeps.push(options.keepLongerByMs);
      const previousUntil = current.snoozed_until;
      const longerBy = previousUntil ? Date.parse(previousUntil) - Date.parse(until) : 0;
      if (options.keepLongerByMs !== undefined && longerBy > options.keepLongerByMs)
        return { sent: false, alert: current, previousUntil };
      return { sent: true, alert: patch({ snoozed_until: until }), previousUntil };
    },
    async unsnoozeAlert() {
      const inForce = current.snoozed_until !== null && Date.parse(current.snoozed_until) > NOW.getTime();
      return inForce
        ? { sent: true, alert: patch({ snoozed_until: null }) }
        : { sent: false, alert: current };
    },
  };
  const deps = {
    alerts: new AlertService(api as unknown as AlertsApi, () => NOW.getTime(), 15_000),
    policy: { check: async () => ({ ok: true }) } as unknown as WritePolicy,
    logger: pino({ level: "silent" }),
  };
  const write = (verb: "snooze" | "unsnooze", snoozeUntil?: Date, keepLongerSnooze = true) =>
    performWrite(deps, {
      userId: "U0ANN",
      alert: { id: alert.id, name: "" },
      verb,
      ...(snoozeUntil ? { snoozeUntil } : {}),
      keepLongerSnooze,
      source: "test",
    });
  return { patches, keeps, write, current: () => current };
}

const at = (ms: number) => new Date(NOW.getTime() + ms);
const dateToken = (d: Date) => `<!date^${Math.floor(d.getTime() / 1000)}^`;

describe("performWrite: snooze", () => {
  it("keeps a longer snooze in place, says so with both times, and sends nothing", async () => {
    const week = at(7 * 24 * HOUR);
    const w = world(makeAlert({ name: "Signups dropped", snoozed_until: week.toISOString() }));
    const outcome = await w.write("snooze", at(HOUR));
    expect(outcome.ok).toBe(false);
    expect(outcome.sentence).toContain("*Signups dropped* is already snoozed until");
    expect(outcome.sentence).toContain(dateToken(week));
    expect(outcome.sentence).toContain(dateToken(at(HOUR)));
    expect(outcome.sentence).toMatch(/unsnooze it first/);
    expect(outcome.ok ? null : outcome.current?.snoozed_until).toBe(week.toISOString());
    expect(w.patches).toEqual([]);
    expect(w.keeps).toEqual([SHORTER_SNOOZE_SLACK_MS]);
    expect(w.current().snoozed_until).toBe(week.toISOString());
  });

  it("cuts a longer snooze short where the person can see it, and says what it cut short", async () => {
    const week = at(7 * 24 * HOUR);
    const w = world(makeAlert({ name: "Signups dropped", snoozed_until: week.toISOString() }));
    const outcome = await w.write("snooze", at(HOUR), false);
    expect(w.keeps).toEqual([undefined]);
    expect(outcome.ok).toBe(true);
    expect(w.patches).toEqual([{ snoozed_until: at(HOUR).toISOString() }]);
    expect(outcome.sentence).toMatch(
      /snoozed \*Signups dropped\* until <!date\^\d+\^.*cutting short a snooze until/,
    );
    expect(outcome.sentence).toContain(dateToken(week));
    expect(outcome.ok && outcome.plain).toMatch(/cutting short a snooze until \d{4}-/);
  });

  it("lengthens a shorter snooze, and treats one less than a minute longer as the same", async () => {
    for (const existing of [at(30 * 60_000), at(HOUR + SHORTER_SNOOZE_SLACK_MS - 1000)]) {
      const w = world(makeAlert({ snoozed_until: existing.toISOString() }));
      const outcome = await w.write("snooze", at(HOUR));
      expect(outcome.ok, existing.toISOString()).toBe(true);
      expect(w.patches).toEqual([{ snoozed_until: at(HOUR).toISOString() }]);
      expect(outcome.sentence).toContain(dateToken(at(HOUR)));
      expect(outcome.sentence).not.toMatch(/cutting short/);
    }
  });

  it("does not claim a snooze PostHog did not keep", async () => {
    const w = world(makeAlert({ name: "Signups dropped" }), (patched) => ({
      ...patched,
      snoozed_until: null,
    }));
    const outcome = await w.write("snooze", at(HOUR));
    expect(w.patches).toHaveLength(1);
    expect(outcome.ok).toBe(false);
    expect(outcome.sentence).toMatch(/accepted the snooze for \*Signups dropped\* but kept none/);
    expect(outcome.sentence).not.toMatch(/snoozed \*Signups dropped\* until/);
  });
});

describe("performWrite: unsnooze", () => {
  it("says a snooze on a disabled alert changes nothing until someone enables it", async () => {
    const off = await world(makeAlert({ name: "Signups dropped", enabled: false })).write("snooze", at(HOUR));
    expect(off.sentence).toMatch(
      /snoozed \*Signups dropped\* until .* It is disabled, so PostHog does not check it/,
    );
    const on = await world(makeAlert({ enabled: true })).write("snooze", at(HOUR));
    expect(on.sentence).not.toMatch(/disabled/);
  });

  it("says a disabled alert stays unchecked, and an enabled one is checked on schedule", async () => {
    const snoozed = { snoozed_until: at(HOUR).toISOString() };
    const off = await world(makeAlert({ ...snoozed, enabled: false })).write("unsnooze");
    expect(off.sentence).toMatch(/still disabled, so PostHog does not check it/);
    expect(off.sentence).not.toMatch(/on schedule/);
    const on = await world(makeAlert({ ...snoozed, enabled: true })).write("unsnooze");
    expect(on.sentence).toMatch(/checked again on schedule/);
  });

  it("leaves an alert with no snooze in force alone, says so, and hands back the alert as read", async () => {
    for (const snoozedUntil of [null, at(-HOUR).toISOString()]) {
      const w = world(makeAlert({ name: "Signups dropped", snoozed_until: snoozedUntil, state: "Firing" }));
      const outcome = await w.write("unsnooze");
      expect(outcome).toMatchObject({ ok: false, refused: false });
      if (outcome.ok) throw new Error("unreachable");
      expect(outcome.sentence).toBe("🔔 *Signups dropped* is not snoozed, so nothing changed.");
      expect(outcome.current?.state).toBe("Firing");
      expect(w.patches).toEqual([]);
    }
  });
});
