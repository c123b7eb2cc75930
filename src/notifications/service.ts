import { WebClient, type WebClientOptions } from "@slack/web-api";
import type { Logger } from "pino";
import type { Config } from "../config.js";
import type { NotificationsPort, RoutesPort } from "../listeners/deps.js";
import { boltLogger } from "../log.js";
import type { Alert } from "../posthog/schemas.js";
import { createWebPoster } from "../slack/poster.js";
import type { AlertAction, ChangeInput, Store } from "../store/store.js";
import { createPoller, type Poller, shownPrintOf } from "./poller.js";
import type { AlertSource } from "./ports.js";
import { createWebhookHandler, type WebhookHandler } from "./webhook.js";

/** Failed polls in a row after which /healthz warns (one can be a passing blip). */
const POLL_FAILURES_WARNED = 2;

import { createDeliveryWorker, type DeliveryWorker } from "./worker.js";

export interface Notifications {
  routes: RoutesPort;
  port: NotificationsPort;
  webhook: WebhookHandler;
  worker: DeliveryWorker;
  poller: Poller | null;
  /** Health: failing channels and undelivered notifications. */
  health(): { warning: string | null; details: unknown };
  /**
   * Queues a redraw of every message still showing a snooze that has ended (runs every
   * `snoozeEndCheckMs` while started); returns the alerts it queued.
   */
  redrawEndedSnoozes(): string[];
  start(): void;
  stop(): Promise<void>;
}

const ACTIONS: Record<string, AlertAction | undefined> = {
  snooze: "snooze",
  unsnooze: "unsnooze",
  disable: "disable",
  enable: "enable",
};

/** What the store records of a change made from Slack (see `NotificationsPort.alertChanged`). */
export function changeRecord(
  alert: Alert | null,
  action: { verb: string; userId: string; alertId: string },
): ChangeInput {
  const verb = ACTIONS[action.verb] ?? null;
  // A deleted alert's message closes (its buttons would only meet a 404); others redraw.
  const deleted = action.verb === "delete";
  return {
    alertId: action.alertId,
    action: verb,
    by: action.userId,
    ...(verb === "snooze" ? { snoozedUntil: alert?.snoozed_until ?? null } : {}),
    ...(deleted ? { close: true, reason: "deleted_from_slack" } : { reason: action.verb }),
    // An edit from Slack is redrawn now; the poller should not redraw it again as PostHog's.
    ...(alert && !deleted ? { shownPrint: shownPrintOf(alert) } : {}),
  };
}

/**
 * The notification side, assembled: webhook intake and the poller feed the
 * store; the delivery worker posts and updates messages through its own
 * Web API client, which never retries by itself (the worker paces, honours
 * Retry-After and backs off, so nothing is sent twice by a library retry).
 */
export function createNotifications(input: {
  config: Config;
  logger: Logger;
  store: Store;
  source: AlertSource;
  clientOptions?: Partial<WebClientOptions>;
  /** How often to look for messages showing a snooze that has ended (default 30 s). */
  snoozeEndCheckMs?: number;
}): Notifications {
  const { config, store, source } = input;
  const logger = input.logger.child({ component: "notifications" });
  const client = new WebClient(config.slack.botToken, {
    slackApiUrl: config.slack.apiUrl,
    timeout: 10_000,
    logger: boltLogger(input.logger),
    ...input.clientOptions,
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 0 },
  });
  const worker = createDeliveryWorker({
    store,
    poster: createWebPoster(client),
    source,
    links: { host: config.posthog.host, projectId: config.posthog.projectId },
    defaultChannel: config.alertsChannel,
    closeAfterGap: config.pollIntervalSeconds === 0,
    logger,
  });
  const webhook = createWebhookHandler({
    store,
    secret: config.webhookSecret,
    logger,
    onAccepted: () => worker.kick(),
  });
  const poller =
    config.pollIntervalSeconds > 0
      ? createPoller({
          source,
          store,
          intervalMs: config.pollIntervalSeconds * 1000,
          logger,
          onEnqueued: () => worker.kick(),
        })
      : null;

  const routes: RoutesPort = {
    add(alertId, channel, userId) {
      const result = store.addRoute(alertId, channel, userId);
      worker.kick();
      return result.added;
    },
    remove: (alertId, channel) => store.removeRoute(alertId, channel),
    forChannel: (channel) => store.routesForChannel(channel).map((r) => r.alertId),
  };

  const port: NotificationsPort = {
    async alertChanged(alert: Alert | null, action, origin) {
      const queued = store.recordChange(changeRecord(alert, action));
      // What the worker read of the alert before this change would undo it in the message.
      worker.forget(action.alertId);
      // Merged into one still waiting: the worker has that one already (a burst of clicks
      // on one message is one redraw, and one look at the queue).
      if (queued && !queued.duplicate) worker.kick();
      return !origin || store.openEpisodeByMessage(origin.channel, origin.ts)?.alertId === action.alertId;
    },
  };

  // Nothing tells the bot when a snooze ends: PostHog sends no event, and may keep the old
  // time in snoozed_until. Without this the message would offer Unsnooze until the next change.
  // Each ended snooze is redrawn once, whether or not PostHog can be read at the time.
  const redrawEndedSnoozes = (): string[] => {
    const alertIds = store.takeEndedSnoozes();
    for (const alertId of alertIds) store.enqueueRefresh({ alertId, source: "bot", reason: "snooze_ended" });
    if (alertIds.length > 0) worker.kick();
    return alertIds;
  };
  let snoozeEndTimer: NodeJS.Timeout | null = null;

  return {
    routes,
    port,
    webhook,
    worker,
    poller,
    redrawEndedSnoozes,
    health() {
      const summary = store.failureSummary();
      const failing = summary.failingChannels.map(
        (c) => `<#${c.channel}>: ${c.lastError ?? "unknown error"}`,
      );
      const polls = poller?.failures();
      const pollWarning =
        polls && polls.count >= POLL_FAILURES_WARNED
          ? `Polling PostHog failed ${polls.count} times in a row, so firings only arrive by webhook: ${polls.problem ?? "see the log"}`
          : null;
      const deliveryWarning =
        failing.length > 0
          ? `Slack refused notifications for ${failing.length} channel${failing.length === 1 ? "" : "s"}`
          : summary.delayedChannels.length > 0
            ? `Notifications are delayed in ${summary.delayedChannels.length} channel${summary.delayedChannels.length === 1 ? "" : "s"}: Slack keeps failing them (still retrying)`
            : summary.unrouted > 0
              ? `${summary.unrouted} notification${summary.unrouted === 1 ? "" : "s"} have no channel (set ALERTS_CHANNEL or use /alerts watch)`
              : null;
      const warning = [pollWarning, deliveryWarning].filter((w) => w !== null).join("; ") || null;
      return {
        warning,
        details: {
          pending: summary.pending,
          failed: summary.failed,
          unrouted: summary.unrouted,
          failingChannels: summary.failingChannels.map((c) => ({
            channel: c.channel,
            error: c.lastError,
            failures: c.failures,
          })),
          delayedChannels: summary.delayedChannels.map((c) => ({
            channel: c.channel,
            error: c.lastError,
            attempts: c.attempts,
          })),
        },
      };
    },
    start() {
      worker.start();
      poller?.start();
      snoozeEndTimer = setInterval(() => {
        try {
          redrawEndedSnoozes();
        } catch (error) {
          logger.warn({ err: (error as Error).message }, "could not look for ended snoozes");
        }
      }, input.snoozeEndCheckMs ?? 30_000);
      snoozeEndTimer.unref();
    },
    async stop() {
      if (snoozeEndTimer) clearInterval(snoozeEndTimer);
      snoozeEndTimer = null;
      await poller?.stop();
      await worker.stop();
    },
  };
}
