import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, secretsOf } from "../../src/config.js";

const VALID = {
  SLACK_BOT_TOKEN: "xoxb-1-secret-bot-token",
  SLACK_SIGNING_SECRET: "signing-secret-value",
  POSTHOG_PERSONAL_API_KEY: "phx_secret_key_value",
  POSTHOG_PROJECT_ID: "4242",
};

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfig", () => {
  it("applies the documented defaults", () => {
    const config = loadConfig(VALID);
    expect(config.slack.apiUrl).toBe("https://slack.com/api/");
    expect(config.slack.socketMode).toBe(false);
    expect(config.posthog).toMatchObject({
      host: "https://us.posthog.com",
      projectId: "4242",
    });
    expect(config.port).toBe(3000);
    expect(config.databasePath).toBe("./data/alerts-bot.db");
    expect(config.logLevel).toBe("info");
    expect(config.pollIntervalSeconds).toBe(60);
    expect(config.writeAccess).toEqual({ mode: "posthog-members" });
    expect(config.alertsChannel).toBeUndefined();
    expect(config.webhookSecret).toBeUndefined();
  });

  it("names every problem at once, with a fix for each", () => {
    const found = problems({});
    expect(found.map((p) => p.split(" ")[0])).toEqual([
      "SLACK_BOT_TOKEN",
      "POSTHOG_PERSONAL_API_KEY",
      "SLACK_SIGNING_SECRET",
      "POSTHOG_PROJECT_ID",
    ]);
    for (const p of found) expect(p).toMatch(/: .+\.$/);
  });

  it("explains wrong values without echoing them", () => {
    const env = {
      ...VALID,
      SLACK_BOT_TOKEN: "xoxp-user-token-should-not-echo",
      PORT: "eighty",
      LOG_LEVEL: "loud",
      POLL_INTERVAL_SECONDS: "5",
      WRITE_ACCESS: "U0123ABCD,bob",
      ALERTS_CHANNEL: "#alerts",
      WEBHOOK_SECRET: "short",
      POSTHOG_HOST: "not a url",
    };
    const found = problems(env);
    const text = found.join("\n");
    expect(found).toHaveLength(8);
    expect(text).not.toContain("xoxp-user-token-should-not-echo");
    expect(text).not.toContain("short,");
    expect(text).toContain("PORT is not a whole number");
    expect(text).toContain("WRITE_ACCESS has entries that are not Slack user or user-group ids: bob");
    expect(text).toContain("ALERTS_CHANNEL is not a Slack channel ID");
  });

  it("refuses a PostHog page's address and a project API key, naming the variable and the fix", () => {
    const host = problems({
      ...VALID,
      POSTHOG_HOST: "https://us.posthog.com/project/12345/insights/AaVQ8Ijw",
    });
    expect(host).toEqual([
      expect.stringMatching(/^POSTHOG_HOST is the address of a page in PostHog.*use your PostHog URL/),
    ]);
    // A self-hosted PostHog under a path of its own is still accepted.
    expect(loadConfig({ ...VALID, POSTHOG_HOST: "https://tools.example.com/posthog" }).posthog.host).toBe(
      "https://tools.example.com/posthog",
    );
    const key = problems({ ...VALID, POSTHOG_PERSONAL_API_KEY: "phc_projectkey1234567890" });
    expect(key).toEqual([
      expect.stringMatching(/^POSTHOG_PERSONAL_API_KEY is a project API key.*create a personal API key/),
    ]);
    expect(key.join("")).not.toContain("phc_projectkey1234567890");
  });

  it("needs exactly one of POSTHOG_PROJECT_ID and POSTHOG_ENVIRONMENT_ID", () => {
    expect(problems({ ...VALID, POSTHOG_ENVIRONMENT_ID: "1" })[0]).toMatch(
      /^POSTHOG_ENVIRONMENT_ID is set together/,
    );
    const { POSTHOG_PROJECT_ID: _omit, ...withoutProject } = VALID;
    const config = loadConfig({ ...withoutProject, POSTHOG_ENVIRONMENT_ID: "77" });
    // The environment id is the project id, and the environments path for alerts is deprecated.
    expect(config.posthog).toMatchObject({ projectId: "77" });
  });

  it("uses Socket Mode when an app token is set, and then needs no signing secret", () => {
    const { SLACK_SIGNING_SECRET: _omit, ...env } = VALID;
    const config = loadConfig({ ...env, SLACK_APP_TOKEN: "xapp-1-abc" });
    expect(config.slack.socketMode).toBe(true);
  });

  it("reads WRITE_ACCESS lists into users and groups", () => {
    const config = loadConfig({ ...VALID, WRITE_ACCESS: " U0123ABCD , S0999ZZZZ,W0123ABCD " });
    expect(config.writeAccess).toEqual({
      mode: "list",
      userIds: ["U0123ABCD", "W0123ABCD"],
      userGroupIds: ["S0999ZZZZ"],
    });
    expect(loadConfig({ ...VALID, WRITE_ACCESS: "Everyone" }).writeAccess).toEqual({ mode: "everyone" });
  });

  it("normalises URLs and treats blank values as unset", () => {
    const config = loadConfig({
      ...VALID,
      SLACK_API_URL: "http://127.0.0.1:9/api",
      POSTHOG_HOST: "https://eu.posthog.com/",
      PORT: " ",
    });
    expect(config.slack.apiUrl).toBe("http://127.0.0.1:9/api/");
    expect(config.posthog.host).toBe("https://eu.posthog.com");
    expect(config.port).toBe(3000);
  });

  it("lists every secret for redaction", () => {
    const config = loadConfig({ ...VALID, WEBHOOK_SECRET: "0123456789abcdef-webhook" });
    expect(secretsOf(config).sort()).toEqual(
      [
        "xoxb-1-secret-bot-token",
        "signing-secret-value",
        "phx_secret_key_value",
        "0123456789abcdef-webhook",
      ].sort(),
    );
  });
});
