import {
  ErrorCode,
  type Logger,
  LogLevel,
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebAPIRequestError,
  WebClient,
  type WebClientOptions,
} from "@slack/web-api";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FakeSlack, startFakeSlack } from "./fake-slack.js";

const JAN_15_2025_NOON_UTC = Date.UTC(2025, 0, 15, 12, 0, 0);

const silent: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  setLevel: () => {},
  getLevel: () => LogLevel.ERROR,
  setName: () => {},
};

const pt = (text: string) => ({ type: "plain_text" as const, text });
const section = (text: string) => ({ type: "section" as const, text: { type: "mrkdwn" as const, text } });
const modalView = (title = "Create alert", extra: Record<string, unknown> = {}) => ({
  type: "modal" as const,
  title: pt(title),
  close: pt("Cancel"),
  blocks: [section("Loading…")],
  ...extra,
});

let clock = JAN_15_2025_NOON_UTC;
let slack: FakeSlack;

function client(opts: WebClientOptions & { token?: string | null } = {}): WebClient {
  const { token, ...rest } = opts;
  return new WebClient(token === null ? undefined : (token ?? slack.botToken), {
    slackApiUrl: slack.apiUrl,
    retryConfig: { retries: 0 },
    logger: silent,
    ...rest,
  });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to fail");
}

async function platformError(promise: Promise<unknown>): Promise<WebAPIPlatformError> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(WebAPIPlatformError);
  return error as WebAPIPlatformError;
}

beforeEach(async () => {
  clock = JAN_15_2025_NOON_UTC;
  slack = await startFakeSlack({ now: () => clock });
});

afterEach(async () => {
  await slack.close();
});

describe("server and auth", () => {
  it("listens on loopback and answers auth.test with the bot identity", async () => {
    expect(slack.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/$/);
    const res = await client().auth.test();
    expect(res).toMatchObject({
      ok: true,
      team_id: slack.teamId,
      user_id: slack.botUserId,
      bot_id: slack.botId,
    });
    expect(slack.callsTo("auth.test")).toHaveLength(1);
  });

  it("rejects a wrong token with invalid_auth and a missing one with not_authed, both HTTP 200", async () => {
    expect((await platformError(client({ token: "xoxb-wrong" }).auth.test())).data.error).toBe(
      "invalid_auth",
    );
    expect((await platformError(client({ token: null }).auth.test())).data.error).toBe("not_authed");
    expect(slack.calls.map((c) => [c.status, c.ok, c.error])).toEqual([
      [200, false, "invalid_auth"],
      [200, false, "not_authed"],
    ]);
  });

  it("accepts JSON bodies as well as form bodies", async () => {
    const res = await fetch(`${slack.apiUrl}chat.postMessage`, {
      method: "POST",
      headers: {
        "content-type": "application/json; charset=utf-8",
        authorization: `Bearer ${slack.botToken}`,
      },
      body: JSON.stringify({ channel: "C1", text: "hi", blocks: [section("hi")] }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true, channel: "C1" });
    expect(slack.messages.get("C1")?.[0]?.blocks).toEqual([section("hi")]);
  });

  it("answers unknown methods with unknown_method", async () => {
    expect((await platformError(client().apiCall("nope.nothing"))).data.error).toBe("unknown_method");
  });
});

describe("users and groups", () => {
  it("returns tz, tz_label, tz_offset in seconds and the email", async () => {
    slack.addUser({ id: "U1", name: "ann", tz: "Europe/Berlin", email: "ann@example.com" });
    slack.addUser({ id: "U2" });
    const ann = await client().users.info({ user: "U1" });
    expect(ann.user).toMatchObject({
      id: "U1",
      name: "ann",
      tz: "Europe/Berlin",
      tz_offset: 3600,
      tz_label: "Central European Standard Time",
      deleted: false,
      profile: { email: "ann@example.com" },
    });
    const other = await client().users.info({ user: "U2" });
    expect(other.user).toMatchObject({ tz: "America/Los_Angeles", tz_offset: -8 * 3600 });
    expect(other.user?.profile?.email).toBeUndefined();
  });

  it("follows daylight saving time through the injected clock", async () => {
    clock = Date.UTC(2025, 6, 1);
    slack.addUser({ id: "U1" });
    const res = await client().users.info({ user: "U1" });
    expect(res.user?.tz_offset).toBe(-7 * 3600);
  });

  it("reports unknown users and returns deleted ones as deleted", async () => {
    expect((await platformError(client().users.info({ user: "U404" }))).data.error).toBe("user_not_found");
    slack.addUser({ id: "U9", deleted: true });
    expect((await client().users.info({ user: "U9" })).user?.deleted).toBe(true);
  });

  it("lists user group members", async () => {
    slack.addUserGroup("S1", ["U1", "U2"]);
    expect((await client().usergroups.users.list({ usergroup: "S1" })).users).toEqual(["U1", "U2"]);
    const error = await platformError(client().usergroups.users.list({ usergroup: "S2" }));
    expect(error.data.error).toBe("no_such_subteam");
  });

  it("describes channels, reflecting channel errors", async () => {
    const info = await client().conversations.info({ channel: "C1" });
    expect(info.channel).toMatchObject({ id: "C1", is_member: true, is_archived: false });
    slack.setChannelError("C2", "not_in_channel");
    expect((await client().conversations.info({ channel: "C2" })).channel?.is_member).toBe(false);
    slack.setChannelError("C3", "channel_not_found");
    expect((await platformError(client().conversations.info({ channel: "C3" }))).data.error).toBe(
      "channel_not_found",
    );
  });
});

describe("chat.postMessage", () => {
  it("returns unique, increasing ts values and stores the message, threads included", async () => {
    const web = client();
    const a = await web.chat.postMessage({ channel: "C1", text: "one", blocks: [section("one")] });
    const b = await web.chat.postMessage({ channel: "C1", text: "two" });
    clock += 5000;
    const c = await web.chat.postMessage({
      channel: "C1",
      text: "reply",
      thread_ts: a.ts as string,
      reply_broadcast: true,
    });
    const ts = [a.ts, b.ts, c.ts] as string[];
    for (const t of ts) expect(t).toMatch(/^\d{10}\.\d{6}$/);
    expect(new Set(ts).size).toBe(3);
    expect([...ts].sort((p, q) => Number(p) - Number(q))).toEqual(ts);
    expect(ts[0]?.startsWith(String(JAN_15_2025_NOON_UTC / 1000))).toBe(true);

    const stored = slack.messages.get("C1") ?? [];
    expect(stored.map((m) => m.text)).toEqual(["one", "two", "reply"]);
    expect(stored[0]?.blocks).toEqual([section("one")]);
    expect(stored[2]).toMatchObject({ thread_ts: a.ts, reply_broadcast: true, updates: 0 });
    expect(a.message).toMatchObject({ user: slack.botUserId, bot_id: slack.botId, text: "one" });
  });

  it("records args with blocks JSON-parsed", async () => {
    await client().chat.postMessage({ channel: "C1", text: "t", blocks: [section("x")] });
    const call = slack.callsTo("chat.postMessage")[0];
    expect(call).toMatchObject({ ok: true, status: 200, at: JAN_15_2025_NOON_UTC });
    expect(call?.args.blocks).toEqual([section("x")]);
    expect(call?.args.channel).toBe("C1");
  });

  it("rejects invalid blocks like Slack, with JSON pointers, and stores nothing", async () => {
    const error = await platformError(
      client().chat.postMessage({ channel: "C1", text: "t", blocks: [section("x".repeat(3001))] }),
    );
    expect(error.data.error).toBe("invalid_blocks");
    const errors = (error.data as { errors?: string[] }).errors ?? [];
    expect(errors.some((e) => e.endsWith("[json-pointer:/blocks/0/text/text]"))).toBe(true);
    expect(slack.messages.get("C1")).toBeUndefined();
  });

  it("accepts blocks without text but counts it so tests can forbid it", async () => {
    const res = await client().chat.postMessage({ channel: "C1", blocks: [section("no fallback")] });
    expect(res.ok).toBe(true);
    expect(res.response_metadata?.warnings).toContain("missing_text_in_request");
    expect(slack.missingTextCount).toBe(1);
    await client().chat.postMessage({ channel: "C1", text: "fallback", blocks: [section("x")] });
    expect(slack.missingTextCount).toBe(1);
  });

  it("rejects a message with neither text nor blocks", async () => {
    expect((await platformError(client().chat.postMessage({ channel: "C1", text: "" }))).data.error).toBe(
      "no_text",
    );
  });

  it("applies channel errors until cleared", async () => {
    for (const code of ["not_in_channel", "channel_not_found", "is_archived"] as const) {
      slack.setChannelError("C1", code);
      expect((await platformError(client().chat.postMessage({ channel: "C1", text: "x" }))).data.error).toBe(
        code,
      );
    }
    slack.setChannelError("C1", null);
    expect((await client().chat.postMessage({ channel: "C1", text: "x" })).ok).toBe(true);
  });

  it("rate-limits per channel per second with HTTP 429 and Retry-After", async () => {
    slack.setPostRateLimit(1);
    const web = client({ rejectRateLimitedCalls: true });
    await web.chat.postMessage({ channel: "C1", text: "1" });
    const error = await rejection(web.chat.postMessage({ channel: "C1", text: "2" }));
    expect(error).toBeInstanceOf(WebAPIRateLimitedError);
    expect((error as WebAPIRateLimitedError).retryAfter).toBe(1);
    expect(slack.rateLimitedCount).toBe(1);
    expect(slack.callsTo("chat.postMessage").map((c) => c.status)).toEqual([200, 429]);

    await web.chat.postMessage({ channel: "C2", text: "other channel" });
    clock += 1001;
    await web.chat.postMessage({ channel: "C1", text: "later" });
    expect(slack.messages.get("C1")?.map((m) => m.text)).toEqual(["1", "later"]);

    slack.setPostRateLimit(null);
    await web.chat.postMessage({ channel: "C1", text: "a" });
    await web.chat.postMessage({ channel: "C1", text: "b" });
    expect(slack.rateLimitedCount).toBe(1);
  });
});

describe("chat.update and chat.postEphemeral", () => {
  it("updates the bot's own message and counts updates", async () => {
    const web = client();
    const { ts } = await web.chat.postMessage({ channel: "C1", text: "firing", blocks: [section("firing")] });
    const res = await web.chat.update({
      channel: "C1",
      ts: ts as string,
      text: "snoozed",
      blocks: [section("z")],
    });
    expect(res).toMatchObject({ ok: true, ts, text: "snoozed" });
    expect(slack.messages.get("C1")?.[0]).toMatchObject({
      text: "snoozed",
      blocks: [section("z")],
      updates: 1,
    });
  });

  it("rejects text over 4000 characters with msg_too_long", async () => {
    const { ts } = await client().chat.postMessage({ channel: "C1", text: "x" });
    const error = await platformError(
      client().chat.update({ channel: "C1", ts: ts as string, text: "y".repeat(4001) }),
    );
    expect(error.data.error).toBe("msg_too_long");
    await client().chat.update({ channel: "C1", ts: ts as string, text: "y".repeat(4000) });
  });

  it("refuses unknown, foreign and ephemeral messages", async () => {
    const web = client();
    expect(
      (await platformError(web.chat.update({ channel: "C1", ts: "1.000100", text: "x" }))).data.error,
    ).toBe("message_not_found");
    const foreign = slack.addMessage("C1", { text: "a human wrote this" });
    expect((await platformError(web.chat.update({ channel: "C1", ts: foreign, text: "x" }))).data.error).toBe(
      "cant_update_message",
    );
    const eph = await web.chat.postEphemeral({
      channel: "C1",
      user: "U1",
      text: "only you",
      blocks: [section("e")],
    });
    expect(eph.message_ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(slack.ephemerals).toEqual([
      { channel: "C1", user: "U1", message_ts: eph.message_ts, text: "only you", blocks: [section("e")] },
    ]);
    expect(
      (await platformError(web.chat.update({ channel: "C1", ts: eph.message_ts as string, text: "x" }))).data
        .error,
    ).toBe("message_not_found");
  });

  it("validates ephemeral blocks too", async () => {
    const error = await platformError(
      client().chat.postEphemeral({
        channel: "C1",
        user: "U1",
        text: "t",
        blocks: [{ type: "bogus" }] as never,
      }),
    );
    expect(error.data.error).toBe("invalid_blocks");
  });
});

describe("failNext", () => {
  it("serves a platform error once, then behaves again", async () => {
    slack.failNext("chat.postMessage", { error: "fatal_error" });
    expect((await platformError(client().chat.postMessage({ channel: "C1", text: "x" }))).data.error).toBe(
      "fatal_error",
    );
    expect((await client().chat.postMessage({ channel: "C1", text: "x" })).ok).toBe(true);
  });

  it("serves HTTP errors and 429s with Retry-After", async () => {
    slack.failNext("auth.test", { status: 503 });
    const http = await rejection(client().auth.test());
    expect(http).toBeInstanceOf(WebAPIHTTPError);
    expect((http as WebAPIHTTPError).statusCode).toBe(503);

    slack.failNext("auth.test", { status: 429, retryAfter: 7 });
    const limited = await rejection(client({ rejectRateLimitedCalls: true }).auth.test());
    expect(limited).toBeInstanceOf(WebAPIRateLimitedError);
    expect((limited as WebAPIRateLimitedError).retryAfter).toBe(7);
    expect(slack.rateLimitedCount).toBe(1);
  });

  it("delays or hangs so client timeouts can be tested", async () => {
    slack.failNext("auth.test", { delayMs: 300 });
    const slow = await rejection(client({ timeout: 30 }).auth.test());
    expect(slow).toBeInstanceOf(WebAPIRequestError);
    expect((slow as WebAPIRequestError).code).toBe(ErrorCode.RequestError);

    slack.failNext("auth.test", { hang: true });
    const hung = await rejection(client({ timeout: 30 }).auth.test());
    expect(hung).toBeInstanceOf(WebAPIRequestError);
    expect(slack.callsTo("auth.test").map((c) => c.error)).toEqual([undefined, "hang"]);

    slack.failNext("auth.test", { delayMs: 20 });
    expect((await client().auth.test()).ok).toBe(true);
  });
});

describe("views", () => {
  it("opens a modal with a fresh trigger id, once", async () => {
    const trigger = slack.triggerId({ userId: "U1" });
    const res = await client().views.open({ trigger_id: trigger, view: modalView() });
    const id = res.view?.id as string;
    expect(res.view).toMatchObject({ type: "modal", root_view_id: id, previous_view_id: null });
    expect(slack.views.get(id)).toMatchObject({ hash: res.view?.hash, userId: "U1" });
    expect(slack.views.get(id)?.view.title).toEqual(pt("Create alert"));

    const again = await platformError(client().views.open({ trigger_id: trigger, view: modalView() }));
    expect(again.data.error).toBe("exchanged_trigger_id");
    const unknown = await platformError(
      client().views.open({ trigger_id: "123.456.abc", view: modalView() }),
    );
    expect(unknown.data.error).toBe("invalid_trigger_id");
  });

  it("expires trigger ids after 3 seconds", async () => {
    const ok = slack.triggerId();
    const late = slack.triggerId();
    clock += 3000;
    expect((await client().views.open({ trigger_id: ok, view: modalView() })).ok).toBe(true);
    clock += 1;
    const error = await platformError(client().views.open({ trigger_id: late, view: modalView() }));
    expect(error.data.error).toBe("expired_trigger_id");
  });

  it("rejects an invalid view with invalid_arguments and keeps the trigger usable", async () => {
    const trigger = slack.triggerId();
    const error = await platformError(
      client().views.open({ trigger_id: trigger, view: modalView("A title that is far too long") }),
    );
    expect(error.data.error).toBe("invalid_arguments");
    const messages = error.data.response_metadata?.messages ?? [];
    expect(
      messages.some((m) => m.startsWith("[ERROR] ") && m.endsWith("[json-pointer:/view/title/text]")),
    ).toBe(true);
    expect((await client().views.open({ trigger_id: trigger, view: modalView() })).ok).toBe(true);
  });

  it("pushes up to a stack of 3 views", async () => {
    const root = await client().views.open({ trigger_id: slack.triggerId(), view: modalView() });
    const rootId = root.view?.id as string;
    const second = await client().views.push({
      trigger_id: slack.triggerId({ viewId: rootId }),
      view: modalView("Two"),
    });
    expect(second.view).toMatchObject({ root_view_id: rootId, previous_view_id: rootId });
    const secondId = second.view?.id as string;
    await client().views.push({
      trigger_id: slack.triggerId({ viewId: secondId }),
      view: modalView("Three"),
    });
    expect(slack.viewStack(rootId)).toHaveLength(3);
    const error = await platformError(
      client().views.push({ trigger_id: slack.triggerId({ viewId: secondId }), view: modalView("Four") }),
    );
    expect(error.data.error).toBe("push_limit_reached");

    slack.closeView(secondId);
    expect(slack.viewStack(rootId)).toEqual([rootId]);
    // A closed view is gone, as in Slack: updating it answers not_found.
    const closed = await platformError(client().views.update({ view_id: secondId, view: modalView("Late") }));
    expect(closed.data.error).toBe("not_found");
    expect((await client().views.update({ view_id: rootId, view: modalView("Still open") })).ok).toBe(true);
    expect(
      (await client().views.push({ trigger_id: slack.triggerId(), view: modalView("Two again") })).ok,
    ).toBe(true);
  });

  it("updates by view_id or external_id and enforces the hash", async () => {
    const opened = await client().views.open({
      trigger_id: slack.triggerId(),
      view: modalView("Loading", { external_id: "form-1" }),
    });
    const id = opened.view?.id as string;
    const firstHash = opened.view?.hash as string;

    const updated = await client().views.update({ view_id: id, hash: firstHash, view: modalView("Ready") });
    expect(updated.view?.hash).not.toBe(firstHash);
    expect(slack.views.get(id)?.view.title).toEqual(pt("Ready"));

    const stale = await platformError(
      client().views.update({ view_id: id, hash: firstHash, view: modalView("Late") }),
    );
    expect(stale.data.error).toBe("hash_conflict");

    await client().views.update({
      external_id: "form-1",
      view: modalView("Again", { external_id: "form-1" }),
    });
    expect(slack.views.get(id)?.view.title).toEqual(pt("Again"));

    const missing = await platformError(client().views.update({ view_id: "V404", view: modalView() }));
    expect(missing.data.error).toBe("not_found");
    const badUpdate = await platformError(
      client().views.update({ view_id: id, view: modalView("x", { blocks: [{ type: "input" }] }) }),
    );
    expect(badUpdate.data.error).toBe("invalid_arguments");
  });

  it("publishes Home tabs per user, with hash checks", async () => {
    const home = { type: "home" as const, blocks: [section("Your alerts")] };
    const first = await client().views.publish({ user_id: "U1", view: home });
    const id = first.view?.id as string;
    const second = await client().views.publish({
      user_id: "U1",
      view: home,
      hash: first.view?.hash as string,
    });
    expect(second.view?.id).toBe(id);
    const stale = await platformError(
      client().views.publish({ user_id: "U1", view: home, hash: first.view?.hash as string }),
    );
    expect(stale.data.error).toBe("hash_conflict");
    const wrongType = await platformError(
      client().views.publish({ user_id: "U1", view: modalView() as never }),
    );
    expect(wrongType.data.error).toBe("invalid_arguments");
  });
});

describe("response URLs", () => {
  async function post(url: string, body: unknown) {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return {
      status: res.status,
      json: (await res.json()) as { ok: boolean; error?: string; errors?: string[] },
    };
  }

  it("accepts up to five posts, then answers used_url", async () => {
    const url = slack.responseUrl();
    expect(url.startsWith(`${slack.baseUrl}/response/`)).toBe(true);
    for (let i = 0; i < 5; i++) {
      expect(await post(url, { text: `reply ${i}`, replace_original: true })).toEqual({
        status: 200,
        json: { ok: true },
      });
    }
    expect(await post(url, { text: "one too many" })).toEqual({
      status: 404,
      json: { ok: false, error: "used_url" },
    });
    expect(slack.responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 404]);
    expect(slack.responses[0]?.body).toEqual({ text: "reply 0", replace_original: true });
    expect(slack.responses[0]?.url).toBe(url);
  });

  it("expires after 30 minutes", async () => {
    const url = slack.responseUrl();
    clock += 30 * 60 * 1000;
    expect((await post(url, { text: "just in time" })).status).toBe(200);
    clock += 1;
    expect(await post(url, { text: "late" })).toEqual({
      status: 404,
      json: { ok: false, error: "expired_url" },
    });
  });

  it("rejects invalid blocks and empty messages, but allows delete_original", async () => {
    const url = slack.responseUrl();
    const invalid = await post(url, { text: "t", blocks: [{ type: "header", text: pt("h".repeat(151)) }] });
    expect(invalid.status).toBe(400);
    expect(invalid.json.error).toBe("invalid_blocks");
    expect(invalid.json.errors?.[0]).toContain("[json-pointer:/blocks/0/text/text]");
    expect((await post(url, {})).json.error).toBe("no_text");
    expect((await post(url, { delete_original: true })).status).toBe(200);
    expect((await post(`${slack.baseUrl}/response/0123abcd`, { text: "x" })).status).toBe(404);
  });

  it("counts blocks without fallback text", async () => {
    await post(slack.responseUrl(), { blocks: [section("no text")] });
    expect(slack.missingTextCount).toBe(1);
  });
});

describe("waitFor", () => {
  it("resolves once the predicate holds and times out otherwise", async () => {
    let done = false;
    setTimeout(() => {
      done = true;
    }, 20);
    await slack.waitFor(() => done, 1000);
    await expect(slack.waitFor(() => false, 30)).rejects.toThrow(/within 30 ms/);
  });
});
