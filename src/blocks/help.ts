import { escapeMrkdwn } from "../slack/mrkdwn.js";
import { context, type SlackMessage, section } from "./common.js";

/** Shorter words for subcommands; the help lists them all. */
export const COMMAND_ALIASES: Readonly<Record<string, string>> = {
  ls: "list",
  new: "create",
  add: "create",
  info: "show",
  get: "show",
  rm: "delete",
  remove: "delete",
  mute: "snooze",
  unmute: "unsnooze",
  on: "enable",
  off: "disable",
  "?": "help",
};

export interface UsageLine {
  name: string;
  usage: string;
  summary: string;
}

/** Every subcommand, in the order people learn them. The parser and the help share this list. */
export const SUBCOMMANDS: UsageLine[] = [
  {
    name: "list",
    usage: "list [firing|snoozed|disabled|errored|all] [words]",
    summary: "List alerts, filtered by state and name.",
  },
  { name: "show", usage: "show <alert>", summary: "An alert in detail, with its recent checks." },
  { name: "create", usage: "create [insight URL, id or name]", summary: "Create an alert in a form." },
  { name: "edit", usage: "edit <alert>", summary: "Change an alert's settings in a form." },
  { name: "delete", usage: "delete <alert>", summary: "Delete an alert (asks first)." },
  {
    name: "snooze",
    usage: "snooze <alert> <when>",
    summary: "Silence an alert for `2h`, `1d`, `90 minutes`, or `until tomorrow 9am` (your time zone).",
  },
  { name: "unsnooze", usage: "unsnooze <alert>", summary: "End a snooze now." },
  { name: "enable", usage: "enable <alert>", summary: "Turn an alert back on." },
  { name: "disable", usage: "disable <alert>", summary: "Turn an alert off." },
  { name: "watch", usage: "watch <alert>", summary: "Post this alert's firings in this channel." },
  { name: "unwatch", usage: "unwatch <alert>", summary: "Stop posting this alert's firings here." },
  { name: "watching", usage: "watching", summary: "Alerts that post in this channel." },
  { name: "help", usage: "help", summary: "This message." },
];

export function buildHelp(command: string): SlackMessage {
  const lines = SUBCOMMANDS.map((s) => `\`${command} ${escapeMrkdwn(s.usage)}\` — ${s.summary}`);
  return {
    text: `${command} manages PostHog alerts from Slack. Try \`${command} list\`.`,
    blocks: [
      section(`*${command}* manages your PostHog alerts without leaving Slack.`),
      section(lines.join("\n")),
      context(
        `\`&lt;alert&gt;\` is an alert's name, a unique part of it, or its id. Times are read in your Slack time zone. Short forms work too: ${Object.entries(
          COMMAND_ALIASES,
        )
          .map(([short, long]) => `\`${short}\` (${long})`)
          .join(", ")}.`,
      ),
    ],
  };
}

export function buildUsage(command: string, line: UsageLine, problem?: string): SlackMessage {
  const text = `${problem ? `${problem} ` : ""}Usage: \`${command} ${escapeMrkdwn(line.usage)}\` — ${line.summary}`;
  return { text, blocks: [section(text)] };
}
