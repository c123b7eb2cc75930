import { z } from "zod";

/**
 * The bot's whole configuration, read once from the environment.
 * Every variable is documented in the README's configuration table; the
 * hints below are what a person sees when a value is missing or wrong.
 */

const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const HINTS: Record<string, string> = {
  SLACK_BOT_TOKEN:
    "copy the Bot User OAuth Token (starts with xoxb-) from your Slack app's OAuth & Permissions page",
  SLACK_SIGNING_SECRET:
    "copy the Signing Secret from your Slack app's Basic Information page (or set SLACK_APP_TOKEN to use Socket Mode)",
  SLACK_APP_TOKEN:
    "create an app-level token with the connections:write scope on your Slack app's Basic Information page (starts with xapp-), or leave it unset for HTTP mode",
  SLACK_API_URL: "use an absolute http(s) URL such as https://slack.com/api/, or leave it unset",
  POSTHOG_HOST:
    "use your PostHog URL, e.g. https://us.posthog.com, https://eu.posthog.com or your self-hosted address",
  POSTHOG_PERSONAL_API_KEY:
    "create a personal API key in PostHog (Settings → Personal API keys) with the scopes alert:read, alert:write, insight:read and organization_member:read",
  POSTHOG_PROJECT_ID: "use the numeric project id from your PostHog URL (/project/12345/...)",
  POSTHOG_ENVIRONMENT_ID: "use the numeric environment id from PostHog, or set POSTHOG_PROJECT_ID instead",
  PORT: "use a whole number between 0 and 65535",
  DATABASE_PATH: "use a writable file path such as ./data/alerts-bot.db",
  LOG_LEVEL: `use one of ${LOG_LEVELS.join(", ")}`,
  ALERTS_CHANNEL:
    "use a channel ID such as C0123ABCDEF (channel details → About, at the bottom), or leave it unset",
  WEBHOOK_SECRET:
    "use a random string of at least 16 characters (e.g. `openssl rand -hex 32`), or leave it unset to turn the webhook off",
  POLL_INTERVAL_SECONDS: "use 0 to turn polling off, or a whole number of seconds between 10 and 86400",
  WRITE_ACCESS:
    "use posthog-members, everyone, or a comma-separated list of Slack user ids (U…/W…) and user-group ids (S…)",
};

const blankToUndefined = (value: unknown) =>
  typeof value === "string" && value.trim() === ""
    ? undefined
    : typeof value === "string"
      ? value.trim()
      : value;

const optionalString = z.preprocess(blankToUndefined, z.string().optional());

const httpUrl = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}, "is not an absolute http(s) URL");

const wholeNumber = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, "is not a whole number")
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be between ${min} and ${max}`);

const CHANNEL_ID = /^[CG][A-Z0-9]{6,}$/;
const WRITE_ACCESS_ID = /^[UWS][A-Z0-9]{6,}$/;

export type WriteAccess =
  | { mode: "posthog-members" }
  | { mode: "everyone" }
  | { mode: "list"; userIds: string[]; userGroupIds: string[] };

const writeAccess = z.string().transform((raw, ctx): WriteAccess => {
  const value = raw.trim();
  if (value.toLowerCase() === "posthog-members") return { mode: "posthog-members" };
  if (value.toLowerCase() === "everyone") return { mode: "everyone" };
  const ids = value
    .split(",")
    .map((id) => id.trim())
    .filter(Boolean);
  const bad = ids.filter((id) => !WRITE_ACCESS_ID.test(id));
  if (ids.length === 0 || bad.length > 0) {
    ctx.addIssue({
      code: "custom",
      message:
        bad.length > 0
          ? `has entries that are not Slack user or user-group ids: ${bad.join(", ")}`
          : "is empty",
    });
    return z.NEVER;
  }
  return {
    mode: "list",
    userIds: ids.filter((id) => !id.startsWith("S")),
    userGroupIds: ids.filter((id) => id.startsWith("S")),
  };
});

const envSchema = z.object({
  SLACK_BOT_TOKEN: z.preprocess(
    blankToUndefined,
    z
      .string({ error: "is missing" })
      .startsWith("xoxb-", "does not look like a bot token (it must start with xoxb-)"),
  ),
  SLACK_SIGNING_SECRET: optionalString,
  SLACK_APP_TOKEN: z.preprocess(
    blankToUndefined,
    z
      .string()
      .startsWith("xapp-", "does not look like an app-level token (it must start with xapp-)")
      .optional(),
  ),
  SLACK_API_URL: z.preprocess(blankToUndefined, httpUrl.default("https://slack.com/api/")),
  POSTHOG_HOST: z.preprocess(
    blankToUndefined,
    httpUrl
      // A page's address pasted from the browser: the client would put /api/... after it.
      .refine(
        (value) =>
          !URL.canParse(value) ||
          !/\/(project|insights|dashboard|alerts|settings)(\/|$)/.test(new URL(value).pathname),
        "is the address of a page in PostHog, not of PostHog itself (keep only the part before /project/…)",
      )
      .default("https://us.posthog.com"),
  ),
  POSTHOG_PERSONAL_API_KEY: z.preprocess(
    blankToUndefined,
    z
      .string({ error: "is missing" })
      // The key in PostHog's snippet only sends events; it cannot read or change alerts.
      .refine(
        (value) => !value.startsWith("phc_"),
        "is a project API key (phc_…), which cannot manage alerts",
      ),
  ),
  POSTHOG_PROJECT_ID: z.preprocess(blankToUndefined, z.string().regex(/^\d+$/, "is not a number").optional()),
  POSTHOG_ENVIRONMENT_ID: z.preprocess(
    blankToUndefined,
    z.string().regex(/^\d+$/, "is not a number").optional(),
  ),
  PORT: z.preprocess(blankToUndefined, wholeNumber(0, 65535).default(3000)),
  DATABASE_PATH: z.preprocess(blankToUndefined, z.string().default("./data/alerts-bot.db")),
  LOG_LEVEL: z.preprocess(
    (v) => (typeof blankToUndefined(v) === "string" ? String(blankToUndefined(v)).toLowerCase() : undefined),
    z.enum(LOG_LEVELS, { error: "is not a known log level" }).default("info"),
  ),
  ALERTS_CHANNEL: z.preprocess(
    blankToUndefined,
    z.string().regex(CHANNEL_ID, "is not a Slack channel ID").optional(),
  ),
  WEBHOOK_SECRET: z.preprocess(
    blankToUndefined,
    z.string().min(16, "is shorter than 16 characters").optional(),
  ),
  POLL_INTERVAL_SECONDS: z.preprocess(
    blankToUndefined,
    wholeNumber(0, 86_400)
      .refine((n) => n === 0 || n >= 10, "must be 0 (off) or at least 10")
      .default(60),
  ),
  WRITE_ACCESS: z.preprocess(blankToUndefined, writeAccess.default({ mode: "posthog-members" })),
});

/** Rules that involve more than one variable; checked even when single fields fail. */
function crossFieldProblems(env: Record<string, string | undefined>): Array<[string, string]> {
  const has = (name: string) => (env[name] ?? "").trim() !== "";
  const problems: Array<[string, string]> = [];
  if (!has("SLACK_APP_TOKEN") && !has("SLACK_SIGNING_SECRET")) {
    problems.push(["SLACK_SIGNING_SECRET", "is missing (required in HTTP mode)"]);
  }
  if (has("POSTHOG_PROJECT_ID") && has("POSTHOG_ENVIRONMENT_ID")) {
    problems.push([
      "POSTHOG_ENVIRONMENT_ID",
      "is set together with POSTHOG_PROJECT_ID; set only one of them",
    ]);
  }
  if (!has("POSTHOG_PROJECT_ID") && !has("POSTHOG_ENVIRONMENT_ID")) {
    problems.push(["POSTHOG_PROJECT_ID", "is missing (set POSTHOG_PROJECT_ID or POSTHOG_ENVIRONMENT_ID)"]);
  }
  return problems;
}

export interface Config {
  slack: {
    botToken: string;
    signingSecret: string | undefined;
    appToken: string | undefined;
    apiUrl: string;
    socketMode: boolean;
  };
  posthog: {
    host: string;
    apiKey: string;
    /** The project (or environment: the same number) id as it appears in the URL. */
    projectId: string;
  };
  port: number;
  databasePath: string;
  logLevel: LogLevel;
  alertsChannel: string | undefined;
  webhookSecret: string | undefined;
  pollIntervalSeconds: number;
  writeAccess: WriteAccess;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly problems: string[]) {
    super(
      `The bot cannot start: ${problems.length} configuration problem${problems.length === 1 ? "" : "s"}.\n${problems
        .map((p) => `  - ${p}`)
        .join("\n")}\nSet these in the environment or in a .env file (see .env.example and the README).`,
    );
  }
}

/** Parses the environment. Throws ConfigError naming every problem; never echoes a secret. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const result = envSchema.safeParse(env);
  const found: Array<[string, string]> = result.success
    ? []
    : result.error.issues.map((issue) => [
        String(issue.path[0] ?? "environment"),
        issue.code === "invalid_type" ? "is missing" : issue.message,
      ]);
  found.push(...crossFieldProblems(env));
  if (!result.success || found.length > 0) {
    const seen = new Set<string>();
    const problems: string[] = [];
    for (const [variable, message] of found) {
      if (seen.has(variable)) continue;
      seen.add(variable);
      const hint = HINTS[variable];
      problems.push(`${variable} ${message}${hint ? `: ${hint}.` : "."}`);
    }
    throw new ConfigError(problems);
  }
  const e = result.data;
  const apiUrl = e.SLACK_API_URL.endsWith("/") ? e.SLACK_API_URL : `${e.SLACK_API_URL}/`;
  return {
    slack: {
      botToken: e.SLACK_BOT_TOKEN,
      signingSecret: e.SLACK_SIGNING_SECRET,
      appToken: e.SLACK_APP_TOKEN,
      apiUrl,
      socketMode: Boolean(e.SLACK_APP_TOKEN),
    },
    posthog: {
      host: e.POSTHOG_HOST.replace(/\/+$/, ""),
      apiKey: e.POSTHOG_PERSONAL_API_KEY,
      // PostHog's environment id equals the project id; the client uses the projects path for both.
      projectId: (e.POSTHOG_PROJECT_ID ?? e.POSTHOG_ENVIRONMENT_ID) as string,
    },
    port: e.PORT,
    databasePath: e.DATABASE_PATH,
    logLevel: e.LOG_LEVEL,
    alertsChannel: e.ALERTS_CHANNEL,
    webhookSecret: e.WEBHOOK_SECRET,
    pollIntervalSeconds: e.POLL_INTERVAL_SECONDS,
    writeAccess: e.WRITE_ACCESS,
  };
}

/** Every secret value in a config, for log redaction and leak checks. */
export function secretsOf(config: Config): string[] {
  return [
    config.slack.botToken,
    config.slack.signingSecret,
    config.slack.appToken,
    config.posthog.apiKey,
    config.webhookSecret,
  ].filter((s): s is string => typeof s === "string" && s.length > 0);
}
