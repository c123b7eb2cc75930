import { isPostHogError } from "../posthog/errors.js";
import { safeMrkdwn } from "../slack/mrkdwn.js";
import type { Resolution } from "./service.js";

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

/** Why a typed alert reference found no single alert, in mrkdwn: the names and ids of the candidates. */
export function resolutionText(resolution: Exclude<Resolution, { ok: true }>, command: string): string {
  const ref = safeMrkdwn(resolution.ref, 100);
  if (resolution.reason === "not_found")
    return `No alert matches “${ref}”. Try \`${command} list\` to see the names.`;
  // Twelve lines of at most ~190 characters keep the answer within a section's 3,000.
  const shown = resolution.candidates.slice(0, 12);
  const lines = shown.map((a) => `• ${safeMrkdwn(a.name || "(unnamed alert)", 150)} — \`${a.id}\``);
  const more = resolution.candidates.length - shown.length;
  return `“${ref}” matches ${resolution.candidates.length} alerts. Use more of the name, or the id:\n${lines.join("\n")}${more > 0 ? `\n…and ${more} more.` : ""}`;
}
