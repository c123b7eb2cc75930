import { describe, expect, it } from "vitest";
import {
  innermostSource,
  insightDisplayName,
  isAlertable,
  onlyAbsoluteAllowed,
  seriesLetter,
  seriesOf,
} from "../../../src/posthog/insight-query.js";

/** A trends insight as PostHog stores it: an InsightVizNode wrapping a TrendsQuery. */
function trendsInsight(
  source: Record<string, unknown>,
  names: { name?: string | null; derived_name?: string | null } = {},
) {
  return {
    name: "Signups",
    derived_name: null,
    ...names,
    query: {
      kind: "InsightVizNode",
      source: {
        kind: "TrendsQuery",
        dateRange: { date_from: "-7d" },
        interval: "day",
        properties: [],
        filterTestAccounts: true,
        series: [],
        ...source,
      },
    },
  };
}

const pageviews = { kind: "EventsNode", event: "$pageview", name: "$pageview", math: "total" };
const signupsDau = { kind: "EventsNode", event: "signed_up", name: "signed_up", math: "dau" };

describe("innermostSource", () => {
  it("unwraps nested sources", () => {
    const query = {
      kind: "InsightVizNode",
      source: { kind: "Wrapper", source: { kind: "TrendsQuery", series: [] } },
    };
    expect(innermostSource(query)?.kind).toBe("TrendsQuery");
  });

  it("returns the node itself when there is no source, and null for non-objects", () => {
    expect(innermostSource({ kind: "TrendsQuery" })?.kind).toBe("TrendsQuery");
    expect(innermostSource(null)).toBeNull();
    expect(innermostSource("TrendsQuery")).toBeNull();
    expect(innermostSource([{ kind: "TrendsQuery" }])).toBeNull();
  });
});

describe("isAlertable", () => {
  it("accepts a TrendsQuery inside an InsightVizNode", () => {
    expect(isAlertable(trendsInsight({ series: [pageviews] }))).toBe(true);
  });

  it("accepts a bare TrendsQuery", () => {
    expect(isAlertable({ query: { kind: "TrendsQuery", series: [pageviews] } })).toBe(true);
  });

  it.each([
    [
      "funnels",
      { kind: "InsightVizNode", source: { kind: "FunnelsQuery", series: [pageviews, signupsDau] } },
    ],
    ["retention", { kind: "InsightVizNode", source: { kind: "RetentionQuery", retentionFilter: {} } }],
    ["SQL", { kind: "DataVisualizationNode", source: { kind: "HogQLQuery", query: "select 1" } }],
    ["no query", null],
    ["garbage", "TrendsQuery"],
  ])("rejects %s", (_label, query) => {
    expect(isAlertable({ name: "x", query })).toBe(false);
  });
});

describe("seriesOf", () => {
  it("labels events with their aggregation", () => {
    const insight = trendsInsight({
      series: [
        pageviews,
        signupsDau,
        { kind: "EventsNode", event: null, name: "All events", math: "total" },
        { kind: "EventsNode", event: null, math: "weekly_active" },
        { kind: "EventsNode", event: "purchase", math: "sum", math_property: "revenue" },
        { kind: "ActionsNode", id: 12, name: "Clicked checkout", math: "unique_session" },
        { kind: "ActionsNode", id: 13 },
      ],
    });
    expect(seriesOf(insight)).toEqual([
      { index: 0, label: "Pageview (count)" },
      { index: 1, label: "signed_up (unique users)" },
      { index: 2, label: "All events (count)" },
      { index: 3, label: "All events (weekly active users)" },
      { index: 4, label: "purchase (sum of revenue)" },
      { index: 5, label: "Clicked checkout (unique sessions)" },
      { index: 6, label: "Action 13 (count)" },
    ]);
  });

  it("prefers custom names", () => {
    const insight = trendsInsight({ series: [{ ...pageviews, custom_name: "Landing views" }] });
    expect(seriesOf(insight)).toEqual([{ index: 0, label: "Landing views" }]);
  });

  it("uses formula nodes instead of series when present", () => {
    const insight = trendsInsight({
      series: [pageviews, signupsDau],
      trendsFilter: {
        display: "ActionsLineGraph",
        formulaNodes: [{ formula: "B / A" }, { formula: "A - B", custom_name: "Non-signups" }],
      },
    });
    expect(seriesOf(insight)).toEqual([
      { index: 0, label: "Formula A (B / A)" },
      { index: 1, label: "Non-signups" },
    ]);
  });

  it("falls back to series when formulaNodes is empty", () => {
    const insight = trendsInsight({ series: [pageviews], trendsFilter: { formulaNodes: [] } });
    expect(seriesOf(insight)).toEqual([{ index: 0, label: "Pageview (count)" }]);
  });

  it("reads the older formula fields", () => {
    expect(
      seriesOf(trendsInsight({ series: [pageviews, signupsDau], trendsFilter: { formula: "A + B" } })),
    ).toEqual([{ index: 0, label: "Formula A (A + B)" }]);
    expect(
      seriesOf(
        trendsInsight({ series: [pageviews, signupsDau], trendsFilter: { formulas: ["A / B", "B / A"] } }),
      ),
    ).toHaveLength(2);
  });

  it("returns nothing for insights that are not trends", () => {
    expect(
      seriesOf({ query: { kind: "InsightVizNode", source: { kind: "FunnelsQuery", series: [pageviews] } } }),
    ).toEqual([]);
    expect(seriesOf({ query: { kind: "InsightVizNode", source: { kind: "TrendsQuery" } } })).toEqual([]);
  });
});

describe("seriesLetter", () => {
  it("letters like PostHog", () => {
    expect([0, 1, 25, 26, 27].map(seriesLetter)).toEqual(["A", "B", "Z", "AA", "AB"]);
  });
});

describe("onlyAbsoluteAllowed", () => {
  it.each(["BoldNumber", "ActionsPie", "ActionsDonut", "ActionsBarValue", "ActionsTable", "WorldMap"])(
    "is true for %s",
    (display) => {
      expect(onlyAbsoluteAllowed(trendsInsight({ series: [pageviews], trendsFilter: { display } }))).toBe(
        true,
      );
    },
  );

  it.each(["ActionsLineGraph", "ActionsBar", "ActionsAreaGraph", "ActionsLineGraphCumulative"])(
    "is false for %s",
    (display) => {
      expect(onlyAbsoluteAllowed(trendsInsight({ series: [pageviews], trendsFilter: { display } }))).toBe(
        false,
      );
    },
  );

  it("is false without a display", () => {
    expect(onlyAbsoluteAllowed(trendsInsight({ series: [pageviews] }))).toBe(false);
  });
});

describe("insightDisplayName", () => {
  it("uses name, then derived name, then a placeholder", () => {
    expect(insightDisplayName({ name: "Signups", derived_name: "signed_up count" })).toBe("Signups");
    expect(insightDisplayName({ name: "", derived_name: "signed_up count" })).toBe("signed_up count");
    expect(insightDisplayName({ name: null, derived_name: null })).toBe("Untitled insight");
    expect(insightDisplayName({})).toBe("Untitled insight");
  });
});
