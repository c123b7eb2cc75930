import type { PostHogLinks } from "../alerts/describe.js";
import type { SlackMessage } from "../blocks/common.js";
import {
  buildDeliveryFailureNotice,
  buildNotificationMessage,
  buildRepeatReply,
  type NotificationView,
} from "../blocks/notification.js";
import type { Alert } from "../posthog/schemas.js";
import { MESSAGE_GONE_ERRORS, type PostArgs, type PostResult, type SlackPoster } from "../slack/poster.js";
import type { DeliveryJob, EpisodeRecord, RoutingItem, Store } from "../store/store.js";
import { type AlertSource, describeError, type Logger, realTimer, type SetTimer } from "./ports.js";
import { aboutAlert, firedAfterAGap, resolvedNote, snapshotOf, viewFromEpisode, viewOf } from "./render.js";

/**
 * Delivers queued notifications to Slack.
 *
 * - Routing: a firing goes to the channels watching its alert
 *   (`/alerts watch`), else to the channel named in the webhook URL, else to
 *   the default channel; with none of those it is kept as `unrouted` until a
 *   route is added. Resolves and refreshes go where the alert's message is.
 * - Ordering: each channel is a first-in first-out queue, worked one
 *   delivery at a time, so a message's update never overtakes its post.
 *   One exception: the redraw of a message already posted (after a click,
 *   a change seen by the poller, a snooze ending) goes ahead of the
 *   channel's waiting posts; it draws what is recorded when it runs, so only
 *   its wait changes (see `Store.channelHeads`).
 *   Channels are independent: a slow or failing one holds up no other.
 * - Pacing: at most one delivery per `channelIntervalMs` (1.05 s) per channel,
 *   counted from the moment the Slack call starts (not from the PostHog
 *   lookup before it), with a 5% margin for network jitter.
 *   A delivery makes at most one chat.postMessage (a repeat firing is a
 *   chat.update of the parent plus one thread reply), which keeps within
 *   Slack's one message per second per channel. Since that pacing keeps each
 *   channel within its own limit, a 429 means a limit shared by the whole
 *   workspace (Slack counts per method, per workspace, per app): its
 *   Retry-After pauses every channel, so one 429 is answered by one wait,
 *   not by each channel finding the limit for itself.
 * - Retries: network and 5xx errors back off exponentially (1 s doubling
 *   to 5 min) and are retried until they succeed. Permanent Slack errors
 *   are recorded and not retried; the default channel hears about it once
 *   per failure streak of another channel.
 * - Once: a delivery is marked `sending` before the Slack call and `sent`
 *   (with the message ts) right after, in the same transaction as the
 *   episode change. Every post carries a key (this database's id plus the
 *   delivery id) in its message metadata. When a post's outcome is unknown
 *   (the process stopped mid-call, leaving the row `sending`, or the answer
 *   was lost to a timeout or a 5xx), the delivery is marked unsure, and its
 *   next attempt first reads the channel (or the thread) since the attempt
 *   for a message with that key: found, it is recorded as sent; not found,
 *   it is posted. Only when Slack refuses that read (no history scope) is it
 *   posted again blind, with a warning, so nothing is ever lost.
 */

export interface DeliveryWorkerOptions {
  store: Store;
  poster: SlackPoster;
  source: AlertSource;
  links: PostHogLinks;
  /** Builds a message from a view; defaults to the standard notification message. */
  render?: (view: NotificationView) => SlackMessage;
  /** ALERTS_CHANNEL: where alerts with no route go, and where delivery problems are reported. */
  defaultChannel?: string | undefined;
  logger: Logger;
  now?: () => number;
  setTimer?: SetTimer;
  channelIntervalMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** How long a fetched alert is reused across the channels of one firing. */
  alertCacheMs?: number;
  /**
   * Close an open message when the alert fires again after a gap of checks that
   * did not fire (see firedAfterAGap). For a bot that does not poll: otherwise
   * the poller resolves messages, and its firings do not move a message's check.
   */
  closeAfterGap?: boolean;
}

export interface DeliveryWorker {
  /** Something was queued: look at the queue now (when started). */
  kick(): void;
  /** Drops what the worker last read of an alert: it was just changed, so read it again. */
  forget(alertId: string): void;
  /** Re-queues deliveries interrupted by a crash, then works the queue in the background. */
  start(): void;
  /** Stops taking new work and waits for the calls in flight to finish and be recorded. */
  stop(): Promise<void>;
  /** Works the queue until nothing is waiting (tests; uses the injected timer to wait for due times). */
  drain(): Promise<void>;
  /** Puts deliveries left `sending` by a previous process back in the queue; returns how many. */
  recover(): number;
}

/** Attempts a delivery gets when the bot itself fails to make it (not Slack). */
const MAX_INTERNAL_ATTEMPTS = 5;
/** The same once a post was sent: with the backoff, about an hour for the fault to pass. */
const MAX_INTERNAL_ATTEMPTS_AFTER_POST = 20;
/** The least time between Slack answering one call and the next call to the same channel. */
const ANSWER_GAP_MS = 1000;
/** How often an idle worker looks at the queue anyway. */
const IDLE_RECHECK_MS = 30_000;
/** Finished history kept for the record. */
const RETENTION_MS = 30 * 24 * 60 * 60 * 1000;

type Outcome = { ok: true; called: boolean } | Exclude<PostResult, { ok: true }>;

export function createDeliveryWorker(options: DeliveryWorkerOptions): DeliveryWorker {
  const { store, source, links, logger } = options;
  /**
   * When the latest Slack call for each channel started and was answered. Slack counts
   * arrivals; a busy event loop can send one call late and the next on time, so the next
   * call waits for both a full gap after the start and a second after the answer.
   */
  const callStarted = new Map<string, number>();
  const callAnswered = new Map<string, number>();
  const timed = (channel: string, call: () => Promise<PostResult>) => {
    callStarted.set(channel, now());
    return call().finally(() => callAnswered.set(channel, now()));
  };
  const poster: SlackPoster = {
    post: (args) => timed(args.channel, () => options.poster.post(args)),
    update: (args) => timed(args.channel, () => options.poster.update(args)),
    findPosted: (args) => options.poster.findPosted(args),
  };
  const instanceId = store.instanceId();
  /** Deliveries whose current attempt has sent a post, answered or not. */
  const postTried = new Set<number>();
  let kickQueued = false;
  const render = options.render ?? buildNotificationMessage;
  const now = options.now ?? Date.now;
  const setTimer = options.setTimer ?? realTimer;
  const gapMs = options.channelIntervalMs ?? 1050;
  const backoffBaseMs = options.backoffBaseMs ?? 1000;
  const backoffMaxMs = options.backoffMaxMs ?? 5 * 60 * 1000;
  const alertCacheMs = options.alertCacheMs ?? 10_000;
  const defaultChannel = options.defaultChannel || undefined;
  const closeAfterGap = options.closeAfterGap ?? false;

  const busy = new Set<string>();
  const inFlight = new Set<Promise<void>>();
  /** Per channel: no delivery starts before this time (pacing and Retry-After). */
  const notBefore = new Map<string, number>();
  /** Every channel: no delivery starts before this time (a 429's Retry-After). */
  let allNotBefore = 0;
  const alertCache = new Map<string, { at: number; alert: Alert | null }>();
  /** Bumped by forget(): a read that began before a change made from Slack may predate it. */
  const changes = new Map<string, number>();
  let running = false;
  let cancelTimer: (() => void) | null = null;

  // ---- routing ------------------------------------------------------------

  /** Notifications routed per transaction. */
  const ROUTE_BATCH = 100;
  /** The least time between two "no channel" warnings about one alert. */
  const UNROUTED_WARNING_MS = 60_000;
  /** Per alert: when the "no channel" warning was last logged, and notifications kept unrouted since. */
  const unroutedWarned = new Map<string, { at: number; since: number }>();

  /**
   * Says, at most once per alert per `UNROUTED_WARNING_MS`, that an alert fired
   * with nowhere to go, with how many of its notifications were kept since the
   * last time it was said.
   */
  function warnUnroutable(n: RoutingItem): void {
    const t = now();
    const seen = unroutedWarned.get(n.alertId);
    if (seen && t - seen.at < UNROUTED_WARNING_MS) {
      seen.since += 1;
      return;
    }
    const count = (seen?.since ?? 0) + 1;
    unroutedWarned.set(n.alertId, { at: t, since: 0 });
    if (unroutedWarned.size > 1000) {
      for (const [key, entry] of unroutedWarned) {
        if (t - entry.at >= UNROUTED_WARNING_MS && entry.since === 0) unroutedWarned.delete(key);
      }
    }
    // The name is only read for the warning, so routing itself never parses a payload.
    const alertName = store.getNotification(n.id)?.payload.alertName ?? null;
    logger.warn(
      { alertId: n.alertId, alertName, notificationId: n.id, count },
      `Alert "${alertName ?? n.alertId}" fired but no Slack channel is set up for it` +
        (count > 1 ? ` (${count} notifications kept since the last warning)` : "") +
        ": run /alerts watch in a channel, add ?channel=C… to the webhook URL, or set ALERTS_CHANNEL. " +
        "The notifications are kept and will be delivered once a channel watches this alert. " +
        "This warning repeats at most once a minute per alert.",
    );
  }

  /** `watching` caches the alert's routes for one batch (a burst repeats the same few alerts). */
  function channelsFor(n: RoutingItem, watching: Map<string, string[]>): string[] | null {
    switch (n.kind) {
      case "notice":
        return n.channelHint ? [n.channelHint] : [];
      case "resolved":
      case "refresh":
        return store.activeChannelsForAlert(n.alertId);
      case "firing": {
        let routes = watching.get(n.alertId);
        if (!routes) {
          routes = store.routesForAlert(n.alertId);
          watching.set(n.alertId, routes);
        }
        if (routes.length > 0) return routes;
        if (n.channelHint) return [n.channelHint];
        if (defaultChannel) return [defaultChannel];
        warnUnroutable(n);
        return null;
      }
    }
  }

  function routeNew(): void {
    for (;;) {
      const batch = store.unroutedForRouting(ROUTE_BATCH);
      if (batch.length > 0) {
        const watching = new Map<string, string[]>();
        store.routeNotifications(batch.map((n) => ({ id: n.id, channels: channelsFor(n, watching) })));
      }
      if (batch.length < ROUTE_BATCH) return;
    }
  }

  // ---- the queue ----------------------------------------------------------

  /** Routes new work and starts every channel whose head is due. Returns the next due time, if any. */
  function pump(): number | null {
    routeNew();
    const t = now();
    let next: number | null = null;
    for (const head of store.channelHeads()) {
      if (busy.has(head.channel)) continue;
      const due = Math.max(head.nextAttemptAt, notBefore.get(head.channel) ?? 0, allNotBefore);
      if (due <= t) launch(head.channel, head.deliveryId);
      else next = next === null ? due : Math.min(next, due);
    }
    return next;
  }

  function launch(channel: string, deliveryId: number): void {
    busy.add(channel);
    const task: Promise<void> = processDelivery(channel, deliveryId)
      .catch((error) => {
        logger.error({ channel, deliveryId, error: describeError(error) }, "Notification delivery crashed");
        // Do not leave the channel's queue stuck behind a row marked `sending`.
        try {
          if (store.getDelivery(deliveryId)?.status === "sending") {
            store.reschedule(deliveryId, now() + backoffMaxMs, "internal_error");
          }
        } catch {
          // The store itself is failing; the row is re-queued on the next start.
        }
      })
      .finally(() => {
        busy.delete(channel);
        inFlight.delete(task);
        if (running) schedule();
      });
    inFlight.add(task);
  }

  function schedule(): void {
    if (!running) return;
    cancelTimer?.();
    cancelTimer = null;
    let next: number | null;
    try {
      next = pump();
    } catch (error) {
      logger.error(
        { error: describeError(error) },
        "Could not read the notification queue; trying again shortly",
      );
      next = now() + 5000;
    }
    const wait = next === null ? IDLE_RECHECK_MS : Math.min(IDLE_RECHECK_MS, Math.max(0, next - now()));
    cancelTimer = setTimer(schedule, wait);
  }

  function pace(channel: string, until: number): void {
    notBefore.set(channel, Math.max(notBefore.get(channel) ?? 0, until));
  }

  async function processDelivery(channel: string, deliveryId: number): Promise<void> {
    const job = store.claimDelivery(deliveryId);
    if (!job) return;
    callStarted.delete(channel);
    callAnswered.delete(channel);
    let outcome: Outcome;
    try {
      outcome = await deliver(job);
    } catch (error) {
      // A fault of the bot's own (not Slack's) may be a passing database hiccup, or a
      // notification it cannot render: a few tries, then it is recorded as failed so it
      // cannot hold up the channel's later notifications for ever. After a post went out it
      // gets longer: Slack may hold the message (the fault came in recording it), and only a
      // retry looks for it there and records it, so that the next firing updates it instead
      // of posting a second one.
      // (A post this try, or one an earlier try left unsure: this try found it in the channel.)
      const posted = postTried.has(deliveryId) || job.delivery.unsureSince !== null;
      const limit = posted ? MAX_INTERNAL_ATTEMPTS_AFTER_POST : MAX_INTERNAL_ATTEMPTS;
      outcome = {
        ok: false,
        kind: job.delivery.attempts >= limit ? "permanent" : "transient",
        error: `internal_error: ${describeError(error)}`.slice(0, 300),
      };
    }
    const triedPost = postTried.delete(deliveryId);
    const started = callStarted.get(channel);
    if (started !== undefined) {
      pace(
        channel,
        Math.max(started + gapMs, (callAnswered.get(channel) ?? started) + Math.min(ANSWER_GAP_MS, gapMs)),
      );
    }
    if (outcome.ok) return;
    settleFailure(job, outcome, triedPost);
  }

  function settleFailure(
    job: DeliveryJob,
    outcome: Exclude<PostResult, { ok: true }>,
    triedPost: boolean,
  ): void {
    const { delivery, notification } = job;
    const context = {
      deliveryId: delivery.id,
      notificationId: notification.id,
      kind: notification.kind,
      alertId: notification.alertId || undefined,
      channel: delivery.channel,
      attempt: delivery.attempts,
    };
    if (outcome.kind === "rate_limited") {
      const until = now() + outcome.retryAfterMs;
      allNotBefore = Math.max(allNotBefore, until);
      store.reschedule(
        delivery.id,
        until,
        `ratelimited: retry after ${Math.ceil(outcome.retryAfterMs / 1000)} s`,
      );
      logger.warn(
        { ...context, retryAfterMs: outcome.retryAfterMs },
        "Slack rate-limited the bot; every channel waits for its Retry-After",
      );
      return;
    }
    if (outcome.kind === "transient") {
      const delay = Math.min(backoffBaseMs * 2 ** Math.max(0, delivery.attempts - 1), backoffMaxMs);
      // A post that failed this way may have reached Slack all the same (a timeout, a 5xx).
      store.reschedule(delivery.id, now() + delay, outcome.error, triedPost);
      logger.warn({ ...context, error: outcome.error, retryInMs: delay }, "Slack call failed; will retry");
      return;
    }
    store.markFailed(delivery.id, outcome.error);
    const { firstOfStreak } = store.recordChannelFailure(delivery.channel, outcome.error);
    logger.error(
      { ...context, error: outcome.error },
      `Slack refused a notification for channel ${delivery.channel} (${outcome.error}); not retrying it`,
    );
    if (
      firstOfStreak &&
      defaultChannel &&
      delivery.channel !== defaultChannel &&
      notification.kind !== "notice"
    ) {
      const notice = buildDeliveryFailureNotice({
        channel: delivery.channel,
        error: outcome.error,
        alertName: notification.payload.alertName,
      });
      store.enqueueNotice(defaultChannel, notice.text, notification.alertId);
    }
  }

  // ---- deliveries ---------------------------------------------------------

  /**
   * The alert as PostHog has it now (or null when PostHog cannot say), with
   * its snooze and enabled state, name and rule copied onto the open messages' records.
   */
  async function fetchAlert(alertId: string, fresh: boolean): Promise<Alert | null> {
    const alert = await readAlert(alertId, fresh);
    if (alert) {
      store.syncEpisodeState(alertId, {
        snoozedUntil: alert.snoozed_until,
        enabled: alert.enabled,
        about: aboutAlert(alert),
      });
    }
    return alert;
  }

  async function readAlert(alertId: string, fresh: boolean): Promise<Alert | null> {
    const cached = alertCache.get(alertId);
    if (!fresh && cached && now() - cached.at < alertCacheMs) return cached.alert;
    let alert: Alert | null = null;
    try {
      // A change made from Slack while the read was in flight is recorded by then, and the
      // answer may predate it (copying it would undo "snoozed by" on the message): read again.
      for (let attempt = 0; attempt < 3; attempt++) {
        const before = changes.get(alertId) ?? 0;
        alert = null; // an answer from before the change is not kept if the next read fails
        alert = await source.getAlert(alertId, { checksLimit: 20 });
        if ((changes.get(alertId) ?? 0) === before) break;
      }
    } catch (error) {
      logger.warn(
        { alertId, error: describeError(error) },
        "Could not fetch the alert from PostHog; posting what the notification carried",
      );
    }
    alertCache.set(alertId, { at: now(), alert });
    if (alertCache.size > 500) {
      for (const [key, entry] of alertCache) if (now() - entry.at >= alertCacheMs) alertCache.delete(key);
    }
    return alert;
  }

  /**
   * Posts a delivery's one message, once: when an earlier attempt may have
   * posted it, that post is looked for first and, if found, taken as this one.
   */
  async function postOnce(job: DeliveryJob, args: PostArgs): Promise<PostResult> {
    const deliveryKey = `${instanceId}-${job.delivery.id}`;
    const since = job.delivery.unsureSince;
    if (since !== null) {
      const found = await poster.findPosted({
        channel: args.channel,
        ...(args.thread_ts ? { threadTs: args.thread_ts } : {}),
        oldestMs: since,
        deliveryKey,
      });
      const context = { deliveryId: job.delivery.id, channel: args.channel };
      if (found.ok && found.ts !== null) {
        logger.info(
          { ...context, ts: found.ts },
          "An interrupted post had reached Slack; recording it instead of posting again",
        );
        return { ok: true, ts: found.ts };
      }
      if (!found.ok && found.kind !== "permanent") return found;
      if (!found.ok) {
        logger.warn(
          { ...context, error: found.error },
          `Could not read channel ${args.channel} to check whether an interrupted post reached Slack ` +
            `(${found.error}); posting it again, so it may show twice.` +
            (found.error === "missing_scope"
              ? " Add the channels:history and groups:history scopes and reinstall the app to avoid this."
              : ""),
        );
      }
    }
    postTried.add(job.delivery.id);
    return poster.post({ ...args, deliveryKey });
  }

  async function deliver(job: DeliveryJob): Promise<Outcome> {
    switch (job.notification.kind) {
      case "firing":
        return job.notification.isTest ? deliverTest(job) : deliverFiring(job);
      case "resolved":
        return deliverResolved(job);
      case "refresh":
        return deliverRefresh(job);
      case "notice":
        return deliverNotice(job);
    }
  }

  async function deliverNotice(job: DeliveryJob): Promise<Outcome> {
    const text = job.notification.payload.text ?? "";
    const result = await postOnce(job, { channel: job.delivery.channel, text });
    if (!result.ok) return result;
    store.markSent(job.delivery.id, result.ts);
    return { ok: true, called: true };
  }

  async function deliverTest(job: DeliveryJob): Promise<Outcome> {
    const n = job.notification;
    const snapshot = snapshotOf(n.payload, null, null);
    const view = viewOf(
      n.alertId,
      snapshot,
      { status: "firing", repeatCount: 1, isTest: true },
      links,
      now(),
    );
    const result = await postOnce(job, { channel: job.delivery.channel, ...render(view) });
    if (!result.ok) return result;
    store.markSent(job.delivery.id, result.ts);
    return { ok: true, called: true };
  }

  async function deliverFiring(job: DeliveryJob): Promise<Outcome> {
    const n = job.notification;
    const channel = job.delivery.channel;
    const alert = await fetchAlert(n.alertId, false);
    let episode = store.openEpisode(n.alertId, channel);
    if (
      episode &&
      n.checkedAtMs !== null &&
      episode.latestCheckedMs !== null &&
      n.checkedAtMs <= episode.latestCheckedMs
    ) {
      store.markSent(job.delivery.id, null, "skipped: the message already shows this check");
      return { ok: true, called: false };
    }
    // Without polling, nothing else notices that an alert stopped firing (PostHog says nothing):
    // a firing after a gap of checks that did not fire starts a new message. A gap covered by an
    // action from Slack (a snooze, a disable) is not one; with polling on, the poller resolves.
    let superseded: EpisodeRecord | null = null;
    if (
      episode &&
      closeAfterGap &&
      !(episode.actionAt !== null && episode.actionAt > (episode.latestCheckedMs ?? 0)) &&
      firedAfterAGap(
        n.checkedAtMs,
        episode.latestCheckedMs,
        alert?.calculation_interval ?? episode.details.frequency,
      )
    ) {
      // Retired with the new message's record (completeOpened), not before: a post that must be
      // tried again finds the old message still open, and closes it once the new one is there.
      superseded = episode;
      episode = null;
    }
    if (episode) {
      const snapshot = snapshotOf(n.payload, alert, episode);
      const repeatCount = episode.repeatCount + 1;
      const view = viewOf(
        n.alertId,
        snapshot,
        {
          status: "firing",
          repeatCount,
          firstFiredAt: episode.firstCheckedAt,
          snoozedBy: episode.snoozedBy,
          disabledBy: episode.disabledBy,
          undone: episode.undone,
        },
        links,
        now(),
      );
      const message = render(view);
      const updated = await poster.update({ channel, ts: episode.messageTs, ...message });
      if (!updated.ok && updated.kind === "permanent" && MESSAGE_GONE_ERRORS.has(updated.error)) {
        logger.info(
          { alertId: n.alertId, channel, error: updated.error },
          "The alert's Slack message can no longer be updated; posting a new one",
        );
        store.retireEpisode(episode.id);
        episode = null;
      } else if (!updated.ok) {
        return updated;
      } else {
        // Updating again on a retry is harmless; the reply is posted once the update is done.
        const reply = await postOnce(job, {
          channel,
          thread_ts: episode.messageTs,
          reply_broadcast: false,
          text: buildRepeatReply(view).text,
        });
        if (!reply.ok) return reply;
        store.completeRepeated(job.delivery.id, {
          episodeId: episode.id,
          repeatCount,
          replyTs: reply.ts,
          snapshot,
        });
        return { ok: true, called: true };
      }
    }
    const snapshot = snapshotOf(n.payload, alert, null);
    const view = viewOf(
      n.alertId,
      snapshot,
      { status: "firing", repeatCount: 1, firstFiredAt: snapshot.latestCheckedAt },
      links,
      now(),
    );
    const posted = await postOnce(job, { channel, ...render(view) });
    if (!posted.ok) return posted;
    store.completeOpened(job.delivery.id, { alertId: n.alertId, channel, ts: posted.ts, snapshot });
    // Closed only once the new message is there, so a firing alert never has only a "Resolved" one.
    if (superseded) await closeSuperseded(channel, superseded);
    return { ok: true, called: true };
  }

  /** Marks a message the alert's new firing replaced as resolved; best effort (it is retired already). */
  async function closeSuperseded(channel: string, episode: EpisodeRecord): Promise<void> {
    const closed = viewFromEpisode(episode, links, now(), {
      status: "resolved",
      resolvedAt: null,
      resolvedNote: resolvedNote("gap"),
    });
    const result = await poster.update({ channel, ts: episode.messageTs, ...render(closed) });
    if (!result.ok)
      logger.info(
        { alertId: episode.alertId, channel, error: "error" in result ? result.error : result.kind },
        "Could not mark the alert's earlier message as resolved",
      );
  }

  async function deliverResolved(job: DeliveryJob): Promise<Outcome> {
    const n = job.notification;
    const channel = job.delivery.channel;
    const episode = store.openEpisode(n.alertId, channel);
    if (!episode) {
      store.markSent(job.delivery.id, null, "skipped: no open message for this alert here");
      return { ok: true, called: false };
    }
    const note = resolvedNote(n.payload.reason);
    const view = viewFromEpisode(episode, links, now(), {
      status: "resolved",
      resolvedAt: n.payload.lastCheckedAt ?? new Date(now()).toISOString(),
      resolvedNote: note,
    });
    const result = await poster.update({ channel, ts: episode.messageTs, ...render(view) });
    if (!result.ok && !(result.kind === "permanent" && MESSAGE_GONE_ERRORS.has(result.error))) return result;
    store.completeResolved(job.delivery.id, episode.id, note);
    return { ok: true, called: true };
  }

  async function deliverRefresh(job: DeliveryJob): Promise<Outcome> {
    const n = job.notification;
    const channel = job.delivery.channel;
    await fetchAlert(n.alertId, true);
    const episode = store.openEpisode(n.alertId, channel);
    if (!episode) {
      store.markSent(job.delivery.id, null, "skipped: no open message for this alert here");
      return { ok: true, called: false };
    }
    const result = await poster.update({
      channel,
      ts: episode.messageTs,
      ...render(viewFromEpisode(episode, links, now())),
    });
    if (!result.ok && result.kind === "permanent" && MESSAGE_GONE_ERRORS.has(result.error)) {
      store.retireEpisode(episode.id);
      store.markSent(job.delivery.id, null, `skipped: ${result.error}`);
      return { ok: true, called: true };
    }
    if (!result.ok) return result;
    store.markSent(job.delivery.id, episode.messageTs);
    return { ok: true, called: true };
  }

  // ---- lifecycle ----------------------------------------------------------

  function recover(): number {
    const count = store.requeueInterrupted();
    if (count > 0) {
      logger.warn(
        { count },
        `${count} notification deliver${count === 1 ? "y was" : "ies were"} interrupted by the last shutdown; ` +
          "each is looked for in its channel before it is posted again",
      );
    }
    return count;
  }

  return {
    forget(alertId) {
      alertCache.delete(alertId);
      changes.set(alertId, (changes.get(alertId) ?? 0) + 1);
    },
    kick() {
      // A burst of webhooks is one look at the queue per event-loop turn, not one each.
      if (!running || kickQueued) return;
      kickQueued = true;
      setImmediate(() => {
        kickQueued = false;
        schedule();
      });
    },
    start() {
      if (running) return;
      recover();
      if (defaultChannel) {
        // Kept while no channel was set; the default channel set since takes them.
        const revived = store.reviveUnrouted(defaultChannel);
        if (revived > 0)
          logger.info(
            { channel: defaultChannel, revived },
            "Notifications kept without a channel now go to ALERTS_CHANNEL",
          );
      }
      try {
        store.prune(now() - RETENTION_MS);
      } catch (error) {
        logger.warn({ error: describeError(error) }, "Could not prune old notification history");
      }
      running = true;
      schedule();
    },
    async stop() {
      running = false;
      cancelTimer?.();
      cancelTimer = null;
      await Promise.all([...inFlight]);
    },
    async drain() {
      for (;;) {
        const next = pump();
        const waits: Array<Promise<unknown>> = [...inFlight];
        let cancel: (() => void) | undefined;
        if (next !== null) {
          waits.push(
            new Promise<void>((resolve) => {
              cancel = setTimer(resolve, Math.max(0, next - now()));
            }),
          );
        }
        if (waits.length === 0) return;
        await Promise.race(waits);
        cancel?.();
      }
    },
    recover,
  };
}
