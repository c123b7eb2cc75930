import { isPostHogError } from "../posthog/errors.js";
import { safeMrkdwn } from "../slack/mrkdwn.js";

/** Sentences people see when something goes wrong outside PostHog's own errors. */
export const MESSAGES = {
  unexpected:
    "Something went wrong on the bot's side and nothing was changed. Try again; if it keeps happening, ask whoever runs the bot to check its logs.",
  tampered: "That button is no longer valid. Run the command again.",
} as const;

/** The sentence to show a Slack user for any failure. Never a stack trace, never a secret. */
export function userMessageFor(error: unknown): string {
  if (isPostHogError(error)) return error.userMessage;
  return MESSAGES.unexpected;
}

/**
 * The same sentence, escaped for mrkdwn: PostHog's own `detail` text is
 * part of it, and is no more trusted than an alert name.
 */
export function userMrkdwnFor(error: unknown): string {
  return safeMrkdwn(userMessageFor(error), 1000);
}
