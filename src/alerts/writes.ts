import type { Logger } from "pino";
import type { WritePolicy } from "../auth/policy.js";
import type { Alert, AlertPatch } from "../posthog/schemas.js";
import { plainDate, slackDate } from "../slack/dates.js";
import { safeMrkdwn } from "../slack/mrkdwn.js";
import { userMrkdwnFor } from "./messages.js";
import type { AlertService } from "./service.js";

export type WriteVerb = "snooze" | "unsnooze" | "enable" | "disable" | "delete";

export type WriteOutcome =
  | { ok: true; alert: Alert | null; sentence: string; plain: string }
  | { ok: false; refused: boolean; sentence: string };

interface WriteDeps {
  alerts: AlertService;
  policy: WritePolicy;
  logger: Logger;
}

const PATCHES: Record<Exclude<WriteVerb, "delete" | "snooze">, AlertPatch> = {
  unsnooze: { snoozed_until: null },
  enable: { enabled: true },
  disable: { enabled: false },
};

function describeResult(
  verb: WriteVerb,
  name: string,
  alert: Alert | null,
  userId: string,
): { sentence: string; plain: string } {
  const who = `<@${userId}>`;
  const safe = `*${safeMrkdwn(name || "(unnamed alert)", 200)}*`;
  switch (verb) {
    case "snooze": {
      const until = alert?.snoozed_until;
      return until
        ? {
            sentence: `🔕 ${who} snoozed ${safe} until ${slackDate(until)}.`,
            plain: `Snoozed ${name} until ${plainDate(until)}.`,
          }
        : { sentence: `🔕 ${who} snoozed ${safe}.`, plain: `Snoozed ${name}.` };
    }
    case "unsnooze":
      return {
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
    source: string;
  },
): Promise<WriteOutcome> {
  const decision = await deps.policy.check(request.userId);
  if (!decision.ok) {
    deps.logger.info(
      { slackUser: request.userId, alertId: request.alert.id, action: request.verb, source: request.source },
      "write refused by WRITE_ACCESS policy",
    );
    return { ok: false, refused: true, sentence: decision.reason };
  }
  let patch: AlertPatch | null = null;
  try {
    let result: Alert | null = null;
    if (request.verb === "delete") {
      await deps.alerts.delete(request.alert.id);
    } else {
      patch =
        request.verb === "snooze"
          ? { snoozed_until: (request.snoozeUntil ?? new Date()).toISOString() }
          : PATCHES[request.verb];
      result = await deps.alerts.update(request.alert.id, patch);
    }
    deps.logger.info(
      {
        slackUser: request.userId,
        alertId: request.alert.id,
        action: request.verb,
        changes: patch,
        source: request.source,
      },
      "alert changed from Slack",
    );
    return {
      ok: true,
      alert: result,
      ...describeResult(request.verb, result?.name ?? request.alert.name, result, request.userId),
    };
  } catch (error) {
    deps.logger.warn(
      {
        slackUser: request.userId,
        alertId: request.alert.id,
        action: request.verb,
        code: (error as { code?: string }).code,
        err: error instanceof Error ? error.message : String(error),
      },
      "alert change failed",
    );
    return { ok: false, refused: false, sentence: userMrkdwnFor(error) };
  }
}
