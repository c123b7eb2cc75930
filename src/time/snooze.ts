/**
 * Reading snooze times typed in Slack (`/alerts snooze <alert> <when>`) into
 * one absolute instant. PostHog rounds its own relative tokens ("1h", "1d") to
 * hour or UTC-day boundaries, so the bot always sends `until.toISOString()`.
 *
 * Decisions:
 * - Durations are exact elapsed time: `1d` is 24 hours after now and `1w` is
 *   168 hours, even across a clock change (the wall clock then differs by an
 *   hour). `until tomorrow 9am` is the wall-clock form. `m` means minutes.
 * - Clock times are read in the user's own IANA zone; "today", "tomorrow" and
 *   weekdays are counted from the user's current date in that zone.
 * - A time without a day (`until 17:00`) that has already passed today means
 *   that time tomorrow.
 * - A day without a time means 09:00 that day. `until today` needs a time.
 * - `midnight` is the end of the day it names: `until midnight` is 00:00 at
 *   the start of tomorrow, `until Dec 24 midnight` is 00:00 on Dec 25.
 * - A weekday means its next occurrence. Named on that same weekday, it means
 *   today only when a time is given that is still ahead (`monday 5pm` on a
 *   Monday morning); otherwise next week. `next monday` is always the first
 *   Monday after today (on a Friday that is in 3 days, on a Monday in 7).
 *   `next week` is next Monday at 09:00.
 * - A date without a year is its next occurrence (today counts; if its time
 *   has passed the answer is "already passed", not next year).
 * - Numeric day/month dates (`12/24`, `24.12`) are refused as ambiguous;
 *   year-first dates (`2026-12-24`) and month names are accepted.
 * - Clock changes: a time skipped by the clocks is moved forward by the gap
 *   (02:30 on a 02:00→03:00 night becomes 03:30); a time that happens twice
 *   is the first one that is still ahead of now.
 * - Bare hours (`until 5`, `tomorrow at 9`) are refused as ambiguous: am/pm
 *   or 24-hour time is needed. `for`/`in` mark a duration; `until`/`till`
 *   mark a point in time but a duration after them still counts as one.
 * - Every result is strictly after now and at most `MAX_SNOOZE_MS` ahead.
 *   Durations are at least one minute. An unknown time zone only matters for
 *   clock-time forms; durations never need it.
 */

import {
  addCalendarDays,
  type CalendarDate,
  isValidCalendarDate,
  isValidTimeZone,
  wallClockCandidates,
  zonedWallClock,
} from "./zoned.js";

export { isValidTimeZone, wallClockToInstant } from "./zoned.js";

export type SnoozeParse =
  | { ok: true; until: Date; kind: "duration" | "until"; durationMs?: number }
  | {
      ok: false;
      error: string;
      /** Not read as a time at all (not one that is refused). */
      unreadable?: true;
    };

export type SnoozeContext = { now: Date; timeZone: string };

export type SnoozePreset = "30m" | "1h" | "4h" | "1d" | "1w" | "tomorrow_9" | "monday_9";

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
const WEEK_MS = 7 * DAY_MS;

/** The longest snooze: 365 days of elapsed time. */
export const MAX_SNOOZE_MS = 365 * DAY_MS;
const MIN_DURATION_MS = MINUTE_MS;
const MAX_INPUT_LENGTH = 200;
const DEFAULT_HOUR = 9;

/** User-facing messages, one sentence each with an example that works. */
export const SNOOZE_ERRORS = {
  empty: "Tell me how long to snooze, for example `2h`, `30m` or `until tomorrow 9am`.",
  unparseable:
    "I couldn't understand that time; try a duration like `2h` or `1h30m`, or a time like `until 17:00`, `until tomorrow 9am` or `until Dec 24`.",
  duration: "I couldn't read that duration; try `30m`, `2h`, `1h30m` or `3 days`.",
  needsUnit: "Add a unit to the number, for example `30m`, `2h` or `1d`, or write a time like `until 5pm`.",
  ambiguousHour: "Add am or pm to the hour, or use 24-hour time, for example `until 5pm` or `until 17:00`.",
  ambiguousDate:
    "Write the month as a word or the date as year-month-day so day and month can't be mixed up, for example `until Dec 24` or `until 2026-12-24`.",
  unsupportedUnit:
    "Snoozes are counted in minutes, hours, days or weeks, for example `30m`, `4w` or `until Dec 24`.",
  zero: "The snooze has to be longer than zero; try `30m` or `2h`.",
  tooShort: "The shortest snooze is one minute; try `5m` or `30m`.",
  past: "That time has already passed; pick a later one, for example `until tomorrow 9am`.",
  tooFar: "Snoozes can last at most one year; pick an earlier time, for example `4w` or `until next monday`.",
  todayNeedsTime: "Say what time today to snooze until, for example `until 5pm`.",
  badTimeZone:
    "Your Slack time zone isn't one I recognise, so I can't read clock times; use a duration instead, for example `2h` or `1d`.",
  invalidDate: (date: string) =>
    `There is no date ${date}; check the day and month, for example \`until Dec 24\` or \`until 2026-12-24\`.`,
  invalidTime: (time: string) =>
    `\`${time}\` isn't a time of day; use 24-hour time like \`17:00\` or am/pm like \`5pm\`.`,
} as const;

class SnoozeInputError extends Error {}

function fail(message: string): never {
  throw new SnoozeInputError(message);
}

// ---------------------------------------------------------------- durations

const DURATION_UNITS: Record<string, number> = {
  m: MINUTE_MS,
  min: MINUTE_MS,
  mins: MINUTE_MS,
  minute: MINUTE_MS,
  minutes: MINUTE_MS,
  h: HOUR_MS,
  hr: HOUR_MS,
  hrs: HOUR_MS,
  hour: HOUR_MS,
  hours: HOUR_MS,
  d: DAY_MS,
  day: DAY_MS,
  days: DAY_MS,
  w: WEEK_MS,
  wk: WEEK_MS,
  wks: WEEK_MS,
  week: WEEK_MS,
  weeks: WEEK_MS,
};

const UNSUPPORTED_UNITS = new Set([
  "s",
  "sec",
  "secs",
  "second",
  "seconds",
  "mo",
  "mos",
  "mth",
  "mths",
  "month",
  "months",
  "y",
  "yr",
  "yrs",
  "year",
  "years",
]);

/** One `<number><unit>` (or `an hour`) part, optionally joined by "and" or "&". */
const DURATION_PART = /\s*(?:(?:and|&)\s*)?(?:(\d+(?:\.\d+)?)\s*([a-z]+)|\b(an?)\s+([a-z]+))/y;

/** Total milliseconds of a duration phrase, or null when `text` is not one. */
function parseDuration(text: string): number | null {
  let pos = 0;
  let total = 0;
  let unsupported = false;
  while (pos < text.length) {
    DURATION_PART.lastIndex = pos;
    const match = DURATION_PART.exec(text);
    if (!match) return null;
    const amount = match[1] === undefined ? 1 : Number(match[1]);
    const unit = match[2] ?? match[4] ?? "";
    const unitMs = DURATION_UNITS[unit];
    if (unitMs === undefined) {
      if (!UNSUPPORTED_UNITS.has(unit)) return null;
      unsupported = true;
    } else {
      total += amount * unitMs;
    }
    pos = DURATION_PART.lastIndex;
  }
  if (unsupported) fail(SNOOZE_ERRORS.unsupportedUnit);
  return total;
}

function checkDuration(ms: number): number {
  if (!Number.isFinite(ms) || ms > MAX_SNOOZE_MS) fail(SNOOZE_ERRORS.tooFar);
  const rounded = Math.round(ms);
  if (rounded === 0) fail(SNOOZE_ERRORS.zero);
  if (rounded < MIN_DURATION_MS) fail(SNOOZE_ERRORS.tooShort);
  return rounded;
}

// ------------------------------------------------------- clock times, dates

type DaySpec =
  | { kind: "today" }
  | { kind: "tomorrow" }
  | { kind: "weekday"; weekday: number; next: boolean }
  | { kind: "next-week" }
  | { kind: "date"; year?: number; month: number; day: number };

type TimeSpec = { kind: "clock"; hour: number; minute: number } | { kind: "midnight" };

type UntilSpec = { day?: DaySpec; time?: TimeSpec };

const MONTHS: Record<string, number> = {
  jan: 1,
  january: 1,
  feb: 2,
  february: 2,
  mar: 3,
  march: 3,
  apr: 4,
  april: 4,
  may: 5,
  jun: 6,
  june: 6,
  jul: 7,
  july: 7,
  aug: 8,
  august: 8,
  sep: 9,
  sept: 9,
  september: 9,
  oct: 10,
  october: 10,
  nov: 11,
  november: 11,
  dec: 12,
  december: 12,
};

const WEEKDAYS: Record<string, number> = {
  sun: 0,
  sunday: 0,
  mon: 1,
  monday: 1,
  tue: 2,
  tues: 2,
  tuesday: 2,
  wed: 3,
  weds: 3,
  wednesday: 3,
  thu: 4,
  thur: 4,
  thurs: 4,
  thursday: 4,
  fri: 5,
  friday: 5,
  sat: 6,
  saturday: 6,
};

const TOMORROW = new Set(["tomorrow", "tmrw", "tmr", "tomorow"]);
const ISO_DATE = /^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:t(\d{1,2}):(\d{2}))?$/;
const DAY_OF_MONTH = /^(\d{1,2})(?:st|nd|rd|th)?$/;
const YEAR = /^\d{4}$/;
const NUMERIC_DAY_MONTH = /^\d{1,2}[/.]\d{1,2}(?:[/.]\d{2,4})?$/;
const CLOCK = /^(\d{1,2}):(\d{2})(am|pm)?$/;
const HOUR_MERIDIEM = /^(\d{1,2})(am|pm)$/;
const BARE_HOUR = /^\d{1,2}$/;

function clock(hourText: string, minuteText: string, meridiem: string | undefined, label: string): TimeSpec {
  let hour = Number(hourText);
  const minute = Number(minuteText);
  if (minute > 59) fail(SNOOZE_ERRORS.invalidTime(label));
  if (meridiem) {
    if (hour < 1 || hour > 12) fail(SNOOZE_ERRORS.invalidTime(label));
    hour = (hour % 12) + (meridiem === "pm" ? 12 : 0);
  } else if (hour > 23) {
    fail(SNOOZE_ERRORS.invalidTime(label));
  }
  return { kind: "clock", hour, minute };
}

type Parsed<T> = { value: T; next: number };

function parseYearAt(tokens: string[], i: number): { year?: number; next: number } {
  const token = tokens[i];
  return token !== undefined && YEAR.test(token) ? { year: Number(token), next: i + 1 } : { next: i };
}

function parseDayAt(tokens: string[], i: number): Parsed<{ day: DaySpec; time?: TimeSpec }> | null {
  const token = tokens[i] ?? "";
  const following = tokens[i + 1] ?? "";
  if (token === "today") return { value: { day: { kind: "today" } }, next: i + 1 };
  if (TOMORROW.has(token)) return { value: { day: { kind: "tomorrow" } }, next: i + 1 };
  if (token === "next" && following === "week") return { value: { day: { kind: "next-week" } }, next: i + 2 };
  if ((token === "next" || token === "this") && WEEKDAYS[following] !== undefined) {
    const weekday = WEEKDAYS[following] ?? 0;
    return { value: { day: { kind: "weekday", weekday, next: token === "next" } }, next: i + 2 };
  }
  const weekday = WEEKDAYS[token];
  if (weekday !== undefined)
    return { value: { day: { kind: "weekday", weekday, next: false } }, next: i + 1 };

  const iso = ISO_DATE.exec(token);
  if (iso) {
    const day: DaySpec = { kind: "date", year: Number(iso[1]), month: Number(iso[2]), day: Number(iso[3]) };
    const time = iso[4] !== undefined ? clock(iso[4], iso[5] ?? "", undefined, token) : undefined;
    return { value: time ? { day, time } : { day }, next: i + 1 };
  }
  if (NUMERIC_DAY_MONTH.test(token)) fail(SNOOZE_ERRORS.ambiguousDate);

  // "Dec 24", "December 24th 2026"
  const month = MONTHS[token];
  const dayAfterMonth = DAY_OF_MONTH.exec(following);
  if (month !== undefined && dayAfterMonth) {
    const { year, next } = parseYearAt(tokens, i + 2);
    return { value: { day: { kind: "date", year, month, day: Number(dayAfterMonth[1]) } }, next };
  }
  // "24 December", "24th of Dec 2026"
  const dayFirst = DAY_OF_MONTH.exec(token);
  if (dayFirst) {
    const monthIndex = following === "of" ? i + 2 : i + 1;
    const monthAfterDay = MONTHS[tokens[monthIndex] ?? ""];
    if (monthAfterDay !== undefined) {
      const { year, next } = parseYearAt(tokens, monthIndex + 1);
      return { value: { day: { kind: "date", year, month: monthAfterDay, day: Number(dayFirst[1]) } }, next };
    }
  }
  return null;
}

function parseTimeAt(tokens: string[], i: number): Parsed<TimeSpec> | null {
  const token = tokens[i] ?? "";
  const following = tokens[i + 1];
  const separateMeridiem = following === "am" || following === "pm" ? following : undefined;
  if (token === "noon" || token === "midday")
    return { value: { kind: "clock", hour: 12, minute: 0 }, next: i + 1 };
  if (token === "midnight") return { value: { kind: "midnight" }, next: i + 1 };

  const hm = CLOCK.exec(token);
  if (hm) {
    const meridiem = hm[3] ?? separateMeridiem;
    const used = hm[3] === undefined && separateMeridiem ? 2 : 1;
    const label = used === 2 ? `${token} ${separateMeridiem}` : token;
    return { value: clock(hm[1] ?? "", hm[2] ?? "", meridiem, label), next: i + used };
  }
  const hourOnly = HOUR_MERIDIEM.exec(token);
  if (hourOnly) return { value: clock(hourOnly[1] ?? "", "0", hourOnly[2], token), next: i + 1 };
  if (BARE_HOUR.test(token)) {
    if (separateMeridiem) {
      return { value: clock(token, "0", separateMeridiem, `${token} ${separateMeridiem}`), next: i + 2 };
    }
    // "tomorrow at 9", "5 on friday": a clock hour without am/pm.
    if (following === undefined || following === "on" || parseDayAt(tokens, i + 1)) {
      fail(SNOOZE_ERRORS.ambiguousHour);
    }
  }
  return null;
}

/** Reads "[day] [at] [time]" or "[time] [on] [day]"; null when the words are not such a phrase. */
function parseUntilPhrase(text: string): UntilSpec | null {
  const tokens = text.replace(/@/g, " at ").split(" ").filter(Boolean);
  const spec: UntilSpec = {};
  let i = 0;
  while (i < tokens.length) {
    const token = tokens[i];
    if (token === "at" || token === "on") {
      i += 1;
      continue;
    }
    if (!spec.day) {
      const day = parseDayAt(tokens, i);
      if (day) {
        spec.day = day.value.day;
        if (day.value.time) spec.time = day.value.time;
        i = day.next;
        continue;
      }
    }
    if (!spec.time) {
      const time = parseTimeAt(tokens, i);
      if (time) {
        spec.time = time.value;
        i = time.next;
        continue;
      }
    }
    return null;
  }
  return spec.day || spec.time ? spec : null;
}

function pad2(n: number): string {
  return String(n).padStart(2, "0");
}

/** The instant `spec` names for someone whose clock is in `timeZone`. */
function resolveUntil(spec: UntilSpec, now: Date, timeZone: string): Date {
  const here = zonedWallClock(now, timeZone);
  const today: CalendarDate = { year: here.year, month: here.month, day: here.day };
  const nowMs = now.getTime();
  const time: TimeSpec = spec.time ?? { kind: "clock", hour: DEFAULT_HOUR, minute: 0 };

  const firstAhead = (date: CalendarDate): Date | undefined => {
    const wall =
      time.kind === "midnight"
        ? { ...addCalendarDays(date, 1), hour: 0, minute: 0 }
        : { ...date, hour: time.hour, minute: time.minute };
    return wallClockCandidates(timeZone, wall).find((instant) => instant.getTime() > nowMs);
  };
  const onDay = (date: CalendarDate): Date => firstAhead(date) ?? fail(SNOOZE_ERRORS.past);
  const daysUntilWeekday = (weekday: number): number => (weekday - here.weekday + 7) % 7 || 7;

  const day = spec.day;
  switch (day?.kind) {
    case undefined:
      return firstAhead(today) ?? onDay(addCalendarDays(today, 1));
    case "today":
      if (!spec.time) fail(SNOOZE_ERRORS.todayNeedsTime);
      return onDay(today);
    case "tomorrow":
      return onDay(addCalendarDays(today, 1));
    case "next-week":
      return onDay(addCalendarDays(today, daysUntilWeekday(1)));
    case "weekday": {
      if (day.weekday === here.weekday && !day.next && spec.time) {
        const later = firstAhead(today);
        if (later) return later;
      }
      return onDay(addCalendarDays(today, daysUntilWeekday(day.weekday)));
    }
    case "date": {
      let year = day.year;
      if (year === undefined) {
        const isEarlierInYear = day.month * 100 + day.day < today.month * 100 + today.day;
        year = today.year + (isEarlierInYear ? 1 : 0);
      }
      const date = { year, month: day.month, day: day.day };
      if (!isValidCalendarDate(date)) {
        fail(SNOOZE_ERRORS.invalidDate(`${year}-${pad2(day.month)}-${pad2(day.day)}`));
      }
      return onDay(date);
    }
  }
}

// -------------------------------------------------------------- entry points

function normalize(text: string): string {
  return text
    .normalize("NFKC")
    .toLowerCase()
    .replace(/[`"“”]/g, " ")
    .replace(/(?<![a-z])([ap])\.m\.?/g, "$1m")
    .replace(/,/g, " ")
    .replace(/\s+/g, " ")
    .trim()
    .replace(/[.!?]+$/, "")
    .trim();
}

function checkNow(now: Date): number {
  const nowMs = now instanceof Date ? now.getTime() : Number.NaN;
  if (Number.isNaN(nowMs)) throw new RangeError("Snooze parsing needs a valid `now`");
  return nowMs;
}

function parseOrFail(input: string, ctx: SnoozeContext): SnoozeParse {
  const nowMs = checkNow(ctx.now);
  if (typeof input !== "string" || input.length > MAX_INPUT_LENGTH) {
    fail(typeof input === "string" ? SNOOZE_ERRORS.unparseable : SNOOZE_ERRORS.empty);
  }
  const text = normalize(input);
  if (text === "") fail(SNOOZE_ERRORS.empty);

  const prefix = /^(until|till|til|untill|for|in)(?: |$)/.exec(text);
  const keyword = prefix?.[1];
  const mode = keyword === undefined ? "any" : keyword === "for" || keyword === "in" ? "duration" : "until";
  const rest = prefix ? text.slice(prefix[0].length).trim() : text;
  if (rest === "") fail(SNOOZE_ERRORS.empty);

  const durationMs = parseDuration(rest);
  if (durationMs !== null) {
    const ms = checkDuration(durationMs);
    return { ok: true, until: new Date(nowMs + ms), kind: "duration", durationMs: ms };
  }
  if (mode === "duration") fail(SNOOZE_ERRORS.duration);
  if (mode === "any" && /^\d+(?:\.\d+)?$/.test(rest)) fail(SNOOZE_ERRORS.needsUnit);

  const spec = parseUntilPhrase(rest);
  if (!spec) fail(SNOOZE_ERRORS.unparseable);
  if (!isValidTimeZone(ctx.timeZone)) fail(SNOOZE_ERRORS.badTimeZone);
  const until = resolveUntil(spec, ctx.now, ctx.timeZone);
  if (until.getTime() - nowMs > MAX_SNOOZE_MS) fail(SNOOZE_ERRORS.tooFar);
  return { ok: true, until, kind: "until" };
}

/**
 * Reads a snooze time as typed by a Slack user: a duration (`2h`, `1h30m`,
 * `for 3 days`) or a point in time (`until 5pm`, `tomorrow 9am`,
 * `until 2026-12-24 08:00`) in the user's time zone. Never throws for bad
 * input; throws RangeError only for an invalid `now`.
 */
export function parseSnoozeWhen(text: string, ctx: SnoozeContext): SnoozeParse {
  try {
    return parseOrFail(text, ctx);
  } catch (error) {
    if (error instanceof SnoozeInputError) {
      return error.message === SNOOZE_ERRORS.unparseable
        ? { ok: false, error: error.message, unreadable: true }
        : { ok: false, error: error.message };
    }
    throw error;
  }
}

/**
 * The instant for a snooze button. `tomorrow_9` is 09:00 tomorrow and
 * `monday_9` is 09:00 on the first Monday after today (7 days ahead when today
 * is Monday), both in the user's zone. Throws RangeError for an unknown zone
 * (durations excepted) or an invalid `now`.
 */
export function snoozePreset(preset: SnoozePreset, ctx: SnoozeContext): Date {
  const nowMs = checkNow(ctx.now);
  const later = (ms: number) => new Date(nowMs + ms);
  switch (preset) {
    case "30m":
      return later(30 * MINUTE_MS);
    case "1h":
      return later(HOUR_MS);
    case "4h":
      return later(4 * HOUR_MS);
    case "1d":
      return later(DAY_MS);
    case "1w":
      return later(WEEK_MS);
    case "tomorrow_9":
      return resolveUntil({ day: { kind: "tomorrow" } }, ctx.now, ctx.timeZone);
    case "monday_9":
      return resolveUntil({ day: { kind: "weekday", weekday: 1, next: true } }, ctx.now, ctx.timeZone);
  }
}

const FORMAT_UNITS: ReadonlyArray<readonly [string, number]> = [
  ["week", WEEK_MS / MINUTE_MS],
  ["day", DAY_MS / MINUTE_MS],
  ["hour", HOUR_MS / MINUTE_MS],
  ["minute", 1],
];

/**
 * A duration in words, to the nearest minute: "30 minutes", "2 hours",
 * "1 day 3 hours", "1 week 2 days". Zero, negative or invalid input gives
 * "0 minutes"; anything under half a minute gives "less than a minute".
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return "0 minutes";
  let minutes = Math.round(ms / MINUTE_MS);
  if (minutes === 0) return "less than a minute";
  const words: string[] = [];
  for (const [name, size] of FORMAT_UNITS) {
    const count = Math.floor(minutes / size);
    if (count > 0) {
      words.push(`${count} ${name}${count === 1 ? "" : "s"}`);
      minutes -= count * size;
    }
  }
  return words.join(" ");
}
