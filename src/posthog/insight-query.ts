/**
 * Reading an insight's `query` (PostHog's node tree, e.g. an InsightVizNode
 * wrapping a TrendsQuery). The tree is untyped JSON that changes between
 * PostHog versions, so every function here checks shapes as it goes and
 * never throws.
 */

/** Anything with a `query` and names, such as a parsed `Insight`. */
export interface InsightLike {
  name?: string | null;
  derived_name?: string | null;
  query?: unknown;
}

export interface SeriesOption {
  /** The value for the alert's `config.series_index`. */
  index: number;
  label: string;
}

/** Displays where PostHog allows only `absolute_value` conditions. */
export const ABSOLUTE_ONLY_DISPLAYS: readonly string[] = [
  "BoldNumber",
  "ActionsPie",
  "ActionsDonut",
  "ActionsBarValue",
  "ActionsTable",
  "WorldMap",
];

type Json = Record<string, unknown>;

function asObject(value: unknown): Json | null {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : null;
}

function nonEmptyString(value: unknown): string | null {
  return typeof value === "string" && value.trim() !== "" ? value.trim() : null;
}

/** Unwraps `.source` repeatedly (InsightVizNode → TrendsQuery, DataVisualizationNode → HogQLQuery, …). */
export function innermostSource(query: unknown): Json | null {
  let node = asObject(query);
  // Depth guard: real trees are two or three levels deep.
  for (let depth = 0; node && depth < 20; depth++) {
    const source = asObject(node.source);
    if (!source) return node;
    node = source;
  }
  return node;
}

function trendsQueryOf(insight: InsightLike): Json | null {
  const source = innermostSource(insight.query);
  return source && source.kind === "TrendsQuery" ? source : null;
}

/**
 * Whether the bot can put an alert on this insight: the innermost query kind
 * must be `TrendsQuery`, as on every PostHog version that has alerts.
 *
 * Newer servers also accept HogQLQuery, FunnelsQuery and MetricsQuery
 * (some behind feature flags), but their alert configs are not the
 * `TrendsAlertConfig` with a series index that this bot creates, so they are
 * deliberately reported as not alertable. Legacy insights that have only
 * `filters` and no `query` are also reported as not alertable.
 */
export function isAlertable(insight: InsightLike): boolean {
  return trendsQueryOf(insight) !== null;
}

const EVENT_LABELS: Record<string, string> = {
  $pageview: "Pageview",
  $pageleave: "Pageleave",
  $autocapture: "Autocapture",
  $screen: "Screen",
  $identify: "Identify",
  $exception: "Exception",
  $rageclick: "Rageclick",
};

const MATH_LABELS: Record<string, string> = {
  total: "count",
  dau: "unique users",
  weekly_active: "weekly active users",
  monthly_active: "monthly active users",
  unique_session: "unique sessions",
  unique_group: "unique groups",
  first_time_for_user: "first time for user",
  hogql: "SQL expression",
};

const PROPERTY_MATH: Record<string, string> = {
  sum: "sum",
  avg: "average",
  min: "minimum",
  max: "maximum",
  median: "median",
  p75: "75th percentile",
  p90: "90th percentile",
  p95: "95th percentile",
  p99: "99th percentile",
};

function mathLabel(node: Json): string {
  const math = nonEmptyString(node.math) ?? "total";
  const property = nonEmptyString(node.math_property);
  const propertyMath = PROPERTY_MATH[math];
  if (propertyMath) return property ? `${propertyMath} of ${property}` : propertyMath;
  if (math.startsWith("count_per_actor") || math.endsWith("_count_per_actor")) return "count per user";
  return MATH_LABELS[math] ?? math.replace(/_/g, " ");
}

function seriesName(node: Json): string {
  const custom = nonEmptyString(node.custom_name);
  if (custom) return custom;
  const name = nonEmptyString(node.name);
  const event = nonEmptyString(node.event);
  const base = name ?? event;
  if (base) return EVENT_LABELS[base] ?? base;
  if (node.kind === "ActionsNode" && (typeof node.id === "number" || typeof node.id === "string")) {
    return `Action ${node.id}`;
  }
  const table = nonEmptyString(node.table_name);
  if (table) return table;
  return "All events";
}

/** "A", "B", …, "Z", "AA", … as PostHog letters series and formulas. */
export function seriesLetter(index: number): string {
  let n = index;
  let letters = "";
  do {
    letters = String.fromCharCode(65 + (n % 26)) + letters;
    n = Math.floor(n / 26) - 1;
  } while (n >= 0);
  return letters;
}

function formulasOf(trendsFilter: Json | null): Array<{ formula: string | null; customName: string | null }> {
  if (!trendsFilter) return [];
  if (Array.isArray(trendsFilter.formulaNodes) && trendsFilter.formulaNodes.length > 0) {
    return trendsFilter.formulaNodes.map((node) => {
      const o = asObject(node);
      return { formula: nonEmptyString(o?.formula), customName: nonEmptyString(o?.custom_name) };
    });
  }
  // Older query versions: `formulas: string[]`, or a single `formula` string.
  if (Array.isArray(trendsFilter.formulas)) {
    const formulas = trendsFilter.formulas.map(nonEmptyString).filter((f): f is string => f !== null);
    if (formulas.length > 0) return formulas.map((formula) => ({ formula, customName: null }));
  }
  const single = nonEmptyString(trendsFilter.formula);
  return single ? [{ formula: single, customName: null }] : [];
}

/**
 * The series an alert can watch, in `series_index` order. When the insight
 * has formulas, only the formula results are series (PostHog counts
 * `formulaNodes`); otherwise each entry of `series` is one.
 *
 * Labels: a formula is its custom name or "Formula A (A / B)"; a series is
 * its custom name, or its event/action name with the aggregation, e.g.
 * "Pageview (count)", "signed_up (unique users)", "All events (count)".
 */
export function seriesOf(insight: InsightLike): SeriesOption[] {
  const source = trendsQueryOf(insight);
  if (!source) return [];
  const formulas = formulasOf(asObject(source.trendsFilter));
  if (formulas.length > 0) {
    return formulas.map((f, index) => ({
      index,
      label: f.customName ?? `Formula ${seriesLetter(index)}${f.formula ? ` (${f.formula})` : ""}`,
    }));
  }
  const series = Array.isArray(source.series) ? source.series : [];
  return series.map((entry, index) => {
    const node = asObject(entry) ?? {};
    const custom = nonEmptyString(node.custom_name);
    return { index, label: custom ?? `${seriesName(node)} (${mathLabel(node)})` };
  });
}

/** The insight's chart display, from `trendsFilter.display`, if any. */
export function displayOf(insight: InsightLike): string | null {
  const source = trendsQueryOf(insight);
  return nonEmptyString(asObject(source?.trendsFilter)?.display);
}

/**
 * Whether only `absolute_value` conditions are allowed: PostHog refuses
 * relative increase/decrease alerts on single-value and non-time-series
 * displays (BoldNumber, pie, donut, bar value, table, world map).
 */
export function onlyAbsoluteAllowed(insight: InsightLike): boolean {
  const display = displayOf(insight);
  return display !== null && ABSOLUTE_ONLY_DISPLAYS.includes(display);
}

/** The name PostHog shows for an insight. */
export function insightDisplayName(insight: InsightLike): string {
  return nonEmptyString(insight.name) ?? nonEmptyString(insight.derived_name) ?? "Untitled insight";
}
