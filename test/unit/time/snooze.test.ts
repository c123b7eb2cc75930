import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  formatDuration,
  MAX_SNOOZE_MS,
  parseSnoozeWhen,
  SNOOZE_ERRORS,
  type SnoozeParse,
  type SnoozePreset,
  snoozePreset,
  wallClockToInstant,
} from "../../../src/time/snooze.js";
import { wallClockCandidates, zonedWallClock } from "../../../src/time/zoned.js";

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;

const NY = "America/New_York";
const LA = "America/Los_Angeles";
const BERLIN = "Europe/Berlin";
const KOLKATA = "Asia/Kolkata";
const LORD_HOWE = "Australia/Lord_Howe";
const CHATHAM = "Pacific/Chatham";
const KIRITIMATI = "Pacific/Kiritimati";

/** Wednesday 2026-06-10, 11:37:12.345 in New York (EDT, UTC-4). */
const NY_NOW = "2026-06-10T15:37:12.345Z";

function parse(text: string, timeZone: string, now: string): SnoozeParse {
  return parseSnoozeWhen(text, { now: new Date(now), timeZone });
}

function untilIso(text: string, timeZone: string, now: string): string {
  const result = parse(text, timeZone, now);
  if (!result.ok) throw new Error(`expected "${text}" to parse, got: ${result.error}`);
  return result.until.toISOString();
}

/** The wall clock an instant shows in a zone, read with Intl directly (independent of the code under test). */
const clockFormats = new Map<string, Intl.DateTimeFormat>();
function localClock(instant: Date, timeZone: string): string {
  let format = clockFormats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-CA", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
    });
    clockFormats.set(timeZone, format);
  }
  const parts = format.formatToParts(instant);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "?";
  return `${get("year")}-${get("month")}-${get("day")} ${get("hour")}:${get("minute")}`;
}

describe("durations are exact elapsed time from now", () => {
  const cases: Array<[string, number]> = [
    ["30m", 30 * MIN],
    ["2h", 2 * HOUR],
    ["1d", DAY],
    ["1w", WEEK],
    ["90 minutes", 90 * MIN],
    ["1 hour", HOUR],
    ["2 hrs", 2 * HOUR],
    ["3 days", 3 * DAY],
    ["1 week", WEEK],
    ["1h30m", 90 * MIN],
    ["1h 30m", 90 * MIN],
    ["for 2h", 2 * HOUR],
    ["in 45 mins", 45 * MIN],
    ["5 min", 5 * MIN],
    ["1 minute", MIN],
    ["2 wks", 2 * WEEK],
    ["1 wk", WEEK],
    ["an hour", HOUR],
    ["a day", DAY],
    ["1 hour and 30 minutes", 90 * MIN],
    ["1.5h", 90 * MIN],
    ["  2H  ", 2 * HOUR],
    ["FOR   1D 12H", 36 * HOUR],
    ["`2h`", 2 * HOUR],
    ["365d", 365 * DAY],
    ["52w", 52 * WEEK],
    ["8760h", MAX_SNOOZE_MS],
  ];

  it.each(cases)("%s → now + %i ms", (text, ms) => {
    const result = parse(text, NY, NY_NOW);
    expect(result).toEqual({
      ok: true,
      kind: "duration",
      durationMs: ms,
      until: new Date(Date.parse(NY_NOW) + ms),
    });
  });

  it('reads "30m" as 30 minutes, never months', () => {
    const result = parse("30m", NY, NY_NOW);
    expect(result.ok && result.until.toISOString()).toBe("2026-06-10T16:07:12.345Z");
  });

  it("keeps the seconds and milliseconds of now (no rounding to the hour or day)", () => {
    expect(untilIso("1h", BERLIN, "2026-06-10T14:37:59.999Z")).toBe("2026-06-10T15:37:59.999Z");
  });

  it("does not need a valid time zone", () => {
    for (const zone of ["Not/AZone", ""]) {
      const result = parse("2h", zone, NY_NOW);
      expect(result.ok && result.until.toISOString()).toBe("2026-06-10T17:37:12.345Z");
    }
  });

  describe("1d is 24 elapsed hours across a clock change (the wall clock moves by an hour)", () => {
    const rows: Array<[string, string, string, string, string]> = [
      // zone, now, expected "1d", its local wall clock, "until tomorrow <same time>" for contrast
      [
        NY,
        "2026-03-07T17:00:00Z",
        "2026-03-08T17:00:00.000Z",
        "2026-03-08 13:00",
        "2026-03-08T16:00:00.000Z",
      ],
      [
        NY,
        "2026-10-31T16:00:00Z",
        "2026-11-01T16:00:00.000Z",
        "2026-11-01 11:00",
        "2026-11-01T17:00:00.000Z",
      ],
      [
        BERLIN,
        "2026-03-28T12:00:00Z",
        "2026-03-29T12:00:00.000Z",
        "2026-03-29 14:00",
        "2026-03-29T11:00:00.000Z",
      ],
      [
        BERLIN,
        "2026-10-24T12:00:00Z",
        "2026-10-25T12:00:00.000Z",
        "2026-10-25 13:00",
        "2026-10-25T13:00:00.000Z",
      ],
      [
        LORD_HOWE,
        "2026-10-03T12:00:00Z",
        "2026-10-04T12:00:00.000Z",
        "2026-10-04 23:00",
        "2026-10-04T11:30:00.000Z",
      ],
    ];
    it.each(rows)("%s at %s", (zone, now, expected, wall, wallClockForm) => {
      const result = parse("1d", zone, now);
      expect(result.ok && result.durationMs).toBe(DAY);
      expect(result.ok && result.until.toISOString()).toBe(expected);
      expect(result.ok && localClock(result.until, zone)).toBe(wall);
      const sameTime = localClock(new Date(now), zone).slice(11);
      expect(untilIso(`until tomorrow ${sameTime}`, zone, now)).toBe(wallClockForm);
    });
  });
});

describe("until <time> in the user's zone", () => {
  // [zone, now, input, expected instant]
  const cases: Array<[string, string, string, string]> = [
    // New York, Wednesday 11:37:12 EDT
    [NY, NY_NOW, "until 17:00", "2026-06-10T21:00:00.000Z"],
    [NY, NY_NOW, "until 5pm", "2026-06-10T21:00:00.000Z"],
    [NY, NY_NOW, "until 5:30 pm", "2026-06-10T21:30:00.000Z"],
    [NY, NY_NOW, "until 5:30 P.M.", "2026-06-10T21:30:00.000Z"],
    [NY, NY_NOW, "UNTIL   5:30PM", "2026-06-10T21:30:00.000Z"],
    [NY, NY_NOW, "till 5pm", "2026-06-10T21:00:00.000Z"],
    [NY, NY_NOW, "5pm", "2026-06-10T21:00:00.000Z"],
    [NY, NY_NOW, "at 5pm", "2026-06-10T21:00:00.000Z"],
    [NY, NY_NOW, "until 12pm", "2026-06-10T16:00:00.000Z"],
    [NY, NY_NOW, "until 12:30am", "2026-06-11T04:30:00.000Z"],
    [NY, NY_NOW, "until noon", "2026-06-10T16:00:00.000Z"],
    [NY, NY_NOW, "until midnight", "2026-06-11T04:00:00.000Z"],
    [NY, NY_NOW, "until 11:38", "2026-06-10T15:38:00.000Z"],
    // already passed today → tomorrow (11:37:00 is before 11:37:12)
    [NY, NY_NOW, "until 8am", "2026-06-11T12:00:00.000Z"],
    [NY, NY_NOW, "until 11:37", "2026-06-11T15:37:00.000Z"],
    [NY, NY_NOW, "until 00:00", "2026-06-11T04:00:00.000Z"],
    [NY, NY_NOW, "until today 5pm", "2026-06-10T21:00:00.000Z"],
    [NY, NY_NOW, "until tomorrow", "2026-06-11T13:00:00.000Z"],
    [NY, NY_NOW, "until tomorrow 9am", "2026-06-11T13:00:00.000Z"],
    [NY, NY_NOW, "until tomorrow at 9:00", "2026-06-11T13:00:00.000Z"],
    [NY, NY_NOW, "until tomorrow @ 9:00", "2026-06-11T13:00:00.000Z"],
    [NY, NY_NOW, "tomorrow 9am", "2026-06-11T13:00:00.000Z"],
    [NY, NY_NOW, "9am tomorrow", "2026-06-11T13:00:00.000Z"],
    [NY, NY_NOW, "until tomorrow midnight", "2026-06-12T04:00:00.000Z"],
    [NY, NY_NOW, "until monday", "2026-06-15T13:00:00.000Z"],
    [NY, NY_NOW, "until Mon", "2026-06-15T13:00:00.000Z"],
    [NY, NY_NOW, "until monday 09:00", "2026-06-15T13:00:00.000Z"],
    [NY, NY_NOW, "until next monday 9am", "2026-06-15T13:00:00.000Z"],
    [NY, NY_NOW, "until 9am on monday", "2026-06-15T13:00:00.000Z"],
    [NY, NY_NOW, "next week", "2026-06-15T13:00:00.000Z"],
    [NY, NY_NOW, "until 2026-12-24 08:00", "2026-12-24T13:00:00.000Z"],
    [NY, NY_NOW, "until 2026-12-24T08:00", "2026-12-24T13:00:00.000Z"],
    [NY, NY_NOW, "until 2026/12/24 8am", "2026-12-24T13:00:00.000Z"],
    [NY, NY_NOW, "until 2026-12-24", "2026-12-24T14:00:00.000Z"],
    [NY, NY_NOW, "until Dec 24 8am", "2026-12-24T13:00:00.000Z"],
    [NY, NY_NOW, "until 24 December", "2026-12-24T14:00:00.000Z"],
    [NY, NY_NOW, "until 24th of december", "2026-12-24T14:00:00.000Z"],
    [NY, NY_NOW, "until December 24th, 2026 at 8:00 am", "2026-12-24T13:00:00.000Z"],
    [NY, NY_NOW, "until Dec 24 midnight", "2026-12-25T05:00:00.000Z"],
    [NY, NY_NOW, "2026-12-24 08:00", "2026-12-24T13:00:00.000Z"],
    [NY, NY_NOW, "until June 10 5pm", "2026-06-10T21:00:00.000Z"],
    // a date without a year that has gone by this year is next year's
    [NY, NY_NOW, "until june 9", "2027-06-09T13:00:00.000Z"],
    [NY, NY_NOW, "until 2027-06-10 11:00", "2027-06-10T15:00:00.000Z"],
    // weekdays: today is Wednesday
    [NY, NY_NOW, "until wednesday 5pm", "2026-06-10T21:00:00.000Z"],
    [NY, NY_NOW, "until wednesday", "2026-06-17T13:00:00.000Z"],
    [NY, NY_NOW, "until wednesday 10am", "2026-06-17T14:00:00.000Z"],
    [NY, NY_NOW, "until next wednesday 5pm", "2026-06-17T21:00:00.000Z"],
    [NY, NY_NOW, "until thursday", "2026-06-11T13:00:00.000Z"],
    [NY, NY_NOW, "until next thursday", "2026-06-11T13:00:00.000Z"],
    [NY, NY_NOW, "until this friday", "2026-06-12T13:00:00.000Z"],
    [NY, NY_NOW, "until friday midnight", "2026-06-13T04:00:00.000Z"],
    [NY, NY_NOW, "until tuesday", "2026-06-16T13:00:00.000Z"],
    // An "until" followed by a duration is still a duration.
    [NY, NY_NOW, "until 2h", "2026-06-10T17:37:12.345Z"],

    // Los Angeles: Wednesday 20:00 PDT, while UTC is already Thursday
    [LA, "2026-06-11T03:00:00Z", "until tomorrow 9am", "2026-06-11T16:00:00.000Z"],
    [LA, "2026-06-11T03:00:00Z", "until thursday", "2026-06-11T16:00:00.000Z"],
    [LA, "2026-06-11T03:00:00Z", "until 5pm", "2026-06-12T00:00:00.000Z"],
    [LA, "2026-06-11T03:00:00Z", "until 9pm", "2026-06-11T04:00:00.000Z"],

    // Zones ahead of UTC: the user's "tomorrow" is two UTC dates away
    [KOLKATA, "2026-06-10T20:00:00Z", "until tomorrow 9am", "2026-06-12T03:30:00.000Z"],
    [KOLKATA, "2026-06-10T20:00:00Z", "until 9am", "2026-06-11T03:30:00.000Z"],
    [KOLKATA, "2026-06-10T20:00:00Z", "until thursday 10am", "2026-06-11T04:30:00.000Z"],
    [KOLKATA, "2026-06-10T20:00:00Z", "until friday", "2026-06-12T03:30:00.000Z"],
    [KIRITIMATI, "2026-06-10T12:00:00Z", "until tomorrow", "2026-06-11T19:00:00.000Z"],
    [KIRITIMATI, "2026-06-10T12:00:00Z", "until midnight", "2026-06-11T10:00:00.000Z"],
    [CHATHAM, "2026-01-15T00:00:00Z", "until 5pm", "2026-01-15T03:15:00.000Z"],
    [BERLIN, NY_NOW, "until 17:00", "2026-06-11T15:00:00.000Z"],
    [BERLIN, NY_NOW, "until 18:00", "2026-06-10T16:00:00.000Z"],

    // Year rollover
    [LA, "2026-12-31T20:00:00Z", "until monday", "2027-01-04T17:00:00.000Z"],
    [LA, "2026-12-31T20:00:00Z", "until tomorrow", "2027-01-01T17:00:00.000Z"],
    [LA, "2026-12-31T20:00:00Z", "until jan 1", "2027-01-01T17:00:00.000Z"],
    [LA, "2026-12-31T20:00:00Z", "until dec 31 5pm", "2027-01-01T01:00:00.000Z"],
    [LA, "2026-12-31T20:00:00Z", "until dec 30", "2027-12-30T17:00:00.000Z"],
    [LA, "2026-12-31T20:00:00Z", "until 2027-01-02 10:00", "2027-01-02T18:00:00.000Z"],
    [BERLIN, "2026-12-31T22:30:00Z", "until monday", "2027-01-04T08:00:00.000Z"],
    [BERLIN, "2026-12-31T22:30:00Z", "until midnight", "2026-12-31T23:00:00.000Z"],
    // In Chatham it is already Friday 1 January 2027 01:45 while UTC is still 31 December
    [CHATHAM, "2026-12-31T12:00:00Z", "until monday", "2027-01-03T19:15:00.000Z"],
    [CHATHAM, "2026-12-31T12:00:00Z", "until tomorrow", "2027-01-01T19:15:00.000Z"],
    [CHATHAM, "2026-12-31T12:00:00Z", "until dec 31", "2027-12-30T19:15:00.000Z"],
  ];

  it.each(cases)("%s at %s: %s", (zone, now, text, expected) => {
    const result = parse(text, zone, now);
    expect(result.ok ? result.until.toISOString() : result.error).toBe(expected);
    expect(result.ok && result.kind).toBe(text.includes("2h") ? "duration" : "until");
  });

  it("date without a time means 09:00 in the user's zone", () => {
    for (const zone of [NY, BERLIN, KOLKATA, LORD_HOWE, CHATHAM]) {
      const result = parse("until 2026-12-24", zone, NY_NOW);
      expect(result.ok && localClock(result.until, zone)).toBe("2026-12-24 09:00");
    }
  });
});

describe("clock changes", () => {
  // [zone, now, input, expected instant, expected local wall clock]
  const cases: Array<[string, string, string, string, string]> = [
    // New York springs forward on 2026-03-08 at 02:00 EST → 03:00 EDT
    [NY, "2026-03-07T17:00:00Z", "until tomorrow 9am", "2026-03-08T13:00:00.000Z", "2026-03-08 09:00"],
    [NY, "2026-03-07T17:00:00Z", "until tomorrow 2:30am", "2026-03-08T07:30:00.000Z", "2026-03-08 03:30"],
    [NY, "2026-03-08T06:00:00Z", "until 02:30", "2026-03-08T07:30:00.000Z", "2026-03-08 03:30"],
    [NY, "2026-03-08T06:00:00Z", "until 2am", "2026-03-08T07:00:00.000Z", "2026-03-08 03:00"],
    [NY, "2026-03-08T06:00:00Z", "until 03:00", "2026-03-08T07:00:00.000Z", "2026-03-08 03:00"],
    [NY, "2026-03-08T06:00:00Z", "until 01:59", "2026-03-08T06:59:00.000Z", "2026-03-08 01:59"],
    // New York falls back on 2026-11-01 at 02:00 EDT → 01:00 EST: 01:30 happens twice
    [NY, "2026-10-31T16:00:00Z", "until tomorrow 9am", "2026-11-01T14:00:00.000Z", "2026-11-01 09:00"],
    [NY, "2026-10-31T16:00:00Z", "until tomorrow 1:30am", "2026-11-01T05:30:00.000Z", "2026-11-01 01:30"],
    [NY, "2026-11-01T04:30:00Z", "until 01:30", "2026-11-01T05:30:00.000Z", "2026-11-01 01:30"],
    // during the first 01:45 the second 01:30 is still ahead
    [NY, "2026-11-01T05:45:00Z", "until 01:30", "2026-11-01T06:30:00.000Z", "2026-11-01 01:30"],
    [NY, "2026-11-01T06:45:00Z", "until 01:30", "2026-11-02T06:30:00.000Z", "2026-11-02 01:30"],
    // Berlin: 2026-03-29 02:00 CET → 03:00 CEST, 2026-10-25 03:00 CEST → 02:00 CET
    [BERLIN, "2026-03-28T12:00:00Z", "until tomorrow 9am", "2026-03-29T07:00:00.000Z", "2026-03-29 09:00"],
    [BERLIN, "2026-03-28T12:00:00Z", "until tomorrow 02:30", "2026-03-29T01:30:00.000Z", "2026-03-29 03:30"],
    [BERLIN, "2026-03-29T00:30:00Z", "until 02:30", "2026-03-29T01:30:00.000Z", "2026-03-29 03:30"],
    [BERLIN, "2026-10-24T12:00:00Z", "until tomorrow 9am", "2026-10-25T08:00:00.000Z", "2026-10-25 09:00"],
    [BERLIN, "2026-10-24T12:00:00Z", "until tomorrow 2:30", "2026-10-25T00:30:00.000Z", "2026-10-25 02:30"],
    // Lord Howe moves its clocks by 30 minutes: 2026-10-04 02:00 → 02:30, 2026-04-05 02:00 → 01:30
    [
      LORD_HOWE,
      "2026-10-03T12:00:00Z",
      "until tomorrow 2:15",
      "2026-10-03T15:45:00.000Z",
      "2026-10-04 02:45",
    ],
    [LORD_HOWE, "2026-10-03T12:00:00Z", "until tomorrow 9am", "2026-10-03T22:00:00.000Z", "2026-10-04 09:00"],
    [
      LORD_HOWE,
      "2026-04-04T12:00:00Z",
      "until tomorrow 1:45",
      "2026-04-04T14:45:00.000Z",
      "2026-04-05 01:45",
    ],
    [LORD_HOWE, "2026-04-04T12:00:00Z", "until tomorrow 9am", "2026-04-04T22:30:00.000Z", "2026-04-05 09:00"],
    // Chatham (UTC+12:45 / +13:45): 2026-09-27 02:45 → 03:45
    [CHATHAM, "2026-09-26T00:00:00Z", "until tomorrow 3am", "2026-09-26T14:15:00.000Z", "2026-09-27 04:00"],
  ];

  it.each(cases)("%s at %s: %s", (zone, now, text, expected, wall) => {
    const result = parse(text, zone, now);
    expect(result.ok ? result.until.toISOString() : result.error).toBe(expected);
    expect(result.ok && localClock(result.until, zone)).toBe(wall);
  });
});

describe("refusals", () => {
  const cases: Array<[string, string]> = [
    ["", SNOOZE_ERRORS.empty],
    ["   ", SNOOZE_ERRORS.empty],
    ["until", SNOOZE_ERRORS.empty],
    ["for", SNOOZE_ERRORS.empty],
    ["hello", SNOOZE_ERRORS.unparseable],
    ["until whenever", SNOOZE_ERRORS.unparseable],
    ["tomorrow tomorrow", SNOOZE_ERRORS.unparseable],
    ["5pm 6pm", SNOOZE_ERRORS.unparseable],
    ["1 hour 30", SNOOZE_ERRORS.unparseable],
    ["x".repeat(500), SNOOZE_ERRORS.unparseable],
    ["for tomorrow", SNOOZE_ERRORS.duration],
    ["in 5pm", SNOOZE_ERRORS.duration],
    ["30", SNOOZE_ERRORS.needsUnit],
    ["until 5", SNOOZE_ERRORS.ambiguousHour],
    ["tomorrow at 9", SNOOZE_ERRORS.ambiguousHour],
    ["until 12/24", SNOOZE_ERRORS.ambiguousDate],
    ["until 24.12.2026", SNOOZE_ERRORS.ambiguousDate],
    ["1 month", SNOOZE_ERRORS.unsupportedUnit],
    ["2 years", SNOOZE_ERRORS.unsupportedUnit],
    ["30s", SNOOZE_ERRORS.unsupportedUnit],
    ["0m", SNOOZE_ERRORS.zero],
    ["0h 0m", SNOOZE_ERRORS.zero],
    ["for 0 days", SNOOZE_ERRORS.zero],
    ["0.1m", SNOOZE_ERRORS.tooShort],
    ["366d", SNOOZE_ERRORS.tooFar],
    ["53w", SNOOZE_ERRORS.tooFar],
    ["8761h", SNOOZE_ERRORS.tooFar],
    ["99999999999999999999h", SNOOZE_ERRORS.tooFar],
    [`${"9".repeat(190)}m`, SNOOZE_ERRORS.tooFar],
    ["until 2027-06-10 12:00", SNOOZE_ERRORS.tooFar],
    ["until 2030-01-01", SNOOZE_ERRORS.tooFar],
    ["until 2025-01-01", SNOOZE_ERRORS.past],
    ["until today 9am", SNOOZE_ERRORS.past],
    ["until 2026-06-10 11:00", SNOOZE_ERRORS.past],
    ["until june 10 8am", SNOOZE_ERRORS.past],
    ["until today", SNOOZE_ERRORS.todayNeedsTime],
    ["until 2026-02-30", SNOOZE_ERRORS.invalidDate("2026-02-30")],
    ["until 2026-13-01", SNOOZE_ERRORS.invalidDate("2026-13-01")],
    ["until feb 30", SNOOZE_ERRORS.invalidDate("2027-02-30")],
    ["until april 31 2027", SNOOZE_ERRORS.invalidDate("2027-04-31")],
    ["until 25:00", SNOOZE_ERRORS.invalidTime("25:00")],
    ["until 24:00", SNOOZE_ERRORS.invalidTime("24:00")],
    ["until 12:60", SNOOZE_ERRORS.invalidTime("12:60")],
    ["until 13pm", SNOOZE_ERRORS.invalidTime("13pm")],
    ["until 0am", SNOOZE_ERRORS.invalidTime("0am")],
    ["until 17:00 pm", SNOOZE_ERRORS.invalidTime("17:00 pm")],
    ["until 2026-12-24T25:00", SNOOZE_ERRORS.invalidTime("2026-12-24t25:00")],
  ];

  it.each(cases)("%j", (text, error) => {
    // Text not read as a time at all says so, apart from a time read and refused.
    const unreadable = error === SNOOZE_ERRORS.unparseable ? { unreadable: true } : {};
    expect(parse(text, NY, NY_NOW)).toEqual({ ok: false, error, ...unreadable });
  });

  it("every message is one sentence with a backticked example", () => {
    const messages = [
      ...Object.values(SNOOZE_ERRORS).flatMap((m) => (typeof m === "string" ? [m] : [])),
      SNOOZE_ERRORS.invalidDate("2026-02-30"),
      SNOOZE_ERRORS.invalidTime("25:00"),
    ];
    for (const message of messages) {
      expect(message).toMatch(/^[A-Z`].*\.$/);
      expect(message).toMatch(/`[^`]+`/);
      expect(message.split(/\.\s/)).toHaveLength(1);
    }
  });

  it("refuses clock times when the time zone is unknown, but still reports unreadable text as such", () => {
    for (const zone of ["Not/AZone", "", "Mars/Olympus_Mons"]) {
      expect(parse("until 5pm", zone, NY_NOW)).toEqual({ ok: false, error: SNOOZE_ERRORS.badTimeZone });
      expect(parse("tomorrow 9am", zone, NY_NOW)).toEqual({ ok: false, error: SNOOZE_ERRORS.badTimeZone });
      expect(parse("nonsense", zone, NY_NOW)).toEqual({
        ok: false,
        error: SNOOZE_ERRORS.unparseable,
        unreadable: true,
      });
    }
  });

  it("throws only for an invalid now", () => {
    expect(() => parseSnoozeWhen("2h", { now: new Date(Number.NaN), timeZone: NY })).toThrow(RangeError);
  });
});

describe("wallClockToInstant", () => {
  // [zone, local wall clock, expected instant]
  const cases: Array<[string, string, string]> = [
    [NY, "2026-06-10 12:00", "2026-06-10T16:00:00.000Z"],
    [NY, "2026-01-10 12:00", "2026-01-10T17:00:00.000Z"],
    ["UTC", "2026-06-10 12:00", "2026-06-10T12:00:00.000Z"],
    [KOLKATA, "2026-06-11 09:00", "2026-06-11T03:30:00.000Z"],
    [CHATHAM, "2026-01-15 12:00", "2026-01-14T22:15:00.000Z"],
    // gaps: shifted forward by the gap
    [NY, "2026-03-08 02:30", "2026-03-08T07:30:00.000Z"],
    [NY, "2026-03-08 02:00", "2026-03-08T07:00:00.000Z"],
    [BERLIN, "2026-03-29 02:30", "2026-03-29T01:30:00.000Z"],
    [LORD_HOWE, "2026-10-04 02:15", "2026-10-03T15:45:00.000Z"],
    [CHATHAM, "2026-09-27 03:00", "2026-09-26T14:15:00.000Z"],
    // Samoa skipped 30 December 2011 entirely: a 24-hour gap
    ["Pacific/Apia", "2011-12-30 12:00", "2011-12-30T22:00:00.000Z"],
    // overlaps: the earlier instant
    [NY, "2026-11-01 01:30", "2026-11-01T05:30:00.000Z"],
    [BERLIN, "2026-10-25 02:30", "2026-10-25T00:30:00.000Z"],
    [LORD_HOWE, "2026-04-05 01:45", "2026-04-04T14:45:00.000Z"],
    // just outside the changes
    [NY, "2026-11-01 02:00", "2026-11-01T07:00:00.000Z"],
    [NY, "2026-11-01 00:59", "2026-11-01T04:59:00.000Z"],
  ];

  it.each(cases)("%s %s", (timeZone, wall, expected) => {
    const [y, mo, d, h, mi] = wall.split(/[- :]/).map(Number);
    const parts = { year: y ?? 0, month: mo ?? 0, day: d ?? 0, hour: h ?? 0, minute: mi ?? 0 };
    expect(wallClockToInstant({ timeZone }, parts).toISOString()).toBe(expected);
  });

  it("lists both instants of an overlap, earliest first", () => {
    const both = wallClockCandidates(NY, { year: 2026, month: 11, day: 1, hour: 1, minute: 30 });
    expect(both.map((d) => d.toISOString())).toEqual([
      "2026-11-01T05:30:00.000Z",
      "2026-11-01T06:30:00.000Z",
    ]);
  });

  it("throws RangeError for impossible dates, times and zones", () => {
    const ok = { year: 2026, month: 6, day: 10, hour: 12, minute: 0 };
    for (const bad of [
      { ...ok, month: 13 },
      { ...ok, month: 2, day: 30 },
      { ...ok, day: 0 },
      { ...ok, hour: 24 },
      { ...ok, minute: 60 },
      { ...ok, hour: 1.5 },
    ]) {
      expect(() => wallClockToInstant({ timeZone: NY }, bad)).toThrow(RangeError);
    }
    expect(() => wallClockToInstant({ timeZone: "Not/AZone" }, ok)).toThrow(RangeError);
  });

  it("property: every instant is among the candidates of the wall clock it shows", () => {
    const zones = [NY, LA, BERLIN, KOLKATA, LORD_HOWE, CHATHAM, KIRITIMATI, "UTC", "Pacific/Apia"];
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(2000, 0, 1) / MIN, max: Date.UTC(2090, 0, 1) / MIN }),
        fc.constantFrom(...zones),
        (minutes, timeZone) => {
          const instant = new Date(minutes * MIN);
          const wall = zonedWallClock(instant, timeZone);
          const candidates = wallClockCandidates(timeZone, wall).map((d) => d.getTime());
          expect(candidates).toContain(instant.getTime());
          expect(wallClockToInstant({ timeZone }, wall).getTime()).toBeLessThanOrEqual(instant.getTime());
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("snoozePreset", () => {
  const wednesday = { now: new Date(NY_NOW), timeZone: NY };
  const cases: Array<[SnoozePreset, string]> = [
    ["30m", "2026-06-10T16:07:12.345Z"],
    ["1h", "2026-06-10T16:37:12.345Z"],
    ["4h", "2026-06-10T19:37:12.345Z"],
    ["1d", "2026-06-11T15:37:12.345Z"],
    ["1w", "2026-06-17T15:37:12.345Z"],
    ["tomorrow_9", "2026-06-11T13:00:00.000Z"],
    ["monday_9", "2026-06-15T13:00:00.000Z"],
  ];

  it.each(cases)("%s on a Wednesday in New York", (preset, expected) => {
    expect(snoozePreset(preset, wednesday).toISOString()).toBe(expected);
  });

  it("monday_9 on a Monday morning is next week's Monday", () => {
    const mondayMorning = { now: new Date("2026-06-15T12:00:00Z"), timeZone: NY };
    expect(snoozePreset("monday_9", mondayMorning).toISOString()).toBe("2026-06-22T13:00:00.000Z");
  });

  it("tomorrow_9 uses the user's date, not UTC's", () => {
    const lateInKolkata = { now: new Date("2026-06-10T20:00:00Z"), timeZone: KOLKATA };
    expect(snoozePreset("tomorrow_9", lateInKolkata).toISOString()).toBe("2026-06-12T03:30:00.000Z");
  });

  it("tomorrow_9 across the spring-forward night is 09:00 local", () => {
    const saturday = { now: new Date("2026-03-07T17:00:00Z"), timeZone: NY };
    expect(snoozePreset("tomorrow_9", saturday).toISOString()).toBe("2026-03-08T13:00:00.000Z");
  });

  it("throws RangeError for an unknown zone only when the zone matters", () => {
    const nowhere = { now: new Date(NY_NOW), timeZone: "Not/AZone" };
    expect(snoozePreset("1h", nowhere).toISOString()).toBe("2026-06-10T16:37:12.345Z");
    expect(() => snoozePreset("tomorrow_9", nowhere)).toThrow(RangeError);
  });
});

describe("formatDuration", () => {
  const cases: Array<[number, string]> = [
    [30 * MIN, "30 minutes"],
    [MIN, "1 minute"],
    [2 * HOUR, "2 hours"],
    [HOUR + MIN, "1 hour 1 minute"],
    [90 * MIN, "1 hour 30 minutes"],
    [27 * HOUR, "1 day 3 hours"],
    [DAY, "1 day"],
    [WEEK, "1 week"],
    [8 * DAY + 2 * HOUR, "1 week 1 day 2 hours"],
    [MAX_SNOOZE_MS, "52 weeks 1 day"],
    [89.5 * MIN, "1 hour 30 minutes"],
    [59 * MIN + 40_000, "1 hour"],
    [10_000, "less than a minute"],
    [0, "0 minutes"],
    [-5 * MIN, "0 minutes"],
    [Number.NaN, "0 minutes"],
  ];
  it.each(cases)("%d ms → %s", (ms, expected) => {
    expect(formatDuration(ms)).toBe(expected);
  });
});

describe("properties", () => {
  const zones = [NY, LA, BERLIN, KOLKATA, LORD_HOWE, CHATHAM, KIRITIMATI, "UTC"];
  const nowArb = fc.date({
    min: new Date("2000-01-01T00:00:00Z"),
    max: new Date("2090-01-01T00:00:00Z"),
    noInvalidDate: true,
  });
  const units: Array<[string, number]> = [
    ["m", MIN],
    ["min", MIN],
    ["minutes", MIN],
    ["h", HOUR],
    ["hrs", HOUR],
    ["hours", HOUR],
    ["d", DAY],
    ["days", DAY],
    ["w", WEEK],
    ["weeks", WEEK],
  ];
  const pick = <T>(...values: T[]) => fc.constantFrom(...values);
  const phraseArb = fc
    .tuple(
      pick("", "until ", "till ", "for ", "in "),
      pick(
        "",
        "today ",
        "tomorrow ",
        "monday ",
        "next friday ",
        "sun ",
        "dec 24 ",
        "24 december ",
        "2026-03-08 ",
      ),
      pick("", "at ", "@ "),
      pick(
        "",
        "9am",
        "17:00",
        "5:30 pm",
        "noon",
        "midnight",
        "02:30",
        "1:30am",
        "12am",
        "11:59pm",
        "30m",
        "2h",
      ),
    )
    .map((parts) => parts.join("").trim());
  const inputArb = fc.oneof(phraseArb, fc.string({ maxLength: 30 }));

  it("every successful parse is strictly after now, at most a year ahead, and a UTC ISO instant", () => {
    fc.assert(
      fc.property(inputArb, nowArb, fc.constantFrom(...zones), (text, now, timeZone) => {
        const result = parseSnoozeWhen(text, { now, timeZone });
        if (!result.ok) {
          expect(result.error.length).toBeGreaterThan(0);
          return;
        }
        expect(result.until.getTime()).toBeGreaterThan(now.getTime());
        expect(result.until.getTime() - now.getTime()).toBeLessThanOrEqual(MAX_SNOOZE_MS);
        expect(result.until.toISOString().endsWith("Z")).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it("durations equal now + n × unit exactly, or are refused as too long", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 600 }),
        fc.constantFrom(...units),
        fc.boolean(),
        nowArb,
        (n, [unit, unitMs], spaced, now) => {
          const result = parseSnoozeWhen(`${n}${spaced ? " " : ""}${unit}`, { now, timeZone: "Not/AZone" });
          if (n * unitMs > MAX_SNOOZE_MS) {
            expect(result).toEqual({ ok: false, error: SNOOZE_ERRORS.tooFar });
          } else {
            expect(result).toEqual({
              ok: true,
              kind: "duration",
              durationMs: n * unitMs,
              until: new Date(now.getTime() + n * unitMs),
            });
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it("a clock time alone always lands on that wall clock (or after a gap) within the next 25 hours", () => {
    fc.assert(
      fc.property(
        nowArb,
        fc.constantFrom(...zones),
        fc.integer({ min: 0, max: 23 }),
        fc.integer({ min: 0, max: 59 }),
        (now, timeZone, hour, minute) => {
          const hhmm = `${String(hour).padStart(2, "0")}:${String(minute).padStart(2, "0")}`;
          const result = parseSnoozeWhen(`until ${hhmm}`, { now, timeZone });
          expect(result.ok).toBe(true);
          if (!result.ok) return;
          expect(result.until.getTime() - now.getTime()).toBeLessThanOrEqual(25 * HOUR);
          const shown = localClock(result.until, timeZone).slice(11);
          // Only a time skipped by the clocks may show differently, and then later.
          if (shown !== hhmm) expect(shown > hhmm).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("independent of the machine's time zone", () => {
  const original = process.env.TZ;
  afterAll(() => {
    if (original === undefined) delete process.env.TZ;
    else process.env.TZ = original;
  });

  for (const machineZone of ["Pacific/Chatham", "America/Los_Angeles", "UTC"]) {
    describe(`process TZ=${machineZone}`, () => {
      beforeAll(() => {
        process.env.TZ = machineZone;
      });

      it("gives the same instants", () => {
        const expectedOffset = machineZone === "UTC" ? 0 : machineZone === "Pacific/Chatham" ? -825 : 480;
        expect(new Date("2026-01-15T00:00:00Z").getTimezoneOffset()).toBe(expectedOffset);
        expect(untilIso("until tomorrow 9am", KOLKATA, "2026-06-10T20:00:00Z")).toBe(
          "2026-06-12T03:30:00.000Z",
        );
        expect(untilIso("until 02:30", NY, "2026-03-08T06:00:00Z")).toBe("2026-03-08T07:30:00.000Z");
        expect(untilIso("until monday", CHATHAM, "2026-12-31T12:00:00Z")).toBe("2027-01-03T19:15:00.000Z");
        expect(untilIso("until midnight", BERLIN, "2026-12-31T22:30:00Z")).toBe("2026-12-31T23:00:00.000Z");
      });
    });
  }
});
