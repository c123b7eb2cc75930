import { userMessageFor } from "../alerts/messages.js";
import { shortPrint } from "../alerts/print.js";
import type { Alert } from "../posthog/schemas.js";
import type { PollStateRecord, Store } from "../store/store.js";
import { toEpochMs } from "../store/time.js";
import { type AlertSource, describeError, type Logger, realTimer, type SetTimer } from "./ports.js";
import { aboutAlert } from "./render.js";

/**
 * Polls PostHog's alert list and turns changes into notifications. It covers
 * what the webhook cannot: PostHog sends nothing when an alert stops firing,
 * nothing when it is snoozed or disabled in PostHog's UI, and webhook calls
 * can be lost. Firings it finds are deduplicated against the webhook's by
 * (alert, checked-at).
 *
 * - Not firing → Firing, or Firing with a newer check and no open message:
 *   a firing.
 * - An open message, and the alert is now enabled, unsnoozed and not firing
 *   after a check the message does not show: resolved. Deleted alerts with
 *   an open message are resolved too.
 * - Snooze or enabled changed in PostHog: a refresh of the open messages.
 *
 * The first poll only records what it sees, so starting the bot does not
 * announce every alert that is already firing.
 */

export interface PollerOptions {
  source: Pick<AlertSource, "listAllAlerts" | "getAlert">;
  store: Store;
  intervalMs: number;
  logger: Logger;
  now?: () => number;
  setTimer?: SetTimer;
  /** Called after a poll queued something: wake the delivery worker. */
  onEnqueued?: () => void;
  /**
   * Least time per page of 100 alerts between polls. PostHog allows 4,800
   * requests an hour per key; at the default 1.5 s a page, polling uses at
   * most half of that however many alerts there are, leaving the rest for
   * people using the bot. Default 1500.
   */
  minMsPerPage?: number;
}

export interface PollResult {
  requests?: number;
  alerts: number;
  fired: number;
  resolved: number;
  refreshed: number;
  /** True for the first poll, which only records a baseline. */
  baseline?: boolean;
}

export interface Poller {
  pollOnce(): Promise<PollResult>;
  /** Polls that failed in a row since the last one that worked, and why the latest failed. */
  failures(): { count: number; problem: string | null };
  start(): void;
  stop(): Promise<void>;
}

function recordOf(alert: Alert): PollStateRecord {
  return {
    alertId: alert.id,
    state: alert.state,
    enabled: alert.enabled,
    snoozedUntilMs: toEpochMs(alert.snoozed_until),
    lastCheckedAtMs: toEpochMs(alert.last_checked_at),
    shownPrint: shownPrintOf(alert),
  };
}

/** A print of what an alert's message shows of its settings (name, insight, condition, threshold, frequency). */
export function shownPrintOf(alert: Alert): string {
  return shortPrint(JSON.stringify(aboutAlert(alert)));
}

/**
 * Whether what the alert's message shows of its settings (name, insight, condition, threshold,
 * frequency) changed in PostHog since the last poll. A print not yet recorded is no change.
 */
function edited(prev: PollStateRecord | undefined, cur: PollStateRecord): boolean {
  return prev?.shownPrint != null && prev.shownPrint !== cur.shownPrint;
}

/** A poll that was under way when the poller stopped. */
class PollStopped extends Error {
  constructor() {
    super("the poller stopped while PostHog was being read");
  }
}

export function createPoller(options: PollerOptions): Poller {
  const { source, store, logger } = options;
  const now = options.now ?? Date.now;
  const setTimer = options.setTimer ?? realTimer;
  let running = false;
  let cancelTimer: (() => void) | null = null;
  let lastAlertCount = 0;
  let stretchedLogged = false;
  const minMsPerPage = options.minMsPerPage ?? 1500;

  /** The configured interval, stretched for large projects so polling stays within the key's budget. */
  function nextDelay(): number {
    const pages = Math.max(1, Math.ceil(lastAlertCount / 100));
    const delay = Math.max(options.intervalMs, pages * minMsPerPage);
    if (delay > options.intervalMs && !stretchedLogged) {
      stretchedLogged = true;
      logger.info(
        { alerts: lastAlertCount, intervalMs: delay },
        "Polling less often than POLL_INTERVAL_SECONDS so a project this large stays within PostHog's hourly request limit",
      );
    }
    return delay;
  }

  /** Set by stop: a poll still waiting on PostHog then leaves the store alone. */
  let stopped = false;
  const stoppedMeanwhile = () => {
    if (stopped) throw new PollStopped();
  };

  let failed = 0;
  let lastProblem: string | null = null;

  /** One poll, counted: one that works clears the count of failures. */
  async function pollOnce(): Promise<PollResult> {
    try {
      const result = await poll();
      failed = 0;
      lastProblem = null;
      return result;
    } catch (error) {
      // A call the stop cut off (the PostHog thread closing) is the stop's, not PostHog's.
      if (stopped || error instanceof PollStopped)
        throw error instanceof PollStopped ? error : new PollStopped();
      failed += 1;
      lastProblem = userMessageFor(error);
      throw error;
    }
  }

  async function poll(): Promise<PollResult> {
    const alerts = await source.listAllAlerts();
    stoppedMeanwhile();
    lastAlertCount = alerts.length;
    const records = alerts.map(recordOf);
    const result: PollResult = { alerts: alerts.length, fired: 0, resolved: 0, refreshed: 0 };

    if (!store.hasPollBaseline()) {
      store.savePollState(records);
      const firing = alerts.filter((a) => a.state === "Firing").length;
      logger.info(
        { alerts: alerts.length, firing },
        `First look at PostHog: ${alerts.length} alerts, ${firing} firing now. ` +
          "Alerts already firing are not announced; changes from now on are.",
      );
      return { ...result, baseline: true };
    }

    // An alert missing from the list is only said to be deleted once PostHog answers 404 for
    // it: the list is read in pages, newest first, so an alert deleted while they were read
    // shifts a later one from one page into the page already read. These reads come first, so
    // that from reading the poller's memory to saving it nothing waits (a change from Slack
    // recorded in between would be overwritten).
    const listed = new Set(alerts.map((a) => a.id));
    const deleted = new Set<string>();
    for (const alertId of store.pollState().keys()) {
      if (listed.has(alertId) || !store.hasOpenEpisode(alertId)) continue;
      const gone = await source.getAlert(alertId, { checksLimit: 1 }).then(
        () => false,
        (error: unknown) => (error as { code?: string }).code === "not_found",
      );
      stoppedMeanwhile();
      if (gone) deleted.add(alertId);
    }

    const previous = store.pollState();
    const t = now();
    /** Queues a redraw of the alert's open messages for a change seen in PostHog, counted once. */
    const redraw = (alertId: string) => {
      if (!store.enqueueRefresh({ alertId, source: "poll", reason: "changed_in_posthog" }).duplicate) {
        result.refreshed++;
      }
    };
    for (const [index, alert] of alerts.entries()) {
      const cur = records[index] as PollStateRecord;
      const prev = previous.get(alert.id);
      const open = store.openEpisodesForAlert(alert.id);

      if (alert.state === "Firing") {
        const became = prev?.state !== "Firing";
        const newerCheck =
          cur.lastCheckedAtMs !== null &&
          (prev?.lastCheckedAtMs == null || cur.lastCheckedAtMs > prev.lastCheckedAtMs);
        if (became || (newerCheck && open.length === 0)) {
          const queued = store.enqueueFiring({
            source: "poll",
            alertId: alert.id,
            alertName: alert.name,
            insightName: alert.insight_name,
            insightShortId: alert.insight_short_id,
            lastCheckedAt: alert.last_checked_at,
            value: alert.last_value,
            state: alert.state,
          });
          if (!queued.duplicate) result.fired++;
        } else if (open.length > 0 && edited(prev, cur)) {
          // Renamed or re-thresholded while firing: the message says so before the next check.
          redraw(alert.id);
        }
        continue;
      }

      if (open.length === 0) continue;
      const actionChanged =
        prev !== undefined && (prev.enabled !== cur.enabled || prev.snoozedUntilMs !== cur.snoozedUntilMs);
      if (actionChanged || edited(prev, cur)) {
        redraw(alert.id);
        // A snooze or an enable resets the state without a check; an edit is checked again at
        // once (a raised threshold), so a newer clear check still resolves below.
        if (actionChanged) continue;
      }
      const snoozed = alert.state === "Snoozed" || (cur.snoozedUntilMs !== null && cur.snoozedUntilMs > t);
      if (snoozed || !alert.enabled) continue;
      // Only a check newer than the one the message shows can clear it. PostHog also sets
      // "Not firing" without a check when an alert is unsnoozed, enabled or edited; saying
      // "Resolved" then would be false (the next check may well fire again).
      const shown = Math.max(...open.map((e) => e.latestCheckedMs ?? Number.NEGATIVE_INFINITY));
      const cleared = cur.lastCheckedAtMs !== null && cur.lastCheckedAtMs > shown;
      if (cleared) {
        const queued = store.enqueueResolved({
          alertId: alert.id,
          source: "poll",
          lastCheckedAt: alert.last_checked_at,
          state: alert.state,
          reason: alert.state === "Errored" ? "errored" : "cleared",
        });
        if (!queued.duplicate) result.resolved++;
      }
    }

    for (const [alertId, prev] of previous) {
      if (listed.has(alertId) || !store.hasOpenEpisode(alertId)) continue;
      if (!deleted.has(alertId)) {
        // Still in PostHog (or PostHog could not say): remembered as it was, so the next poll
        // that lists it compares it with what the message shows.
        records.push(prev);
        continue;
      }
      const queued = store.enqueueResolved({ alertId, source: "poll", reason: "deleted" });
      if (!queued.duplicate) result.resolved++;
    }

    store.savePollState(records);
    if (result.fired + result.resolved + result.refreshed > 0) {
      logger.info({ ...result }, "Poll found alert changes");
      try {
        options.onEnqueued?.();
      } catch (error) {
        logger.error({ error: describeError(error) }, "Waking the notification worker failed");
      }
    } else {
      logger.debug({ alerts: result.alerts }, "Poll found no alert changes");
    }
    return result;
  }

  function tick(): void {
    if (!running) return;
    cancelTimer = null;
    void pollOnce()
      .catch((error) => {
        if (error instanceof PollStopped) return;
        logger.warn(
          { error: describeError(error), problem: lastProblem, failuresInARow: failed },
          "Polling PostHog alerts failed; trying again next interval",
        );
      })
      .finally(() => {
        if (running) cancelTimer = setTimer(tick, nextDelay());
      });
  }

  return {
    pollOnce,
    failures: () => ({ count: failed, problem: lastProblem }),
    start() {
      if (running) return;
      running = true;
      tick();
    },
    async stop() {
      running = false;
      stopped = true;
      cancelTimer?.();
      cancelTimer = null;
      // Not awaited: reading every page of a big project, or PostHog not answering, would hold
      // the shutdown for as long; the poll's store work is all after its PostHog calls.
    },
  };
}
