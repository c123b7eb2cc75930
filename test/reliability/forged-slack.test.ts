/**
 * Forged, replayed, altered and malformed requests to /slack/events are
 * refused before any listener runs: no reply, no modal, no Home tab, no
 * PostHog call. Every case sends a request that *would* change an alert if
 * it were accepted.
 */
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alertRefCodec } from "../../src/slack/codecs.js";
import { ACTION_NOTIFY_DISABLE } from "../../src/slack/ids.js";
import type { FakeAlert, FakePostHog } from "../support/fake-posthog.js";
import { type Harness, SIGNING_SECRET, startHarness, USERS } from "../support/harness.js";
import { FORM_CONTENT_TYPE, sign } from "../support/slack-requests.js";
import { rawRequest, sleep, watchUnhandledRejections } from "./support.js";

let h: Harness;
let alert: FakeAlert;
const unhandled = watchUnhandledRejections();

function seed(posthog: FakePostHog) {
  const insight = posthog.addInsight({ name: "Daily signups" });
  alert = posthog.addAlert({
    insight: insight.id,
    name: "Signups dropped",
    threshold: { configuration: { type: "absolute", bounds: { lower: 100, upper: null } } },
  });
}

beforeAll(async () => {
  h = await startHarness({ seed });
});
afterAll(async () => {
  await h.close();
  unhandled.stop();
});

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Bodies that would write if accepted: a command, a button click, the Home tab event. */
function bodies() {
  const command = new URLSearchParams({
    token: "fake-verification-token",
    team_id: "T0FAKETEAM",
    channel_id: "C0TESTCHAN",
    user_id: USERS.ann.id,
    command: "/alerts",
    text: "disable Signups dropped",
    response_url: h.slack.responseUrl(),
    trigger_id: h.slack.triggerId({ userId: USERS.ann.id }),
  }).toString();
  const click = new URLSearchParams({
    payload: JSON.stringify({
      type: "block_actions",
      user: { id: USERS.ann.id, team_id: "T0FAKETEAM" },
      team: { id: "T0FAKETEAM" },
      api_app_id: "A0FAKEAPP",
      trigger_id: h.slack.triggerId({ userId: USERS.ann.id }),
      container: { type: "message", channel_id: "C0TESTCHAN", message_ts: "1.000100", is_ephemeral: true },
      channel: { id: "C0TESTCHAN" },
      response_url: h.slack.responseUrl(),
      actions: [
        {
          type: "button",
          action_id: ACTION_NOTIFY_DISABLE,
          block_id: `notify_controls:${alert.id}`,
          value: alertRefCodec.encode({ a: alert.id }),
          action_ts: "1.2",
        },
      ],
    }),
  }).toString();
  const home = JSON.stringify({
    token: "x",
    team_id: "T0FAKETEAM",
    api_app_id: "A0FAKEAPP",
    type: "event_callback",
    event_id: `Ev${randomBytes(4).toString("hex")}`,
    event_time: nowSeconds(),
    event: { type: "app_home_opened", user: USERS.ann.id, channel: "D0123", tab: "home", event_ts: "1.2" },
  });
  return [
    { kind: "slash command", body: command, type: FORM_CONTENT_TYPE },
    { kind: "button click", body: click, type: FORM_CONTENT_TYPE },
    { kind: "Home tab event", body: home, type: "application/json" },
  ];
}

/** Slack calls a listener would make; auth.test happens once at start. */
const listenerCalls = () => h.slack.calls.filter((c) => c.method !== "auth.test");

function expectNothingRan(before: { responses: number; calls: number }) {
  expect(h.slack.responses.length).toBe(before.responses);
  expect(listenerCalls().length).toBe(before.calls);
  expect(h.posthog.requests).toHaveLength(0);
  expect(h.posthog.alerts.get(alert.id)?.enabled).toBe(true);
}

const snapshot = () => ({ responses: h.slack.responses.length, calls: listenerCalls().length });

describe("forged Slack requests", () => {
  it("refuses every forgery with 401 and runs no listener", async () => {
    const before = snapshot();
    let tried = 0;
    for (const { kind, body, type } of bodies()) {
      const ts = nowSeconds();
      const good = sign(SIGNING_SECRET, ts, body);
      const hex = good.slice(3);
      const cases: Array<[string, Record<string, string>, string?]> = [
        ["no signature headers", {}],
        ["timestamp only", { "X-Slack-Request-Timestamp": String(ts) }],
        ["signature only", { "X-Slack-Signature": good }],
        ["empty signature", { "X-Slack-Request-Timestamp": String(ts), "X-Slack-Signature": "" }],
        [
          "random signature",
          {
            "X-Slack-Request-Timestamp": String(ts),
            "X-Slack-Signature": `v0=${randomBytes(32).toString("hex")}`,
          },
        ],
        [
          "signed with another secret",
          { "X-Slack-Request-Timestamp": String(ts), "X-Slack-Signature": sign("not-the-secret", ts, body) },
        ],
        [
          "wrong version prefix",
          { "X-Slack-Request-Timestamp": String(ts), "X-Slack-Signature": `v1=${hex}` },
        ],
        ["bare hex", { "X-Slack-Request-Timestamp": String(ts), "X-Slack-Signature": hex }],
        [
          "truncated signature",
          { "X-Slack-Request-Timestamp": String(ts), "X-Slack-Signature": good.slice(0, -1) },
        ],
        [
          "stale: 301 s old",
          {
            "X-Slack-Request-Timestamp": String(ts - 301),
            "X-Slack-Signature": sign(SIGNING_SECRET, ts - 301, body),
          },
        ],
        [
          "replay: signed 6 minutes ago",
          {
            "X-Slack-Request-Timestamp": String(ts - 360),
            "X-Slack-Signature": sign(SIGNING_SECRET, ts - 360, body),
          },
        ],
        [
          "future: 330 s ahead",
          {
            "X-Slack-Request-Timestamp": String(ts + 330),
            "X-Slack-Signature": sign(SIGNING_SECRET, ts + 330, body),
          },
        ],
        [
          "future: one day ahead",
          {
            "X-Slack-Request-Timestamp": String(ts + 86_400),
            "X-Slack-Signature": sign(SIGNING_SECRET, ts + 86_400, body),
          },
        ],
        [
          "signed timestamp differs from the header",
          { "X-Slack-Request-Timestamp": String(ts + 1), "X-Slack-Signature": good },
        ],
        ...["abc", "1e9", "-1", `${ts}.5`, "0x10", "", "9".repeat(30)].map(
          (t): [string, Record<string, string>] => [
            `malformed timestamp ${JSON.stringify(t)}`,
            { "X-Slack-Request-Timestamp": t, "X-Slack-Signature": sign(SIGNING_SECRET, Number(t), body) },
          ],
        ),
        [
          "body altered after signing: appended field",
          { "X-Slack-Request-Timestamp": String(ts), "X-Slack-Signature": good },
          `${body}&x=1`,
        ],
        [
          "body altered after signing: one byte changed",
          { "X-Slack-Request-Timestamp": String(ts), "X-Slack-Signature": good },
          body.replace("U0ANN0001", "U0EVE0003"),
        ],
        [
          "body altered after signing: truncated",
          { "X-Slack-Request-Timestamp": String(ts), "X-Slack-Signature": good },
          body.slice(0, -3),
        ],
      ];
      for (const [name, headers, altered] of cases) {
        const res = await h.requester.raw(altered ?? body, { "Content-Type": type, ...headers });
        expect(res.status, `${kind}: ${name}`).toBe(401);
        expect(res.ms, `${kind}: ${name}`).toBeLessThan(3_000);
        tried += 1;
      }
    }
    await sleep(300);
    expectNothingRan(before);
    expect(tried).toBe(72);
    expect(h.logs.filter((l) => l.includes("refused a Slack request")).length).toBeGreaterThan(0);
  });

  it("refuses a captured request replayed after the five-minute window", async () => {
    let offsetMs = 0;
    const clocked = await startHarness({ deps: { now: () => new Date(Date.now() + offsetMs) } });
    try {
      const body = new URLSearchParams({
        team_id: "T0FAKETEAM",
        channel_id: "C0TESTCHAN",
        user_id: USERS.ann.id,
        command: "/alerts",
        text: "list",
        response_url: clocked.slack.responseUrl(),
        trigger_id: "1.2.3",
      }).toString();
      const captured = clocked.requester.signedHeaders(body);
      const first = await clocked.requester.raw(body, captured);
      expect(first.status).toBe(200);
      await clocked.slack.waitFor(() => clocked.slack.responses.length === 1, 5_000);
      const reads = clocked.posthog.requests.length;
      offsetMs = 6 * 60_000;
      const replay = await clocked.requester.raw(body, captured);
      expect(replay.status).toBe(401);
      await sleep(300);
      expect(clocked.slack.responses).toHaveLength(1);
      expect(clocked.posthog.requests).toHaveLength(reads);
      expect(clocked.logs.some((l) => l.includes("stale timestamp"))).toBe(true);
    } finally {
      await clocked.close();
    }
  });

  it("refuses any single-byte change to a signed request (property, 150 runs)", async () => {
    const before = snapshot();
    const [command] = bodies();
    if (!command) throw new Error("no body");
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("body", "signature", "timestamp"),
        fc.nat(),
        fc.integer({ min: 33, max: 126 }),
        async (part, at, code) => {
          const ts = nowSeconds();
          let body = command.body;
          let signature = sign(SIGNING_SECRET, ts, body);
          let timestamp = String(ts);
          const change = (s: string, floor = 0) => {
            const i = floor + (at % (s.length - floor));
            const c = String.fromCharCode(code);
            const replacement = s[i] === c ? String.fromCharCode(code === 126 ? 33 : code + 1) : c;
            return s.slice(0, i) + replacement + s.slice(i + 1);
          };
          if (part === "body") body = change(body);
          else if (part === "signature") signature = change(signature, 3);
          else timestamp = change(timestamp);
          const res = await h.requester.raw(body, {
            "Content-Type": FORM_CONTENT_TYPE,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature,
          });
          return res.status === 401;
        },
      ),
      { numRuns: 150 },
    );
    await sleep(200);
    expectNothingRan(before);
  });

  it("does not let an unsigned ssl_check smuggle a command", async () => {
    const before = snapshot();
    const body = `ssl_check=1&command=%2Falerts&text=disable+Signups+dropped&user_id=${USERS.ann.id}&response_url=${encodeURIComponent(h.slack.responseUrl())}`;
    const withJunk = await h.requester.raw(body, {
      "Content-Type": FORM_CONTENT_TYPE,
      "X-Slack-Request-Timestamp": String(nowSeconds()),
      "X-Slack-Signature": "v0=00",
    });
    expect(withJunk.status).toBe(200);
    // Without any signature headers it is Slack's certificate check: 200, as Bolt answers it,
    // and nothing in it is read as a command.
    const bare = await h.requester.raw(body, { "Content-Type": FORM_CONTENT_TYPE });
    expect(bare.status).toBe(200);
    await sleep(300);
    expectNothingRan(before);
  });

  it("answers a correctly signed but malformed body with 400 (or 401) and runs nothing", async () => {
    const before = snapshot();
    const cases: Array<[string, string, string]> = [
      ["payload that is not JSON", "payload=%7Bnot-json", FORM_CONTENT_TYPE],
      [
        "form body with a charset suffix",
        "command=%2Falerts&text=list",
        `${FORM_CONTENT_TYPE}; charset=utf-8`,
      ],
      ["JSON that does not parse", '{"type": "event_callback", ', "application/json"],
      ["binary garbage", randomBytes(512).toString("latin1"), "application/octet-stream"],
    ];
    for (const [name, body, type] of cases) {
      const ts = nowSeconds();
      const res = await h.requester.raw(body, {
        "Content-Type": type,
        "X-Slack-Request-Timestamp": String(ts),
        "X-Slack-Signature": sign(SIGNING_SECRET, ts, body),
      });
      expect([400, 401], name).toContain(res.status);
      expect(res.status, `${name}: never a server error`).toBeLessThan(500);
    }
    await sleep(300);
    expectNothingRan(before);
  });

  it("refuses an unsigned 5 MB body and keeps serving", async () => {
    const before = snapshot();
    const big = `command=%2Falerts&text=${"a".repeat(5 * 1024 * 1024)}`;
    const res = await rawRequest(h.requester.url, {
      headers: {
        "Content-Type": FORM_CONTENT_TYPE,
        "X-Slack-Request-Timestamp": String(nowSeconds()),
        "X-Slack-Signature": `v0=${"0".repeat(64)}`,
      },
      chunks: [big],
    });
    expect([401, 413, 0]).toContain(res.status);
    const health = await fetch(`${h.baseUrl}/healthz`);
    expect(health.status).toBe(200);
    const ok = await h.requester.slashCommand({
      text: "help",
      userId: USERS.eve.id,
      responseUrl: h.slack.responseUrl(),
    });
    expect(ok.status).toBe(200);
    // Help is answered in the ack itself.
    expect((ok.json as { text?: string } | undefined)?.text).toMatch(/alerts/i);
    expect(h.slack.responses).toHaveLength(before.responses);
    expect(h.posthog.requests).toHaveLength(0);
    expect(unhandled.seen).toEqual([]);
  });
});
