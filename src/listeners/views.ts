import type { ViewSubmitAction } from "@slack/bolt";
import { MESSAGES } from "../alerts/messages.js";
import { performWrite } from "../alerts/writes.js";
import {
  ACTION_SNOOZE_PRESET,
  BLOCK_SNOOZE_PRESET,
  buildMessageModal,
  SNOOZE_PRESETS,
  snoozeOriginCodec,
} from "../blocks/snooze-modal.js";
import { ACTION_SNOOZE_AT, BLOCK_SNOOZE_AT, VIEW_SNOOZE_CUSTOM } from "../slack/ids.js";
import { MAX_SNOOZE_MS, type SnoozePreset } from "../time/snooze.js";
import { presetInstant, READ_IN_UTC_NOTE } from "./commands.js";
import { announceChange, type ListenerDeps, type Shown, tellInChannel, unshownNote } from "./deps.js";
import type { ListenerRouter, ViewArgs as RoutedViewArgs } from "./router.js";

type ViewArgs = RoutedViewArgs<ViewSubmitAction>;

/**
 * How long a submission waits for the user's time zone: the answer goes in the ack,
 * which Slack wants within 3 s. A slower lookup reads the preset in UTC.
 */
const TIME_ZONE_WAIT_MS = 1000;

/**
 * Reads the snooze modal: a preset or a picked time. Returns the instant (and whether a
 * clock time was read in UTC, for want of the person's zone) or an inline error.
 */
export async function readSnoozeChoice(
  deps: ListenerDeps,
  userId: string,
  values: ViewSubmitAction["view"]["state"]["values"],
): Promise<{ ok: true; until: Date; readInUtc?: true } | { ok: false; errors: Record<string, string> }> {
  const now = deps.now();
  const picked = values[BLOCK_SNOOZE_AT]?.[ACTION_SNOOZE_AT]?.selected_date_time;
  const presetValue = values[BLOCK_SNOOZE_PRESET]?.[ACTION_SNOOZE_PRESET]?.selected_option?.value;
  if (presetValue) {
    const preset = SNOOZE_PRESETS.find((p) => p.value === presetValue);
    if (!preset)
      return { ok: false, errors: { [BLOCK_SNOOZE_PRESET]: "Choose one of the listed durations." } };
    const { until, readInUtc } = await presetInstant(
      deps,
      userId,
      preset.value as SnoozePreset,
      now,
      TIME_ZONE_WAIT_MS,
    );
    return readInUtc ? { ok: true, until, readInUtc: true } : { ok: true, until };
  }
  if (typeof picked !== "number") {
    const block = values[BLOCK_SNOOZE_PRESET] ? BLOCK_SNOOZE_PRESET : BLOCK_SNOOZE_AT;
    return { ok: false, errors: { [block]: "Choose how long, or pick a date and time." } };
  }
  const until = new Date(picked * 1000);
  if (!Number.isFinite(until.getTime())) {
    return {
      ok: false,
      errors: { [BLOCK_SNOOZE_AT]: "Snoozes can last at most one year; pick an earlier time." },
    };
  }
  if (until.getTime() <= now.getTime()) {
    return {
      ok: false,
      errors: { [BLOCK_SNOOZE_AT]: "That time has already passed; pick a time in the future." },
    };
  }
  if (until.getTime() - now.getTime() > MAX_SNOOZE_MS) {
    return {
      ok: false,
      errors: { [BLOCK_SNOOZE_AT]: "Snoozes can last at most one year; pick an earlier time." },
    };
  }
  return { ok: true, until };
}

export function registerViews(app: ListenerRouter, deps: ListenerDeps): void {
  app.view<ViewSubmitAction>(VIEW_SNOOZE_CUSTOM, async ({ ack, body, view, client }: ViewArgs) => {
    const origin = snoozeOriginCodec.decode(view.private_metadata);
    const userId = body.user.id;
    if (!origin) {
      await ack({
        response_action: "update",
        view: buildMessageModal("Snooze alert", MESSAGES.tampered) as never,
      });
      return;
    }
    const choice = await readSnoozeChoice(deps, userId, view.state.values);
    if (!choice.ok) {
      await ack({ response_action: "errors", errors: choice.errors });
      return;
    }
    await ack({ response_action: "update", view: buildMessageModal("Snooze alert", "Snoozing…") as never });
    const fromMessage = origin.c && origin.t ? { channel: origin.c, ts: origin.t } : undefined;
    const outcome = await performWrite(deps, {
      userId,
      alert: { id: origin.a, name: "" },
      verb: "snooze",
      snoozeUntil: choice.until,
      // Opened from a notification message, which may not show a snooze set meanwhile.
      keepLongerSnooze: fromMessage !== undefined,
      source: "modal",
    });
    // Recorded first, so the answer can say when the message it came from will not show it.
    let shown: Shown = "shown";
    if (outcome.ok)
      shown = await announceChange(
        deps,
        outcome.alert,
        { verb: "snooze", userId, alertId: origin.a },
        fromMessage,
      );
    // Not sent because of a change the message does not show yet: show it.
    else if (outcome.current)
      shown = await announceChange(
        deps,
        outcome.current,
        { verb: "refresh", userId, alertId: origin.a },
        fromMessage,
      );
    // A clock time read in UTC is said, since the person meant their own.
    const sentence =
      outcome.sentence +
      (outcome.ok && choice.readInUtc ? READ_IN_UTC_NOTE : "") +
      (fromMessage ? unshownNote(shown, "The message this came from", !outcome.ok) : "");
    await client.views
      .update({ view_id: view.id, view: buildMessageModal("Snooze alert", sentence) as never })
      .catch(async (e: Error) => {
        deps.logger.warn({ err: e.message }, "could not update the snooze modal");
        // Closed meanwhile: say it where the snooze came from, when it came from a channel.
        await tellInChannel(deps, client, origin.c, userId, sentence);
      });
  });
}
