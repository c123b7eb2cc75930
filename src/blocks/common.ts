import { LIMITS } from "../slack/limits.js";
import { safePlain } from "../slack/mrkdwn.js";

/** Small Block Kit constructors shared by the builders. Text passed in is already safe mrkdwn. */

export interface SlackMessage {
  text: string;
  blocks: Block[];
}
// Block Kit JSON is validated by tests against Slack's schema; the builders keep it loosely typed.
export type Block = Record<string, unknown>;

export const plain = (text: string, max: number = LIMITS.sectionText) => ({
  type: "plain_text",
  text: safePlain(text, max),
  emoji: true,
});

export const mrkdwn = (text: string) => ({ type: "mrkdwn", text: text.slice(0, LIMITS.sectionText) });

export const section = (text: string, extra: Record<string, unknown> = {}): Block => ({
  type: "section",
  text: mrkdwn(text),
  ...extra,
});

/**
 * Lines for one section: `head` (if any), then as many whole `lines` (at most `max`) as fit
 * in a section's 3,000 characters, then `more(n)` for the n left out. `mrkdwn` would cut the
 * text mid-line, and with it the count of what is missing.
 */
export function linesWithin(
  lines: readonly string[],
  options: { head?: string; max?: number; more: (left: number) => string },
): string {
  const out = options.head === undefined ? [] : [options.head];
  // Room kept for the "…and N more" line.
  const budget = LIMITS.sectionText - 40;
  let length = options.head?.length ?? 0;
  for (const line of lines.slice(0, options.max ?? lines.length)) {
    if (length + line.length + 1 > budget) break;
    out.push(line);
    length += line.length + 1;
  }
  const left = lines.length - (out.length - (options.head === undefined ? 0 : 1));
  if (left > 0) out.push(options.more(left));
  return out.join("\n");
}

export const header = (text: string): Block => ({ type: "header", text: plain(text, LIMITS.headerText) });

export const context = (...texts: string[]): Block => ({
  type: "context",
  elements: texts.slice(0, LIMITS.contextElements).map((t) => mrkdwn(t)),
});

export function button(
  text: string,
  actionId: string,
  options: {
    value?: string;
    style?: "primary" | "danger";
    url?: string;
    confirm?: Record<string, unknown>;
  } = {},
): Block {
  return {
    type: "button",
    text: plain(text, LIMITS.buttonText),
    action_id: actionId,
    ...(options.value !== undefined ? { value: options.value } : {}),
    ...(options.style ? { style: options.style } : {}),
    ...(options.url ? { url: options.url } : {}),
    ...(options.confirm ? { confirm: options.confirm } : {}),
  };
}

export function confirmDialog(title: string, text: string, confirm: string, deny = "Cancel") {
  return {
    title: plain(title, LIMITS.confirmTitle),
    text: plain(text, LIMITS.confirmText),
    confirm: plain(confirm, LIMITS.confirmButton),
    deny: plain(deny, LIMITS.confirmButton),
    style: "danger",
  };
}

export const option = (text: string, value: string, description?: string) => ({
  text: plain(text, LIMITS.optionText),
  value,
  ...(description ? { description: plain(description, LIMITS.optionText) } : {}),
});

/** A one-sentence ephemeral answer: the text is the whole message. */
export function notice(text: string): SlackMessage {
  return { text: text.slice(0, LIMITS.fallbackText), blocks: [section(text)] };
}
