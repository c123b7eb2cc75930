import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { App, type Logger, LogLevel } from "@slack/bolt";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FakeSlack, startFakeSlack } from "./fake-slack.js";
import { FORM_CONTENT_TYPE, SlackRequester, sign } from "./slack-requests.js";

const SECRET = "test-signing-secret";
const NOW = Date.UTC(2025, 5, 2, 15, 0, 0);

describe("sign", () => {
  it("matches Slack's official test vector", () => {
    const body =
      "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V" +
      "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=" +
      "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN" +
      "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    expect(sign("8f742231b10e8888abcd99yyyzzz85a5", 1531420618, body)).toBe(
      "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    );
  });

  it("changes with the secret, the timestamp and every byte of the body", () => {
    const base = sign("s", 1, "a=1");
    expect(sign("t", 1, "a=1")).not.toBe(base);
    expect(sign("s", 2, "a=1")).not.toBe(base);
    expect(sign("s", 1, "a=2")).not.toBe(base);
    expect(base).toMatch(/^v0=[0-9a-f]{64}$/);
  });
});

interface Captured {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

describe("SlackRequester wire format", () => {
  let server: Server;
  let captured: Captured[];
  let reply: { status: number; type?: string; body: string };
  let requester: SlackRequester;

  beforeEach(async () => {
    captured = [];
    reply = { status: 200, body: "" };
    server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      captured.push({
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      });
      res.writeHead(reply.status, reply.type ? { "content-type": reply.type } : {});
      res.end(reply.body);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    requester = new SlackRequester({
      baseUrl: `http://127.0.0.1:${port}`,
      signingSecret: SECRET,
      now: () => NOW,
      teamId: "T0TEAM",
    });
  });

  afterEach(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  function last(): Captured {
    const c = captured.at(-1);
    if (!c) throw new Error("no request captured");
    return c;
  }

  function payloadOf(c: Captured): Record<string, unknown> {
    const raw = new URLSearchParams(c.body).get("payload");
    if (raw === null) throw new Error("no payload field");
    return JSON.parse(raw) as Record<string, unknown>;
  }

  function expectSigned(c: Captured): void {
    expect(c.method).toBe("POST");
    expect(c.url).toBe("/slack/events");
    expect(c.headers["content-type"]).toBe(FORM_CONTENT_TYPE);
    expect(c.headers["x-slack-request-timestamp"]).toBe(String(NOW / 1000));
    expect(c.headers["x-slack-signature"]).toBe(sign(SECRET, NOW / 1000, c.body));
  }

  it("sends a slash command with every field Slack sends, signed over the raw body", async () => {
    const res = await requester.slashCommand({
      text: "list firing",
      userId: "U1",
      channelId: "C1",
      command: "/alerts",
      responseUrl: "http://127.0.0.1:1/response/abc",
      triggerId: "1.2.3",
    });
    expect(res).toMatchObject({ status: 200, body: "" });
    expect(res.ms).toBeGreaterThanOrEqual(0);
    const c = last();
    expectSigned(c);
    const form = new URLSearchParams(c.body);
    expect([...form.keys()]).toEqual([
      "token",
      "team_id",
      "team_domain",
      "channel_id",
      "channel_name",
      "user_id",
      "user_name",
      "command",
      "text",
      "api_app_id",
      "is_enterprise_install",
      "response_url",
      "trigger_id",
    ]);
    expect(Object.fromEntries(form)).toMatchObject({
      team_id: "T0TEAM",
      channel_id: "C1",
      user_id: "U1",
      command: "/alerts",
      text: "list firing",
      response_url: "http://127.0.0.1:1/response/abc",
      trigger_id: "1.2.3",
    });
  });

  it("sends a button click on a message as a block_actions payload", async () => {
    await requester.blockAction({
      userId: "U1",
      actionId: "notify_snooze",
      blockId: "controls",
      value: '{"alertId":"a1"}',
      channelId: "C1",
      messageTs: "1748876400.000100",
      message: { text: "Signups dropped", blocks: [] },
      responseUrl: "http://127.0.0.1:1/response/def",
      triggerId: "9.9.9",
    });
    const c = last();
    expectSigned(c);
    expect([...new URLSearchParams(c.body).keys()]).toEqual(["payload"]);
    const p = payloadOf(c);
    expect(p).toMatchObject({
      type: "block_actions",
      user: { id: "U1", team_id: "T0TEAM" },
      team: { id: "T0TEAM" },
      trigger_id: "9.9.9",
      container: { type: "message", message_ts: "1748876400.000100", channel_id: "C1", is_ephemeral: false },
      channel: { id: "C1" },
      message: { ts: "1748876400.000100", text: "Signups dropped" },
      response_url: "http://127.0.0.1:1/response/def",
      actions: [
        { type: "button", action_id: "notify_snooze", block_id: "controls", value: '{"alertId":"a1"}' },
      ],
    });
    expect(typeof p.api_app_id).toBe("string");
    expect(typeof p.token).toBe("string");
    expect((p.user as { username?: unknown }).username).toEqual(expect.any(String));
    expect((p.actions as Array<{ action_ts?: unknown }>)[0]?.action_ts).toBe(`${NOW / 1000}.000000`);
  });

  it("sends selects with selected_option, and actions in modals with a view container", async () => {
    await requester.blockAction({ actionId: "menu", selectedOption: { value: "edit" }, responseUrl: "u" });
    const select = payloadOf(last());
    expect(select.actions).toEqual([
      expect.objectContaining({
        type: "static_select",
        selected_option: expect.objectContaining({ value: "edit" }),
      }),
    ]);
    expect(select.container).toMatchObject({ type: "message", is_ephemeral: true });

    await requester.blockAction({ actionId: "more", type: "overflow", value: "delete" });
    expect((payloadOf(last()).actions as unknown[])[0]).toMatchObject({
      type: "overflow",
      selected_option: { value: "delete" },
    });

    await requester.blockAction({
      actionId: "threshold_type",
      value: "x",
      view: { id: "V1", callback_id: "f" },
    });
    const inModal = payloadOf(last());
    expect(inModal.container).toEqual({ type: "view", view_id: "V1" });
    expect(inModal.view).toMatchObject({ id: "V1", callback_id: "f", state: { values: {} } });
    expect(inModal).not.toHaveProperty("response_url");
    expect(inModal).not.toHaveProperty("channel");
  });

  it("sends view submissions with state values and returns the parsed JSON answer", async () => {
    reply = {
      status: 200,
      type: "application/json",
      body: '{"response_action":"errors","errors":{"name":"x"}}',
    };
    const values = { name: { name_input: { type: "plain_text_input", value: "Signups" } } };
    const res = await requester.viewSubmission({
      userId: "U1",
      callbackId: "alert_form",
      privateMetadata: '{"mode":"create"}',
      values,
      viewId: "V9",
      hash: "123.abc",
    });
    expect(res.json).toEqual({ response_action: "errors", errors: { name: "x" } });
    const c = last();
    expectSigned(c);
    const p = payloadOf(c);
    expect(p).toMatchObject({
      type: "view_submission",
      user: { id: "U1" },
      team: { id: "T0TEAM" },
      view: {
        id: "V9",
        type: "modal",
        callback_id: "alert_form",
        private_metadata: '{"mode":"create"}',
        hash: "123.abc",
        state: { values },
      },
    });
    expect(p.trigger_id).toEqual(expect.any(String));
  });

  it("sends block_suggestion payloads for external selects", async () => {
    await requester.blockSuggestion({ actionId: "insight_select", blockId: "insight", value: "sign" });
    const p = payloadOf(last());
    expect(p).toMatchObject({
      type: "block_suggestion",
      action_id: "insight_select",
      block_id: "insight",
      value: "sign",
      container: { type: "view" },
      view: { type: "modal" },
    });
  });

  it("sends raw bodies with exactly the given headers", async () => {
    await requester.raw("a=1", { "Content-Type": "text/plain", "X-Slack-Signature": "v0=forged" });
    const c = last();
    expect(c.body).toBe("a=1");
    expect(c.headers["content-type"]).toBe("text/plain");
    expect(c.headers["x-slack-signature"]).toBe("v0=forged");
    expect(c.headers["x-slack-request-timestamp"]).toBeUndefined();
  });
});

/** The real judge of payload shapes: a Bolt app, answering signed requests. */
describe("SlackRequester against a real Bolt app", () => {
  let slack: FakeSlack;
  let app: App;
  let requester: SlackRequester;
  let seen: unknown[];

  const silent: Logger = {
    debug: () => {},
    info: () => {},
    warn: () => {},
    error: () => {},
    setLevel: () => {},
    getLevel: () => LogLevel.ERROR,
    setName: () => {},
  };

  beforeEach(async () => {
    seen = [];
    slack = await startFakeSlack();
    app = new App({
      signingSecret: SECRET,
      token: slack.botToken,
      logger: silent,
      clientOptions: { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } },
      deferInitialization: true,
    });
    await app.init(); // runs auth.test against the fake
    app.command("/alerts", async ({ ack, respond, command }) => {
      await ack();
      await respond({ text: `you said ${command.text}`, response_type: "ephemeral" });
    });
    app.action("notify_snooze", async ({ ack, action, body }) => {
      await ack();
      seen.push({ action, container: (body as { container?: unknown }).container });
    });
    app.action("menu", async ({ ack, action }) => {
      await ack();
      seen.push(action);
    });
    app.view("alert_form", async ({ ack, view }) => {
      const name = view.state.values.name?.name_input?.value;
      await ack({ response_action: "errors", errors: { name: `bad ${name}` } });
    });
    app.options("insight_select", async ({ ack, options }) => {
      await ack({
        options: [{ text: { type: "plain_text", text: `Insight ${options.value}` }, value: "1" }],
      });
    });
    const server = (await app.start({ port: 0, host: "127.0.0.1" })) as Server;
    const { port } = server.address() as AddressInfo;
    requester = new SlackRequester({ baseUrl: `http://127.0.0.1:${port}`, signingSecret: SECRET });
  });

  afterEach(async () => {
    await app.stop();
    await slack.close();
  });

  it("initialises against the fake Web API (auth.test)", () => {
    expect(slack.callsTo("auth.test").map((c) => c.ok)).toEqual([true]);
  });

  it("acks a slash command and the app responds through the fake response URL", async () => {
    const res = await requester.slashCommand({ text: "list", responseUrl: slack.responseUrl() });
    expect(res.status).toBe(200);
    await slack.waitFor(() => slack.responses.length === 1);
    expect(slack.responses[0]).toMatchObject({ status: 200, body: { text: "you said list" } });
  });

  it("routes button clicks and selects to action listeners", async () => {
    const click = await requester.blockAction({
      actionId: "notify_snooze",
      value: "v1",
      message: { text: "m" },
    });
    expect(click.status).toBe(200);
    const select = await requester.blockAction({ actionId: "menu", selectedOption: { value: "edit" } });
    expect(select.status).toBe(200);
    expect(seen).toEqual([
      {
        action: expect.objectContaining({ value: "v1" }),
        container: expect.objectContaining({ type: "message" }),
      },
      expect.objectContaining({ selected_option: expect.objectContaining({ value: "edit" }) }),
    ]);
  });

  it("returns a view submission's response_action errors", async () => {
    const res = await requester.viewSubmission({
      callbackId: "alert_form",
      values: { name: { name_input: { type: "plain_text_input", value: "X" } } },
    });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ response_action: "errors", errors: { name: "bad X" } });
  });

  it("answers block_suggestion with options", async () => {
    const res = await requester.blockSuggestion({ actionId: "insight_select", value: "sign" });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      options: [{ text: { type: "plain_text", text: "Insight sign" }, value: "1" }],
    });
  });

  it("is rejected when forged, stale or sent with a charset suffix", async () => {
    const body = new URLSearchParams({ payload: "{}" }).toString();
    const forged = await requester.raw(body, {
      ...requester.signedHeaders(body),
      "X-Slack-Signature": sign("other-secret", Math.floor(Date.now() / 1000), body),
    });
    expect(forged.status).toBe(401);
    const stale = await requester.raw(
      body,
      requester.signedHeaders(body, { timestamp: Math.floor(Date.now() / 1000) - 301 }),
    );
    expect(stale.status).toBe(401);
    const charset = await requester.raw(
      body,
      requester.signedHeaders(body, { contentType: `${FORM_CONTENT_TYPE}; charset=utf-8` }),
    );
    expect(charset.status).toBe(400);
  });
});
