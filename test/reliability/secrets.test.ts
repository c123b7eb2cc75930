/**
 * The four secrets (bot token, signing secret, PostHog key, webhook secret)
 * never leave the bot: not in its logs at trace level, not in anything it
 * sends to Slack (calls, replies, views, messages), not in HTTP answers
 * (/healthz, the webhook, Slack acks), not in error sentences. One session
 * exercises commands, forms, buttons, refusals, PostHog and Slack faults and
 * the webhook; then everything the bot emitted is searched.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alertRefCodec } from "../../src/slack/codecs.js";
import {
  ACTION_CONFIRM_DELETE,
  ACTION_NOTIFY_DISABLE,
  ACTION_NOTIFY_SNOOZE,
  BLOCK_LOWER,
  BLOCK_NAME,
} from "../../src/slack/ids.js";
import {
  type FakeAlert,
  type FakeInsight,
  type FakePostHog,
  startFakePostHog,
} from "../support/fake-posthog.js";
import { startFakeSlack } from "../support/fake-slack.js";
import {
  BOT_TOKEN,
  botEnv,
  type Harness,
  nextResponse,
  POSTHOG_KEY,
  PROJECT_ID,
  SIGNING_SECRET,
  startHarness,
  USERS,
  WEBHOOK_SECRET,
} from "../support/harness.js";
import { SlackRequester } from "../support/slack-requests.js";
import { setField, stateFromView } from "../support/view-state.js";
import { firingBody, postWebhook } from "../support/webhook.js";
import { sleep, startBotProcess, startSlackFront, waitUntil } from "./support.js";

const SECRETS = { BOT_TOKEN, SIGNING_SECRET, POSTHOG_KEY, WEBHOOK_SECRET };

/** Each secret as it could leak: as is, URL-encoded, base64, in a JSON string. */
function forms(secret: string): string[] {
  return [
    secret,
    encodeURIComponent(secret),
    Buffer.from(secret).toString("base64"),
    Buffer.from(secret).toString("base64url"),
    JSON.stringify(secret).slice(1, -1),
  ];
}

function leaks(haystack: string): string[] {
  const found: string[] = [];
  for (const [name, secret] of Object.entries(SECRETS)) {
    for (const form of forms(secret))
      if (haystack.includes(form)) found.push(`${name} (${form.slice(0, 6)}…)`);
  }
  return found;
}

let h: Harness;
let insight: FakeInsight;
let alert: FakeAlert;
const answers: string[] = [];

function seed(posthog: FakePostHog) {
  insight = posthog.addInsight({ name: "Daily signups" });
  alert = posthog.addAlert({
    insight: insight.id,
    name: "Signups dropped",
    threshold: { configuration: { type: "absolute", bounds: { lower: 100, upper: null } } },
  });
  posthog.addAlert({ insight: insight.id, name: "Errors spiking" });
}

beforeAll(async () => {
  h = await startHarness({ seed, env: { LOG_LEVEL: "trace", ALERTS_CHANNEL: "C0ALERTS01" } });
});
afterAll(async () => {
  await h.close();
});

async function command(text: string, userId: string = USERS.ann.id) {
  const before = h.slack.responses.length;
  const ack = await h.requester.slashCommand({
    text,
    userId,
    responseUrl: h.slack.responseUrl(),
    triggerId: h.slack.triggerId({ userId }),
  });
  answers.push(ack.body);
  await nextResponse(h, before, 8_000).catch(() => undefined);
}

// The session's steps run in order; the process checks run beside it (their own fakes and processes).
describe.concurrent("secrets", () => {
  describe.concurrent("a representative session", () => {
    it.sequential("runs commands, forms, buttons, refusals, faults and the webhook", async () => {
      for (const text of [
        "help",
        "list",
        "show Signups",
        "watch Signups",
        "watching",
        "snooze Signups 2h",
        "unsnooze Signups",
      ]) {
        await command(text);
      }
      await command("disable Signups", USERS.eve.id);
      await command(`delete ${alert.id}`, USERS.eve.id);

      // PostHog faults.
      h.posthog.failNext(1, { status: 500 });
      await command(`show ${alert.id}`);
      h.posthog.failNext(1, {
        status: 400,
        body: { type: "validation_error", code: "invalid_input", detail: "Alert is not valid", attr: null },
      });
      await command("disable Errors spiking");
      h.posthog.failNext(1, {
        status: 403,
        body: { detail: "API key missing required scope 'alert:write'" },
      });
      await command("enable Errors spiking");
      h.posthog.failNext(1, {
        status: 401,
        body: { detail: "Personal API key found in request Authorization header is invalid." },
      });
      await command(`show ${alert.id}`);
      answers.push(await (await fetch(`${h.baseUrl}/healthz`)).text());

      // The alert form: open, fail once, then save.
      const updates = h.slack.callsTo("views.update").length;
      await h.requester.slashCommand({
        text: `create ${insight.id}`,
        userId: USERS.ann.id,
        responseUrl: h.slack.responseUrl(),
        triggerId: h.slack.triggerId({ userId: USERS.ann.id }),
      });
      await waitUntil(() => h.slack.callsTo("views.update").length > updates, 5_000, "form");
      const [viewId, stored] = [...h.slack.views.entries()].at(-1) as [
        string,
        { view: { blocks: Array<Record<string, unknown>>; private_metadata: string } },
      ];
      const values = setField(
        setField(stateFromView(stored.view), BLOCK_NAME, { value: "Secret-free" }),
        BLOCK_LOWER,
        {
          value: "3",
        },
      );
      h.posthog.failNext(1, { status: 400, body: { detail: "Name is not allowed", attr: "name" } });
      for (let i = 0; i < 2; i++) {
        const res = await h.requester.viewSubmission({
          userId: USERS.ann.id,
          callbackId: "alert_form",
          viewId,
          privateMetadata: stored.view.private_metadata,
          values,
        });
        answers.push(res.body);
        await sleep(300);
      }

      // Webhook: refused, malformed, accepted; the notification and its buttons; Slack faults.
      answers.push((await postWebhook(h.baseUrl, {}, { secret: `${WEBHOOK_SECRET}x` })).text);
      answers.push((await postWebhook(h.baseUrl, {}, { secret: WEBHOOK_SECRET, raw: "{nope" })).text);
      answers.push((await postWebhook(h.baseUrl, { event: {} }, { secret: WEBHOOK_SECRET })).text);
      h.slack.failNext("chat.postMessage", { status: 500 });
      answers.push(
        (await postWebhook(h.baseUrl, firingBody({ alertId: alert.id }), { secret: WEBHOOK_SECRET })).text,
      );
      answers.push(
        (
          await postWebhook(h.baseUrl, firingBody({ alertId: alert.id }), {
            secret: WEBHOOK_SECRET,
            query: "?channel=C0OTHER001",
          })
        ).text,
      );
      // `/alerts watch` above routed this alert to the channel it was typed in, before any ?channel.
      const watching = "C0TESTCHAN";
      await waitUntil(() => (h.slack.messages.get(watching) ?? []).length >= 1, 8_000, "notification");
      const message = (h.slack.messages.get(watching) ?? [])[0];
      for (const [actionId, extra] of [
        [ACTION_NOTIFY_SNOOZE, { selectedOption: { value: "1h" } }],
        [ACTION_NOTIFY_DISABLE, { value: alertRefCodec.encode({ a: alert.id }) }],
        [ACTION_CONFIRM_DELETE, { value: alertRefCodec.encode({ a: alert.id }) }],
      ] as const) {
        const res = await h.requester.blockAction({
          userId: USERS.eve.id,
          actionId,
          blockId: `notify_controls:${alert.id}`,
          channelId: watching,
          message: { ts: message?.ts, text: message?.text, blocks: message?.blocks },
          responseUrl: h.slack.responseUrl(),
          ...extra,
        });
        answers.push(res.body);
      }
      // A forged request and the Home tab.
      answers.push(
        (
          await h.requester.raw("command=%2Falerts&text=list", {
            "Content-Type": "application/x-www-form-urlencoded",
          })
        ).body,
      );
      const home = {
        type: "event_callback",
        team_id: "T0FAKETEAM",
        api_app_id: "A0FAKEAPP",
        event_id: "EvSECRET",
        event_time: Math.floor(Date.now() / 1000),
        event: {
          type: "app_home_opened",
          user: USERS.ann.id,
          channel: "D0123",
          tab: "home",
          event_ts: "1.2",
        },
      };
      answers.push((await h.requester.send(JSON.stringify(home), "application/json")).body);
      await sleep(500);
      answers.push(await (await fetch(`${h.baseUrl}/healthz`)).text());
      expect(h.logs.length).toBeGreaterThan(100);
      expect(h.logs.some((l) => l.includes('"level":20'))).toBe(true);
    }, 60_000);

    it.sequential("no secret in any log line, at any level", () => {
      const all = h.logs.join("\n");
      expect(leaks(all)).toEqual([]);
      // Scrubbing is the last line of defence: nothing should even have tried to log a secret.
      const scrubbed = h.logs.filter((l) => l.includes("[redacted]"));
      console.log(
        `secrets: ${h.logs.length} log lines searched, ${scrubbed.length} carried a scrubbed value`,
      );
      expect(scrubbed).toEqual([]);
    });

    it.sequential("no secret in anything sent to Slack: calls, replies, views, messages", () => {
      const calls = h.slack.calls.map((c) => {
        const { token: _token, ...args } = c.args;
        return { method: c.method, args };
      });
      expect(leaks(JSON.stringify(calls))).toEqual([]);
      expect(leaks(JSON.stringify(h.slack.responses.map((r) => r.body)))).toEqual([]);
      expect(leaks(JSON.stringify([...h.slack.views.values()].map((v) => v.view)))).toEqual([]);
      expect(leaks(JSON.stringify([...h.slack.messages.values()]))).toEqual([]);
      expect(leaks(JSON.stringify(h.slack.ephemerals))).toEqual([]);
      // Bolt passes the token to Slack as a header, never as a form field.
      expect(h.slack.calls.filter((c) => typeof c.args.token === "string")).toEqual([]);
    });

    it.sequential("no secret in HTTP answers: Slack acks, the webhook, /healthz", () => {
      expect(answers.length).toBeGreaterThan(15);
      expect(leaks(answers.join("\n"))).toEqual([]);
    });

    it.sequential("scrubs the PostHog key from PostHog's own error text before the person sees it", async () => {
      h.posthog.failNext(1, {
        status: 400,
        body: {
          type: "validation_error",
          code: "invalid_input",
          detail: `Invalid key ${POSTHOG_KEY}`,
          attr: null,
        },
      });
      const before = h.slack.responses.length;
      await command("disable Errors spiking");
      const reply = JSON.stringify(h.slack.responses.slice(before).map((r) => r.body));
      expect(reply).toContain("PostHog says");
      expect(reply).toContain("[redacted]");
      expect(leaks(reply)).toEqual([]);
    });
  });

  describe.concurrent("the real process at LOG_LEVEL=trace", () => {
    it("writes no secret to stdout or stderr, through start, requests, a refused key and shutdown", async () => {
      const dir = mkdtempSync(join(tmpdir(), "alerts-bot-secrets-"));
      const posthog = await startFakePostHog({ apiKey: POSTHOG_KEY, projectId: PROJECT_ID });
      const slack = await startFakeSlack({ botToken: BOT_TOKEN });
      for (const user of Object.values(USERS)) slack.addUser({ ...user, name: user.email.split("@")[0] });
      try {
        const bot = await startBotProcess(
          botEnv(
            { slackApiUrl: slack.apiUrl, posthogUrl: posthog.url, databasePath: join(dir, "bot.db") },
            { ALERTS_CHANNEL: "C0ALERTS01", LOG_LEVEL: "trace" },
          ),
        );
        const requester = new SlackRequester({ baseUrl: bot.baseUrl, signingSecret: SIGNING_SECRET });
        posthog.failNext(1, { status: 401, body: { detail: `invalid key ${POSTHOG_KEY}` } });
        await requester.slashCommand({
          text: "list",
          userId: USERS.ann.id,
          responseUrl: slack.responseUrl(),
        });
        await requester.slashCommand({
          text: "disable x",
          userId: USERS.eve.id,
          responseUrl: slack.responseUrl(),
        });
        await postWebhook(bot.baseUrl, firingBody({ alertId: "0192c0de-7a1b-7c3e-9d2f-4b5a6c7d8e9f" }), {
          secret: WEBHOOK_SECRET,
        });
        await postWebhook(bot.baseUrl, {}, { secret: "wrong-secret-wrong-secret" });
        await waitUntil(() => slack.responses.length >= 2, 5_000, "answers");
        await waitUntil(() => (slack.messages.get("C0ALERTS01") ?? []).length >= 1, 5_000, "notification");
        await bot.stop();
        const output = [...bot.stdout, ...bot.stderr].join("\n");
        expect(bot.stdout.length).toBeGreaterThan(20);
        expect(leaks(output)).toEqual([]);
        expect(leaks(JSON.stringify(slack.responses.map((r) => r.body)))).toEqual([]);
      } finally {
        await slack.close();
        await posthog.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }, 30_000);

    // Regression (found here, fixed in src/notifications/service.ts): the delivery worker's Web API
    // client had no logger, so library warnings went to stderr as plain, unscrubbed text.
    it("keeps every line in the JSON log on stdout when Slack cuts a connection", async () => {
      const dir = mkdtempSync(join(tmpdir(), "alerts-bot-stderr-"));
      const posthog = await startFakePostHog({ apiKey: POSTHOG_KEY, projectId: PROJECT_ID });
      const slack = await startFakeSlack({ botToken: BOT_TOKEN });
      const front = await startSlackFront(slack.apiUrl, "reset");
      try {
        const bot = await startBotProcess({
          SLACK_BOT_TOKEN: BOT_TOKEN,
          SLACK_SIGNING_SECRET: SIGNING_SECRET,
          SLACK_API_URL: front.apiUrl,
          POSTHOG_HOST: posthog.url,
          POSTHOG_PERSONAL_API_KEY: POSTHOG_KEY,
          POSTHOG_PROJECT_ID: String(PROJECT_ID),
          PORT: "0",
          DATABASE_PATH: join(dir, "bot.db"),
          WEBHOOK_SECRET,
          ALERTS_CHANNEL: "C0ALERTS01",
          POLL_INTERVAL_SECONDS: "0",
          LOG_LEVEL: "debug",
        });
        await postWebhook(bot.baseUrl, firingBody({ alertId: "0192c0de-7a1b-7c3e-9d2f-4b5a6c7d8e9f" }), {
          secret: WEBHOOK_SECRET,
        });
        // Generous waits: the point is the log, and the whole suite shares 2 cores. Alone the cut
        // comes within 0.5 s and the retry, a second later, delivers within 1.7 s.
        await waitUntil(() => (front.faults.get("chat.postMessage") ?? 0) >= 1, 15_000, "a cut connection");
        front.mode = "up";
        await waitUntil(
          () => (slack.messages.get("C0ALERTS01") ?? []).length >= 1,
          15_000,
          "delivered after",
        );
        await bot.stop();
        expect(bot.stdout.every((l) => l === "" || l.startsWith("{"))).toBe(true);
        expect(bot.stderr.join("")).toBe("");
      } finally {
        await front.close();
        await slack.close();
        await posthog.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }, 30_000);
  });
});
