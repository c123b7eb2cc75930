import type { Logger } from "pino";
import type { WritePolicy } from "../auth/policy.js";
import type { Alert, AlertPatch } from "../posthog/schemas.js";
import { plainDate, slackDate } from "../slack/dates.js";
import { safeMrkdwn } from "../slack/mrkdwn.js";
import { toEpochMs } from "../store/time.js";
import { userMrkdwnFor } from "./messages.js";
import type { AlertService } from "./service.js";

export type WriteVerb = "snooze" | "unsnooze" | "enable" | "disable" | "delete";

export type WriteOutcome =
  | { ok: true; alert: Alert | null; sentence: string; plain: string }
  /** `current`: the alert as PostHog has it, when the write was not sent because of it. */
  | { ok: false; refused: boolean; sentence: string; current?: Alert };

interface WriteDeps {
  alerts: AlertService;
  policy: WritePolicy;
  logger: Logger;
}

/**
 * A snooze that ends this much earlier than the one in place cuts it short. From a
 * notification message that is not done (`keepLongerSnooze`): the person picking may
 * not know of the longer snooze (a message learns of snoozes set in PostHog only at the
 * next check), and it would wake the alert up early for everyone. Elsewhere (a command,
 * or a form opened from the alert's details, which show the snooze) it is done, and
 * said. Less than this apart counts as the same snooze.
 */
export const SHORTER_SNOOZE_SLACK_MS = 60_000;

const PATCHES: Record<Exclude<WriteVerb, "delete" | "snooze" | "unsnooze">, AlertPatch> = {
  enable: { enabled: true },
  disable: { enabled: false },
};

/** An alert's name in bold, as every sentence here names it. */
function boldName(name: string): string {
  return `*${safeMrkdwn(name || "(unnamed alert)", 200)}*`;
}

function describeResult(
  verb: WriteVerb,
  name: string,
  alert: Alert | null,
  userId: string,
  cutShort: Date | null,
): { sentence: string; plain: string } {
  const who = `<@${userId}>`;
  const safe = boldName(name);
  switch (verb) {
    case "snooze": {
      // performWrite has made sure PostHog kept a snooze.
      const until = alert?.snoozed_until ?? "";
      const was = cutShort ? cutShort.toISOString() : null;
      // A disabled alert is not checked at all; the snooze only matters once it is enabled.
      const disabled =
        alert?.enabled === false
          ? " It is disabled, so PostHog does not check it until someone enables it."
          : "";
      return {
        sentence: `🔕 ${who} snoozed ${safe} until ${slackDate(until)}${was ? `, cutting short a snooze until ${slackDate(was)}` : ""}.${disabled}`,
        plain: `Snoozed ${name} until ${plainDate(until)}${was ? `, cutting short a snooze until ${plainDate(was)}` : ""}.`,
      };
    }
    case "unsnooze":
      return alert?.enabled === false
        ? {
            sentence: `🔔 ${who} unsnoozed ${safe}. It is still disabled, so PostHog does not check it until someone enables it.`,
            plain: `Unsnoozed ${name}; it is still disabled.`,
          }
        : {
            sentence: `🔔 ${who} unsnoozed ${safe}; it is checked again on schedule.`,
            plain: `Unsnoozed ${name}.`,
          };
    case "enable":
      return { sentence: `▶️ ${who} enabled ${safe}.`, plain: `Enabled ${name}.` };
    case "disable":
      return { sentence: `⏸ ${who} disabled ${safe}. Enable it again any time.`, plain: `Disabled ${name}.` };
    case "delete":
      return { sentence: `🗑 ${who} deleted ${safe}.`, plain: `Deleted ${name}.` };
  }
}

/**
 * The one path every write from Slack takes: the permission policy, the
 * PostHog call, an audit log line, and a sentence for the user.
 */
export async function performWrite(
  deps: WriteDeps,
  request: {
    userId: string;
    alert: Pick<Alert, "id" | "name">;
    verb: WriteVerb;
    snoozeUntil?: Date;
    /** Keep a longer snooze in place instead of cutting it short (see SHORTER_SNOOZE_SLACK_MS). */
    keepLongerSnooze?: boolean;
    source: string;
  },
): Promise<WriteOutcome> {
  const audit = {
    slackUser: request.userId,
    alertId: request.alert.id,
    action: request.verb,
    source: request.source,
  };
  const decision = await deps.policy.check(request.userId);
  if (!decision.ok) {
    deps.logger.info(audit, "write refused by WRITE_ACCESS policy");
    return { ok: false, refused: true, sentence: decision.reason };
  }
  let patch: AlertPatch | null = null;
  let cutShort: Date | null = null;
  try {
    let result: Alert | null = null;
    if (request.verb === "delete") {
      await deps.alerts.delete(request.alert.id);
    } else if (request.verb === "snooze") {
      const until = request.snoozeUntil ?? new Date();
      const untilIso = until.toISOString();
      patch = { snoozed_until: untilIso };
      // The client reads the alert before it PATCHes (see SHORTER_SNOOZE_SLACK_MS).
      const snooze = await deps.alerts.snooze(request.alert.id, untilIso, {
        keepLongerByMs: request.keepLongerSnooze ? SHORTER_SNOOZE_SLACK_MS : undefined,
      });
      const longerMs = toEpochMs(snooze.previousUntil);
      const longer = longerMs === null ? null : new Date(longerMs);
      if (!snooze.sent) {
        deps.logger.info(audit, "snooze not sent: a longer one is in place");
        return {
          ok: false,
          refused: false,
          current: snooze.alert,
          sentence: `🔕 ${boldName(snooze.alert.name)} is already snoozed until ${slackDate(longer?.toISOString() ?? "")}, later than the ${slackDate(untilIso)} you picked, so nothing changed. To end it sooner, snooze it from \`/alerts show\`, or unsnooze it first.`,
        };
      }
      if (longer && longer.getTime() - until.getTime() > SHORTER_SNOOZE_SLACK_MS) cutShort = longer;
      result = snooze.alert;
      if (!result.snoozed_until) {
        deps.logger.warn(audit, "PostHog accepted a snooze but kept none");
        return {
          ok: false,
          refused: false,
          sentence: `⚠️ PostHog accepted the snooze for ${boldName(result.name)} but kept none, so it is not snoozed. Try again, or snooze it in PostHog.`,
        };
      }
    } else if (request.verb === "unsnooze") {
      patch = { snoozed_until: null };
      // The client reads the alert first: unsnoozing one that is not snoozed would clear its Firing state.
      const unsnooze = await deps.alerts.unsnooze(request.alert.id);
      if (!unsnooze.sent) {
        deps.logger.info(audit, "unsnooze not sent: no snooze in force");
        return {
          ok: false,
          refused: false,
          current: unsnooze.alert,
          sentence: `🔔 ${boldName(unsnooze.alert.name)} is not snoozed, so nothing changed.`,
        };
      }
      result = unsnooze.alert;
    } else {
      patch = PATCHES[request.verb];
      result = await deps.alerts.update(request.alert.id, patch);
    }
    deps.logger.info({ ...audit, changes: patch }, "alert changed from Slack");
    return {
      ok: true,
      alert: result,
      ...describeResult(request.verb, result?.name ?? request.alert.name, result, request.userId, cutShort),
    };
  } catch (error) {
    deps.logger.warn(
      {
        ...audit,
        code: (error as { code?: string }).code,
        err: error instanceof Error ? error.message : String(error),
      },
      "alert change failed",
    );
    return { ok: false, refused: false, sentence: userMrkdwnFor(error) };
  }
}
