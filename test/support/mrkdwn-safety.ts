/**
 * Finds every place in a Block Kit payload where Slack would read mrkdwn
 * (mrkdwn text objects and the top-level fallback `text`) and returns the
 * control sequences there that the bot did not put in on purpose: anything
 * in <…> other than a date token or a link to the allowed host.
 */
export function unsafeMrkdwn(payload: unknown, allowedLinkPrefix: string): string[] {
  const found: string[] = [];
  const check = (text: string) => {
    for (const match of text.matchAll(/<([^>]*)>/g)) {
      const inner = match[1] ?? "";
      if (inner.startsWith("!date^")) continue;
      if (inner.startsWith(allowedLinkPrefix) && !inner.includes("<")) continue;
      if (/^[@#][UWC][A-Z0-9]+$/.test(inner)) continue; // the bot's own <@U…>/<#C…> mentions
      found.push(match[0]);
    }
  };
  const walk = (node: unknown, isMrkdwn: boolean) => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item, false);
      return;
    }
    if (!node || typeof node !== "object") return;
    const obj = node as Record<string, unknown>;
    if ((obj.type === "mrkdwn" || isMrkdwn) && typeof obj.text === "string") check(obj.text);
    for (const [key, value] of Object.entries(obj)) {
      if (key === "text" && typeof value === "string") continue;
      walk(value, false);
    }
  };
  const top = payload as Record<string, unknown>;
  if (typeof top.text === "string") check(top.text);
  walk(top.blocks ?? payload, false);
  return found;
}
