import {
  alertUrl,
  conditionWords,
  formatNumber,
  frequencyWords,
  insightLabel,
  insightUrl,
  lastValueWords,
  type PostHogLinks,
  stateLabel,
} from "../alerts/describe.js";
import type { Alert } from "../posthog/schemas.js";
import { alertRefCodec, toggleCodec } from "../slack/codecs.js";
import { slackDate } from "../slack/dates.js";
import {
  ACTION_OPEN_IN_POSTHOG,
  ACTION_SHOW_DELETE,
  ACTION_SHOW_EDIT,
  ACTION_SHOW_SNOOZE,
  ACTION_SHOW_TOGGLE,
  ACTION_SHOW_UNSNOOZE,
} from "../slack/ids.js";
import { link, safeMrkdwn } from "../slack/mrkdwn.js";
import {
  type Block,
  button,
  confirmDialog,
  context,
  header,
  notice,
  type SlackMessage,
  section,
} from "./common.js";

const BARS = "▁▂▃▄▅▆▇█";

/** A text sparkline of values, oldest first: "▁▃▅█". Missing values show as a gap. */
export function sparkline(values: Array<number | null>): string {
  const nums = values.filter((v): v is number => v !== null && Number.isFinite(v));
  if (nums.length === 0) return "";
  const min = Math.min(...nums);
  const max = Math.max(...nums);
  return values
    .map((v) => {
      if (v === null || !Number.isFinite(v)) return " ";
      if (max === min) return BARS[3];
      return BARS[Math.round(((v - min) / (max - min)) * (BARS.length - 1))];
    })
    .join("");
}

function disableButton(alertId: string) {
  return button("Disable", ACTION_SHOW_TOGGLE, {
    value: toggleCodec.encode({ a: alertId, v: "disable" }),
    // As on a notification: it silences the alert for everyone until someone enables it.
    confirm: confirmDialog(
      "Disable this alert?",
      "PostHog stops checking it, for everyone, until someone enables it again.",
      "Disable",
    ),
  });
}

function enableButton(alertId: string) {
  return button("Enable", ACTION_SHOW_TOGGLE, { value: toggleCodec.encode({ a: alertId, v: "enable" }) });
}

/**
 * The answer to a change made from a list row's menu: its sentence, and the control that takes
 * it back (an overflow menu cannot ask before acting, so a slip is one click to undo). The
 * controls are those of `/alerts show`, so a click on them answers as there.
 */
export function rowChangeDone(sentence: string, alertId: string, verb: string): SlackMessage {
  const undo =
    verb === "disable"
      ? enableButton(alertId)
      : verb === "enable"
        ? disableButton(alertId)
        : verb === "unsnooze"
          ? button("Snooze again…", ACTION_SHOW_SNOOZE, { value: alertRefCodec.encode({ a: alertId }) })
          : null;
  const message = notice(sentence);
  if (!undo) return message;
  return {
    ...message,
    blocks: [...message.blocks, { type: "actions", block_id: "row_change_undo", elements: [undo] }],
  };
}

/** Buttons acting on one alert; the same actions as a list row's menu. */
export function alertActions(links: PostHogLinks, alert: Alert): Block {
  const value = alertRefCodec.encode({ a: alert.id });
  return {
    type: "actions",
    block_id: "alert_actions",
    elements: [
      button("Edit", ACTION_SHOW_EDIT, { value }),
      button(alert.snoozed_until ? "Snooze again…" : "Snooze…", ACTION_SHOW_SNOOZE, { value }),
      ...(alert.snoozed_until ? [button("Unsnooze", ACTION_SHOW_UNSNOOZE, { value })] : []),
      alert.enabled ? disableButton(alert.id) : enableButton(alert.id),
      button("Delete…", ACTION_SHOW_DELETE, { value, style: "danger" }),
      button("Open in PostHog", ACTION_OPEN_IN_POSTHOG, { url: alertUrl(links, alert) }),
    ],
  };
}

export function buildAlertDetail(links: PostHogLinks, alert: Alert): SlackMessage {
  const name = alert.name || "(unnamed alert)";
  const fields = [
    `*State*\n${stateLabel(alert)}`,
    `*Insight*\n${link(insightUrl(links, alert.insight_short_id ?? alert.insight), insightLabel(alert), 150)}`,
    `*Fires when*\n${safeMrkdwn(conditionWords(alert), 300)}`,
    `*Checked*\n${frequencyWords(alert.calculation_interval)}${alert.skip_weekend ? ", not at weekends" : ""}`,
    `*Last value*\n${lastValueWords(alert)}`,
    `*Last checked*\n${alert.last_checked_at ? slackDate(alert.last_checked_at) : "not yet"}`,
  ];
  if (alert.snoozed_until) fields.push(`*Snoozed until*\n${slackDate(alert.snoozed_until)}`);
  // PostHog does not check a disabled alert, nor a snoozed one before its snooze ends.
  if (alert.next_check_at && alert.enabled && !alert.snoozed_until)
    fields.push(`*Next check*\n${slackDate(alert.next_check_at)}`);
  fields.push(`*Subscribers*\n${alert.subscribed_users.length}`);

  const blocks: Block[] = [
    header(`${stateLabel(alert)} · ${name}`),
    { type: "section", fields: fields.slice(0, 10).map((text) => ({ type: "mrkdwn", text })) },
  ];
  const checks = alert.checks.slice(0, 10);
  if (checks.length > 0) {
    const oldestFirst = [...checks].reverse();
    const spark = sparkline(oldestFirst.map((c) => c.calculated_value));
    const rows = checks.map(
      (c) =>
        `${slackDate(c.created_at, "{date_short} {time}")} · ${c.calculated_value === null ? "—" : formatNumber(c.calculated_value)} · ${safeMrkdwn(c.state, 40)}`,
    );
    blocks.push(section(`*Recent checks*${spark ? `  \`${spark}\`` : ""}\n${rows.join("\n")}`));
  } else {
    blocks.push(context("No checks in the last 14 days."));
  }
  blocks.push(alertActions(links, alert));
  blocks.push(context(`Alert id \`${alert.id}\``));
  return {
    text: `${alert.enabled ? alert.state : "Disabled"}: ${safeMrkdwn(name, 200)} — fires when ${conditionWords(alert)}`,
    blocks,
  };
}
