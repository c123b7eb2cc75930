import { COMMAND_ALIASES as ALIASES, SUBCOMMANDS, type UsageLine } from "../blocks/help.js";
import { LIST_FILTERS, type ListFilter } from "../slack/codecs.js";
import { codeSpanText } from "../slack/mrkdwn.js";

/** What the text after `/alerts` asks for. Pure: no I/O, no Slack, no PostHog. */
export type Command =
  | { kind: "help" }
  | { kind: "list"; filter: ListFilter; words: string }
  | { kind: "create"; insight: string | null }
  | { kind: "snooze"; rest: string }
  | { kind: "watching" }
  | {
      kind: "show" | "edit" | "delete" | "unsnooze" | "enable" | "disable" | "watch" | "unwatch";
      ref: string;
    }
  | { kind: "usage"; line: UsageLine; problem: string };

const REF_COMMANDS = new Set(["show", "edit", "delete", "unsnooze", "enable", "disable", "watch", "unwatch"]);
const FILTER_ALIASES: Record<string, ListFilter> = { muted: "snoozed", error: "errored", off: "disabled" };

const MAX_INPUT = 1000;

function lineFor(name: string): UsageLine {
  return SUBCOMMANDS.find((s) => s.name === name) ?? (SUBCOMMANDS[SUBCOMMANDS.length - 1] as UsageLine);
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] as number;
      row[j] = Math.min(
        (row[j] as number) + 1,
        (row[j - 1] as number) + 1,
        prev + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      prev = tmp;
    }
  }
  return row[b.length] as number;
}

/** The subcommand a mistyped word most likely meant. */
export function nearestSubcommand(word: string): UsageLine {
  const w = word.toLowerCase();
  const prefixed = SUBCOMMANDS.find((s) => s.name.startsWith(w) || w.startsWith(s.name));
  if (prefixed && w.length >= 2) return prefixed;
  let best = lineFor("help");
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const s of SUBCOMMANDS) {
    const d = editDistance(w, s.name);
    if (d < bestDistance) {
      best = s;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(w.length / 2)) ? best : lineFor("help");
}

/** Removes matching quotes around an alert name: "Signups dropped" or “Signups dropped”. */
export function unquote(text: string): string {
  const t = text.trim();
  const m = /^(["“”'‘’])(.*)(["“”'‘’])$/s.exec(t);
  return m ? (m[2] as string).trim() : t;
}

/** Slack sends `&`, `<` and `>` typed in a command as `&amp;`, `&lt;` and `&gt;`. */
export function decodeSlackText(text: string): string {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

export function parseCommand(input: string): Command {
  const text = decodeSlackText(input).replace(/\s+/g, " ").trim();
  if (text === "") return { kind: "help" };
  if (text.length > MAX_INPUT) {
    return {
      kind: "usage",
      line: lineFor("help"),
      problem: `That is ${text.length} characters; commands are at most ${MAX_INPUT}.`,
    };
  }
  const space = text.indexOf(" ");
  const first = (space === -1 ? text : text.slice(0, space)).toLowerCase();
  const rest = space === -1 ? "" : text.slice(space + 1).trim();
  const name = ALIASES[first] ?? first;

  if (name === "help") return { kind: "help" };
  if (name === "list") {
    const [maybeFilter = "", ...others] = rest.split(" ");
    const lowered = maybeFilter.toLowerCase();
    const filter = (LIST_FILTERS as readonly string[]).includes(lowered)
      ? (lowered as ListFilter)
      : FILTER_ALIASES[lowered];
    if (filter) return { kind: "list", filter, words: others.join(" ").slice(0, 100) };
    return { kind: "list", filter: "all", words: rest.slice(0, 100) };
  }
  if (name === "create") return { kind: "create", insight: rest === "" ? null : unquote(rest) };
  if (name === "watching") return { kind: "watching" };
  if (name === "snooze") {
    if (rest === "")
      return { kind: "usage", line: lineFor("snooze"), problem: "Which alert, and for how long?" };
    return { kind: "snooze", rest };
  }
  if (REF_COMMANDS.has(name)) {
    const ref = unquote(rest);
    if (ref === "") return { kind: "usage", line: lineFor(name), problem: "Which alert?" };
    return { kind: name as "show", ref };
  }
  return {
    kind: "usage",
    line: nearestSubcommand(first),
    // Decoded above, so escaped again for the code span.
    problem: `I don't know \`${codeSpanText(first.slice(0, 40))}\`.`,
  };
}

/**
 * The ways `snooze` arguments split into the alert and the time. `until …`
 * splits at the last " until " (when what follows reads as a time, even one
 * that cannot be used; else the word belongs to the name) and a quoted name ends at its quote: one way
 * each. Otherwise every tail of up to four words that reads as a time is a
 * way, the longest first, so alert names may contain spaces; when a name
 * itself ends in something like a time ("Signups 7d 1h"), the caller picks
 * by the alerts that exist.
 */
export function snoozeSplits(
  rest: string,
  /** true: a time; "refused": a time that cannot be used (passed, too far); false: no time. */
  readsAsTime: (when: string) => boolean | "refused",
): Array<{ ref: string; when: string }> {
  const quoted = /^(["“”'‘’])(.+?)(["“”'‘’])\s+(.+)$/s.exec(rest);
  if (quoted) return [{ ref: (quoted[2] as string).trim(), when: (quoted[4] as string).trim() }];
  const untilAt = rest.toLowerCase().lastIndexOf(" until ");
  const until =
    untilAt > 0 ? { ref: unquote(rest.slice(0, untilAt)), when: rest.slice(untilAt + 1).trim() } : null;
  if (until && readsAsTime(until.when) !== false) return [until];
  // "Days until churn 2h": "until" was part of the name.
  const words = rest.split(" ");
  const splits: Array<{ ref: string; when: string }> = [];
  for (let k = Math.min(4, words.length - 1); k >= 1; k--) {
    const when = words.slice(words.length - k).join(" ");
    if (readsAsTime(when) === true)
      splits.push({ ref: unquote(words.slice(0, words.length - k).join(" ")), when });
  }
  // Neither reads: the "until" reading stays, so the answer is about its time.
  return splits.length === 0 && until ? [until] : splits;
}
