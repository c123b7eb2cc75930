/**
 * 10,000 random webhook bodies against one running bot: no 5xx, no crash,
 * exactly one Slack post per accepted (non-duplicate) body and none for a
 * refused one. Set FUZZ_SEED to replay a run.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { watchUnhandledRejections } from "../reliability/support.js";
import { runWebhookFuzz } from "../reliability/webhook-fuzz.js";
import type { FakeAlert, FakePostHog } from "../support/fake-posthog.js";
import { type Harness, startHarness } from "../support/harness.js";

let h: Harness;
let alerts: FakeAlert[] = [];
const unhandled = watchUnhandledRejections();

function seed(posthog: FakePostHog) {
  const insight = posthog.addInsight({ name: "Daily signups" });
  alerts = Array.from({ length: 20 }, (_, i) =>
    posthog.addAlert({ insight: insight.id, name: `Stress ${i}` }),
  );
}

beforeAll(async () => {
  h = await startHarness({
    seed,
    env: { LOG_LEVEL: "warn" },
    // The fake Slack shares this process's event loop with the bot; a generous timeout keeps its
    // slowness under load from turning into cut-off calls (which the bot would rightly retry).
    deps: { slackClientOptions: { retryConfig: { retries: 0 }, timeout: 60_000 } },
  });
});
afterAll(async () => {
  await h.close();
  unhandled.stop();
});

it("10,000 random bodies: no 5xx, no crash, one post per accepted body, none for a refused one", async () => {
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
  const started = Date.now();
  const report = await runWebhookFuzz(h, 10_000, {
    seed,
    batch: 100,
    roundSize: 1_000,
    settleMs: 120_000,
    alertIds: alerts.map((a) => a.id),
  });
  console.log(`webhook fuzz (stress): ${JSON.stringify({ ...report, ms: Date.now() - started })}`);
  expect(report.problems, `seed ${seed}`).toEqual([]);
  expect(report.sent).toBe(10_000);
  expect((await fetch(`${h.baseUrl}/healthz`)).status).toBe(200);
  expect(unhandled.seen).toEqual([]);
});
