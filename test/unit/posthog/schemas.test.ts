import { describe, expect, it } from "vitest";
import { alertSchema, insightSchema, memberSchema, pageSchema } from "../../../src/posthog/schemas.js";

/** The alert exactly as PostHog's API reference shows it (ids, not objects). */
const seedAlert = {
  id: "497f6eca-6276-4993-bfeb-53cbbbba6f08",
  created_by: {
    id: 0,
    uuid: "095be615-a8ad-4c33-8e9c-c7612fbf6c9f",
    distinct_id: "string",
    first_name: "string",
    last_name: "string",
    email: "user@example.com",
    is_email_verified: true,
    hedgehog_config: { property1: null, property2: null },
    role_at_organization: "engineering",
  },
  created_at: "2019-08-24T14:15:22Z",
  insight: 0,
  name: "string",
  subscribed_users: [0],
  threshold: {
    id: "497f6eca-6276-4993-bfeb-53cbbbba6f08",
    created_at: "2019-08-24T14:15:22Z",
    name: "string",
    configuration: { bounds: { lower: null, upper: null }, type: "absolute" },
  },
  condition: { type: "absolute_value" },
  state: "Firing",
  enabled: true,
  last_notified_at: "2019-08-24T14:15:22Z",
  last_checked_at: "2019-08-24T14:15:22Z",
  next_check_at: "2019-08-24T14:15:22Z",
  checks: [
    {
      id: "497f6eca-6276-4993-bfeb-53cbbbba6f08",
      created_at: "2019-08-24T14:15:22Z",
      calculated_value: 0.1,
      state: "Firing",
      targets_notified: true,
    },
  ],
  config: { check_ongoing_interval: null, series_index: 0, type: "TrendsAlertConfig" },
  calculation_interval: "hourly",
  snoozed_until: "2019-08-24T14:15:22Z",
  skip_weekend: true,
  last_value: 0.1,
};

describe("alertSchema", () => {
  it("parses the reference example with id references", () => {
    const alert = alertSchema.parse(seedAlert);
    expect(alert.insight).toBe(0);
    expect(alert.insight_short_id).toBeNull();
    expect(alert.insight_name).toBeNull();
    expect(alert.subscribed_users).toEqual([0]);
    expect(alert.config).toEqual({
      type: "TrendsAlertConfig",
      series_index: 0,
      check_ongoing_interval: false,
    });
    expect(alert.threshold?.configuration).toEqual({
      type: "absolute",
      bounds: { lower: null, upper: null },
    });
    expect(alert.snoozed_until).toBe("2019-08-24T14:15:22Z");
  });

  it("parses the newer object references", () => {
    const alert = alertSchema.parse({
      ...seedAlert,
      insight: { id: 4821, short_id: "AaVQ8Ijw", name: null, derived_name: "Pageview count", query: {} },
      subscribed_users: [
        { id: 7, uuid: "u7", email: "ann@example.com" },
        { id: 8, uuid: "u8", email: "bo@example.com" },
      ],
    });
    expect(alert.insight).toBe(4821);
    expect(alert.insight_short_id).toBe("AaVQ8Ijw");
    expect(alert.insight_name).toBe("Pageview count");
    expect(alert.subscribed_users).toEqual([7, 8]);
  });

  it("uses top-level insight_short_id and insight_display_name when the insight is an id", () => {
    const alert = alertSchema.parse({
      ...seedAlert,
      insight: 12,
      insight_short_id: "Zz12Yy34",
      insight_display_name: "Weekly revenue",
    });
    expect(alert.insight).toBe(12);
    expect(alert.insight_short_id).toBe("Zz12Yy34");
    expect(alert.insight_name).toBe("Weekly revenue");
  });

  it("drops unknown keys and fills defaults for missing optional fields", () => {
    const {
      checks: _checks,
      skip_weekend: _skip,
      last_value: _last,
      calculation_interval: _interval,
      ...minimal
    } = seedAlert;
    const alert = alertSchema.parse({ ...minimal, detector_config: { type: "zscore" }, checks_total: 3 });
    expect(alert).not.toHaveProperty("detector_config");
    expect(alert).not.toHaveProperty("checks_total");
    expect(alert.checks).toEqual([]);
    expect(alert.skip_weekend).toBe(false);
    expect(alert.last_value).toBeNull();
    expect(alert.calculation_interval).toBe("daily");
  });

  it("accepts interval values newer servers add", () => {
    expect(
      alertSchema.parse({ ...seedAlert, calculation_interval: "every_15_minutes" }).calculation_interval,
    ).toBe("every_15_minutes");
  });

  it("defaults missing bounds", () => {
    const alert = alertSchema.parse({
      ...seedAlert,
      threshold: { name: "", configuration: { type: "percentage" } },
    });
    expect(alert.threshold?.configuration.bounds).toEqual({ lower: null, upper: null });
  });

  it.each([
    ["insight as a string", { insight: "12" }],
    ["subscribed_users as strings", { subscribed_users: ["7"] }],
    ["insight object without id", { insight: { short_id: "x" } }],
    ["enabled as a string", { enabled: "true" }],
    ["unknown condition type", { condition: { type: "sometimes" } }],
    ["missing id", { id: undefined }],
    ["calculated_value as a string", { checks: [{ ...seedAlert.checks[0], calculated_value: "0.1" }] }],
  ])("rejects %s", (_label, override) => {
    expect(alertSchema.safeParse({ ...seedAlert, ...override }).success).toBe(false);
  });
});

describe("pageSchema", () => {
  it("parses a page with absolute next/previous URLs", () => {
    const page = pageSchema(alertSchema).parse({
      count: 123,
      next: "http://api.example.org/accounts/?offset=400&limit=100",
      previous: "http://api.example.org/accounts/?offset=200&limit=100",
      results: [seedAlert],
    });
    expect(page.count).toBe(123);
    expect(page.next).toContain("offset=400");
    expect(page.results).toHaveLength(1);
  });

  it("treats missing next/previous as null and rejects a bad row", () => {
    const page = pageSchema(alertSchema).parse({ results: [] });
    expect(page.next).toBeNull();
    expect(page.previous).toBeNull();
    expect(pageSchema(alertSchema).safeParse({ results: [{ id: 1 }] }).success).toBe(false);
  });
});

describe("insightSchema", () => {
  it("parses a basic insight and keeps the query untyped", () => {
    const insight = insightSchema.parse({
      id: 4821,
      short_id: "AaVQ8Ijw",
      name: null,
      derived_name: "Pageview count",
      query: { kind: "InsightVizNode", source: { kind: "TrendsQuery", series: [] } },
      dashboards: [1],
      tags: [],
    });
    expect(insight.name).toBeNull();
    expect(insight.derived_name).toBe("Pageview count");
    expect(insight.query).toMatchObject({ kind: "InsightVizNode" });
    expect(insight).not.toHaveProperty("dashboards");
  });

  it("rejects an insight without a numeric id", () => {
    expect(insightSchema.safeParse({ id: "4821", short_id: "x" }).success).toBe(false);
  });
});

describe("memberSchema", () => {
  it("parses a member row and keeps the integer user id", () => {
    const member = memberSchema.parse({
      id: "0190f1a2-aaaa-7d5e-8f60-718293a4b5c6",
      level: 8,
      joined_at: "2024-01-01T00:00:00Z",
      user: {
        id: 7,
        uuid: "0190f1a2-3b4c-7d5e-8f60-718293a4b5c6",
        email: "ann@example.com",
        first_name: "Ann",
        last_name: "Lee",
        is_email_verified: true,
      },
    });
    expect(member.user.id).toBe(7);
    expect(member.user.email).toBe("ann@example.com");
  });
});
