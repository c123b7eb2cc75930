import { conditionWords, formatNumber, frequencyWords } from "../alerts/describe.js";
import type { Alert } from "../posthog/schemas.js";
import { CONDITION_TYPES, THRESHOLD_TYPES } from "../posthog/schemas.js";
import { alertIdSchema, alertRefCodec } from "../slack/codecs.js";
import { plainDate, slackDate } from "../slack/dates.js";
import {
  ACTION_NOTIFY_DISABLE,
  ACTION_NOTIFY_ENABLE,
  ACTION_NOTIFY_OPEN,
  ACTION_NOTIFY_SNOOZE,
  ACTION_NOTIFY_UNSNOOZE,
} from "../slack/ids.js";
import { LIMITS } from "../slack/limits.js";
import { link, safeMrkdwn, safePlain, truncate } from "../slack/mrkdwn.js";
import { sparkline } from "./alert-detail.js";
import {
  type Block,
  button,
  confirmDialog,
  context,
  header,
  mrkdwn,
  option,
  plain,
  type SlackMessage,
  section,
} from "./common.js";
import { SNOOZE_CUSTOM, SNOOZE_PRESETS } from "./snooze-modal.js";

/**
 * The message a firing alert gets in Slack, as a pure function of a view
 * model. All text from PostHog is escaped and cut to fit Slack's limits.
 */

export const BLOCK_NOTIFY_HEADER = "notify_header";
export const BLOCK_NOTIFY_SUMMARY = "notify_summary";
export const BLOCK_NOTIFY_FACTS = "notify_facts";
export const BLOCK_NOTIFY_TREND = "notify_trend";
export const BLOCK_NOTIFY_STATE = "notify_state";
/** The controls block's id is this prefix plus the alert id, so any control's click names its alert. */
export const BLOCK_NOTIFY_CONTROLS_PREFIX = "notify_controls:";

function isAlertId(value: string): boolean {
  return alertIdSchema.safeParse(value).success;
}

export function controlsBlockId(alertId: string): string {
  return `${BLOCK_NOTIFY_CONTROLS_PREFIX}${isAlertId(alertId) ? alertId : "unknown"}`;
}

/** The alert id from a controls block id (for the snooze menu, whose options carry only the preset). */
export function alertIdFromBlockId(blockId: unknown): string | null {
  if (typeof blockId !== "string" || !blockId.startsWith(BLOCK_NOTIFY_CONTROLS_PREFIX)) return null;
  const id = blockId.slice(BLOCK_NOTIFY_CONTROLS_PREFIX.length);
  return isAlertId(id) ? id : null;
}

// ---- view model -----------------------------------------------------------

export interface NotificationView {
  alertId: string;
  alertName: string;
  insightName: string | null;
  alertUrl: string;
  insightUrl: string | null;
  status: "firing" | "resolved";
  /** A "test destination" delivery from PostHog: shown, but without controls. */
  isTest?: boolean;
  /** PostHog's description of the breach (one line per breached series). */
  breaches: string | null;
  value: number | null;
  threshold: { type: string; lower: number | null; upper: number | null } | null;
  condition: string | null;
  /** PostHog's calculation interval (`hourly`, `daily`, …). */
  frequency: string | null;
  lastCheckedAt: string | null;
  /** Recent check values, oldest first. */
  recentValues: number[];
  /** How many checks have fired in this streak (1 for the first). */
  repeatCount: number;
  firstFiredAt?: string | null;
  /** Set while a snooze lasts; `by` is null when it was set in PostHog. */
  snooze: { until: string; by: string | null } | null;
  /** Set while the alert is disabled; `by` is null when it was done in PostHog. */
  disabled: { by: string | null } | null;
  /** The snooze or disable someone undid from Slack, while nothing has replaced it. */
  undone?: { action: "unsnooze" | "enable"; by: string } | null;
  resolvedAt?: string | null;
  /** A short reason shown with "Resolved", e.g. that the alert was deleted. */
  resolvedNote?: string | null;
  /**
   * Closed because PostHog could not run a check (Errored), not because a check cleared:
   * PostHog counts its next firing as a new one, so a new message follows.
   */
  couldNotCheck?: boolean;
}

// ---- formatting helpers -----------------------------------------------------

function isPercentage(view: NotificationView): boolean {
  return view.threshold?.type === "percentage";
}

/** A check's value; a percentage alert's values are fractions, shown as percentages like its bounds. */
function valueWords(value: number, percentage: boolean): string {
  return percentage ? `${formatNumber(value * 100)}%` : formatNumber(value);
}

function oneOf<T extends string>(values: readonly T[], value: string | null): T | null {
  return values.find((v) => v === value) ?? null;
}

/** The view's threshold in PostHog's shape, for the same words `/alerts list` uses; null when unset. */
function thresholdOf(view: NotificationView): Pick<Alert, "condition" | "threshold"> | null {
  const threshold = view.threshold;
  if (!threshold || (threshold.lower === null && threshold.upper === null)) return null;
  const condition = oneOf(CONDITION_TYPES, view.condition);
  return {
    condition: condition ? { type: condition } : null,
    threshold: {
      name: null,
      configuration: {
        type: oneOf(THRESHOLD_TYPES, threshold.type) ?? "absolute",
        bounds: { lower: threshold.lower, upper: threshold.upper },
      },
    },
  };
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

const SLACK_USER = /^[UW][A-Z0-9]{2,}$/;

function mention(userId: string | null): string | null {
  return userId && SLACK_USER.test(userId) ? `<@${userId}>` : null;
}

/** Names on one line: headers, buttons and dialogs are not the place for line breaks. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

function validDate(value: string | null | undefined): boolean {
  return typeof value === "string" && !Number.isNaN(new Date(value).getTime());
}

// ---- the message ------------------------------------------------------------

type Mood = "firing" | "snoozed" | "disabled" | "resolved" | "unchecked" | "test";

function moodOf(view: NotificationView): Mood {
  if (view.isTest) return "test";
  if (view.status === "resolved") return view.couldNotCheck ? "unchecked" : "resolved";
  if (view.disabled) return "disabled";
  if (view.snooze) return "snoozed";
  return "firing";
}

const EMOJI: Record<Mood, string> = {
  firing: "🔴",
  snoozed: "🔕",
  disabled: "⏸",
  resolved: "✅",
  unchecked: "⚠️",
  test: "🧪",
};

function stateLine(view: NotificationView): string | null {
  if (view.isTest) return "🧪 Test delivery from PostHog: the alert has not necessarily fired.";
  if (view.status === "resolved") {
    const when = validDate(view.resolvedAt) ? ` ${slackDate(view.resolvedAt as string)}` : "";
    if (view.couldNotCheck)
      return `⚠️ *Could not check*${when} · PostHog could not run this alert's check (Errored)`;
    const note = view.resolvedNote ? ` · ${safeMrkdwn(view.resolvedNote, 300)}` : "";
    return `✅ *Resolved*${when}${note}`;
  }
  const lines: string[] = [];
  if (view.disabled) {
    const who = mention(view.disabled.by);
    lines.push(who ? `⏸ Disabled by ${who}` : "⏸ Disabled in PostHog");
  }
  if (view.snooze && validDate(view.snooze.until)) {
    const who = mention(view.snooze.by);
    lines.push(`🔕 Snoozed until ${slackDate(view.snooze.until)}${who ? ` by ${who}` : " (set in PostHog)"}`);
  }
  const undoneBy = view.undone ? mention(view.undone.by) : null;
  if (undoneBy && view.undone?.action === "unsnooze") lines.push(`🔔 Unsnoozed by ${undoneBy}`);
  if (undoneBy && view.undone?.action === "enable") lines.push(`▶️ Enabled again by ${undoneBy}`);
  return lines.length > 0 ? lines.join("\n") : null;
}

function summaryText(view: NotificationView): string {
  const heading =
    view.status === "resolved"
      ? view.couldNotCheck
        ? "This alert was firing when PostHog last could check it. If it fires again, a new message follows."
        : "This alert was firing and has stopped."
      : view.isTest
        ? "*Test notification*"
        : "*Alert firing*";
  const breachLines = (view.breaches ?? "")
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);
  if (breachLines.length === 0) return heading;
  const budget = LIMITS.sectionText - heading.length - 10;
  const quoted = breachLines.map((line) => `>${safeMrkdwn(line, budget)}`).join("\n");
  return `${heading}\n${truncate(quoted, budget)}`;
}

function factFields(view: NotificationView): string[] {
  const fields: string[] = [];
  const insightName = view.insightName?.trim() ? view.insightName : "Open the insight";
  if (view.insightUrl) fields.push(`*Insight*\n${link(view.insightUrl, insightName, 300)}`);
  else if (view.insightName) fields.push(`*Insight*\n${safeMrkdwn(view.insightName, 300)}`);
  if (view.value !== null && Number.isFinite(view.value)) {
    fields.push(`*Current value*\n${valueWords(view.value, isPercentage(view))}`);
  }
  const threshold = thresholdOf(view);
  if (threshold) fields.push(`*Fires when*\n${safeMrkdwn(conditionWords(threshold), 300)}`);
  if (view.frequency)
    fields.push(`*Checked*\n${safeMrkdwn(capitalised(frequencyWords(view.frequency)), 50)}`);
  if (validDate(view.lastCheckedAt))
    fields.push(`*Last checked*\n${slackDate(view.lastCheckedAt as string)}`);
  return fields.slice(0, LIMITS.fields).map((text) => truncate(text, LIMITS.fieldText));
}

function trendText(view: NotificationView): string | null {
  const parts: string[] = [];
  // Checks without a value (a snooze writes one) stay in the line as gaps.
  const recent = view.recentValues.slice(-20);
  if (recent.filter((v) => Number.isFinite(v)).length >= 2) {
    parts.push(`Last ${recent.length} checks: ${sparkline(recent)}`);
  }
  if (view.repeatCount > 1) {
    const since = validDate(view.firstFiredAt) ? ` since ${slackDate(view.firstFiredAt as string)}` : "";
    parts.push(`Fired on ${view.repeatCount} checks in a row${since}`);
  }
  return parts.length > 0 ? truncate(parts.join("  ·  "), LIMITS.contextText) : null;
}

function controls(view: NotificationView): Block[] {
  // An id PostHog would not have issued gets a link only: no write control could name it.
  const value = isAlertId(view.alertId) ? alertRefCodec.encode({ a: view.alertId }) : undefined;
  const elements: Block[] = [
    button("Open in PostHog", ACTION_NOTIFY_OPEN, { url: view.alertUrl, ...(value ? { value } : {}) }),
  ];
  if (!value || view.isTest || view.status === "resolved") return elements;
  if (view.snooze) {
    elements.push(button("Unsnooze", ACTION_NOTIFY_UNSNOOZE, { value }));
  } else if (!view.disabled) {
    elements.push({
      type: "static_select",
      action_id: ACTION_NOTIFY_SNOOZE,
      placeholder: plain("Snooze…", LIMITS.placeholder),
      options: [...SNOOZE_PRESETS.map((p) => option(p.label, p.value)), option("Custom…", SNOOZE_CUSTOM)],
    });
  }
  if (view.disabled) {
    elements.push(button("Enable", ACTION_NOTIFY_ENABLE, { value, style: "primary" }));
  } else {
    const name = safePlain(oneLine(view.alertName) || "this alert", 120);
    elements.push(
      button("Disable", ACTION_NOTIFY_DISABLE, {
        value,
        style: "danger",
        confirm: confirmDialog(
          "Disable this alert?",
          `PostHog will stop checking "${name}" until someone enables it again.`,
          "Disable",
        ),
      }),
    );
  }
  return elements;
}

function fallbackText(view: NotificationView): string {
  const name = safeMrkdwn(oneLine(view.alertName) || "Untitled alert", 300);
  const firstBreach = (view.breaches ?? "").split(/\r?\n/).find((l) => l.trim()) ?? "";
  const breach = firstBreach ? `: ${safeMrkdwn(firstBreach.trim(), 1000)}` : "";
  let text: string;
  if (view.isTest) text = `🧪 Test notification from PostHog for ${name}${breach}`;
  else if (view.status === "resolved")
    text = view.couldNotCheck ? `⚠️ PostHog could not check: ${name}` : `✅ Resolved: ${name}`;
  else {
    const state = moodOf(view) === "firing" ? "" : moodOf(view) === "snoozed" ? " (snoozed)" : " (disabled)";
    const when = validDate(view.lastCheckedAt) ? ` (checked ${plainDate(view.lastCheckedAt as string)})` : "";
    text = `🔴 PostHog alert firing${state}: ${name}${breach}${when}`;
  }
  return truncate(text, LIMITS.fallbackText);
}

export function buildNotificationMessage(view: NotificationView): SlackMessage {
  const name = safePlain(oneLine(view.alertName) || "Untitled alert", LIMITS.headerText - 3);
  const blocks: Block[] = [
    { ...header(`${EMOJI[moodOf(view)]} ${name}`), block_id: BLOCK_NOTIFY_HEADER },
    section(truncate(summaryText(view), LIMITS.sectionText), { block_id: BLOCK_NOTIFY_SUMMARY }),
  ];
  const fields = factFields(view);
  if (fields.length > 0) {
    blocks.push({ type: "section", block_id: BLOCK_NOTIFY_FACTS, fields: fields.map((f) => mrkdwn(f)) });
  }
  const trend = trendText(view);
  if (trend) blocks.push({ ...context(trend), block_id: BLOCK_NOTIFY_TREND });
  const state = stateLine(view);
  if (state) blocks.push({ ...context(truncate(state, LIMITS.contextText)), block_id: BLOCK_NOTIFY_STATE });
  blocks.push({ type: "actions", block_id: controlsBlockId(view.alertId), elements: controls(view) });
  return { text: fallbackText(view), blocks };
}

/** The short thread reply posted each time a firing alert fires again. */
export function buildRepeatReply(view: NotificationView): { text: string } {
  const parts = [`🔁 Fired again (check ${view.repeatCount} in a row)`];
  if (view.value !== null && Number.isFinite(view.value)) {
    parts.push(`value ${valueWords(view.value, isPercentage(view))}`);
  }
  if (validDate(view.lastCheckedAt)) parts.push(`checked ${slackDate(view.lastCheckedAt as string)}`);
  const firstBreach = (view.breaches ?? "").split(/\r?\n/).find((l) => l.trim());
  const detail = firstBreach ? `\n>${safeMrkdwn(firstBreach.trim(), 1000)}` : "";
  return { text: truncate(`${parts.join(" · ")}${detail}`, LIMITS.fallbackText) };
}

const CHANNEL_ID = /^[CGD][A-Z0-9]{2,}$/;

const FAILURE_HINTS: Record<string, string> = {
  not_in_channel:
    "Invite me to the channel with `/invite`, or route the alert elsewhere with `/alerts watch`.",
  channel_not_found:
    "The channel may have been deleted, or it is private and I am not in it. Invite me, or route the alert elsewhere.",
  is_archived: "The channel is archived. Unarchive it, or route the alert elsewhere with `/alerts watch`.",
  invalid_auth: "My Slack token no longer works. Reinstall the app and update SLACK_BOT_TOKEN.",
  account_inactive: "My Slack token no longer works. Reinstall the app and update SLACK_BOT_TOKEN.",
  token_revoked: "My Slack token was revoked. Reinstall the app and update SLACK_BOT_TOKEN.",
  missing_scope: "The app is missing a permission. Reinstall it with the scopes from the manifest.",
  invalid_blocks: "Slack rejected the message format. This is a bug in the bot; please report it.",
  msg_too_long: "The message was too long for Slack. This is a bug in the bot; please report it.",
};

/** Posted once to the default channel when deliveries to another channel start failing. */
export function buildDeliveryFailureNotice(input: {
  channel: string;
  error: string;
  alertName: string | null;
}): { text: string } {
  const where = CHANNEL_ID.test(input.channel) ? `<#${input.channel}>` : "a channel";
  const about = input.alertName ? ` (latest: ${safeMrkdwn(input.alertName, 200)})` : "";
  // Slack error codes are snake_case words; anything else is dropped rather than escaped inside `code`.
  const code = input.error.replace(/[^A-Za-z0-9_.-]/g, "").slice(0, 100) || "unknown_error";
  const hint = FAILURE_HINTS[input.error] ?? "I will not retry these messages.";
  return {
    text: truncate(
      `⚠️ I could not post PostHog alert notifications to ${where}${about}: Slack said \`${code}\`. ${hint} ` +
        "I will say this once until posting there works again.",
      LIMITS.fallbackText,
    ),
  };
}
