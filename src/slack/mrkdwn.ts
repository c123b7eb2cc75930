/**
 * Making untrusted text (alert names, insight names, PostHog breach texts)
 * safe to place inside Slack mrkdwn: no pings, no links, no formatting that
 * the text's author did not intend, and never longer than the room it has.
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_CHARS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u202a-\u202e\u2066-\u2069]/g;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const MENTION_WORDS = /@(channel|here|everyone)\b/gi;
const WORD_JOINER = "\u2060";

/**
 * Replaces unpaired UTF-16 surrogates (which cannot be encoded as UTF-8, so
 * URL and form encoding throw on them) with U+FFFD.
 */
export function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, "\uFFFD");
}

/**
 * Escapes text for mrkdwn. `&`, `<` and `>` become entities (so `<!channel>`
 * and `<https://…|…>` stay literal), formatting characters are neutralised
 * with a zero-width joiner so `*x*` is not bold, and `@channel` style words
 * are broken so they cannot be read as a mention.
 */
export function escapeMrkdwn(text: string): string {
  return wellFormed(text)
    .replace(CONTROL_CHARS, "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/([*_~`])/g, `$1${WORD_JOINER}`)
    .replace(MENTION_WORDS, (_m, word: string) => `@${WORD_JOINER}${word}`);
}

/**
 * Text for inside a code span: Slack still reads `&`, `<` and `>` there (a `<!channel>` would
 * mention), and a backtick would end the span.
 */
export function codeSpanText(text: string): string {
  return text.replace(/`/g, "'").replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Plain-text surfaces (headers, buttons, options, titles) only need control characters removed. */
export function cleanPlainText(text: string): string {
  return text
    .replace(CONTROL_CHARS, "")
    .replace(MENTION_WORDS, (_m, word: string) => `@${WORD_JOINER}${word}`);
}

/**
 * Shortens text to at most `max` UTF-16 units, visibly (ending in "…"), and
 * never in the middle of a surrogate pair or an escape entity.
 */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = max - 1;
  const code = text.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut -= 1;
  const amp = text.lastIndexOf("&", cut);
  if (amp !== -1 && amp > cut - 6 && !text.slice(amp, cut).includes(";")) cut = amp;
  return `${text.slice(0, cut)}…`;
}

/** Escape, then fit: the usual way to put untrusted text into mrkdwn. */
export function safeMrkdwn(text: string, max: number): string {
  return truncate(escapeMrkdwn(text), max);
}

/** Clean, then fit: the usual way to put untrusted text into plain_text. */
export function safePlain(text: string, max: number): string {
  const cleaned = cleanPlainText(text).trim();
  return truncate(cleaned === "" ? "(untitled)" : cleaned, max);
}

/** A mrkdwn link whose label is untrusted text. The URL must be one the bot built. */
export function link(url: string, label: string, maxLabel = 200): string {
  return `<${url}|${safeMrkdwn(label, maxLabel).replace(/\|/g, "¦")}>`;
}
