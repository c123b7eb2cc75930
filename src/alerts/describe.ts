import type { Alert } from "../posthog/schemas.js";
import { wellFormed } from "../slack/mrkdwn.js";
import { snoozeEnded } from "../store/time.js";

/**
 * The alert as Slack shows it at `nowMs`: a snooze that has ended is no snooze. PostHog may
 * keep `snoozed_until` once it has passed (a disabled alert does: nothing evaluates it), and
 * "snoozed until" a past time, or "Snooze again…", would be false.
 */
export function withoutEndedSnooze(alert: Alert, nowMs: number): Alert {
  if (!snoozeEnded(alert.snoozed_until, nowMs)) return alert;
  // Until its next check PostHog may still say "Snoozed"; the check starts from scratch.
  return { ...alert, snoozed_until: null, state: alert.state === "Snoozed" ? "Not firing" : alert.state };
}

/** Words and symbols for showing an alert to people. Pure functions, no Slack markup. */

export const STATE_EMOJI: Record<string, string> = {
  Firing: "🔴",
  "Not firing": "🟢",
  Errored: "⚠️",
  Snoozed: "🔕",
  Disabled: "⏸",
};

/** The state a person cares about: a disabled alert reads as Disabled whatever PostHog's state says. */
export function displayState(alert: Pick<Alert, "state" | "enabled">): string {
  return alert.enabled ? alert.state : "Disabled";
}

export function stateLabel(alert: Pick<Alert, "state" | "enabled">): string {
  const state = displayState(alert);
  return `${STATE_EMOJI[state] ?? "•"} ${state}`;
}

const INTERVAL_WORDS: Record<string, string> = {
  every_15_minutes: "every 15 minutes",
  hourly: "hourly",
  daily: "daily",
  weekly: "weekly",
  monthly: "monthly",
  real_time: "in real time",
};

export function frequencyWords(interval: string): string {
  return INTERVAL_WORDS[interval] ?? interval.replace(/_/g, " ");
}

/** Numbers as people write them: 1234.5 → "1,234.5", 0.1 + 0.2 → "0.3". */
// One formatter for the process: toLocaleString builds a new one on every call, which was the
// single largest cost of rendering an alert list.
const NUMBER_FORMAT = new Intl.NumberFormat("en-US", { maximumFractionDigits: 6 });

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return NUMBER_FORMAT.format(Number(value.toPrecision(12)));
}

function formatBound(value: number, percentage: boolean): string {
  return percentage ? `${formatNumber(value * 100)}%` : formatNumber(value);
}

/**
 * The condition in words: "below 100", "above 5 or below 1",
 * "up by more than 20%", "down by more than 50".
 */
export function conditionWords(alert: Pick<Alert, "condition" | "threshold">): string {
  const type = alert.condition?.type ?? "absolute_value";
  const config = alert.threshold?.configuration;
  const percentage = config?.type === "percentage";
  const lower = config?.bounds.lower ?? null;
  const upper = config?.bounds.upper ?? null;
  if (lower === null && upper === null) return "no threshold set";
  if (type === "absolute_value") {
    const parts: string[] = [];
    if (upper !== null) parts.push(`above ${formatBound(upper, percentage)}`);
    if (lower !== null) parts.push(`below ${formatBound(lower, percentage)}`);
    return parts.join(" or ");
  }
  const direction = type === "relative_increase" ? "up" : "down";
  const parts: string[] = [];
  if (upper !== null) parts.push(`${direction} by more than ${formatBound(upper, percentage)}`);
  if (lower !== null) parts.push(`${direction} by less than ${formatBound(lower, percentage)}`);
  return parts.join(" or ");
}

export function lastValueWords(alert: Pick<Alert, "last_value">): string {
  return alert.last_value === null ? "no value yet" : formatNumber(alert.last_value);
}

export interface PostHogLinks {
  host: string;
  projectId: string;
}

/** The project's root in the PostHog app. */
function projectBase(links: PostHogLinks): string {
  return `${links.host.replace(/\/+$/, "")}/project/${encodeURIComponent(wellFormed(links.projectId))}`;
}

/** PostHog's own page for one alert (the insight's alerts tab, with the alert open). */
export function alertUrl(links: PostHogLinks, alert: { id: string }): string {
  return `${projectBase(links)}/insights?tab=alerts&alert_id=${encodeURIComponent(wellFormed(alert.id))}`;
}

export function insightUrl(links: PostHogLinks, insight: string | number): string {
  return `${projectBase(links)}/insights/${encodeURIComponent(wellFormed(String(insight)))}`;
}

export function insightLabel(alert: Pick<Alert, "insight" | "insight_name">): string {
  return alert.insight_name ?? `Insight ${alert.insight}`;
}
