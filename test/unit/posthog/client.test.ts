import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  PostHogClient,
  type PostHogClientOptions,
  type RequestLogInfo,
} from "../../../src/posthog/client.js";
import { isPostHogError, type PostHogError } from "../../../src/posthog/errors.js";
import type { AlertCreate } from "../../../src/posthog/schemas.js";

const API_KEY = "phx_TestSecretKey0123456789abcdef";

// ── A scripted PostHog stand-in on 127.0.0.1, port 0 ───────────────────────

interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}
type Handler = (req: Recorded, res: ServerResponse) => void;

class ScriptedServer {
  readonly requests: Recorded[] = [];
  private readonly script: Handler[] = [];
  private fallback: Handler = (_req, res) => reply(500, { detail: "no scripted response" })(_req, res);
  private server: Server | undefined;
  url = "";

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const recorded = {
          method: req.method ?? "",
          url: req.url ?? "",
          headers: req.headers,
          body: Buffer.concat(chunks).toString("utf8"),
        };
        this.requests.push(recorded);
        (this.script.shift() ?? this.fallback)(recorded, res);
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
  }

  /** Queue responses, one per incoming request, in order. */
  respond(...handlers: Handler[]): this {
    this.script.push(...handlers);
    return this;
  }

  otherwise(handler: Handler): this {
    this.fallback = handler;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function reply(status: number, body?: unknown, headers: Record<string, string> = {}): Handler {
  return (_req, res) => {
    const text = body === undefined ? "" : typeof body === "string" ? body : JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(text);
  };
}
/** Drops the connection without answering (ECONNRESET / "other side closed"). */
const resetConnection: Handler = (_req, res) => res.socket?.destroy();
/** Never answers. */
const hang: Handler = () => {};

// ── Fixtures ───────────────────────────────────────────────────────────────

function alertJson(overrides: Record<string, unknown> = {}) {
  return {
    id: "0192c0de-7a1b-7c3e-9d2f-4b5a6c7d8e9f",
    created_by: {
      id: 7,
      uuid: "0190f1a2-3b4c-7d5e-8f60-718293a4b5c6",
      email: "ann@example.com",
      first_name: "Ann",
    },
    created_at: "2025-05-01T10:11:12.123456Z",
    insight: 4821,
    name: "Signups dropped",
    subscribed_users: [7],
    threshold: {
      id: "0192c0de-1111-7abc-8def-0123456789ab",
      name: "",
      configuration: { type: "absolute", bounds: { lower: 100, upper: null } },
    },
    condition: { type: "absolute_value" },
    state: "Firing",
    enabled: true,
    last_notified_at: "2025-06-02T01:00:13Z",
    last_checked_at: "2025-06-02T01:00:12.345678Z",
    next_check_at: "2025-06-03T01:00:12Z",
    checks: [
      {
        id: "0192c0de-2222-7abc-8def-0123456789ab",
        created_at: "2025-06-02T01:00:12.345678Z",
        calculated_value: 42.0,
        state: "Firing",
        targets_notified: true,
      },
    ],
    config: { type: "TrendsAlertConfig", series_index: 0, check_ongoing_interval: false },
    calculation_interval: "daily",
    snoozed_until: null,
    skip_weekend: false,
    last_value: 42.0,
    ...overrides,
  };
}

function insightJson(overrides: Record<string, unknown> = {}) {
  return {
    id: 4821,
    short_id: "AaVQ8Ijw",
    name: "Daily signups",
    derived_name: null,
    description: "",
    query: {
      kind: "InsightVizNode",
      source: { kind: "TrendsQuery", series: [{ kind: "EventsNode", event: "signed_up" }] },
    },
    saved: true,
    deleted: false,
    last_modified_at: "2025-05-01T10:11:12Z",
    ...overrides,
  };
}

function page(results: unknown[], next: string | null, count = results.length) {
  return { count, next, previous: null, results };
}

const createBody: AlertCreate = {
  insight: 4821,
  name: "Signups dropped",
  subscribed_users: [7],
  threshold: { configuration: { type: "absolute", bounds: { lower: 100, upper: null } } },
  condition: { type: "absolute_value" },
  config: { type: "TrendsAlertConfig", series_index: 0, check_ongoing_interval: false },
  enabled: true,
  calculation_interval: "daily",
  skip_weekend: false,
};

// ── Harness ────────────────────────────────────────────────────────────────

let server: ScriptedServer;
let sleeps: number[];
let logs: RequestLogInfo[];
let clients: PostHogClient[];

beforeEach(async () => {
  server = new ScriptedServer();
  await server.start();
  sleeps = [];
  logs = [];
  clients = [];
});

afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server.stop();
});

function makeClient(options: Partial<PostHogClientOptions> = {}): PostHogClient {
  const client = new PostHogClient({
    host: `${server.url}/`,
    apiKey: API_KEY,
    projectId: "42",
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 1,
    onRequest: (info) => logs.push(info),
    ...options,
  });
  clients.push(client);
  return client;
}

async function caught(promise: Promise<unknown>): Promise<PostHogError> {
  try {
    await promise;
  } catch (error) {
    if (isPostHogError(error)) return error;
    throw error;
  }
  throw new Error("expected the call to fail");
}

function expectNoSecret(value: unknown) {
  const text = JSON.stringify(value, Object.getOwnPropertyNames(value ?? {}));
  expect(text).not.toContain(API_KEY);
  expect(text.toLowerCase()).not.toContain("bearer");
}

// ── Tests ──────────────────────────────────────────────────────────────────

describe("requests", () => {
  it("sends the key, accept, user agent and JSON content type", async () => {
    server.respond(reply(201, alertJson()));
    const alert = await makeClient().createAlert(createBody);
    expect(alert.id).toBe("0192c0de-7a1b-7c3e-9d2f-4b5a6c7d8e9f");
    const [req] = server.requests;
    expect(req?.method).toBe("POST");
    expect(req?.url).toBe("/api/projects/42/alerts/");
    expect(req?.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(req?.headers.accept).toBe("application/json");
    expect(req?.headers["content-type"]).toBe("application/json");
    expect(req?.headers["user-agent"]).toMatch(/^posthog-alerts-slack-bot\//);
    expect(JSON.parse(req?.body ?? "")).toEqual(createBody);
  });

  it("sends no content type on requests without a body", async () => {
    server.respond(reply(200, alertJson()));
    await makeClient().getAlert("abc");
    expect(server.requests[0]?.headers["content-type"]).toBeUndefined();
  });

  it("uses the projects path for alerts and insights (the environments path is a deprecated alias)", async () => {
    server.respond(reply(200, page([alertJson()], null)), reply(200, page([insightJson()], null)));
    const client = makeClient({ projectId: "77" });
    await client.listAlerts();
    await client.searchInsights({ search: "signups" });
    expect(server.requests[0]?.url).toBe("/api/projects/77/alerts/");
    expect(server.requests[1]?.url).toBe(
      "/api/projects/77/insights/?basic=true&saved=true&search=signups&order=-last_modified_at&limit=20&offset=0",
    );
  });

  it("builds alert item paths and the checks_limit query", async () => {
    server.respond(reply(200, alertJson()), reply(200, alertJson()), reply(204));
    const client = makeClient();
    await client.getAlert("0192c0de-7a1b-7c3e-9d2f-4b5a6c7d8e9f", { checksLimit: 20 });
    await client.updateAlert("0192c0de-7a1b-7c3e-9d2f-4b5a6c7d8e9f", { enabled: false });
    await client.deleteAlert("0192c0de-7a1b-7c3e-9d2f-4b5a6c7d8e9f");
    expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      "GET /api/projects/42/alerts/0192c0de-7a1b-7c3e-9d2f-4b5a6c7d8e9f/?checks_limit=20",
      "PATCH /api/projects/42/alerts/0192c0de-7a1b-7c3e-9d2f-4b5a6c7d8e9f/",
      "DELETE /api/projects/42/alerts/0192c0de-7a1b-7c3e-9d2f-4b5a6c7d8e9f/",
    ]);
    expect(JSON.parse(server.requests[1]?.body ?? "")).toEqual({ enabled: false });
  });

  it("snoozes after reading the alert, and keeps a longer snooze only when asked to", async () => {
    const id = "0192c0de-7a1b-7c3e-9d2f-4b5a6c7d8e9f";
    const week = "2026-12-06T10:00:00Z";
    const hour = "2026-11-29T11:00:00.000Z";
    const client = makeClient();
    server.respond(reply(200, alertJson({ snoozed_until: week })));
    const kept = await client.snoozeAlert(id, hour, { keepLongerByMs: 60_000 });
    expect(kept).toMatchObject({ sent: false, previousUntil: week });
    expect(kept.alert.snoozed_until).toBe(week);
    expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      `GET /api/projects/42/alerts/${id}/?checks_limit=1`,
    ]);

    server.respond(
      reply(200, alertJson({ snoozed_until: week })),
      reply(200, alertJson({ snoozed_until: hour })),
    );
    const cut = await client.snoozeAlert(id, hour);
    expect(cut).toMatchObject({ sent: true, previousUntil: week });
    expect(cut.alert.snoozed_until).toBe(hour);
    expect(server.requests.slice(1).map((r) => r.method)).toEqual(["GET", "PATCH"]);
    expect(JSON.parse(server.requests[2]?.body ?? "")).toEqual({ snoozed_until: hour });

    // Less than the margin longer, or no snooze at all: sent.
    server.respond(
      reply(200, alertJson({ snoozed_until: "2026-11-29T11:00:30Z" })),
      reply(200, alertJson({ snoozed_until: hour })),
    );
    expect((await client.snoozeAlert(id, hour, { keepLongerByMs: 60_000 })).sent).toBe(true);
    server.respond(
      reply(200, alertJson({ snoozed_until: null })),
      reply(200, alertJson({ snoozed_until: hour })),
    );
    expect(await client.snoozeAlert(id, hour, { keepLongerByMs: 60_000 })).toMatchObject({
      sent: true,
      previousUntil: null,
    });
  });

  it("unsnoozes only while a snooze is in force: PostHog's null would also clear a firing", async () => {
    const id = "0192c0de-7a1b-7c3e-9d2f-4b5a6c7d8e9f";
    const now = Date.parse("2026-11-29T10:00:00Z");
    const client = makeClient({ now: () => now });
    const calls = () => server.requests.map((r) => r.method);

    // Not snoozed, and firing: read and left alone.
    server.respond(reply(200, alertJson({ snoozed_until: null, state: "Firing" })));
    const none = await client.unsnoozeAlert(id);
    expect(none.sent).toBe(false);
    expect(none.alert.state).toBe("Firing");
    expect(calls()).toEqual(["GET"]);

    // A snooze that has ended (PostHog may still report it): left alone too.
    server.respond(reply(200, alertJson({ snoozed_until: "2026-11-29T09:59:59Z", state: "Firing" })));
    expect((await client.unsnoozeAlert(id)).sent).toBe(false);
    expect(calls()).toEqual(["GET", "GET"]);

    // In force: ended with null.
    server.respond(
      reply(200, alertJson({ snoozed_until: "2026-11-29T11:00:00Z", state: "Snoozed" })),
      reply(200, alertJson({ snoozed_until: null, state: "Not firing" })),
    );
    const ended = await client.unsnoozeAlert(id);
    expect(ended.sent).toBe(true);
    expect(ended.alert.snoozed_until).toBeNull();
    expect(calls()).toEqual(["GET", "GET", "GET", "PATCH"]);
    expect(JSON.parse(server.requests[3]?.body ?? "")).toEqual({ snoozed_until: null });
  });

  it("encodes ids so they cannot add path segments", async () => {
    server.respond(reply(200, alertJson()), reply(200, alertJson()));
    const client = makeClient();
    await client.getAlert("../../../organizations/@current");
    await client.getAlert("a b?x=1#frag");
    expect(server.requests[0]?.url).toBe(
      "/api/projects/42/alerts/..%2F..%2F..%2Forganizations%2F%40current/",
    );
    expect(server.requests[1]?.url).toBe("/api/projects/42/alerts/a%20b%3Fx%3D1%23frag/");
  });

  it("refuses dot-segment and empty ids without sending anything", async () => {
    const client = makeClient();
    for (const id of ["..", ".", ""]) {
      const error = await caught(client.getAlert(id));
      expect(error.code).toBe("not_found");
    }
    expect(server.requests).toHaveLength(0);
  });

  it("encodes the project id too", async () => {
    server.respond(reply(200, page([], null)));
    await makeClient({ projectId: "1/../2" }).listAlerts();
    expect(server.requests[0]?.url).toBe("/api/projects/1%2F..%2F2/alerts/");
  });

  it("reports each attempt without secrets or query strings", async () => {
    server.respond(reply(503, "busy"), reply(200, page([], null)));
    await makeClient().listAlerts({ limit: 5, offset: 10 });
    expect(logs).toHaveLength(2);
    expect(logs[0]).toMatchObject({
      method: "GET",
      path: "/api/projects/42/alerts/",
      status: 503,
      attempt: 1,
      errorCode: "unavailable",
    });
    expect(logs[1]).toMatchObject({ status: 200, attempt: 2 });
    expect(logs[1]?.errorCode).toBeUndefined();
    for (const info of logs) {
      expect(info.durationMs).toBeGreaterThanOrEqual(0);
      expectNoSecret(info);
    }
  });
});

describe("response parsing", () => {
  it("returns parsed alerts and accepts unknown extra fields", async () => {
    server.respond(
      reply(200, alertJson({ detector_config: { type: "zscore" }, checks_total: 12, something_new: [1, 2] })),
    );
    const alert = await makeClient().getAlert("x");
    expect(alert.insight).toBe(4821);
    expect(alert.threshold?.configuration.bounds).toEqual({ lower: 100, upper: null });
    expect(alert.checks[0]?.calculated_value).toBe(42);
    expect("detector_config" in alert).toBe(false);
  });

  it("accepts the newer object form of insight and subscribed_users", async () => {
    server.respond(
      reply(
        200,
        alertJson({
          insight: { id: 4821, short_id: "AaVQ8Ijw", name: "", derived_name: "signed_up count" },
          subscribed_users: [{ id: 7, email: "ann@example.com" }, { id: 9 }],
        }),
      ),
    );
    const alert = await makeClient().getAlert("x");
    expect(alert.insight).toBe(4821);
    expect(alert.insight_short_id).toBe("AaVQ8Ijw");
    expect(alert.insight_name).toBe("signed_up count");
    expect(alert.subscribed_users).toEqual([7, 9]);
  });

  it("fails with bad_response on wrong types", async () => {
    server.respond(reply(200, alertJson({ insight: "4821" })));
    const error = await caught(makeClient().getAlert("x"));
    expect(error.code).toBe("bad_response");
    expect(error.status).toBe(200);
    expect(error.message).toContain("insight");
    expect(error.userMessage).toBe("PostHog sent an answer the bot did not understand.");
  });

  it("fails with bad_response on non-JSON and empty bodies", async () => {
    server.respond(reply(200, "<html>login</html>"), reply(200, ""));
    const client = makeClient();
    expect((await caught(client.getAlert("x"))).code).toBe("bad_response");
    expect((await caught(client.getAlert("x"))).code).toBe("bad_response");
    expect(server.requests).toHaveLength(2);
  });

  it("treats a redirect as bad_response rather than following it", async () => {
    server.respond(reply(301, "", { location: "https://elsewhere.example/" }));
    const error = await caught(makeClient().listAlerts());
    expect(error.code).toBe("bad_response");
    expect(server.requests).toHaveLength(1);
  });
});

describe("errors", () => {
  it.each([
    [
      401,
      {
        code: "authentication_failed",
        detail: "Personal API key found in request Authorization header is invalid.",
      },
      "unauthorized",
    ],
    [403, { code: "permission_denied", detail: "API key missing required scope 'alert:write'" }, "forbidden"],
    [404, { code: "not_found", detail: "Not found." }, "not_found"],
    [400, { code: "required", detail: "This field is required.", attr: "threshold" }, "validation"],
    [500, { type: "server_error", detail: "A server error occurred." }, "unavailable"],
  ] as const)("maps %i to %s without retrying", async (status, body, code) => {
    server.respond(reply(status, body));
    const error = await caught(makeClient().updateAlert("x", { name: "n" }));
    expect(error.code).toBe(code);
    expect(error.status).toBe(status);
    expect(server.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
    expectNoSecret(error);
  });

  it("names the missing scope", async () => {
    server.respond(
      reply(403, { code: "permission_denied", detail: "API key missing required scope 'alert:write'" }),
    );
    const error = await caught(makeClient().createAlert(createBody));
    expect(error.missingScope).toBe("alert:write");
    expect(error.userMessage).toBe(
      "The PostHog API key is missing the alert:write scope. Ask an admin to add it.",
    );
  });

  it("keeps attr and detail on validation errors", async () => {
    server.respond(
      reply(400, {
        type: "validation_error",
        code: "invalid_input",
        detail: "Lower threshold must be less than upper threshold",
        attr: "threshold__non_field_errors",
      }),
    );
    const error = await caught(makeClient().createAlert(createBody));
    expect(error.code).toBe("validation");
    expect(error.attr).toBe("threshold__non_field_errors");
    expect(error.userMessage).toBe("PostHog says: Lower threshold must be less than upper threshold");
  });

  it("scrubs the API key if PostHog ever echoes it", async () => {
    server.respond(reply(400, { code: "invalid_input", detail: `Bad header Bearer ${API_KEY}`, attr: null }));
    const error = await caught(makeClient().createAlert(createBody));
    expect(error.detail).toContain("[redacted]");
    expect(error.message).not.toContain(API_KEY);
    expect(error.userMessage).not.toContain(API_KEY);
    expect(error.stack ?? "").not.toContain(API_KEY);
  });
});

describe("retries", () => {
  it.each([502, 503, 504])("retries GET on %i with exponential backoff", async (status) => {
    server.respond(reply(status, "x"), reply(status, "x"), reply(200, page([alertJson()], null)));
    const result = await makeClient().listAlerts();
    expect(result.results).toHaveLength(1);
    expect(server.requests).toHaveLength(3);
    expect(sleeps).toEqual([250, 500]);
  });

  it("caps the backoff and gives up after maxRetries with the last error", async () => {
    server.otherwise(reply(503, "busy"));
    const client = makeClient({ retry: { maxRetries: 4, baseDelayMs: 1000, maxDelayMs: 3000 } });
    const error = await caught(client.getAlert("x"));
    expect(error.code).toBe("unavailable");
    expect(server.requests).toHaveLength(5);
    expect(sleeps).toEqual([1000, 2000, 3000, 3000]);
    expect(client.requestCount).toBe(5);
  });

  it("applies jitter from the injected random source", async () => {
    server.respond(reply(502, "x"), reply(200, page([], null)));
    await makeClient({ random: () => 0 }).listAlerts();
    expect(sleeps).toEqual([125]);
  });

  it("retries PATCH and DELETE on connection resets", async () => {
    server.respond(resetConnection, reply(200, alertJson()), resetConnection, reply(204));
    const client = makeClient();
    await client.updateAlert("x", { enabled: true });
    await client.deleteAlert("x");
    expect(server.requests.map((r) => r.method)).toEqual(["PATCH", "PATCH", "DELETE", "DELETE"]);
    expect(logs[0]).toMatchObject({ status: null, errorCode: "unavailable", attempt: 1 });
  });

  it("retries POST only after a 429 (throttled before anything was created), never on 503 or a dropped connection", async () => {
    server.respond(reply(503, "busy"));
    const client = makeClient();
    expect((await caught(client.createAlert(createBody))).code).toBe("unavailable");
    expect(server.requests).toHaveLength(1);

    server.respond(resetConnection);
    expect((await caught(client.createAlert(createBody))).code).toBe("unavailable");
    expect(server.requests).toHaveLength(2);
    expect(sleeps).toEqual([]);

    server.respond(reply(429, { detail: "throttled" }, { "retry-after": "1" }), reply(201, alertJson()));
    const created = await client.createAlert(createBody);
    expect(created.id).toBe(alertJson().id);
    expect(server.requests.slice(2).map((r) => r.method)).toEqual(["POST", "POST"]);
    expect(sleeps).toEqual([1000]);

    // A wait longer than the client takes on itself is said at once, as for any request.
    server.respond(reply(429, { detail: "throttled" }, { "retry-after": "3600" }));
    const limited = await caught(client.createAlert(createBody));
    expect(limited.code).toBe("rate_limited");
    expect(limited.retryAfterSeconds).toBe(3600);
    expect(server.requests).toHaveLength(5);
  });

  it("honours Retry-After on 429", async () => {
    server.respond(
      reply(
        429,
        { code: "throttled", detail: "Request was throttled. Expected available in 3 seconds." },
        {
          "retry-after": "3",
        },
      ),
      reply(200, alertJson()),
    );
    const alert = await makeClient().getAlert("x");
    expect(alert.name).toBe("Signups dropped");
    expect(sleeps).toEqual([3000]);
  });

  it("fails at once with rate_limited when Retry-After exceeds the cap", async () => {
    server.respond(
      reply(
        429,
        { code: "throttled", detail: "Request was throttled. Expected available in 37 seconds." },
        {
          "retry-after": "37",
        },
      ),
    );
    const error = await caught(makeClient().getAlert("x"));
    expect(error.code).toBe("rate_limited");
    expect(error.retryAfterSeconds).toBe(37);
    expect(error.userMessage).toBe("PostHog is rate limiting the bot; try again in 37 seconds.");
    expect(server.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it("respects a custom Retry-After cap", async () => {
    server.respond(reply(429, {}, { "retry-after": "20" }), reply(200, alertJson()));
    await makeClient({ retry: { maxRetryAfterMs: 30_000 } }).getAlert("x");
    expect(sleeps).toEqual([20_000]);
  });

  it("uses backoff for a 429 without Retry-After", async () => {
    server.respond(reply(429, {}), reply(200, alertJson()));
    await makeClient().getAlert("x");
    expect(sleeps).toEqual([250]);
  });

  it("counts a DELETE whose retry finds 404 as deleted", async () => {
    server.respond(resetConnection, reply(404, { code: "not_found", detail: "Not found." }));
    await expect(makeClient().deleteAlert("x")).resolves.toBeUndefined();
    expect(server.requests.map((r) => r.method)).toEqual(["DELETE", "DELETE"]);
  });

  it("still reports 404 for a DELETE that was not retried", async () => {
    server.respond(reply(404, { code: "not_found", detail: "Not found." }));
    const error = await caught(makeClient().deleteAlert("x"));
    expect(error.code).toBe("not_found");
    expect(error.userMessage).toBe("That alert no longer exists in PostHog (it may have been deleted).");
  });

  it("reports unavailable when nothing listens", async () => {
    const closed = new ScriptedServer();
    await closed.start();
    const url = closed.url;
    await closed.stop();
    const client = makeClient({ host: url, retry: { maxRetries: 2 } });
    const error = await caught(client.listAlerts());
    expect(error.code).toBe("unavailable");
    expect(logs.map((l) => l.attempt)).toEqual([1, 2, 3]);
    expectNoSecret(error);
  });
});

describe("timeouts", () => {
  it("times out waiting for headers", async () => {
    server.otherwise(hang);
    const started = Date.now();
    const error = await caught(
      makeClient({ timeouts: { headersMs: 80 }, retry: { maxRetries: 0 } }).getAlert("x"),
    );
    expect(error.code).toBe("timeout");
    expect(error.userMessage).toBe("PostHog took too long to answer; try again shortly.");
    expect(Date.now() - started).toBeLessThan(500);
    expectNoSecret(error);
  });

  it("retries a timed-out GET and succeeds", async () => {
    server.respond(hang, reply(200, alertJson()));
    const alert = await makeClient({ timeouts: { headersMs: 80 } }).getAlert("x");
    expect(alert.id).toBeDefined();
    expect(server.requests).toHaveLength(2);
    expect(logs[0]).toMatchObject({ status: null, errorCode: "timeout" });
  });

  it("times out a stalled body", async () => {
    server.respond((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"id": "x", ');
    });
    const error = await caught(
      makeClient({ timeouts: { bodyMs: 80 }, retry: { maxRetries: 0 } }).getAlert("x"),
    );
    expect(error.code).toBe("timeout");
  });
});

describe("pagination", () => {
  it("iterates three pages by offset on the configured host", async () => {
    const ids = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => alertJson({ id: `alert-${from + i}` }));
    server.respond(
      reply(200, page(ids(0, 2), "http://evil.example/api/projects/42/alerts/?limit=2&offset=2", 5)),
      reply(200, page(ids(2, 2), "http://evil.example/api/projects/42/alerts/?limit=2&offset=4", 5)),
      reply(200, page(ids(4, 1), null, 5)),
    );
    const client = makeClient();
    const seen: string[] = [];
    for await (const alert of client.iterateAlerts({ pageSize: 2 })) seen.push(alert.id);
    expect(seen).toEqual(["alert-0", "alert-1", "alert-2", "alert-3", "alert-4"]);
    expect(client.lastListPageCount).toBe(3);
    expect(server.requests.map((r) => r.url)).toEqual([
      "/api/projects/42/alerts/?limit=2&offset=0",
      "/api/projects/42/alerts/?limit=2&offset=2",
      "/api/projects/42/alerts/?limit=2&offset=4",
    ]);
  });

  it("advances by the rows received when the server returns fewer than asked", async () => {
    server.respond(
      reply(200, page([alertJson({ id: "a" })], "next")),
      reply(200, page([alertJson({ id: "b" })], null)),
    );
    const client = makeClient();
    const all = await client.listAllAlerts({ pageSize: 100 });
    expect(all.map((a) => a.id)).toEqual(["a", "b"]);
    expect(server.requests[1]?.url).toBe("/api/projects/42/alerts/?limit=100&offset=1");
    expect(client.lastListPageCount).toBe(2);
  });

  it("stops on an empty page even if next is set", async () => {
    server.respond(reply(200, page([], "http://x/?offset=100")));
    const client = makeClient();
    expect(await client.listAllAlerts()).toEqual([]);
    expect(client.lastListPageCount).toBe(1);
  });
});

describe("insights", () => {
  it("omits an empty search and passes limit and offset", async () => {
    server.respond(reply(200, page([insightJson()], null)));
    const result = await makeClient().searchInsights({ search: "  ", limit: 5, offset: 10 });
    expect(result.results[0]?.short_id).toBe("AaVQ8Ijw");
    expect(server.requests[0]?.url).toBe(
      "/api/projects/42/insights/?basic=true&saved=true&order=-last_modified_at&limit=5&offset=10",
    );
  });

  it("gets an insight by numeric pk", async () => {
    server.respond(reply(200, insightJson()));
    const insight = await makeClient().getInsight(4821);
    expect(insight.name).toBe("Daily signups");
    expect(server.requests[0]?.url).toBe("/api/projects/42/insights/4821/?basic=true");
  });

  it("gets an insight by short id through the list filter", async () => {
    server.respond(reply(200, page([insightJson()], null)));
    const insight = await makeClient().getInsight("AaVQ8Ijw");
    expect(insight.id).toBe(4821);
    expect(server.requests[0]?.url).toBe("/api/projects/42/insights/?short_id=AaVQ8Ijw&basic=true&limit=1");
  });

  it("reports not_found for an unknown short id", async () => {
    server.respond(reply(200, page([], null)));
    const error = await caught(makeClient().getInsight("nope1234"));
    expect(error.code).toBe("not_found");
    expect(error.userMessage).toMatch(/^That insight/);
  });

  it("falls back to the short id when a digit-only string is not a pk", async () => {
    server.respond(
      reply(404, { code: "not_found", detail: "Not found." }),
      reply(200, page([insightJson({ short_id: "12345678" })], null)),
    );
    const insight = await makeClient().getInsight("12345678");
    expect(insight.short_id).toBe("12345678");
    expect(server.requests.map((r) => r.url)).toEqual([
      "/api/projects/42/insights/12345678/?basic=true",
      "/api/projects/42/insights/?short_id=12345678&basic=true&limit=1",
    ]);
  });

  it("treats a deleted insight as not found", async () => {
    server.respond(reply(200, insightJson({ deleted: true })));
    expect((await caught(makeClient().getInsight(4821))).code).toBe("not_found");
  });
});

describe("members", () => {
  const member = (id: number, email: string) => ({
    id: `membership-${id}`,
    level: 1,
    user: { id, uuid: `uuid-${id}`, email, first_name: "N", last_name: "", is_active: true },
  });

  it("collects every page", async () => {
    server.respond(
      reply(200, page([member(1, "a@example.com")], "http://x/next", 2)),
      reply(200, page([member(2, "b@example.com")], null, 2)),
    );
    const client = makeClient();
    const members = await client.listMembers({ search: "example" });
    expect(members.map((m) => m.user.id)).toEqual([1, 2]);
    expect(server.requests.map((r) => r.url)).toEqual([
      "/api/organizations/@current/members/?search=example&limit=100&offset=0",
      "/api/organizations/@current/members/?search=example&limit=100&offset=1",
    ]);
    expect(client.lastListPageCount).toBe(2);
  });

  it("accepts the unpaginated array older servers return", async () => {
    server.respond(reply(200, [member(3, "c@example.com")]));
    const members = await makeClient().listMembers();
    expect(members[0]?.user.email).toBe("c@example.com");
    expect(server.requests[0]?.url).toBe("/api/organizations/@current/members/?limit=100&offset=0");
  });
});
