import type { BlockAction } from "@slack/bolt";
import { MESSAGES, userMrkdwnFor } from "../alerts/messages.js";
import { performWrite, type WriteVerb } from "../alerts/writes.js";
import { rowChangeDone } from "../blocks/alert-detail.js";
import { notice } from "../blocks/common.js";
import { alertIdFromBlockId } from "../blocks/notification.js";
import {
  buildSnoozeModal,
  SNOOZE_CUSTOM,
  SNOOZE_PRESETS,
  type SnoozeOrigin,
} from "../blocks/snooze-modal.js";
import { alertRefCodec, listPageCodec, rowMenuCodec, toggleCodec } from "../slack/codecs.js";
import {
  ACTION_CONFIRM_DELETE,
  ACTION_LIST_PAGE,
  ACTION_NOTIFY_DISABLE,
  ACTION_NOTIFY_ENABLE,
  ACTION_NOTIFY_OPEN,
  ACTION_NOTIFY_SNOOZE,
  ACTION_NOTIFY_UNSNOOZE,
  ACTION_OPEN_IN_POSTHOG,
  ACTION_ROW_MENU,
  ACTION_SHOW_DELETE,
  ACTION_SHOW_EDIT,
  ACTION_SHOW_SNOOZE,
  ACTION_SHOW_TOGGLE,
  ACTION_SHOW_UNSNOOZE,
} from "../slack/ids.js";
import type { SnoozePreset } from "../time/snooze.js";
import { openAlertForm } from "./alert-form.js";
import {
  deleteConfirmation,
  detailMessage,
  listMessage,
  presetInstant,
  READ_IN_UTC_NOTE,
} from "./commands.js";
import { announceChange, type ListenerDeps, responseUrlReplier, unshownNote, yieldToOthers } from "./deps.js";

/** How a notification click's answer names the message clicked. */
const THIS_MESSAGE = "This message";

import type { ListenerRouter, ActionArgs as RoutedActionArgs } from "./router.js";

type ActionArgs = RoutedActionArgs<BlockAction>;

/**
 * What an action's work after the ack needs from Bolt's arguments. Clicks wait on
 * PostHog for up to seconds; keeping only these fields lets Bolt's request body
 * (with the whole message it came from) and context go as soon as the ack is out.
 */
interface Click {
  action: BlockAction["actions"][number];
  body: {
    user: { id: string };
    trigger_id: string;
    response_url: string;
    channel?: { id: string };
    message?: { ts: string };
  };
  client: ActionArgs["client"];
}

function clickOf(args: ActionArgs): Click {
  const { body } = args;
  const channel = body.channel?.id;
  const ts = body.message?.ts;
  return {
    action: args.action,
    body: {
      user: { id: body.user.id },
      trigger_id: body.trigger_id,
      response_url: body.response_url,
      ...(channel ? { channel: { id: channel } } : {}),
      ...(ts ? { message: { ts } } : {}),
    },
    client: args.client,
  };
}

/** The action's value (button) or selected option value (menus). */
function actionValue(action: BlockAction["actions"][number]): string | undefined {
  if ("selected_option" in action && action.selected_option) return action.selected_option.value;
  if ("value" in action) return action.value;
  return undefined;
}

function replier(deps: ListenerDeps, args: Click, replaceOriginal: boolean) {
  return responseUrlReplier(deps, args.body.response_url, replaceOriginal);
}

/**
 * Acks, then runs an action body with only what it needs (see Click); any failure
 * reaches the clicker as one sentence.
 */
function guarded(deps: ListenerDeps, body: (args: Click) => Promise<void>) {
  return (args: ActionArgs): Promise<void> => args.ack().then(() => afterAck(deps, body, clickOf(args)));
}

async function afterAck(deps: ListenerDeps, body: (args: Click) => Promise<void>, args: Click) {
  // Let acks already waiting go out before this action's work starts.
  await yieldToOthers();
  try {
    await body(args);
  } catch (error) {
    deps.logger.warn(
      {
        slackUser: args.body.user.id,
        action: args.action.action_id,
        code: (error as { code?: string }).code,
        err: (error as Error).message,
      },
      "action failed",
    );
    await replier(
      deps,
      args,
      false,
    )(notice(userMrkdwnFor(error))).catch((e: Error) =>
      deps.logger.error({ err: e.message }, "could not answer through response_url"),
    );
  }
}

/**
 * Where a snooze picked from a list or from `/alerts show` came from: the channel (or DM) the
 * list was in, so that if the modal is closed before the outcome, it is said there. No message
 * `ts`: those lists are not notifications, so no message is redrawn.
 */
function listOrigin(args: Click, alertId: string): SnoozeOrigin {
  return { a: alertId, ...(args.body.channel ? { c: args.body.channel.id } : {}) };
}

async function openSnooze(
  deps: ListenerDeps,
  args: Click,
  alertId: string,
  origin: SnoozeOrigin,
  withPresets: boolean,
) {
  const view = buildSnoozeModal({ alertName: "", origin, withPresets, now: deps.now() });
  const opened = await args.client.views.open({ trigger_id: args.body.trigger_id, view: view as never });
  const alert = await deps.alerts.api.getAlert(alertId).catch(() => null);
  if (alert && opened.view?.id) {
    const full = buildSnoozeModal({ alertName: alert.name, origin, withPresets, now: deps.now() });
    await args.client.views
      .update({ view_id: opened.view.id, hash: opened.view.hash, view: full as never })
      .catch(() => undefined);
  }
}

async function writeFromEphemeral(deps: ListenerDeps, args: Click, alertId: string, verb: WriteVerb) {
  const alert = await deps.alerts.api.getAlert(alertId);
  const outcome = await performWrite(deps, { userId: args.body.user.id, alert, verb, source: "button" });
  await replier(
    deps,
    args,
    false,
  )(outcome.ok ? rowChangeDone(outcome.sentence, alertId, verb) : notice(outcome.sentence));
  if (outcome.ok) await announceChange(deps, outcome.alert, { verb, userId: args.body.user.id, alertId });
}

/** A write from a button under `/alerts show`: the details drawn again, then the sentence. */
async function writeFromDetail(
  deps: ListenerDeps,
  args: Click,
  alert: { id: string; name: string },
  verb: WriteVerb,
): Promise<void> {
  const userId = args.body.user.id;
  const alertId = alert.id;
  const outcome = await performWrite(deps, { userId, alert, verb, source: "button" });
  if (outcome.ok) {
    // The refreshed view is a courtesy; the sentence below is the answer.
    await detailMessage(deps, alertId)
      .then((message) => replier(deps, args, true)(message))
      .catch((error: Error) =>
        deps.logger.warn({ alertId, err: error.message }, "could not refresh the alert's details"),
      );
  }
  await replier(deps, args, false)(notice(outcome.sentence));
  if (outcome.ok) await announceChange(deps, outcome.alert, { verb, userId, alertId });
}

export function registerActions(app: ListenerRouter, deps: ListenerDeps): void {
  // Previous / Next on an alert list
  app.action<BlockAction>(
    new RegExp(`^${ACTION_LIST_PAGE}`),
    guarded(deps, async (args) => {
      const page = listPageCodec.decode(actionValue(args.action));
      if (!page) return void (await replier(deps, args, false)(notice(MESSAGES.tampered)));
      await replier(
        deps,
        args,
        true,
      )(await listMessage(deps, { filter: page.f, words: page.q, offset: page.o }, "/alerts", false));
    }),
  );

  // A list row's overflow menu
  app.action<BlockAction>(
    ACTION_ROW_MENU,
    guarded(deps, async (args) => {
      const choice = rowMenuCodec.decode(actionValue(args.action));
      if (!choice) return void (await replier(deps, args, false)(notice(MESSAGES.tampered)));
      const userId = args.body.user.id;
      switch (choice.v) {
        case "show":
          // "Open in PostHog" is a link; Slack still sends the click. Nothing else to do.
          return;
        case "edit":
          return openAlertForm(args.client, args.body.trigger_id, deps, {
            mode: "edit",
            alertId: choice.a,
            userId,
            ...(args.body.channel ? { channelId: args.body.channel.id } : {}),
          });
        case "snooze":
          return openSnooze(deps, args, choice.a, listOrigin(args, choice.a), true);
        case "delete": {
          const decision = await deps.policy.check(userId);
          if (!decision.ok) return void (await replier(deps, args, false)(notice(decision.reason)));
          const alert = await deps.alerts.api.getAlert(choice.a);
          return void (await replier(deps, args, false)(deleteConfirmation(alert)));
        }
        case "unsnooze":
        case "enable":
        case "disable":
          return writeFromEphemeral(deps, args, choice.a, choice.v);
      }
    }),
  );

  // Buttons under `/alerts show`
  const refAction = (actionId: string, body: (args: Click, alertId: string) => Promise<void>) =>
    app.action<BlockAction>(
      actionId,
      guarded(deps, async (args) => {
        const ref = alertRefCodec.decode(actionValue(args.action));
        if (!ref) return void (await replier(deps, args, false)(notice(MESSAGES.tampered)));
        await body(args, ref.a);
      }),
    );
  refAction(ACTION_SHOW_EDIT, (args, alertId) =>
    openAlertForm(args.client, args.body.trigger_id, deps, {
      mode: "edit",
      alertId,
      userId: args.body.user.id,
      ...(args.body.channel ? { channelId: args.body.channel.id } : {}),
    }),
  );
  refAction(ACTION_SHOW_SNOOZE, (args, alertId) =>
    openSnooze(deps, args, alertId, listOrigin(args, alertId), true),
  );
  // The verb comes from the button, so a click on an out-of-date message does what its label
  // said; messages from before the verb was in the value fall back to the alert's state.
  app.action<BlockAction>(
    ACTION_SHOW_TOGGLE,
    guarded(deps, async (args) => {
      const choice = toggleCodec.decode(actionValue(args.action));
      if (!choice) return void (await replier(deps, args, false)(notice(MESSAGES.tampered)));
      const alertId = choice.a;
      const alert = choice.v ? { id: alertId, name: "" } : await deps.alerts.api.getAlert(alertId);
      const verb = choice.v ?? ("enabled" in alert && alert.enabled ? "disable" : "enable");
      await writeFromDetail(deps, args, alert, verb);
    }),
  );
  refAction(ACTION_SHOW_UNSNOOZE, (args, alertId) =>
    writeFromDetail(deps, args, { id: alertId, name: "" }, "unsnooze"),
  );
  refAction(ACTION_SHOW_DELETE, async (args, alertId) => {
    const decision = await deps.policy.check(args.body.user.id);
    if (!decision.ok) return void (await replier(deps, args, false)(notice(decision.reason)));
    await replier(deps, args, false)(deleteConfirmation(await deps.alerts.api.getAlert(alertId)));
  });
  refAction(ACTION_CONFIRM_DELETE, async (args, alertId) => {
    const alert = await deps.alerts.api.getAlert(alertId);
    const outcome = await performWrite(deps, {
      userId: args.body.user.id,
      alert,
      verb: "delete",
      source: "button",
    });
    await replier(deps, args, outcome.ok)(notice(outcome.sentence));
    if (outcome.ok) await announceChange(deps, null, { verb: "delete", userId: args.body.user.id, alertId });
  });
  // Link buttons still send an action; ack them so Slack shows no error.
  for (const id of [ACTION_OPEN_IN_POSTHOG, ACTION_NOTIFY_OPEN])
    app.action(id, async ({ ack }) => void (await ack()));

  // Controls on a firing-alert notification in a channel
  const notifyAction = (
    actionId: string,
    body: (
      args: Click,
      alertId: string,
      origin: { channel: string; ts: string } | undefined,
    ) => Promise<void>,
  ) =>
    app.action<BlockAction>(
      actionId,
      guarded(deps, async (args) => {
        // Buttons carry the alert id in their value; the snooze menu's options carry only the
        // preset, so its alert id comes from the controls block's id.
        const alertId =
          alertRefCodec.decode(actionValue(args.action))?.a ?? alertIdFromBlockId(args.action.block_id);
        if (!alertId) return void (await replier(deps, args, false)(notice(MESSAGES.tampered)));
        const channel = args.body.channel?.id;
        const ts = args.body.message?.ts;
        await body(args, alertId, channel && ts ? { channel, ts } : undefined);
      }),
    );
  const notifyWrite = async (
    args: Click,
    alertId: string,
    origin: { channel: string; ts: string } | undefined,
    verb: WriteVerb,
    snoozeUntil?: Date,
    /** The snooze time was read in UTC: Slack did not say the clicker's time zone. */
    readInUtc = false,
  ) => {
    const userId = args.body.user.id;
    const outcome = await performWrite(deps, {
      userId,
      alert: { id: alertId, name: "" },
      verb,
      ...(snoozeUntil ? { snoozeUntil } : {}),
      keepLongerSnooze: true,
      source: "notification",
    });
    if (!outcome.ok) {
      // Not sent because of a change the message does not show yet: show it.
      const shown = outcome.current
        ? await announceChange(deps, outcome.current, { verb: "refresh", userId, alertId }, origin)
        : "shown";
      await replier(
        deps,
        args,
        false,
      )(notice(`${outcome.sentence}${unshownNote(shown, THIS_MESSAGE, true)}`));
      return;
    }
    // PostHog's answer was parsed in this slice; recording the action (a database write) is the next.
    await yieldToOthers();
    // The redrawn message is the clicker's answer; when it cannot be redrawn, they are told instead.
    const unshown = unshownNote(
      await announceChange(deps, outcome.alert, { verb, userId, alertId }, origin),
      THIS_MESSAGE,
    );
    // The message shows a time in each viewer's zone; only the clicker needs to know it was read in UTC.
    if (unshown || readInUtc)
      await replier(
        deps,
        args,
        false,
      )(notice(`${outcome.sentence}${readInUtc ? READ_IN_UTC_NOTE : ""}${unshown}`));
  };
  notifyAction(ACTION_NOTIFY_SNOOZE, async (args, alertId, origin) => {
    const choice = "selected_option" in args.action ? args.action.selected_option?.value : undefined;
    if (choice === SNOOZE_CUSTOM) {
      return openSnooze(
        deps,
        args,
        alertId,
        { a: alertId, ...(origin ? { c: origin.channel, t: origin.ts } : {}) },
        false,
      );
    }
    const preset = SNOOZE_PRESETS.find((p) => p.value === choice);
    if (!preset) return void (await replier(deps, args, false)(notice(MESSAGES.tampered)));
    const { until, readInUtc } = await presetInstant(
      deps,
      args.body.user.id,
      preset.value as SnoozePreset,
      deps.now(),
    );
    await notifyWrite(args, alertId, origin, "snooze", until, readInUtc);
  });
  notifyAction(ACTION_NOTIFY_UNSNOOZE, (args, alertId, origin) =>
    notifyWrite(args, alertId, origin, "unsnooze"),
  );
  notifyAction(ACTION_NOTIFY_DISABLE, (args, alertId, origin) =>
    notifyWrite(args, alertId, origin, "disable"),
  );
  notifyAction(ACTION_NOTIFY_ENABLE, (args, alertId, origin) => notifyWrite(args, alertId, origin, "enable"));
}
