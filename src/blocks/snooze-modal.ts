import { z } from "zod";
import { alertIdSchema, jsonCodec } from "../slack/codecs.js";
import { slackDate } from "../slack/dates.js";
import { ACTION_SNOOZE_AT, BLOCK_SNOOZE_AT, VIEW_SNOOZE_CUSTOM } from "../slack/ids.js";
import { LIMITS } from "../slack/limits.js";
import { safeMrkdwn } from "../slack/mrkdwn.js";
import type { SnoozePreset } from "../time/snooze.js";
import { context, option, plain, section } from "./common.js";

export const BLOCK_SNOOZE_PRESET = "snooze_preset";
export const ACTION_SNOOZE_PRESET = "snooze_preset_select";

/** Snooze choices offered on buttons, menus and the modal, in one place. */
export const SNOOZE_PRESETS: Array<{ value: SnoozePreset; label: string }> = [
  { value: "30m", label: "30 minutes" },
  { value: "1h", label: "1 hour" },
  { value: "4h", label: "4 hours" },
  { value: "1d", label: "1 day" },
  { value: "1w", label: "1 week" },
  { value: "tomorrow_9", label: "Until tomorrow 09:00" },
  { value: "monday_9", label: "Until Monday 09:00" },
];
export const SNOOZE_CUSTOM = "custom";

/** Where a snooze came from, so the result can be shown there. Identifiers only. */
export const snoozeOriginSchema = z.object({
  a: alertIdSchema,
  /** channel and ts of a notification message to update in place */
  c: z
    .string()
    .regex(/^[CGD][A-Z0-9]+$/)
    .optional(),
  t: z
    .string()
    .regex(/^\d+\.\d+$/)
    .optional(),
});
export type SnoozeOrigin = z.infer<typeof snoozeOriginSchema>;
export const snoozeOriginCodec = jsonCodec(snoozeOriginSchema, LIMITS.privateMetadata, {
  checkOnEncode: true,
});

export function buildSnoozeModal(input: {
  alertName: string;
  origin: SnoozeOrigin;
  withPresets: boolean;
  now: Date;
}) {
  const defaultAt = Math.ceil((input.now.getTime() + 60 * 60_000) / (15 * 60_000)) * 15 * 60;
  const blocks: Array<Record<string, unknown>> = [
    section(
      // The name arrives a moment after the form opens (and not at all if PostHog is slow).
      `Snooze ${input.alertName ? `*${safeMrkdwn(input.alertName, 500)}*` : "this alert"}. While snoozed, PostHog does not check it.`,
    ),
  ];
  if (input.withPresets) {
    blocks.push({
      type: "input",
      block_id: BLOCK_SNOOZE_PRESET,
      optional: true,
      label: plain("For"),
      element: {
        type: "static_select",
        action_id: ACTION_SNOOZE_PRESET,
        placeholder: plain("Choose how long"),
        options: SNOOZE_PRESETS.map((p) => option(p.label, p.value)),
      },
    });
  }
  blocks.push({
    type: "input",
    block_id: BLOCK_SNOOZE_AT,
    optional: input.withPresets,
    label: plain(input.withPresets ? "Or until" : "Until"),
    element: { type: "datetimepicker", action_id: ACTION_SNOOZE_AT, initial_date_time: defaultAt },
    hint: plain("In your time zone. At most one year ahead."),
  });
  blocks.push(context(`Now: ${slackDate(input.now)}`));
  return {
    type: "modal",
    callback_id: VIEW_SNOOZE_CUSTOM,
    private_metadata: snoozeOriginCodec.encode(input.origin),
    title: plain("Snooze alert", LIMITS.viewTitle),
    submit: plain("Snooze", LIMITS.viewTitle),
    close: plain("Cancel", LIMITS.viewTitle),
    blocks,
  };
}

/** A modal with one sentence and a Close button: progress, results and errors. */
export function buildMessageModal(title: string, text: string) {
  return {
    type: "modal",
    title: plain(title, LIMITS.viewTitle),
    close: plain("Close", LIMITS.viewTitle),
    blocks: [section(text)],
  };
}
