import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from "@slack/bolt";
import type { WebClient } from "@slack/web-api";
import { withoutEndedSnooze } from "../alerts/describe.js";
import { resolutionText, userMrkdwnFor } from "../alerts/messages.js";
import type { Resolution } from "../alerts/service.js";
import { performWrite, type WriteVerb } from "../alerts/writes.js";
import { buildAlertDetail } from "../blocks/alert-detail.js";
import { buildAlertList, pageOf } from "../blocks/alert-list.js";
import { button, confirmDialog, linesWithin, notice, type SlackMessage, section } from "../blocks/common.js";
import { buildHelp, buildUsage, SUBCOMMANDS } from "../blocks/help.js";
import { parseCommand, snoozeSplits } from "../commands/parse.js";
import { ALERT_ID, type Alert } from "../posthog/schemas.js";
import { alertRefCodec, type ListFilter } from "../slack/codecs.js";
import { ACTION_CONFIRM_DELETE } from "../slack/ids.js";
import { AckAnswer, ackWithAnswer } from "../slack/json-ack.js";
import { codeSpanText, safeMrkdwn } from "../slack/mrkdwn.js";
import { isValidTimeZone, parseSnoozeWhen, type SnoozePreset, snoozePreset } from "../time/snooze.js";
import { openAlertForm } from "./alert-form.js";
import {
  announceChange,
  type ListenerDeps,
  responseUrlReplier,
  TIMED_OUT,
  within,
  yieldToOthers,
} from "./deps.js";

export const FALLBACK_TZ = "UTC";
/** Said after a snooze whose clock time was read in UTC, since the person meant their own. */
export const READ_IN_UTC_NOTE = " The time was read in UTC: Slack did not say your time zone.";

/**
 * A Slack user's time zone, or null when Slack does not say one. With `waitMs`,
 * null also when Slack takes longer than that (for answers due before an ack).
 */
export async function knownTimeZone(
  deps: ListenerDeps,
  userId: string,
  waitMs?: number,
): Promise<string | null> {
  try {
    const lookup = deps.directory.user(userId);
    const user = waitMs === undefined ? await lookup : await within(lookup, waitMs);
    const tz = user === TIMED_OUT ? undefined : user?.tz;
    return tz && isValidTimeZone(tz) ? tz : null;
  } catch {
    return null;
  }
}

/** Presets that name a clock time, which depends on the person's time zone. */
const CLOCK_PRESETS: ReadonlySet<SnoozePreset> = new Set(["tomorrow_9", "monday_9"]);

/**
 * The instant a snooze preset names for this person, and whether its clock time was read in
 * UTC for want of their zone (see knownTimeZone for `waitMs`).
 */
export async function presetInstant(
  deps: ListenerDeps,
  userId: string,
  preset: SnoozePreset,
  now: Date,
  waitMs?: number,
): Promise<{ until: Date; readInUtc: boolean }> {
  const known = await knownTimeZone(deps, userId, waitMs);
  const until = snoozePreset(preset, { now, timeZone: known ?? FALLBACK_TZ });
  return { until, readInUtc: known === null && CLOCK_PRESETS.has(preset) };
}

export function resolutionProblem(
  resolution: Exclude<Resolution, { ok: true }>,
  command: string,
): SlackMessage {
  const text = resolutionText(resolution, command);
  if (resolution.reason === "not_found") return notice(text);
  return {
    text: `“${safeMrkdwn(resolution.ref, 100)}” matches ${resolution.candidates.length} alerts.`,
    blocks: [section(text)],
  };
}

export function deleteConfirmation(alert: { id: string; name: string }): SlackMessage {
  const name = safeMrkdwn(alert.name || "(unnamed alert)", 200);
  return {
    text: `Delete the alert ${name}?`,
    blocks: [
      section(`Delete the alert *${name}*? Its check history goes with it, and this cannot be undone.`),
      {
        type: "actions",
        block_id: "delete_confirm",
        elements: [
          button("Delete alert", ACTION_CONFIRM_DELETE, {
            value: alertRefCodec.encode({ a: alert.id }),
            style: "danger",
            confirm: confirmDialog(
              "Delete this alert?",
              `${alert.name || "This alert"} will be deleted in PostHog.`,
              "Delete",
            ),
          }),
        ],
      },
    ],
  };
}

/**
 * Alerts with their insight names filled in, by the alert object PostHog's list
 * gave (older servers leave the names out). The service caches that list and
 * never changes its objects, so while it holds the same list every page shows
 * the same named copies, and the rendered rows for them (see alertRow) are
 * reused. A new list brings new objects and so fresh names.
 */
const namedCopies = new WeakMap<Alert, Alert>();

/** Keeps the copies that got their names; a failed lookup leaves one out, to be tried again. */
function rememberNames(originals: Alert[], copies: Alert[]): void {
  copies.forEach((copy, i) => {
    if (copy.insight_name !== null) namedCopies.set(originals[i] as Alert, copy);
  });
}

type ListQuery = { filter: ListFilter; words: string; offset: number };

/** Rows of the page whose insight name PostHog left out. */
function unnamedRows(all: Alert[], query: ListQuery): Alert[] {
  return pageOf(all, query).page.filter((a) => a.insight_name === null);
}

/** The page, with the insight names found so far filled in. */
function renderList(deps: ListenerDeps, all: Alert[], unnamed: Alert[], query: ListQuery, command: string) {
  const shown = unnamed.length === 0 ? all : all.map((a) => namedCopies.get(a) ?? a);
  return buildAlertList(deps.links, shown, query, command);
}

/**
 * Ack answers for list pages of one cached list, by command and query. The list
 * object changes whenever the alerts do (the service never edits one in place),
 * so an answer is right for as long as its list is cached; a new list starts
 * with none. Queries are typed by people, so only the latest few are kept.
 */
const listAnswers = new WeakMap<readonly Alert[], Map<string, AckAnswer>>();
const LIST_ANSWERS_KEPT = 16;

function ephemeralAnswer(message: SlackMessage): AckAnswer {
  return new AckAnswer({ response_type: "ephemeral", ...message });
}

/**
 * The answer to a command when it needs no call to PostHog or Slack: help, a
 * usage problem, or a list page from the cached alerts. It goes out in the ack
 * itself, so it shows at once and costs no second request; anything else is
 * answered through the response URL after the ack.
 */
export function immediateAnswer(deps: ListenerDeps, text: string, command: string): AckAnswer | null {
  const parsed = parseCommand(text);
  switch (parsed.kind) {
    case "help":
      return ephemeralAnswer(buildHelp(command));
    case "usage":
      return ephemeralAnswer(buildUsage(command, parsed.line, parsed.problem));
    case "list": {
      const all = deps.alerts.listNow();
      if (!all) return null;
      const key = JSON.stringify([command, parsed.filter, parsed.words]);
      const answers = listAnswers.get(all) ?? new Map<string, AckAnswer>();
      const kept = answers.get(key);
      if (kept) return kept;
      const query = { filter: parsed.filter, words: parsed.words, offset: 0 };
      const unnamed = unnamedRows(all, query);
      const missing = unnamed.filter((a) => !namedCopies.has(a));
      if (missing.length > 0) {
        // Rows new to this list (a write replaced them) whose insights were looked up before.
        // A name still to be looked up needs PostHog: answered after the ack.
        const named = deps.alerts.withKnownInsightNames(missing);
        if (!named) return null;
        rememberNames(missing, named);
      }
      const answer = ephemeralAnswer(renderList(deps, all, unnamed, query, command));
      if (answers.size >= LIST_ANSWERS_KEPT) answers.delete(answers.keys().next().value as string);
      answers.set(key, answer);
      listAnswers.set(all, answers);
      return answer;
    }
    default:
      return null;
  }
}

/** An alert list page with insight names filled in for the rows shown. */
export async function listMessage(
  deps: ListenerDeps,
  query: ListQuery,
  command: string,
  fresh: boolean,
): Promise<SlackMessage> {
  const all = await deps.alerts.listAll({ fresh });
  const unnamed = unnamedRows(all, query);
  if (unnamed.some((a) => !namedCopies.has(a))) {
    rememberNames(unnamed, await deps.alerts.withInsightNames(unnamed));
  }
  return renderList(deps, all, unnamed, query, command);
}

/** One alert in detail, with its recent checks and insight name. */
export async function detailMessage(deps: ListenerDeps, alertId: string): Promise<SlackMessage> {
  const [full] = await deps.alerts.withInsightNames([
    await deps.alerts.api.getAlert(alertId, { checksLimit: 10 }),
  ]);
  return buildAlertDetail(deps.links, withoutEndedSnooze(full as Alert, deps.now().getTime()));
}

interface CommandContext {
  deps: ListenerDeps;
  command: string;
  userId: string;
  channelId: string;
  triggerId: string;
  client: WebClient;
  reply: (message: SlackMessage) => Promise<unknown>;
}

async function withAlert(ctx: CommandContext, ref: string, then: (alert: Alert) => Promise<void>) {
  const resolution = await ctx.deps.alerts.resolve(ref);
  if (!resolution.ok) {
    await ctx.reply(resolutionProblem(resolution, ctx.command));
    return;
  }
  await then(resolution.alert);
}

async function write(ctx: CommandContext, ref: string, verb: WriteVerb, snoozeUntil?: Date, note = "") {
  await withAlert(ctx, ref, async (alert) => {
    const outcome = await performWrite(ctx.deps, {
      userId: ctx.userId,
      alert,
      verb,
      ...(snoozeUntil ? { snoozeUntil } : {}),
      source: "command",
    });
    await ctx.reply(notice(outcome.ok ? `${outcome.sentence}${note}` : outcome.sentence));
    if (outcome.ok)
      await announceChange(ctx.deps, outcome.alert, { verb, userId: ctx.userId, alertId: alert.id });
  });
}

type SnoozeSplit = { ref: string; when: string };

/**
 * Picks between ways to read `snooze` arguments ("Signups 7d 1h": "Signups"
 * for 7d 1h, or "Signups 7d" for 1h) by the alert names that exist: the one
 * whose name is an alert's, whole. Two such: both, with one of their alerts'
 * ids each, to ask. None: the longest time, as a lone reading would be.
 */
async function pickSnoozeSplit(
  deps: ListenerDeps,
  splits: SnoozeSplit[],
): Promise<SnoozeSplit | { both: Array<SnoozeSplit & { id: string }> }> {
  const first = splits[0] as SnoozeSplit;
  // An id needs no name lookup.
  if (ALERT_ID.test(first.ref)) return first;
  const byName = new Map<string, string>();
  for (const alert of await deps.alerts.listAll()) {
    const name = alert.name.trim().toLowerCase();
    if (!byName.has(name)) byName.set(name, alert.id);
  }
  const named = splits.flatMap((s) => {
    const id = s.ref === "" ? undefined : byName.get(s.ref.toLowerCase());
    return id ? [{ ...s, id }] : [];
  });
  if (named.length === 1) return named[0] as SnoozeSplit;
  if (named.length > 1) return { both: named.slice(0, 2) };
  return first;
}

/** A name that can be quoted in a suggested command as it is; any other is named by its id. */
const QUOTABLE = /^[^"“”'‘’`&<>*_~\n]{1,100}$/;

/** "“Signups” and “Signups 7d” are both alerts…", with a command that reads each. */
function bothAlertsAnswer(command: string, both: Array<SnoozeSplit & { id: string }>): SlackMessage {
  const [a, b] = both.map((s) => `“${safeMrkdwn(s.ref, 100)}”`);
  const [x, y] = both.map((s) => {
    const name = QUOTABLE.test(s.ref) ? `"${s.ref}"` : s.id;
    return `\`${command} snooze ${name} ${codeSpanText(s.when)}\``;
  });
  return notice(
    `${a} and ${b} are both alerts, so I can't tell where the name ends. Say which: ${x} or ${y}.`,
  );
}

export async function runCommand(ctx: CommandContext, text: string): Promise<void> {
  const parsed = parseCommand(text);
  const { deps } = ctx;
  switch (parsed.kind) {
    case "help":
      return void (await ctx.reply(buildHelp(ctx.command)));
    case "usage":
      return void (await ctx.reply(buildUsage(ctx.command, parsed.line, parsed.problem)));
    case "list": {
      const query = { filter: parsed.filter, words: parsed.words, offset: 0 };
      return void (await ctx.reply(await listMessage(deps, query, ctx.command, false)));
    }
    case "show":
      return withAlert(
        ctx,
        parsed.ref,
        async (alert) => void (await ctx.reply(await detailMessage(deps, alert.id))),
      );
    case "create":
      return openAlertForm(ctx.client, ctx.triggerId, deps, {
        mode: "create",
        insight: parsed.insight,
        userId: ctx.userId,
        channelId: ctx.channelId,
      });
    case "edit": {
      // Slack's trigger_id lasts 3 s, and finding an alert can take longer (a read by id, or
      // every page of a big project's list): unless the cached list settles it, the form opens
      // first and finds the alert while it shows "Loading".
      const known = deps.alerts.resolveCached(parsed.ref);
      if (known && !known.ok) return void (await ctx.reply(resolutionProblem(known, ctx.command)));
      return openAlertForm(ctx.client, ctx.triggerId, deps, {
        mode: "edit",
        ...(known ? { alertId: known.alert.id } : { ref: parsed.ref, command: ctx.command }),
        userId: ctx.userId,
        channelId: ctx.channelId,
      });
    }
    case "delete":
      return withAlert(ctx, parsed.ref, async (alert) => {
        const decision = await deps.policy.check(ctx.userId);
        await ctx.reply(decision.ok ? deleteConfirmation(alert) : notice(decision.reason));
      });
    case "unsnooze":
    case "enable":
    case "disable":
      return write(ctx, parsed.ref, parsed.kind);
    case "snooze": {
      const known = await knownTimeZone(deps, ctx.userId);
      const timeZone = known ?? FALLBACK_TZ;
      const now = deps.now();
      const splits = snoozeSplits(parsed.rest, (when) => {
        const read = parseSnoozeWhen(when, { now, timeZone });
        return read.ok || (read.unreadable ? false : "refused");
      });
      const split = splits.length > 1 ? await pickSnoozeSplit(deps, splits) : splits[0];
      if (split && "both" in split) return void (await ctx.reply(bothAlertsAnswer(ctx.command, split.both)));
      if (!split) {
        const lastWord = parsed.rest.split(" ").pop() ?? "";
        const why = parseSnoozeWhen(lastWord, { now, timeZone });
        const line = SUBCOMMANDS.find((s) => s.name === "snooze");
        const problem = why.ok ? "Which alert?" : why.error;
        return void (await ctx.reply(line ? buildUsage(ctx.command, line, problem) : notice(problem)));
      }
      const when = parseSnoozeWhen(split.when, { now, timeZone });
      if (!when.ok) return void (await ctx.reply(notice(when.error)));
      if (split.ref === "")
        return void (await ctx.reply(notice("Which alert? For example `snooze Signups 2h`.")));
      // A clock time was read in UTC: say so, since the person meant their own.
      const note = known === null && when.kind === "until" ? READ_IN_UTC_NOTE : "";
      return write(ctx, split.ref, "snooze", when.until, note);
    }
    case "watch":
    case "unwatch":
      // A direct message is between people; the bot cannot post alerts into it.
      if (parsed.kind === "watch" && ctx.channelId.startsWith("D"))
        return void (await ctx.reply(
          notice("Notifications go to channels: run `/alerts watch` in the channel that should get them."),
        ));
      return withAlert(ctx, parsed.ref, async (alert) => {
        if (!deps.routes) return void (await ctx.reply(notice("Notifications are not set up on this bot.")));
        const name = `*${safeMrkdwn(alert.name || "(unnamed alert)", 200)}*`;
        if (parsed.kind === "watch") {
          const added = deps.routes.add(alert.id, ctx.channelId, ctx.userId);
          deps.logger.info(
            { slackUser: ctx.userId, alertId: alert.id, channel: ctx.channelId },
            "watch added",
          );
          await ctx.reply(
            notice(
              added
                ? `<#${ctx.channelId}> will get ${name} when it fires. The bot must be able to post here (invite it if this is a private channel).`
                : `<#${ctx.channelId}> already gets ${name}.`,
            ),
          );
        } else {
          const removed = deps.routes.remove(alert.id, ctx.channelId);
          deps.logger.info(
            { slackUser: ctx.userId, alertId: alert.id, channel: ctx.channelId },
            "watch removed",
          );
          await ctx.reply(
            notice(
              removed
                ? `<#${ctx.channelId}> no longer gets ${name}.`
                : `<#${ctx.channelId}> was not watching ${name}.`,
            ),
          );
        }
      });
    case "watching": {
      if (!deps.routes) return void (await ctx.reply(notice("Notifications are not set up on this bot.")));
      const ids = deps.routes.forChannel(ctx.channelId);
      if (ids.length === 0) {
        return void (await ctx.reply(
          notice(`<#${ctx.channelId}> watches no alerts. Add one with \`${ctx.command} watch <alert>\`.`),
        ));
      }
      const alerts = await deps.alerts.listAll();
      const byId = new Map(alerts.map((a) => [a.id, a]));
      const lines = ids.map((id) => {
        const alert = byId.get(id);
        return alert
          ? `• ${safeMrkdwn(alert.name || "(unnamed alert)", 150)}`
          : `• \`${id}\` (no longer in PostHog)`;
      });
      const head = `*<#${ctx.channelId}> watches ${ids.length} alert${ids.length === 1 ? "" : "s"}:*`;
      return void (await ctx.reply({
        text: `${ids.length} alert${ids.length === 1 ? "" : "s"} post in this channel.`,
        blocks: [section(linesWithin(lines, { head, more: (left) => `…and ${left} more.` }))],
      }));
    }
  }
}

/**
 * `/alerts …` (or whatever the command is called): an answer that needs no I/O goes in
 * the ack (see immediateAnswer); otherwise ack at once, then answer through the response_url.
 */
export function commandListener(deps: ListenerDeps) {
  return async ({ command, ack, client, context }: SlackCommandMiddlewareArgs & AllMiddlewareArgs) => {
    let immediate: AckAnswer | null = null;
    try {
      immediate = immediateAnswer(deps, command.text ?? "", command.command);
    } catch (error) {
      // Answered the usual way below, where a failure becomes a sentence for the user.
      deps.logger.warn({ err: (error as Error).message }, "could not answer a command in its ack");
    }
    if (immediate) {
      await ackWithAnswer(ack, context, immediate);
      return;
    }
    await ack();
    // Let acks already waiting go out before this command's work starts.
    await yieldToOthers();
    const reply = responseUrlReplier(deps, command.response_url, false);
    const ctx: CommandContext = {
      deps,
      command: command.command,
      userId: command.user_id,
      channelId: command.channel_id,
      triggerId: command.trigger_id,
      client,
      reply,
    };
    try {
      await runCommand(ctx, command.text ?? "");
    } catch (error) {
      deps.logger.warn(
        {
          slackUser: command.user_id,
          code: (error as { code?: string }).code,
          err: (error as Error).message,
        },
        "command failed",
      );
      await reply(notice(userMrkdwnFor(error))).catch((e: Error) =>
        deps.logger.error({ err: e.message }, "could not answer through response_url"),
      );
    }
  };
}
