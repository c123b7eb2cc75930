import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MIGRATIONS } from "../../../src/store/migrations.js";
import { type EpisodeSnapshot, lazyCommit, openStore, type Store } from "../../../src/store/store.js";
import { toEpochMs, toIsoUtc } from "../../../src/store/time.js";

const ALERT = "0192c0de-7a1b-7c3e-9d2f-4b5a6c7d8e9f";

const snapshot: EpisodeSnapshot = {
  alertName: "Signups dropped",
  insightName: "Daily signups",
  insightShortId: "AaVQ8Ijw",
  breaches: "below 100",
  latestValue: 42,
  latestCheckedAt: "2025-06-02T01:00:12.345678Z",
  details: {
    threshold: { type: "absolute", lower: 100, upper: null },
    condition: null,
    frequency: "daily",
    recentValues: [1, 2],
  },
  snoozedUntil: null,
  enabled: true,
};

/** What the poller remembers of a firing alert last checked at 5 ms past the epoch. */
function firingPollRecord(shownPrint: string) {
  return {
    alertId: ALERT,
    state: "Firing",
    enabled: true,
    snoozedUntilMs: null,
    lastCheckedAtMs: 5,
    shownPrint,
  };
}

describe("toEpochMs", () => {
  it("reads PostHog's offset, Z and naive forms as the same instant", () => {
    const a = toEpochMs("2025-06-02T01:00:12.345678+00:00");
    expect(a).toBe(Date.UTC(2025, 5, 2, 1, 0, 12, 345));
    expect(toEpochMs("2025-06-02T01:00:12.345678Z")).toBe(a);
    expect(toEpochMs("2025-06-02T01:00:12.345678")).toBe(a);
    expect(toEpochMs("2025-06-02T03:00:12.345+02:00")).toBe(a);
    expect(toEpochMs("2025-06-01T20:00:12.345-0500")).toBe(a);
    expect(toEpochMs("2025-06-02T01:00:12Z")).toBe(Date.UTC(2025, 5, 2, 1, 0, 12));
  });

  it("returns null for missing or unreadable values", () => {
    expect(toEpochMs(null)).toBeNull();
    expect(toEpochMs(undefined)).toBeNull();
    expect(toEpochMs("yesterday-ish")).toBeNull();
    expect(toIsoUtc("2025-06-02T01:00:12.345678+00:00")).toBe("2025-06-02T01:00:12.345Z");
  });
});

describe("openStore and migrations", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "store-test-"));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("creates the parent folder, uses WAL, and records the schema version", () => {
    const path = join(dir, "nested", "deeper", "bot.db");
    const store = openStore(path);
    expect(existsSync(path)).toBe(true);
    expect(store.db.pragma("journal_mode", { simple: true })).toBe("wal");
    // FULL: a commit is fsynced before it returns, so an acknowledged webhook survives a power cut.
    expect(store.db.pragma("synchronous", { simple: true })).toBe(2);
    expect(store.db.pragma("busy_timeout", { simple: true })).toBe(5000);
    expect(store.db.pragma("user_version", { simple: true })).toBe(MIGRATIONS.length);
    store.close();
  });

  it("reopens an existing database without re-running migrations and keeps its data", () => {
    const path = join(dir, "bot.db");
    const first = openStore(path);
    const { id } = first.enqueueFiring({ source: "webhook", eventUuid: "u1", alertId: ALERT });
    first.close();
    const second = openStore(path);
    expect(second.getNotification(id)?.eventUuid).toBe("u1");
    expect(second.enqueueFiring({ source: "webhook", eventUuid: "u1", alertId: ALERT })).toEqual({
      id,
      duplicate: true,
    });
    second.close();
  });

  it("commits a change made from Slack without an fsync of its own, and fsyncs again after it", () => {
    const store = openStore(join(dir, "bot.db"));
    const sync = () => store.db.pragma("synchronous", { simple: true });
    // NORMAL (1) inside, FULL (2) after, also when the write throws.
    expect(lazyCommit(store.db, sync)).toBe(1);
    expect(sync()).toBe(2);
    expect(() =>
      lazyCommit(store.db, () => {
        throw new Error("refused");
      }),
    ).toThrow("refused");
    expect(sync()).toBe(2);
    // Inside a caller's transaction the caller's commit decides: the setting is left alone.
    expect(store.db.transaction(() => lazyCommit(store.db, sync))()).toBe(2);

    store.savePollState([firingPollRecord("a")]);
    // What the commit of recordChange ran with, seen from inside its own transaction.
    store.db.exec("CREATE TEMP TABLE seen (level INTEGER)");
    store.db.exec(
      "CREATE TEMP TRIGGER watch AFTER UPDATE ON poll_state BEGIN INSERT INTO seen SELECT synchronous FROM pragma_synchronous; END",
    );
    // With no open message nothing is queued, but the poller still learns what Slack redrew.
    expect(
      store.recordChange({ alertId: ALERT, action: "disable", by: "U1", reason: "edit", shownPrint: "b" }),
    ).toBeNull();
    expect(store.pollState().get(ALERT)).toMatchObject({ shownPrint: "b", enabled: false });
    expect(store.db.prepare("SELECT level FROM seen").pluck().all()).toEqual([1, 1]);
    expect(sync()).toBe(2);
    store.close();
  });

  it("refuses a database written by a newer schema", () => {
    const path = join(dir, "bot.db");
    const raw = new Database(path);
    raw.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    raw.close();
    expect(() => openStore(path)).toThrow(/newer version/);
  });

  it("rolls back a failing migration as a whole", () => {
    const path = join(dir, "bot.db");
    const raw = new Database(path);
    // A table the first migration also creates: the step fails and nothing is kept.
    raw.exec("CREATE TABLE routes (x INTEGER)");
    raw.close();
    expect(() => openStore(path)).toThrow();
    const check = new Database(path);
    expect(check.pragma("user_version", { simple: true })).toBe(0);
    expect(
      check.prepare("SELECT name FROM sqlite_master WHERE name = 'notifications'").get(),
    ).toBeUndefined();
    check.close();
  });

  it("works in memory", () => {
    const store = openStore(":memory:");
    expect(store.pendingCount()).toBe(0);
    store.close();
  });
});

describe("Store", () => {
  let store: Store;
  let t: number;
  beforeEach(() => {
    t = Date.UTC(2025, 5, 2, 12);
    store = openStore(":memory:", { now: () => t });
  });
  afterEach(() => store.close());

  describe("enqueueFiring", () => {
    it("deduplicates by event uuid", () => {
      const a = store.enqueueFiring({
        source: "webhook",
        eventUuid: "u1",
        alertId: ALERT,
        lastCheckedAt: "2025-06-02T01:00:00Z",
      });
      const b = store.enqueueFiring({
        source: "webhook",
        eventUuid: "u1",
        alertId: ALERT,
        lastCheckedAt: "2025-06-03T01:00:00Z",
      });
      expect(a.duplicate).toBe(false);
      expect(b).toEqual({ id: a.id, duplicate: true });
    });

    it("deduplicates two reports of the same check whatever the time format", () => {
      const webhook = store.enqueueFiring({
        source: "webhook",
        eventUuid: "u1",
        alertId: ALERT,
        lastCheckedAt: "2025-06-02T01:00:12.345678+00:00",
        breaches: "below 100",
      });
      const poll = store.enqueueFiring({
        source: "poll",
        alertId: ALERT,
        lastCheckedAt: "2025-06-02T01:00:12.345678Z",
      });
      expect(poll).toEqual({ id: webhook.id, duplicate: true });
      const other = store.enqueueFiring({
        source: "poll",
        alertId: ALERT,
        lastCheckedAt: "2025-06-02T02:00:00Z",
      });
      expect(other.duplicate).toBe(false);
      const otherAlert = store.enqueueFiring({
        source: "poll",
        alertId: "other",
        lastCheckedAt: "2025-06-02T01:00:12.345Z",
      });
      expect(otherAlert.duplicate).toBe(false);
    });

    describe("the breach sentence a webhook brings after the poller", () => {
      const CHECKED = "2025-06-02T01:00:12.345678Z";
      const fromPoll = (checkedAt = CHECKED) =>
        store.enqueueFiring({ source: "poll", alertId: ALERT, lastCheckedAt: checkedAt });
      const fromWebhook = (eventUuid: string, breaches: string, checkedAt = CHECKED) =>
        store.enqueueFiring({
          source: "webhook",
          eventUuid,
          alertId: ALERT,
          lastCheckedAt: checkedAt,
          breaches,
        });
      /** Routes the firing to C1 and claims it, as the worker does before it posts. */
      const claim = (id: number) => {
        store.routeNotification(id, ["C1"]);
        return store.claimDelivery(store.deliveriesFor(id)[0]!.id)!;
      };
      const open = (deliveryId: number, breaches: string | null, checkedAt = CHECKED) =>
        store.completeOpened(deliveryId, {
          alertId: ALERT,
          channel: "C1",
          ts: "ts-1",
          snapshot: { ...snapshot, breaches, latestCheckedAt: checkedAt },
        });

      it("goes to a firing not posted yet, once, with no redraw", () => {
        const poll = fromPoll();
        expect(fromWebhook("u1", "below 100")).toEqual({ id: poll.id, duplicate: true });
        expect(store.getNotification(poll.id)?.payload.breaches).toBe("below 100");
        expect(fromWebhook("u2", "another text")).toEqual({ id: poll.id, duplicate: true });
        expect(store.getNotification(poll.id)?.payload.breaches).toBe("below 100");
      });

      it("goes to a posted message, with a redraw queued", () => {
        const poll = fromPoll();
        const episodeId = open(claim(poll.id).delivery.id, null);
        expect(fromWebhook("u1", "below 100")).toEqual({ id: poll.id, duplicate: true, completed: true });
        expect(store.openEpisode(ALERT, "C1")).toMatchObject({ id: episodeId, breaches: "below 100" });
        expect(store.unroutedNotifications().map((n) => [n.kind, n.alertId])).toEqual([["refresh", ALERT]]);
      });

      it("is kept when it lands while the poller's post is under way, with a redraw after the post", () => {
        const job = claim(fromPoll().id);
        expect(fromWebhook("u1", "below 100")).toMatchObject({ duplicate: true, completed: true });
        open(job.delivery.id, null);
        expect(store.openEpisode(ALERT, "C1")?.breaches).toBe("below 100");
      });

      it("replaces the sentence of an earlier check on a repeat the poller reported", () => {
        const first = "2025-06-02T01:00:00Z";
        const second = "2025-06-02T02:00:00Z";
        const a = store.enqueueFiring({
          source: "webhook",
          eventUuid: "a",
          alertId: ALERT,
          lastCheckedAt: first,
        });
        const episodeId = open(claim(a.id).delivery.id, "value 42 is below 100", first);
        const repeat = claim(fromPoll(second).id);
        // A repeat the poller reported keeps the sentence the message had.
        store.completeRepeated(repeat.delivery.id, {
          episodeId,
          repeatCount: 2,
          replyTs: "ts-2",
          snapshot: {
            ...snapshot,
            breaches: "value 42 is below 100",
            latestValue: 38,
            latestCheckedAt: second,
          },
        });
        expect(fromWebhook("b", "value 38 is below 100", second).completed).toBe(true);
        expect(store.getEpisode(episodeId)?.breaches).toBe("value 38 is below 100");
      });
    });

    it("keeps test events apart from real checks and stores the payload", () => {
      const real = store.enqueueFiring({
        source: "webhook",
        eventUuid: "u1",
        alertId: ALERT,
        lastCheckedAt: "2025-06-02T01:00:00Z",
      });
      const test = store.enqueueFiring({
        source: "webhook",
        eventUuid: "u2",
        alertId: ALERT,
        lastCheckedAt: "2025-06-02T01:00:00Z",
        isTest: true,
        alertName: "Signups",
        channelHint: "C0123ABCDEF",
      });
      expect(test.duplicate).toBe(false);
      expect(test.id).not.toBe(real.id);
      const stored = store.getNotification(test.id);
      expect(stored).toMatchObject({
        kind: "firing",
        isTest: true,
        channelHint: "C0123ABCDEF",
        receivedAt: t,
      });
      expect(stored?.payload.alertName).toBe("Signups");
    });

    it("accepts firings without a uuid or check time (no dedup possible)", () => {
      const a = store.enqueueFiring({ source: "poll", alertId: ALERT });
      const b = store.enqueueFiring({ source: "poll", alertId: ALERT });
      expect(a.duplicate || b.duplicate).toBe(false);
    });
  });

  describe("resolved and refresh", () => {
    it("queues one resolve per clear check, and merges while one is waiting", () => {
      const a = store.enqueueResolved({
        alertId: ALERT,
        source: "poll",
        lastCheckedAt: "2025-06-02T03:00:00Z",
      });
      const b = store.enqueueResolved({
        alertId: ALERT,
        source: "poll",
        lastCheckedAt: "2025-06-02T03:00:00.000+00:00",
      });
      expect(b).toEqual({ id: a.id, duplicate: true });
      const c = store.enqueueResolved({
        alertId: ALERT,
        source: "poll",
        lastCheckedAt: "2025-06-02T04:00:00Z",
      });
      expect(c).toEqual({ id: a.id, duplicate: true }); // still waiting to be routed
      store.routeNotification(a.id, []);
      const d = store.enqueueResolved({
        alertId: ALERT,
        source: "poll",
        lastCheckedAt: "2025-06-02T03:00:00Z",
      });
      expect(d).toEqual({ id: a.id, duplicate: true }); // same check as one already handled
      const e = store.enqueueResolved({
        alertId: ALERT,
        source: "poll",
        lastCheckedAt: "2025-06-02T05:00:00Z",
      });
      expect(e.duplicate).toBe(false);
    });

    it("merges refreshes while one is pending", () => {
      const a = store.enqueueRefresh({ alertId: ALERT, source: "action" });
      expect(store.enqueueRefresh({ alertId: ALERT, source: "poll" })).toEqual({ id: a.id, duplicate: true });
      store.routeNotification(a.id, ["C0123ABCDEF"]);
      expect(store.enqueueRefresh({ alertId: ALERT, source: "poll" })).toEqual({ id: a.id, duplicate: true });
      const job = store.claimDelivery(store.deliveriesFor(a.id)[0]!.id);
      expect(job).not.toBeNull();
      // In flight: a later change needs its own refresh.
      expect(store.enqueueRefresh({ alertId: ALERT, source: "poll" }).duplicate).toBe(false);
    });
  });

  describe("kept notifications and merged resolves", () => {
    it("revive the newest real firing and the newest test delivery of an alert, no older ones", () => {
      const kept = (lastCheckedAt: string, isTest = false) => {
        const n = store.enqueueFiring({
          source: "webhook",
          eventUuid: `u-${lastCheckedAt}-${isTest}`,
          alertId: ALERT,
          lastCheckedAt,
          isTest,
        });
        store.routeNotification(n.id, null);
        return n.id;
      };
      const ids = [
        kept("2025-06-02T01:00:00Z"),
        kept("2025-06-03T01:00:00Z"),
        kept("2025-06-03T02:00:00Z", true),
        kept("2025-06-03T03:00:00Z", true),
      ];
      expect(store.addRoute(ALERT, "C0000000001").rerouted).toBe(2);
      expect(ids.map((id) => store.deliveriesFor(id)[0]?.status)).toEqual([
        "sent",
        "pending",
        "sent",
        "pending",
      ]);
    });

    it("a delete from Slack gives a waiting resolve its reason", () => {
      const cleared = store.enqueueResolved({
        alertId: ALERT,
        source: "poll",
        reason: "cleared",
        lastCheckedAt: "2025-06-03T01:00:00Z",
      });
      expect(
        store.enqueueResolved({ alertId: ALERT, source: "action", reason: "deleted_from_slack" }),
      ).toEqual({ id: cleared.id, duplicate: true });
      expect(store.getNotification(cleared.id)?.payload.reason).toBe("deleted_from_slack");
    });
  });

  describe("refreshes for an alert open in two channels", () => {
    it("are not merged into one that a channel already got", () => {
      const a = store.enqueueRefresh({ alertId: ALERT, source: "action" });
      store.routeNotification(a.id, ["C0000000001", "C0000000002"]);
      const [first] = store.deliveriesFor(a.id);
      store.claimDelivery(first!.id);
      store.markSent(first!.id, "1.000");
      // The second channel's copy still waits (rate limited, say); an undo must still reach the first.
      expect(store.enqueueRefresh({ alertId: ALERT, source: "action" }).duplicate).toBe(false);
    });
  });

  describe("routes", () => {
    it("adds, lists and removes routes", () => {
      expect(store.addRoute(ALERT, "C0000000001", "U1")).toEqual({ added: true, rerouted: 0 });
      expect(store.addRoute(ALERT, "C0000000001", "U1").added).toBe(false);
      t += 1;
      store.addRoute(ALERT, "C0000000002");
      store.addRoute("other", "C0000000001");
      expect(store.routesForAlert(ALERT)).toEqual(["C0000000001", "C0000000002"]);
      expect(store.routesForChannel("C0000000001").map((r) => r.alertId)).toEqual([ALERT, "other"]);
      expect(store.routesForChannel("C0000000001")[0]).toMatchObject({ createdBy: "U1" });
      expect(store.removeRoute(ALERT, "C0000000001")).toBe(true);
      expect(store.removeRoute(ALERT, "C0000000001")).toBe(false);
      expect(store.routesForAlert(ALERT)).toEqual(["C0000000002"]);
    });

    it("sends unrouted deliveries of the alert to a newly added route", () => {
      const { id } = store.enqueueFiring({ source: "webhook", eventUuid: "u1", alertId: ALERT });
      const { id: otherId } = store.enqueueFiring({ source: "webhook", eventUuid: "u2", alertId: "other" });
      store.routeNotification(id, null);
      store.routeNotification(otherId, null);
      expect(store.failureSummary().unrouted).toBe(2);
      expect(store.pendingCount()).toBe(0);
      expect(store.addRoute(ALERT, "C0000000001")).toEqual({ added: true, rerouted: 1 });
      expect(store.deliveriesFor(id)[0]).toMatchObject({ status: "pending", channel: "C0000000001" });
      expect(store.deliveriesFor(otherId)[0]).toMatchObject({ status: "unrouted", channel: null });
      expect(store.pendingCount()).toBe(1);
    });
  });

  describe("delivery queue", () => {
    it("serves each channel first-in first-out and skips busy channels", () => {
      const a = store.enqueueFiring({ source: "webhook", eventUuid: "a", alertId: ALERT });
      const b = store.enqueueFiring({ source: "webhook", eventUuid: "b", alertId: ALERT });
      store.routeNotification(a.id, ["C1", "C2"]);
      store.routeNotification(b.id, ["C1"]);
      const heads = store.channelHeads();
      expect(heads.map((h) => h.channel).sort()).toEqual(["C1", "C2"]);
      const c1Head = heads.find((h) => h.channel === "C1")!;
      expect(store.getDelivery(c1Head.deliveryId)?.notificationId).toBe(a.id);
      const job = store.claimDelivery(c1Head.deliveryId)!;
      expect(job.delivery).toMatchObject({ status: "sending", attempts: 1, channel: "C1" });
      expect(store.claimDelivery(c1Head.deliveryId)).toBeNull();
      // C1 is busy with its head; its second delivery waits behind it.
      expect(store.channelHeads().map((h) => h.channel)).toEqual(["C2"]);
      store.reschedule(job.delivery.id, t + 5000, "http_503");
      expect(store.channelHeads().find((h) => h.channel === "C1")).toMatchObject({
        deliveryId: c1Head.deliveryId,
        nextAttemptAt: t + 5000,
      });
      expect(store.pendingCount()).toBe(3);
    });

    describe("redraws after a click", () => {
      /** Posts alert `alertId`'s message in `channel`, as a delivered firing does. */
      function posted(alertId: string, channel: string): void {
        const n = store.enqueueFiring({ source: "webhook", eventUuid: `posted-${alertId}`, alertId });
        store.routeNotification(n.id, [channel]);
        const job = store.claimDelivery(store.deliveriesFor(n.id)[0]!.id)!;
        store.completeOpened(job.delivery.id, { alertId, channel, ts: `ts-${alertId}`, snapshot });
      }
      /** Queues firings of new alerts in `channel`; returns their delivery ids. */
      function backlog(channel: string, count: number): number[] {
        return Array.from({ length: count }, (_, i) => {
          const n = store.enqueueFiring({ source: "webhook", eventUuid: `b-${i}`, alertId: `waiting-${i}` });
          store.routeNotification(n.id, [channel]);
          return store.deliveriesFor(n.id)[0]!.id;
        });
      }
      function redraw(alertId: string, channel: string): number {
        const n = store.enqueueRefresh({ alertId, source: "action" });
        store.routeNotification(n.id, [channel]);
        return store.deliveriesFor(n.id)[0]!.id;
      }
      const headOf = (channel: string) => store.channelHeads().find((h) => h.channel === channel);

      it("lets a redraw of a posted message go ahead of the channel's waiting posts", () => {
        posted(ALERT, "C1");
        const waiting = backlog("C1", 3);
        const r = redraw(ALERT, "C1");
        expect(headOf("C1")?.deliveryId).toBe(r);
        const job = store.claimDelivery(r)!;
        // The channel is busy while the redraw is sent, so nothing else starts in it.
        expect(headOf("C1")).toBeUndefined();
        store.markSent(job.delivery.id, "ts");
        expect(headOf("C1")?.deliveryId).toBe(waiting[0]);
      });

      it("keeps a redraw in its place while the alert's message is still waiting to be posted", () => {
        const waiting = backlog("C1", 2);
        const n = store.enqueueFiring({ source: "webhook", eventUuid: "first", alertId: ALERT });
        store.routeNotification(n.id, ["C1"]);
        redraw(ALERT, "C1");
        expect(headOf("C1")?.deliveryId).toBe(waiting[0]);
      });

      it("does not go ahead of a post that is due while the redraw itself waits out a backoff", () => {
        posted(ALERT, "C1");
        const waiting = backlog("C1", 1);
        const r = redraw(ALERT, "C1");
        store.claimDelivery(r);
        store.reschedule(r, t + 60_000, "http_503");
        expect(headOf("C1")).toMatchObject({ deliveryId: waiting[0], nextAttemptAt: 0 });
        // A head in backoff no longer holds the redraw up once the redraw is due first.
        store.claimDelivery(waiting[0]!);
        store.reschedule(waiting[0]!, t + 300_000, "http_503");
        expect(headOf("C1")).toMatchObject({ deliveryId: r, nextAttemptAt: t + 60_000 });
      });

      it("moves only the redraw's own channel", () => {
        posted(ALERT, "C1");
        const c2 = backlog("C2", 3);
        const r = redraw(ALERT, "C1");
        expect(Object.fromEntries(store.channelHeads().map((h) => [h.channel, h.deliveryId]))).toEqual({
          C1: r,
          C2: c2[0],
        });
      });
    });

    it("puts deliveries interrupted mid-send back in the queue", () => {
      const a = store.enqueueFiring({ source: "webhook", eventUuid: "a", alertId: ALERT });
      store.routeNotification(a.id, ["C1"]);
      const job = store.claimDelivery(store.deliveriesFor(a.id)[0]!.id)!;
      expect(store.requeueInterrupted()).toBe(1);
      expect(store.getDelivery(job.delivery.id)?.status).toBe("pending");
      expect(store.requeueInterrupted()).toBe(0);
    });
  });

  describe("episodes and actions", () => {
    function openOne(channel = "C1"): number {
      const n = store.enqueueFiring({ source: "webhook", eventUuid: `e-${channel}`, alertId: ALERT });
      store.routeNotification(n.id, [channel]);
      const job = store.claimDelivery(store.deliveriesFor(n.id)[0]!.id)!;
      return store.completeOpened(job.delivery.id, {
        alertId: ALERT,
        channel,
        ts: `ts-${channel}`,
        snapshot,
      });
    }

    it("opens an episode with the delivery, finds it by message, and closes it on resolve", () => {
      const id = openOne();
      const episode = store.openEpisodeByMessage("C1", "ts-C1");
      expect(episode).toMatchObject({
        id,
        alertId: ALERT,
        repeatCount: 1,
        latestValue: 42,
        status: "firing",
      });
      expect(episode?.details.threshold).toEqual({ type: "absolute", lower: 100, upper: null });
      expect(store.openEpisode(ALERT, "C1")?.id).toBe(id);
      expect(store.activeChannelsForAlert(ALERT)).toEqual(["C1"]);
      const r = store.enqueueResolved({ alertId: ALERT, source: "poll" });
      store.routeNotification(r.id, ["C1"]);
      const job = store.claimDelivery(store.deliveriesFor(r.id)[0]!.id)!;
      store.completeResolved(job.delivery.id, id, null);
      expect(store.openEpisodeByMessage("C1", "ts-C1")).toBeNull();
      expect(store.episodeByMessage("C1", "ts-C1")?.status).toBe("resolved");
      expect(store.getDelivery(job.delivery.id)).toMatchObject({ status: "sent", messageTs: "ts-C1" });
    });

    it("records Slack actions on every open message of the alert and in the poller's memory", () => {
      openOne("C1");
      openOne("C2");
      store.savePollState([
        {
          alertId: ALERT,
          state: "Firing",
          enabled: true,
          snoozedUntilMs: null,
          lastCheckedAtMs: null,
          shownPrint: null,
        },
      ]);
      const until = "2025-06-02T13:00:00.000Z";
      const snoozed = store.recordAction({
        alertId: ALERT,
        action: "snooze",
        by: "U123",
        snoozedUntil: until,
      });
      expect(snoozed.map((e) => [e.channel, e.snoozedUntil, e.snoozedBy])).toEqual([
        ["C1", until, "U123"],
        ["C2", until, "U123"],
      ]);
      expect(store.pollState().get(ALERT)?.snoozedUntilMs).toBe(Date.parse(until));
      const disabled = store.recordAction({ alertId: ALERT, action: "disable", by: "U456" });
      expect(disabled[0]).toMatchObject({ enabled: false, disabledBy: "U456", snoozedBy: "U123" });
      expect(store.pollState().get(ALERT)?.enabled).toBe(false);
      store.recordAction({ alertId: ALERT, action: "unsnooze", by: "U123" });
      const enabled = store.recordAction({ alertId: ALERT, action: "enable", by: "U456" });
      expect(enabled[0]).toMatchObject({
        enabled: true,
        disabledBy: null,
        snoozedUntil: null,
        snoozedBy: null,
      });
    });

    it("names who snoozed or disabled from Slack on a message opened after, showing the same snooze", () => {
      openOne("C1");
      store.recordAction({
        alertId: ALERT,
        action: "snooze",
        by: "U123",
        snoozedUntil: "2025-06-02T13:00:00.000Z",
      });
      store.recordAction({ alertId: ALERT, action: "disable", by: "U456" });
      /** A message posted in `channel` after the action, drawn from PostHog's alert. */
      const openAfter = (channel: string, snoozedUntil: string) => {
        const n = store.enqueueFiring({ source: "webhook", eventUuid: `later-${channel}`, alertId: ALERT });
        store.routeNotification(n.id, [channel]);
        const job = store.claimDelivery(store.deliveriesFor(n.id)[0]!.id)!;
        store.completeOpened(job.delivery.id, {
          alertId: ALERT,
          channel,
          ts: `ts-${channel}`,
          snapshot: { ...snapshot, snoozedUntil, enabled: false },
        });
        return store.openEpisode(ALERT, channel);
      };
      // The same snooze, in PostHog's own format.
      expect(openAfter("C2", "2025-06-02T13:00:00.000000+00:00")).toMatchObject({
        snoozedBy: "U123",
        disabledBy: "U456",
      });
      // Another snooze (set in PostHog since): not the Slack user's.
      expect(openAfter("C3", "2025-06-03T09:00:00Z")).toMatchObject({ snoozedBy: null, disabledBy: "U456" });
    });

    it("records a change from Slack and queues its redraw in one step, merging a burst of them", () => {
      const until = "2025-06-02T13:00:00.000Z";
      // No open message: nothing is recorded on a message, nothing queued.
      expect(
        store.recordChange({
          alertId: ALERT,
          action: "snooze",
          by: "U1",
          snoozedUntil: until,
          reason: "snooze",
        }),
      ).toBeNull();
      expect(store.unroutedNotifications()).toEqual([]);

      openOne("C1");
      openOne("C2");
      const first = store.recordChange({
        alertId: ALERT,
        action: "snooze",
        by: "U1",
        snoozedUntil: until,
        reason: "snooze",
      });
      expect(first).toMatchObject({ duplicate: false });
      expect(store.openEpisodesForAlert(ALERT).map((e) => [e.channel, e.snoozedUntil, e.snoozedBy])).toEqual([
        ["C1", until, "U1"],
        ["C2", until, "U1"],
      ]);
      // A second click before the redraw went out is recorded, and rides on the same redraw.
      const second = store.recordChange({ alertId: ALERT, action: "disable", by: "U2", reason: "disable" });
      expect(second).toEqual({ id: first?.id, duplicate: true });
      expect(store.openEpisode(ALERT, "C2")).toMatchObject({ enabled: false, disabledBy: "U2" });
      // A change the messages only redraw records nothing.
      expect(store.recordChange({ alertId: ALERT, action: null, by: "U3", reason: "refresh" })).toEqual(
        second,
      );
      expect(store.openEpisode(ALERT, "C1")).toMatchObject({ snoozedBy: "U1", disabledBy: "U2" });
      expect(store.getNotification(first?.id ?? 0)).toMatchObject({ kind: "refresh", alertId: ALERT });

      // A delete closes the messages instead.
      const closed = store.recordChange({
        alertId: ALERT,
        action: null,
        by: "U1",
        close: true,
        reason: "deleted_from_slack",
      });
      expect(closed).toMatchObject({ duplicate: false });
      expect(store.getNotification(closed?.id ?? 0)).toMatchObject({
        kind: "resolved",
        payload: { reason: "deleted_from_slack" },
      });
    });

    it("keeps who undid a snooze or disable, and claims no undo, nor moves a 'by', for a click that changed nothing", () => {
      openOne();
      const ep = () => store.openEpisode(ALERT, "C1");
      store.recordAction({ alertId: ALERT, action: "enable", by: "U999" });
      store.recordAction({ alertId: ALERT, action: "unsnooze", by: "U999" });
      expect(ep()).toMatchObject({ undone: null });
      store.recordAction({ alertId: ALERT, action: "disable", by: "U456" });
      store.recordAction({ alertId: ALERT, action: "disable", by: "U999" });
      expect(ep()).toMatchObject({ enabled: false, disabledBy: "U456" });
      store.recordAction({ alertId: ALERT, action: "enable", by: "U123" });
      expect(ep()).toMatchObject({ undone: { action: "enable", by: "U123" } });
      store.recordAction({
        alertId: ALERT,
        action: "snooze",
        by: "U123",
        snoozedUntil: "2025-06-02T13:00:00.000Z",
      });
      expect(ep()).toMatchObject({ undone: null });
      store.recordAction({ alertId: ALERT, action: "unsnooze", by: "U777" });
      expect(ep()).toMatchObject({ undone: { action: "unsnooze", by: "U777" }, snoozedUntil: null });
    });

    it("keeps who acted when PostHog agrees, and forgets it when PostHog changed", () => {
      openOne();
      const until = "2025-06-02T13:00:00.000Z";
      store.recordAction({ alertId: ALERT, action: "snooze", by: "U123", snoozedUntil: until });
      store.syncEpisodeState(ALERT, { snoozedUntil: "2025-06-02T13:00:00Z", enabled: true });
      expect(store.openEpisode(ALERT, "C1")).toMatchObject({ snoozedBy: "U123" });
      store.syncEpisodeState(ALERT, { snoozedUntil: "2025-06-03T09:00:00Z", enabled: false });
      expect(store.openEpisode(ALERT, "C1")).toMatchObject({
        snoozedUntil: "2025-06-03T09:00:00Z",
        snoozedBy: null,
        enabled: false,
        disabledBy: null,
      });
    });

    it("takes each ended snooze once, across channels, and counts an ended time from PostHog as none", () => {
      openOne("C1");
      openOne("C2");
      const until = "2025-06-02T13:00:00.000Z";
      store.recordAction({ alertId: ALERT, action: "snooze", by: "U123", snoozedUntil: until });
      t = Date.parse(until) - 1;
      expect(store.takeEndedSnoozes()).toEqual([]);
      expect(store.openEpisode(ALERT, "C1")).toMatchObject({ snoozedUntil: until, snoozedBy: "U123" });
      t = Date.parse(until);
      // Named once although two channels show it, and only once.
      expect(store.takeEndedSnoozes()).toEqual([ALERT]);
      expect(store.openEpisode(ALERT, "C2")).toMatchObject({ snoozedUntil: null, snoozedBy: null });
      expect(store.takeEndedSnoozes()).toEqual([]);
      // PostHog may keep the old time after it passes: that counts as no snooze.
      store.syncEpisodeState(ALERT, { snoozedUntil: "2025-06-02T13:00:00Z", enabled: true });
      expect(store.openEpisode(ALERT, "C1")).toMatchObject({ snoozedUntil: null });
      expect(store.takeEndedSnoozes()).toEqual([]);
    });

    it("counts repeats on the episode", () => {
      const id = openOne();
      const n = store.enqueueFiring({ source: "webhook", eventUuid: "again", alertId: ALERT });
      store.routeNotification(n.id, ["C1"]);
      const job = store.claimDelivery(store.deliveriesFor(n.id)[0]!.id)!;
      store.completeRepeated(job.delivery.id, {
        episodeId: id,
        repeatCount: 2,
        replyTs: "reply-1",
        snapshot: { ...snapshot, latestValue: 40, latestCheckedAt: "2025-06-03T01:00:00Z" },
      });
      expect(store.getEpisode(id)).toMatchObject({
        repeatCount: 2,
        latestValue: 40,
        latestCheckedMs: Date.parse("2025-06-03T01:00:00Z"),
        firstCheckedAt: snapshot.latestCheckedAt,
      });
    });
  });

  describe("channel health", () => {
    it("reports the first failure of a streak once, and starts a new streak after a success", () => {
      expect(store.recordChannelFailure("C1", "not_in_channel").firstOfStreak).toBe(true);
      expect(store.recordChannelFailure("C1", "not_in_channel").firstOfStreak).toBe(false);
      expect(store.failureSummary().failingChannels).toEqual([
        { channel: "C1", lastError: "not_in_channel", lastErrorAt: t, failures: 2 },
      ]);
      const n = store.enqueueNotice("C1", "hello");
      store.routeNotification(n.id, ["C1"]);
      const job = store.claimDelivery(store.deliveriesFor(n.id)[0]!.id)!;
      store.markSent(job.delivery.id, "ts");
      expect(store.failureSummary().failingChannels).toEqual([]);
      expect(store.recordChannelFailure("C1", "is_archived").firstOfStreak).toBe(true);
    });

    it("summarises failed, unrouted and pending work", () => {
      const a = store.enqueueFiring({ source: "webhook", eventUuid: "a", alertId: ALERT });
      const b = store.enqueueFiring({ source: "webhook", eventUuid: "b", alertId: ALERT });
      store.enqueueFiring({ source: "webhook", eventUuid: "c", alertId: ALERT });
      store.routeNotification(a.id, ["C1"]);
      store.routeNotification(b.id, null);
      store.markFailed(store.deliveriesFor(a.id)[0]!.id, "channel_not_found");
      expect(store.failureSummary()).toMatchObject({ failed: 1, unrouted: 1, pending: 1 });
    });
  });

  describe("poll state", () => {
    it("has no baseline until the first save, then remembers what it saw", () => {
      expect(store.hasPollBaseline()).toBe(false);
      store.savePollState([]);
      expect(store.hasPollBaseline()).toBe(true);
      store.savePollState([firingPollRecord("k3x9")]);
      expect(store.pollState().get(ALERT)).toEqual({
        alertId: ALERT,
        shownPrint: "k3x9",
        state: "Firing",
        enabled: true,
        snoozedUntilMs: null,
        lastCheckedAtMs: 5,
      });
      store.savePollState([]);
      expect(store.pollState().size).toBe(0);
    });
  });

  it("prunes finished history but never waiting work", () => {
    const done = store.enqueueFiring({ source: "webhook", eventUuid: "done", alertId: ALERT });
    const waiting = store.enqueueFiring({ source: "webhook", eventUuid: "waiting", alertId: ALERT });
    const unrouted = store.enqueueFiring({ source: "webhook", eventUuid: "unrouted", alertId: ALERT });
    store.routeNotification(done.id, ["C1"]);
    store.routeNotification(waiting.id, ["C2"]);
    store.routeNotification(unrouted.id, null);
    store.markSent(store.deliveriesFor(done.id)[0]!.id, "ts");
    t += 1000;
    expect(store.prune(t).notifications).toBe(1);
    expect(store.getNotification(done.id)).toBeNull();
    expect(store.getNotification(waiting.id)).not.toBeNull();
    expect(store.getNotification(unrouted.id)).not.toBeNull();
  });
});
