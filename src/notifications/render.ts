import { alertUrl, insightUrl, type PostHogLinks } from "../alerts/describe.js";
import type { NotificationView } from "../blocks/notification.js";
import type { Alert } from "../posthog/schemas.js";
import type { EpisodeAbout, EpisodeRecord, EpisodeSnapshot, NotificationPayload } from "../store/store.js";
import { toEpochMs } from "../store/time.js";

/**
 * Turning stored facts (an event's payload, PostHog's alert, an open
 * episode) into the view model the message builder draws.
 */

/** Why a message says "Resolved", by the reason code the poller queued. */
const RESOLVED_NOTES: Record<string, string> = {
  deleted: "the alert no longer exists in PostHog",
  deleted_from_slack: "the alert was deleted from Slack",
  errored: "PostHog could not check the alert (Errored)",
  gap: "checks since did not fire; it fired again later, in a new message",
};

/** How often PostHog checks, by `calculation_interval`. */
const CHECK_INTERVAL_MS: Record<string, number> = {
  every_15_minutes: 900_000,
  hourly: 3_600_000,
  daily: 86_400_000,
  weekly: 7 * 86_400_000,
  monthly: 31 * 86_400_000,
};

/**
 * Whether a firing check comes after checks that did not fire: more than one
 * and a half check intervals after the one an open message shows. PostHog says
 * nothing when an alert stops firing, so without a poll to notice, such a
 * firing would otherwise count as "in a row" in the old message's thread.
 * Unknown intervals and times count as in a row.
 */
export function firedAfterAGap(
  checkedAtMs: number | null,
  shownMs: number | null,
  interval: string | null | undefined,
): boolean {
  const step = interval ? CHECK_INTERVAL_MS[interval] : undefined;
  return step !== undefined && checkedAtMs !== null && shownMs !== null && checkedAtMs - shownMs > 1.5 * step;
}

export function resolvedNote(reason: string | null): string | null {
  return reason ? (RESOLVED_NOTES[reason] ?? null) : null;
}

function finite(value: number | null | undefined): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** What an alert is, as PostHog has it now: what a message shows besides its checks. */
export function aboutAlert(alert: Alert): EpisodeAbout {
  const bounds = alert.threshold?.configuration.bounds;
  return {
    alertName: alert.name,
    insightName: alert.insight_name,
    insightShortId: alert.insight_short_id,
    details: {
      threshold: alert.threshold
        ? {
            type: alert.threshold.configuration.type,
            lower: finite(bounds?.lower),
            upper: finite(bounds?.upper),
          }
        : null,
      condition: alert.condition?.type ?? null,
      frequency: alert.calculation_interval,
    },
  };
}

/**
 * Merges what an event carried with what PostHog says now (when it could be
 * fetched) and what the open message already showed. The event wins for the
 * check it reports; PostHog fills in threshold, frequency and history.
 */
export function snapshotOf(
  payload: NotificationPayload,
  alert: Alert | null,
  episode: EpisodeRecord | null,
): EpisodeSnapshot {
  const checkValues = (alert?.checks ?? [])
    .map((c) => finite(c.calculated_value))
    .filter((v): v is number => v !== null)
    .reverse();
  const about = alert ? aboutAlert(alert).details : null;
  const threshold = about?.threshold ?? episode?.details.threshold ?? null;
  const latestValue =
    finite(payload.value) ??
    finite(alert?.last_value) ??
    (checkValues.length > 0 ? (checkValues[checkValues.length - 1] ?? null) : null) ??
    null;
  return {
    alertName: payload.alertName || alert?.name || episode?.alertName || "",
    insightName: payload.insightName ?? alert?.insight_name ?? episode?.insightName ?? null,
    insightShortId: payload.insightShortId ?? alert?.insight_short_id ?? episode?.insightShortId ?? null,
    breaches: payload.breaches ?? episode?.breaches ?? null,
    latestValue,
    latestCheckedAt: payload.lastCheckedAt ?? alert?.last_checked_at ?? null,
    details: {
      threshold,
      condition: about?.condition ?? episode?.details.condition ?? null,
      frequency: about?.frequency ?? episode?.details.frequency ?? null,
      recentValues: alert ? checkValues.slice(-20) : (episode?.details.recentValues ?? []),
    },
    snoozedUntil: alert ? alert.snoozed_until : (episode?.snoozedUntil ?? null),
    enabled: alert ? alert.enabled : (episode?.enabled ?? true),
  };
}

export interface ViewExtras {
  status: "firing" | "resolved";
  repeatCount: number;
  firstFiredAt?: string | null;
  snoozedBy?: string | null;
  disabledBy?: string | null;
  undone?: EpisodeRecord["undone"];
  isTest?: boolean;
  resolvedAt?: string | null;
  resolvedNote?: string | null;
}

export function viewOf(
  alertId: string,
  snapshot: EpisodeSnapshot,
  extras: ViewExtras,
  links: PostHogLinks,
  now: number,
): NotificationView {
  const untilMs = toEpochMs(snapshot.snoozedUntil);
  return {
    alertId,
    alertName: snapshot.alertName,
    insightName: snapshot.insightName,
    alertUrl: alertUrl(links, { id: alertId }),
    insightUrl: snapshot.insightShortId ? insightUrl(links, snapshot.insightShortId) : null,
    status: extras.status,
    isTest: extras.isTest ?? false,
    breaches: snapshot.breaches,
    value: snapshot.latestValue,
    threshold: snapshot.details.threshold,
    condition: snapshot.details.condition,
    frequency: snapshot.details.frequency,
    lastCheckedAt: snapshot.latestCheckedAt,
    recentValues: snapshot.details.recentValues,
    repeatCount: extras.repeatCount,
    firstFiredAt: extras.firstFiredAt ?? null,
    snooze:
      untilMs !== null && untilMs > now && snapshot.snoozedUntil
        ? { until: new Date(untilMs).toISOString(), by: extras.snoozedBy ?? null }
        : null,
    disabled: snapshot.enabled ? null : { by: extras.disabledBy ?? null },
    // Said only while it still holds: a later snooze or disable takes its place.
    undone:
      extras.undone &&
      (extras.undone.action === "enable" ? snapshot.enabled : !(untilMs !== null && untilMs > now))
        ? extras.undone
        : null,
    resolvedAt: extras.resolvedAt ?? null,
    resolvedNote: extras.resolvedNote ?? null,
    // Closed because PostHog could not run a check: the alert did not stop firing.
    couldNotCheck: extras.status === "resolved" && extras.resolvedNote === RESOLVED_NOTES.errored,
  };
}

export function snapshotOfEpisode(episode: EpisodeRecord): EpisodeSnapshot {
  return {
    alertName: episode.alertName,
    insightName: episode.insightName,
    insightShortId: episode.insightShortId,
    breaches: episode.breaches,
    latestValue: episode.latestValue,
    latestCheckedAt: episode.latestCheckedAt,
    details: episode.details,
    snoozedUntil: episode.snoozedUntil,
    enabled: episode.enabled,
  };
}

/**
 * The view of an episode's message as stored: what an action handler
 * re-renders after a snooze or disable, and what "resolved" is drawn from.
 */
export function viewFromEpisode(
  episode: EpisodeRecord,
  links: PostHogLinks,
  now: number,
  overrides: Partial<Pick<ViewExtras, "status" | "resolvedAt" | "resolvedNote">> = {},
): NotificationView {
  return viewOf(
    episode.alertId,
    snapshotOfEpisode(episode),
    {
      status: overrides.status ?? (episode.status === "resolved" ? "resolved" : "firing"),
      repeatCount: episode.repeatCount,
      firstFiredAt: episode.firstCheckedAt,
      snoozedBy: episode.snoozedBy,
      disabledBy: episode.disabledBy,
      undone: episode.undone,
      resolvedAt: overrides.resolvedAt ?? null,
      resolvedNote: overrides.resolvedNote ?? episode.resolvedNote,
    },
    links,
    now,
  );
}
