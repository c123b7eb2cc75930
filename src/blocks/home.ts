import { displayState } from "../alerts/describe.js";
import type { Alert } from "../posthog/schemas.js";
import { slackDate } from "../slack/dates.js";
import { escapeMrkdwn, safeMrkdwn } from "../slack/mrkdwn.js";
import { matchesFilter } from "./alert-list.js";
import { type Block, context, header, linesWithin, section } from "./common.js";
import { SUBCOMMANDS } from "./help.js";

/** How many firing and errored alerts the tab names before "…and N more". */
const HOME_NAMED = 20;

/**
 * The App Home tab: what is firing now (and what is broken), and how to use
 * the bot. `listedAt` is when the list was read from PostHog.
 */
export function buildHome(
  alerts: Alert[] | null,
  problem: string | null,
  command = "/alerts",
  listedAt: number | null = null,
) {
  const blocks: Block[] = [header("PostHog alerts")];
  if (alerts) {
    const firing = alerts.filter((a) => displayState(a) === "Firing");
    // An errored alert is never evaluated, so it cannot fire: it needs someone to look at it.
    const errored = alerts.filter((a) => displayState(a) === "Errored");
    const snoozed = alerts.filter((a) => matchesFilter(a, "snoozed")).length;
    const disabled = alerts.filter((a) => matchesFilter(a, "disabled")).length;
    blocks.push(
      section(
        `*${alerts.length}* alerts · *${firing.length}* firing · ${snoozed} snoozed · ${disabled} disabled` +
          (errored.length > 0 ? ` · *${errored.length}* errored` : ""),
      ),
    );
    const named = [
      ...firing.map((a) => `🔴 ${safeMrkdwn(a.name || "(unnamed alert)", 120)}`),
      ...errored.map(
        (a) => `⚠️ ${safeMrkdwn(a.name || "(unnamed alert)", 120)} (errored: PostHog cannot check it)`,
      ),
    ];
    if (named.length > 0) {
      blocks.push(section(linesWithin(named, { max: HOME_NAMED, more: (left) => `…and ${left} more` })));
    }
  } else {
    blocks.push(section(problem ?? "The alert list could not be loaded."));
  }
  blocks.push(
    section(SUBCOMMANDS.map((s) => `\`${command} ${escapeMrkdwn(s.usage)}\` — ${s.summary}`).join("\n")),
    context(
      alerts && listedAt !== null
        ? `As PostHog listed them ${slackDate(new Date(listedAt))}. Open this tab again for the latest.`
        : "Open this tab again to try again.",
    ),
  );
  return { type: "home", blocks };
}
