import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { PostHogLinks } from "../../../src/alerts/describe.js";
import { createDeliveryWorker, type DeliveryWorkerOptions } from "../../../src/notifications/worker.js";
import type { PostArgs, PostResult } from "../../../src/slack/poster.js";
import { type FiringInput, openStore, type Store } from "../../../src/store/store.js";
import {
  ALERT_ID,
  alertIdFor,
  FakeClock,
  FakePoster,
  FakeSource,
  makeAlert,
  memoryLogger,
  waitFor,
} from "./support.js";

const DEFAULT = "CDEFAULT01";
const C1 = "C1111111111";
const C2 = "C2222222222";
const links: PostHogLinks = { host: "https://eu.posthog.com", projectId: "42" };

function firing(overrides: Partial<FiringInput> = {}): FiringInput {
  return {
    source: "webhook",
    eventUuid: `uuid-${Math.random()}`,
    alertId: ALERT_ID,
    alertName: "Signups dropped",
    insightName: "Daily signups",
    insightShortId: "AaVQ8Ijw",
    breaches: "The insight value (signed_up) for previous day (42) is less than lower threshold (100)",
    lastCheckedAt: "2025-06-02T01:00:12.345678+00:00",
    ...overrides,
  };
}

function textOf(args: { text: string; blocks?: unknown[] }): string {
  return `${args.text}\n${JSON.stringify(args.blocks ?? [])}`;
}

describe("delivery worker", () => {
  let clock: FakeClock;
  let store: Store;
  let poster: FakePoster;
  let source: FakeSource;
  let logger: ReturnType<typeof memoryLogger>;

  beforeEach(() => {
    clock = new FakeClock();
    store = openStore(":memory:", { now: clock.now });
    poster = new FakePoster(clock.now);
    source = new FakeSource();
    source.set(makeAlert({ state: "Firing" }));
    logger = memoryLogger();
  });
  afterEach(() => store.close());

  function worker(overrides: Partial<DeliveryWorkerOptions> = {}) {
    return createDeliveryWorker({
      store,
      poster,
      source,
      links,
      defaultChannel: DEFAULT,
      logger,
      now: clock.now,
      setTimer: clock.setTimer,
      ...overrides,
    });
  }

  describe("routing", () => {
    it("sends to the channels watching the alert before anything else", async () => {
      store.addRoute(ALERT_ID, C1);
      store.addRoute(ALERT_ID, C2);
      store.enqueueFiring(firing({ channelHint: "C9999999999" }));
      await worker().drain();
      expect(
        poster
          .posts()
          .map((p) => p.channel)
          .sort(),
      ).toEqual([C1, C2]);
    });

    it("falls back to the webhook's channel hint, then the default channel", async () => {
      store.enqueueFiring(firing({ channelHint: C2 }));
      store.enqueueFiring(
        firing({ alertId: alertIdFor("other-alert"), lastCheckedAt: "2025-06-03T00:00:00Z" }),
      );
      await worker().drain();
      expect(poster.posts(C2)).toHaveLength(1);
      expect(poster.posts(DEFAULT)).toHaveLength(1);
    });

    it("keeps unroutable notifications, warns, and delivers them once a route is added", async () => {
      const w = worker({ defaultChannel: undefined });
      const { id } = store.enqueueFiring(firing());
      await w.drain();
      expect(poster.calls).toHaveLength(0);
      expect(store.deliveriesFor(id)).toMatchObject([{ status: "unrouted", channel: null }]);
      const warning = logger.entries.find((e) => e.level === "warn");
      expect(warning?.message).toContain('Alert "Signups dropped" fired but no Slack channel');
      expect(warning?.details.alertId).toBe(ALERT_ID);
      expect(store.failureSummary().unrouted).toBe(1);

      expect(store.addRoute(ALERT_ID, C1).rerouted).toBe(1);
      await w.drain();
      expect(poster.posts(C1)).toHaveLength(1);
      expect(store.deliveriesFor(id)).toMatchObject([{ status: "sent", channel: C1 }]);
    });

    it("posts only the newest of the firings kept without a channel once a route is added", async () => {
      const w = worker({ defaultChannel: undefined });
      const ids = ["2025-06-02T01:00:00Z", "2025-06-03T01:00:00Z", "2025-06-04T01:00:00Z"].map(
        (lastCheckedAt) => store.enqueueFiring(firing({ lastCheckedAt })).id,
      );
      await w.drain();
      expect(store.addRoute(ALERT_ID, C1).rerouted).toBe(1);
      await w.drain();
      expect(poster.posts(C1)).toHaveLength(1);
      expect(textOf(poster.posts(C1)[0]!)).toContain("<!date^1748998800^");
      expect(ids.map((id) => store.deliveriesFor(id)[0]?.status)).toEqual(["sent", "sent", "sent"]);
      expect(store.deliveriesFor(ids[0]!)[0]).toMatchObject({
        channel: null,
        lastError: "skipped: a newer firing was posted instead",
      });
    });

    it("sends firings kept without a channel to ALERTS_CHANNEL once it is set (the newest per alert)", async () => {
      const first = worker({ defaultChannel: undefined });
      store.enqueueFiring(firing({ lastCheckedAt: "2025-06-02T01:00:00Z" }));
      store.enqueueFiring(firing({ lastCheckedAt: "2025-06-03T01:00:00Z" }));
      store.enqueueFiring(firing({ alertId: alertIdFor("other"), lastCheckedAt: "2025-06-03T01:00:00Z" }));
      await first.drain();
      expect(store.failureSummary().unrouted).toBe(3);
      // Restarted with ALERTS_CHANNEL set.
      const second = worker();
      second.start();
      await second.stop();
      await second.drain();
      expect(store.failureSummary().unrouted).toBe(0);
      expect(poster.posts(DEFAULT)).toHaveLength(2);
    });

    it("warns about an unroutable alert at most once a minute, then with how many were kept", async () => {
      const w = worker({ defaultChannel: undefined });
      const other = alertIdFor("other-alert");
      const check = (n: number) => `2025-06-02T0${n}:00:00Z`;
      const warnings = () => logger.entries.filter((e) => e.level === "warn");
      for (const n of [1, 2, 3]) store.enqueueFiring(firing({ lastCheckedAt: check(n) }));
      store.enqueueFiring(firing({ alertId: other, alertName: "Churn up", lastCheckedAt: check(1) }));
      await w.drain();
      // One warning per alert, each naming the alert and the fix.
      expect(warnings().map((e) => [e.details.alertId, e.details.count])).toEqual([
        [ALERT_ID, 1],
        [other, 1],
      ]);
      expect(warnings()[1]?.message).toContain('Alert "Churn up" fired but no Slack channel');
      expect(warnings()[1]?.message).toContain("/alerts watch");

      clock.t += 30_000;
      store.enqueueFiring(firing({ lastCheckedAt: check(4) }));
      await w.drain();
      expect(warnings()).toHaveLength(2);

      clock.t += 30_000;
      store.enqueueFiring(firing({ lastCheckedAt: check(5) }));
      await w.drain();
      expect(warnings()).toHaveLength(3);
      const again = warnings()[2];
      // Two kept quietly since the first warning, and this one.
      expect(again?.details).toMatchObject({ alertId: ALERT_ID, alertName: "Signups dropped", count: 4 });
      expect(again?.message).toContain('Alert "Signups dropped" fired but no Slack channel');
      expect(again?.message).toContain("4 notifications kept since the last warning");
      expect(again?.message).toContain("ALERTS_CHANNEL");
      expect(store.failureSummary().unrouted).toBe(6);
    });
  });

  describe("messages", () => {
    it("posts a new message with PostHog's details, and opens an episode", async () => {
      const { id } = store.enqueueFiring(firing());
      await worker().drain();
      const [post] = poster.posts(DEFAULT);
      expect(post?.thread_ts).toBeUndefined();
      const text = textOf(post!);
      expect(text).toContain("Signups dropped");
      expect(text).toContain("less than lower threshold (100)");
      expect(text).toContain("*Fires when*\\nbelow 100"); // threshold from the fetched alert
      expect(text).toContain(`https://eu.posthog.com/project/42/insights?tab=alerts&alert_id=${ALERT_ID}`);
      expect(source.getCalls).toEqual([{ id: ALERT_ID, checksLimit: 20 }]);
      const ts = store.deliveriesFor(id)[0]?.messageTs;
      expect(ts).toBeTruthy();
      expect(store.openEpisodeByMessage(DEFAULT, ts!)).toMatchObject({ alertId: ALERT_ID, repeatCount: 1 });
    });

    it("posts what the webhook carried when PostHog cannot be reached", async () => {
      source.getError = Object.assign(new Error("timeout"), { code: "posthog_request_error" });
      store.enqueueFiring(firing());
      await worker().drain();
      const [post] = poster.posts(DEFAULT);
      expect(textOf(post!)).toContain("less than lower threshold (100)");
      expect(logger.entries.some((e) => e.level === "warn" && e.details.alertId === ALERT_ID)).toBe(true);
    });

    it("updates the message and replies in its thread (not broadcast) when the alert fires again", async () => {
      const w = worker();
      store.enqueueFiring(firing());
      await w.drain();
      const parentTs = store.openEpisode(ALERT_ID, DEFAULT)!.messageTs;
      expect(poster.posts(DEFAULT)).toHaveLength(1);
      clock.t += 60_000;
      store.enqueueFiring(
        firing({ lastCheckedAt: "2025-06-03T01:00:00Z", breaches: "value (30) below 100" }),
      );
      await w.drain();
      const [update] = poster.updates(DEFAULT);
      expect(update).toMatchObject({ channel: DEFAULT, ts: parentTs });
      expect(textOf(update!)).toContain("2 checks in a row");
      expect(textOf(update!)).toContain("value (30) below 100");
      const reply = poster.posts(DEFAULT)[1]!;
      expect(reply).toMatchObject({ thread_ts: parentTs, reply_broadcast: false });
      expect(reply.text).toMatch(/^🔁 Fired again \(check 2 in a row\)/);
      expect(store.openEpisode(ALERT_ID, DEFAULT)).toMatchObject({ repeatCount: 2, messageTs: parentTs });
      // The same check reported again (poll after webhook) is a duplicate and costs nothing.
      expect(
        store.enqueueFiring(
          firing({ source: "poll", eventUuid: null, lastCheckedAt: "2025-06-03T01:00:00.000Z" }),
        ).duplicate,
      ).toBe(true);
      await w.drain();
      expect(poster.calls).toHaveLength(3);
    });

    it("without polling, closes the old message after the new one when a daily alert fires again days later", async () => {
      const w = worker({ closeAfterGap: true });
      store.enqueueFiring(firing());
      await w.drain();
      const parentTs = store.openEpisode(ALERT_ID, DEFAULT)!.messageTs;
      // No poll saw it clear (polling off, say): the next firing comes three checks later.
      store.enqueueFiring(firing({ lastCheckedAt: "2025-06-05T01:00:12Z" }));
      await w.drain();
      const [closed] = poster.updates(DEFAULT);
      expect(closed?.ts).toBe(parentTs);
      expect(textOf(closed!)).toContain("checks since did not fire");
      expect(JSON.stringify(closed?.blocks)).not.toContain("notify_snooze");
      const posts = poster.posts(DEFAULT);
      expect(posts).toHaveLength(2);
      expect(posts[1]?.thread_ts).toBeUndefined();
      // The new message went out before the old one was closed.
      expect(poster.calls.map((c) => c.method)).toEqual(["post", "post", "update"]);
      expect(store.openEpisode(ALERT_ID, DEFAULT)).toMatchObject({ repeatCount: 1 });
      expect(store.openEpisode(ALERT_ID, DEFAULT)?.messageTs).not.toBe(parentTs);
    });

    it("still closes the old message when the new one after a gap had to be tried again", async () => {
      const w = worker({ closeAfterGap: true });
      store.enqueueFiring(firing());
      await w.drain();
      const parentTs = store.openEpisode(ALERT_ID, DEFAULT)!.messageTs;
      store.enqueueFiring(firing({ lastCheckedAt: "2025-06-05T01:00:12Z" }));
      let refused = false;
      poster.respond = (call) => {
        if (call.method !== "post" || refused) return undefined;
        refused = true;
        return { ok: false, kind: "rate_limited", retryAfterMs: 2000 };
      };
      await w.drain();
      expect(poster.calls.map((c) => c.method)).toEqual(["post", "post", "post", "update"]);
      const [closed] = poster.updates(DEFAULT);
      expect(closed?.ts).toBe(parentTs);
      expect(textOf(closed!)).toContain("checks since did not fire");
      expect(store.openEpisode(ALERT_ID, DEFAULT)?.messageTs).not.toBe(parentTs);
    });

    it("keeps the message when a gap is a Slack action's (snoozed meanwhile), or when the bot polls", async () => {
      const w = worker({ closeAfterGap: true });
      store.enqueueFiring(firing());
      await w.drain();
      clock.t = Date.parse("2025-06-02T12:00:00Z");
      store.recordAction({
        alertId: ALERT_ID,
        action: "snooze",
        by: "U0ANN0001",
        snoozedUntil: "2025-06-04T00:00:00Z",
      });
      store.enqueueFiring(firing({ lastCheckedAt: "2025-06-05T01:00:12Z" }));
      await w.drain();
      expect(poster.posts(DEFAULT).filter((p) => !p.thread_ts)).toHaveLength(1);

      const polling = worker({ closeAfterGap: false });
      store.enqueueFiring(firing({ alertId: alertIdFor("polled") }));
      await polling.drain();
      store.enqueueFiring(firing({ alertId: alertIdFor("polled"), lastCheckedAt: "2025-06-09T01:00:12Z" }));
      await polling.drain();
      expect(poster.posts(DEFAULT).filter((p) => !p.thread_ts)).toHaveLength(2);
    });

    it("reads an alert again after forget, so a change just made is not undone by an older read", async () => {
      source.set(makeAlert());
      const w = worker();
      store.enqueueFiring(firing());
      await w.drain();
      expect(source.getCalls).toHaveLength(1);
      // Disabled from Slack a moment later; the alert fires again (a check an hour later).
      source.set(makeAlert({ enabled: false }));
      store.recordAction({ alertId: ALERT_ID, action: "disable", by: "U0ANN0001" });
      w.forget(ALERT_ID);
      clock.t += 1_000;
      store.enqueueFiring(firing({ lastCheckedAt: "2025-06-02T02:00:12Z" }));
      await w.drain();
      expect(source.getCalls).toHaveLength(2);
      expect(textOf(poster.updates(DEFAULT)[0]!)).toContain("Disabled by <@U0ANN0001>");
    });

    it("reads again when a change from Slack lands while a read is in flight, keeping who made it", async () => {
      source.set(makeAlert());
      const w = worker();
      store.enqueueFiring(firing());
      await w.drain();
      // The alert fires again; while the worker's read is in flight, someone disables it from Slack.
      let release: () => void = () => undefined;
      source.getGate = new Promise<void>((resolve) => {
        release = resolve;
      });
      clock.t += 20_000;
      store.enqueueFiring(firing({ lastCheckedAt: "2025-06-02T02:00:12Z" }));
      const drained = w.drain();
      await waitFor(() => source.getCalls.length === 2);
      source.set(makeAlert({ enabled: false }));
      store.recordAction({ alertId: ALERT_ID, action: "disable", by: "U0ANN0001" });
      w.forget(ALERT_ID);
      source.getGate = null;
      release();
      await drained;
      expect(source.getCalls).toHaveLength(3);
      expect(store.openEpisode(ALERT_ID, DEFAULT)).toMatchObject({ enabled: false, disabledBy: "U0ANN0001" });
    });

    it("marks the message resolved and starts a new one when the alert fires again later", async () => {
      const w = worker();
      store.enqueueFiring(firing());
      await w.drain();
      const parentTs = store.openEpisode(ALERT_ID, DEFAULT)!.messageTs;
      store.enqueueResolved({ alertId: ALERT_ID, source: "poll", lastCheckedAt: "2025-06-03T01:00:00Z" });
      await w.drain();
      const [update] = poster.updates(DEFAULT);
      expect(update?.ts).toBe(parentTs);
      expect(update?.text).toMatch(/^✅ Resolved/);
      expect(JSON.stringify(update?.blocks)).not.toContain("notify_snooze");
      expect(store.openEpisode(ALERT_ID, DEFAULT)).toBeNull();
      expect(store.episodeByMessage(DEFAULT, parentTs)?.status).toBe("resolved");

      store.enqueueFiring(firing({ lastCheckedAt: "2025-06-04T01:00:00Z" }));
      await w.drain();
      const posts = poster.posts(DEFAULT);
      expect(posts).toHaveLength(2);
      expect(posts[1]?.thread_ts).toBeUndefined();
      expect(store.openEpisode(ALERT_ID, DEFAULT)?.messageTs).not.toBe(parentTs);
    });

    it("re-renders open messages on refresh after a snooze from Slack", async () => {
      const w = worker();
      store.enqueueFiring(firing());
      await w.drain();
      const until = new Date(clock.now() + 3_600_000).toISOString();
      source.set(makeAlert({ state: "Snoozed", snoozed_until: until }));
      store.recordAction({ alertId: ALERT_ID, action: "snooze", by: "U0AAAAAAA", snoozedUntil: until });
      store.enqueueRefresh({ alertId: ALERT_ID, source: "action" });
      await w.drain();
      const [update] = poster.updates(DEFAULT);
      expect(textOf(update!)).toContain("Snoozed until <!date^");
      expect(textOf(update!)).toContain("by <@U0AAAAAAA>");
      expect(textOf(update!)).toContain("notify_unsnooze");
    });

    it("adds PostHog's breach text to a message the poller posted first, when the webhook brings it", async () => {
      const w = worker();
      store.enqueueFiring(firing({ source: "poll", eventUuid: undefined, breaches: null }));
      await w.drain();
      expect(textOf(poster.posts(DEFAULT)[0]!)).not.toContain("lower threshold");
      expect(store.enqueueFiring(firing()).completed).toBe(true);
      await w.drain();
      const [update] = poster.updates(DEFAULT);
      expect(textOf(update!)).toContain("is less than lower threshold (100)");
    });

    it("shows an edit on refresh: the new name, threshold and frequency, not those of the firing", async () => {
      const w = worker();
      store.enqueueFiring(firing());
      await w.drain();
      source.set(
        makeAlert({
          state: "Firing",
          name: "Signups fell below 80",
          calculation_interval: "hourly",
          threshold: { configuration: { type: "absolute", bounds: { lower: 80, upper: null } } },
        }),
      );
      store.enqueueRefresh({ alertId: ALERT_ID, source: "poll", reason: "changed_in_posthog" });
      await w.drain();
      const text = textOf(poster.updates(DEFAULT).at(-1)!);
      expect(text).toContain("Signups fell below 80");
      expect(text).toContain("below 80");
      expect(text).not.toContain("below 100");
      expect(text).toMatch(/hourly/i);
      expect(text).not.toContain("Signups dropped");
    });

    it("starts a new message when the old one can no longer be edited", async () => {
      const w = worker();
      store.enqueueFiring(firing());
      await w.drain();
      const oldTs = store.openEpisode(ALERT_ID, DEFAULT)!.messageTs;
      poster.respond = (call) =>
        call.method === "update" ? { ok: false, kind: "permanent", error: "message_not_found" } : undefined;
      store.enqueueFiring(firing({ lastCheckedAt: "2025-06-03T01:00:00Z" }));
      await w.drain();
      const posts = poster.posts(DEFAULT);
      expect(posts).toHaveLength(2);
      expect(posts[1]?.thread_ts).toBeUndefined();
      expect(store.openEpisode(ALERT_ID, DEFAULT)?.messageTs).not.toBe(oldTs);
      expect(store.failureSummary().failed).toBe(0);
    });

    it("posts PostHog's test deliveries as standalone test messages", async () => {
      store.enqueueFiring(firing({ isTest: true }));
      await worker().drain();
      expect(poster.posts(DEFAULT)[0]?.text).toMatch(/^🧪 Test notification/);
      expect(store.openEpisode(ALERT_ID, DEFAULT)).toBeNull();
    });
  });

  describe("pacing and errors", () => {
    function fireAlerts(channel: string, count: number, prefix: string) {
      for (let i = 0; i < count; i++) {
        const alertId = alertIdFor(`${prefix}-${i}`);
        store.addRoute(alertId, channel);
        store.enqueueFiring(firing({ alertId, lastCheckedAt: null }));
      }
    }

    it("keeps at least a second between posts in a channel and interleaves channels", async () => {
      fireAlerts(C1, 3, "a");
      fireAlerts(C2, 3, "b");
      const start = clock.now();
      await worker().drain();
      const c1 = poster.posts(C1).map((p) => p.at - start);
      const c2 = poster.posts(C2).map((p) => p.at - start);
      expect(c1).toHaveLength(3);
      expect(c2).toHaveLength(3);
      for (const times of [c1, c2]) {
        for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(1000);
      }
      // Both channels start at once rather than one after the other.
      expect(c1[0]).toBe(0);
      expect(c2[0]).toBe(0);
      const order = poster.posts().map((p) => p.channel);
      expect(order.slice(0, 2).sort()).toEqual([C1, C2]);
      expect(order.slice(2, 4).sort()).toEqual([C1, C2]);
    });

    it("redraws a clicked message before the channel's waiting posts, keeping the pace", async () => {
      store.enqueueFiring(firing());
      const w = worker();
      await w.drain();
      fireAlerts(DEFAULT, 5, "incident");
      const until = new Date(clock.now() + 3_600_000).toISOString();
      source.set(makeAlert({ state: "Snoozed", snoozed_until: until }));
      store.recordAction({ alertId: ALERT_ID, action: "snooze", by: "U0AAAAAAA", snoozedUntil: until });
      store.enqueueRefresh({ alertId: ALERT_ID, source: "action" });
      const before = poster.calls.length;
      await w.drain();
      const calls = poster.calls.slice(before);
      expect(calls.map((c) => c.method)).toEqual(["update", "post", "post", "post", "post", "post"]);
      expect(textOf(calls[0]!.args)).toContain("by <@U0AAAAAAA>");
      for (let i = 1; i < calls.length; i++) {
        expect(calls[i]!.at - calls[i - 1]!.at).toBeGreaterThanOrEqual(1000);
      }
    });

    it("does not let a slow channel hold up another", async () => {
      fireAlerts(C1, 1, "slow");
      fireAlerts(C2, 3, "fast");
      let release: (r: PostResult) => void = () => {};
      poster.respond = (call) =>
        call.args.channel === C1
          ? new Promise<PostResult>((resolve) => {
              release = resolve;
            })
          : undefined;
      const draining = worker().drain();
      await waitFor(() => poster.posts(C2).length === 3);
      expect(store.deliveriesByStatus("sending")).toHaveLength(1);
      release({ ok: true, ts: "slow-ts" });
      await draining;
      expect(store.pendingCount()).toBe(0);
    });

    it("honours Retry-After in every channel: Slack's limits beyond one channel's are the workspace's", async () => {
      fireAlerts(C1, 2, "limited");
      fireAlerts(C2, 2, "free");
      let limited = false;
      poster.respond = (call) => {
        if (call.args.channel === C1 && !limited) {
          limited = true;
          return { ok: false, kind: "rate_limited", retryAfterMs: 30_000 };
        }
        return undefined;
      };
      const start = clock.now();
      await worker().drain();
      const c1 = poster.posts(C1).map((p) => p.at - start);
      expect(c1[0]).toBe(0);
      expect(c1[1]).toBeGreaterThanOrEqual(30_000);
      expect(c1[2]! - c1[1]!).toBeGreaterThanOrEqual(1000);
      // C2's first post had started with C1's; its next one waits for the Retry-After too.
      const c2 = poster.posts(C2).map((p) => p.at - start);
      expect(c2[0]).toBe(0);
      expect(c2[1]).toBeGreaterThanOrEqual(30_000);
      expect(store.pendingCount()).toBe(0);
      expect(store.deliveriesByStatus("sent")).toHaveLength(4);
      // One 429, answered by one wait: no other channel called Slack during it.
      const during = poster.calls.filter((c) => c.at - start > 0 && c.at - start < 30_000);
      expect(during).toEqual([]);
    });

    it("retries network and 5xx errors with growing backoff", async () => {
      let failures = 0;
      poster.respond = () =>
        failures++ < 3 ? { ok: false, kind: "transient", error: "http_503" } : undefined;
      const start = clock.now();
      const { id } = store.enqueueFiring(firing());
      await worker().drain();
      const times = poster.posts(DEFAULT).map((p) => p.at - start);
      expect(times).toEqual([0, 1050, 3050, 7050]);
      expect(store.deliveriesFor(id)[0]).toMatchObject({ status: "sent", attempts: 4 });
    });

    it("caps the backoff", async () => {
      let failures = 0;
      poster.respond = () =>
        failures++ < 12 ? { ok: false, kind: "transient", error: "request_error" } : undefined;
      const start = clock.now();
      store.enqueueFiring(firing());
      await worker().drain();
      const times = poster.posts(DEFAULT).map((p) => p.at - start);
      const gaps = times.slice(1).map((t, i) => t - times[i]!);
      expect(Math.max(...gaps)).toBe(300_000);
      expect(times).toHaveLength(13);
    });

    it("counts a channel as delayed after five tries that met passing errors, and no longer once it gets through", async () => {
      let failures = 0;
      const seen: number[] = [];
      poster.respond = () => {
        seen.push(store.failureSummary().delayedChannels.length);
        return failures++ < 6 ? { ok: false, kind: "transient", error: "http_503" } : undefined;
      };
      store.enqueueFiring(firing());
      await worker().drain();
      // Looked at during each try: from the fifth on, the channel counts as delayed.
      expect(seen).toEqual([0, 0, 0, 0, 1, 1, 1]);
      expect(store.failureSummary().delayedChannels).toEqual([]);
    });

    it("records a permanent error, stops retrying, and tells the default channel once per streak", async () => {
      fireAlerts(C1, 3, "broken");
      poster.respond = (call) =>
        call.args.channel === C1 ? { ok: false, kind: "permanent", error: "not_in_channel" } : undefined;
      await worker().drain();
      expect(poster.posts(C1)).toHaveLength(3); // one try each, no retries
      expect(store.deliveriesByStatus("failed")).toHaveLength(3);
      const notices = poster.posts(DEFAULT);
      expect(notices).toHaveLength(1);
      expect(notices[0]?.text).toContain(`<#${C1}>`);
      expect(notices[0]?.text).toContain("not_in_channel");
      expect(store.failureSummary()).toMatchObject({
        failed: 3,
        failingChannels: [{ channel: C1, lastError: "not_in_channel", failures: 3 }],
      });
      expect(logger.entries.filter((e) => e.level === "error")).toHaveLength(3);

      // The channel works again, then breaks again: a new streak, a new notice.
      poster.respond = undefined;
      fireAlerts(C1, 1, "fixed");
      await worker().drain();
      expect(store.failureSummary().failingChannels).toEqual([]);
      poster.respond = (call) =>
        call.args.channel === C1 ? { ok: false, kind: "permanent", error: "is_archived" } : undefined;
      fireAlerts(C1, 1, "again");
      await worker().drain();
      expect(poster.posts(DEFAULT)).toHaveLength(2);
    });

    it("does not send a notice about the default channel to itself", async () => {
      poster.respond = () => ({ ok: false, kind: "permanent", error: "channel_not_found" });
      store.enqueueFiring(firing());
      await worker().drain();
      expect(poster.calls).toHaveLength(1);
    });
  });

  describe("restarts", () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), "worker-test-"));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it("delivers rows left pending or sending by a crash, once, after reopening the database", async () => {
      const path = join(dir, "bot.db");
      const before = openStore(path, { now: clock.now });
      const sent = before.enqueueFiring(firing({ alertId: alertIdFor("done"), eventUuid: "e-done" }));
      const interrupted = before.enqueueFiring(
        firing({ alertId: alertIdFor("mid-send"), eventUuid: "e-mid" }),
      );
      const waiting = before.enqueueFiring(firing({ alertId: alertIdFor("waiting"), eventUuid: "e-wait" }));
      const unrouted = before.enqueueFiring(
        firing({ alertId: alertIdFor("never-routed"), eventUuid: "e-new" }),
      );
      before.routeNotification(sent.id, [C1]);
      before.routeNotification(interrupted.id, [C2]);
      before.routeNotification(waiting.id, [C1]);
      before.markSent(before.deliveriesFor(sent.id)[0]!.id, "1.0");
      before.claimDelivery(before.deliveriesFor(interrupted.id)[0]!.id); // crashed mid-call
      expect(unrouted.duplicate).toBe(false);
      before.close();

      const after = openStore(path, { now: clock.now });
      try {
        const w = createDeliveryWorker({
          store: after,
          poster,
          source,
          links,
          defaultChannel: DEFAULT,
          logger,
          now: clock.now,
          setTimer: clock.setTimer,
        });
        expect(w.recover()).toBe(1);
        expect(logger.entries.some((e) => e.level === "warn" && e.details.count === 1)).toBe(true);
        await w.drain();
        const alerts = poster.posts().map((p) => p.text);
        // The interrupted one was looked for first (and not found: it never reached Slack).
        expect(poster.lookups).toMatchObject([{ channel: C2 }]);
        expect(poster.posts()).toHaveLength(3);
        expect(poster.posts(C2)).toHaveLength(1);
        expect(poster.posts(C1)).toHaveLength(1);
        expect(poster.posts(DEFAULT)).toHaveLength(1);
        expect(alerts.every((t) => t.includes("Signups dropped"))).toBe(true);
        expect(after.pendingCount()).toBe(0);
      } finally {
        after.close();
      }

      // A second restart finds nothing left to send.
      const again = openStore(path, { now: clock.now });
      try {
        const w = createDeliveryWorker({
          store: again,
          poster,
          source,
          links,
          logger,
          now: clock.now,
          setTimer: clock.setTimer,
        });
        expect(w.recover()).toBe(0);
        await w.drain();
        expect(poster.posts()).toHaveLength(3);
      } finally {
        again.close();
      }
    });
  });

  describe("posting once when an earlier post's outcome is unknown", () => {
    /** The next post fails with `result`; `landed` says Slack kept it all the same. */
    function failNextPost(result: PostResult, landed = false): void {
      let first = true;
      poster.respond = (call) => {
        if (call.method !== "post" || !first) return undefined;
        first = false;
        return { ...result, landed };
      };
    }

    it("an answer lost to a timeout: the retry finds the post in the channel and does not post again", async () => {
      failNextPost({ ok: false, kind: "transient", error: "request_error: timeout" }, true);
      const { id } = store.enqueueFiring(firing());
      await worker().drain();
      expect(poster.posts(DEFAULT)).toHaveLength(1);
      expect(poster.landed).toHaveLength(1);
      const [delivery] = store.deliveriesFor(id);
      expect(delivery).toMatchObject({ status: "sent", messageTs: poster.landed[0]?.ts, attempts: 2 });
      expect(poster.lookups).toEqual([
        { channel: DEFAULT, oldestMs: expect.any(Number), deliveryKey: poster.landed[0]?.key },
      ]);
      expect(poster.lookups[0]?.oldestMs).toBeLessThanOrEqual(poster.posts(DEFAULT)[0]!.at);
      // The message opened its episode, so a repeat threads under it.
      store.enqueueFiring(firing({ lastCheckedAt: "2025-06-02T02:00:00Z" }));
      await worker().drain();
      expect(poster.updates(DEFAULT)[0]?.ts).toBe(poster.landed[0]?.ts);
    });

    it("a fault in recording a post that went out, after many tries, is retried: the post is found, not made twice", async () => {
      // Five rate-limited tries first, so the delivery has used up a fault's usual allowance.
      let limited = 0;
      poster.respond = (call) =>
        call.method === "post" && limited++ < 5
          ? { ok: false, kind: "rate_limited", retryAfterMs: 1000 }
          : undefined;
      // Recording fails three times: after the post, then after each of two tries that find it.
      const record = store.completeOpened.bind(store);
      let faults = 0;
      store.completeOpened = (...args) => {
        if (faults++ < 3) throw new Error("SQLITE_BUSY: database is locked");
        return record(...args);
      };
      const { id } = store.enqueueFiring(firing());
      await worker().drain();
      expect(poster.landed).toHaveLength(1);
      expect(poster.lookups).toHaveLength(3);
      expect(store.deliveriesFor(id)[0]).toMatchObject({
        status: "sent",
        messageTs: poster.landed[0]?.ts,
        attempts: 9,
      });
    });

    it("a post that did not land is looked for, not found, and posted with the same key", async () => {
      let failures = 0;
      poster.respond = (call) =>
        call.method === "post" && failures++ < 2
          ? { ok: false, kind: "transient", error: "http_503" }
          : undefined;
      const { id } = store.enqueueFiring(firing());
      await worker().drain();
      const keys = poster.posts(DEFAULT).map((p) => p.deliveryKey);
      expect(keys).toHaveLength(3);
      expect(new Set(keys).size).toBe(1);
      expect(keys[0]).toMatch(/^[0-9a-f]{16}-\d+$/);
      expect(poster.lookups).toHaveLength(2);
      expect(store.deliveriesFor(id)[0]).toMatchObject({ status: "sent", attempts: 3 });
    });

    it("does not look anything up when the earlier failure proves nothing was posted", async () => {
      failNextPost({ ok: false, kind: "rate_limited", retryAfterMs: 2000 });
      store.enqueueFiring(firing());
      await worker().drain();
      expect(poster.posts(DEFAULT)).toHaveLength(2);
      expect(poster.lookups).toHaveLength(0);
    });

    it("a repeat's thread reply whose answer was lost is looked for in the thread", async () => {
      store.enqueueFiring(firing());
      await worker().drain();
      const parent = poster.landed[0]!.ts;
      failNextPost({ ok: false, kind: "transient", error: "request_error: socket hang up" }, true);
      store.enqueueFiring(firing({ lastCheckedAt: "2025-06-02T02:00:00Z" }));
      await worker().drain();
      const replies = poster.posts(DEFAULT).filter((p) => p.thread_ts === parent);
      expect(replies).toHaveLength(1);
      expect(poster.lookups).toMatchObject([{ channel: DEFAULT, threadTs: parent }]);
      expect(store.openEpisode(ALERT_ID, DEFAULT)).toMatchObject({ repeatCount: 2 });
    });

    it("a lookup Slack cannot answer now is retried later, without posting", async () => {
      poster.respond = (call) =>
        call.method === "post" && poster.landed.length === 0
          ? { ok: false, kind: "transient", error: "request_error", landed: true }
          : undefined;
      let lookupFailures = 0;
      poster.respondFind = () =>
        lookupFailures++ < 2 ? { ok: false, kind: "transient", error: "http_500" } : undefined;
      const { id } = store.enqueueFiring(firing());
      await worker().drain();
      expect(poster.posts(DEFAULT)).toHaveLength(1);
      expect(poster.lookups).toHaveLength(3);
      expect(store.deliveriesFor(id)[0]).toMatchObject({ status: "sent", messageTs: poster.landed[0]?.ts });
    });

    it("without the history scope it posts again and says how to avoid it", async () => {
      failNextPost({ ok: false, kind: "transient", error: "request_error" }, true);
      poster.respondFind = () => ({ ok: false, kind: "permanent", error: "missing_scope" });
      const { id } = store.enqueueFiring(firing());
      await worker().drain();
      expect(poster.posts(DEFAULT)).toHaveLength(2);
      expect(store.deliveriesFor(id)[0]).toMatchObject({ status: "sent", messageTs: poster.landed[1]?.ts });
      const warning = logger.entries.find((e) => e.level === "warn" && e.message?.includes("missing_scope"));
      expect(warning?.message).toContain("channels:history and groups:history");
    });
  });

  describe("restarts after Slack took the post", () => {
    it("records the interrupted post found in the channel and opens its message, posting nothing", async () => {
      const dir = mkdtempSync(join(tmpdir(), "worker-test-"));
      try {
        const path = join(dir, "bot.db");
        const before = openStore(path, { now: clock.now });
        const { id } = before.enqueueFiring(firing());
        before.routeNotification(id, [C1]);
        const deliveryId = before.deliveriesFor(id)[0]!.id;
        before.claimDelivery(deliveryId);
        // Slack kept the post; the process died before it could record the answer.
        const key = `${before.instanceId()}-${deliveryId}`;
        poster.landed.push({ channel: C1, threadTs: undefined, key, ts: "1749000000.000100" });
        // Another install posting in the same channel uses its own instance id.
        poster.landed.push({
          channel: C1,
          threadTs: undefined,
          key: `0000000000000000-${deliveryId}`,
          ts: "9.9",
        });
        before.close();
        clock.t += 5000;

        const after = openStore(path, { now: clock.now });
        try {
          const w = worker({ store: after });
          expect(w.recover()).toBe(1);
          await w.drain();
          expect(poster.posts()).toHaveLength(0);
          expect(after.deliveriesFor(id)[0]).toMatchObject({
            status: "sent",
            messageTs: "1749000000.000100",
          });
          expect(after.openEpisode(ALERT_ID, C1)?.messageTs).toBe("1749000000.000100");
          expect(logger.entries.some((e) => e.message?.includes("had reached Slack"))).toBe(true);
        } finally {
          after.close();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe("background running", () => {
    it("delivers after kick and waits for the call in flight on stop", async () => {
      const w = worker();
      let release: (r: PostResult) => void = () => {};
      poster.respond = () =>
        new Promise<PostResult>((resolve) => {
          release = resolve;
        });
      w.start();
      const { id } = store.enqueueFiring(firing());
      w.kick();
      await waitFor(() => poster.calls.length === 1);
      let stopped = false;
      const stopping = w.stop().then(() => {
        stopped = true;
      });
      for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
      expect(stopped).toBe(false);
      release({ ok: true, ts: "999.1" });
      await stopping;
      expect(store.deliveriesFor(id)[0]).toMatchObject({ status: "sent", messageTs: "999.1" });
    });

    it("re-queues interrupted rows on start and keeps going after a failure", async () => {
      const n = store.enqueueFiring(firing());
      store.routeNotification(n.id, [C1]);
      store.claimDelivery(store.deliveriesFor(n.id)[0]!.id);
      let failures = 0;
      poster.respond = () =>
        failures++ < 1 ? { ok: false, kind: "transient", error: "http_500" } : undefined;
      const w = worker();
      w.start();
      await waitFor(() => store.deliveriesFor(n.id)[0]?.status === "sent");
      await w.stop();
      expect(poster.posts(C1) as PostArgs[]).toHaveLength(2);
    });
  });
});
