import type { WebClient } from "@slack/web-api";
import type { Logger } from "pino";
import type { PostHogLinks } from "../alerts/describe.js";
import type { AlertService } from "../alerts/service.js";
import type { WritePolicy } from "../auth/policy.js";
import type { SlackMessage } from "../blocks/common.js";
import type { Alert } from "../posthog/schemas.js";
import type { SlackDirectory } from "../slack/directory.js";
import type { ResponderPort } from "../slack/respond.js";

/** Per-alert channel routes set with `/alerts watch`. */
export interface RoutesPort {
  add(alertId: string, channel: string, userId: string): boolean;
  remove(alertId: string, channel: string): boolean;
  forChannel(channel: string): string[];
}

/** What the notification side wants to hear about changes made from Slack. */
export interface NotificationsPort {
  /**
   * An alert changed from Slack; refresh its open notification message(s). A `verb` that is
   * not an action (the listeners pass "refresh" when a write was not sent because of a change
   * the message does not show) records nothing and only redraws. Resolves to false when
   * `origin`, the message the change came from, is not one of them: an earlier message of the
   * alert (replaced by a later one, or resolved) that nothing will redraw.
   */
  alertChanged(
    alert: Alert | null,
    action: { verb: string; userId: string; alertId: string },
    origin?: { channel: string; ts: string },
  ): Promise<boolean>;
}

/** Everything a listener may use. Built once in the composition root; tests pass fakes. */
export interface ListenerDeps {
  alerts: AlertService;
  policy: WritePolicy;
  directory: SlackDirectory;
  links: PostHogLinks;
  logger: Logger;
  now: () => Date;
  /** Answers interactions through their response_url. */
  responder: ResponderPort;
  routes?: RoutesPort;
  notifications?: NotificationsPort;
}

/**
 * Answers one interaction through its response_url, as a message only the user sees.
 * Building the answer was one slice of work; serializing and posting it is the next.
 */
export function responseUrlReplier(deps: ListenerDeps, responseUrl: string, replaceOriginal: boolean) {
  return async (message: SlackMessage): Promise<void> => {
    await yieldToOthers();
    await deps.responder.send(responseUrl, {
      response_type: "ephemeral",
      replace_original: replaceOriginal,
      ...message,
    });
  };
}

/** Whether the message a change came from will show it (see `announceChange`). */
export type Shown = "shown" | "earlier" | "failed";

/**
 * What the answer to a write (or to a write refused because of a change the message does not
 * show) adds when the message it came from will not show the outcome: nothing when it will.
 * `subject` names that message as the answer's reader knows it.
 */
export function unshownNote(shown: Shown, subject: string, refused = false): string {
  if (shown === "shown" || (shown === "failed" && refused)) return "";
  if (shown === "failed") return ` ${subject} could not be updated to show it.`;
  return ` ${subject} is no longer updated, so it will not show ${refused ? "the alert as it is now" : "this"}.`;
}

/**
 * Tells the notification side about a write PostHog confirmed, so open notification
 * messages show who did what. Its failure (a database write) is logged, never thrown:
 * the user's change has happened, and an error reply would say it had not. Says whether
 * `origin` will show the change: "shown", "earlier" (a message nothing redraws any more) or
 * "failed", so a caller whose only answer was the redrawn message can say it instead.
 */
export async function announceChange(
  deps: Pick<ListenerDeps, "notifications" | "logger">,
  alert: Alert | null,
  action: { verb: string; userId: string; alertId: string },
  origin?: { channel: string; ts: string },
): Promise<Shown> {
  try {
    const shown = (await deps.notifications?.alertChanged(alert, action, origin)) ?? true;
    return shown ? "shown" : "earlier";
  } catch (error) {
    deps.logger.warn(
      { alertId: action.alertId, action: action.verb, err: (error as Error).message },
      "could not record the change for its notification message",
    );
    return "failed";
  }
}

/**
 * A sentence only `userId` sees, in `channel` when there is one: where a form's outcome goes
 * when the form itself is gone. A failure is logged, not thrown.
 */
export async function tellInChannel(
  deps: Pick<ListenerDeps, "logger">,
  client: Pick<WebClient, "chat">,
  channel: string | undefined,
  userId: string,
  text: string,
): Promise<void> {
  if (!channel) return;
  await client.chat.postEphemeral({ channel, user: userId, text }).catch((error: unknown) =>
    deps.logger.warn(
      {
        slackError: (error as { data?: { error?: string } }).data?.error,
        err: error instanceof Error ? error.message : String(error),
      },
      "could not answer in the channel",
    ),
  );
}

export { TIMED_OUT, within } from "../time/within.js";

/** One turn of the event loop, so pending I/O (other requests' acks) runs first. */
export function yieldToOthers(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
