import { afterEach, describe, expect, it } from "vitest";
import { alertRefCodec } from "../../src/slack/codecs.js";
import {
  ACTION_CONFIRM_DELETE,
  ACTION_NOTIFY_DISABLE,
  ACTION_NOTIFY_ENABLE,
  ACTION_NOTIFY_SNOOZE,
  ACTION_NOTIFY_UNSNOOZE,
  ACTION_SNOOZE_AT,
  BLOCK_SNOOZE_AT,
  VIEW_SNOOZE_CUSTOM,
} from "../../src/slack/ids.js";
import { expectValidMessage } from "../support/block-kit.js";
import type { FakeAlert, FakePostHog } from "../support/fake-posthog.js";
import type { StoredMessage } from "../support/fake-slack.js";
import { type Harness, nextResponse, startHarness, USERS, WEBHOOK_SECRET } from "../support/harness.js";
import { unsafeMrkdwn } from "../support/mrkdwn-safety.js";
import { firingBody, postWebhook } from "../support/webhook.js";

const ALERTS_CHANNEL = "C0ALERTS01";
let h: Harness;
let signups: FakeAlert;

function seed(posthog: FakePostHog) {
  const insight = posthog.addInsight({ name: "Daily signups" });
  signups = posthog.addAlert({
    insight: insight.id,
    name: "Signups dropped",
    threshold: { configuration: { type: "absolute", bounds: { lower: 100, upper: null } } },
  });
}

async function start(env: Record<string, string> = {}) {
  h = await startHarness({ seed, env: { ALERTS_CHANNEL, ...env } });
}

afterEach(async () => {
  await h?.close();
});

const channelMessages = (channel = ALERTS_CHANNEL) => h.slack.messages.get(channel) ?? [];
const parents = (channel = ALERTS_CHANNEL) => channelMessages(channel).filter((m) => !m.thread_ts);
const patches = () => h.posthog.requests.filter((r) => r.method === "PATCH");

/** `/alerts <text>` from Ann in `channelId`, and the answer it got. */
async function commandIn(channelId: string, text: string) {
  const before = h.slack.responses.length;
  await h.requester.slashCommand({
    text,
    channelId,
    userId: USERS.ann.id,
    responseUrl: h.slack.responseUrl(),
  });
  return (await nextResponse(h, before))?.body as { text: string; blocks?: unknown[] } | undefined;
}
const snoozedUntilSent = () =>
  String((patches()[0]?.body as { snoozed_until?: string } | undefined)?.snoozed_until);

/** The action elements of a message's controls block. */
function controls(message: StoredMessage) {
  const block = (
    message.blocks as Array<{ block_id?: string; elements?: Array<Record<string, unknown>> }>
  ).find((b) => b.block_id?.startsWith("notify_controls:"));
  return { blockId: block?.block_id ?? "", elements: block?.elements ?? [] };
}

async function fireViaWebhook(checkedAt = new Date()) {
  const res = await postWebhook(h.baseUrl, firingBody({ alertId: signups.id, checkedAt }), {
    secret: WEBHOOK_SECRET,
  });
  expect(res.status).toBe(202);
  return res;
}

async function click(
  message: StoredMessage,
  actionId: string,
  userId: string = USERS.ann.id,
  selected?: string,
) {
  const { blockId, elements } = controls(message);
  const element = elements.find((e) => e.action_id === actionId);
  const before = h.slack.responses.length;
  const res = await h.requester.blockAction({
    userId,
    actionId,
    blockId,
    channelId: ALERTS_CHANNEL,
    message: { ts: message.ts, text: message.text, blocks: message.blocks },
    responseUrl: h.slack.responseUrl(),
    triggerId: h.slack.triggerId({ userId }),
    ...(selected ? { selectedOption: { value: selected } } : { value: element?.value as string }),
  });
  expect(res.status).toBe(200);
  expect(res.ms).toBeLessThan(2_500);
  return before;
}

describe("a firing alert from the webhook", () => {
  it("is stored, acknowledged with 202, and posted once to the channel with controls", async () => {
    await start();
    const res = await fireViaWebhook();
    expect(res.json).toMatchObject({ accepted: true, duplicate: false });
    await h.slack.waitFor(() => parents().length === 1);
    const [message] = parents();
    if (!message) throw new Error("no message");
    expectValidMessage(message);
    expect(unsafeMrkdwn(message, h.posthog.url)).toEqual([]);
    const json = JSON.stringify(message.blocks);
    expect(json).toContain("Signups dropped");
    expect(json).toContain("less than lower threshold (100)");
    expect(json).toContain("<!date^");
    const ids = controls(message).elements.map((e) => e.action_id);
    expect(ids).toEqual(expect.arrayContaining([ACTION_NOTIFY_SNOOZE, ACTION_NOTIFY_DISABLE]));
    expect(h.slack.missingTextCount).toBe(0);
  });

  it("ignores duplicate deliveries and threads repeats under one message", async () => {
    await start();
    const checkedAt = new Date(Date.now() - 3600_000);
    const body = firingBody({ alertId: signups.id, checkedAt });
    expect((await postWebhook(h.baseUrl, body, { secret: WEBHOOK_SECRET })).status).toBe(202);
    const dup = await postWebhook(h.baseUrl, body, { secret: WEBHOOK_SECRET });
    expect(dup.json).toMatchObject({ duplicate: true });
    // PostHog may send the same check again under a new event uuid
    const sameCheck = firingBody({ alertId: signups.id, checkedAt });
    expect((await postWebhook(h.baseUrl, sameCheck, { secret: WEBHOOK_SECRET })).json).toMatchObject({
      duplicate: true,
    });
    await h.slack.waitFor(() => parents().length === 1);
    await fireViaWebhook(new Date());
    await h.slack.waitFor(() => channelMessages().some((m) => m.thread_ts), 5_000);
    expect(parents()).toHaveLength(1);
    const reply = channelMessages().find((m) => m.thread_ts);
    expect(reply?.thread_ts).toBe(parents()[0]?.ts);
    expect(reply?.reply_broadcast).not.toBe(true);
    await h.slack.waitFor(() => (parents()[0]?.updates ?? 0) >= 1, 5_000);
  });

  it("answers bad input with the right status and calls neither Slack nor PostHog", async () => {
    await start();
    const slackCalls = h.slack.calls.length;
    const good = firingBody({ alertId: signups.id });
    expect((await postWebhook(h.baseUrl, good, { secret: null })).status).toBe(401);
    expect((await postWebhook(h.baseUrl, good, { secret: "wrong-secret-of-some-length" })).status).toBe(401);
    expect((await postWebhook(h.baseUrl, good, { secret: WEBHOOK_SECRET, raw: "{not json" })).status).toBe(
      400,
    );
    expect(
      (
        await postWebhook(h.baseUrl, good, {
          secret: WEBHOOK_SECRET,
          raw: `{"x":"${"a".repeat(1_100_000)}"}`,
        })
      ).status,
    ).toBe(413);
    const unknown = await postWebhook(
      h.baseUrl,
      { event: { event: "$insight_alert_firing", properties: {} } },
      { secret: WEBHOOK_SECRET },
    );
    expect(unknown.status).toBe(422);
    expect(unknown.text).toMatch(/alert_id/);
    expect(
      (await postWebhook(h.baseUrl, good, { secret: WEBHOOK_SECRET, query: "?channel=not-a-channel" }))
        .status,
    ).toBe(422);
    await new Promise((r) => setTimeout(r, 300));
    expect(h.slack.calls.length).toBe(slackCalls);
    expect(h.posthog.requests).toHaveLength(0);
  });

  it("goes to the webhook's ?channel when no watch route exists, and to a watching channel before that", async () => {
    await start();
    await postWebhook(
      h.baseUrl,
      firingBody({ alertId: signups.id, checkedAt: new Date(Date.now() - 60_000) }),
      {
        secret: WEBHOOK_SECRET,
        query: "?channel=C0HINTED01",
      },
    );
    await h.slack.waitFor(() => parents("C0HINTED01").length === 1);
    expect((await commandIn("C0WATCH001", "watch Signups dropped"))?.text).toMatch(/will get/);
    expect(JSON.stringify(await commandIn("C0WATCH001", "watching"))).toContain("Signups dropped");
    await postWebhook(h.baseUrl, firingBody({ alertId: signups.id }), {
      secret: WEBHOOK_SECRET,
      query: "?channel=C0HINTED01",
    });
    await h.slack.waitFor(() => parents("C0WATCH001").length === 1);
    expect(parents("C0HINTED01")).toHaveLength(1);
    expect(parents()).toHaveLength(0);
  });

  it("lists what a channel watches in whole lines, within Slack's limit, and says how many more", async () => {
    await start();
    const insight = [...h.posthog.insights.values()][0];
    const names = Array.from({ length: 25 }, (_, i) => `${"Long alert name ".repeat(9)}${i}`.slice(-150));
    for (const name of names) {
      h.posthog.addAlert({
        insight: insight?.id as number,
        name,
        threshold: { configuration: { type: "absolute", bounds: { lower: 1, upper: null } } },
      });
    }
    for (const name of names) {
      expect((await commandIn("C0WATCH001", `watch "${name}"`))?.text).toMatch(/will get/);
    }
    const reply = (await commandIn("C0WATCH001", "watching")) as { text: string; blocks: unknown[] };
    expectValidMessage(reply);
    const text = (reply.blocks[0] as { text: { text: string } }).text.text;
    const shown = text.split("\n").filter((line) => line.startsWith("• "));
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.length).toBeLessThan(25);
    for (const line of shown) expect(names).toContain(line.slice(2));
    expect(text).toMatch(new RegExp(`…and ${25 - shown.length} more\\.$`));
  });

  it("keeps a notification with no channel and delivers it once a route exists", async () => {
    h = await startHarness({ seed });
    await fireViaWebhook();
    await new Promise((r) => setTimeout(r, 300));
    expect(h.slack.callsTo("chat.postMessage")).toHaveLength(0);
    expect(h.logs.some((l) => l.includes("no Slack channel"))).toBe(true);
    const health = (await (await fetch(`${h.baseUrl}/healthz`)).json()) as { warnings: string[] };
    expect(health.warnings.join(" ")).toMatch(/no channel/);
    await h.requester.slashCommand({
      text: "watch Signups",
      channelId: "C0LATE0001",
      userId: USERS.ann.id,
      responseUrl: h.slack.responseUrl(),
    });
    await h.slack.waitFor(() => parents("C0LATE0001").length === 1, 5_000);
  });
});

describe("controls on the message", () => {
  async function posted() {
    await start();
    await fireViaWebhook();
    await h.slack.waitFor(() => parents().length === 1);
    return parents()[0] as StoredMessage;
  }
  const latest = () => parents()[0] as StoredMessage;

  it.each([
    ["30m", 30 * 60_000],
    ["1h", 3600_000],
    ["4h", 4 * 3600_000],
    ["1d", 86_400_000],
    ["1w", 7 * 86_400_000],
  ])("snooze %s sends an exact absolute time and updates the message in place", async (preset, ms) => {
    const message = await posted();
    const t0 = Date.now();
    await click(message, ACTION_NOTIFY_SNOOZE, USERS.ann.id, preset);
    await h.slack.waitFor(() => patches().length === 1);
    const sent = snoozedUntilSent();
    expect(sent).toMatch(/Z$/);
    expect(Math.abs(new Date(sent).getTime() - (t0 + ms))).toBeLessThan(5_000);
    await h.slack.waitFor(() => JSON.stringify(latest().blocks).includes("Snoozed until"), 5_000);
    const after = latest();
    expectValidMessage(after);
    const text = JSON.stringify(after.blocks);
    expect(text).toContain(`<@${USERS.ann.id}>`);
    expect(text).toContain(`<!date^${Math.floor(new Date(sent).getTime() / 1000)}^`);
    expect(controls(after).elements.map((e) => e.action_id)).toContain(ACTION_NOTIFY_UNSNOOZE);
  });

  it("snoozes until tomorrow 09:00 in the clicking user's time zone", async () => {
    const message = await posted();
    await click(message, ACTION_NOTIFY_SNOOZE, USERS.bob.id, "tomorrow_9");
    await h.slack.waitFor(() => patches().length === 1);
    const sent = new Date(snoozedUntilSent());
    const berlin = new Intl.DateTimeFormat("en-GB", {
      timeZone: "Europe/Berlin",
      hour: "2-digit",
      minute: "2-digit",
    }).format(sent);
    expect(berlin).toBe("09:00");
  });

  it("Custom… opens a picker and snoozes until the picked time", async () => {
    const message = await posted();
    await click(message, ACTION_NOTIFY_SNOOZE, USERS.ann.id, "custom");
    await h.slack.waitFor(() => h.slack.callsTo("views.open").some((c) => c.ok));
    const viewId = [...h.slack.views.keys()][0] as string;
    const stored = h.slack.views.get(viewId)?.view;
    const at = Math.floor(Date.now() / 1000) + 5 * 3600;
    const res = await h.requester.viewSubmission({
      userId: USERS.ann.id,
      callbackId: VIEW_SNOOZE_CUSTOM,
      viewId,
      privateMetadata: stored.private_metadata,
      values: {
        [BLOCK_SNOOZE_AT]: { [ACTION_SNOOZE_AT]: { type: "datetimepicker", selected_date_time: at } },
      },
    });
    expect(res.status).toBe(200);
    await h.slack.waitFor(() => patches().length === 1);
    expect(patches()[0]?.body).toEqual({ snoozed_until: new Date(at * 1000).toISOString() });
    await h.slack.waitFor(() => JSON.stringify(latest().blocks).includes("Snoozed until"), 5_000);
  });

  it("Disable, then Enable, and Unsnooze PATCH the alert and swap the controls", async () => {
    const message = await posted();
    await click(message, ACTION_NOTIFY_DISABLE);
    await h.slack.waitFor(() => JSON.stringify(latest().blocks).includes("Disabled by"), 5_000);
    expect(patches()[0]?.body).toEqual({ enabled: false });
    expect(controls(latest()).elements.map((e) => e.action_id)).toContain(ACTION_NOTIFY_ENABLE);
    await click(latest(), ACTION_NOTIFY_ENABLE);
    await h.slack.waitFor(() => patches().length === 2);
    expect(patches()[1]?.body).toEqual({ enabled: true });
    await h.slack.waitFor(() => !JSON.stringify(latest().blocks).includes("Disabled by"), 5_000);
    // Who undid it is said in place of what was undone.
    expect(JSON.stringify(latest().blocks)).toContain(`Enabled again by <@${USERS.ann.id}>`);
    await click(latest(), ACTION_NOTIFY_SNOOZE, USERS.ann.id, "1h");
    await h.slack.waitFor(() => JSON.stringify(latest().blocks).includes("Snoozed until"), 5_000);
    await click(latest(), ACTION_NOTIFY_UNSNOOZE);
    await h.slack.waitFor(() => patches().length === 4);
    expect(patches()[3]?.body).toEqual({ snoozed_until: null });
    await h.slack.waitFor(() => !JSON.stringify(latest().blocks).includes("Snoozed until"), 5_000);
    const after = JSON.stringify(latest().blocks);
    expect(after).toContain(`Unsnoozed by <@${USERS.ann.id}>`);
    // The snooze replaced the earlier "Enabled again" line; only the latest undo is said.
    expect(after).not.toContain("Enabled again");
  });

  it("an alert deleted from Slack closes its message, and its buttons go", async () => {
    await posted();
    await h.requester.blockAction({
      userId: USERS.ann.id,
      actionId: ACTION_CONFIRM_DELETE,
      value: alertRefCodec.encode({ a: signups.id }),
      responseUrl: h.slack.responseUrl(),
    });
    await h.slack.waitFor(() => JSON.stringify(latest().blocks).includes("Resolved"), 5_000);
    expect(JSON.stringify(latest().blocks)).toContain("the alert was deleted from Slack");
    const left = controls(latest()).elements.map((e) => e.action_id);
    expect(left).not.toContain(ACTION_NOTIFY_SNOOZE);
    expect(left).not.toContain(ACTION_NOTIFY_DISABLE);
    expect(h.posthog.alerts.has(signups.id)).toBe(false);
  });

  it("refuses a user the policy refuses, ephemerally, and the message does not change", async () => {
    const message = await posted();
    const before = await click(message, ACTION_NOTIFY_DISABLE, USERS.eve.id);
    const reply = await nextResponse(h, before);
    expect(reply?.body.text).toMatch(/can't change alerts/);
    expect(reply?.body.response_type).toBe("ephemeral");
    expect(patches()).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(latest().updates).toBe(message.updates);
  });

  it("redraws the message when its snooze ends, with the Snooze control back", async () => {
    // Polling on, but only when the test asks (the first look is at start).
    await start({ POLL_INTERVAL_SECONDS: "3600" });
    await h.slack.waitFor(() => h.bot.store.hasPollBaseline());
    await fireViaWebhook();
    await h.slack.waitFor(() => parents().length === 1);
    // Snoozed in PostHog for two seconds; the next poll sees it and the message shows it.
    const alert = h.posthog.alerts.get(signups.id);
    if (!alert) throw new Error("seeded alert missing");
    const until = Date.now() + 2_000;
    alert.snoozed_until = new Date(until).toISOString();
    await h.bot.notifications.poller?.pollOnce();
    await h.slack.waitFor(() => JSON.stringify(latest().blocks).includes("Snoozed until"), 5_000);
    expect(controls(latest()).elements.map((e) => e.action_id)).toContain(ACTION_NOTIFY_UNSNOOZE);
    expect(h.bot.notifications.redrawEndedSnoozes()).toEqual([]);

    // PostHog sends nothing when the snooze ends.
    await new Promise((r) => setTimeout(r, Math.max(0, until - Date.now()) + 50));
    expect(h.bot.notifications.redrawEndedSnoozes()).toEqual([signups.id]);
    await h.slack.waitFor(() => !JSON.stringify(latest().blocks).includes("Snoozed until"), 5_000);
    const actions = controls(latest()).elements.map((e) => e.action_id);
    expect(actions).toContain(ACTION_NOTIFY_SNOOZE);
    expect(actions).not.toContain(ACTION_NOTIFY_UNSNOOZE);
    expectValidMessage(latest());
    // Once: the next look finds nothing to redraw.
    expect(h.bot.notifications.redrawEndedSnoozes()).toEqual([]);
  });

  it("answers a click on a message a later one replaced, when closing it had failed", async () => {
    await start();
    await fireViaWebhook(new Date(Date.now() - 3 * 86_400_000));
    await h.slack.waitFor(() => parents().length === 1);
    const earlier = parents()[0] as StoredMessage;
    // Firing again after a gap of checks starts a new message; closing the earlier one fails.
    h.slack.failNext("chat.update", { error: "cant_update_message" });
    await fireViaWebhook();
    await h.slack.waitFor(() => parents().length === 2);
    const current = () => parents().find((m) => m.ts !== earlier.ts) as StoredMessage;
    await h.slack.waitFor(() => h.slack.calls.some((c) => c.method === "chat.update"), 5_000);
    expect(JSON.stringify(parents().find((m) => m.ts === earlier.ts)?.blocks)).not.toContain("Resolved");

    const before = await click(earlier, ACTION_NOTIFY_SNOOZE, USERS.ann.id, "1h");
    const reply = await nextResponse(h, before);
    expect(reply?.body).toMatchObject({ response_type: "ephemeral", replace_original: false });
    expect(reply?.body.text).toMatch(
      /snoozed \*Signups dropped\* until <!date\^\d+\^.* This message is no longer updated, so it will not show this\.$/,
    );
    expect(patches()).toHaveLength(1);
    // The alert's current message shows it, as always.
    await h.slack.waitFor(() => JSON.stringify(current().blocks).includes("Snoozed until"), 5_000);
    // A click refused because of what the earlier message does not show says so too.
    const refused = await click(earlier, ACTION_NOTIFY_SNOOZE, USERS.ann.id, "30m");
    expect((await nextResponse(h, refused))?.body.text).toMatch(
      /already snoozed until .* This message is no longer updated, so it will not show the alert as it is now\.$/,
    );
    expect(patches()).toHaveLength(1);
    // A custom time picked from the earlier message: the form's answer says it too.
    await click(earlier, ACTION_NOTIFY_SNOOZE, USERS.ann.id, "custom");
    await h.slack.waitFor(() => h.slack.callsTo("views.open").some((c) => c.ok));
    const viewId = [...h.slack.views.keys()][0] as string;
    await h.requester.viewSubmission({
      userId: USERS.ann.id,
      callbackId: VIEW_SNOOZE_CUSTOM,
      viewId,
      privateMetadata: h.slack.views.get(viewId)?.view.private_metadata,
      values: {
        [BLOCK_SNOOZE_AT]: {
          [ACTION_SNOOZE_AT]: {
            type: "datetimepicker",
            selected_date_time: Math.floor(Date.now() / 1000) + 5 * 3600,
          },
        },
      },
    });
    await h.slack.waitFor(() => patches().length === 2);
    await h.slack.waitFor(
      () =>
        JSON.stringify(h.slack.views.get(viewId)?.view).includes(
          "The message this came from is no longer updated, so it will not show this.",
        ),
      5_000,
    );
    // A click on the current message is answered by the message alone.
    const quiet = await click(current(), ACTION_NOTIFY_UNSNOOZE);
    await h.slack.waitFor(() => !JSON.stringify(current().blocks).includes("Snoozed until"), 5_000);
    expect(h.slack.responses.length).toBe(quiet);
  });

  it("keeps a longer snooze set in PostHog since the message was drawn, and tells the clicker", async () => {
    const message = await posted();
    const week = new Date(Date.now() + 7 * 86_400_000).toISOString();
    const alert = h.posthog.alerts.get(signups.id);
    if (!alert) throw new Error("seeded alert missing");
    alert.snoozed_until = week;
    const before = await click(message, ACTION_NOTIFY_SNOOZE, USERS.ann.id, "1h");
    const reply = await nextResponse(h, before);
    expect(reply?.body.response_type).toBe("ephemeral");
    expect(reply?.body.text).toMatch(/already snoozed until <!date\^\d+\^.*later than .*nothing changed/);
    expect(patches()).toHaveLength(0);
    expect(h.posthog.alerts.get(signups.id)?.snoozed_until).toBe(week);
    // The message catches up with the snooze it did not show.
    await h.slack.waitFor(() => JSON.stringify(latest().blocks).includes("Snoozed until"), 5_000);
    expect(JSON.stringify(latest().blocks)).toContain(`<!date^${Math.floor(Date.parse(week) / 1000)}^`);
    expect(controls(latest()).elements.map((e) => e.action_id)).toContain(ACTION_NOTIFY_UNSNOOZE);
  });

  it("tells the clicker when PostHog fails, and claims nothing", async () => {
    const message = await posted();
    h.posthog.failNext(10, { status: 503, body: { detail: "down" } });
    const before = await click(message, ACTION_NOTIFY_DISABLE);
    const reply = await nextResponse(h, before, 10_000);
    expect(reply?.body.text).toMatch(/not reachable/);
    await new Promise((r) => setTimeout(r, 300));
    expect(JSON.stringify(latest().blocks)).not.toContain("Disabled by");
  });

  it("refuses a tampered value pointing at an alert the project does not have", async () => {
    const message = await posted();
    const before = h.slack.responses.length;
    await h.requester.blockAction({
      userId: USERS.ann.id,
      actionId: ACTION_NOTIFY_DISABLE,
      value: alertRefCodec.encode({ a: "0192c0de-0000-7000-8000-000000000bad" }),
      channelId: ALERTS_CHANNEL,
      message: { ts: message.ts, text: message.text, blocks: message.blocks },
      responseUrl: h.slack.responseUrl(),
    });
    expect((await nextResponse(h, before))?.body.text).toMatch(/no longer exists/);
    expect(h.posthog.alerts.get(signups.id)?.enabled).toBe(true);
  });
});

describe("the poller", () => {
  it("notices a firing without any webhook, then marks the message resolved, and shows changes made in PostHog", async () => {
    await start({ POLL_INTERVAL_SECONDS: "3600" });
    const poller = h.bot.notifications.poller;
    if (!poller) throw new Error("poller not configured");
    await h.slack.waitFor(() => h.posthog.requests.some((r) => /alerts\/?$/.test(r.path)));
    await poller.pollOnce();
    h.posthog.fire(signups.id, 42);
    expect((await poller.pollOnce()).fired).toBe(1);
    await h.slack.waitFor(() => parents().length === 1, 5_000);
    // the same check arriving by webhook is not posted again
    const alert = h.posthog.alerts.get(signups.id);
    const dup = await postWebhook(
      h.baseUrl,
      firingBody({ alertId: signups.id, checkedAt: new Date(alert?.last_checked_at ?? 0) }),
      {
        secret: WEBHOOK_SECRET,
      },
    );
    expect(dup.json).toMatchObject({ duplicate: true });
    expect(parents()).toHaveLength(1);
    // but its sentence about the breach, which polling cannot know, is added to the message
    await h.slack.waitFor(() => JSON.stringify(parents()[0]?.blocks).includes("lower threshold"), 5_000);
    // disabled in PostHog's own UI (which PATCHes the alert like anyone else)
    const patchInPostHog = (body: unknown) =>
      fetch(`${h.posthog.url}/api/projects/${h.posthog.projectId}/alerts/${signups.id}/`, {
        method: "PATCH",
        headers: { authorization: `Bearer ${h.posthog.apiKey}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    expect((await patchInPostHog({ enabled: false })).status).toBe(200);
    expect((await poller.pollOnce()).refreshed).toBe(1);
    await h.slack.waitFor(() => /Disabled/.test(JSON.stringify(parents()[0]?.blocks)), 5_000);
    await patchInPostHog({ enabled: true });
    await poller.pollOnce();
    h.posthog.resolve(signups.id, 150);
    expect((await poller.pollOnce()).resolved).toBe(1);
    await h.slack.waitFor(() => JSON.stringify(parents()[0]?.blocks).includes("Resolved"), 5_000);
    h.posthog.fire(signups.id, 10);
    await poller.pollOnce();
    await h.slack.waitFor(() => parents().length === 2, 5_000);
  });
});

describe("the poller, when PostHog refuses it", () => {
  it("warns on /healthz after two failed polls in a row, with PostHog's reason, until one works", async () => {
    await start({ POLL_INTERVAL_SECONDS: "3600" });
    const poller = h.bot.notifications.poller;
    if (!poller) throw new Error("poller not configured");
    await h.slack.waitFor(() => h.posthog.requests.some((r) => /alerts\/?$/.test(r.path)));
    const notFound = {
      status: 404,
      body: { type: "invalid_request", code: "not_found", detail: "Not found." },
    };
    h.posthog.failNext(2, notFound);
    await expect(poller.pollOnce()).rejects.toThrow();
    await expect(poller.pollOnce()).rejects.toThrow();
    const health = (await (await fetch(`${h.baseUrl}/healthz`)).json()) as { warnings: string[] };
    expect(health.warnings).toEqual([
      expect.stringMatching(/^Polling PostHog failed 2 times in a row, so firings only arrive by webhook: /),
    ]);
    await poller.pollOnce();
    expect(((await (await fetch(`${h.baseUrl}/healthz`)).json()) as { warnings: string[] }).warnings).toEqual(
      [],
    );
  });
});

describe("delivery", () => {
  it("paces posts within Slack's per-channel limit and loses nothing", async () => {
    await start();
    h.slack.setPostRateLimit(1);
    const insight = h.posthog.addInsight({ name: "Burst" });
    const alerts = Array.from({ length: 4 }, (_, i) =>
      h.posthog.addAlert({ insight: insight.id, name: `Burst ${i}` }),
    );
    const t0 = Date.now();
    for (const a of alerts) {
      expect(
        (
          await postWebhook(h.baseUrl, firingBody({ alertId: a.id, alertName: a.name }), {
            secret: WEBHOOK_SECRET,
          })
        ).status,
      ).toBe(202);
    }
    await h.slack.waitFor(() => parents().length === 4, 10_000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2_900);
    expect(h.slack.rateLimitedCount).toBeLessThanOrEqual(1);
    expect(new Set(parents().map((m) => m.text)).size).toBe(4);
  });

  it("redraws a snoozed message before the channel's backlog of posts", async () => {
    await start();
    h.slack.setPostRateLimit(1);
    await fireViaWebhook();
    await h.slack.waitFor(() => parents().length === 1);
    const message = parents()[0] as StoredMessage;
    const insight = h.posthog.addInsight({ name: "Incident" });
    for (let i = 0; i < 4; i++) {
      const alert = h.posthog.addAlert({ insight: insight.id, name: `Incident ${i}` });
      const body = firingBody({ alertId: alert.id, alertName: alert.name });
      expect((await postWebhook(h.baseUrl, body, { secret: WEBHOOK_SECRET })).status).toBe(202);
    }
    await click(message, ACTION_NOTIFY_SNOOZE, USERS.ann.id, "1h");
    const snoozed = () => JSON.stringify(channelMessages()[0]?.blocks).includes("Snoozed until");
    await h.slack.waitFor(snoozed, 5_000);
    // Behind the four posts it would have waited about four seconds; it goes after at most the one
    // already under way.
    expect(parents().length).toBeLessThanOrEqual(3);
    await h.slack.waitFor(() => parents().length === 5, 10_000);
    expect(h.slack.rateLimitedCount).toBeLessThanOrEqual(1);
  });

  it("stops retrying a channel Slack refuses, reports it in /healthz and tells ALERTS_CHANNEL", async () => {
    await start();
    h.slack.setChannelError("C0GONE0001", "channel_not_found");
    await postWebhook(h.baseUrl, firingBody({ alertId: signups.id }), {
      secret: WEBHOOK_SECRET,
      query: "?channel=C0GONE0001",
    });
    await h.slack.waitFor(() => parents().length === 1, 5_000);
    expect(JSON.stringify(parents()[0])).toContain("C0GONE0001");
    const health = (await (await fetch(`${h.baseUrl}/healthz`)).json()) as {
      status: string;
      details: { delivery: { failingChannels: unknown[] } };
    };
    expect(health.status).toBe("degraded");
    expect(health.details.delivery.failingChannels).toHaveLength(1);
    const attempts = h.slack
      .callsTo("chat.postMessage")
      .filter((c) => c.args.channel === "C0GONE0001").length;
    await new Promise((r) => setTimeout(r, 1_500));
    expect(h.slack.callsTo("chat.postMessage").filter((c) => c.args.channel === "C0GONE0001")).toHaveLength(
      attempts,
    );
  });
});
