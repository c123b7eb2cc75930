/**
 * Stopping the real bot process as a deploy does: SIGTERM while a request is
 * still being sent on a keep-alive connection, and start-up failures that
 * must name the right variable.
 */

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FakePostHog, startFakePostHog } from "../support/fake-posthog.js";
import { type FakeSlack, startFakeSlack } from "../support/fake-slack.js";
import {
  BOT_TOKEN,
  botEnv,
  POSTHOG_KEY,
  PROJECT_ID,
  SIGNING_SECRET,
  WEBHOOK_SECRET,
} from "../support/harness.js";
import { SlackRequester } from "../support/slack-requests.js";
import { firingBody } from "../support/webhook.js";
import { type BotProcess, MAIN, sleep, startBotProcess, waitUntil } from "./support.js";

let dir: string;
let posthog: FakePostHog;
let slack: FakeSlack;
let bot: BotProcess | undefined;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "bot-shutdown-"));
  posthog = await startFakePostHog({ apiKey: POSTHOG_KEY, projectId: PROJECT_ID });
  slack = await startFakeSlack({ botToken: BOT_TOKEN });
});
afterEach(async () => {
  await bot?.kill();
  bot = undefined;
  await Promise.all([posthog.close(), slack.close()]);
  rmSync(dir, { recursive: true, force: true });
});

const env = (extra: Record<string, string> = {}) =>
  botEnv(
    { slackApiUrl: slack.apiUrl, posthogUrl: posthog.url, databasePath: join(dir, "bot.db") },
    { LOG_LEVEL: "info", ...extra },
  );

describe("stopping the bot", () => {
  it("finishes a request under way at SIGTERM, closes its keep-alive connection, and exits 0 soon", async () => {
    bot = await startBotProcess(env());
    const running = bot;
    const body = JSON.stringify(firingBody({ alertId: "0192c0de-0000-7000-8000-000000000001" }));
    const half = Math.floor(body.length / 2);
    let status = 0;
    const answered = new Promise<void>((resolve, reject) => {
      const req = request(
        `${running.baseUrl}/posthog/webhook`,
        {
          method: "POST",
          // A keep-alive connection, as PostHog's and Slack's senders use.
          agent: false,
          headers: {
            authorization: `Bearer ${WEBHOOK_SECRET}`,
            "content-type": "application/json",
            "content-length": String(Buffer.byteLength(body)),
            connection: "keep-alive",
          },
        },
        (res) => {
          status = res.statusCode ?? 0;
          res.resume();
          res.on("end", () => resolve());
        },
      );
      req.on("error", reject);
      req.write(body.slice(0, half));
      // The rest once the stop has begun.
      void waitUntil(() => running.stdout.some((l) => l.includes("shutting down")), 5_000).then(() =>
        req.end(body.slice(half)),
      );
    });
    await sleep(100);
    const stoppedAt = Date.now();
    running.child.kill("SIGTERM");
    await answered;
    expect(status).toBe(202);
    await waitUntil(() => running.exited !== null, 8_000, "the bot to exit");
    // Within the server's 3 s grace, not the 9 s limit after which it gives up.
    expect(Date.now() - stoppedAt).toBeLessThan(5_000);
    expect(running.exited).toEqual({ code: 0, signal: null });
    expect(running.stdout.join("\n")).not.toMatch(/did not finish in time/);
  });
});

describe("stopping the bot while a command waits for PostHog", () => {
  it("lets the command finish and sends its answer before it exits 0", async () => {
    posthog.addAlert({ insight: posthog.addInsight({ name: "Signups" }).id, name: "Signups dropped" });
    bot = await startBotProcess(env());
    const running = bot;
    posthog.setLatency(1_500);
    const requester = new SlackRequester({ baseUrl: running.baseUrl, signingSecret: SIGNING_SECRET });
    const ack = await requester.slashCommand({
      text: "list all",
      userId: "U0ANN00001",
      responseUrl: slack.responseUrl(),
    });
    expect(ack.status).toBe(200);
    running.child.kill("SIGTERM");
    await waitUntil(() => running.exited !== null, 12_000, "the bot to exit");
    expect(running.exited).toEqual({ code: 0, signal: null });
    expect(slack.responses.map((r) => String(r.body.text))).toEqual([
      expect.stringContaining("Signups dropped"),
    ]);
  });
});

describe("stopping the bot with a request that never finishes", () => {
  it("cuts it after the grace time instead of waiting for it, and exits 0", async () => {
    bot = await startBotProcess(env());
    const running = bot;
    const req = request(`${running.baseUrl}/posthog/webhook`, {
      method: "POST",
      agent: false,
      headers: {
        authorization: `Bearer ${WEBHOOK_SECRET}`,
        "content-type": "application/json",
        "content-length": "100000",
      },
    });
    const cut = new Promise<void>((resolve) => {
      req.on("error", () => resolve());
      req.on("close", () => resolve());
    });
    req.write("{");
    await sleep(100);
    const stoppedAt = Date.now();
    running.child.kill("SIGTERM");
    await waitUntil(() => running.exited !== null, 12_000, "the bot to exit");
    await cut;
    const took = Date.now() - stoppedAt;
    expect(took).toBeGreaterThanOrEqual(1_500);
    expect(took).toBeLessThan(6_000);
    expect(running.exited).toEqual({ code: 0, signal: null });
  });
});

describe("start-up failures", () => {
  it("names DATABASE_PATH, not PORT, when the database cannot be opened", async () => {
    // A folder where a file stands: nothing can be created under it.
    const blocker = join(dir, "not-a-folder");
    writeFileSync(blocker, "");
    const { spawn } = await import("node:child_process");
    const child = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH ?? "", ...env({ DATABASE_PATH: join(blocker, "bot.db") }) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code).toBe(1);
    expect(stderr).toContain(`DATABASE_PATH (${join(blocker, "bot.db")}) cannot be used`);
    expect(stderr).not.toContain("PORT");
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});
