import { afterEach, describe, expect, it } from "vitest";
import { THREAD_MESSAGES } from "../../src/posthog/thread.js";
import { expectValidMessage } from "../support/block-kit.js";
import {
  commandReply,
  type Harness,
  nextResponse,
  startHarness,
  USERS,
  visibleText,
} from "../support/harness.js";
import { unsafeMrkdwn } from "../support/mrkdwn-safety.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function seedAlerts(n: number) {
  return (posthog: import("../support/fake-posthog.js").FakePostHog) => {
    const insight = posthog.addInsight({ name: "Daily signups" });
    for (let i = 0; i < n; i++) {
      posthog.addAlert({
        insight: insight.id,
        name: `Signups alert ${i}`,
        threshold: { configuration: { type: "absolute", bounds: { lower: 100, upper: null } } },
      });
    }
  };
}

describe("the running bot", () => {
  it("reports healthy once started, with no configuration in the output", async () => {
    h = await startHarness();
    const res = await fetch(`${h.baseUrl}/healthz`);
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(JSON.parse(body)).toMatchObject({ status: "ok" });
    expect(body).not.toContain(h.config.posthog.apiKey);
    expect(h.slack.callsTo("auth.test")).toHaveLength(1);
  });

  it("answers /alerts help and the empty command with every subcommand", async () => {
    h = await startHarness();
    for (const text of ["help", ""]) {
      const before = h.slack.responses.length;
      const ack = await h.requester.slashCommand({
        text,
        userId: USERS.ann.id,
        responseUrl: h.slack.responseUrl(),
      });
      expect(ack.status).toBe(200);
      // Help needs nothing from PostHog or Slack, so it comes in the ack itself.
      const reply = await commandReply(h, ack, before);
      expect(reply?.via).toBe("ack");
      expect(h.slack.responses).toHaveLength(before);
      expect(reply?.body.response_type).toBe("ephemeral");
      expectValidMessage(reply?.body ?? {});
      for (const sub of [
        "list",
        "show",
        "create",
        "edit",
        "delete",
        "snooze",
        "unsnooze",
        "enable",
        "disable",
        "watch",
      ]) {
        expect(visibleText(reply?.body ?? {})).toContain(`/alerts ${sub}`);
      }
    }
  });

  it("lists the project's real alerts from PostHog with state, name, insight, condition and last value", async () => {
    h = await startHarness({ seed: seedAlerts(3) });
    const [first] = [...h.posthog.alerts.values()];
    if (!first) throw new Error("seed failed");
    h.posthog.fire(first.id, 42);
    const ack = await h.requester.slashCommand({
      text: "list",
      userId: USERS.ann.id,
      responseUrl: h.slack.responseUrl(),
    });
    expect(ack.status).toBe(200);
    expect(ack.body).toBe("");
    const reply = await nextResponse(h, 0);
    expectValidMessage(reply?.body);
    expect(unsafeMrkdwn(reply?.body, h.posthog.url)).toEqual([]);
    const text = visibleText(reply?.body);
    expect(text).toContain("3 alerts");
    expect(text).toContain("Signups alert 0");
    expect(text).toContain("Daily signups");
    expect(text).toContain("below 100");
    expect(text).toContain("🔴 Firing");
    expect(text).toContain("last 42");
    const listCalls = h.posthog.requests.filter((r) => r.method === "GET" && /\/alerts\/?$/.test(r.path));
    expect(listCalls.length).toBeGreaterThan(0);
    expect(listCalls.every((r) => r.headers.authorization === `Bearer ${h?.posthog.apiKey}`)).toBe(true);
  });

  it("works under any slash command name Slack routes to the app", async () => {
    h = await startHarness({ seed: seedAlerts(1) });
    await h.requester.slashCommand({
      text: "list",
      command: "/posthog-alerts",
      userId: USERS.ann.id,
      responseUrl: h.slack.responseUrl(),
    });
    const reply = await nextResponse(h, 0);
    expect(visibleText(reply?.body)).toContain("Signups alert 0");
  });

  it("acknowledges within Slack's window even when PostHog takes 2 s, then answers", async () => {
    h = await startHarness({ seed: seedAlerts(2) });
    h.posthog.setLatency(2_000);
    const ack = await h.requester.slashCommand({
      text: "list",
      userId: USERS.ann.id,
      responseUrl: h.slack.responseUrl(),
    });
    expect(ack.status).toBe(200);
    expect(ack.ms).toBeLessThan(1_000);
    expect(h.slack.responses).toHaveLength(0);
    const reply = await nextResponse(h, 0, 8_000);
    expect(visibleText(reply?.body)).toContain("2 alerts");
  });

  it("tells the user in one sentence when PostHog refuses the key, and /healthz turns 503", async () => {
    h = await startHarness({ seed: seedAlerts(1) });
    h.posthog.failNext(1, {
      status: 401,
      body: {
        type: "authentication_error",
        code: "authentication_failed",
        detail: "Personal API key found in request Authorization header is invalid.",
        attr: null,
      },
    });
    await h.requester.slashCommand({
      text: "list",
      userId: USERS.ann.id,
      responseUrl: h.slack.responseUrl(),
    });
    const reply = await nextResponse(h, 0);
    expect(reply?.body.text).toMatch(/PostHog rejected the API key/);
    expect(visibleText(reply?.body)).not.toMatch(/at .*\.js|Error:/);
    const health = await fetch(`${h.baseUrl}/healthz`);
    expect(health.status).toBe(503);
  });

  it("warns on /healthz once PostHog has not answered three requests in a row, and stops when it answers", async () => {
    const harness = await startHarness({ seed: seedAlerts(1) });
    h = harness;
    const healthz = async () =>
      (await (await fetch(`${harness.baseUrl}/healthz`)).json()) as { status: string; warnings: string[] };
    const list = async (n: number) => {
      harness.bot.deps.alerts.invalidate();
      await harness.requester.slashCommand({
        text: "list all",
        userId: USERS.ann.id,
        responseUrl: harness.slack.responseUrl(),
      });
      await nextResponse(harness, n, 15_000);
    };
    // One request, tried four times (three retries), is one request PostHog did not answer.
    harness.posthog.failNext(4, { status: 503, body: { detail: "Service unavailable" } });
    await list(0);
    expect((await healthz()).status).toBe("ok");
    // Two more, each failing at once (PostHog's 500 is not retried).
    harness.posthog.failNext(2, { status: 500, body: { detail: "Server error" } });
    await list(1);
    await list(2);
    expect(await healthz()).toMatchObject({
      status: "degraded",
      warnings: [expect.stringMatching(/PostHog has not answered the bot's last 3 requests.*POSTHOG_HOST/)],
    });
    await list(3);
    expect((await healthz()).status).toBe("ok");
  });

  it('answers 503 "stopping" on /healthz while it stops', async () => {
    h = await startHarness({ seed: seedAlerts(1) });
    h.bot.health.markStopping();
    const res = await fetch(`${h.baseUrl}/healthz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: "stopping" });
  });

  it("names the missing scope", async () => {
    h = await startHarness({ seed: seedAlerts(1) });
    h.posthog.setScopes(["insight:read"]);
    await h.requester.slashCommand({
      text: "list",
      userId: USERS.ann.id,
      responseUrl: h.slack.responseUrl(),
    });
    const reply = await nextResponse(h, 0);
    expect(reply?.body.text).toContain("alert:read");
    // One thing the key may not do: the rest works, so /healthz warns rather than fails.
    // Other calls succeeding say nothing of the one the key may not make: the warning stays.
    h.posthog.setScopes(["*"]);
    await h.requester.slashCommand({
      text: "list",
      userId: USERS.ann.id,
      responseUrl: h.slack.responseUrl(),
    });
    expect(visibleText((await nextResponse(h, 1))?.body)).toContain("1 alert");
    const health = await fetch(`${h.baseUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({
      status: "degraded",
      failing: [],
      warnings: [expect.stringMatching(/HTTP 403 within the last hour: the API key lacks a scope/)],
    });
  });

  it("in Socket Mode, asks the configured Slack API for its connection and blames the app token when refused", async () => {
    // The fake Slack knows only the bot token, so it refuses this app-level token as Slack would.
    const started = startHarness({ env: { SLACK_APP_TOKEN: "xapp-1-A0FAKE-unknown" } });
    await expect(started).rejects.toMatchObject({ appToken: true, data: { error: "invalid_auth" } });
  });

  it("refuses to start, saying what to run, when the PostHog thread's script was not built", async () => {
    const missing = new URL("../support/no-such-worker.js", import.meta.url);
    await expect(startHarness({ posthogThreadWorker: missing })).rejects.toThrow(
      /the PostHog thread's script .*no-such-worker\.js is missing: run npm ci/,
    );
  });

  it("when its PostHog thread dies under a command: one honest sentence, a new thread, and /healthz warns", async () => {
    // A worker that loads, then ends itself on every call, as a crashing one would.
    h = await startHarness({
      seed: seedAlerts(1),
      posthogThreadWorker: new URL("../support/dying-worker.mjs", import.meta.url),
    });
    for (const count of [0, 1]) {
      await h.requester.slashCommand({
        text: "list",
        userId: USERS.ann.id,
        responseUrl: h.slack.responseUrl(),
      });
      const reply = await nextResponse(h, count);
      expect(reply?.body.text).toContain(THREAD_MESSAGES.failed);
      expect(visibleText(reply?.body)).not.toMatch(/at .*\.js|Error:|exit code/);
    }
    // Each call met a new worker: it was started again after the first one died.
    expect(h.logs.filter((l) => l.includes("PostHog thread problem"))).toHaveLength(2);
    const health = await fetch(`${h.baseUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({
      status: "degraded",
      warnings: [expect.stringMatching(/^Within the last hour the PostHog thread stopped \(exit code 3\)/)],
    });
  });

  it("refuses unsigned, stale, future-dated and altered requests without running a listener", async () => {
    h = await startHarness({ seed: seedAlerts(1) });
    const body = new URLSearchParams({
      command: "/alerts",
      text: "list",
      user_id: USERS.ann.id,
      response_url: h.slack.responseUrl(),
    }).toString();
    const now = Math.floor(Date.now() / 1000);
    const { sign } = await import("../support/slack-requests.js");
    const secret = h.config.slack.signingSecret as string;
    const cases: Array<Record<string, string>> = [
      {},
      { "x-slack-request-timestamp": String(now) },
      { "x-slack-request-timestamp": String(now), "x-slack-signature": "v0=deadbeef" },
      { "x-slack-request-timestamp": String(now - 301), "x-slack-signature": sign(secret, now - 301, body) },
      // Ahead by more than the 5 minutes allowed, with room for the seconds this test takes: a case
      // 301 s ahead passed as 300 s when the bot's clock had ticked on by a second.
      { "x-slack-request-timestamp": String(now + 305), "x-slack-signature": sign(secret, now + 305, body) },
      { "x-slack-request-timestamp": String(now), "x-slack-signature": sign(secret, now, `${body}&x=1`) },
    ];
    for (const headers of cases) {
      const res = await h.requester.raw(body, {
        "content-type": "application/x-www-form-urlencoded",
        ...headers,
      });
      expect(res.status).toBe(401);
    }
    // Slack's certificate check is unsigned and gets a 200, as Bolt answers it; nothing runs.
    const sslCheck = await h.requester.raw("ssl_check=1&token=legacy", {
      "content-type": "application/x-www-form-urlencoded",
    });
    expect(sslCheck.status).toBe(200);
    const unsignedCommand = await h.requester.raw(`${body}&ssl_check=0`, {
      "content-type": "application/x-www-form-urlencoded",
    });
    expect(unsignedCommand.status).toBe(401);
    await new Promise((r) => setTimeout(r, 200));
    expect(h.slack.responses).toHaveLength(0);
    expect(h.posthog.requests).toHaveLength(0);
  });

  it("never writes a secret to its logs", async () => {
    h = await startHarness({ seed: seedAlerts(1) });
    await h.requester.slashCommand({
      text: "list",
      userId: USERS.ann.id,
      responseUrl: h.slack.responseUrl(),
    });
    await nextResponse(h, 0);
    const all = h.logs.join("\n");
    expect(all.length).toBeGreaterThan(0);
    for (const secret of [
      h.config.slack.botToken,
      h.config.slack.signingSecret,
      h.config.posthog.apiKey,
      h.config.webhookSecret,
    ]) {
      expect(all).not.toContain(secret);
    }
  });
});
