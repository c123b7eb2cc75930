import { z } from "zod";

/**
 * Response schemas for the PostHog endpoints the bot uses. They are lenient
 * where PostHog varies between versions (ids vs objects, missing optional
 * fields, unknown extra keys are dropped) and strict about types: a string
 * where a number belongs fails the parse and becomes a `bad_response` error.
 */

/** An alert id as PostHog writes it: a UUID. */
export const ALERT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const ALERT_STATES = ["Firing", "Not firing", "Errored", "Snoozed"] as const;
export type KnownAlertState = (typeof ALERT_STATES)[number];

export const CONDITION_TYPES = ["absolute_value", "relative_increase", "relative_decrease"] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];

export const THRESHOLD_TYPES = ["absolute", "percentage"] as const;
export type ThresholdType = (typeof THRESHOLD_TYPES)[number];

export const CALCULATION_INTERVALS = ["hourly", "daily", "weekly", "monthly"] as const;
export type CalculationInterval = (typeof CALCULATION_INTERVALS)[number];

const nullableNumber = z
  .number()
  .nullable()
  .optional()
  .transform((v) => v ?? null);
const nullableString = z
  .string()
  .nullable()
  .optional()
  .transform((v) => v ?? null);

/** `insight` and `subscribed_users` are ids in older servers and objects in newer ones. */
const idOrObject = z.union([z.number().int(), z.object({ id: z.number().int() }).transform((o) => o.id)]);

const insightRef = z.union([
  z
    .number()
    .int()
    .transform((id) => ({ id, short_id: null as string | null, name: null as string | null })),
  z
    .object({
      id: z.number().int(),
      short_id: nullableString,
      name: nullableString,
      derived_name: nullableString,
    })
    .transform((o) => ({ id: o.id, short_id: o.short_id, name: o.name || o.derived_name || null })),
]);

export const alertCheckSchema = z.object({
  id: z.string(),
  created_at: z.string(),
  calculated_value: nullableNumber,
  state: z.string(),
  targets_notified: z.boolean().nullable().optional(),
});
export type AlertCheck = z.infer<typeof alertCheckSchema>;

export const boundsSchema = z.object({
  lower: nullableNumber,
  upper: nullableNumber,
});

export const thresholdSchema = z.object({
  name: nullableString,
  configuration: z.object({
    type: z.enum(THRESHOLD_TYPES),
    bounds: boundsSchema
      .nullable()
      .optional()
      .transform((b) => b ?? { lower: null, upper: null }),
  }),
});

export const alertSchema = z
  .object({
    id: z.string().min(1),
    name: nullableString.transform((v) => v ?? ""),
    insight: insightRef,
    insight_short_id: z.string().nullable().optional(),
    insight_display_name: z.string().nullable().optional(),
    subscribed_users: z
      .array(idOrObject)
      .nullable()
      .optional()
      .transform((v) => v ?? []),
    threshold: thresholdSchema
      .nullable()
      .optional()
      .transform((v) => v ?? null),
    condition: z
      .object({ type: z.enum(CONDITION_TYPES) })
      .nullable()
      .optional()
      .transform((v) => v ?? null),
    state: z.string(),
    enabled: z.boolean(),
    calculation_interval: z
      .string()
      .nullable()
      .optional()
      .transform((v) => v ?? "daily"),
    snoozed_until: nullableString,
    skip_weekend: z
      .boolean()
      .nullable()
      .optional()
      .transform((v) => v ?? false),
    last_notified_at: nullableString,
    last_checked_at: nullableString,
    next_check_at: nullableString,
    created_at: nullableString,
    checks: z
      .array(alertCheckSchema)
      .nullable()
      .optional()
      .transform((v) => v ?? []),
    config: z
      .object({
        type: z.string(),
        series_index: z
          .number()
          .int()
          .nullable()
          .optional()
          .transform((v) => v ?? 0),
        check_ongoing_interval: z
          .boolean()
          .nullable()
          .optional()
          .transform((v) => v ?? false),
      })
      .nullable()
      .optional()
      .transform((v) => v ?? null),
    last_value: nullableNumber,
  })
  .transform(({ insight, insight_short_id, insight_display_name, ...rest }) => ({
    ...rest,
    /** The insight's numeric primary key. */
    insight: insight.id,
    /** The insight's short id, when PostHog returned it. */
    insight_short_id: insight.short_id ?? insight_short_id ?? null,
    /** The insight's display name, when PostHog returned it. */
    insight_name: insight.name ?? insight_display_name ?? null,
  }));
export type Alert = z.infer<typeof alertSchema>;

export const pageSchema = <T extends z.ZodType>(item: T) =>
  z.object({
    count: z.number().int().nullable().optional(),
    next: nullableString,
    previous: nullableString,
    results: z.array(item),
  });
export interface Page<T> {
  count?: number | null | undefined;
  next: string | null;
  previous: string | null;
  results: T[];
}

export const insightSchema = z.object({
  id: z.number().int(),
  short_id: z.string(),
  name: nullableString,
  derived_name: nullableString,
  description: nullableString,
  /** The insight's query (HogQL node tree); shape varies, read with `insight-query.ts`. */
  query: z.unknown().optional(),
  deleted: z.boolean().nullable().optional(),
  saved: z.boolean().nullable().optional(),
  last_modified_at: nullableString,
});
export type Insight = z.infer<typeof insightSchema>;

export const memberSchema = z.object({
  id: z.string(),
  level: z.number().int().nullable().optional(),
  user: z.object({
    id: z.number().int(),
    uuid: z.string().nullable().optional(),
    email: z.string(),
    first_name: nullableString,
    last_name: nullableString,
    is_active: z.boolean().nullable().optional(),
  }),
});
export type Member = z.infer<typeof memberSchema>;

/** The writable fields of an alert, as sent on POST and PATCH. */
export interface AlertWrite {
  insight: number;
  name: string;
  subscribed_users: number[];
  threshold: {
    configuration: {
      type: ThresholdType;
      bounds: { lower?: number | null; upper?: number | null };
    };
  };
  condition: { type: ConditionType };
  config: { type: "TrendsAlertConfig"; series_index: number; check_ongoing_interval: boolean };
  enabled: boolean;
  calculation_interval: CalculationInterval;
  skip_weekend: boolean;
  /** Absolute ISO-8601 UTC instant, or null to unsnooze. Never a relative token. */
  snoozed_until: string | null;
}
export type AlertPatch = Partial<AlertWrite>;
/** POST body: snoozed_until is not parsed by PostHog on create, so it is never sent there. */
export type AlertCreate = Omit<AlertWrite, "snoozed_until">;

/** What `unsnoozeAlert` did: `sent` false when there was no snooze to end (`alert` is then as read). */
export interface UnsnoozeResult {
  sent: boolean;
  alert: Alert;
}

/** What `snoozeAlert` did: `sent` false when a longer snooze was kept (`alert` is then as read). */
export interface SnoozeResult {
  sent: boolean;
  alert: Alert;
  previousUntil: string | null;
}
