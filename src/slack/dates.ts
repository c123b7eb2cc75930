/**
 * Slack date tokens: each viewer sees the time in their own zone and clock
 * format. The fallback (shown where tokens are not rendered) is UTC.
 */

function utcFallback(date: Date): string {
  const iso = date.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** "Tomorrow at 9:00 AM" for the viewer, in mrkdwn. */
export function slackDate(date: Date | string, format = "{date_short_pretty} at {time}"): string {
  const d = typeof date === "string" ? new Date(date) : date;
  if (Number.isNaN(d.getTime())) return "an unknown time";
  return `<!date^${Math.floor(d.getTime() / 1000)}^${format}|${utcFallback(d)}>`;
}

/** Same, in plain text for surfaces that cannot render tokens (fallback `text`, headers). */
export function plainDate(date: Date | string): string {
  const d = typeof date === "string" ? new Date(date) : date;
  return Number.isNaN(d.getTime()) ? "an unknown time" : utcFallback(d);
}
