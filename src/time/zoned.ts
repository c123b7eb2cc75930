/**
 * Wall-clock arithmetic in IANA time zones, built on `Intl` only, so it never
 * depends on the zone of the machine the bot runs on.
 *
 * Rule for clock changes (see `wallClockCandidates`):
 * - a wall-clock time that happens twice (clocks go back) maps to both
 *   instants; `wallClockToInstant` picks the earlier one;
 * - a wall-clock time that never happens (clocks go forward) is shifted
 *   forward by the length of the gap: 02:30 on a night that jumps from 02:00
 *   to 03:00 becomes 03:30.
 */

export type CalendarDate = { year: number; month: number; day: number };
export type WallClock = CalendarDate & { hour: number; minute: number };
export type ZonedWallClock = WallClock & { second: number; weekday: number /* 0 = Sunday */ };

const DAY_MS = 86_400_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** True when `timeZone` is an IANA zone name this runtime knows (e.g. "Europe/Berlin"). */
export function isValidTimeZone(timeZone: string): boolean {
  if (typeof timeZone !== "string" || timeZone.trim() === "") return false;
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** Milliseconds since the epoch for a wall clock read as if it were UTC (valid for any year). */
function utcMs(year: number, month: number, day: number, hour = 0, minute = 0, second = 0): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, 0);
  return d.getTime();
}

function weekdayOf(date: CalendarDate): number {
  return new Date(utcMs(date.year, date.month, date.day)).getUTCDay();
}

/** The calendar date and clock time that `instant` shows in `timeZone`. Throws RangeError for an unknown zone. */
export function zonedWallClock(instant: Date, timeZone: string): ZonedWallClock {
  const fields: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(instant)) {
    if (part.type !== "literal") fields[part.type] = Number(part.value);
  }
  const date = { year: fields.year ?? 0, month: fields.month ?? 1, day: fields.day ?? 1 };
  return {
    ...date,
    hour: fields.hour ?? 0,
    minute: fields.minute ?? 0,
    second: fields.second ?? 0,
    weekday: weekdayOf(date),
  };
}

/** The zone's UTC offset in milliseconds at `ms` (positive east of Greenwich). */
function offsetAt(ms: number, timeZone: string): number {
  const wall = zonedWallClock(new Date(ms), timeZone);
  const wholeSecond = ms - (((ms % 1000) + 1000) % 1000);
  return utcMs(wall.year, wall.month, wall.day, wall.hour, wall.minute, wall.second) - wholeSecond;
}

/** True when the date exists in the proleptic Gregorian calendar (rejects 2026-02-30). */
export function isValidCalendarDate(date: CalendarDate): boolean {
  const { year, month, day } = date;
  if (![year, month, day].every(Number.isInteger)) return false;
  if (month < 1 || month > 12 || day < 1) return false;
  const d = new Date(utcMs(year, month, day));
  return d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
}

function isValidWallClock(parts: WallClock): boolean {
  return (
    isValidCalendarDate(parts) &&
    Number.isInteger(parts.hour) &&
    Number.isInteger(parts.minute) &&
    parts.hour >= 0 &&
    parts.hour <= 23 &&
    parts.minute >= 0 &&
    parts.minute <= 59
  );
}

/** Calendar arithmetic: `date` plus `days` days (negative allowed), across month and year ends. */
export function addCalendarDays(date: CalendarDate, days: number): CalendarDate {
  const d = new Date(utcMs(date.year, date.month, date.day) + days * DAY_MS);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/**
 * Every instant at which `timeZone` shows the wall clock `parts`, earliest first:
 * one instant normally, two when the clocks go back over it, and, when the
 * clocks skip over it, the single instant obtained by shifting it forward by
 * the length of the gap.
 */
export function wallClockCandidates(timeZone: string, parts: WallClock): Date[] {
  if (!isValidWallClock(parts)) {
    throw new RangeError(`Invalid wall-clock time: ${JSON.stringify(parts)}`);
  }
  const local = utcMs(parts.year, parts.month, parts.day, parts.hour, parts.minute);
  const before = offsetAt(local - DAY_MS, timeZone);
  const offsets = new Set([before, offsetAt(local, timeZone), offsetAt(local + DAY_MS, timeZone)]);
  const found: number[] = [];
  for (const offset of offsets) {
    const candidate = local - offset;
    if (offsetAt(candidate, timeZone) === offset) found.push(candidate);
  }
  if (found.length === 0) {
    // In a gap: read the time with the offset in force before the jump, which
    // lands the same distance past the jump as the time was past its start.
    found.push(local - before);
  }
  return [...new Set(found)].sort((a, b) => a - b).map((ms) => new Date(ms));
}

/**
 * The instant at which `timeZone` shows `parts`. Gap (clocks forward): shifted
 * forward by the gap. Overlap (clocks back): the earlier instant. Throws
 * RangeError for an unknown zone or a date/time that does not exist on any
 * calendar (month 13, 2026-02-30, 24:00).
 */
export function wallClockToInstant(ctx: { timeZone: string }, parts: WallClock): Date {
  const [first] = wallClockCandidates(ctx.timeZone, parts);
  if (!first) throw new RangeError("No instant found for wall-clock time");
  return first;
}
