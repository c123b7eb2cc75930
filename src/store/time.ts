/**
 * PostHog writes the same instant several ways: `2025-06-02T01:00:12.345678+00:00`
 * in webhook events, `2025-06-02T01:00:12.345678Z` in the API, and naive
 * `2025-06-02T01:00:13.001234` (meaning UTC) in event timestamps. All of them
 * normalise to whole epoch milliseconds here, so they compare equal.
 */
const ISO =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

export function toEpochMs(value: string | null | undefined): number | null {
  if (typeof value !== "string") return null;
  const text = value.trim();
  const m = ISO.exec(text);
  if (!m) {
    const parsed = Date.parse(text);
    return Number.isNaN(parsed) ? null : parsed;
  }
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const ms = frac ? Number(frac.slice(0, 3).padEnd(3, "0")) : 0;
  const base = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0), ms);
  if (Number.isNaN(base)) return null;
  if (!zone || zone.toUpperCase() === "Z") return base;
  const sign = zone.startsWith("-") ? -1 : 1;
  const digits = zone.slice(1).replace(":", "");
  const offsetMinutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || 0);
  return base - sign * offsetMinutes * 60_000;
}

/** Whether a `snoozed_until` names an instant at or before `nowMs` (null or unreadable: no). */
export function snoozeEnded(snoozedUntil: string | null, nowMs: number): boolean {
  const ms = toEpochMs(snoozedUntil);
  return ms !== null && ms <= nowMs;
}

/** The instant as an ISO string with a `Z`, or null when it cannot be read. */
export function toIsoUtc(value: string | null | undefined): string | null {
  const ms = toEpochMs(value);
  return ms === null ? null : new Date(ms).toISOString();
}
