import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createPoller } from "../../../src/notifications/poller.js";
import { changeRecord } from "../../../src/notifications/service.js";
import { PostHogError } from "../../../src/posthog/errors.js";
import { openStore, type Store } from "../../../src/store/store.js";
import { ALERT_ID, alertIdFor, FakeClock, FakeSource, makeAlert, memoryLogger, waitFor } from "./support.js";

const OTHER_ID = "0192c0de-0000-7000-8000-000000000002";

describe("poller", () => {
  let store: Store;
  let source: FakeSource;
  let clock: FakeClock;
  let logger: ReturnType<typeof memoryLogger>;
  let woken: number;

  beforeEach(() => {
    clock = new FakeClock();
    store = openStore(":memory:", { now: clock.now });
    source = new FakeSource();
    logger = memoryLogger();
    woken = 0;
  });
  afterEach(() => store.close());

  function poller(intervalMs = 60_000) {
    return createPoller({
      source,
      store,
      intervalMs,
      logger,
      now: clock.now,
      setTimer: clock.setTimer,
      onEnqueued: () => {
        woken++;
      },
    });
  }

  /** Simulates the worker having posted a message for the alert in a channel. */
  function openEpisode(alertId: string, channel: string, checkedAt: string) {
    const n = store.enqueueFiring({
      source: "webhook",
      eventUuid: `${alertId}-${channel}-${checkedAt}`,
      alertId,
      lastCheckedAt: checkedAt,
    });
    store.routeNotification(n.id, [channel]);
    const job = store.claimDelivery(store.deliveriesFor(n.id)[0]!.id)!;
    store.completeOpened(job.delivery.id, {
      alertId,
      channel,
      ts: `ts-${channel}`,
      snapshot: {
        alertName: "x",
        insightName: null,
        insightShortId: null,
        breaches: null,
        latestValue: null,
        latestCheckedAt: checkedAt,
        details: { threshold: null, condition: null, frequency: null, recentValues: [] },
        snoozedUntil: null,
        enabled: true,
      },
    });
  }

  /** An alert seen firing at `checkedAt`, its message open in C1, then snoozed from Slack; returns the poller. */
  async function snoozedFromSlack(checkedAt: string) {
    source.set(makeAlert({ state: "Firing", last_checked_at: checkedAt }));
    const p = poller();
    await p.pollOnce();
    openEpisode(ALERT_ID, "C1", checkedAt);
    store.recordAction({
      alertId: ALERT_ID,
      action: "snooze",
      by: "U1",
      snoozedUntil: "2025-06-05T00:00:00.000Z",
    });
    return p;
  }

  function queued(kind: string) {
    return store.unroutedNotifications().filter((n) => n.kind === kind);
  }

  it("records a baseline on the first poll without notifying", async () => {
    source.set(makeAlert({ state: "Firing" }), makeAlert({ id: OTHER_ID }));
    const result = await poller().pollOnce();
    expect(result).toEqual({ alerts: 2, fired: 0, resolved: 0, refreshed: 0, baseline: true });
    expect(store.pendingCount()).toBe(0);
    expect(store.pollState().get(ALERT_ID)?.state).toBe("Firing");
    expect(logger.entries.some((e) => e.level === "info" && e.details.firing === 1)).toBe(true);
    expect(woken).toBe(0);
  });

  it("treats an empty first poll as the baseline too", async () => {
    const p = poller();
    await p.pollOnce();
    source.set(makeAlert({ state: "Firing" }));
    expect((await p.pollOnce()).fired).toBe(1);
  });

  it("queues a firing when an alert starts firing, once", async () => {
    source.set(makeAlert({ state: "Not firing", last_checked_at: "2025-06-01T01:00:00Z" }));
    const p = poller();
    await p.pollOnce();
    source.set(
      makeAlert({ state: "Firing", last_checked_at: "2025-06-02T01:00:12.345678Z", last_value: 42 }),
    );
    expect(await p.pollOnce()).toMatchObject({ fired: 1, resolved: 0, refreshed: 0 });
    const [firing] = queued("firing");
    expect(firing).toMatchObject({
      source: "poll",
      alertId: ALERT_ID,
      checkedAtMs: Date.UTC(2025, 5, 2, 1, 0, 12, 345),
    });
    expect(firing?.payload).toMatchObject({
      alertName: "Signups dropped",
      insightShortId: "AaVQ8Ijw",
      value: 42,
    });
    expect(woken).toBe(1);
    expect(await p.pollOnce()).toMatchObject({ fired: 0 });
    expect(queued("firing")).toHaveLength(1);
  });

  it("does not repeat a firing the webhook already delivered for the same check", async () => {
    source.set(makeAlert({ state: "Not firing" }));
    const p = poller();
    await p.pollOnce();
    store.enqueueFiring({
      source: "webhook",
      eventUuid: "u1",
      alertId: ALERT_ID,
      lastCheckedAt: "2025-06-02T01:00:12.345678+00:00",
    });
    source.set(makeAlert({ state: "Firing", last_checked_at: "2025-06-02T01:00:12.345678Z" }));
    expect((await p.pollOnce()).fired).toBe(0);
    expect(queued("firing")).toHaveLength(1);
  });

  it("catches a missed firing (newer check, no open message) but leaves repeats to the webhook", async () => {
    source.set(makeAlert({ state: "Firing", last_checked_at: "2025-06-02T01:00:00Z" }));
    const p = poller();
    await p.pollOnce(); // baseline: already firing, not announced
    source.set(makeAlert({ state: "Firing", last_checked_at: "2025-06-03T01:00:00Z" }));
    expect((await p.pollOnce()).fired).toBe(1);

    openEpisode(ALERT_ID, "C1", "2025-06-03T01:00:00Z");
    source.set(makeAlert({ state: "Firing", last_checked_at: "2025-06-04T01:00:00Z" }));
    expect((await p.pollOnce()).fired).toBe(0);
  });

  it("resolves open messages when the alert stops firing, once", async () => {
    source.set(makeAlert({ state: "Firing", last_checked_at: "2025-06-02T01:00:00Z" }));
    const p = poller();
    await p.pollOnce();
    openEpisode(ALERT_ID, "C1", "2025-06-02T01:00:00Z");
    source.set(makeAlert({ state: "Not firing", last_checked_at: "2025-06-03T01:00:00Z" }));
    expect(await p.pollOnce()).toMatchObject({ resolved: 1, fired: 0, refreshed: 0 });
    const [resolved] = queued("resolved");
    expect(resolved?.payload).toMatchObject({ reason: "cleared", state: "Not firing" });
    // Still waiting to be delivered: the next poll does not queue another.
    expect((await p.pollOnce()).resolved).toBe(0);
    expect(queued("resolved")).toHaveLength(1);
  });

  it("resolves a message the poller never saw firing once a newer clear check appears", async () => {
    source.set(makeAlert({ state: "Not firing", last_checked_at: "2025-06-01T01:00:00Z" }));
    const p = poller();
    await p.pollOnce();
    openEpisode(ALERT_ID, "C1", "2025-06-02T01:00:00Z"); // fired and cleared between polls (webhook only)
    source.set(makeAlert({ state: "Not firing", last_checked_at: "2025-06-01T01:00:00Z" }));
    expect((await p.pollOnce()).resolved).toBe(0);
    source.set(makeAlert({ state: "Not firing", last_checked_at: "2025-06-03T01:00:00Z" }));
    expect((await p.pollOnce()).resolved).toBe(1);
  });

  it("does not call an alert resolved when PostHog resets its state without a check (undo, enable, edit)", async () => {
    const p = await snoozedFromSlack("2025-06-02T01:00:00Z");
    // Unsnoozed too, between two polls: PostHog says "Not firing", with no new check.
    store.recordAction({ alertId: ALERT_ID, action: "unsnooze", by: "U1" });
    source.set(makeAlert({ state: "Not firing", last_checked_at: "2025-06-02T01:00:00Z" }));
    expect(await p.pollOnce()).toMatchObject({ resolved: 0, fired: 0 });
    expect(queued("resolved")).toHaveLength(0);
    // The next check decides: this one fires again, so the open message is updated, not replaced.
    source.set(makeAlert({ state: "Firing", last_checked_at: "2025-06-02T02:00:00Z" }));
    expect(await p.pollOnce()).toMatchObject({ fired: 1, resolved: 0 });
    // And a later clear check resolves it.
    source.set(makeAlert({ state: "Not firing", last_checked_at: "2025-06-02T03:00:00Z" }));
    expect(await p.pollOnce()).toMatchObject({ resolved: 1 });
  });

  it("refreshes open messages when snooze or enabled changes in PostHog, without resolving", async () => {
    source.set(makeAlert({ state: "Firing" }));
    const p = poller();
    await p.pollOnce();
    openEpisode(ALERT_ID, "C1", "2025-06-02T01:00:12.345678Z");
    source.set(makeAlert({ state: "Snoozed", snoozed_until: "2025-06-05T00:00:00Z" }));
    expect(await p.pollOnce()).toMatchObject({ refreshed: 1, resolved: 0 });
    expect(await p.pollOnce()).toMatchObject({ refreshed: 0, resolved: 0 });
    source.set(makeAlert({ state: "Not firing", snoozed_until: "2025-06-05T00:00:00Z", enabled: false }));
    expect(await p.pollOnce()).toMatchObject({ refreshed: 0, resolved: 0 }); // merged with the waiting refresh
    expect(queued("refresh")).toHaveLength(1);
  });

  it("redraws open messages when the alert is edited in PostHog: a new name, threshold or frequency", async () => {
    source.set(makeAlert({ state: "Firing" }));
    const p = poller();
    await p.pollOnce();
    openEpisode(ALERT_ID, "C1", "2025-06-02T01:00:12.345678Z");
    expect(await p.pollOnce()).toMatchObject({ refreshed: 0, fired: 0 });
    // Renamed while firing, with no newer check: the message says so before the next check.
    source.set(makeAlert({ state: "Firing", name: "Signups dropped (EU)" }));
    expect(await p.pollOnce()).toMatchObject({ refreshed: 1, fired: 0 });
    expect(queued("refresh")).toHaveLength(1);
    // Once the redraw went out, a new threshold on a snoozed alert redraws it again.
    for (const n of queued("refresh")) store.routeNotification(n.id, []);
    source.set(
      makeAlert({
        state: "Snoozed",
        name: "Signups dropped (EU)",
        snoozed_until: "2025-06-05T00:00:00Z",
        threshold: { configuration: { type: "absolute", bounds: { lower: 50, upper: null } } },
      }),
    );
    expect(await p.pollOnce()).toMatchObject({ refreshed: 1, resolved: 0 });
    // Nothing changed since: nothing to redraw.
    expect(await p.pollOnce()).toMatchObject({ refreshed: 0, resolved: 0, fired: 0 });
  });

  it("resolves at once when an edit's own check clears the alert (a threshold raised to quiet it)", async () => {
    source.set(makeAlert({ state: "Firing", last_checked_at: "2025-06-02T01:00:00Z" }));
    const p = poller();
    await p.pollOnce();
    openEpisode(ALERT_ID, "C1", "2025-06-02T01:00:00Z");
    source.set(
      makeAlert({
        state: "Not firing",
        last_checked_at: "2025-06-02T01:05:00Z",
        threshold: { configuration: { type: "absolute", bounds: { lower: 10, upper: null } } },
      }),
    );
    expect(await p.pollOnce()).toMatchObject({ refreshed: 1, resolved: 1 });
  });

  it("does not redraw again for an edit made from Slack, which was redrawn when it was made", async () => {
    source.set(makeAlert({ state: "Firing" }));
    const p = poller();
    await p.pollOnce();
    openEpisode(ALERT_ID, "C1", "2025-06-02T01:00:12.345678Z");
    const renamed = makeAlert({ state: "Firing", name: "Renamed from Slack" });
    // Recorded as the bot records a change from Slack, and redrawn there and then.
    const redraw = store.recordChange(
      changeRecord(renamed, { verb: "edit", userId: "U1", alertId: ALERT_ID }),
    );
    store.routeNotification(redraw!.id, ["C1"]);
    const job = store.claimDelivery(store.deliveriesFor(redraw!.id)[0]!.id)!;
    store.markSent(job.delivery.id, "ts-C1");
    source.set(renamed);
    expect(await p.pollOnce()).toMatchObject({ refreshed: 0 });
  });

  it("takes a poller memory from before prints were kept as no change", async () => {
    source.set(makeAlert({ state: "Firing" }));
    const p = poller();
    await p.pollOnce();
    openEpisode(ALERT_ID, "C1", "2025-06-02T01:00:12.345678Z");
    store.savePollState([...store.pollState().values()].map((r) => ({ ...r, shownPrint: null })));
    source.set(makeAlert({ state: "Firing", name: "Renamed before the upgrade" }));
    expect(await p.pollOnce()).toMatchObject({ refreshed: 0 });
  });

  it("does not mistake a snooze made from Slack for a change in PostHog", async () => {
    const p = await snoozedFromSlack("2025-06-02T01:00:12.345678Z");
    source.set(makeAlert({ state: "Snoozed", snoozed_until: "2025-06-05T00:00:00Z" }));
    expect(await p.pollOnce()).toMatchObject({ refreshed: 0, resolved: 0, fired: 0 });
  });

  it("resolves open messages of an alert deleted in PostHog", async () => {
    source.set(makeAlert({ state: "Firing" }), makeAlert({ id: OTHER_ID }));
    const p = poller();
    await p.pollOnce();
    openEpisode(ALERT_ID, "C1", "2025-06-02T01:00:12.345678Z");
    source.alerts.delete(ALERT_ID);
    expect((await p.pollOnce()).resolved).toBe(1);
    expect(queued("resolved")[0]?.payload.reason).toBe("deleted");
    expect((await p.pollOnce()).resolved).toBe(0);
  });

  it("says deleted only when PostHog answers 404: an alert a paged read skipped, or a failed look, is kept", async () => {
    source.set(makeAlert({ state: "Firing" }), makeAlert({ id: OTHER_ID }));
    const p = poller();
    await p.pollOnce();
    openEpisode(ALERT_ID, "C1", "2025-06-02T01:00:12.345678Z");
    // A deletion elsewhere while the pages were read shifted this alert into a page already read.
    const listAll = source.listAllAlerts.bind(source);
    source.listAllAlerts = async () => (await listAll()).filter((a) => a.id !== ALERT_ID);
    expect(await p.pollOnce()).toMatchObject({ resolved: 0, fired: 0 });
    expect(source.getCalls.map((c) => c.id)).toEqual([ALERT_ID]);
    // PostHog cannot answer the look: nothing is said, and the next poll looks again.
    source.getError = Object.assign(new Error("PostHog is unavailable"), { code: "unavailable" });
    expect(await p.pollOnce()).toMatchObject({ resolved: 0 });
    source.getError = null;
    source.alerts.delete(ALERT_ID);
    expect(await p.pollOnce()).toMatchObject({ resolved: 1 });
    expect(queued("resolved")[0]?.payload.reason).toBe("deleted");
    expect(queued("firing")).toHaveLength(0);
  });

  it("polls a large project less often, so polling uses at most half of PostHog's hourly budget", async () => {
    for (let i = 0; i < 1_000; i++) source.set(makeAlert({ id: alertIdFor(`bulk-${i}`) }));
    const p = poller(10_000);
    p.start();
    await waitFor(() => source.listCalls === 1);
    const first = clock.now();
    await waitFor(() => source.listCalls === 2);
    // 1,000 alerts are 10 pages: 10 × 1.5 s, not the configured 10 s.
    expect(clock.now() - first).toBe(15_000);
    source.alerts.clear();
    source.set(makeAlert());
    await waitFor(() => source.listCalls === 3);
    const third = clock.now();
    await waitFor(() => source.listCalls === 4);
    expect(clock.now() - third).toBe(10_000);
    await p.stop();
    expect(logger.entries.some((e) => /hourly request limit/.test(e.message ?? ""))).toBe(true);
  });

  it("stops at once during a poll, and the poll then leaves the store alone", async () => {
    const p = poller(60_000);
    let release: () => void = () => {};
    source.listGate = new Promise<void>((resolve) => {
      release = resolve;
    });
    p.start();
    await waitFor(() => source.listCalls === 1);
    let stopped = false;
    void p.stop().then(() => {
      stopped = true;
    });
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    // A big project's pages, or PostHog not answering, do not hold the stop.
    expect(stopped).toBe(true);
    release();
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(store.hasPollBaseline()).toBe(false);
    expect(logger.entries.filter((e) => e.level === "warn")).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });

  it("counts polls that fail in a row, with PostHog's reason, until one works", async () => {
    const p = poller(60_000);
    source.listError = new PostHogError({
      code: "not_found",
      message: "PostHog answered 404",
      userMessage: "PostHog does not know the configured project.",
    });
    p.start();
    await waitFor(() => p.failures().count === 1);
    expect(p.failures().problem).toBe("PostHog does not know the configured project.");
    await waitFor(() => p.failures().count === 2);
    source.listError = null;
    await waitFor(() => p.failures().count === 0);
    expect(p.failures().problem).toBeNull();
    await p.stop();
  });

  it("keeps polling after errors and never overlaps polls", async () => {
    const p = poller(60_000);
    source.listError = new Error("PostHog is down");
    p.start();
    await waitFor(() => logger.entries.some((e) => e.level === "warn"));
    const failedAt = clock.now();
    source.listError = null;
    let release: () => void = () => {};
    source.listGate = new Promise<void>((resolve) => {
      release = resolve;
    });
    await waitFor(() => source.listCalls === 2);
    expect(clock.now() - failedAt).toBeGreaterThanOrEqual(60_000);
    // The second poll hangs: no timer is armed, so no third poll can start.
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(source.listCalls).toBe(2);
    expect(clock.pendingTimers).toBe(0);
    release();
    source.listGate = null;
    await waitFor(() => store.hasPollBaseline());
    await waitFor(() => source.listCalls === 3);
    await p.stop();
    const calls = source.listCalls;
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(source.listCalls).toBe(calls);
  });
});
