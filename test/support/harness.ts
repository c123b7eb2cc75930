import { type Bot, type BotDeps, createBot } from "../../src/app.js";
import { type Config, loadConfig, secretsOf } from "../../src/config.js";
import { createLogger } from "../../src/log.js";
import { createPostHogThread } from "../../src/posthog/thread.js";
import { type FakePostHog, startFakePostHog } from "./fake-posthog.js";
import { type FakeSlack, startFakeSlack } from "./fake-slack.js";
import { SlackRequester } from "./slack-requests.js";

export const SIGNING_SECRET = "test-signing-secret-0123456789";
export const BOT_TOKEN = "xoxb-test-token";
export const POSTHOG_KEY = "phx_test_key";
export const WEBHOOK_SECRET = "test-webhook-secret-0123456789";
export const PROJECT_ID = 4242;

/** Slack users the tests act as. Their emails match (or not) PostHog members the harness adds. */
export const USERS = {
  ann: { id: "U0ANN0001", email: "ann@example.com", tz: "America/Los_Angeles" },
  bob: { id: "U0BOB0002", email: "bob@example.com", tz: "Europe/Berlin" },
  /** In Slack, but not a member of the PostHog organization. */
  eve: { id: "U0EVE0003", email: "eve@elsewhere.example", tz: "Asia/Kolkata" },
} as const;

export interface Harness {
  bot: Bot;
  config: Config;
  slack: FakeSlack;
  posthog: FakePostHog;
  requester: SlackRequester;
  baseUrl: string;
  /** Every log line the bot wrote. */
  logs: string[];
  close(): Promise<void>;
}

export interface HarnessOptions {
  env?: Record<string, string>;
  /** Overrides passed to createBot (e.g. a clock). */
  deps?: Partial<BotDeps>;
  /** Seeds the fake PostHog before the bot starts. */
  seed?: (posthog: FakePostHog) => void;
  /** Runs PostHog calls on a thread of their own, as `npm start` does, from this built worker. */
  posthogThreadWorker?: URL;
}

/**
 * The bot's environment against these fakes: every required variable, the webhook on,
 * polling off, an ephemeral port; `extra` adds or overrides.
 */
export function botEnv(
  fakes: { slackApiUrl: string; posthogUrl: string; databasePath: string },
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: fakes.slackApiUrl,
    POSTHOG_HOST: fakes.posthogUrl,
    POSTHOG_PERSONAL_API_KEY: POSTHOG_KEY,
    POSTHOG_PROJECT_ID: String(PROJECT_ID),
    PORT: "0",
    DATABASE_PATH: fakes.databasePath,
    POLL_INTERVAL_SECONDS: "0",
    WEBHOOK_SECRET,
    ...extra,
  };
}

/** Starts fake PostHog, fake Slack and the real bot on an ephemeral port, all on loopback. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const posthog = await startFakePostHog({ apiKey: POSTHOG_KEY, projectId: PROJECT_ID });
  const slack = await startFakeSlack({ botToken: BOT_TOKEN });
  for (const user of Object.values(USERS)) slack.addUser({ ...user, name: user.email.split("@")[0] });
  posthog.addMember({ email: USERS.ann.email, first_name: "Ann" });
  posthog.addMember({ email: USERS.bob.email, first_name: "Bob" });
  options.seed?.(posthog);

  const config = loadConfig(
    botEnv(
      { slackApiUrl: slack.apiUrl, posthogUrl: posthog.url, databasePath: ":memory:" },
      { LOG_LEVEL: "debug", ...options.env },
    ),
  );
  const logs: string[] = [];
  const logger = createLogger({
    level: config.logLevel,
    secrets: secretsOf(config),
    out: { write: (l) => logs.push(l) },
  });
  const bot = await createBot({
    config,
    logger,
    slackClientOptions: { retryConfig: { retries: 0 }, timeout: 2_000 },
    ...(options.posthogThreadWorker
      ? { posthogThread: createPostHogThread(config.posthog, logger, options.posthogThreadWorker) }
      : {}),
    ...options.deps,
  });
  const { port } = await bot.start();
  const baseUrl = `http://127.0.0.1:${port}`;
  const requester = new SlackRequester({ baseUrl, signingSecret: SIGNING_SECRET });
  return {
    bot,
    config,
    slack,
    posthog,
    requester,
    baseUrl,
    logs,
    async close() {
      await bot.stop();
      await Promise.all([slack.close(), posthog.close()]);
    },
  };
}

/** Waits for the next response_url post after `count` posts, and returns it. */
export async function nextResponse(h: Harness, count: number, timeoutMs = 5_000) {
  await h.slack.waitFor(() => h.slack.responses.length > count, timeoutMs);
  return h.slack.responses[count];
}

/**
 * The answer to a slash command: in the ack's body when the bot answered at once
 * (help, usage, a cached list), otherwise the next response_url post after `count`.
 */
export async function commandReply(
  h: Harness,
  ack: { body?: string; json?: unknown; contentType?: string | null },
  count: number,
  timeoutMs = 5_000,
): Promise<{ body: Record<string, unknown>; via: "ack" | "response_url" } | undefined> {
  if (ack.body && ack.json === undefined)
    throw new Error(
      `the ack's body is not JSON (content type ${ack.contentType}): Slack would show it as plain text`,
    );
  const json = ack.json as Record<string, unknown> | undefined;
  if (json && (typeof json.text === "string" || Array.isArray(json.blocks)))
    return { body: json, via: "ack" };
  const posted = await nextResponse(h, count, timeoutMs);
  return posted ? { body: posted.body as Record<string, unknown>, via: "response_url" } : undefined;
}

/** All text a message shows (fallback plus block text), for assertions. */
export function visibleText(message: { text?: string; blocks?: unknown[] }): string {
  return `${message.text ?? ""}\n${JSON.stringify(message.blocks ?? [])}`;
}
