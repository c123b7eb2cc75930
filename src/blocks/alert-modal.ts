import { z } from "zod";
import { alertUrl, conditionWords, frequencyWords, type PostHogLinks } from "../alerts/describe.js";
import { shortPrint } from "../alerts/print.js";
import type { SeriesOption } from "../posthog/insight-query.js";
import { seriesLetter } from "../posthog/insight-query.js";
import {
  type Alert,
  type AlertCreate,
  type AlertPatch,
  CALCULATION_INTERVALS,
  type CalculationInterval,
  CONDITION_TYPES,
  type ConditionType,
  type Member,
  THRESHOLD_TYPES,
  type ThresholdType,
} from "../posthog/schemas.js";
import { alertIdSchema, jsonCodec } from "../slack/codecs.js";
import {
  ACTION_CONDITION,
  ACTION_INSIGHT,
  ACTION_INTERVAL,
  ACTION_LOWER,
  ACTION_NAME,
  ACTION_OPTIONS,
  ACTION_SERIES,
  ACTION_SUBSCRIBERS,
  ACTION_THRESHOLD_TYPE,
  ACTION_UPPER,
  BLOCK_CONDITION,
  BLOCK_INSIGHT,
  BLOCK_INTERVAL,
  BLOCK_LOWER,
  BLOCK_NAME,
  BLOCK_OPTIONS,
  BLOCK_SERIES,
  BLOCK_SUBSCRIBERS,
  BLOCK_THRESHOLD_TYPE,
  BLOCK_UPPER,
  VIEW_ALERT_FORM,
} from "../slack/ids.js";
import { LIMITS } from "../slack/limits.js";
import { link, safeMrkdwn, safePlain } from "../slack/mrkdwn.js";
import { type Block, context, plain, section } from "./common.js";
import { stateFromView } from "./view-state.js";

/**
 * The create / edit alert modal: pure builders for every view the flow shows
 * (loading, form, saving, success, error), reading the submitted
 * `view.state.values`, and the local validation that runs before PostHog is
 * called. Nothing here talks to Slack or PostHog.
 */

export const NAME_MAX = 255;
/** Longest number a person may type into a bound field. */
export const BOUND_INPUT_MAX = 40;
/** Checkbox values in the options block. */
export const OPTION_CHECK_ONGOING = "check_ongoing_interval";
export const OPTION_SKIP_WEEKEND = "skip_weekend";
export const OPTION_ENABLED = "enabled";

export type FormMode = "create" | "edit";

// ── private_metadata ────────────────────────────────────────────────────

/** The alert's fields the form saves: those PostHog's PATCH may be sent. */
export const FORM_FIELDS = [
  "insight",
  "name",
  "subscribed_users",
  "threshold",
  "condition",
  "config",
  "enabled",
  "calculation_interval",
  "skip_weekend",
] as const;
export type FormField = (typeof FORM_FIELDS)[number];

/**
 * What the form carries between Slack round trips. Identifiers only, plus the
 * three facts about the chosen insight that local validation needs (so a
 * submission is checked without calling PostHog inside the 3 s ack).
 */
export const alertFormMetaSchema = z
  .object({
    /** create or edit */
    m: z.enum(["create", "edit"]),
    /** the alert being edited */
    a: alertIdSchema.optional(),
    /** channel to post a confirmation to (optional) */
    c: z
      .string()
      .regex(/^[CGD][A-Z0-9]{2,}$/)
      .optional(),
    /** the insight the series choices were built for */
    i: z.number().int().positive().optional(),
    /** how many series that insight has */
    n: z.number().int().min(0).max(10_000).optional(),
    /** that insight allows only absolute_value conditions */
    o: z.boolean().optional(),
    /** that insight can have alerts */
    k: z.boolean().optional(),
    /** the insight the edited alert is on: PostHog holds it there, so it is never refused here */
    h: z.number().int().positive().optional(),
    /** an interval the edited alert has that the form does not list (e.g. every_15_minutes) */
    x: z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,39}$/)
      .optional(),
    /**
     * Edit: a print of each field as the form opened (see formPrints),
     * so a save sends only what this person changed, not what others changed meanwhile.
     */
    b: z.record(z.enum(FORM_FIELDS), z.string().regex(/^[0-9a-z]{1,8}$/)).optional(),
  })
  .refine((meta) => (meta.m === "edit") === (meta.a !== undefined), "edit needs an alert id, create none");
export type AlertFormMeta = z.infer<typeof alertFormMetaSchema>;
export const alertFormMetaCodec = jsonCodec(alertFormMetaSchema, LIMITS.privateMetadata, {
  checkOnEncode: true,
});

/** The facts about an insight that validation uses. */
export interface InsightFacts {
  id: number;
  seriesCount: number;
  absoluteOnly: boolean;
  alertable: boolean;
}

/** An insight as the form shows it: its name, series choices and restrictions. */
export interface FormInsight extends InsightFacts {
  name: string;
  series: SeriesOption[];
}

export function factsFromMeta(meta: AlertFormMeta): InsightFacts | null {
  if (meta.i === undefined) return null;
  return { id: meta.i, seriesCount: meta.n ?? 0, absoluteOnly: meta.o ?? false, alertable: meta.k ?? true };
}

/** Series choices for an insight whose series names could not be read again: "Series A", "Series B", … */
export function genericSeries(count: number): SeriesOption[] {
  return Array.from({ length: Math.min(count, LIMITS.selectOptions) }, (_, index) => ({
    index,
    label: `Series ${seriesLetter(index)}`,
  }));
}

// ── Form values ─────────────────────────────────────────────────────────

export interface PickedOption {
  id: number;
  label: string;
}

/** What the person entered (or will see prefilled), as typed: bounds stay text until validated. */
export interface AlertFormValues {
  insight: PickedOption | null;
  name: string;
  seriesIndex: number | null;
  condition: string | null;
  thresholdType: string | null;
  lower: string;
  upper: string;
  interval: string | null;
  checkOngoingInterval: boolean;
  skipWeekend: boolean;
  enabled: boolean;
  subscribers: PickedOption[];
  /** A type-ahead's "could not search" entry was picked as a subscriber. */
  pickedMenuNotice?: true;
}

/**
 * The value of the one entry a type-ahead menu shows when it could not search
 * (its text says why). It is no PostHog id, so no form accepts it.
 */
export const MENU_NOTICE_VALUE = "menu_notice";

export function menuNoticeOption(text: string): SlackOption {
  return slackOption(text, MENU_NOTICE_VALUE);
}

export function defaultFormValues(): AlertFormValues {
  return {
    insight: null,
    name: "",
    seriesIndex: null,
    condition: "absolute_value",
    thresholdType: "absolute",
    lower: "",
    upper: "",
    interval: "daily",
    checkOngoingInterval: false,
    skipWeekend: false,
    enabled: true,
    subscribers: [],
  };
}

/** "Ann Lee (ann@example.com)", or just the email. */
export function memberLabel(member: Member): string {
  const name = [member.user.first_name, member.user.last_name]
    .filter((p): p is string => typeof p === "string" && p.trim() !== "")
    .join(" ")
    .trim();
  return name ? `${name} (${member.user.email})` : member.user.email;
}

/** The edit form's starting values, from the alert as PostHog has it. */
export function formValuesFromAlert(
  alert: Alert,
  insightName: string,
  labels: ReadonlyMap<number, string>,
): AlertFormValues {
  const config = alert.threshold?.configuration;
  const percentage = config?.type === "percentage";
  return {
    insight: { id: alert.insight, label: insightName },
    name: alert.name,
    seriesIndex: alert.config?.series_index ?? 0,
    condition: alert.condition?.type ?? "absolute_value",
    thresholdType: config?.type ?? "absolute",
    lower: boundInputText(config?.bounds.lower ?? null, percentage),
    upper: boundInputText(config?.bounds.upper ?? null, percentage),
    interval: alert.calculation_interval,
    checkOngoingInterval: alert.config?.check_ongoing_interval ?? false,
    skipWeekend: alert.skip_weekend,
    enabled: alert.enabled,
    subscribers: alert.subscribed_users.map((id) => ({ id, label: labels.get(id) ?? `PostHog user ${id}` })),
  };
}

/** The shape of `view.state.values` (a subset of Bolt's ViewStateValue). */
export interface StateValue {
  type?: string;
  value?: string | null;
  selected_option?: { text?: { text?: string }; value?: string } | null;
  selected_options?: Array<{ text?: { text?: string }; value?: string }>;
}
export type StateValues = Record<string, Record<string, StateValue | undefined> | undefined>;

/** An option whose value is a PostHog id: a positive integer (ids start at 1), else null. */
export function pickedOption(
  option: { text?: { text?: string }; value?: string } | null | undefined,
): PickedOption | null {
  const value = option?.value;
  if (typeof value !== "string" || !/^[1-9]\d{0,14}$/.test(value)) return null;
  const id = Number(value);
  return { id, label: option?.text?.text ?? value };
}

/** Reads the submitted (or current) form out of `view.state.values`. Never throws. */
export function readAlertForm(values: StateValues): AlertFormValues {
  const get = (block: string, action: string) => values[block]?.[action];
  const selected = (block: string, action: string) => {
    const v = get(block, action)?.selected_option?.value;
    return typeof v === "string" && v !== "" ? v : null;
  };
  const text = (block: string, action: string) => {
    const v = get(block, action)?.value;
    return typeof v === "string" ? v : "";
  };
  const series = selected(BLOCK_SERIES, ACTION_SERIES);
  const checked = new Set(
    (get(BLOCK_OPTIONS, ACTION_OPTIONS)?.selected_options ?? []).map((o) => o.value).filter(Boolean),
  );
  const hasOptions = get(BLOCK_OPTIONS, ACTION_OPTIONS) !== undefined;
  const subscribers: PickedOption[] = [];
  let pickedMenuNotice = false;
  for (const o of get(BLOCK_SUBSCRIBERS, ACTION_SUBSCRIBERS)?.selected_options ?? []) {
    if (o.value === MENU_NOTICE_VALUE) pickedMenuNotice = true;
    const picked = pickedOption(o);
    if (picked && !subscribers.some((s) => s.id === picked.id)) subscribers.push(picked);
  }
  return {
    insight: pickedOption(get(BLOCK_INSIGHT, ACTION_INSIGHT)?.selected_option),
    name: text(BLOCK_NAME, ACTION_NAME),
    seriesIndex: series !== null && /^\d{1,6}$/.test(series) ? Number(series) : null,
    condition: selected(BLOCK_CONDITION, ACTION_CONDITION),
    thresholdType: selected(BLOCK_THRESHOLD_TYPE, ACTION_THRESHOLD_TYPE),
    lower: text(BLOCK_LOWER, ACTION_LOWER),
    upper: text(BLOCK_UPPER, ACTION_UPPER),
    interval: selected(BLOCK_INTERVAL, ACTION_INTERVAL),
    checkOngoingInterval: checked.has(OPTION_CHECK_ONGOING),
    skipWeekend: checked.has(OPTION_SKIP_WEEKEND),
    // Without the options block at all, keep the safe default rather than silently disabling.
    enabled: hasOptions ? checked.has(OPTION_ENABLED) : true,
    subscribers,
    ...(pickedMenuNotice ? { pickedMenuNotice: true as const } : {}),
  };
}

// ── Numbers ─────────────────────────────────────────────────────────────

/**
 * The exact decimal text of `value × 10^places`, worked on the digits of the
 * number's shortest form so no float arithmetic is involved: 0.29 with 2
 * places gives "29" (where `0.29 * 100` is 28.999999999999996), and reading
 * that text back with the inverse shift gives exactly 0.29 again.
 */
export function shiftedDecimalText(value: number, places: number): string {
  if (!Number.isFinite(value)) return String(value);
  const [mantissa = "0", exponent = "0"] = String(value).split("e");
  const negative = mantissa.startsWith("-");
  const [whole = "", fraction = ""] = mantissa.replace("-", "").split(".");
  let digits = whole + fraction;
  let point = whole.length + Number(exponent) + places;
  const leading = /^0*/.exec(digits)?.[0].length ?? 0;
  digits = digits.slice(leading).replace(/0+$/, "");
  point -= leading;
  if (digits === "") return "0";
  let text: string;
  if (point > 21 || point < -5) {
    text = `${digits[0]}${digits.length > 1 ? `.${digits.slice(1)}` : ""}e${point - 1}`;
  } else if (point <= 0) {
    text = `0.${"0".repeat(-point)}${digits}`;
  } else if (point >= digits.length) {
    text = digits + "0".repeat(point - digits.length);
  } else {
    text = `${digits.slice(0, point)}.${digits.slice(point)}`;
  }
  return negative ? `-${text}` : text;
}

/** How a stored bound is shown in its input: a fraction threshold as a percent number. */
export function boundInputText(value: number | null, percentage: boolean): string {
  if (value === null || !Number.isFinite(value)) return "";
  return shiftedDecimalText(value, percentage ? 2 : 0);
}

const NUMBER_TEXT = /^[+-]?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$/i;
const DECIMAL_COMMA = /^[+-]?\d+,\d{1,2}$|^[+-]?\d+,\d{4,}$/;

export type ParsedBound = { ok: true; value: number | null } | { ok: false; error: string };

/**
 * Reads a bound as typed: "100", "1,000", "-2.5", "1e3", "+.5", and for
 * percentage thresholds an optional "%" ("20%"). Empty means no bound.
 * Percentages are returned as fractions (20 → 0.2).
 */
export function parseBound(raw: string, percentage: boolean): ParsedBound {
  let text = raw.trim().replace(/\u2212/g, "-");
  if (text === "") return { ok: true, value: null };
  if (text.length > BOUND_INPUT_MAX) return { ok: false, error: "That number is too long." };
  let hadPercent = false;
  if (text.endsWith("%")) {
    hadPercent = true;
    text = text.slice(0, -1).trim();
  }
  if (hadPercent && !percentage) {
    return {
      ok: false,
      error: "Percent signs need the “Percentage” threshold type; enter a plain number instead.",
    };
  }
  if (DECIMAL_COMMA.test(text)) {
    return { ok: false, error: "Use a dot for decimals (1.5) and commas only between thousands (1,000)." };
  }
  if (!NUMBER_TEXT.test(text)) {
    return { ok: false, error: `Enter a number, e.g. ${percentage ? "20 for 20%" : "100 or 2.5"}.` };
  }
  // A percentage moves the decimal point in the text, so "14.1" becomes exactly 0.141.
  const [mantissa = "", exponent = "0"] = text.replace(/,/g, "").toLowerCase().split("e");
  const value = Number(`${mantissa}e${Number(exponent) - (percentage ? 2 : 0)}`);
  if (!Number.isFinite(value)) return { ok: false, error: "That number is too large." };
  return { ok: true, value: Object.is(value, -0) ? 0 : value };
}

// ── Validation ──────────────────────────────────────────────────────────

export type FormErrors = Record<string, string>;
export type FormValidation = { ok: true; body: AlertCreate } | { ok: false; errors: FormErrors };

export const FORM_ERRORS = {
  noInsight: "Choose an insight.",
  menuNotice: "That entry only said PostHog could not be searched; remove it and pick people again.",
  notAlertable: "Alerts work only on trends insights; choose another insight.",
  noName: "Give the alert a name.",
  nameTooLong: (n: number) => `Use at most ${NAME_MAX} characters (this name has ${n}).`,
  noCondition: "Choose when the alert fires.",
  absoluteOnly:
    "This insight's chart type shows one value per series, so only “Absolute value” alerts work on it.",
  noThresholdType: "Choose a threshold type.",
  absoluteNeedsNumber:
    "“Absolute value” alerts need an absolute threshold: choose “Absolute number”, or a relative condition for percentage changes.",
  noBound: "Enter a lower bound, an upper bound, or both.",
  lowerAboveUpper: "The lower bound must not be above the upper bound.",
  noInterval: "Choose how often PostHog checks.",
  ongoingNeedsUpper:
    "Checking the current, unfinished interval needs an upper bound with this condition: PostHog only watches an interval still filling up for a value rising past one. Add an upper bound, or untick this.",
  series: (count: number) =>
    `This insight has ${count} series; choose one of them (the list may have changed, pick it again).`,
} as const;

const isCondition = (v: string | null): v is ConditionType => CONDITION_TYPES.includes(v as ConditionType);
const isThresholdType = (v: string | null): v is ThresholdType =>
  THRESHOLD_TYPES.includes(v as ThresholdType);
const isInterval = (v: string | null): v is CalculationInterval =>
  CALCULATION_INTERVALS.includes(v as CalculationInterval);

/**
 * Checks the form before anything is sent to PostHog and builds the POST body.
 * Every problem found is returned at once, keyed by the input block it
 * belongs to. `insight` holds what is known about the chosen insight; when it
 * describes a different insight (or is null), the series and chart-type rules
 * are left to PostHog.
 */
export function validateAlertForm(
  values: AlertFormValues,
  insight: InsightFacts | null,
  options: { extraInterval?: string | undefined } = {},
): FormValidation {
  const errors: FormErrors = {};
  const facts = insight && values.insight && insight.id === values.insight.id ? insight : null;

  if (!values.insight) errors[BLOCK_INSIGHT] = FORM_ERRORS.noInsight;
  else if (facts && !facts.alertable) errors[BLOCK_INSIGHT] = FORM_ERRORS.notAlertable;
  if (values.pickedMenuNotice) errors[BLOCK_SUBSCRIBERS] = FORM_ERRORS.menuNotice;

  const name = values.name.trim();
  if (name === "") errors[BLOCK_NAME] = FORM_ERRORS.noName;
  else if (name.length > NAME_MAX) errors[BLOCK_NAME] = FORM_ERRORS.nameTooLong(name.length);

  const condition = values.condition;
  if (!isCondition(condition)) errors[BLOCK_CONDITION] = FORM_ERRORS.noCondition;
  else if (facts?.absoluteOnly && condition !== "absolute_value")
    errors[BLOCK_CONDITION] = FORM_ERRORS.absoluteOnly;

  const thresholdType = values.thresholdType;
  if (!isThresholdType(thresholdType)) errors[BLOCK_THRESHOLD_TYPE] = FORM_ERRORS.noThresholdType;
  else if (condition === "absolute_value" && thresholdType === "percentage") {
    errors[BLOCK_THRESHOLD_TYPE] = FORM_ERRORS.absoluteNeedsNumber;
  }

  const percentage = thresholdType === "percentage";
  const lower = parseBound(values.lower, percentage);
  const upper = parseBound(values.upper, percentage);
  if (!lower.ok) errors[BLOCK_LOWER] = lower.error;
  if (!upper.ok) errors[BLOCK_UPPER] = upper.error;
  if (lower.ok && upper.ok) {
    if (lower.value === null && upper.value === null) errors[BLOCK_LOWER] = FORM_ERRORS.noBound;
    else if (lower.value !== null && upper.value !== null && lower.value > upper.value) {
      errors[BLOCK_LOWER] = FORM_ERRORS.lowerAboveUpper;
    }
  }

  // PostHog refuses this (newer servers) or errs on every check (older ones).
  if (
    values.checkOngoingInterval &&
    (condition === "absolute_value" || condition === "relative_increase") &&
    upper.ok &&
    upper.value === null
  ) {
    errors[BLOCK_OPTIONS] = FORM_ERRORS.ongoingNeedsUpper;
  }

  const interval = values.interval;
  const keptInterval = interval !== null && interval === options.extraInterval;
  if (!isInterval(interval) && !keptInterval) errors[BLOCK_INTERVAL] = FORM_ERRORS.noInterval;

  let seriesIndex = values.seriesIndex ?? 0;
  if (facts && facts.seriesCount > 0) {
    if (values.seriesIndex === null && facts.seriesCount === 1) seriesIndex = 0;
    else if (values.seriesIndex === null || seriesIndex < 0 || seriesIndex >= facts.seriesCount) {
      errors[BLOCK_SERIES] = FORM_ERRORS.series(facts.seriesCount);
    }
  }

  if (Object.keys(errors).length > 0 || !values.insight || !lower.ok || !upper.ok)
    return { ok: false, errors };
  return {
    ok: true,
    body: {
      insight: values.insight.id,
      name,
      subscribed_users: [...new Set(values.subscribers.map((s) => s.id))],
      threshold: {
        configuration: {
          type: thresholdType as ThresholdType,
          bounds: { lower: lower.value, upper: upper.value },
        },
      },
      condition: { type: condition as ConditionType },
      config: {
        type: "TrendsAlertConfig",
        series_index: seriesIndex,
        check_ongoing_interval: values.checkOngoingInterval,
      },
      enabled: values.enabled,
      // An interval the form does not list is only accepted when it is the edited alert's own
      // (a newer PostHog's every_15_minutes, say); PostHog validates the choice again.
      calculation_interval: interval as CalculationInterval,
      skip_weekend: values.skipWeekend,
    },
  };
}

/**
 * Slack refuses an `errors` answer that names a block the view does not
 * have. Errors for missing blocks move to `fallback` (joined if needed).
 */
export function placeErrors(
  errors: FormErrors,
  present: Iterable<string>,
  fallback: string = BLOCK_INSIGHT,
): FormErrors {
  const have = new Set(present);
  const placed: FormErrors = {};
  const moved: string[] = [];
  for (const [block, message] of Object.entries(errors)) {
    if (have.has(block)) placed[block] = message;
    else moved.push(message);
  }
  if (moved.length > 0) {
    placed[fallback] = [placed[fallback], ...moved].filter(Boolean).join(" ").slice(0, LIMITS.fieldText);
  }
  return placed;
}

// ── Edit: what changed ─────────────────────────────────────────────────

const sameNumber = (a: number | null | undefined, b: number | null | undefined) =>
  (a ?? null) === (b ?? null);

/**
 * A print of each field as the form holds it: the edit form keeps the prints of its fields as
 * it opened, and at submission a field whose print is unchanged was not touched by this person,
 * so it is not sent (see alertChanges). Read from the form's values, not from what they would
 * save, so a form that cannot be saved as it opens (a rule PostHog added since) still has them;
 * a field the form cannot show (a series it could not list) reads the same both times.
 */
export function formPrints(values: AlertFormValues): Record<FormField, string> {
  const users = [...new Set(values.subscribers.map((s) => s.id))].sort((a, b) => a - b);
  return {
    insight: shortPrint(String(values.insight?.id ?? "")),
    name: shortPrint(values.name.trim()),
    subscribed_users: shortPrint(users.join(",")),
    threshold: shortPrint(`${values.thresholdType ?? ""}|${values.lower.trim()}|${values.upper.trim()}`),
    condition: shortPrint(values.condition ?? ""),
    config: shortPrint(`${values.seriesIndex ?? ""}|${values.checkOngoingInterval}`),
    enabled: shortPrint(String(values.enabled)),
    calculation_interval: shortPrint(values.interval ?? ""),
    skip_weekend: shortPrint(String(values.skipWeekend)),
  };
}

/** The condition and series offered depend on the insight: another insight shows them anew. */
const SHOWN_PER_INSIGHT: readonly FormField[] = ["condition", "config"];

/**
 * What to PATCH to turn `alert` into `body`. With the prints of the form as it opened and as it
 * was submitted, only the fields this person changed are compared: a field someone else changed
 * meanwhile (in PostHog, or Disable on a notification) keeps their change. After a change of
 * insight, the condition and series the form showed for it count as chosen.
 */
export function alertChanges(
  alert: Alert,
  body: AlertCreate,
  prints?: { opened: Partial<Record<FormField, string>>; submitted: Record<FormField, string> },
): AlertPatch {
  const patch = allChanges(alert, body);
  if (!prints) return patch;
  const { opened, submitted } = prints;
  const newInsight = opened.insight !== submitted.insight;
  for (const field of FORM_FIELDS) {
    if (newInsight && SHOWN_PER_INSIGHT.includes(field)) continue;
    if (opened[field] === submitted[field]) delete patch[field];
  }
  return patch;
}

/** The fields of `body` that differ from the alert, so an untouched threshold keeps its state. */
function allChanges(alert: Alert, body: AlertCreate): AlertPatch {
  const patch: AlertPatch = {};
  if (alert.insight !== body.insight) patch.insight = body.insight;
  if (alert.name !== body.name) patch.name = body.name;
  const before = [...new Set(alert.subscribed_users)].sort((a, b) => a - b);
  const after = [...new Set(body.subscribed_users)].sort((a, b) => a - b);
  if (before.join(",") !== after.join(",")) patch.subscribed_users = body.subscribed_users;
  const t = alert.threshold?.configuration;
  const nt = body.threshold.configuration;
  if (
    !t ||
    t.type !== nt.type ||
    !sameNumber(t.bounds.lower, nt.bounds.lower) ||
    !sameNumber(t.bounds.upper, nt.bounds.upper)
  ) {
    patch.threshold = body.threshold;
  }
  if (alert.condition?.type !== body.condition.type) patch.condition = body.condition;
  if (
    !alert.config ||
    alert.config.type !== body.config.type ||
    alert.config.series_index !== body.config.series_index ||
    alert.config.check_ongoing_interval !== body.config.check_ongoing_interval
  ) {
    patch.config = body.config;
  }
  if (alert.enabled !== body.enabled) patch.enabled = body.enabled;
  if (alert.calculation_interval !== body.calculation_interval)
    patch.calculation_interval = body.calculation_interval;
  if (alert.skip_weekend !== body.skip_weekend) patch.skip_weekend = body.skip_weekend;
  return patch;
}

// ── PostHog errors back onto the form ──────────────────────────────────

/** The parts of a PostHog error the form uses (PostHogError satisfies it). */
export interface SaveFailure {
  code: string;
  attr?: string | null | undefined;
  detail?: string | undefined;
  /** PostHog's own error code, such as `does_not_exist`. */
  posthogCode?: string | undefined;
  userMessage: string;
  /** False when the failure came before the write was sent (reading the alert first). */
  sent?: boolean;
}

/** PostHog's "Invalid pk … object does not exist", said for the field it is about. */
const GONE: Record<string, string> = {
  [BLOCK_SUBSCRIBERS]: "One of these people is no longer an active PostHog user; remove them and try again.",
  [BLOCK_INSIGHT]: "That insight no longer exists in PostHog; choose another.",
};

/** Which input block a PostHog `attr` (nested fields joined with `__`) is about. */
export function blockForAttr(attr: string | null | undefined, detail?: string): string | null {
  if (attr) {
    const a = attr.toLowerCase();
    if (a === "insight" || a.startsWith("insight__")) return BLOCK_INSIGHT;
    if (a === "name") return BLOCK_NAME;
    if (a === "subscribed_users" || a.startsWith("subscribed_users__")) return BLOCK_SUBSCRIBERS;
    if (a.startsWith("threshold")) return a.endsWith("__type") ? BLOCK_THRESHOLD_TYPE : BLOCK_LOWER;
    if (a === "calculation_interval") return BLOCK_INTERVAL;
    if (a.startsWith("condition")) return BLOCK_CONDITION;
    if (a === "config__check_ongoing_interval") return BLOCK_OPTIONS;
    if (a.startsWith("config")) return BLOCK_SERIES;
    if (a === "enabled" || a === "skip_weekend") return BLOCK_OPTIONS;
    return null;
  }
  if (!detail) return null;
  if (/check_ongoing_interval/i.test(detail)) return BLOCK_OPTIONS;
  if (/series_index|series/i.test(detail)) return BLOCK_SERIES;
  if (/percentage threshold|absolute threshold/i.test(detail)) return BLOCK_THRESHOLD_TYPE;
  if (/invalid condition/i.test(detail)) return BLOCK_CONDITION;
  if (/threshold/i.test(detail)) return BLOCK_LOWER;
  return null;
}

/**
 * Turns a failed save into what the re-shown form says: a sentence at the
 * top (safe mrkdwn) and, when PostHog named a field the form has, the
 * reason under that field.
 */
export function failureOnForm(
  failure: SaveFailure,
  mode: FormMode,
  present: ReadonlySet<string>,
  /** "channel" when said in a channel because the form is gone: there is nothing to submit again. */
  where: "form" | "channel" = "form",
): { notice: string; fieldErrors: FormErrors } {
  const lost = failure.sent !== false && (failure.code === "timeout" || failure.code === "unavailable");
  const verb = mode === "create" ? "create" : "save";
  let notice = `⚠️ PostHog did not ${verb} the alert: ${safeMrkdwn(failure.userMessage, 600)}`;
  if (lost) {
    notice =
      mode === "create"
        ? `⚠️ ${safeMrkdwn(failure.userMessage, 600)} The alert may have been created anyway: check the alert list before creating it again.`
        : `⚠️ ${safeMrkdwn(failure.userMessage, 600)} Your changes may or may not have been saved; ${where === "form" ? "submit again to make sure" : "check the alert with `/alerts show` and edit it again if they are missing"}.`;
  }
  const fieldErrors: FormErrors = {};
  if (failure.code === "validation") {
    const block = blockForAttr(failure.attr, failure.detail);
    if (block && present.has(block)) {
      fieldErrors[block] =
        (failure.posthogCode === "does_not_exist" ? GONE[block] : undefined) ??
        failure.detail ??
        failure.userMessage;
      notice += `${/[.!?]$/.test(notice) ? "" : "."} See the highlighted field.`;
    }
  }
  return { notice, fieldErrors };
}

// ── Views ───────────────────────────────────────────────────────────────

export interface SlackOption {
  text: { type: "plain_text"; text: string; emoji: boolean };
  value: string;
  description?: { type: "plain_text"; text: string; emoji: boolean };
}

export function slackOption(text: string, value: string, description?: string): SlackOption {
  return {
    text: { type: "plain_text", text: safePlain(text, LIMITS.optionText), emoji: true },
    value: value.slice(0, LIMITS.optionValue),
    ...(description
      ? { description: { type: "plain_text", text: safePlain(description, LIMITS.optionText), emoji: true } }
      : {}),
  };
}

export type ModalView = {
  type: "modal";
  callback_id?: string;
  private_metadata?: string;
  title: ReturnType<typeof plain>;
  submit?: ReturnType<typeof plain>;
  close?: ReturnType<typeof plain>;
  blocks: Block[];
};

const TITLES: Record<FormMode, string> = { create: "New alert", edit: "Edit alert" };

const CONDITION_LABELS: Record<ConditionType, [string, string]> = {
  absolute_value: ["Absolute value", "The value itself is above or below a bound"],
  relative_increase: ["Relative increase", "The rise since the previous interval"],
  relative_decrease: ["Relative decrease", "The drop since the previous interval"],
};
const THRESHOLD_LABELS: Record<ThresholdType, string> = {
  absolute: "Absolute number",
  percentage: "Percentage (%)",
};
const INTERVAL_LABELS: Record<CalculationInterval, string> = {
  hourly: "Hourly",
  daily: "Daily",
  weekly: "Weekly",
  monthly: "Monthly",
};
const CHECK_LABELS: Array<[string, string, string]> = [
  [
    OPTION_CHECK_ONGOING,
    "Check the current, unfinished interval too",
    "Fire early instead of after the interval ends",
  ],
  [OPTION_SKIP_WEEKEND, "Skip weekends", "No checks on Saturday and Sunday (project time zone)"],
  [OPTION_ENABLED, "Enabled", "Untick to pause the alert"],
];

function modal(title: string, blocks: Block[], extra: Partial<ModalView> = {}): ModalView {
  return { type: "modal", title: plain(title, LIMITS.viewTitle), blocks, ...extra };
}

export function buildLoadingView(mode: FormMode): ModalView {
  return modal(
    TITLES[mode],
    [section(mode === "create" ? "⏳ Loading the form…" : "⏳ Loading the alert…")],
    {
      close: plain("Cancel", LIMITS.viewTitle),
    },
  );
}

export function buildSavingView(mode: FormMode, name: string): ModalView {
  const what = name.trim() ? `*${safeMrkdwn(name, 300)}*` : "the alert";
  return modal(TITLES[mode], [section(`⏳ Saving ${what} to PostHog…`)], {
    close: plain("Close", LIMITS.viewTitle),
  });
}

/** The form's place taken by a notice already in safe mrkdwn (no alert found, several found). */
export function buildFormNoticeView(mode: FormMode, mrkdwn: string): ModalView {
  return modal(TITLES[mode], [section(mrkdwn)], { close: plain("Close", LIMITS.viewTitle) });
}

/** A dead end that explains itself: the text is plain sentences (escaped here). */
export function buildFormErrorView(mode: FormMode, message: string): ModalView {
  return modal(TITLES[mode], [section(`⚠️ ${safeMrkdwn(message, 2000)}`)], {
    close: plain("Close", LIMITS.viewTitle),
  });
}

export function buildSuccessView(input: {
  mode: FormMode;
  alert: Alert;
  links: PostHogLinks;
  /** false when an edit changed nothing */
  changed: boolean;
}): ModalView {
  const { alert } = input;
  const name = `*${safeMrkdwn(alert.name || "(unnamed alert)", 300)}*`;
  const headline =
    input.mode === "create"
      ? `✅ Created ${name}.`
      : input.changed
        ? `✅ Saved your changes to ${name}.`
        : `Nothing changed: ${name} already had these settings.`;
  const facts = [
    `Fires when the value is ${safeMrkdwn(conditionWords(alert), 300)}`,
    `checked ${frequencyWords(alert.calculation_interval)}`,
    alert.enabled ? null : "currently disabled",
  ]
    .filter(Boolean)
    .join(", ");
  return modal(
    input.mode === "create" ? "Alert created" : "Alert saved",
    [section(headline), section(`${facts}.`), context(link(alertUrl(input.links, alert), "Open in PostHog"))],
    { close: plain("Done", LIMITS.viewTitle) },
  );
}

export interface AlertFormModel {
  /** mode, alert id, confirmation channel, kept interval; the insight facts are filled in from `insight` */
  meta: AlertFormMeta;
  values: AlertFormValues;
  /** the chosen insight as loaded, or null when none is chosen or it could not be read */
  insight: FormInsight | null;
  /** organization members for a static subscriber list; null means type-ahead search */
  members: PickedOption[] | null;
  /** safe mrkdwn shown at the top (a warning or PostHog's refusal) */
  notice?: string | undefined;
  /** plain-text problems shown under the named input blocks */
  fieldErrors?: FormErrors | undefined;
}

function input(
  blockId: string,
  label: string,
  element: Record<string, unknown>,
  opts: { optional?: boolean; hint?: string; error?: string | undefined; dispatch?: boolean } = {},
): Block {
  const hint = opts.error ? `⚠️ ${opts.error}` : opts.hint;
  return {
    type: "input",
    block_id: blockId,
    ...(opts.dispatch ? { dispatch_action: true } : {}),
    optional: opts.optional ?? false,
    label: plain(label, 2000),
    element,
    ...(hint ? { hint: plain(hint, 2000) } : {}),
  };
}

/** The metadata with the chosen insight's facts, as the view will carry it. */
export function formMeta(model: Pick<AlertFormModel, "meta" | "insight">): AlertFormMeta {
  const { i: _i, n: _n, o: _o, k: _k, ...base } = model.meta;
  const insight = model.insight;
  if (!insight) return base;
  return {
    ...base,
    i: insight.id,
    n: insight.series.length,
    o: insight.absoluteOnly,
    k: insight.alertable || insight.id === base.h,
  };
}

/** Subscribers: a static list when everyone fits in one menu, otherwise a type-ahead search. */
function subscribersElement(
  members: PickedOption[] | null,
  selected: PickedOption[],
): Record<string, unknown> {
  const everyone = new Map<number, string>();
  for (const m of members ?? []) everyone.set(m.id, m.label);
  for (const s of selected) if (!everyone.has(s.id)) everyone.set(s.id, s.label);
  const initial = selected.slice(0, LIMITS.selectOptions);
  if (members && members.length > 0 && everyone.size <= LIMITS.selectOptions) {
    const options = [...everyone].map(([id, label]) => slackOption(label, String(id)));
    const chosen = new Set(initial.map((s) => String(s.id)));
    const initialOptions = options.filter((o) => chosen.has(o.value));
    return {
      type: "multi_static_select",
      action_id: ACTION_SUBSCRIBERS,
      placeholder: plain("Choose people", LIMITS.placeholder),
      options,
      ...(initialOptions.length > 0 ? { initial_options: initialOptions } : {}),
    };
  }
  return {
    type: "multi_external_select",
    action_id: ACTION_SUBSCRIBERS,
    placeholder: plain("Search by name or email", LIMITS.placeholder),
    min_query_length: 0,
    ...(initial.length > 0
      ? { initial_options: initial.map((s) => slackOption(s.label, String(s.id))) }
      : {}),
  };
}

function seriesLabel(s: SeriesOption): string {
  return s.label.startsWith("Formula ") ? s.label : `${seriesLetter(s.index)} · ${s.label}`;
}

/**
 * The edit form as it opens, with the prints of its fields as Slack would send them back
 * untouched (read from its own blocks), so that its save sends only what was changed in it.
 */
export function buildEditAlertForm(model: AlertFormModel): ModalView {
  const untouched = buildAlertForm(model);
  const opened = formPrints(readAlertForm(stateFromView(untouched) as StateValues));
  return buildAlertForm({ ...model, meta: { ...model.meta, b: opened } });
}

/** The whole create/edit form, prefilled from `model.values`. */
export function buildAlertForm(model: AlertFormModel): ModalView {
  const { values, insight } = model;
  const errors = model.fieldErrors ?? {};
  const meta = formMeta(model);
  const blocks: Block[] = [];
  if (model.notice) blocks.push(section(model.notice));

  blocks.push(
    input(
      BLOCK_INSIGHT,
      "Insight",
      {
        type: "external_select",
        action_id: ACTION_INSIGHT,
        placeholder: plain("Search saved insights", LIMITS.placeholder),
        min_query_length: 0,
        ...(values.insight
          ? { initial_option: slackOption(values.insight.label, String(values.insight.id)) }
          : {}),
      },
      { dispatch: true, hint: "Only trends insights can have alerts.", error: errors[BLOCK_INSIGHT] },
    ),
  );

  blocks.push(
    input(
      BLOCK_NAME,
      "Alert name",
      {
        type: "plain_text_input",
        action_id: ACTION_NAME,
        max_length: NAME_MAX,
        placeholder: plain("e.g. Signups dropped", LIMITS.placeholder),
        ...(values.name ? { initial_value: values.name.slice(0, NAME_MAX) } : {}),
      },
      { error: errors[BLOCK_NAME] },
    ),
  );

  const series = insight?.series.slice(0, LIMITS.selectOptions) ?? [];
  if (series.length > 0) {
    const options = series.map((s) => slackOption(seriesLabel(s), String(s.index)));
    const initial = options.find((o) => o.value === String(values.seriesIndex)) ?? options[0];
    blocks.push(
      input(
        BLOCK_SERIES,
        "Series",
        {
          type: "static_select",
          action_id: ACTION_SERIES,
          options,
          ...(initial ? { initial_option: initial } : {}),
        },
        { hint: "The series of the insight whose value is checked.", error: errors[BLOCK_SERIES] },
      ),
    );
  } else {
    blocks.push(
      context(
        insight
          ? "*Series:* the bot could not read this insight's series, so the first one is used."
          : "*Series:* choose an insight first; its series appear here.",
      ),
    );
  }

  const absoluteOnly = insight?.absoluteOnly ?? false;
  const conditions = absoluteOnly ? (["absolute_value"] as const) : CONDITION_TYPES;
  const conditionOptions = conditions.map((c) =>
    slackOption(CONDITION_LABELS[c][0], c, CONDITION_LABELS[c][1]),
  );
  const conditionInitial = conditionOptions.find((o) => o.value === values.condition) ?? conditionOptions[0];
  blocks.push(
    input(
      BLOCK_CONDITION,
      "Fire when",
      {
        type: "static_select",
        action_id: ACTION_CONDITION,
        options: conditionOptions,
        ...(conditionInitial ? { initial_option: conditionInitial } : {}),
      },
      {
        ...(absoluteOnly ? { hint: "This insight's chart type allows only absolute value alerts." } : {}),
        error: errors[BLOCK_CONDITION],
      },
    ),
  );

  const typeOptions = THRESHOLD_TYPES.map((t) => slackOption(THRESHOLD_LABELS[t], t));
  const typeInitial = typeOptions.find((o) => o.value === values.thresholdType) ?? typeOptions[0];
  blocks.push(
    input(
      BLOCK_THRESHOLD_TYPE,
      "Threshold type",
      {
        type: "static_select",
        action_id: ACTION_THRESHOLD_TYPE,
        options: typeOptions,
        ...(typeInitial ? { initial_option: typeInitial } : {}),
      },
      {
        hint: "Percentage works with relative conditions: enter 20 for 20%.",
        error: errors[BLOCK_THRESHOLD_TYPE],
      },
    ),
  );

  const bound = (
    blockId: string,
    actionId: string,
    label: string,
    hint: string,
    value: string,
    example: string,
  ) =>
    input(
      blockId,
      label,
      {
        type: "plain_text_input",
        action_id: actionId,
        max_length: BOUND_INPUT_MAX,
        placeholder: plain(example, LIMITS.placeholder),
        ...(value.trim() ? { initial_value: value.trim().slice(0, BOUND_INPUT_MAX) } : {}),
      },
      { optional: true, hint, error: errors[blockId] },
    );
  blocks.push(
    bound(
      BLOCK_LOWER,
      ACTION_LOWER,
      "Lower bound",
      "Fires when the value (or its change) goes below this. Leave empty for no lower bound.",
      values.lower,
      "e.g. 100",
    ),
    bound(
      BLOCK_UPPER,
      ACTION_UPPER,
      "Upper bound",
      "Fires when the value (or its change) goes above this. Leave empty for no upper bound.",
      values.upper,
      "e.g. 1,000",
    ),
  );

  const intervalOptions = CALCULATION_INTERVALS.map((i) => slackOption(INTERVAL_LABELS[i], i));
  const extra = meta.x ?? (values.interval && !isInterval(values.interval) ? values.interval : undefined);
  if (extra && /^[a-z][a-z0-9_]{0,39}$/.test(extra)) {
    intervalOptions.push(slackOption(`${frequencyWords(extra)} (current)`, extra));
  }
  const intervalInitial = intervalOptions.find((o) => o.value === values.interval) ?? intervalOptions[1];
  blocks.push(
    input(
      BLOCK_INTERVAL,
      "Check",
      {
        type: "static_select",
        action_id: ACTION_INTERVAL,
        options: intervalOptions,
        ...(intervalInitial ? { initial_option: intervalInitial } : {}),
      },
      { error: errors[BLOCK_INTERVAL] },
    ),
  );

  const checkOptions = CHECK_LABELS.map(([value, label, description]) =>
    slackOption(label, value, description),
  );
  const ticked = new Set(
    [
      values.checkOngoingInterval ? OPTION_CHECK_ONGOING : null,
      values.skipWeekend ? OPTION_SKIP_WEEKEND : null,
      values.enabled ? OPTION_ENABLED : null,
    ].filter(Boolean),
  );
  const checkInitial = checkOptions.filter((o) => ticked.has(o.value));
  blocks.push(
    input(
      BLOCK_OPTIONS,
      "Options",
      {
        type: "checkboxes",
        action_id: ACTION_OPTIONS,
        options: checkOptions,
        ...(checkInitial.length > 0 ? { initial_options: checkInitial } : {}),
      },
      { optional: true, error: errors[BLOCK_OPTIONS] },
    ),
  );

  blocks.push(
    input(BLOCK_SUBSCRIBERS, "Email subscribers", subscribersElement(model.members, values.subscribers), {
      optional: true,
      hint: "PostHog emails these people when the alert fires.",
      error: errors[BLOCK_SUBSCRIBERS],
    }),
  );

  return modal(TITLES[meta.m], blocks, {
    callback_id: VIEW_ALERT_FORM,
    private_metadata: alertFormMetaCodec.encode(meta),
    submit: plain(meta.m === "create" ? "Create alert" : "Save changes", LIMITS.viewTitle),
    close: plain("Cancel", LIMITS.viewTitle),
  });
}

/** The input blocks a form built from `model` has (to place errors Slack will accept). */
export function formInputBlocks(view: ModalView): Set<string> {
  return new Set(
    view.blocks
      .filter((b) => b.type === "input" && typeof b.block_id === "string")
      .map((b) => b.block_id as string),
  );
}

// ── Option lists for the type-ahead menus ───────────────────────────────

/** Insight menu entries: display name, value = numeric id, at most 100. */
export function insightMenuOptions(
  insights: Array<{ id: number; name: string }>,
  limit: number = LIMITS.selectOptions,
): SlackOption[] {
  const seen = new Set<number>();
  const options: SlackOption[] = [];
  for (const insight of insights) {
    if (seen.has(insight.id)) continue;
    seen.add(insight.id);
    options.push(slackOption(insight.name, String(insight.id)));
    if (options.length >= Math.min(limit, LIMITS.selectOptions)) break;
  }
  return options;
}

/** Member menu entries matching every word of `query` in name or email, sorted by label. */
export function memberMenuOptions(members: Member[], query: string): SlackOption[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  return members
    .filter((m) => m.user.is_active !== false)
    .map((m) => ({ id: m.user.id, label: memberLabel(m) }))
    .filter((m) => words.every((w) => m.label.toLowerCase().includes(w)))
    .sort((a, b) => a.label.localeCompare(b.label))
    .slice(0, LIMITS.selectOptions)
    .map((m) => slackOption(m.label, String(m.id)));
}

// ── Insight references typed or pasted by people ───────────────────────

export type InsightRef = { ref: string | number; projectId: string | null };

/**
 * Reads an insight reference: a PostHog insight URL
 * (`https://us.posthog.com/project/123/insights/AaVQ8Ijw`, `…/edit`, Slack's
 * `<url|label>` wrapping), a numeric id, or a short id. Null otherwise.
 */
export function parseInsightRef(text: string | null | undefined): InsightRef | null {
  if (!text) return null;
  let raw = text.trim();
  const wrapped = /^<([^|>]+)(?:\|[^>]*)?>$/.exec(raw);
  if (wrapped?.[1]) raw = wrapped[1].trim();
  if (raw === "") return null;
  if (/^https?:\/\//i.test(raw)) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return null;
    }
    const match = /(?:^|\/)(?:project|environments?)\/(\d+)\/insights\/([A-Za-z0-9_-]{1,40})(?:\/|$)/.exec(
      url.pathname,
    );
    const bare = /\/insights\/([A-Za-z0-9_-]{1,40})(?:\/|$)/.exec(url.pathname);
    const id = match?.[2] ?? bare?.[1];
    if (!id || id === "new") return null;
    return { ref: /^\d+$/.test(id) ? Number(id) : id, projectId: match?.[1] ?? null };
  }
  if (/^\d{1,15}$/.test(raw)) return { ref: Number(raw), projectId: null };
  if (/^[A-Za-z0-9_-]{4,40}$/.test(raw)) return { ref: raw, projectId: null };
  return null;
}
