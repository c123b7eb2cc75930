import { z } from "zod";
import { ALERT_ID } from "../posthog/schemas.js";
import { LIMITS } from "./limits.js";

/**
 * Button values, option values and private_metadata carry identifiers only,
 * as small JSON objects validated on the way back in. A value that does not decode
 * is treated as tampered with and refused; it is never cast.
 *
 * Encoding does not run the schema unless asked (`checkOnEncode`): the values
 * are built by the bot from typed data (an alert list renders a hundred of
 * them), and whatever comes back from Slack is checked on decode anyway. The
 * length limit is always enforced, since Slack refuses the whole surface over it.
 */
export interface Codec<T> {
  encode(value: T): string;
  decode(raw: string | undefined | null): T | null;
}

export function jsonCodec<S extends z.ZodType>(
  schema: S,
  maxLength: number,
  options: {
    /** Parse on encode too, for values assembled from several sources (modal metadata). */
    checkOnEncode?: boolean;
  } = {},
): Codec<z.infer<S>> {
  const check = options.checkOnEncode === true;
  return {
    encode(value) {
      const text = JSON.stringify(check ? schema.parse(value) : value);
      if (text.length > maxLength)
        throw new Error(`encoded value is ${text.length} characters; the limit is ${maxLength}`);
      return text;
    },
    decode(raw) {
      if (typeof raw !== "string" || raw.length === 0 || raw.length > maxLength) return null;
      // Every value is a JSON object. Anything else (a select's plain option value such as "1h")
      // is refused here, without the cost of JSON.parse throwing.
      if (raw.charCodeAt(0) !== 0x7b) return null;
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        return null;
      }
      const result = schema.safeParse(parsed);
      return result.success ? result.data : null;
    },
  };
}

/** PostHog alert ids are UUIDs; anything else in a button value is refused. */
export const alertIdSchema = z.string().regex(ALERT_ID);

export const alertRefSchema = z.object({ a: alertIdSchema });
export const alertRefCodec = jsonCodec(alertRefSchema, LIMITS.optionValue);

/**
 * The Enable/Disable button under `/alerts show`: the alert and the verb its label
 * promised, so a click on a message older than the alert's state does what it
 * said. Messages posted before the verb was added carry the id only.
 */
export const toggleSchema = z.object({ a: alertIdSchema, v: z.enum(["enable", "disable"]).optional() });
export const toggleCodec = jsonCodec(toggleSchema, LIMITS.optionValue);

export const LIST_FILTERS = ["firing", "snoozed", "disabled", "errored", "all"] as const;
export type ListFilter = (typeof LIST_FILTERS)[number];

export const listPageSchema = z.object({
  f: z.enum(LIST_FILTERS),
  q: z.string().max(100),
  o: z.number().int().min(0).max(100_000),
});
export const listPageCodec = jsonCodec(listPageSchema, LIMITS.buttonValue);

/** Row menu choices: the verb and the alert id, within an overflow option's 150 characters. */
export const ROW_VERBS = ["edit", "snooze", "unsnooze", "disable", "enable", "delete", "show"] as const;
export type RowVerb = (typeof ROW_VERBS)[number];
export const rowMenuSchema = z.object({ v: z.enum(ROW_VERBS), a: alertIdSchema });
export const rowMenuCodec = jsonCodec(rowMenuSchema, LIMITS.optionValue);
