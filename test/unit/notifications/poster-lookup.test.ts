import { webApi } from "@slack/bolt";
import { afterEach, describe, expect, it } from "vitest";
import { createWebPoster, DELIVERY_EVENT_TYPE, type SlackPoster } from "../../../src/slack/poster.js";
import { DEFAULT_SCOPES, type FakeSlack, startFakeSlack } from "../../support/fake-slack.js";

/**
 * Finding a post again by the key in its metadata, through a real WebClient
 * against the fake Slack (history and replies, paging, scopes, membership).
 */
describe("createWebPoster: posts carry a key and can be found again", () => {
  let slack: FakeSlack;
  let poster: SlackPoster;
  const C1 = "C0LOOKUP01";
  const G1 = "G0LOOKUP01";

  async function start(scopes?: string[]): Promise<void> {
    slack = await startFakeSlack(scopes ? { scopes } : {});
    const client = new webApi.WebClient(slack.botToken, {
      slackApiUrl: slack.apiUrl,
      rejectRateLimitedCalls: true,
      retryConfig: { retries: 0 },
      logLevel: webApi.LogLevel.ERROR,
    });
    poster = createWebPoster(client);
  }

  afterEach(async () => {
    await slack.close();
  });

  it("puts the key in the message metadata Slack stores", async () => {
    await start();
    const posted = await poster.post({ channel: C1, text: "hello", deliveryKey: "abc-1" });
    expect(posted.ok).toBe(true);
    const [message] = slack.messages.get(C1) ?? [];
    expect(message?.metadata).toEqual({
      event_type: DELIVERY_EVENT_TYPE,
      event_payload: { delivery_key: "abc-1" },
    });
    // Messages without a key carry no metadata at all.
    await poster.post({ channel: C1, text: "plain" });
    expect(slack.messages.get(C1)?.[1]?.metadata).toBeUndefined();
  });

  it("finds the post among newer messages, and only the one with the exact key", async () => {
    await start();
    const since = Date.now();
    await poster.post({ channel: C1, text: "other", deliveryKey: "abc-10" });
    const target = await poster.post({ channel: C1, text: "target", deliveryKey: "abc-1" });
    for (let i = 0; i < 450; i++) slack.addMessage(C1, { text: `chatter ${i}` });
    const found = await poster.findPosted({ channel: C1, oldestMs: since, deliveryKey: "abc-1" });
    expect(target.ok && found).toEqual({ ok: true, ts: target.ok ? target.ts : "" });
    // 452 messages at 200 a page: the post is on the third page.
    const lookups = slack.callsTo("conversations.history");
    expect(lookups).toHaveLength(3);
    expect(lookups[0]?.args).toMatchObject({ channel: C1, include_all_metadata: "true", limit: "200" });
    expect(await poster.findPosted({ channel: C1, oldestMs: since, deliveryKey: "abc-2" })).toEqual({
      ok: true,
      ts: null,
    });
  });

  it("does not look before the attempt (less a minute for clock skew)", async () => {
    await start();
    await poster.post({ channel: C1, text: "old", deliveryKey: "abc-1" });
    const found = await poster.findPosted({
      channel: C1,
      oldestMs: Date.now() + 120_000,
      deliveryKey: "abc-1",
    });
    expect(found).toEqual({ ok: true, ts: null });
    const oldest = Number(slack.callsTo("conversations.history")[0]?.args.oldest);
    expect(oldest * 1000).toBeCloseTo(Date.now() + 60_000, -4);
  });

  it("finds a thread reply through the thread's replies", async () => {
    await start();
    const since = Date.now();
    const parent = await poster.post({ channel: C1, text: "parent", deliveryKey: "abc-1" });
    if (!parent.ok) throw new Error("parent not posted");
    const reply = await poster.post({
      channel: C1,
      text: "again",
      thread_ts: parent.ts,
      deliveryKey: "abc-2",
    });
    // Not in the channel's top level…
    expect(await poster.findPosted({ channel: C1, oldestMs: since, deliveryKey: "abc-2" })).toEqual({
      ok: true,
      ts: null,
    });
    // …but in the thread.
    const found = await poster.findPosted({
      channel: C1,
      threadTs: parent.ts,
      oldestMs: since,
      deliveryKey: "abc-2",
    });
    expect(found).toEqual({ ok: true, ts: reply.ok ? reply.ts : "" });
    expect(slack.callsTo("conversations.replies")[0]?.args).toMatchObject({ ts: parent.ts });
  });

  it("reports a missing history scope as a permanent error", async () => {
    await start(DEFAULT_SCOPES.filter((s) => s !== "groups:history"));
    expect(await poster.findPosted({ channel: C1, oldestMs: 0, deliveryKey: "k" })).toEqual({
      ok: true,
      ts: null,
    });
    expect(await poster.findPosted({ channel: G1, oldestMs: 0, deliveryKey: "k" })).toEqual({
      ok: false,
      kind: "permanent",
      error: "missing_scope",
    });
  });

  it("reports a public channel the bot posts to without being in it as not_in_channel", async () => {
    await start();
    slack.setBotMember(C1, false);
    expect((await poster.post({ channel: C1, text: "still allowed", deliveryKey: "k" })).ok).toBe(true);
    expect(await poster.findPosted({ channel: C1, oldestMs: 0, deliveryKey: "k" })).toEqual({
      ok: false,
      kind: "permanent",
      error: "not_in_channel",
    });
  });

  it("passes on rate limits and server errors of the lookup", async () => {
    await start();
    slack.failNext("conversations.history", { status: 429, retryAfter: 7 });
    expect(await poster.findPosted({ channel: C1, oldestMs: 0, deliveryKey: "k" })).toEqual({
      ok: false,
      kind: "rate_limited",
      retryAfterMs: 7000,
    });
    slack.failNext("conversations.history", { status: 503 });
    expect(await poster.findPosted({ channel: C1, oldestMs: 0, deliveryKey: "k" })).toMatchObject({
      ok: false,
      kind: "transient",
    });
  });
});
