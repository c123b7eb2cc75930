import {
  alertUrl,
  conditionWords,
  displayState,
  frequencyWords,
  insightLabel,
  insightUrl,
  lastValueWords,
  type PostHogLinks,
  stateLabel,
} from "../alerts/describe.js";
import type { Alert } from "../posthog/schemas.js";
import { type ListFilter, listPageCodec, type RowVerb, rowMenuCodec } from "../slack/codecs.js";
import { slackDate } from "../slack/dates.js";
import { ACTION_LIST_PAGE, ACTION_ROW_MENU } from "../slack/ids.js";
import { LIMITS } from "../slack/limits.js";
import { link, safeMrkdwn } from "../slack/mrkdwn.js";
import { type Block, button, context, plain, type SlackMessage, section } from "./common.js";

/**
 * Rows per page. A page the cached list can answer goes out in the ack itself, so its size is
 * also what every `/alerts list` ack carries: ten rows are about 12 kB of JSON, twenty were 22 kB,
 * and those bytes were most of what the bot's list acks took beyond a bare Bolt app's (BENCHMARKS.md).
 */
export const LIST_PAGE_SIZE = 10;

export function matchesFilter(alert: Alert, filter: ListFilter): boolean {
  const state = displayState(alert);
  switch (filter) {
    case "all":
      return true;
    case "firing":
      return state === "Firing";
    case "snoozed":
      return state === "Snoozed" || (alert.enabled && alert.snoozed_until !== null);
    case "disabled":
      return !alert.enabled;
    case "errored":
      return state === "Errored";
  }
}

export function filterAlerts(alerts: Alert[], filter: ListFilter, words: string): Alert[] {
  const terms = words.toLowerCase().split(/\s+/).filter(Boolean);
  return alerts.filter(
    (a) => matchesFilter(a, filter) && terms.every((t) => a.name.toLowerCase().includes(t)),
  );
}

/** One line of facts about an alert, in safe mrkdwn. */
export function alertFacts(links: PostHogLinks, alert: Alert): string {
  const facts = [
    link(insightUrl(links, alert.insight_short_id ?? alert.insight), insightLabel(alert), 120),
    safeMrkdwn(conditionWords(alert), 200),
    frequencyWords(alert.calculation_interval),
    alert.last_value === null ? "no value yet" : `last ${lastValueWords(alert)}`,
  ];
  if (alert.snoozed_until) facts.push(`🔕 until ${slackDate(alert.snoozed_until)}`);
  return facts.join(" · ");
}

/**
 * The row menu's labels never change, so they are built once and shared by
 * every row of every list (messages are only serialized, never changed).
 */
const ROW_LABELS = {
  edit: Object.freeze(plain("Edit", LIMITS.optionText)),
  snooze: Object.freeze(plain("Snooze…", LIMITS.optionText)),
  unsnooze: Object.freeze(plain("Unsnooze", LIMITS.optionText)),
  disable: Object.freeze(plain("Disable", LIMITS.optionText)),
  enable: Object.freeze(plain("Enable", LIMITS.optionText)),
  delete: Object.freeze(plain("Delete…", LIMITS.optionText)),
  show: Object.freeze(plain("Open in PostHog", LIMITS.optionText)),
} satisfies Record<RowVerb, unknown>;

export function rowMenu(links: PostHogLinks, alert: Alert): Block {
  const a = alert.id;
  const item = (v: RowVerb) => ({ text: ROW_LABELS[v], value: rowMenuCodec.encode({ v, a }) });
  const toggle: RowVerb = alert.enabled ? "disable" : "enable";
  return {
    type: "overflow",
    action_id: ACTION_ROW_MENU,
    options: [
      item("edit"),
      // An overflow menu holds five options: a snoozed alert's row ends its snooze instead
      // (snoozing it again is in `/alerts show`).
      item(alert.snoozed_until ? "unsnooze" : "snooze"),
      item(toggle),
      item("delete"),
      { ...item("show"), url: alertUrl(links, alert) },
    ],
  };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/**
 * Rows already rendered, by alert object. The alert service caches the list and
 * never changes an alert object it handed out, so a row stays right for as long
 * as its alert object lives: repeated lists and paging while the list is cached
 * render each row once. Rows are frozen, since every message showing them shares them.
 */
const renderedRows = new WeakMap<Alert, { links: PostHogLinks; row: Block }>();

/** One alert's row: state, name and facts, with its menu. */
export function alertRow(links: PostHogLinks, alert: Alert): Block {
  const hit = renderedRows.get(alert);
  if (hit?.links === links) return hit.row;
  const row = deepFreeze(
    section(
      `${stateLabel(alert)}  *${safeMrkdwn(alert.name || "(unnamed alert)", 200)}*\n${alertFacts(links, alert)}`,
      { accessory: rowMenu(links, alert) },
    ),
  );
  renderedRows.set(alert, { links, row });
  return row;
}

const FILTER_WORDS: Record<ListFilter, string> = {
  all: "",
  firing: "firing ",
  snoozed: "snoozed ",
  disabled: "disabled ",
  errored: "errored ",
};

/** The page a query shows, after filtering and clamping the offset to the last page. */
export function pageOf(all: Alert[], query: { filter: ListFilter; words: string; offset: number }) {
  const matching = filterAlerts(all, query.filter, query.words);
  const total = matching.length;
  const offset =
    total === 0
      ? 0
      : Math.min(Math.max(0, query.offset), Math.floor((total - 1) / LIST_PAGE_SIZE) * LIST_PAGE_SIZE);
  return { matching, total, offset, page: matching.slice(offset, offset + LIST_PAGE_SIZE) };
}

export function buildAlertList(
  links: PostHogLinks,
  all: Alert[],
  query: { filter: ListFilter; words: string; offset: number },
  command = "/alerts",
): SlackMessage {
  const { total, offset, page } = pageOf(all, query);
  const what = `${FILTER_WORDS[query.filter]}alert${total === 1 ? "" : "s"}`;
  const matchingWords = query.words ? ` matching “${safeMrkdwn(query.words, 100)}”` : "";

  if (total === 0) {
    const hint =
      all.length === 0
        ? `This project has no alerts yet. Create one with \`${command} create\`.`
        : `No ${what}${matchingWords} (of ${all.length} in the project). Try \`${command} list all\`.`;
    return { text: hint.replace(/`/g, ""), blocks: [section(hint)] };
  }

  const firing = all.filter((a) => displayState(a) === "Firing").length;
  const blocks: Block[] = [
    section(
      `*${total} ${what}*${matchingWords}${total > LIST_PAGE_SIZE ? ` · showing ${offset + 1}–${offset + page.length}` : ""}`,
    ),
  ];
  for (const alert of page) blocks.push(alertRow(links, alert));
  const nav: Block[] = [];
  if (offset > 0) {
    nav.push(
      button("◀ Previous", `${ACTION_LIST_PAGE}_prev`, {
        value: listPageCodec.encode({
          f: query.filter,
          q: query.words,
          o: Math.max(0, offset - LIST_PAGE_SIZE),
        }),
      }),
    );
  }
  if (offset + LIST_PAGE_SIZE < total) {
    nav.push(
      button("Next ▶", `${ACTION_LIST_PAGE}_next`, {
        value: listPageCodec.encode({ f: query.filter, q: query.words, o: offset + LIST_PAGE_SIZE }),
      }),
    );
  }
  if (nav.length > 0) blocks.push({ type: "actions", block_id: "list_nav", elements: nav });
  blocks.push(
    context(
      `${firing} firing in the project · page ${Math.floor(offset / LIST_PAGE_SIZE) + 1} of ${Math.ceil(total / LIST_PAGE_SIZE)} · \`${command} show &lt;alert&gt;\` for details`,
    ),
  );
  const names = page
    .map((a) => `${displayState(a)}: ${safeMrkdwn(a.name || "(unnamed alert)", 100)}`)
    .join("; ");
  const shown = total > LIST_PAGE_SIZE ? `, showing ${offset + 1}–${offset + page.length}` : "";
  return { text: `${total} ${what}${shown}: ${names}`.slice(0, 3000), blocks };
}
