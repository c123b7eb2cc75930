import { displayState } from "../alerts/describe.js";
import type { Alert } from "../posthog/schemas.js";
import { escapeMrkdwn, safeMrkdwn } from "../slack/mrkdwn.js";
import { type Block, context, header, section } from "./common.js";
import { SUBCOMMANDS } from "./help.js";

/** The App Home tab: what is firing now, and how to use the bot. */
export function buildHome(alerts: Alert[] | null, problem: string | null, command = "/alerts") {
  const blocks: Block[] = [header("PostHog alerts")];
  if (alerts) {
    const firing = alerts.filter((a) => displayState(a) === "Firing");
    const snoozed = alerts.filter((a) => displayState(a) === "Snoozed").length;
    const disabled = alerts.filter((a) => !a.enabled).length;
    blocks.push(
      section(
        `*${alerts.length}* alerts · *${firing.length}* firing · ${snoozed} snoozed · ${disabled} disabled`,
      ),
    );
    if (firing.length > 0) {
      const lines = firing.slice(0, 20).map((a) => `🔴 ${safeMrkdwn(a.name || "(unnamed alert)", 120)}`);
      blocks.push(
        section(`${lines.join("\n")}${firing.length > 20 ? `\n…and ${firing.length - 20} more` : ""}`),
      );
    }
  } else {
    blocks.push(section(problem ?? "The alert list could not be loaded."));
  }
  blocks.push(
    section(SUBCOMMANDS.map((s) => `\`${command} ${escapeMrkdwn(s.usage)}\` — ${s.summary}`).join("\n")),
    context("Open this tab again to refresh it."),
  );
  return { type: "home", blocks };
}
