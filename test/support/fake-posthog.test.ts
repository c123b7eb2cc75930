import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FakeInsight, type FakePostHog, parseSnoozedUntil, startFakePostHog } from "./fake-posthog.js";

const KEY = "phx_test_key";
const START = new Date("2025-06-02T14:37:00Z");

let clock: Date;
let fake: FakePostHog;

beforeEach(async () => {
  clock = new Date(START);
  fake = await startFakePostHog({ now: () => clock });
});

afterEach(async () => {
  await fake.close();
});

interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are probed freely in assertions
  json: any;
}

async function api(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = { Authorization: `Bearer ${KEY}` },
): Promise<ApiResponse> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.headers = { ...headers, "Content-Type": "application/json" };
    init.body = typeof body === "string" ? body : JSON.stringify(body);
  }
  const res = await fetch(`${fake.url}${path}`, init);
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

const alertsPath = (suffix = "") => `/api/projects/4242/alerts/${suffix}`;

function validBody(insight: FakeInsight, users: number[] = []): Record<string, unknown> {
  return {
    insight: insight.id,
    name: "Signups dropped",
    subscribed_users: users,
    threshold: { configuration: { type: "absolute", bounds: { lower: 100, upper: null } } },
    condition: { type: "absolute_value" },
    config: { type: "TrendsAlertConfig", series_index: 0, check_ongoing_interval: false },
    calculation_interval: "daily",
  };
}

function twoSeriesInsight(): FakeInsight {
  return fake.addInsight({
    name: "Signups vs logins",
    query: {
      kind: "InsightVizNode",
      source: {
        kind: "TrendsQuery",
        series: [
          { kind: "EventsNode", event: "signed_up" },
          { kind: "EventsNode", event: "logged_in" },
        ],
        trendsFilter: { display: "ActionsLineGraph" },
      },
    },
  });
}

describe("authentication and routing", () => {
  it("rejects a request without credentials as not_authenticated", async () => {
    const res = await api("GET", alertsPath(), undefined, {});
    expect(res.status).toBe(401);
    expect(res.json).toEqual({
      type: "authentication_error",
      code: "not_authenticated",
      detail: "Authentication credentials were not provided.",
      attr: null,
    });
  });

  it("rejects a wrong key with PostHog's exact detail", async () => {
    const res = await api("GET", alertsPath(), undefined, { Authorization: "Bearer phx_wrong" });
    expect(res.status).toBe(401);
    expect(res.json).toEqual({
      type: "authentication_error",
      code: "authentication_failed",
      detail: "Personal API key found in request Authorization header is invalid.",
      attr: null,
    });
  });

  it("serves both path families, with or without the slash, and @current", async () => {
    const insight = fake.addInsight({ name: "Signups" });
    fake.addAlert({ insight: insight.id, name: "a" });
    for (const path of [
      "/api/projects/4242/alerts/",
      "/api/projects/4242/alerts",
      "/api/projects/@current/alerts",
      "/api/environments/4242/alerts/",
    ]) {
      const res = await api("GET", path);
      expect(res.status, path).toBe(200);
      expect(res.json.count, path).toBe(1);
    }
  });

  it("marks the environments alias as deprecated and points at its successor", async () => {
    const insight = fake.addInsight({ name: "Signups" });
    const alert = fake.addAlert({ insight: insight.id });
    const res = await api("GET", `/api/environments/4242/alerts/${alert.id}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("deprecation")).toBe("true");
    expect(res.headers.get("link")).toBe(
      `<${fake.url}/api/projects/4242/alerts/${alert.id}/>; rel="successor-version"`,
    );
    const plain = await api("GET", alertsPath(`${alert.id}/`));
    expect(plain.headers.get("deprecation")).toBeNull();
    expect(plain.json).toEqual(res.json);
  });

  it("answers 404 for an unknown project and for unknown routes", async () => {
    const project = await api("GET", "/api/projects/999/alerts/");
    expect(project.status).toBe(404);
    expect(project.json).toEqual({
      type: "invalid_request",
      code: "not_found",
      detail: "Project not found.",
      attr: null,
    });
    expect((await api("GET", "/api/projects/4242/nope/")).status).toBe(404);
    expect((await api("GET", alertsPath("not-a-uuid/"))).json.detail).toBe("Not found.");
  });
});

describe("scopes", () => {
  it("needs alert:write to write; alert:write implies alert:read", async () => {
    const insight = fake.addInsight({ name: "Signups" });
    fake.setScopes(["alert:read"]);
    expect((await api("GET", alertsPath())).status).toBe(200);
    const denied = await api("POST", alertsPath(), validBody(insight));
    expect(denied.status).toBe(403);
    expect(denied.json).toEqual({
      type: "authentication_error",
      code: "permission_denied",
      detail: "API key missing required scope 'alert:write'",
      attr: null,
    });
    expect(fake.alerts.size).toBe(0);

    fake.setScopes(["alert:write"]);
    expect((await api("GET", alertsPath())).status).toBe(200);
    expect((await api("POST", alertsPath(), validBody(insight))).status).toBe(201);
  });

  it("guards insights, members and the current user with their own scopes", async () => {
    fake.setScopes(["alert:write"]);
    const insights = await api("GET", "/api/projects/4242/insights/");
    expect(insights.status).toBe(403);
    expect(insights.json.detail).toBe("API key missing required scope 'insight:read'");
    const members = await api("GET", "/api/organizations/@current/members/");
    expect(members.json.detail).toBe("API key missing required scope 'organization_member:read'");

    fake.setScopes(["insight:read", "organization_member:read"]);
    expect((await api("GET", "/api/projects/4242/insights/")).status).toBe(200);
    expect((await api("GET", "/api/organizations/@current/members/")).status).toBe(200);
  });
});

describe("listing and retrieving alerts", () => {
  it("paginates newest first with absolute next/previous links", async () => {
    const insight = fake.addInsight({ name: "Signups" });
    for (let i = 0; i < 5; i++) {
      fake.addAlert({ insight: insight.id, name: `alert ${i}` });
      clock = new Date(clock.getTime() + 1000);
    }
    const first = await api("GET", alertsPath("?limit=2"));
    expect(first.json.count).toBe(5);
    expect(first.json.results.map((a: { name: string }) => a.name)).toEqual(["alert 4", "alert 3"]);
    expect(first.json.next).toBe(`${fake.url}/api/projects/4242/alerts/?limit=2&offset=2`);
    expect(first.json.previous).toBeNull();
    expect(first.json.results[0].checks).toEqual([]);

    const middle = await api("GET", alertsPath("?limit=2&offset=2"));
    expect(middle.json.results.map((a: { name: string }) => a.name)).toEqual(["alert 2", "alert 1"]);
    expect(middle.json.previous).toBe(`${fake.url}/api/projects/4242/alerts/?limit=2`);

    const last = await api("GET", alertsPath("?limit=2&offset=4"));
    expect(last.json.next).toBeNull();
    expect(last.json.previous).toBe(`${fake.url}/api/projects/4242/alerts/?limit=2&offset=2`);
  });

  it("defaults to 100 per page and filters by search", async () => {
    const insight = fake.addInsight({ name: "Signups" });
    for (let i = 0; i < 101; i++)
      fake.addAlert({ insight: insight.id, name: i === 7 ? "Checkout errors" : `a${i}` });
    const page = await api("GET", alertsPath());
    expect(page.json.results).toHaveLength(100);
    expect(page.json.next).toBe(`${fake.url}/api/projects/4242/alerts/?limit=100&offset=100`);
    const found = await api("GET", alertsPath("?search=checkout"));
    expect(found.json.count).toBe(1);
    expect(found.json.results[0].name).toBe("Checkout errors");
    const tooLong = await api("GET", alertsPath(`?search=${"x".repeat(201)}`));
    expect(tooLong.status).toBe(400);
    expect(tooLong.json.attr).toBe("search");
  });

  it("returns the 5 newest checks by default and clamps checks_limit", async () => {
    const insight = fake.addInsight({ name: "Signups" });
    const alert = fake.addAlert({ insight: insight.id });
    for (let i = 1; i <= 7; i++) fake.fire(alert.id, i, new Date(START.getTime() + i * 60_000));
    const values = async (q: string) =>
      (await api("GET", alertsPath(`${alert.id}/${q}`))).json.checks.map(
        (c: { calculated_value: number }) => c.calculated_value,
      );
    expect(await values("")).toEqual([7, 6, 5, 4, 3]);
    expect(await values("?checks_limit=2")).toEqual([7, 6]);
    expect(await values("?checks_limit=0")).toEqual([7]);
    expect(await values("?checks_limit=abc")).toHaveLength(5);
    expect(await values("?checks_limit=9999")).toHaveLength(7);
    const got = await api("GET", alertsPath(alert.id));
    expect(got.json.state).toBe("Firing");
    expect(got.json.last_value).toBe(7);
    expect(got.json.last_checked_at).toBe("2025-06-02T14:44:00Z");
  });

  it("orders checks by time, not by insertion, and puts the later of two at one instant first", async () => {
    const insight = fake.addInsight({ name: "Signups" });
    const alert = fake.addAlert({ insight: insight.id });
    // Times in minutes after START, inserted out of order, with two pairs at the same instant.
    const minutes = [5, 1, 9, 3, 9, 7, 2, 5];
    minutes.forEach((m, i) => {
      fake.fire(alert.id, i, new Date(START.getTime() + m * 60_000));
    });
    const values = async (q: string) =>
      (await api("GET", alertsPath(`${alert.id}/${q}`))).json.checks.map(
        (c: { calculated_value: number }) => c.calculated_value,
      );
    // Value = insertion index: 9 min → 4 then 2, 7 min → 5, 5 min → 7 then 0, 3 → 3, 2 → 6, 1 → 1.
    expect(await values("?checks_limit=500")).toEqual([4, 2, 5, 7, 0, 3, 6, 1]);
    expect(await values("")).toEqual([4, 2, 5, 7, 0]);
    expect((await api("GET", alertsPath(alert.id))).json.last_value).toBe(4);
  });

  it("hides alerts whose insight was deleted", async () => {
    const insight = fake.addInsight({ name: "Signups" });
    const alert = fake.addAlert({ insight: insight.id });
    fake.insights.get(insight.id)!.deleted = true;
    expect((await api("GET", alertsPath(alert.id))).status).toBe(404);
    expect((await api("GET", alertsPath())).json.count).toBe(0);
    expect((await api("PATCH", alertsPath(alert.id), { name: "x" })).status).toBe(404);
  });
});

describe("creating alerts", () => {
  it("returns 201 in the seed's shape", async () => {
    const insight = fake.addInsight({ name: "Signups" });
    const ann = fake.addMember({ email: "ann@example.com", first_name: "Ann" });
    const res = await api("POST", alertsPath(), { ...validBody(insight, [ann.user.id]), state: "Firing" });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({
      insight: insight.id,
      name: "Signups dropped",
      subscribed_users: [ann.user.id],
      created_by: { id: fake.owner.user.id, email: fake.owner.user.email },
      created_at: "2025-06-02T14:37:00Z",
      threshold: { name: "", configuration: { type: "absolute", bounds: { lower: 100, upper: null } } },
      condition: { type: "absolute_value" },
      state: "Not firing",
      enabled: true,
      calculation_interval: "daily",
      snoozed_until: null,
      skip_weekend: false,
      last_value: null,
    });
    expect(res.json).not.toHaveProperty("checks");
    expect(fake.alerts.get(res.json.id)?.name).toBe("Signups dropped");
  });

  const cases: Array<{
    name: string;
    body: (insight: FakeInsight, extra: { outsider: number; other: FakeInsight }) => Record<string, unknown>;
    code: string;
    attr: string | null;
    detail: string | RegExp;
  }> = [
    {
      name: "missing insight",
      body: (i) => {
        const { insight: _, ...rest } = validBody(i);
        return rest;
      },
      code: "required",
      attr: "insight",
      detail: "This field is required.",
    },
    {
      name: "missing subscribed_users",
      body: (i) => {
        const { subscribed_users: _, ...rest } = validBody(i);
        return rest;
      },
      code: "required",
      attr: "subscribed_users",
      detail: "This field is required.",
    },
    {
      name: "threshold without configuration",
      body: (i) => ({ ...validBody(i), threshold: { name: "t" } }),
      code: "required",
      attr: "threshold__configuration",
      detail: "This field is required.",
    },
    {
      name: "unknown insight",
      body: (i) => ({ ...validBody(i), insight: 123 }),
      code: "does_not_exist",
      attr: "insight",
      detail: 'Invalid pk "123" - object does not exist.',
    },
    {
      name: "unknown user",
      body: (i) => ({ ...validBody(i), subscribed_users: [99] }),
      code: "does_not_exist",
      attr: "subscribed_users",
      detail: 'Invalid pk "99" - object does not exist.',
    },
    {
      name: "user outside the organisation",
      body: (i, { outsider }) => ({ ...validBody(i), subscribed_users: [outsider] }),
      code: "invalid_input",
      attr: "subscribed_users",
      detail: "User does not belong to the same organization as the alert's team.",
    },
    {
      name: "insight that is not alertable",
      body: (i, { other }) => ({ ...validBody(i), insight: other.id }),
      code: "invalid_input",
      attr: "insight",
      detail: "Alerts are not supported for this insight.",
    },
    {
      name: "lower above upper",
      body: (i) => ({
        ...validBody(i),
        threshold: { configuration: { type: "absolute", bounds: { lower: 5, upper: 1 } } },
      }),
      code: "invalid_input",
      attr: "threshold__non_field_errors",
      detail: "Lower threshold must be less than upper threshold",
    },
    {
      name: "no bound",
      body: (i) => ({ ...validBody(i), threshold: { configuration: { type: "absolute", bounds: {} } } }),
      code: "invalid_input",
      attr: "threshold__configuration",
      detail: "At least one threshold bound (lower or upper) must be provided.",
    },
    {
      name: "unknown key in the threshold configuration",
      body: (i) => ({
        ...validBody(i),
        threshold: { configuration: { type: "absolute", bounds: { lower: 1 }, extra: true } },
      }),
      code: "invalid_input",
      attr: "threshold__non_field_errors",
      detail: /^Invalid threshold configuration: 1 validation error for InsightThreshold\nextra\n/,
    },
    {
      name: "absolute condition with a percentage threshold",
      body: (i) => ({
        ...validBody(i),
        threshold: { configuration: { type: "percentage", bounds: { lower: 0.2 } } },
      }),
      code: "invalid_input",
      attr: null,
      detail:
        "Absolute value alerts require an absolute threshold, but a percentage threshold was configured",
    },
    {
      name: "invalid interval",
      body: (i) => ({ ...validBody(i), calculation_interval: "foo" }),
      code: "invalid_choice",
      attr: "calculation_interval",
      detail: '"foo" is not a valid choice.',
    },
    {
      name: "enabled null",
      body: (i) => ({ ...validBody(i), enabled: null }),
      code: "null",
      attr: "enabled",
      detail: "This field may not be null.",
    },
    {
      name: "non-string snoozed_until",
      body: (i) => ({ ...validBody(i), snoozed_until: 3600 }),
      code: "invalid_input",
      attr: "snoozed_until",
      detail: "snoozed_until has to be passed in string format",
    },
    {
      name: "bad condition",
      body: (i) => ({ ...validBody(i), condition: { type: "sideways" } }),
      code: "invalid_input",
      attr: null,
      detail: "Alert has invalid condition: {'type': 'sideways'}",
    },
  ];

  it.each(cases)("rejects $name", async ({ body, code, attr, detail }) => {
    const insight = fake.addInsight({ name: "Signups" });
    const outsider = fake.addOutsider({ email: "stranger@example.com" }).id;
    const other = fake.addInsight({
      name: "Retention",
      query: { kind: "InsightVizNode", source: { kind: "RetentionQuery" } },
    });
    const res = await api("POST", alertsPath(), body(insight, { outsider, other }));
    expect(res.status).toBe(400);
    expect(res.json.type).toBe("validation_error");
    expect(res.json.code).toBe(code);
    expect(res.json.attr).toBe(attr);
    if (typeof detail === "string") expect(res.json.detail).toBe(detail);
    else expect(res.json.detail).toMatch(detail);
    expect(Object.keys(res.json).sort()).toEqual(["attr", "code", "detail", "type"]);
    expect(fake.alerts.size).toBe(0);
  });

  it("returns only the first error, in field order", async () => {
    const res = await api("POST", alertsPath(), { calculation_interval: "foo" });
    expect(res.json).toEqual({
      type: "validation_error",
      code: "required",
      detail: "This field is required.",
      attr: "insight",
    });
  });

  it("checks series_index against the insight's series count", async () => {
    const insight = twoSeriesInsight();
    const body = { ...validBody(insight), config: { type: "TrendsAlertConfig", series_index: 3 } };
    const res = await api("POST", alertsPath(), body);
    expect(res.status).toBe(400);
    expect(res.json.detail).toBe("series_index 3 is out of range (query has 2 series)");
    const okRes = await api("POST", alertsPath(), {
      ...body,
      config: { type: "TrendsAlertConfig", series_index: 1 },
    });
    expect(okRes.status).toBe(201);
  });

  it("enforces the plan limit", async () => {
    await fake.close();
    fake = await startFakePostHog({ now: () => clock, alertLimit: 1 });
    const insight = fake.addInsight({ name: "Signups" });
    expect((await api("POST", alertsPath(), validBody(insight))).status).toBe(201);
    const res = await api("POST", alertsPath(), validBody(insight));
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({
      code: "invalid_input",
      attr: "alert",
      detail: "Your plan is limited to 1 alerts.",
    });
  });

  it("rejects malformed JSON and bodies without a JSON content type", async () => {
    const broken = await api("POST", alertsPath(), '{"insight": ');
    expect(broken.status).toBe(400);
    expect(broken.json).toMatchObject({ type: "invalid_request", code: "parse_error", attr: null });
    expect(broken.json.detail).toMatch(/^JSON parse error - /);
    const res = await fetch(`${fake.url}${alertsPath()}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${KEY}` },
      body: "{}",
    });
    expect(res.status).toBe(415);
  });
});

describe("updating alerts", () => {
  async function seeded(state: "Firing" | "Not firing" = "Firing") {
    const insight = fake.addInsight({ name: "Signups" });
    const alert = fake.addAlert({ insight: insight.id, name: "Signups dropped" });
    if (state === "Firing") fake.fire(alert.id, 42);
    return alert;
  }

  it("stores an ISO snooze exactly and enters Snoozed", async () => {
    const alert = await seeded();
    const res = await api("PATCH", alertsPath(`${alert.id}/`), {
      snoozed_until: "2025-06-02T17:37:00.123+02:00",
    });
    expect(res.status).toBe(200);
    expect(res.json.state).toBe("Snoozed");
    expect(res.json.snoozed_until).toBe("2025-06-02T15:37:00.123000Z");
    expect(res.json).not.toHaveProperty("checks");
    expect(res.json.last_value).toBe(42);
    const after = await api("GET", alertsPath(alert.id));
    expect(after.json.last_value).toBeNull();
    expect(after.json.checks[0]).toMatchObject({
      calculated_value: null,
      state: "Snoozed",
      targets_notified: false,
    });
  });

  it.each([
    ["1h", "2025-06-02T15:00:00Z"],
    ["2h", "2025-06-02T16:00:00Z"],
    ["1d", "2025-06-03T00:00:00Z"],
    ["1w", "2025-06-09T00:00:00Z"],
    ["1m", "2025-07-02T00:00:00Z"],
    ["30M", "2025-06-02T00:00:00Z"],
    ["tomorrow", "2025-06-02T00:00:00Z"],
    ["never", "2025-06-02T14:37:00Z"],
    ["2025-06-05", "2025-06-05T00:00:00Z"],
  ])("rounds the relative snooze %s down to %s", async (token, expected) => {
    const alert = await seeded();
    const res = await api("PATCH", alertsPath(alert.id), { snoozed_until: token });
    expect(res.json.snoozed_until).toBe(expected);
    expect(res.json.state).toBe("Snoozed");
  });

  it("reads an expired snooze back as Not firing with no snooze", async () => {
    const alert = await seeded();
    const res = await api("PATCH", alertsPath(alert.id), { snoozed_until: "30M" });
    expect(res.json.snoozed_until).toBe("2025-06-02T00:00:00Z");
    const after = await api("GET", alertsPath(alert.id));
    expect(after.json.state).toBe("Not firing");
    expect(after.json.snoozed_until).toBeNull();
  });

  it("lets a snooze expire when the clock passes it", async () => {
    const alert = await seeded();
    await api("PATCH", alertsPath(alert.id), { snoozed_until: "1h" });
    expect((await api("GET", alertsPath(alert.id))).json.state).toBe("Snoozed");
    clock = new Date("2025-06-02T15:00:00Z");
    expect((await api("GET", alertsPath(alert.id))).json).toMatchObject({
      state: "Not firing",
      snoozed_until: null,
    });
  });

  it("keeps a disabled alert's snooze after it has passed: nothing evaluates a disabled alert", async () => {
    const alert = await seeded();
    await api("PATCH", alertsPath(alert.id), { snoozed_until: "1h" });
    await api("PATCH", alertsPath(alert.id), { enabled: false });
    clock = new Date("2025-06-02T15:00:00Z");
    expect((await api("GET", alertsPath(alert.id))).json).toMatchObject({
      enabled: false,
      snoozed_until: "2025-06-02T15:00:00Z",
    });
  });

  it("unsnoozes with null into Not firing, even from Firing", async () => {
    const alert = await seeded();
    const res = await api("PATCH", alertsPath(alert.id), { snoozed_until: null });
    expect(res.json.state).toBe("Not firing");
    expect(res.json.snoozed_until).toBeNull();
    expect((await api("GET", alertsPath(alert.id))).json.last_value).toBeNull();
  });

  it("disabling gives Not firing, keeps the snooze and wins over a snooze in the same PATCH", async () => {
    const alert = await seeded();
    const res = await api("PATCH", alertsPath(alert.id), {
      snoozed_until: "2025-06-03T00:00:00Z",
      enabled: false,
    });
    expect(res.json).toMatchObject({
      enabled: false,
      state: "Not firing",
      snoozed_until: "2025-06-03T00:00:00Z",
    });
    const again = await api("PATCH", alertsPath(alert.id), { enabled: true });
    expect(again.json.state).toBe("Not firing");
    expect(() => fake.fire(alert.id, 1)).toThrow(/snoozed/);
  });

  it("resets state and next_check_at when the threshold changes, and ignores state", async () => {
    const alert = await seeded();
    expect(fake.alerts.get(alert.id)?.next_check_at).not.toBeNull();
    const same = await api("PATCH", alertsPath(alert.id), { name: "Renamed", state: "Errored" });
    expect(same.json).toMatchObject({ name: "Renamed", state: "Firing" });
    const res = await api("PATCH", alertsPath(alert.id), {
      threshold: { configuration: { type: "absolute", bounds: { lower: 10, upper: null } } },
    });
    expect(res.json.state).toBe("Not firing");
    expect(res.json.next_check_at).toBeNull();
    expect(res.json.threshold.configuration.bounds.lower).toBe(10);
  });

  it("validates only the fields present, with the same rules", async () => {
    const alert = await seeded();
    expect((await api("PATCH", alertsPath(alert.id), { enabled: null })).json).toMatchObject({
      code: "null",
      attr: "enabled",
    });
    expect((await api("PATCH", alertsPath(alert.id), { snoozed_until: true })).json.attr).toBe(
      "snoozed_until",
    );
    expect((await api("PATCH", alertsPath(alert.id), { calculation_interval: "yearly" })).json.code).toBe(
      "invalid_choice",
    );
    expect((await api("PATCH", alertsPath(alert.id), { subscribed_users: [7777] })).json.code).toBe(
      "does_not_exist",
    );
  });

  it("replaces the subscriber set", async () => {
    const alert = await seeded();
    const a = fake.addMember({ email: "a@example.com" });
    const b = fake.addMember({ email: "b@example.com" });
    await api("PATCH", alertsPath(alert.id), { subscribed_users: [a.user.id, b.user.id] });
    const res = await api("PATCH", alertsPath(alert.id), { subscribed_users: [b.user.id] });
    expect(res.json.subscribed_users).toEqual([b.user.id]);
  });

  it("requires every required field on PUT", async () => {
    const alert = await seeded();
    const res = await api("PUT", alertsPath(alert.id), { name: "only a name" });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ code: "required", attr: "insight" });
  });

  it("reports errored checks with a null value", async () => {
    const alert = await seeded("Not firing");
    fake.error(alert.id);
    const res = await api("GET", alertsPath(alert.id));
    expect(res.json).toMatchObject({ state: "Errored", last_value: null });
    expect(res.json.checks[0]).toMatchObject({ state: "Errored", calculated_value: null });
  });

  it("deletes with an empty 204", async () => {
    const alert = await seeded();
    const res = await api("DELETE", alertsPath(`${alert.id}/`));
    expect(res.status).toBe(204);
    expect(res.text).toBe("");
    expect((await api("GET", alertsPath(alert.id))).status).toBe(404);
  });
});

describe("snooze parsing", () => {
  it("treats naive ISO values as UTC and accepts past instants", () => {
    expect(parseSnoozedUntil("2025-06-02T15:37:00", START)).toBe("2025-06-02T15:37:00Z");
    expect(parseSnoozedUntil("2020-01-01T00:00:00Z", START)).toBe("2020-01-01T00:00:00Z");
  });

  it("rolls 30M over midnight to the next day's 00:00", () => {
    expect(parseSnoozedUntil("30M", new Date("2025-06-02T23:45:00Z"))).toBe("2025-06-03T00:00:00Z");
  });
});

describe("insights, members and the current user", () => {
  it("lists insights with search, short_id, basic and order, and retrieves by pk or short_id", async () => {
    const a = fake.addInsight({ name: "Daily signups" });
    clock = new Date(clock.getTime() + 1000);
    const b = fake.addInsight({ name: "Weekly retention" });
    const gone = fake.addInsight({ name: "Old signups" });
    fake.deleteInsight(gone.id);

    const all = await api("GET", "/api/projects/4242/insights/?basic=true&order=-last_modified_at&limit=1");
    expect(all.json.count).toBe(2);
    expect(all.json.results[0].id).toBe(b.id);
    expect(all.json.results[0]).not.toHaveProperty("result");
    expect(all.json.next).toBe(
      `${fake.url}/api/projects/4242/insights/?basic=true&limit=1&offset=1&order=-last_modified_at`,
    );

    const found = await api("GET", "/api/projects/4242/insights/?search=signups");
    expect(found.json.results.map((i: { id: number }) => i.id)).toEqual([a.id]);
    const byShort = await api("GET", `/api/projects/4242/insights/?short_id=${b.short_id}`);
    expect(byShort.json.results[0].id).toBe(b.id);
    expect((await api("GET", `/api/projects/4242/insights/${a.short_id}/`)).json.id).toBe(a.id);
    expect((await api("GET", `/api/projects/4242/insights/${a.id}`)).json.query.source.kind).toBe(
      "TrendsQuery",
    );
    expect((await api("GET", `/api/projects/4242/insights/${gone.id}/`)).status).toBe(404);
  });

  it("lists organisation members with search, paginated", async () => {
    const ann = fake.addMember({ email: "ann@example.com", first_name: "Ann", last_name: "Lee" });
    fake.addMember({ email: "bob@example.com", first_name: "Bob" });
    fake.addMember({ email: "gone@example.com", first_name: "Gone", is_active: false });
    const all = await api("GET", "/api/organizations/@current/members/");
    expect(all.json.count).toBe(3);
    const res = await api("GET", "/api/organizations/@current/members/?search=ann%40example");
    expect(res.json.results).toHaveLength(1);
    expect(res.json.results[0]).toMatchObject({
      id: ann.id,
      user: { id: ann.user.id, email: "ann@example.com" },
    });
    expect(typeof res.json.results[0].user.id).toBe("number");
    expect(res.json.results[0].id).not.toBe(res.json.results[0].user.uuid);
  });

  it("returns the key owner's organisation and team from /users/@me", async () => {
    const res = await api("GET", "/api/users/@me/");
    expect(res.status).toBe(200);
    expect(res.json.email).toBe(fake.owner.user.email);
    expect(res.json.organization.id).toBe(fake.organizationId);
    expect(res.json.team.id).toBe(4242);
  });
});

describe("fault knobs", () => {
  it("fails the next n requests with the given status, then recovers", async () => {
    fake.failNext(2, { status: 503 });
    expect((await api("GET", alertsPath())).status).toBe(503);
    const second = await api("GET", alertsPath());
    expect(second.json).toEqual({
      type: "server_error",
      code: "error",
      detail: "A server error occurred.",
      attr: null,
    });
    expect((await api("GET", alertsPath())).status).toBe(200);
    expect(fake.requests).toHaveLength(3);
  });

  it("can send a truncated body", async () => {
    fake.failNext(1, { status: 200, raw: '{"count": 1, "resul' });
    const res = await fetch(`${fake.url}${alertsPath()}`, { headers: { Authorization: `Bearer ${KEY}` } });
    expect(res.status).toBe(200);
    await expect(res.json()).rejects.toThrow();
  });

  it("can reset the connection", async () => {
    fake.failNext(1, "reset");
    await expect(fetch(`${fake.url}${alertsPath()}`)).rejects.toThrow();
    expect((await api("GET", alertsPath())).status).toBe(200);
  });

  it("can hang until the client gives up", async () => {
    fake.failNext(1, "hang");
    await expect(fetch(`${fake.url}${alertsPath()}`, { signal: AbortSignal.timeout(50) })).rejects.toThrow();
  });

  it("delays responses", async () => {
    fake.setLatency(40);
    const started = performance.now();
    await api("GET", alertsPath());
    expect(performance.now() - started).toBeGreaterThanOrEqual(35);
  });

  it("throttles per key with 429, Retry-After and PostHog's body", async () => {
    fake.setRateLimit(2);
    expect((await api("GET", alertsPath())).status).toBe(200);
    clock = new Date(START.getTime() + 20_000);
    expect((await api("GET", alertsPath())).status).toBe(200);
    const throttled = await api("GET", alertsPath());
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get("retry-after")).toBe("40");
    expect(throttled.json).toEqual({
      type: "throttled_error",
      code: "throttled",
      detail: "Request was throttled. Expected available in 40 seconds.",
      attr: null,
    });
    clock = new Date(START.getTime() + 60_001);
    expect((await api("GET", alertsPath())).status).toBe(200);
    fake.setRateLimit(null);
    for (let i = 0; i < 5; i++) expect((await api("GET", alertsPath())).status).toBe(200);
  });

  it("records requests and resets everything", async () => {
    const insight = fake.addInsight({ name: "Signups" });
    await api("POST", alertsPath("?x=1"), validBody(insight));
    const req = fake.requests[0]!;
    expect(req).toMatchObject({ method: "POST", path: "/api/projects/4242/alerts/", query: { x: "1" } });
    expect(req.headers.authorization).toBe(`Bearer ${KEY}`);
    expect((req.body as { insight: number }).insight).toBe(insight.id);
    expect(req.at).toBe(START.getTime());
    fake.setScopes([]);
    fake.reset();
    expect(fake.requests).toHaveLength(0);
    expect(fake.alerts.size).toBe(0);
    expect(fake.insights.size).toBe(0);
    expect((await api("GET", alertsPath())).status).toBe(200);
  });
});
