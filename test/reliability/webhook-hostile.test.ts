/**
 * The PostHog webhook under hostile input: forged or missing secrets,
 * oversized and endless bodies, pathological JSON, wrong types in every
 * field, and 1,000 random bodies. The bot never answers 5xx, never crashes,
 * and never posts anything for a body it refused.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearerMatches } from "../../src/notifications/webhook.js";
import { expectValidMessage } from "../support/block-kit.js";
import type { FakeAlert, FakePostHog } from "../support/fake-posthog.js";
import type { StoredMessage } from "../support/fake-slack.js";
import { type Harness, PROJECT_ID, startHarness, WEBHOOK_SECRET } from "../support/harness.js";
import { unsafeMrkdwn } from "../support/mrkdwn-safety.js";
import { firingBody, postWebhook } from "../support/webhook.js";
import { rawRequest, sleep, waitUntil, watchUnhandledRejections } from "./support.js";
import { runWebhookFuzz, WEBHOOK_FIELD_PATHS } from "./webhook-fuzz.js";

let h: Harness;
let alerts: FakeAlert[] = [];
const unhandled = watchUnhandledRejections();
let channelSeq = 0;
/** A fresh channel per request ties every Slack post to the request that caused it. */
const nextChannel = () => `CWH${(channelSeq++).toString(36).toUpperCase().padStart(6, "0")}`;

function seed(posthog: FakePostHog) {
  const insight = posthog.addInsight({ name: "Daily signups" });
  alerts = Array.from({ length: 5 }, (_, i) =>
    posthog.addAlert({
      insight: insight.id,
      name: `Signups dropped ${i}`,
      threshold: { configuration: { type: "absolute", bounds: { lower: 100, upper: null } } },
    }),
  );
}

beforeAll(async () => {
  // The notification client's production timeout (10 s): with hundreds of posts in flight on one
  // event loop, a 2 s timeout would cut off calls the fake Slack has already accepted.
  h = await startHarness({
    seed,
    deps: { slackClientOptions: { retryConfig: { retries: 0 }, timeout: 10_000 } },
  });
});
afterAll(async () => {
  await h.close();
  unhandled.stop();
});

const url = (channel: string) => `${h.baseUrl}/posthog/webhook?channel=${channel}`;
const postsIn = (channel: string) => (h.slack.messages.get(channel) ?? []).filter((m) => !m.thread_ts);
const validBody = () =>
  firingBody({ alertId: alerts[0]?.id ?? "", checkedAt: new Date(Date.now() - channelSeq * 1000) });

async function expectRefusedWithoutEffect(channels: string[]) {
  await sleep(400);
  for (const channel of channels) expect(h.slack.messages.has(channel), channel).toBe(false);
}

describe("the webhook secret", () => {
  it("refuses missing and wrong secrets, including equal-length ones, with 401", async () => {
    const flipLast = `${WEBHOOK_SECRET.slice(0, -1)}${WEBHOOK_SECRET.endsWith("x") ? "y" : "x"}`;
    const flipFirst = `${WEBHOOK_SECRET.startsWith("x") ? "y" : "x"}${WEBHOOK_SECRET.slice(1)}`;
    const headers: Array<[string, Record<string, string>]> = [
      ["none", {}],
      ["empty", { authorization: "" }],
      ["scheme only", { authorization: "Bearer" }],
      ["scheme and space", { authorization: "Bearer " }],
      ["equal length, last character differs", { authorization: `Bearer ${flipLast}` }],
      ["equal length, first character differs", { authorization: `Bearer ${flipFirst}` }],
      ["upper-cased secret", { authorization: `Bearer ${WEBHOOK_SECRET.toUpperCase()}` }],
      ["prefix of the secret", { authorization: `Bearer ${WEBHOOK_SECRET.slice(0, -1)}` }],
      ["secret plus a character", { authorization: `Bearer ${WEBHOOK_SECRET}x` }],
      ["secret twice", { authorization: `Bearer ${WEBHOOK_SECRET}${WEBHOOK_SECRET}` }],
      ["Basic scheme", { authorization: `Basic ${Buffer.from(`x:${WEBHOOK_SECRET}`).toString("base64")}` }],
      ["Token scheme", { authorization: `Token ${WEBHOOK_SECRET}` }],
      ["no scheme", { authorization: WEBHOOK_SECRET }],
      ["two credentials", { authorization: `Bearer ${WEBHOOK_SECRET}, Bearer other` }],
      ["secret in another header", { "x-webhook-secret": WEBHOOK_SECRET }],
      ["1 MB secret", { authorization: `Bearer ${"s".repeat(1_000_000)}` }],
    ];
    const channels: string[] = [];
    for (const [name, extra] of headers) {
      const channel = nextChannel();
      channels.push(channel);
      const res = await rawRequest(url(channel), {
        headers: { "content-type": "application/json", ...extra },
        chunks: [JSON.stringify(validBody())],
      });
      // Node refuses headers above its 16 KB limit with 431 before the bot sees them.
      expect(name === "1 MB secret" ? [401, 431] : [401], name).toContain(res.status);
      if (res.status === 401) expect(res.headers["www-authenticate"], name).toBe("Bearer");
    }
    const query = nextChannel();
    channels.push(query);
    const inQuery = await postWebhook(h.baseUrl, validBody(), {
      query: `?channel=${query}&secret=${WEBHOOK_SECRET}&token=${WEBHOOK_SECRET}`,
    });
    expect(inQuery.status).toBe(401);
    await expectRefusedWithoutEffect(channels);
    // The same request with the right secret is accepted: the refusals above are about the secret.
    const good = nextChannel();
    const ok = await postWebhook(h.baseUrl, validBody(), {
      secret: WEBHOOK_SECRET,
      query: `?channel=${good}`,
    });
    expect(ok.status).toBe(202);
    await waitUntil(() => postsIn(good).length === 1, 5_000, "accepted post");
  });

  it("compares secrets in constant time by design: fixed-size digests, no early exit, no length leak", () => {
    const secret = WEBHOOK_SECRET;
    expect(bearerMatches(`Bearer ${secret}`, secret)).toBe(true);
    expect(bearerMatches(`bearer\t${secret}`, secret)).toBe(true);
    for (const presented of [
      `${secret.slice(0, -1)}!`,
      `!${secret.slice(1)}`,
      secret.slice(0, 1),
      "",
      `${secret}${secret}`,
      "x".repeat(1_000_000),
      "\u0000".repeat(secret.length),
    ]) {
      // timingSafeEqual throws on buffers of different lengths; hashing first means it never does.
      expect(() => bearerMatches(`Bearer ${presented}`, secret)).not.toThrow();
      expect(bearerMatches(`Bearer ${presented}`, secret)).toBe(false);
    }
    expect(bearerMatches(undefined, secret)).toBe(false);
  });
});

describe("bodies that try to exhaust the bot", () => {
  it("answers 413 to a declared 50 MB body without waiting for it", async () => {
    const channel = nextChannel();
    const res = await rawRequest(url(channel), {
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${WEBHOOK_SECRET}`,
        "content-length": 50 * 1024 * 1024,
      },
      chunks: ["{", " ".repeat(64 * 1024)],
      stopAfter: 2,
      timeoutMs: 5_000,
    });
    expect(res.status).toBe(413);
    expect(res.ms).toBeLessThan(2_000);
    await expectRefusedWithoutEffect([channel]);
  });

  it("answers 413 to a body streamed in chunks past 1 MB without a length", async () => {
    const channel = nextChannel();
    const chunk = " ".repeat(16 * 1024);
    const res = await rawRequest(url(channel), {
      headers: { "content-type": "application/json", authorization: `Bearer ${WEBHOOK_SECRET}` },
      chunks: ['{"event":', ...Array.from({ length: 100 }, () => chunk), "null}"],
    });
    expect([413, 0]).toContain(res.status);
    await expectRefusedWithoutEffect([channel]);
  });

  it("accepts a valid body of exactly 1 MB and refuses one byte more", async () => {
    const limit = 1024 * 1024;
    const pad = (text: string, size: number) => text + " ".repeat(size - Buffer.byteLength(text));
    const [fits, over] = [nextChannel(), nextChannel()];
    const a = await rawRequest(url(fits), {
      headers: { "content-type": "application/json", authorization: `Bearer ${WEBHOOK_SECRET}` },
      chunks: [pad(JSON.stringify(validBody()), limit)],
    });
    const b = await rawRequest(url(over), {
      headers: { "content-type": "application/json", authorization: `Bearer ${WEBHOOK_SECRET}` },
      chunks: [pad(JSON.stringify(validBody()), limit + 1)],
    });
    expect(a.status).toBe(202);
    expect(b.status).toBe(413);
    await waitUntil(() => postsIn(fits).length === 1, 5_000, "post for the 1 MB body");
    await expectRefusedWithoutEffect([over]);
  });

  it("refuses deeply nested JSON and survives 500,000 levels", async () => {
    const deepInEvent = validBody() as unknown as { event: { properties: Record<string, unknown> } };
    let nested: unknown = "bottom";
    for (let i = 0; i < 100; i++) nested = [nested];
    deepInEvent.event.properties.alert_name = nested;
    const cases: Array<[string, string, number[]]> = [
      ["65 levels of arrays", `${"[".repeat(65)}${"]".repeat(65)}`, [422]],
      ["65 levels of objects", `${'{"a":'.repeat(65)}1${"}".repeat(65)}`, [422]],
      ["nested 100 deep inside a valid event", JSON.stringify(deepInEvent), [422]],
      ["500,000 levels (1 MB)", `${"[".repeat(500_000)}${"]".repeat(500_000)}`, [400, 413, 422]],
      ["unbalanced 1 MB of brackets", "[".repeat(1_000_000), [400, 413]],
    ];
    const channels: string[] = [];
    for (const [name, raw, statuses] of cases) {
      const channel = nextChannel();
      channels.push(channel);
      const res = await postWebhook(h.baseUrl, null, {
        secret: WEBHOOK_SECRET,
        raw,
        query: `?channel=${channel}`,
      });
      expect(statuses, name).toContain(res.status);
    }
    await expectRefusedWithoutEffect(channels);
    expect((await fetch(`${h.baseUrl}/healthz`)).status).toBe(200);
  });

  it("handles huge arrays: refused as a body, accepted and cut to size inside fields", async () => {
    const hugeTop = nextChannel();
    const top = await postWebhook(h.baseUrl, null, {
      secret: WEBHOOK_SECRET,
      raw: JSON.stringify(Array.from({ length: 250_000 }, (_, i) => i % 10)),
      query: `?channel=${hugeTop}`,
    });
    expect(top.status).toBe(422);

    const manyBreaches = validBody() as unknown as {
      event: { properties: Record<string, unknown> };
      person: unknown;
    };
    manyBreaches.event.properties.breaches = Array.from(
      { length: 60_000 },
      (_, i) => `breach line ${i} <!channel>`,
    );
    manyBreaches.person = Array.from({ length: 20_000 }, () => 0);
    const arrays = nextChannel();
    const res = await postWebhook(h.baseUrl, manyBreaches, {
      secret: WEBHOOK_SECRET,
      query: `?channel=${arrays}`,
    });
    if (res.status === 413) {
      // Over 1 MB once serialised: refused before parsing, which is also fine.
      await expectRefusedWithoutEffect([arrays]);
    } else {
      expect(res.status).toBe(202);
      await waitUntil(() => postsIn(arrays).length === 1, 5_000, "post with a huge breaches array");
      const message = postsIn(arrays)[0];
      expectValidMessage(message as StoredMessage);
      expect(unsafeMrkdwn(message, h.posthog.url)).toEqual([]);
      expect(JSON.stringify(message?.blocks)).toContain("…");
    }
    await expectRefusedWithoutEffect([hugeTop]);
  });
});

describe("wrong types in every field", () => {
  it("answers 202 or 422, never 5xx, and every accepted body is posted once as valid Block Kit", async () => {
    const paths = WEBHOOK_FIELD_PATHS;
    const values: unknown[] = [
      null,
      0,
      -1.5,
      1e308,
      true,
      "",
      "x".repeat(5_000),
      [],
      ["a", 1, null],
      {},
      { nested: { deeper: [1, 2] } },
    ];
    const accepted: string[] = [];
    const refused: string[] = [];
    const statuses: Record<number, number> = {};
    await Promise.all(
      paths.flatMap((path) =>
        values.map(async (v) => {
          const body = validBody() as unknown as Record<string, unknown>;
          let node = body;
          for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
          node[path.at(-1) as string] = v;
          const channel = nextChannel();
          const res = await postWebhook(h.baseUrl, body, {
            secret: WEBHOOK_SECRET,
            query: `?channel=${channel}`,
          });
          statuses[res.status] = (statuses[res.status] ?? 0) + 1;
          expect([202, 422], `${path.join(".")} = ${JSON.stringify(v)?.slice(0, 40)}`).toContain(res.status);
          if (res.status === 202) accepted.push(channel);
          else {
            expect(res.json?.error, path.join(".")).toEqual(expect.any(String));
            refused.push(channel);
          }
        }),
      ),
    );
    expect(accepted.length + refused.length).toBe(paths.length * values.length);
    expect(refused.length).toBeGreaterThan(10);
    expect(accepted.length).toBeGreaterThan(10);
    await waitUntil(
      () => accepted.every((c) => postsIn(c).length >= 1),
      15_000,
      "every accepted body posted",
    );
    await sleep(300);
    for (const channel of accepted) {
      const posts = postsIn(channel);
      expect(posts, channel).toHaveLength(1);
      expectValidMessage(posts[0] as StoredMessage);
    }
    await expectRefusedWithoutEffect(refused);
    expect(h.slack.callsTo("chat.postMessage").filter((c) => !c.ok)).toEqual([]);
  });
});

describe("1,000 random bodies", () => {
  it("never answer 5xx, never crash the bot, and post exactly once per accepted body", async () => {
    const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
    const report = await runWebhookFuzz(h, 1_000, { seed, batch: 50, alertIds: alerts.map((a) => a.id) });
    console.log(`webhook fuzz: ${JSON.stringify({ ...report, problems: report.problems.length })}`);
    expect(report.problems, `seed ${seed}`).toEqual([]);
    expect(report.sent).toBe(1_000);
    expect(report.accepted).toBeGreaterThan(50);
    expect(report.sent - report.accepted).toBeGreaterThan(300);
    expect((await fetch(`${h.baseUrl}/healthz`)).status).toBe(200);
    // Every PostHog call stayed inside the configured project's alert and insight routes.
    for (const r of h.posthog.requests) {
      expect(r.path).toMatch(new RegExp(`^/api/projects/${PROJECT_ID}/(alerts|insights)/[^/]*/?$`));
      expect(r.method).toBe("GET");
    }
    expect(unhandled.seen).toEqual([]);
  }, 90_000);
});
