/**
 * An in-process fake of the parts of PostHog's REST API the bot uses: insight alerts, insights,
 * organisation members and the current user. It runs as a real HTTP server on 127.0.0.1 (port 0)
 * and is deliberately as strict as the real service: the same status codes, the same
 * `{type, code, detail, attr}` error bodies (first error only), the same validation order, the
 * same snooze rounding and the same state side effects. It is an independent implementation and
 * shares no code with the client it is used to test.
 *
 * Deliberate details worth knowing when writing tests against it:
 * - Datetimes are rendered the way Django REST framework renders them: UTC with a `Z` suffix and
 *   microseconds only when non-zero (`2025-06-02T15:00:00Z`, `2025-06-02T15:00:00.123000Z`).
 * - POST and PATCH responses carry no `checks` key (the server serialises an instance that has no
 *   check list attached); POST returns `last_value: null` and PATCH returns the value read before
 *   the update, so a snooze's null check only shows up on the next read.
 * - A snooze that has expired is read back as `"Not firing"` with `snoozed_until: null`, except
 *   on a disabled alert, which keeps `snoozed_until` as it was (nothing evaluates it).
 * - Alerts whose insight is deleted or no longer alertable are gone: hidden from lists, 404 on access.
 * - The request clock (`now`) drives timestamps, snooze parsing, expiry and the rate-limit window.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

export type FakeAlertState = "Firing" | "Not firing" | "Errored" | "Snoozed";

export interface FakeUserBasic {
  id: number;
  uuid: string;
  distinct_id: string;
  first_name: string;
  last_name: string;
  email: string;
  is_email_verified: boolean;
  hedgehog_config: null;
  role_at_organization: string | null;
}

export interface FakeMember {
  /** Membership UUID (not the user id). */
  id: string;
  user: FakeUserBasic;
  level: number;
  joined_at: string;
  updated_at: string;
  is_2fa_enabled: boolean;
  has_social_auth: boolean;
  last_login: string | null;
}

export interface FakeInsight {
  id: number;
  short_id: string;
  name: string | null;
  derived_name: string | null;
  description: string;
  /** HogQL node tree, e.g. `{kind: "InsightVizNode", source: {kind: "TrendsQuery", series: [...]}}`. */
  query: unknown;
  deleted: boolean;
  saved: boolean;
  favorited: boolean;
  tags: string[];
  created_at: string;
  last_modified_at: string;
  created_by: FakeUserBasic | null;
}

export interface FakeThresholdConfiguration {
  type: "absolute" | "percentage";
  bounds?: { lower?: number | null; upper?: number | null } | null;
}

export interface FakeThreshold {
  id: string;
  created_at: string;
  name: string;
  /** Stored exactly as sent (PostHog keeps the raw JSON). */
  configuration: FakeThresholdConfiguration;
}

export interface FakeCheck {
  id: string;
  created_at: string;
  calculated_value: number | null;
  state: FakeAlertState;
  targets_notified: boolean;
}

export interface FakeAlert {
  id: string;
  created_by: FakeUserBasic;
  created_at: string;
  insight: number;
  name: string;
  subscribed_users: number[];
  threshold: FakeThreshold | null;
  condition: { type: string };
  state: FakeAlertState;
  enabled: boolean;
  last_notified_at: string | null;
  last_checked_at: string | null;
  next_check_at: string | null;
  /** Every check, in insertion order; responses sort them newest first. */
  checks: FakeCheck[];
  config: { type: string; series_index: number; check_ongoing_interval?: boolean | null };
  calculation_interval: string;
  snoozed_until: string | null;
  skip_weekend: boolean | null;
  last_value: number | null;
}

/** Seed for `addAlert`: anything omitted gets PostHog's default. */
export type FakeAlertSeed = Partial<Omit<FakeAlert, "threshold">> & {
  insight: number;
  threshold?: (Partial<FakeThreshold> & { configuration: FakeThresholdConfiguration }) | null;
};

export interface FakeRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Parsed JSON when the body is JSON, the raw text otherwise, undefined when empty. */
  body: unknown;
  headers: Record<string, string | undefined>;
  /** Milliseconds on the fake's clock (`now`) when the request arrived. */
  at: number;
}

export type FakeFault =
  | { status: number; body?: unknown; headers?: Record<string, string>; raw?: string }
  | "hang"
  | "reset";

export interface FakePostHogOptions {
  apiKey?: string;
  projectId?: number;
  scopes?: string[];
  now?: () => Date;
  /** Plan limit on the number of alerts in the project. */
  alertLimit?: number;
}

export interface FakePostHog {
  /** `http://127.0.0.1:PORT` */
  url: string;
  apiKey: string;
  projectId: number;
  organizationId: string;
  /** The personal API key's owner: member of the organisation, `created_by` of new alerts. */
  owner: FakeMember;
  close(): Promise<void>;
  addInsight(i: Partial<FakeInsight> & { name?: string }): FakeInsight;
  /** Soft-deletes an insight; like PostHog, its alerts are deleted with it. */
  deleteInsight(id: number): void;
  addMember(m: { email: string; first_name?: string; last_name?: string; is_active?: boolean }): FakeMember;
  /** A real, active user who is not in the organisation (cannot be subscribed). */
  addOutsider(u: { email: string; first_name?: string; last_name?: string }): FakeUserBasic;
  addAlert(a: FakeAlertSeed): FakeAlert;
  alerts: Map<string, FakeAlert>;
  insights: Map<number, FakeInsight>;
  /** Memberships keyed by user id. */
  members: Map<number, FakeMember>;
  /** A check that breached: state Firing, targets notified. Throws for disabled or snoozed alerts. */
  fire(alertId: string, value: number, at?: Date): void;
  /** A check that did not breach: state "Not firing". Throws for disabled or snoozed alerts. */
  resolve(alertId: string, value: number, at?: Date): void;
  /** A check that failed to compute: state Errored, null value. */
  error(alertId: string, at?: Date): void;
  requests: FakeRequest[];
  /** Takes alerts on these insight kinds too, as newer PostHog servers do (TrendsQuery always). */
  acceptAlertsOn(...kinds: string[]): void;
  setLatency(ms: number): void;
  failNext(n: number, fault: FakeFault): void;
  setScopes(scopes: string[]): void;
  setRateLimit(perMinute: number | null): void;
  reset(): void;
}

// ---------------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------------

const CONDITION_TYPES = ["absolute_value", "relative_increase", "relative_decrease"];
const THRESHOLD_TYPES = ["absolute", "percentage"];
const INTERVAL_CHOICES = ["real_time", "every_15_minutes", "hourly", "daily", "weekly", "monthly"];
const INTERVAL_MS: Record<string, number> = {
  real_time: 60_000,
  every_15_minutes: 15 * 60_000,
  hourly: 3_600_000,
  daily: 86_400_000,
  weekly: 7 * 86_400_000,
  monthly: 30 * 86_400_000,
};
const NON_TIME_SERIES_DISPLAYS = new Set([
  "BoldNumber",
  "ActionsPie",
  "ActionsDonut",
  "ActionsBarValue",
  "ActionsTable",
  "WorldMap",
]);
const DEFAULT_PAGE_SIZE = 100;
const DEFAULT_CHECKS = 5;
const MAX_CHECKS = 500;
const MAX_SEARCH_LENGTH = 200;
const NAME_MAX_LENGTH = 255;
const ORGANIZATION_ID = "0190f1a2-0000-7000-8000-00000000a11c";
const TEAM_UUID = "0190f1a2-0000-7000-8000-0000000be4a0";
const FIRST_INSIGHT_ID = 4801;
const OWNER_USER_ID = 1;
const SERVER_ERROR_BODY = {
  type: "server_error",
  code: "error",
  detail: "A server error occurred.",
  attr: null,
};

// ---------------------------------------------------------------------------------------------
// Small helpers: python-flavoured formatting and parsing
// ---------------------------------------------------------------------------------------------

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const pad = (n: number, width = 2): string => String(n).padStart(width, "0");

/** Django REST framework's datetime rendering: UTC, `Z`, microseconds only when non-zero. */
export function formatPostHogDate(ms: number, extraMicros = 0): string {
  const d = new Date(Math.floor(ms));
  const micros = d.getUTCMilliseconds() * 1000 + extraMicros;
  const base =
    `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}` +
    `T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return micros > 0 ? `${base}.${pad(micros, 6)}Z` : `${base}Z`;
}

/** Milliseconds (with a fractional part for microseconds) of a stored datetime string. */
function instantOf(s: string): number {
  const m = /^(.*?)(?:\.(\d+))?Z$/.exec(s);
  if (!m) return Date.parse(s);
  const whole = Date.parse(`${m[1]}Z`);
  const frac = m[2] ? Number(`0.${m[2]}`) * 1000 : 0;
  return whole + frac;
}

/** A check's instant, parsed once: every write adds a check, and the newest is looked up each time. */
const checkInstants = new WeakMap<FakeCheck, number>();

function checkInstant(check: FakeCheck): number {
  let t = checkInstants.get(check);
  if (t === undefined) {
    t = instantOf(check.created_at);
    checkInstants.set(check, t);
  }
  return t;
}

/**
 * The newest check so far of each alert's list, and how many checks it has seen. Checks are
 * only ever appended, so a write looks at the new ones alone: a snooze records a check, and a
 * long benchmark on one alert would otherwise scan thousands on every write.
 */
const newestSeen = new WeakMap<FakeCheck[], { seen: number; newest: FakeCheck | undefined; at: number }>();

/** The newest check (the later one of two at the same instant), without sorting them all. */
function newestCheck(checks: FakeCheck[]): FakeCheck | undefined {
  let state = newestSeen.get(checks);
  if (!state || state.seen > checks.length) {
    state = { seen: 0, newest: undefined, at: Number.NEGATIVE_INFINITY };
    newestSeen.set(checks, state);
  }
  for (let i = state.seen; i < checks.length; i++) {
    const check = checks[i] as FakeCheck;
    const t = checkInstant(check);
    if (t >= state.at) {
      state.newest = check;
      state.at = t;
    }
  }
  state.seen = checks.length;
  return state.newest;
}

/** The `limit` newest checks, newest first (the later of two at the same instant first), in one pass. */
function newestChecks(checks: FakeCheck[], limit: number): FakeCheck[] {
  // The bot's usual read (checks_limit=1) looks at the checks added since the last one only: a
  // long benchmark's snoozes add thousands, and a pass over all of them on every read made the
  // fake, which shares the machine with the bot, slower with every click.
  if (limit === 1) {
    const newest = newestCheck(checks);
    return newest ? [newest] : [];
  }
  const top: Array<{ c: FakeCheck; i: number; t: number }> = [];
  const before = (x: { i: number; t: number }, y: { i: number; t: number }) =>
    x.t > y.t || (x.t === y.t && x.i > y.i);
  for (let i = 0; i < checks.length; i++) {
    const entry = { c: checks[i] as FakeCheck, i, t: checkInstant(checks[i] as FakeCheck) };
    if (top.length === limit && !before(entry, top[top.length - 1] as { i: number; t: number })) continue;
    let at = top.length;
    while (at > 0 && before(entry, top[at - 1] as { i: number; t: number })) at--;
    top.splice(at, 0, entry);
    if (top.length > limit) top.pop();
  }
  return top.map((x) => x.c);
}

function pyStr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  const body = s
    .replace(/\\/g, "\\\\")
    .replace(/\n/g, "\\n")
    .replace(/\r/g, "\\r")
    .replace(/\t/g, "\\t")
    .replace(new RegExp(quote, "g"), `\\${quote}`);
  return `${quote}${body}${quote}`;
}

/** Python `repr()` of a JSON value, as it appears inside PostHog's error messages. */
function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "number") return String(v);
  if (typeof v === "string") return pyStr(v);
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(", ")}]`;
  if (isObject(v)) {
    return `{${Object.entries(v)
      .map(([k, x]) => `${pyStr(k)}: ${pyRepr(x)}`)
      .join(", ")}}`;
  }
  return String(v);
}

/** Python `str()`: like repr, except a bare string is not quoted. */
function pyToStr(v: unknown): string {
  return typeof v === "string" ? v : pyRepr(v);
}

/** Python type name of a JSON value. */
function pyType(v: unknown): string {
  if (v === null || v === undefined) return "NoneType";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number") return Number.isInteger(v) ? "int" : "float";
  if (typeof v === "string") return "str";
  if (Array.isArray(v)) return "list";
  return "dict";
}

/** Python `int(str)` rules: optional sign and surrounding whitespace, digits only. */
function pyInt(s: string): number | null {
  return /^\s*[+-]?\d+\s*$/.test(s) ? Number.parseInt(s.trim(), 10) : null;
}

/** `urllib.parse.quote_plus`. */
function quotePlus(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, "+");
}

/** Django REST framework's `replace_query_param` / `remove_query_param`: params re-sorted by key. */
function withQueryParam(absoluteUrl: string, key: string, value: string | null): string {
  const q = absoluteUrl.indexOf("?");
  const base = q === -1 ? absoluteUrl : absoluteUrl.slice(0, q);
  const query = q === -1 ? "" : absoluteUrl.slice(q + 1);
  const params = new Map<string, string[]>();
  for (const part of query.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const decode = (x: string) => decodeURIComponent(x.replace(/\+/g, " "));
    const k = decode(eq === -1 ? part : part.slice(0, eq));
    const v = eq === -1 ? "" : decode(part.slice(eq + 1));
    params.set(k, [...(params.get(k) ?? []), v]);
  }
  if (value === null) params.delete(key);
  else params.set(key, [value]);
  const encoded = [...params.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .flatMap(([k, vs]) => vs.map((v) => `${quotePlus(k)}=${quotePlus(v)}`))
    .join("&");
  return encoded ? `${base}?${encoded}` : base;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}

const clone = <T>(v: T): T => (v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T));

// ---------------------------------------------------------------------------------------------
// Snooze parsing: PostHog's relative_date_parse(value, UTC, increase=True, always_truncate=True)
// ---------------------------------------------------------------------------------------------

interface Parts {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
  s: number;
  us: number;
}

const daysIn = (y: number, mo: number): number => new Date(Date.UTC(y, mo, 0)).getUTCDate();

function partsOf(ms: number): Parts {
  const d = new Date(Math.floor(ms));
  return {
    y: d.getUTCFullYear(),
    mo: d.getUTCMonth() + 1,
    d: d.getUTCDate(),
    h: d.getUTCHours(),
    mi: d.getUTCMinutes(),
    s: d.getUTCSeconds(),
    us: d.getUTCMilliseconds() * 1000,
  };
}

function formatParts(p: Parts): string {
  const ms = Date.UTC(p.y, p.mo - 1, p.d, p.h, p.mi, p.s, Math.floor(p.us / 1000));
  return formatPostHogDate(ms, p.us % 1000);
}

/** dateutil's `isoparse` (the common forms), then `strptime("%Y-%m-%d")`; null when neither parses. */
function parseIsoLike(input: string): Parts | null {
  const m =
    /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?|(\d{2})(\d{2}))?(?:[T ](\d{2})(?::?(\d{2})(?::?(\d{2})(?:[.,](\d+))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/.exec(
      input,
    );
  if (m) {
    const y = Number(m[1]);
    const mo = Number(m[2] ?? m[4] ?? 1);
    const d = Number(m[3] ?? m[5] ?? 1);
    const hasDay = m[3] !== undefined || m[5] !== undefined;
    const hasTime = m[6] !== undefined;
    const h = Number(m[6] ?? 0);
    const mi = Number(m[7] ?? 0);
    const s = Number(m[8] ?? 0);
    const us = m[9] ? Number(m[9].slice(0, 6).padEnd(6, "0")) : 0;
    const valid =
      (!hasTime || hasDay) &&
      mo >= 1 &&
      mo <= 12 &&
      d >= 1 &&
      d <= daysIn(y, mo) &&
      h <= 23 &&
      mi <= 59 &&
      s <= 59;
    if (valid) {
      let offsetMin = 0;
      const tz = m[10];
      if (tz && tz !== "Z") {
        const t = /^([+-])(\d{2}):?(\d{2})?$/.exec(tz);
        if (t) offsetMin = (t[1] === "-" ? -1 : 1) * (Number(t[2]) * 60 + Number(t[3] ?? 0));
      }
      const local = Date.UTC(y, mo - 1, d, h, mi, s);
      return { ...partsOf(local - offsetMin * 60_000), us };
    }
  }
  const loose = /^(\d{4})-(1[0-2]|0[1-9]|[1-9])-(3[01]|[12]\d|0[1-9]|[1-9]| [1-9])$/.exec(input);
  if (loose) {
    const y = Number(loose[1]);
    const mo = Number(loose[2]);
    const d = Number((loose[3] ?? "").trim());
    if (d <= daysIn(y, mo)) return { y, mo, d, h: 0, mi: 0, s: 0, us: 0 };
  }
  return null;
}

interface Delta {
  years?: number;
  months?: number;
  weeks?: number;
  days?: number;
  hours?: number;
  minutes?: number;
  seconds?: number;
  month?: number;
  day?: number;
  hour?: number;
  minute?: number;
  second?: number;
  microsecond?: number;
}

function deltaFor(kind: string, num: string | undefined, position: string | undefined): Delta {
  const n = num ? Number(num) : undefined;
  const d: Delta = {};
  switch (kind) {
    case "h":
      if (n !== undefined) d.hours = n;
      if (position === "Start") Object.assign(d, { minute: 0, second: 0, microsecond: 0 });
      if (position === "End") Object.assign(d, { minute: 59, second: 59, microsecond: 999999 });
      break;
    case "d":
      if (n !== undefined) d.days = n;
      if (position === "Start") Object.assign(d, { hour: 0, minute: 0, second: 0, microsecond: 0 });
      if (position === "End") Object.assign(d, { hour: 23, minute: 59, second: 59, microsecond: 999999 });
      break;
    case "w":
      if (n !== undefined) d.weeks = n;
      break;
    case "m":
      if (n !== undefined) d.months = n;
      if (position === "Start") d.day = 1;
      if (position === "End") d.day = 31;
      break;
    case "M":
      if (n !== undefined) d.minutes = n;
      break;
    case "s":
      if (n !== undefined) d.seconds = n;
      break;
    case "q":
      if (n !== undefined) d.weeks = 13 * n;
      break;
    case "y":
      if (n !== undefined) d.years = n;
      if (position === "Start") Object.assign(d, { month: 1, day: 1 });
      if (position === "End") d.day = 31;
      break;
    default:
      break;
  }
  return d;
}

/** dateutil's `datetime + relativedelta(...)`. */
function addDelta(p: Parts, delta: Delta): Parts {
  let y = p.y + (delta.years ?? 0);
  let mo = delta.month ?? p.mo;
  if (delta.months) {
    mo += delta.months;
    y += Math.floor((mo - 1) / 12);
    mo = ((((mo - 1) % 12) + 12) % 12) + 1;
  }
  const d = Math.min(daysIn(y, mo), delta.day ?? p.d);
  const replaced: Parts = {
    y,
    mo,
    d,
    h: delta.hour ?? p.h,
    mi: delta.minute ?? p.mi,
    s: delta.second ?? p.s,
    us: delta.microsecond ?? p.us,
  };
  const ms =
    Date.UTC(replaced.y, replaced.mo - 1, replaced.d, replaced.h, replaced.mi, replaced.s) +
    ((delta.weeks ?? 0) * 7 + (delta.days ?? 0)) * 86_400_000 +
    (delta.hours ?? 0) * 3_600_000 +
    (delta.minutes ?? 0) * 60_000 +
    (delta.seconds ?? 0) * 1000;
  return { ...partsOf(ms), us: replaced.us };
}

/** The stored `snoozed_until` for a PATCH value, formatted as PostHog returns it. */
export function parseSnoozedUntil(input: string, now: Date): string {
  const absolute = parseIsoLike(input);
  if (absolute) return formatParts(absolute);
  const nowParts = partsOf(now.getTime());
  const m = /-?(?<number>[0-9]+)?(?<kind>[hdwmqysHDWMQY])(?<position>Start|End)?/.exec(input);
  if (!m?.groups) return formatParts(nowParts);
  const delta = deltaFor(m.groups.kind ?? "", m.groups.number, m.groups.position);
  const moved = addDelta(nowParts, delta);
  const truncated: Parts =
    delta.hours !== undefined ? { ...moved, mi: 0, s: 0, us: 0 } : { ...moved, h: 0, mi: 0, s: 0, us: 0 };
  return formatParts(truncated);
}

// ---------------------------------------------------------------------------------------------
// Errors and replies
// ---------------------------------------------------------------------------------------------

interface FieldError {
  code: string;
  detail: string;
  attr: string | null;
}

interface Reply {
  status: number;
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
}

type Result<T> = { ok: true; value: T } | { ok: false; error: FieldError };

const ok = <T>(value: T): Result<T> => ({ ok: true, value });
const bad = (attr: string | null, code: string, detail: string): { ok: false; error: FieldError } => ({
  ok: false,
  error: { code, detail, attr },
});

function errorReply(
  status: number,
  type: string,
  code: string,
  detail: string,
  attr: string | null = null,
  headers?: Record<string, string>,
): Reply {
  return { status, body: { type, code, detail, attr }, ...(headers ? { headers } : {}) };
}

const validationReply = (e: FieldError): Reply =>
  errorReply(400, "validation_error", e.code, e.detail, e.attr);
const notFound = (detail = "Not found."): Reply => errorReply(404, "invalid_request", "not_found", detail);
const methodNotAllowed = (method: string, allow: string[]): Reply =>
  errorReply(405, "invalid_request", "method_not_allowed", `Method "${method}" not allowed.`, null, {
    Allow: allow.join(", "),
  });

function throttledReply(waitSeconds: number): Reply {
  const unit = waitSeconds === 1 ? "second" : "seconds";
  return errorReply(
    429,
    "throttled_error",
    "throttled",
    `Request was throttled. Expected available in ${waitSeconds} ${unit}.`,
    null,
    { "Retry-After": String(waitSeconds) },
  );
}

// ---------------------------------------------------------------------------------------------
// Django REST framework field semantics
// ---------------------------------------------------------------------------------------------

const TRUE_VALUES = new Set<unknown>(["t", "T", "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE"]);
const FALSE_VALUES = new Set<unknown>(["f", "F", "n", "N", "no", "No", "NO", "false", "False", "FALSE"]);
for (const v of ["on", "On", "ON", "1", 1, true]) TRUE_VALUES.add(v);
for (const v of ["off", "Off", "OFF", "0", 0, false]) FALSE_VALUES.add(v);
const NULL_VALUES = new Set<unknown>(["null", "Null", "NULL", "", null]);

const nullError = (attr: string) => bad(attr, "null", "This field may not be null.");
const requiredError = (attr: string) => bad(attr, "required", "This field is required.");

function boolField(v: unknown, attr: string, allowNull: boolean): Result<boolean | null> {
  if (v === null) return allowNull ? ok(null) : nullError(attr);
  if (TRUE_VALUES.has(v)) return ok(true);
  if (FALSE_VALUES.has(v)) return ok(false);
  if (allowNull && NULL_VALUES.has(v)) return ok(null);
  return bad(attr, "invalid_input", "Must be a valid boolean.");
}

function charField(v: unknown, attr: string, maxLength: number): Result<string> {
  if (v === null) return nullError(attr);
  if (typeof v !== "string" && typeof v !== "number")
    return bad(attr, "invalid_input", "Not a valid string.");
  const s = String(v).trim();
  if (s.length > maxLength) {
    return bad(attr, "max_length", `Ensure this field has no more than ${maxLength} characters.`);
  }
  return ok(s);
}

/** A primary-key lookup value as Django would cast it, or an `incorrect_type` error. */
function pkValue(v: unknown, attr: string): Result<number> {
  if (v === null) return nullError(attr);
  if (typeof v === "number") return ok(Math.trunc(v));
  if (typeof v === "string" && pyInt(v) !== null) return ok(pyInt(v) ?? 0);
  return bad(attr, "incorrect_type", `Incorrect type. Expected pk value, received ${pyType(v)}.`);
}

const doesNotExist = (attr: string, v: unknown) =>
  bad(attr, "does_not_exist", `Invalid pk "${pyToStr(v)}" - object does not exist.`);

// ---------------------------------------------------------------------------------------------
// Pydantic-flavoured validation of the JSON fields
// ---------------------------------------------------------------------------------------------

interface PydanticError {
  loc: string;
  msg: string;
  type: string;
  input: unknown;
}

function pydanticMessage(model: string, errors: PydanticError[]): string {
  const head = `${errors.length} validation error${errors.length === 1 ? "" : "s"} for ${model}`;
  const lines = errors.map(
    (e) =>
      `${e.loc ? `${e.loc}\n  ` : "  "}${e.msg} [type=${e.type}, input_value=${pyRepr(e.input)}, input_type=${pyType(e.input)}]`,
  );
  return [head, ...lines].join("\n");
}

function laxFloat(v: unknown, loc: string, errors: PydanticError[]): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === "number") return v;
  if (typeof v === "string") {
    if (/^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i.test(v)) return Number(v);
    errors.push({
      loc,
      msg: "Input should be a valid number, unable to parse string as a number",
      type: "float_parsing",
      input: v,
    });
    return null;
  }
  errors.push({ loc, msg: "Input should be a valid number", type: "float_type", input: v });
  return null;
}

interface ParsedThreshold {
  type: string;
  lower: number | null;
  upper: number | null;
  hasBounds: boolean;
}

/** `InsightThreshold.model_validate` (extra keys forbidden). */
function parseInsightThreshold(
  cfg: unknown,
): { ok: true; value: ParsedThreshold } | { ok: false; errors: PydanticError[] } {
  const errors: PydanticError[] = [];
  if (!isObject(cfg)) {
    return {
      ok: false,
      errors: [
        {
          loc: "",
          msg: "Input should be a valid dictionary or instance of InsightThreshold",
          type: "model_type",
          input: cfg,
        },
      ],
    };
  }
  let lower: number | null = null;
  let upper: number | null = null;
  let hasBounds = false;
  const bounds = cfg.bounds;
  if (bounds !== undefined && bounds !== null) {
    if (!isObject(bounds)) {
      errors.push({
        loc: "bounds",
        msg: "Input should be a valid dictionary or instance of InsightsThresholdBounds",
        type: "model_type",
        input: bounds,
      });
    } else {
      hasBounds = true;
      lower = laxFloat(bounds.lower, "bounds.lower", errors);
      upper = laxFloat(bounds.upper, "bounds.upper", errors);
      for (const k of Object.keys(bounds)) {
        if (k !== "lower" && k !== "upper") {
          errors.push({
            loc: `bounds.${k}`,
            msg: "Extra inputs are not permitted",
            type: "extra_forbidden",
            input: bounds[k],
          });
        }
      }
    }
  }
  if (!("type" in cfg)) {
    errors.push({ loc: "type", msg: "Field required", type: "missing", input: cfg });
  } else if (typeof cfg.type !== "string" || !THRESHOLD_TYPES.includes(cfg.type)) {
    errors.push({
      loc: "type",
      msg: "Input should be 'absolute' or 'percentage'",
      type: "enum",
      input: cfg.type,
    });
  }
  for (const k of Object.keys(cfg)) {
    if (k !== "bounds" && k !== "type") {
      errors.push({ loc: k, msg: "Extra inputs are not permitted", type: "extra_forbidden", input: cfg[k] });
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, value: { type: String(cfg.type), lower, upper, hasBounds } };
}

function parseCondition(v: unknown): string | null {
  if (!isObject(v)) return null;
  if (Object.keys(v).some((k) => k !== "type")) return null;
  return typeof v.type === "string" && CONDITION_TYPES.includes(v.type) ? v.type : null;
}

function laxInt(v: unknown): number | null {
  if (typeof v === "number") return Number.isInteger(v) ? v : null;
  if (typeof v === "string") return pyInt(v);
  return null;
}

function laxBoolOrNull(v: unknown): boolean | null | undefined {
  if (v === null || v === undefined) return null;
  if (typeof v === "boolean") return v;
  if (v === 0 || v === 1) return v === 1;
  if (typeof v === "string") {
    const s = v.toLowerCase();
    if (["1", "on", "t", "true", "y", "yes"].includes(s)) return true;
    if (["0", "off", "f", "false", "n", "no"].includes(s)) return false;
  }
  return undefined;
}

/** `TrendsAlertConfig.model_validate` (extra keys forbidden). */
function parseTrendsConfig(v: unknown): { seriesIndex: number; checkOngoing: boolean } | null {
  if (!isObject(v)) return null;
  if (Object.keys(v).some((k) => !["type", "series_index", "check_ongoing_interval"].includes(k)))
    return null;
  if (v.type !== "TrendsAlertConfig") return null;
  const seriesIndex = laxInt(v.series_index);
  if (seriesIndex === null) return null;
  const checkOngoing = laxBoolOrNull(v.check_ongoing_interval);
  if (checkOngoing === undefined) return null;
  return { seriesIndex, checkOngoing: checkOngoing === true };
}

// ---------------------------------------------------------------------------------------------
// Insights
// ---------------------------------------------------------------------------------------------

function innermostQuery(query: unknown): Json | null {
  let q: unknown = query;
  for (let i = 0; i < 16 && isObject(q) && isObject(q.source); i++) q = q.source;
  return isObject(q) ? q : null;
}

function queryKind(insight: FakeInsight): string | null {
  const inner = innermostQuery(insight.query);
  return inner && typeof inner.kind === "string" ? inner.kind : null;
}

/** Null when alerts may be created on the insight (feature-flagged kinds are off, as on a default plan). */
function alertabilityError(insight: FakeInsight, accepted: ReadonlySet<string>): string | null {
  const kind = queryKind(insight);
  if (kind !== null && accepted.has(kind)) return null;
  if (kind === "HogQLQuery") return "SQL insight alerts are not enabled for your account.";
  if (kind === "FunnelsQuery") return "Funnel insight alerts are not enabled for your account.";
  return "Alerts are not supported for this insight.";
}

function seriesCount(source: Json): number {
  const trendsFilter = isObject(source.trendsFilter) ? source.trendsFilter : {};
  const formulaNodes = Array.isArray(trendsFilter.formulaNodes) ? trendsFilter.formulaNodes : [];
  if (formulaNodes.length > 0) return formulaNodes.length;
  return Array.isArray(source.series) ? source.series.length : 0;
}

function isNonTimeSeries(source: Json): boolean {
  const trendsFilter = isObject(source.trendsFilter) ? source.trendsFilter : {};
  return typeof trendsFilter.display === "string" && NON_TIME_SERIES_DISPLAYS.has(trendsFilter.display);
}

function defaultTrendsQuery(): Json {
  return {
    kind: "InsightVizNode",
    source: {
      kind: "TrendsQuery",
      series: [{ kind: "EventsNode", event: "$pageview", name: "$pageview", math: "total" }],
      interval: "day",
      dateRange: { date_from: "-7d" },
      trendsFilter: { display: "ActionsLineGraph" },
    },
  };
}

function shortIdFor(n: number): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  let x = (n * 2654435761) % 4294967296;
  let out = "";
  for (let i = 0; i < 8; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out += alphabet[x % alphabet.length];
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The fake
// ---------------------------------------------------------------------------------------------

interface UserRecord {
  user: FakeUserBasic;
  active: boolean;
}

interface Ctx {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | undefined>;
  rawBody: string;
  /** The request URL as an absolute URI, for pagination links. */
  absoluteUrl: string;
  origin: string;
}

interface ValidatedAlert {
  present: Set<string>;
  insight?: FakeInsight;
  name?: string;
  subscribedUsers?: number[];
  threshold?: { name?: string; configuration?: unknown };
  condition?: unknown;
  enabled?: boolean;
  config?: unknown;
  calculationInterval?: string;
  snoozedUntil?: string | null;
  skipWeekend?: boolean | null;
}

type Mode = "create" | "partial" | "replace";

class FakePostHogServer implements FakePostHog {
  url = "";
  readonly apiKey: string;
  readonly projectId: number;
  readonly organizationId = ORGANIZATION_ID;
  owner: FakeMember;
  readonly alerts = new Map<string, FakeAlert>();
  readonly insights = new Map<number, FakeInsight>();
  readonly members = new Map<number, FakeMember>();
  readonly requests: FakeRequest[] = [];

  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly users = new Map<number, UserRecord>();
  private readonly now: () => Date;
  private readonly alertLimit: number;
  /** Insight kinds this server takes alerts on (newer servers take more, some behind flags). */
  private alertableKinds = new Set(["TrendsQuery"]);
  private readonly initialScopes: string[];
  private scopes: string[];
  private faults: FakeFault[] = [];
  private latencyMs = 0;
  private rateLimit: number | null = null;
  private hits: number[] = [];
  private nextInsightId = FIRST_INSIGHT_ID;
  private nextUserId = OWNER_USER_ID;

  constructor(opts: FakePostHogOptions) {
    this.apiKey = opts.apiKey ?? "phx_test_key";
    this.projectId = opts.projectId ?? 4242;
    this.initialScopes = [...(opts.scopes ?? ["*"])];
    this.scopes = [...this.initialScopes];
    this.now = opts.now ?? (() => new Date());
    this.alertLimit = opts.alertLimit ?? Number.POSITIVE_INFINITY;
    this.owner = this.seedOwner();
    this.server = createServer((req, res) => {
      this.onRequest(req, res).catch(() => {
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(500, { "Content-Type": "application/json" });
          res.end(JSON.stringify(SERVER_ERROR_BODY));
        }
      });
    });
    this.server.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(0, "127.0.0.1", () => resolve());
    });
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ----- seeding ---------------------------------------------------------------------------

  private stamp(at?: Date): string {
    return formatPostHogDate((at ?? this.now()).getTime());
  }

  private newUser(
    u: { email: string; first_name?: string; last_name?: string },
    active: boolean,
  ): FakeUserBasic {
    const id = this.nextUserId++;
    const user: FakeUserBasic = {
      id,
      uuid: randomUUID(),
      distinct_id: `user-${id}-${randomUUID().slice(0, 8)}`,
      first_name: u.first_name ?? "",
      last_name: u.last_name ?? "",
      email: u.email,
      is_email_verified: true,
      hedgehog_config: null,
      role_at_organization: null,
    };
    this.users.set(id, { user, active });
    return user;
  }

  private newMembership(user: FakeUserBasic, level: number): FakeMember {
    const at = this.stamp();
    const member: FakeMember = {
      id: randomUUID(),
      user,
      level,
      joined_at: at,
      updated_at: at,
      is_2fa_enabled: false,
      has_social_auth: false,
      last_login: null,
    };
    this.members.set(user.id, member);
    return member;
  }

  private seedOwner(): FakeMember {
    const user = this.newUser({ email: "owner@example.com", first_name: "Olive", last_name: "Owner" }, true);
    return this.newMembership(user, 15);
  }

  addMember(m: { email: string; first_name?: string; last_name?: string; is_active?: boolean }): FakeMember {
    return this.newMembership(this.newUser(m, m.is_active ?? true), 1);
  }

  addOutsider(u: { email: string; first_name?: string; last_name?: string }): FakeUserBasic {
    return this.newUser(u, true);
  }

  addInsight(i: Partial<FakeInsight> & { name?: string }): FakeInsight {
    const id = i.id ?? this.nextInsightId++;
    if (id >= this.nextInsightId) this.nextInsightId = id + 1;
    const at = this.stamp();
    const insight: FakeInsight = {
      id,
      short_id: i.short_id ?? shortIdFor(id),
      name: i.name ?? null,
      derived_name: i.derived_name ?? null,
      description: i.description ?? "",
      query: i.query === undefined ? defaultTrendsQuery() : i.query,
      deleted: i.deleted ?? false,
      saved: i.saved ?? true,
      favorited: i.favorited ?? false,
      tags: i.tags ?? [],
      created_at: i.created_at ?? at,
      last_modified_at: i.last_modified_at ?? i.created_at ?? at,
      created_by: i.created_by === undefined ? this.owner.user : i.created_by,
    };
    this.insights.set(id, insight);
    return insight;
  }

  deleteInsight(id: number): void {
    const insight = this.insights.get(id);
    if (!insight) throw new Error(`fake PostHog: no insight ${id}`);
    insight.deleted = true;
    for (const [alertId, alert] of this.alerts) if (alert.insight === id) this.alerts.delete(alertId);
  }

  addAlert(a: FakeAlertSeed): FakeAlert {
    if (!this.insights.has(a.insight))
      throw new Error(`fake PostHog: addAlert on unknown insight ${a.insight}`);
    const createdAt = a.created_at ?? this.stamp();
    const threshold: FakeThreshold | null =
      a.threshold === null
        ? null
        : {
            id: a.threshold?.id ?? randomUUID(),
            created_at: a.threshold?.created_at ?? createdAt,
            name: a.threshold?.name ?? "",
            configuration: clone(
              a.threshold?.configuration ?? { type: "absolute", bounds: { lower: null, upper: 100 } },
            ),
          };
    const checks = a.checks ? a.checks.map((c) => ({ ...c })) : [];
    const alert: FakeAlert = {
      id: a.id ?? randomUUID(),
      created_by: a.created_by ?? this.owner.user,
      created_at: createdAt,
      insight: a.insight,
      name: a.name ?? "",
      subscribed_users: [...(a.subscribed_users ?? [])],
      threshold,
      condition: clone(a.condition ?? { type: "absolute_value" }),
      state: a.state ?? "Not firing",
      enabled: a.enabled ?? true,
      last_notified_at: a.last_notified_at ?? null,
      last_checked_at: a.last_checked_at ?? null,
      next_check_at: a.next_check_at ?? null,
      checks,
      config: clone(
        a.config ?? { type: "TrendsAlertConfig", series_index: 0, check_ongoing_interval: false },
      ),
      calculation_interval: a.calculation_interval ?? "daily",
      snoozed_until: a.snoozed_until ?? null,
      skip_weekend: a.skip_weekend === undefined ? false : a.skip_weekend,
      last_value: null,
    };
    alert.last_value =
      checks.length > 0 ? (newestCheck(checks)?.calculated_value ?? null) : (a.last_value ?? null);
    this.alerts.set(alert.id, alert);
    return alert;
  }

  private evaluable(alertId: string, verb: string): FakeAlert {
    const alert = this.alerts.get(alertId);
    if (!alert) throw new Error(`fake PostHog: no alert ${alertId}`);
    this.expireSnooze(alert);
    if (!alert.enabled) throw new Error(`fake PostHog: cannot ${verb} alert ${alertId}: it is disabled`);
    // The scheduler skips an alert while `snoozed_until` lies ahead, whatever its state says.
    if (alert.snoozed_until !== null) {
      throw new Error(`fake PostHog: cannot ${verb} alert ${alertId}: it is snoozed`);
    }
    return alert;
  }

  private recordCheck(
    alert: FakeAlert,
    at: Date,
    value: number | null,
    state: FakeAlertState,
    notified: boolean,
  ) {
    const createdAt = formatPostHogDate(at.getTime());
    alert.checks.push({
      id: randomUUID(),
      created_at: createdAt,
      calculated_value: value,
      state,
      targets_notified: notified,
    });
    alert.last_value = newestCheck(alert.checks)?.calculated_value ?? null;
    return createdAt;
  }

  private evaluate(
    alert: FakeAlert,
    at: Date,
    value: number | null,
    state: FakeAlertState,
    notified: boolean,
  ) {
    const createdAt = this.recordCheck(alert, at, value, state, notified);
    alert.state = state;
    alert.last_checked_at = createdAt;
    if (notified) alert.last_notified_at = createdAt;
    alert.next_check_at = formatPostHogDate(
      at.getTime() + (INTERVAL_MS[alert.calculation_interval] ?? 86_400_000),
    );
  }

  fire(alertId: string, value: number, at?: Date): void {
    this.evaluate(this.evaluable(alertId, "fire"), at ?? this.now(), value, "Firing", true);
  }

  resolve(alertId: string, value: number, at?: Date): void {
    this.evaluate(this.evaluable(alertId, "resolve"), at ?? this.now(), value, "Not firing", false);
  }

  error(alertId: string, at?: Date): void {
    this.evaluate(this.evaluable(alertId, "evaluate"), at ?? this.now(), null, "Errored", true);
  }

  // ----- knobs -----------------------------------------------------------------------------

  acceptAlertsOn(...kinds: string[]): void {
    for (const kind of kinds) this.alertableKinds.add(kind);
  }

  setLatency(ms: number): void {
    this.latencyMs = Math.max(0, ms);
  }

  failNext(n: number, fault: FakeFault): void {
    for (let i = 0; i < n; i++) this.faults.push(fault);
  }

  setScopes(scopes: string[]): void {
    this.scopes = [...scopes];
  }

  setRateLimit(perMinute: number | null): void {
    this.rateLimit = perMinute;
    this.hits = [];
  }

  reset(): void {
    this.alerts.clear();
    this.insights.clear();
    this.requests.length = 0;
    this.faults = [];
    this.latencyMs = 0;
    this.scopes = [...this.initialScopes];
    this.rateLimit = null;
    this.hits = [];
    for (const id of [...this.users.keys()]) if (id !== this.owner.user.id) this.users.delete(id);
    for (const id of [...this.members.keys()]) if (id !== this.owner.user.id) this.members.delete(id);
    this.nextInsightId = FIRST_INSIGHT_ID;
    this.nextUserId = this.owner.user.id + 1;
  }

  // ----- HTTP plumbing ---------------------------------------------------------------------

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString("utf8");
    const host = req.headers.host ?? "127.0.0.1";
    const rawUrl = req.url ?? "/";
    const url = new URL(rawUrl, `http://${host}`);
    const query: Record<string, string> = {};
    url.searchParams.forEach((v, k) => {
      query[k] = v;
    });
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(", ") : v;
    const method = (req.method ?? "GET").toUpperCase();
    let recorded: unknown;
    if (rawBody.length > 0) {
      try {
        recorded = JSON.parse(rawBody);
      } catch {
        recorded = rawBody;
      }
    }
    this.requests.push({
      method,
      path: url.pathname,
      query,
      body: recorded,
      headers,
      at: this.now().getTime(),
    });

    const fault = this.faults.shift();
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
    if (res.destroyed) return;
    if (fault === "hang") return; // never answered; close() destroys the socket
    if (fault === "reset") {
      req.socket.destroy();
      return;
    }
    const reply = fault
      ? this.faultReply(fault)
      : this.route({
          method,
          path: url.pathname,
          query,
          headers,
          rawBody,
          absoluteUrl: `http://${host}${rawUrl}`,
          origin: `http://${host}`,
        });
    this.send(res, reply);
  }

  private faultReply(fault: Exclude<FakeFault, "hang" | "reset">): Reply {
    const headers = { ...(fault.headers ?? {}) };
    if (fault.raw !== undefined) return { status: fault.status, raw: fault.raw, headers };
    if (fault.body !== undefined) return { status: fault.status, body: fault.body, headers };
    if (fault.status === 429) {
      const retry = Number(headers["Retry-After"] ?? headers["retry-after"] ?? 1);
      const reply = throttledReply(Number.isFinite(retry) ? retry : 1);
      return { ...reply, headers: { ...reply.headers, ...headers } };
    }
    if (fault.status >= 500) return { status: fault.status, body: SERVER_ERROR_BODY, headers };
    return {
      status: fault.status,
      body: { type: "invalid_request", code: "error", detail: "Error.", attr: null },
      headers,
    };
  }

  private send(res: ServerResponse, reply: Reply): void {
    if (res.destroyed || res.writableEnded) return;
    const headers: Record<string, string> = { ...(reply.headers ?? {}) };
    if (reply.raw !== undefined) {
      res.writeHead(reply.status, { "Content-Type": "application/json", ...headers });
      res.end(reply.raw);
      return;
    }
    if (reply.body === undefined) {
      res.writeHead(reply.status, headers);
      res.end();
      return;
    }
    const payload = JSON.stringify(reply.body);
    res.writeHead(reply.status, {
      "Content-Type": "application/json",
      "Content-Length": String(Buffer.byteLength(payload)),
      ...headers,
    });
    res.end(payload);
  }

  // ----- routing and the request pipeline ---------------------------------------------------

  private route(ctx: Ctx): Reply {
    const alerts = /^\/api\/(projects|environments)\/([^/]+)\/alerts(?:\/([^/]+))?\/?$/.exec(ctx.path);
    if (alerts) {
      const [, family, projectToken = "", alertId] = alerts;
      const reply = this.alertsRoute(ctx, projectToken, alertId);
      if (family !== "environments") return reply;
      const successor = `${ctx.origin}${ctx.path.replace(/^\/api\/environments\//, "/api/projects/")}`;
      return {
        ...reply,
        headers: {
          ...(reply.headers ?? {}),
          Deprecation: "true",
          Link: `<${successor}>; rel="successor-version"`,
        },
      };
    }
    const insights = /^\/api\/projects\/([^/]+)\/insights(?:\/([^/]+))?\/?$/.exec(ctx.path);
    if (insights) return this.insightsRoute(ctx, insights[1] ?? "", insights[2]);
    const members = /^\/api\/organizations\/([^/]+)\/members\/?$/.exec(ctx.path);
    if (members) return this.membersRoute(ctx, members[1] ?? "");
    if (/^\/api\/users\/@me\/?$/.test(ctx.path)) return this.meRoute(ctx);
    return notFound();
  }

  private isRead(method: string): boolean {
    return method === "GET" || method === "HEAD" || method === "OPTIONS";
  }

  private hasScope(required: string): boolean {
    if (this.scopes.includes("*") || this.scopes.includes(required)) return true;
    const [object, action] = required.split(":");
    return action === "read" && this.scopes.includes(`${object}:write`);
  }

  /** Authentication, the parent resource, the key's scopes, then throttling: DRF's order. */
  private gate(ctx: Ctx, scopeObject: string, resourceCheck: () => Reply | null): Reply | null {
    const auth = ctx.headers.authorization;
    const bearer = auth === undefined ? null : /^Bearer\s+(\S.+)$/.exec(auth);
    const wwwAuth = { "WWW-Authenticate": "Bearer" };
    if (!bearer) {
      return errorReply(
        401,
        "authentication_error",
        "not_authenticated",
        "Authentication credentials were not provided.",
        null,
        wwwAuth,
      );
    }
    if (bearer[1] !== this.apiKey) {
      return errorReply(
        401,
        "authentication_error",
        "authentication_failed",
        "Personal API key found in request Authorization header is invalid.",
        null,
        wwwAuth,
      );
    }
    const missing = resourceCheck();
    if (missing) return missing;
    const required = `${scopeObject}:${this.isRead(ctx.method) ? "read" : "write"}`;
    if (!this.hasScope(required)) {
      return errorReply(
        403,
        "authentication_error",
        "permission_denied",
        `API key missing required scope '${required}'`,
      );
    }
    return this.throttle();
  }

  private throttle(): Reply | null {
    if (this.rateLimit === null) return null;
    const now = this.now().getTime();
    this.hits = this.hits.filter((t) => t > now - 60_000);
    if (this.hits.length >= this.rateLimit) {
      const oldest = this.hits[0] ?? now;
      const available = this.rateLimit - this.hits.length + 1;
      const remaining = (60_000 - (now - oldest)) / 1000;
      const wait = Math.max(1, Math.ceil(available > 0 ? remaining / available : remaining));
      return throttledReply(wait);
    }
    this.hits.push(now);
    return null;
  }

  private projectCheck(token: string): () => Reply | null {
    return () => {
      if (token === "@current") return null;
      if (/^\d+$/.test(token) && Number(token) === this.projectId) return null;
      return notFound("Project not found.");
    };
  }

  private parseBody(ctx: Ctx): { ok: true; data: unknown } | { ok: false; reply: Reply } {
    if (ctx.rawBody.length === 0) return { ok: true, data: {} };
    const contentType = ctx.headers["content-type"] ?? "";
    const media = (contentType.split(";")[0] ?? "").trim().toLowerCase();
    if (media !== "application/json") {
      return {
        ok: false,
        reply: errorReply(
          415,
          "invalid_request",
          "unsupported_media_type",
          `Unsupported media type "${contentType}" in request.`,
        ),
      };
    }
    try {
      return { ok: true, data: JSON.parse(ctx.rawBody) };
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      return {
        ok: false,
        reply: errorReply(400, "invalid_request", "parse_error", `JSON parse error - ${message}`),
      };
    }
  }

  private paginate(ctx: Ctx, items: unknown[]): Reply {
    const rawLimit = ctx.query.limit;
    const parsedLimit = rawLimit === undefined ? null : pyInt(rawLimit);
    const limit = parsedLimit !== null && parsedLimit > 0 ? parsedLimit : DEFAULT_PAGE_SIZE;
    const rawOffset = ctx.query.offset;
    const parsedOffset = rawOffset === undefined ? null : pyInt(rawOffset);
    const offset = parsedOffset !== null && parsedOffset >= 0 ? parsedOffset : 0;
    const count = items.length;
    let next: string | null = null;
    if (offset + limit < count) {
      next = withQueryParam(
        withQueryParam(ctx.absoluteUrl, "limit", String(limit)),
        "offset",
        String(offset + limit),
      );
    }
    let previous: string | null = null;
    if (offset > 0) {
      const withLimit = withQueryParam(ctx.absoluteUrl, "limit", String(limit));
      previous =
        offset - limit <= 0
          ? withQueryParam(withLimit, "offset", null)
          : withQueryParam(withLimit, "offset", String(offset - limit));
    }
    return { status: 200, body: { count, next, previous, results: items.slice(offset, offset + limit) } };
  }

  // ----- alerts ----------------------------------------------------------------------------

  /**
   * Expired snoozes of enabled alerts read back as "Not firing" with no snooze (the scheduler
   * evaluates them). A disabled alert is not evaluated and keeps its `snoozed_until`, past or not.
   */
  private expireSnooze(alert: FakeAlert): void {
    if (alert.snoozed_until === null || !alert.enabled) return;
    if (instantOf(alert.snoozed_until) > this.now().getTime()) return;
    alert.snoozed_until = null;
    if (alert.state === "Snoozed") alert.state = "Not firing";
  }

  private isVisible(alert: FakeAlert): boolean {
    const insight = this.insights.get(alert.insight);
    return (
      insight !== undefined && !insight.deleted && alertabilityError(insight, this.alertableKinds) === null
    );
  }

  private visibleAlerts(): FakeAlert[] {
    const list = [...this.alerts.values()].filter((a) => this.isVisible(a));
    for (const a of list) this.expireSnooze(a);
    return list
      .map((a, i) => ({ a, i, t: instantOf(a.created_at) }))
      .sort((x, y) => y.t - x.t || y.i - x.i)
      .map((x) => x.a);
  }

  private serializeAlert(alert: FakeAlert, checks: FakeCheck[] | null, lastValue: number | null): Json {
    const out: Json = {
      id: alert.id,
      created_by: { ...alert.created_by },
      created_at: alert.created_at,
      insight: alert.insight,
      name: alert.name,
      subscribed_users: [...alert.subscribed_users].sort((a, b) => a - b),
      threshold: alert.threshold ? clone(alert.threshold) : null,
      condition: clone(alert.condition),
      state: alert.state,
      enabled: alert.enabled,
      last_notified_at: alert.last_notified_at,
      last_checked_at: alert.last_checked_at,
      next_check_at: alert.next_check_at,
    };
    if (checks !== null) out.checks = checks.map((c) => ({ ...c }));
    out.config = clone(alert.config);
    out.calculation_interval = alert.calculation_interval;
    out.snoozed_until = alert.snoozed_until;
    out.skip_weekend = alert.skip_weekend;
    out.last_value = lastValue;
    return out;
  }

  private alertsRoute(ctx: Ctx, projectToken: string, alertId: string | undefined): Reply {
    const denied = this.gate(ctx, "alert", this.projectCheck(projectToken));
    if (denied) return denied;
    if (alertId === undefined) {
      if (ctx.method === "GET") return this.listAlerts(ctx);
      if (ctx.method === "POST") return this.writeAlert(ctx, "create", null);
      return methodNotAllowed(ctx.method, ["GET", "POST", "HEAD", "OPTIONS"]);
    }
    const allow = ["GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
    if (!allow.includes(ctx.method) || ctx.method === "HEAD" || ctx.method === "OPTIONS") {
      return methodNotAllowed(ctx.method, allow);
    }
    const alert = this.alerts.get(alertId);
    if (!alert || !this.isVisible(alert)) return notFound();
    this.expireSnooze(alert);
    if (ctx.method === "GET") return this.retrieveAlert(ctx, alert);
    if (ctx.method === "DELETE") {
      this.alerts.delete(alert.id);
      return { status: 204 };
    }
    return this.writeAlert(ctx, ctx.method === "PUT" ? "replace" : "partial", alert);
  }

  private listAlerts(ctx: Ctx): Reply {
    let list = this.visibleAlerts();
    for (const key of ["insight", "insight_id"]) {
      const raw = ctx.query[key];
      if (raw !== undefined) {
        const id = pyInt(raw);
        list = list.filter((a) => a.insight === id);
      }
    }
    const createdBy = ctx.query.created_by;
    if (createdBy) {
      if (!/^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(createdBy)) {
        return validationReply({ code: "invalid_input", detail: "Not a valid UUID.", attr: "created_by" });
      }
      const wanted = createdBy.replace(/-/g, "").toLowerCase();
      list = list.filter((a) => a.created_by.uuid.replace(/-/g, "").toLowerCase() === wanted);
    }
    const search = ctx.query.search;
    if (search) {
      if (search.length > MAX_SEARCH_LENGTH) {
        return validationReply({
          code: "invalid_input",
          detail: `Search query must be ${MAX_SEARCH_LENGTH} characters or fewer.`,
          attr: "search",
        });
      }
      const needle = search.toLowerCase();
      list = list.filter((a) => a.name.toLowerCase().includes(needle));
    }
    return this.paginate(
      ctx,
      list.map((a) => this.serializeAlert(a, [], a.last_value)),
    );
  }

  private retrieveAlert(ctx: Ctx, alert: FakeAlert): Reply {
    const raw = ctx.query.checks_limit;
    let limit = DEFAULT_CHECKS;
    if (raw !== undefined) {
      const n = pyInt(raw);
      limit = n === null ? DEFAULT_CHECKS : Math.max(1, Math.min(n, MAX_CHECKS));
    }
    return {
      status: 200,
      body: this.serializeAlert(alert, newestChecks(alert.checks, limit), alert.last_value),
    };
  }

  private writeAlert(ctx: Ctx, mode: Mode, existing: FakeAlert | null): Reply {
    const parsed = this.parseBody(ctx);
    if (!parsed.ok) return parsed.reply;
    const data = parsed.data;
    if (data === null)
      return validationReply({ code: "null", detail: "This field may not be null.", attr: null });
    if (!isObject(data)) {
      return validationReply({
        code: "invalid_input",
        detail: `Invalid data. Expected a dictionary, but got ${pyType(data)}.`,
        attr: null,
      });
    }
    const fields = this.validateFields(data, mode);
    if (!fields.ok) return validationReply(fields.error);
    const v = fields.value;
    const objectError = this.validateObject(v, mode, existing);
    if (objectError) return validationReply(objectError);

    if (mode === "create") return this.createAlert(v);
    if (!existing) return notFound();
    const lastValueBefore = existing.last_value;
    this.updateAlert(existing, v);
    return { status: 200, body: this.serializeAlert(existing, null, lastValueBefore) };
  }

  /** Field-level validation in the serializer's field order; the first error wins. */
  private validateFields(data: Json, mode: Mode): Result<ValidatedAlert> {
    const partial = mode === "partial";
    const v: ValidatedAlert = { present: new Set(Object.keys(data)) };
    const has = (k: string) => Object.hasOwn(data, k);

    // insight
    if (has("insight")) {
      const pk = pkValue(data.insight, "insight");
      if (!pk.ok) return pk;
      const insight = this.insights.get(pk.value);
      if (!insight || insight.deleted) return doesNotExist("insight", data.insight);
      const notAlertable = alertabilityError(insight, this.alertableKinds);
      if (notAlertable) return bad("insight", "invalid_input", notAlertable);
      v.insight = insight;
    } else if (!partial) {
      return requiredError("insight");
    }

    // name
    if (has("name")) {
      const name = charField(data.name, "name", NAME_MAX_LENGTH);
      if (!name.ok) return name;
      v.name = name.value;
    }

    // subscribed_users
    if (has("subscribed_users")) {
      const raw = data.subscribed_users;
      if (raw === null) return nullError("subscribed_users");
      if (!Array.isArray(raw)) {
        return bad(
          "subscribed_users",
          "not_a_list",
          `Expected a list of items but got type "${pyType(raw)}".`,
        );
      }
      const ids: number[] = [];
      for (const item of raw) {
        const pk = pkValue(item, "subscribed_users");
        if (!pk.ok) return pk;
        const record = this.users.get(pk.value);
        if (!record?.active) return doesNotExist("subscribed_users", item);
        ids.push(pk.value);
      }
      for (const id of ids) {
        if (!this.members.has(id)) {
          return bad(
            "subscribed_users",
            "invalid_input",
            "User does not belong to the same organization as the alert's team.",
          );
        }
      }
      v.subscribedUsers = [...new Set(ids)];
    } else if (!partial) {
      return requiredError("subscribed_users");
    }

    // threshold (nested serializer: its fields, then Threshold.clean())
    if (has("threshold")) {
      const raw = data.threshold;
      if (raw === null) return nullError("threshold");
      if (!isObject(raw)) {
        return bad(
          "threshold__non_field_errors",
          "invalid_input",
          `Invalid data. Expected a dictionary, but got ${pyType(raw)}.`,
        );
      }
      const threshold: { name?: string; configuration?: unknown } = {};
      if (Object.hasOwn(raw, "name")) {
        const name = charField(raw.name, "threshold__name", NAME_MAX_LENGTH);
        if (!name.ok) return name;
        threshold.name = name.value;
      }
      if (Object.hasOwn(raw, "configuration")) {
        if (raw.configuration === null) return nullError("threshold__configuration");
        threshold.configuration = raw.configuration;
      } else if (!partial) {
        return requiredError("threshold__configuration");
      }
      const parsed = parseInsightThreshold(threshold.configuration ?? {});
      if (!parsed.ok) {
        return bad(
          "threshold__non_field_errors",
          "invalid_input",
          `Invalid threshold configuration: ${pydanticMessage("InsightThreshold", parsed.errors)}`,
        );
      }
      const { lower, upper } = parsed.value;
      if (lower !== null && upper !== null && lower > upper) {
        return bad(
          "threshold__non_field_errors",
          "invalid_input",
          "Lower threshold must be less than upper threshold",
        );
      }
      v.threshold = threshold;
    } else if (!partial) {
      return requiredError("threshold");
    }

    // condition (any JSON; checked at object level)
    if (has("condition")) v.condition = data.condition;

    // enabled
    if (has("enabled")) {
      const enabled = boolField(data.enabled, "enabled", false);
      if (!enabled.ok) return enabled;
      v.enabled = enabled.value === true;
    }

    // config (any JSON; checked at object level)
    if (has("config")) v.config = data.config;

    // calculation_interval
    if (has("calculation_interval")) {
      const raw = data.calculation_interval;
      if (raw === null) return nullError("calculation_interval");
      const asString = pyToStr(raw);
      if (!INTERVAL_CHOICES.includes(asString)) {
        return bad("calculation_interval", "invalid_choice", `"${asString}" is not a valid choice.`);
      }
      v.calculationInterval = asString;
    }

    // snoozed_until
    if (has("snoozed_until")) {
      const raw = data.snoozed_until;
      if (raw !== null && typeof raw !== "string") {
        return bad("snoozed_until", "invalid_input", "snoozed_until has to be passed in string format");
      }
      v.snoozedUntil = raw;
    }

    // skip_weekend
    if (has("skip_weekend")) {
      const skip = boolField(data.skip_weekend, "skip_weekend", true);
      if (!skip.ok) return skip;
      v.skipWeekend = skip.value;
    }

    return ok(v);
  }

  /** The serializer's `validate()`: condition, config, series, threshold rules, plan limits. */
  private validateObject(v: ValidatedAlert, mode: Mode, existing: FakeAlert | null): FieldError | null {
    const nonField = (detail: string): FieldError => ({ code: "invalid_input", detail, attr: null });
    const insight = v.insight ?? (existing ? this.insights.get(existing.insight) : undefined);
    if (!insight) return { code: "invalid_input", detail: "Insight is required.", attr: "insight" };
    const notAlertable = alertabilityError(insight, this.alertableKinds);
    if (notAlertable) return nonField(notAlertable);

    const condition = v.present.has("condition") ? v.condition : (existing?.condition ?? null);
    const config = v.present.has("config") ? v.config : (existing?.config ?? null);
    const thresholdConfig = v.threshold
      ? (v.threshold.configuration ?? null)
      : (existing?.threshold?.configuration ?? null);
    const interval = v.calculationInterval ?? existing?.calculation_interval ?? "daily";
    const requireBounds = existing === null || v.threshold !== undefined;

    const conditionType = parseCondition(condition);
    if (conditionType === null) return nonField(`Alert has invalid condition: ${pyRepr(condition)}`);

    const kind = queryKind(insight) ?? "None";
    const configType = isObject(config) ? config.type : undefined;
    if (configType === "HogQLAlertConfig") {
      return nonField(`SQL alert config requires a HogQLQuery insight, got '${kind}'`);
    }
    if (configType === "FunnelsAlertConfig") {
      return nonField(`Funnel alert config requires a FunnelsQuery insight, got '${kind}'`);
    }
    if (configType === "MetricsAlertConfig") {
      return nonField(`Metrics alert config requires a MetricsQuery insight, got '${kind}'`);
    }
    if (configType !== "TrendsAlertConfig")
      return nonField(`Unsupported alert config type: ${pyRepr(config)}`);
    const trends = parseTrendsConfig(config);
    if (!trends) return nonField(`Alert has invalid TrendsAlertConfig: ${pyRepr(config)}`);

    const source = innermostQuery(insight.query) ?? {};
    if (conditionType !== "absolute_value" && isNonTimeSeries(source)) {
      return nonField(
        `Relative alert condition '${conditionType}' is not compatible with non time series trends`,
      );
    }
    const count = seriesCount(source);
    if (trends.seriesIndex >= count) {
      return nonField(`series_index ${trends.seriesIndex} is out of range (query has ${count} series)`);
    }

    let threshold: ParsedThreshold | null = null;
    if (thresholdConfig !== null) {
      const parsed = parseInsightThreshold(thresholdConfig);
      if (!parsed.ok)
        return nonField(`Alert has invalid threshold configuration: ${pyRepr(thresholdConfig)}`);
      threshold = parsed.value;
      if (conditionType === "absolute_value" && threshold.type !== "absolute") {
        return nonField(
          "Absolute value alerts require an absolute threshold, but a percentage threshold was configured",
        );
      }
    }
    if (
      threshold !== null &&
      trends.checkOngoing &&
      (conditionType === "absolute_value" || conditionType === "relative_increase") &&
      (!threshold.hasBounds || threshold.upper === null)
    ) {
      return nonField(
        `check_ongoing_interval is only supported for alert condition ${conditionType} when upper threshold is specified`,
      );
    }
    if (requireBounds && (threshold === null || (threshold.lower === null && threshold.upper === null))) {
      return {
        code: "invalid_input",
        detail: "At least one threshold bound (lower or upper) must be provided.",
        attr: "threshold__configuration",
      };
    }

    if (interval === "every_15_minutes") {
      return {
        code: "invalid_input",
        detail: "15-minute alert intervals require a Boost, Scale, or Enterprise platform add-on.",
        attr: "calculation_interval",
      };
    }
    if (interval === "real_time") {
      return {
        code: "invalid_input",
        detail: "Real-time alert intervals require a Scale or Enterprise plan.",
        attr: "calculation_interval",
      };
    }

    if (mode === "create") {
      const existingCount = [...this.alerts.values()].filter((a) => this.isVisible(a)).length;
      if (existingCount >= this.alertLimit) {
        return {
          code: "invalid_input",
          detail: `Your plan is limited to ${this.alertLimit} alerts.`,
          attr: "alert",
        };
      }
    }
    return null;
  }

  private createAlert(v: ValidatedAlert): Reply {
    let snoozedUntil: string | null = null;
    if (typeof v.snoozedUntil === "string") {
      // Not parsed on create: the raw string goes to the database column, which only takes datetimes.
      const parts = parseIsoLike(v.snoozedUntil);
      if (!parts) return { status: 500, body: SERVER_ERROR_BODY };
      snoozedUntil = formatParts(parts);
    }
    const insight = v.insight;
    if (!insight)
      return validationReply({ code: "required", detail: "This field is required.", attr: "insight" });
    const createdAt = this.stamp();
    const alert: FakeAlert = {
      id: randomUUID(),
      created_by: { ...this.owner.user },
      created_at: createdAt,
      insight: insight.id,
      name: v.name ?? "",
      subscribed_users: v.subscribedUsers ?? [],
      threshold: {
        id: randomUUID(),
        created_at: createdAt,
        name: v.threshold?.name ?? "",
        configuration: clone(v.threshold?.configuration ?? {}) as FakeThresholdConfiguration,
      },
      condition: clone(v.condition) as FakeAlert["condition"],
      state: "Not firing",
      enabled: v.enabled ?? true,
      last_notified_at: null,
      last_checked_at: null,
      next_check_at: null,
      checks: [],
      config: clone(v.config) as FakeAlert["config"],
      calculation_interval: v.calculationInterval ?? "daily",
      snoozed_until: snoozedUntil,
      skip_weekend: v.skipWeekend === undefined ? false : v.skipWeekend,
      last_value: null,
    };
    this.alerts.set(alert.id, alert);
    return { status: 201, body: this.serializeAlert(alert, null, null) };
  }

  /** The serializer's `update()` followed by the model's `save()`. */
  private updateAlert(alert: FakeAlert, v: ValidatedAlert): void {
    const now = this.now();
    if (v.present.has("snoozed_until")) {
      if (v.snoozedUntil === null || v.snoozedUntil === undefined) {
        alert.state = "Not firing";
        alert.snoozed_until = null;
      } else {
        alert.state = "Snoozed";
        alert.snoozed_until = parseSnoozedUntil(v.snoozedUntil, now);
      }
      this.recordCheck(alert, now, null, alert.state, false);
    }

    let thresholdChanged = false;
    if (v.threshold !== undefined) {
      if (alert.threshold) {
        const before = clone(alert.threshold.configuration);
        if (v.threshold.name !== undefined) alert.threshold.name = v.threshold.name;
        if (v.threshold.configuration !== undefined) {
          alert.threshold.configuration = clone(v.threshold.configuration) as FakeThresholdConfiguration;
        }
        thresholdChanged = !deepEqual(before, alert.threshold.configuration);
      } else {
        alert.threshold = {
          id: randomUUID(),
          created_at: formatPostHogDate(now.getTime()),
          name: v.threshold.name ?? "",
          configuration: clone(v.threshold.configuration ?? {}) as FakeThresholdConfiguration,
        };
        thresholdChanged = true;
      }
    }

    if (v.subscribedUsers !== undefined) alert.subscribed_users = [...v.subscribedUsers];

    const intervalChanged =
      v.calculationInterval !== undefined && v.calculationInterval !== alert.calculation_interval;
    if (thresholdChanged) alert.state = "Not firing";
    if (thresholdChanged || intervalChanged) alert.next_check_at = null;

    if (v.insight !== undefined) alert.insight = v.insight.id;
    if (v.name !== undefined) alert.name = v.name;
    if (v.present.has("condition")) alert.condition = clone(v.condition) as FakeAlert["condition"];
    if (v.present.has("config")) alert.config = clone(v.config) as FakeAlert["config"];
    if (v.enabled !== undefined) alert.enabled = v.enabled;
    if (v.calculationInterval !== undefined) alert.calculation_interval = v.calculationInterval;
    if (v.skipWeekend !== undefined) alert.skip_weekend = v.skipWeekend;

    if (!alert.enabled) alert.state = "Not firing";
  }

  // ----- insights ----------------------------------------------------------------------------

  private serializeInsight(insight: FakeInsight, basic: boolean): Json {
    const out: Json = {
      id: insight.id,
      short_id: insight.short_id,
      name: insight.name,
      derived_name: insight.derived_name,
      filters: {},
      query: clone(insight.query),
      dashboards: [],
      dashboard_tiles: [],
      description: insight.description,
      last_refresh: null,
      refreshing: false,
      saved: insight.saved,
      tags: [...insight.tags],
      updated_at: insight.last_modified_at,
      created_by: insight.created_by ? { ...insight.created_by } : null,
      created_at: insight.created_at,
      last_modified_at: insight.last_modified_at,
      favorited: insight.favorited,
      user_access_level: "editor",
    };
    if (!basic) {
      Object.assign(out, { result: null, hasMore: false, columns: null, timezone: "UTC", is_cached: false });
    }
    return out;
  }

  private insightsRoute(ctx: Ctx, projectToken: string, key: string | undefined): Reply {
    const denied = this.gate(ctx, "insight", this.projectCheck(projectToken));
    if (denied) return denied;
    if (ctx.method !== "GET") return methodNotAllowed(ctx.method, ["GET", "HEAD", "OPTIONS"]);
    const basic = ["true", "1", "yes"].includes((ctx.query.basic ?? "").toLowerCase());
    if (key !== undefined) {
      const byPk = pyInt(key);
      const insight =
        byPk !== null ? this.insights.get(byPk) : [...this.insights.values()].find((i) => i.short_id === key);
      if (!insight || insight.deleted) return notFound();
      return { status: 200, body: this.serializeInsight(insight, basic) };
    }
    let list = [...this.insights.values()].filter((i) => !i.deleted);
    if ((ctx.query.saved ?? "").toLowerCase() === "true") list = list.filter((i) => i.saved);
    const shortId = ctx.query.short_id;
    if (shortId !== undefined) list = list.filter((i) => i.short_id === shortId);
    const search = ctx.query.search;
    if (search) {
      const needle = search.toLowerCase();
      list = list.filter((i) =>
        [i.name, i.derived_name, i.description].some((f) => (f ?? "").toLowerCase().includes(needle)),
      );
    }
    const order = ctx.query.order ?? "-last_modified_at";
    const desc = order.startsWith("-");
    const field = desc ? order.slice(1) : order;
    const sortKey = (i: FakeInsight): string | number => {
      switch (field) {
        case "name":
          return (i.name || i.derived_name || "").toLowerCase();
        case "created_at":
          return instantOf(i.created_at);
        case "id":
          return i.id;
        case "short_id":
          return i.short_id;
        default:
          return instantOf(i.last_modified_at);
      }
    };
    list = list
      .map((i, idx) => ({ i, idx, k: sortKey(i) }))
      .sort((a, b) => {
        const cmp = a.k < b.k ? -1 : a.k > b.k ? 1 : a.idx - b.idx;
        return desc ? -cmp : cmp;
      })
      .map((x) => x.i);
    return this.paginate(
      ctx,
      list.map((i) => this.serializeInsight(i, basic)),
    );
  }

  // ----- organisation members and the current user -------------------------------------------

  private membersRoute(ctx: Ctx, orgToken: string): Reply {
    const denied = this.gate(ctx, "organization_member", () =>
      orgToken === "@current" || orgToken === this.organizationId ? null : notFound(),
    );
    if (denied) return denied;
    if (ctx.method !== "GET") return methodNotAllowed(ctx.method, ["GET", "HEAD", "OPTIONS"]);
    let list = [...this.members.values()]
      .filter((m) => this.users.get(m.user.id)?.active === true)
      .map((m, idx) => ({ m, idx }));
    const search = ctx.query.search;
    if (search) {
      if (search.length > MAX_SEARCH_LENGTH) {
        return validationReply({
          code: "invalid_input",
          detail: `Search query must be ${MAX_SEARCH_LENGTH} characters or fewer.`,
          attr: "search",
        });
      }
      const needle = search.toLowerCase();
      list = list.filter(({ m }) =>
        [m.user.first_name, m.user.last_name, m.user.email].some((f) => f.toLowerCase().includes(needle)),
      );
    }
    list.sort(
      (a, b) =>
        a.m.user.first_name.localeCompare(b.m.user.first_name) ||
        instantOf(b.m.joined_at) - instantOf(a.m.joined_at) ||
        b.idx - a.idx,
    );
    return this.paginate(
      ctx,
      list.map(({ m }) => ({ ...m, user: { ...m.user } })),
    );
  }

  private meRoute(ctx: Ctx): Reply {
    const denied = this.gate(ctx, "user", () => null);
    if (denied) return denied;
    if (ctx.method !== "GET") return methodNotAllowed(ctx.method, ["GET", "PATCH", "HEAD", "OPTIONS"]);
    const organization = {
      id: this.organizationId,
      name: "Fake Org",
      slug: "fake-org",
      membership_level: this.owner.level,
    };
    const team = {
      id: this.projectId,
      uuid: TEAM_UUID,
      organization: this.organizationId,
      project_id: this.projectId,
      api_token: "phc_fake_project_token",
      name: "Default project",
      timezone: "UTC",
      is_demo: false,
    };
    return {
      status: 200,
      body: {
        ...this.owner.user,
        date_joined: this.owner.joined_at,
        organization: { ...organization, teams: [team], projects: [{ id: this.projectId, name: team.name }] },
        organizations: [organization],
        team,
      },
    };
  }
}

export async function startFakePostHog(opts: FakePostHogOptions = {}): Promise<FakePostHog> {
  const fake = new FakePostHogServer(opts);
  await fake.listen();
  return fake;
}
