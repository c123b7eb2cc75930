import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { alertUrl, insightUrl, type PostHogLinks } from "../../../src/alerts/describe.js";
import {
  alertIdFromBlockId,
  BLOCK_NOTIFY_CONTROLS_PREFIX,
  buildDeliveryFailureNotice,
  buildNotificationMessage,
  buildRepeatReply,
  controlsBlockId,
  type NotificationView,
} from "../../../src/blocks/notification.js";
import { SNOOZE_CUSTOM, SNOOZE_PRESETS } from "../../../src/blocks/snooze-modal.js";
import { alertRefCodec } from "../../../src/slack/codecs.js";
import {
  ACTION_NOTIFY_DISABLE,
  ACTION_NOTIFY_ENABLE,
  ACTION_NOTIFY_OPEN,
  ACTION_NOTIFY_SNOOZE,
  ACTION_NOTIFY_UNSNOOZE,
} from "../../../src/slack/ids.js";

const ALERT_ID = "0192c0de-7a1b-7c3e-9d2f-4b5a6c7d8e9f";
const links: PostHogLinks = { host: "https://us.posthog.com", projectId: "123" };

function view(overrides: Partial<NotificationView> = {}): NotificationView {
  return {
    alertId: ALERT_ID,
    alertName: "Signups dropped",
    insightName: "Daily signups",
    alertUrl: alertUrl(links, { id: ALERT_ID }),
    insightUrl: insightUrl(links, "AaVQ8Ijw"),
    status: "firing",
    breaches: "The insight value (signed_up) for previous day (42) is less than lower threshold (100)",
    value: 42,
    threshold: { type: "absolute", lower: 100, upper: null },
    condition: "absolute_value",
    frequency: "daily",
    lastCheckedAt: "2025-06-02T01:00:12.345678Z",
    recentValues: [150, 120, 42],
    repeatCount: 1,
    snooze: null,
    disabled: null,
    ...overrides,
  };
}

type Json = Record<string, unknown>;
const KNOWN_BLOCKS = new Set(["header", "section", "context", "actions", "divider"]);

/** Every text object anywhere in the message, with where it sits. */
function textsOf(node: unknown, path = "", out: Array<{ path: string; type: string; text: string }> = []) {
  if (Array.isArray(node)) {
    node.forEach((child, i) => {
      textsOf(child, `${path}/${i}`, out);
    });
  } else if (node && typeof node === "object") {
    const obj = node as Json;
    if ((obj.type === "plain_text" || obj.type === "mrkdwn") && typeof obj.text === "string") {
      out.push({ path, type: obj.type, text: obj.text });
    }
    for (const [key, child] of Object.entries(obj)) textsOf(child, `${path}/${key}`, out);
  }
  return out;
}

function elementsOf(blocks: unknown[]): Json[] {
  return blocks.flatMap((b) => ((b as Json).type === "actions" ? ((b as Json).elements as Json[]) : []));
}

/** Checks the Block Kit limits a message must respect. */
function assertSlackLimits(message: { text: string; blocks: unknown[] }) {
  expect(message.text.length).toBeGreaterThan(0);
  expect(message.text.length).toBeLessThanOrEqual(4000);
  expect(message.blocks.length).toBeLessThanOrEqual(50);
  const ids = message.blocks.map((b) => (b as Json).block_id);
  expect(new Set(ids).size).toBe(ids.length);
  for (const block of message.blocks as Json[]) {
    expect(KNOWN_BLOCKS.has(block.type as string)).toBe(true);
    expect(String(block.block_id).length).toBeLessThanOrEqual(255);
    if (block.type === "header") {
      const text = (block.text as Json).text as string;
      expect((block.text as Json).type).toBe("plain_text");
      expect(text.length).toBeLessThanOrEqual(150);
    }
    if (block.type === "section") {
      if (block.text) {
        const text = (block.text as Json).text as string;
        expect(text.length).toBeGreaterThan(0);
        expect(text.length).toBeLessThanOrEqual(3000);
      }
      const fields = (block.fields as Json[] | undefined) ?? [];
      expect(fields.length).toBeLessThanOrEqual(10);
      for (const f of fields) expect((f.text as string).length).toBeLessThanOrEqual(2000);
    }
    if (block.type === "context") expect((block.elements as unknown[]).length).toBeLessThanOrEqual(10);
    if (block.type === "actions") {
      const elements = block.elements as Json[];
      expect(elements.length).toBeLessThanOrEqual(25);
      const actionIds = elements.map((e) => e.action_id);
      expect(new Set(actionIds).size).toBe(actionIds.length);
    }
  }
  for (const element of elementsOf(message.blocks)) {
    if (element.type === "button") {
      expect(((element.text as Json).text as string).length).toBeLessThanOrEqual(75);
      if (element.value !== undefined) expect((element.value as string).length).toBeLessThanOrEqual(2000);
      const confirm = element.confirm as Json | undefined;
      if (confirm) {
        expect(((confirm.title as Json).text as string).length).toBeLessThanOrEqual(100);
        expect(((confirm.text as Json).text as string).length).toBeLessThanOrEqual(300);
        expect(((confirm.confirm as Json).text as string).length).toBeLessThanOrEqual(30);
        expect(((confirm.deny as Json).text as string).length).toBeLessThanOrEqual(30);
      }
    }
    if (element.type === "static_select") {
      const options = element.options as Json[];
      expect(options.length).toBeLessThanOrEqual(100);
      for (const o of options) {
        expect(((o.text as Json).text as string).length).toBeLessThanOrEqual(75);
        expect((o.value as string).length).toBeLessThanOrEqual(150);
      }
    }
  }
}

/**
 * No pings and no links except the ones the builder made itself. Slack reads
 * mentions and links only in mrkdwn (and the fallback text); plain_text is
 * shown as typed, so there only the bare "@channel" words are checked.
 */
function assertHarmless(message: { text: string; blocks: unknown[] }) {
  const texts = textsOf(message.blocks);
  for (const plain of texts.filter((t) => t.type === "plain_text")) {
    expect(plain.text).not.toMatch(/(^|[^\u2060])@(channel|here|everyone)\b/);
  }
  const all = [message.text, ...texts.filter((t) => t.type === "mrkdwn").map((t) => t.text)];
  for (const text of all) {
    expect(text).not.toMatch(/<!(channel|here|everyone)/);
    expect(text).not.toContain("<https://evil.example");
    expect(text).not.toMatch(/(^|[^\u2060])@(channel|here|everyone)\b/);
    for (const match of text.matchAll(/<(https?:[^|>]+)/g)) {
      expect(match[1]?.startsWith("https://us.posthog.com/project/123/")).toBe(true);
    }
  }
}

function actionIds(message: { blocks: unknown[] }): string[] {
  return elementsOf(message.blocks).map((e) => e.action_id as string);
}

describe("buildNotificationMessage", () => {
  it("shows a firing alert with its facts, link, trend and controls", () => {
    const message = buildNotificationMessage(view({ repeatCount: 3, firstFiredAt: "2025-05-31T01:00:00Z" }));
    assertSlackLimits(message);
    const header = message.blocks[0] as Json;
    expect((header.text as Json).text).toBe("🔴 Signups dropped");
    const all = JSON.stringify(message.blocks);
    expect(all).toContain("is less than lower threshold (100)");
    expect(all).toContain("<https://us.posthog.com/project/123/insights/AaVQ8Ijw|Daily signups>");
    expect(all).toContain("*Current value*\\n42");
    expect(all).toContain("*Fires when*\\nbelow 100");
    expect(all).toContain("*Checked*\\nDaily");
    expect(all).toMatch(/<!date\^1748826012\^/);
    expect(all).toContain("Last 3 checks: █▆▁");
    expect(all).toContain("3 checks in a row");
    expect(actionIds(message)).toEqual([ACTION_NOTIFY_OPEN, ACTION_NOTIFY_SNOOZE, ACTION_NOTIFY_DISABLE]);
    const open = elementsOf(message.blocks)[0]!;
    expect(open.url).toBe(
      "https://us.posthog.com/project/123/insights?tab=alerts&alert_id=0192c0de-7a1b-7c3e-9d2f-4b5a6c7d8e9f",
    );
    expect(open.value).toBe(`{"a":"${ALERT_ID}"}`);
    const disable = elementsOf(message.blocks)[2]!;
    expect(disable.style).toBe("danger");
    expect(disable.confirm).toBeDefined();
    expect(alertRefCodec.decode(disable.value as string)).toEqual({ a: ALERT_ID });
    expect(disable.confirm).toMatchObject({
      title: { type: "plain_text", text: "Disable this alert?" },
      text: {
        type: "plain_text",
        text: 'PostHog will stop checking "Signups dropped" until someone enables it again.',
      },
      confirm: { type: "plain_text", text: "Disable" },
      deny: { type: "plain_text", text: "Cancel" },
      style: "danger",
    });
    const snooze = elementsOf(message.blocks)[1]!;
    expect(snooze.options).toEqual([
      ...SNOOZE_PRESETS.map((p) => ({
        text: { type: "plain_text", text: p.label, emoji: true },
        value: p.value,
      })),
      { text: { type: "plain_text", text: "Custom…", emoji: true }, value: SNOOZE_CUSTOM },
    ]);
    expect((snooze.options as Json[]).map((o) => o.value)).toEqual([
      "30m",
      "1h",
      "4h",
      "1d",
      "1w",
      "tomorrow_9",
      "monday_9",
      "custom",
    ]);
    const controls = message.blocks.at(-1) as Json;
    expect(alertIdFromBlockId(controls.block_id)).toBe(ALERT_ID);
    expect(message.text).toContain("Signups dropped");
    expect(message.text).toContain("less than lower threshold");
  });

  it("swaps the controls for their undo after a snooze or disable", () => {
    const snoozed = buildNotificationMessage(
      view({ snooze: { until: "2025-06-02T15:00:00Z", by: "U0123ABC" } }),
    );
    assertSlackLimits(snoozed);
    expect(JSON.stringify(snoozed.blocks)).toContain("🔕 Snoozed until <!date^");
    expect(JSON.stringify(snoozed.blocks)).toContain("by <@U0123ABC>");
    expect(actionIds(snoozed)).toEqual([ACTION_NOTIFY_OPEN, ACTION_NOTIFY_UNSNOOZE, ACTION_NOTIFY_DISABLE]);
    expect(((snoozed.blocks[0] as Json).text as Json).text).toBe("🔕 Signups dropped");

    const disabled = buildNotificationMessage(view({ disabled: { by: "U0123ABC" } }));
    assertSlackLimits(disabled);
    expect(JSON.stringify(disabled.blocks)).toContain("⏸ Disabled by <@U0123ABC>");
    expect(actionIds(disabled)).toEqual([ACTION_NOTIFY_OPEN, ACTION_NOTIFY_ENABLE]);

    const both = buildNotificationMessage(
      view({ disabled: { by: null }, snooze: { until: "2025-06-02T15:00:00Z", by: null } }),
    );
    expect(JSON.stringify(both.blocks)).toContain("Disabled in PostHog");
    expect(actionIds(both)).toEqual([ACTION_NOTIFY_OPEN, ACTION_NOTIFY_UNSNOOZE, ACTION_NOTIFY_ENABLE]);
  });

  it("never puts a non-user id in a mention", () => {
    const message = buildNotificationMessage(view({ disabled: { by: "<!channel>" } }));
    assertHarmless(message);
    expect(JSON.stringify(message.blocks)).toContain("Disabled in PostHog");
  });

  it("shows a resolved alert without snooze or disable controls", () => {
    const message = buildNotificationMessage(
      view({
        status: "resolved",
        resolvedAt: "2025-06-03T01:00:00Z",
        resolvedNote: "the alert no longer exists in PostHog",
      }),
    );
    assertSlackLimits(message);
    expect(((message.blocks[0] as Json).text as Json).text).toBe("✅ Signups dropped");
    expect(JSON.stringify(message.blocks)).toContain("✅ *Resolved*");
    expect(JSON.stringify(message.blocks)).toContain("no longer exists");
    expect(actionIds(message)).toEqual([ACTION_NOTIFY_OPEN]);
    expect(message.text).toMatch(/^✅ Resolved/);
  });

  it("says a message closed by an errored check could not be checked, not that the alert stopped", () => {
    const message = buildNotificationMessage(
      view({ status: "resolved", resolvedAt: "2025-06-03T01:00:00Z", couldNotCheck: true }),
    );
    assertSlackLimits(message);
    const blocks = JSON.stringify(message.blocks);
    expect(((message.blocks[0] as Json).text as Json).text).toBe("⚠️ Signups dropped");
    expect(blocks).toContain("⚠️ *Could not check*");
    expect(blocks).not.toContain("Resolved");
    expect(blocks).not.toContain("has stopped");
    expect(message.text).toMatch(/^⚠️ PostHog could not check: Signups dropped/);
  });

  it("marks test deliveries and leaves out the controls", () => {
    const message = buildNotificationMessage(view({ isTest: true }));
    assertSlackLimits(message);
    expect(message.text).toMatch(/^🧪 Test notification/);
    expect(actionIds(message)).toEqual([ACTION_NOTIFY_OPEN]);
  });

  it("copes with a bare view (no insight, value, threshold or history)", () => {
    const message = buildNotificationMessage(
      view({
        alertName: "",
        insightName: null,
        insightUrl: null,
        breaches: null,
        value: null,
        threshold: null,
        condition: null,
        frequency: null,
        lastCheckedAt: null,
        recentValues: [],
      }),
    );
    assertSlackLimits(message);
    expect(((message.blocks[0] as Json).text as Json).text).toBe("🔴 Untitled alert");
  });

  it("renders hostile PostHog text harmless and within limits", () => {
    const hostile = [
      "<!channel> <!here> @everyone",
      "<https://evil.example|click me>",
      "*bold* _it_ ~x~ `code` &amp; <@U999>",
      "x".repeat(10_000),
      `${"\u202e".repeat(5)}${"<!channel>".repeat(900)}`,
    ].join("\n");
    const message = buildNotificationMessage(
      view({ alertName: hostile, insightName: hostile, breaches: hostile, frequency: hostile }),
    );
    assertSlackLimits(message);
    assertHarmless(message);
    const mrkdwn = textsOf(message.blocks).filter((t) => t.type === "mrkdwn");
    for (const t of mrkdwn) expect(t.text).not.toContain("<@U999>");
    const header = ((message.blocks[0] as Json).text as Json).text as string;
    expect(header).not.toContain("\n");
    expect(message.text).toContain("…");
  });

  it("keeps every generated message within Slack's limits (property)", () => {
    const text = fc.oneof(
      fc.string({ maxLength: 5000 }),
      fc.constantFrom("<!channel>", "<https://evil.example|x>", "@here"),
    );
    fc.assert(
      fc.property(
        fc.record({
          name: text,
          breaches: fc.option(text),
          insightName: fc.option(text),
          values: fc.array(fc.double({ noNaN: true }), { maxLength: 40 }),
          repeat: fc.integer({ min: 1, max: 10_000 }),
          status: fc.constantFrom("firing" as const, "resolved" as const),
          snoozed: fc.boolean(),
          disabled: fc.boolean(),
          value: fc.option(fc.double()),
        }),
        (r) => {
          const message = buildNotificationMessage(
            view({
              alertName: r.name,
              breaches: r.breaches,
              insightName: r.insightName,
              recentValues: r.values,
              repeatCount: r.repeat,
              status: r.status,
              value: r.value,
              snooze: r.snoozed ? { until: "2025-06-02T15:00:00Z", by: "U0123ABC" } : null,
              disabled: r.disabled ? { by: "U0123ABC" } : null,
            }),
          );
          assertSlackLimits(message);
          assertHarmless(message);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe("buildRepeatReply", () => {
  it("is a short escaped line with the value and check time", () => {
    const reply = buildRepeatReply(view({ repeatCount: 4, breaches: "<!channel> dropped\nsecond line" }));
    expect(reply.text).toMatch(/^🔁 Fired again \(check 4 in a row\) · value 42 · checked <!date\^/);
    expect(reply.text).toContain("&lt;!channel&gt; dropped");
    expect(reply.text).not.toContain("second line");
    expect(reply.text.length).toBeLessThanOrEqual(4000);
  });
});

describe("buildDeliveryFailureNotice", () => {
  it("names the channel and the error with a hint", () => {
    const notice = buildDeliveryFailureNotice({
      channel: "C0123ABCDEF",
      error: "not_in_channel",
      alertName: "<!here>",
    });
    expect(notice.text).toContain("<#C0123ABCDEF>");
    expect(notice.text).toContain("`not_in_channel`");
    expect(notice.text).toContain("/invite");
    expect(notice.text).not.toContain("<!here>");
  });
});

describe("controls block id", () => {
  it("carries the alert id for the snooze menu, whose options carry only the preset", () => {
    expect(controlsBlockId(ALERT_ID)).toBe(`${BLOCK_NOTIFY_CONTROLS_PREFIX}${ALERT_ID}`);
    expect(alertIdFromBlockId(controlsBlockId(ALERT_ID))).toBe(ALERT_ID);
  });

  it("refuses anything but a PostHog alert id", () => {
    expect(controlsBlockId("../../alerts/x")).toBe(`${BLOCK_NOTIFY_CONTROLS_PREFIX}unknown`);
    for (const bad of [
      `${BLOCK_NOTIFY_CONTROLS_PREFIX}unknown`,
      `${BLOCK_NOTIFY_CONTROLS_PREFIX}bad id`,
      `${BLOCK_NOTIFY_CONTROLS_PREFIX}alert_123`,
      `${BLOCK_NOTIFY_CONTROLS_PREFIX}${ALERT_ID}x`,
      `${BLOCK_NOTIFY_CONTROLS_PREFIX}`,
      `other:${ALERT_ID}`,
      "other",
      undefined,
      42,
    ]) {
      expect(alertIdFromBlockId(bad)).toBeNull();
    }
  });

  it("gives an alert id PostHog would not issue a link and no write controls", () => {
    const message = buildNotificationMessage(view({ alertId: "not-a-uuid" }));
    assertSlackLimits(message);
    expect(actionIds(message)).toEqual([ACTION_NOTIFY_OPEN]);
    const [open] = elementsOf(message.blocks);
    expect(open?.value).toBeUndefined();
    expect((message.blocks.at(-1) as Json).block_id).toBe(`${BLOCK_NOTIFY_CONTROLS_PREFIX}unknown`);
  });
});

describe("shared wording", () => {
  it("describes the condition and frequency as /alerts list does", () => {
    const facts = (overrides: Partial<NotificationView>) =>
      JSON.stringify(buildNotificationMessage(view(overrides)).blocks);
    expect(facts({ threshold: { type: "absolute", lower: 100, upper: 200 } })).toContain(
      "*Fires when*\\nabove 200 or below 100",
    );
    expect(
      facts({
        threshold: { type: "percentage", lower: null, upper: 0.2 },
        condition: "relative_increase",
        value: 0.25,
      }),
    ).toMatch(/\*Current value\*\\n25%.*\*Fires when\*\\nup by more than 20%/);
    expect(
      facts({ threshold: { type: "absolute", lower: null, upper: 50 }, condition: "relative_decrease" }),
    ).toContain("*Fires when*\\ndown by more than 50");
    expect(facts({ threshold: { type: "absolute", lower: null, upper: null } })).not.toContain("Fires when");
    expect(facts({ frequency: "every_15_minutes" })).toContain("*Checked*\\nEvery 15 minutes");
    expect(facts({ frequency: "some_new_interval" })).toContain("*Checked*\\nSome new interval");
    expect(facts({ value: 1234.5 })).toContain("*Current value*\\n1,234.5");
  });

  it("keeps gaps in the trend where a check had no value", () => {
    const message = buildNotificationMessage(view({ recentValues: [1, Number.NaN, 3] }));
    expect(JSON.stringify(message.blocks)).toContain("Last 3 checks: ▁ █");
    const flat = buildNotificationMessage(view({ recentValues: [Number.NaN, 5] }));
    expect(JSON.stringify(flat.blocks)).not.toContain("checks:");
  });
});
