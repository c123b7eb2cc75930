/**
 * The world a benchmarked bot lives in: the loopback fakes of PostHog and of
 * the Slack Web API, seeded like a small real workspace, and correctly signed
 * Slack requests for the load generator.
 */
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { BLOCK_NOTIFY_CONTROLS_PREFIX } from "../../src/blocks/notification.js";
import { ACTION_NOTIFY_SNOOZE } from "../../src/slack/ids.js";
import { type FakePostHog, startFakePostHog } from "../../test/support/fake-posthog.js";
import { type FakeSlack, startFakeSlack } from "../../test/support/fake-slack.js";
import { type SlackHttpResponse, SlackRequester } from "../../test/support/slack-requests.js";
import type { PreparedRequest } from "./load.js";
import { firingRequest, WEBHOOK_SECRET } from "./webhooks.js";

export const SIGNING_SECRET = "bench-signing-secret-0123456789";
export const BOT_TOKEN = "xoxb-bench-token";
export const POSTHOG_KEY = "phx_bench_key";
export const PROJECT_ID = 4242;
export const CHANNEL = "C0BENCHCHAN";
/** A Slack user whose email matches an active PostHog member, so writes are allowed. */
export const USER = { id: "U0BENCH001", name: "ann", email: "ann@example.com", tz: "Europe/Berlin" };

/** The notification controls' block id carries the alert id (the snooze menu's options carry only the preset). */
const NOTIFY_CONTROLS_PREFIX = BLOCK_NOTIFY_CONTROLS_PREFIX;
const SNOOZE_CHOICE = { value: "1h", text: "1 hour" };

export type RequestKind = "command" | "snooze";

/** Where and how the bot under test runs (see botEnvFor). */
export interface BotEnvOptions {
  port: number;
  databasePath: string;
  logLevel: string;
  pollSeconds?: number;
}

export interface World {
  posthog: FakePostHog;
  slack: FakeSlack;
  /** The alert the snooze clicks act on. */
  alertId: string;
  /** Environment for `node dist/main.js` pointing at the fakes (every configuration variable set). */
  botEnv(opts: BotEnvOptions): Record<string, string>;
  /**
   * Has the bot at `botOrigin` post the snooze clicks' alert as a firing notification (through
   * its webhook) and aims the clicks from then on at that message, as a real click would be: one
   * the bot stored, so each snooze also redraws it. Without it, clicks name a message the bot
   * never posted, and it records the snooze but has no message to redraw.
   */
  postNotification(botOrigin: string): Promise<void>;
  /** A signed `/alerts list` or snooze click, each with its own response URL. */
  request(kind: RequestKind): PreparedRequest;
  /** Waits until the fakes have seen no new traffic for `quietMs` (bot work after the ack has finished). */
  settle(opts?: { quietMs?: number; maxMs?: number }): Promise<void>;
  /** Forgets recorded traffic so long runs do not grow the bench process. */
  forget(): void;
  close(): Promise<void>;
}

/** Builds the exact request SlackRequester would send, without sending it. */
class RequestBuilder extends SlackRequester {
  private captured: PreparedRequest | null = null;
  private readonly path: string;

  constructor() {
    super({ baseUrl: "http://127.0.0.1", signingSecret: SIGNING_SECRET });
    this.path = new URL(this.url).pathname;
  }

  override raw(body: string, headers: Record<string, string>): Promise<SlackHttpResponse> {
    this.captured = {
      path: this.path,
      headers: { "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)", ...headers },
      body,
    };
    return Promise.resolve({ status: 0, body: "", ms: 0, contentType: null });
  }

  take(send: () => Promise<SlackHttpResponse>): PreparedRequest {
    this.captured = null;
    void send();
    if (!this.captured) throw new Error("the request was not built");
    return this.captured;
  }
}

/** A firing-alert notification as Slack sends it back inside a block_actions payload. */
function notificationMessage(alertId: string, ts: string): Record<string, unknown> {
  const plain = (text: string) => ({ type: "plain_text", text, emoji: true });
  return {
    ts,
    user: "U0FAKEBOT",
    bot_id: "B0FAKEBOT",
    app_id: "A0FAKEAPP",
    text: "🔥 Signups dropped is firing: 42 is below 100",
    blocks: [
      { type: "header", block_id: "notify_header", text: plain("🔥 Signups dropped") },
      {
        type: "section",
        block_id: "notify_summary",
        text: { type: "mrkdwn", text: "*Daily signups* is *42*, below the lower bound of *100*." },
      },
      {
        type: "section",
        block_id: "notify_facts",
        fields: [
          { type: "mrkdwn", text: "*Condition*\nabsolute value" },
          { type: "mrkdwn", text: "*Checked*\n<!date^1748826012^{date_short_pretty} {time}|2025-06-02>" },
          { type: "mrkdwn", text: "*Frequency*\ndaily" },
          { type: "mrkdwn", text: "*Threshold*\nlower 100" },
        ],
      },
      {
        type: "context",
        block_id: "notify_state",
        elements: [{ type: "mrkdwn", text: "Firing since <!date^1748826012^{time}|01:00 UTC>" }],
      },
      {
        type: "actions",
        block_id: `${NOTIFY_CONTROLS_PREFIX}${alertId}`,
        elements: [
          {
            type: "button",
            action_id: "notify_open_posthog",
            text: plain("Open in PostHog"),
            url: `http://127.0.0.1/project/${PROJECT_ID}/alerts/${alertId}`,
          },
          {
            type: "static_select",
            action_id: ACTION_NOTIFY_SNOOZE,
            placeholder: plain("Snooze…"),
            options: ["30m", "1h", "4h", "1d", "1w"].map((v) => ({ text: plain(v), value: v })),
          },
          { type: "button", action_id: "notify_disable", text: plain("Disable"), style: "danger" },
        ],
      },
    ],
  };
}

/** Environment for `node dist/main.js` pointing at the fakes at these addresses (every variable set). */
export function botEnvFor(
  urls: { slackApiUrl: string; posthogUrl: string },
  opts: BotEnvOptions,
): Record<string, string> {
  return {
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    // Blank means unset; it also keeps a local .env from switching the bot to Socket Mode.
    SLACK_APP_TOKEN: "",
    SLACK_API_URL: urls.slackApiUrl,
    POSTHOG_HOST: urls.posthogUrl,
    POSTHOG_PERSONAL_API_KEY: POSTHOG_KEY,
    POSTHOG_PROJECT_ID: String(PROJECT_ID),
    POSTHOG_ENVIRONMENT_ID: "",
    PORT: String(opts.port),
    DATABASE_PATH: opts.databasePath,
    LOG_LEVEL: opts.logLevel,
    ALERTS_CHANNEL: CHANNEL,
    WEBHOOK_SECRET,
    POLL_INTERVAL_SECONDS: String(opts.pollSeconds ?? 0),
    WRITE_ACCESS: "posthog-members",
  };
}

export async function startWorld(opts: { alerts?: number } = {}): Promise<World> {
  const posthog = await startFakePostHog({ apiKey: POSTHOG_KEY, projectId: PROJECT_ID });
  const slack = await startFakeSlack({ botToken: BOT_TOKEN });
  slack.addUser(USER);
  posthog.addMember({ email: USER.email, first_name: "Ann" });

  const count = Math.max(1, opts.alerts ?? 30);
  const insights = [
    posthog.addInsight({ name: "Daily signups" }),
    posthog.addInsight({ name: "Checkout errors" }),
    posthog.addInsight({ name: "Weekly active users" }),
  ];
  const alertIds: string[] = [];
  for (let i = 0; i < count; i++) {
    const insight = insights[i % insights.length] as (typeof insights)[number];
    const alert = posthog.addAlert({
      insight: insight.id,
      name: `${insight.name ?? "Insight"} alert ${i + 1}`,
      threshold: { configuration: { type: "absolute", bounds: { lower: 100, upper: null } } },
    });
    if (i % 3 === 0) posthog.fire(alert.id, 42);
    alertIds.push(alert.id);
  }
  const alertId = alertIds[0] as string;

  const builder = new RequestBuilder();
  let messageTs = "1748826013.000100";
  let message = notificationMessage(alertId, messageTs);
  let posted = 0;

  return {
    posthog,
    slack,
    alertId,
    botEnv(opts) {
      return botEnvFor({ slackApiUrl: slack.apiUrl, posthogUrl: posthog.url }, opts);
    },
    async postNotification(botOrigin) {
      posted += 1;
      // A check time of its own: the bot takes an event with a check time it has seen for a repeat.
      const firing = firingRequest({ alertId, alertName: "Daily signups alert 1", seq: posted });
      const before = slack.messages.get(CHANNEL)?.length ?? 0;
      const controls = JSON.stringify(`${NOTIFY_CONTROLS_PREFIX}${alertId}`);
      const mine = () =>
        (slack.messages.get(CHANNEL) ?? [])
          .slice(before)
          .find((m) => JSON.stringify(m.blocks ?? []).includes(controls));
      const res = await fetch(`${botOrigin}${firing.path}`, {
        method: "POST",
        headers: firing.headers,
        body: firing.body,
      });
      await res.arrayBuffer();
      if (res.status !== 202) throw new Error(`the bot answered the firing webhook with HTTP ${res.status}`);
      await slack.waitFor(() => mine() !== undefined, 10_000);
      const stored = mine() as NonNullable<ReturnType<typeof mine>>;
      messageTs = stored.ts;
      message = {
        ts: stored.ts,
        user: slack.botUserId,
        bot_id: slack.botId,
        app_id: slack.appId,
        text: stored.text,
        blocks: stored.blocks ?? [],
      };
    },
    request(kind) {
      const responseUrl = slack.responseUrl();
      if (kind === "command") {
        return builder.take(() =>
          builder.slashCommand({ text: "list", userId: USER.id, channelId: CHANNEL, responseUrl }),
        );
      }
      return builder.take(() =>
        builder.blockAction({
          actionId: ACTION_NOTIFY_SNOOZE,
          blockId: `${NOTIFY_CONTROLS_PREFIX}${alertId}`,
          type: "static_select",
          selectedOption: SNOOZE_CHOICE,
          userId: USER.id,
          channelId: CHANNEL,
          messageTs,
          message,
          isEphemeral: false,
          responseUrl,
        }),
      );
    },
    async settle({ quietMs = 300, maxMs = 10_000 } = {}) {
      const traffic = () => posthog.requests.length + slack.calls.length + slack.responses.length;
      const until = performance.now() + maxMs;
      let seen = traffic();
      let quietSince = performance.now();
      while (performance.now() < until) {
        await sleep(25);
        const now = traffic();
        if (now !== seen) {
          seen = now;
          quietSince = performance.now();
        } else if (performance.now() - quietSince >= quietMs) return;
      }
    },
    forget() {
      posthog.requests.length = 0;
      slack.calls.length = 0;
      slack.responses.length = 0;
    },
    async close() {
      await Promise.all([posthog.close(), slack.close()]);
    },
  };
}
