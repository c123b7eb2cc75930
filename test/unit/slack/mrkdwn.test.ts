import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { escapeMrkdwn, link, safeMrkdwn, safePlain, truncate } from "../../../src/slack/mrkdwn.js";
import { HOSTILE_NAMES } from "../../fixtures/alerts.js";

/** What Slack would read as a control sequence: <…> links, mentions and specials. */
const CONTROL_SEQUENCE = /<[^>]*>/;

describe("escapeMrkdwn", () => {
  it.each(HOSTILE_NAMES)("leaves no link, mention or special in %#", (name) => {
    const out = escapeMrkdwn(name);
    expect(out).not.toMatch(CONTROL_SEQUENCE);
    expect(out).not.toMatch(/@(channel|here|everyone)\b/);
    expect(out.includes("\u0000") || out.includes("\u202e")).toBe(false);
  });

  it("keeps ordinary text readable", () => {
    expect(escapeMrkdwn("Signups dropped (EU)")).toBe("Signups dropped (EU)");
  });

  it("turns formatting characters inert without removing them", () => {
    const out = escapeMrkdwn("*bold*");
    expect(out.replace(/\u2060/g, "")).toBe("*bold*");
    expect(out).not.toBe("*bold*");
  });

  it("never produces a control sequence for any input", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 200 }), (s) => {
        const out = escapeMrkdwn(s);
        expect(out).not.toMatch(CONTROL_SEQUENCE);
      }),
      { numRuns: 500 },
    );
  });
});

describe("truncate", () => {
  it("shortens visibly and respects the limit", () => {
    const out = truncate("x".repeat(10_000), 3000);
    expect(out.length).toBeLessThanOrEqual(3000);
    expect(out.endsWith("…")).toBe(true);
  });

  it("does not split a surrogate pair or an entity", () => {
    expect(truncate("😀😀😀", 4)).toBe("😀…");
    const escaped = escapeMrkdwn("<".repeat(100));
    const cut = truncate(escaped, 10);
    expect(cut).toMatch(/^(&lt;)+…$/);
  });

  it("leaves short text alone", () => {
    expect(truncate("abc", 3)).toBe("abc");
  });

  it("always fits, for any input and limit", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.integer({ min: 8, max: 300 }), (s, max) => {
        expect(safeMrkdwn(s, max).length).toBeLessThanOrEqual(max);
        expect(safePlain(s, max).length).toBeLessThanOrEqual(max);
      }),
      { numRuns: 500 },
    );
  });
});

describe("safePlain and link", () => {
  it("gives empty names a visible placeholder", () => {
    expect(safePlain("   ", 75)).toBe("(untitled)");
  });

  it("links only the URL the bot built, with an escaped label", () => {
    const out = link("https://us.posthog.com/project/1/insights/abc", "<https://evil.example|x> | y");
    expect(out.startsWith("<https://us.posthog.com/project/1/insights/abc|")).toBe(true);
    expect(out.slice(1, -1)).not.toMatch(/[<>]/);
    expect(out.match(/\|/g)).toHaveLength(1);
  });
});
