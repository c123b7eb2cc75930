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
