/**
 * The one error type the PostHog client throws. Every failure, whether an
 * HTTP status, a network problem or a response the bot cannot read, becomes
 * a `PostHogError` with a stable `code` and a `userMessage` fit to show in
 * Slack. Responses are classified in `classify`, network failures in
 * `classifyNetworkError`; nothing else decides what an error means.
 */

export const POSTHOG_ERROR_CODES = [
  "unauthorized",
  "forbidden",
  "not_found",
  "validation",
  "rate_limited",
  "unavailable",
  "timeout",
  "bad_response",
] as const;
export type PostHogErrorCode = (typeof POSTHOG_ERROR_CODES)[number];

/** What a 404 is about, so its user message can name the right thing. */
export type PostHogResource = "alert" | "insight" | "member" | "other";

export interface PostHogErrorInit {
  code: PostHogErrorCode;
  message: string;
  userMessage: string;
  status?: number;
  attr?: string | null;
  detail?: string;
  posthogCode?: string;
  retryAfterSeconds?: number;
  missingScope?: string;
  cause?: unknown;
}

export class PostHogError extends Error {
  override readonly name = "PostHogError";
  readonly code: PostHogErrorCode;
  /** One plain sentence for a Slack user. Never contains secrets or request headers. */
  readonly userMessage: string;
  readonly status?: number;
  /** The request field PostHog blamed (nested fields joined with `__`), or null. */
  readonly attr?: string | null;
  /** PostHog's own `detail` text. */
  readonly detail?: string;
  /** PostHog's own error `code`, e.g. `required`, `permission_denied`, `throttled`. */
  readonly posthogCode?: string;
  readonly retryAfterSeconds?: number;
  /** The scope the API key lacks, e.g. `alert:write`, when PostHog named one. */
  readonly missingScope?: string;

  constructor(init: PostHogErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.userMessage = init.userMessage;
    if (init.status !== undefined) this.status = init.status;
    if (init.attr !== undefined) this.attr = init.attr;
    if (init.detail !== undefined) this.detail = init.detail;
    if (init.posthogCode !== undefined) this.posthogCode = init.posthogCode;
    if (init.retryAfterSeconds !== undefined) this.retryAfterSeconds = init.retryAfterSeconds;
    if (init.missingScope !== undefined) this.missingScope = init.missingScope;
  }

  /** Whether the same request may succeed if sent again later. */
  get retryable(): boolean {
    return this.code === "rate_limited" || this.code === "unavailable" || this.code === "timeout";
  }
}

export function isPostHogError(e: unknown): e is PostHogError {
  return e instanceof PostHogError;
}

export const USER_MESSAGES = {
  unauthorized:
    "PostHog rejected the API key. Ask an admin to check POSTHOG_PERSONAL_API_KEY, and that POSTHOG_HOST is the region (US or EU) where the key was created.",
  forbidden:
    "The PostHog API key is not allowed to do that. Ask an admin to check its scopes and project access.",
  notFound: {
    alert: "That alert no longer exists in PostHog (it may have been deleted).",
    insight: "That insight no longer exists in PostHog (it may have been deleted).",
    member: "That person is not a member of the PostHog organization.",
    other: "PostHog could not find what the bot asked for.",
  },
  projectNotFound:
    "PostHog does not know the configured project. Ask an admin to check POSTHOG_PROJECT_ID (or POSTHOG_ENVIRONMENT_ID, if set).",
  validationFallback: "PostHog rejected the request as invalid.",
  rateLimitedUnknown: "PostHog is rate limiting the bot; try again in a minute.",
  unavailable: "PostHog is not reachable right now; try again in a minute.",
  timeout: "PostHog took too long to answer; try again shortly.",
  badResponse: "PostHog sent an answer the bot did not understand.",
  redirect:
    "PostHog answered with a redirect, so POSTHOG_HOST is probably not its API's address. Ask an admin to set it to the address the team logs in to, such as https://us.posthog.com, with no path.",
  insecure:
    "The bot could not make a secure connection to PostHog: its certificate was not accepted. Ask an admin to check POSTHOG_HOST and the server's certificate.",
  hostNotFound: "The bot cannot find PostHog's host name. Ask an admin to check POSTHOG_HOST.",
} as const;

const MAX_DETAIL_LENGTH = 300;

export function missingScopeMessage(scope: string): string {
  return `The PostHog API key is missing the ${scope} scope. Ask an admin to add it.`;
}

export function rateLimitedMessage(seconds: number): string {
  const s = Math.max(1, Math.ceil(seconds));
  if (s <= 90) return `PostHog is rate limiting the bot; try again in ${s} second${s === 1 ? "" : "s"}.`;
  return `PostHog is rate limiting the bot; try again in about ${Math.ceil(s / 60)} minutes.`;
}

type HeaderValue = string | string[] | undefined;
export type ResponseHeaders = Record<string, HeaderValue> | Headers;

function headerOf(headers: ResponseHeaders | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof Headers !== "undefined" && headers instanceof Headers) return headers.get(name) ?? undefined;
  const record = headers as Record<string, HeaderValue>;
  const key = Object.keys(record).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : record[key];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Reads `Retry-After` as seconds: either a number of seconds or an HTTP date
 * (measured from `nowMs`). Returns undefined when absent or unreadable.
 */
export function parseRetryAfter(
  headers: ResponseHeaders | undefined,
  nowMs: number = Date.now(),
): number | undefined {
  const raw = headerOf(headers, "retry-after")?.trim();
  if (!raw) return undefined;
  if (/^\d+(\.\d+)?$/.test(raw)) return Number(raw);
  const at = Date.parse(raw);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, (at - nowMs) / 1000);
}

/** Pulls the scope name out of "API key missing required scope 'alert:write'". */
export function parseMissingScope(detail: string | undefined): string | undefined {
  if (!detail) return undefined;
  const match = /missing required scope\s+['"`]?([a-z_]+:[a-z_]+|\*)['"`]?/i.exec(detail);
  return match?.[1];
}

interface ErrorBody {
  type?: string;
  code?: string;
  detail?: string;
  attr?: string | null;
}

function readErrorBody(body: unknown): ErrorBody {
  let value = body;
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      return {};
    }
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return {};
  const o = value as Record<string, unknown>;
  const out: ErrorBody = {};
  if (typeof o.type === "string") out.type = o.type;
  if (typeof o.code === "string") out.code = o.code;
  if (typeof o.detail === "string") out.detail = o.detail;
  else if (Array.isArray(o.detail) && typeof o.detail[0] === "string") out.detail = o.detail[0];
  if (typeof o.attr === "string" || o.attr === null) out.attr = o.attr;
  return out;
}

function clip(text: string): string {
  const oneLine = text.replace(/\s+/g, " ").trim();
  return oneLine.length > MAX_DETAIL_LENGTH ? `${oneLine.slice(0, MAX_DETAIL_LENGTH - 1)}…` : oneLine;
}

/** Parses "Expected available in 37 seconds." from a throttling detail. */
function secondsFromThrottleDetail(detail: string | undefined): number | undefined {
  const match = detail ? /available in (\d+(?:\.\d+)?) seconds?/i.exec(detail) : null;
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

export interface ClassifyOptions {
  /** What the request was about, to word a 404. Defaults to "alert". */
  resource?: PostHogResource;
  /** Clock for an HTTP-date `Retry-After`. */
  nowMs?: number;
}

/**
 * Maps an unsuccessful PostHog response to a `PostHogError`. `body` may be
 * the raw text or already-parsed JSON; PostHog's error shape is
 * `{type, code, detail, attr}` and holds only the first error.
 */
export function classify(
  status: number,
  body: unknown,
  headers?: ResponseHeaders,
  options: ClassifyOptions = {},
): PostHogError {
  const parsed = readErrorBody(body);
  const detail = parsed.detail === undefined ? undefined : clip(parsed.detail);
  const common = {
    status,
    ...(detail === undefined ? {} : { detail }),
    ...(parsed.code === undefined ? {} : { posthogCode: parsed.code }),
    ...(parsed.attr === undefined ? {} : { attr: parsed.attr }),
  };
  const describe = (code: PostHogErrorCode) =>
    `PostHog answered ${status} (${code})${parsed.attr ? ` on ${parsed.attr}` : ""}${detail ? `: ${detail}` : ""}`;

  if (status === 401) {
    return new PostHogError({
      ...common,
      code: "unauthorized",
      message: describe("unauthorized"),
      userMessage: USER_MESSAGES.unauthorized,
    });
  }
  if (status === 403) {
    const missingScope = parseMissingScope(detail);
    return new PostHogError({
      ...common,
      code: "forbidden",
      message: describe("forbidden"),
      userMessage: missingScope ? missingScopeMessage(missingScope) : USER_MESSAGES.forbidden,
      ...(missingScope ? { missingScope } : {}),
    });
  }
  if (status === 404) {
    const projectMissing = detail !== undefined && /project not found/i.test(detail);
    return new PostHogError({
      ...common,
      code: "not_found",
      message: describe("not_found"),
      userMessage: projectMissing
        ? USER_MESSAGES.projectNotFound
        : USER_MESSAGES.notFound[options.resource ?? "alert"],
    });
  }
  if (status === 429) {
    const retryAfterSeconds = parseRetryAfter(headers, options.nowMs) ?? secondsFromThrottleDetail(detail);
    return new PostHogError({
      ...common,
      code: "rate_limited",
      message: describe("rate_limited"),
      userMessage:
        retryAfterSeconds === undefined
          ? USER_MESSAGES.rateLimitedUnknown
          : rateLimitedMessage(retryAfterSeconds),
      ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    });
  }
  if (status === 408) {
    return new PostHogError({
      ...common,
      code: "timeout",
      message: describe("timeout"),
      userMessage: USER_MESSAGES.timeout,
    });
  }
  if (status >= 400 && status < 500) {
    return new PostHogError({
      ...common,
      code: "validation",
      message: describe("validation"),
      userMessage: detail ? `PostHog says: ${detail}` : USER_MESSAGES.validationFallback,
    });
  }
  if (status >= 500 && status < 600) {
    return new PostHogError({
      ...common,
      code: "unavailable",
      message: describe("unavailable"),
      userMessage: USER_MESSAGES.unavailable,
    });
  }
  return new PostHogError({
    ...common,
    code: "bad_response",
    message: describe("bad_response"),
    // undici does not follow redirects: a 3xx means the configured host is not the API.
    userMessage: status >= 300 && status < 400 ? USER_MESSAGES.redirect : USER_MESSAGES.badResponse,
  });
}

/** Certificate and TLS failures: a setup problem, not an outage, so the sentence says what to check. */
const TLS_CODES = new Set([
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "ERR_SSL_WRONG_VERSION_NUMBER",
]);

const TIMEOUT_CODES = new Set([
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "ETIMEDOUT",
]);
const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_DESTROYED",
  "UND_ERR_RES_CONTENT_LENGTH_MISMATCH",
]);

/** Every error code in an error, its causes and (for AggregateError) its parts. */
function errorCodes(error: unknown, depth = 0): string[] {
  if (depth > 5 || typeof error !== "object" || error === null) return [];
  const e = error as { code?: unknown; cause?: unknown; errors?: unknown };
  const codes = typeof e.code === "string" ? [e.code] : [];
  codes.push(...errorCodes(e.cause, depth + 1));
  if (Array.isArray(e.errors)) for (const inner of e.errors) codes.push(...errorCodes(inner, depth + 1));
  return codes;
}

/**
 * Maps a failure to reach PostHog (undici or socket error) to a
 * `PostHogError`: timeouts become `timeout`, refused or dropped connections
 * and DNS failures become `unavailable`. A `PostHogError` passes through.
 */
export function classifyNetworkError(error: unknown): PostHogError {
  if (isPostHogError(error)) return error;
  const codes = errorCodes(error);
  const code =
    codes.find((c) => TIMEOUT_CODES.has(c) || UNAVAILABLE_CODES.has(c) || TLS_CODES.has(c)) ??
    codes[0] ??
    "unknown";
  if (TIMEOUT_CODES.has(code)) {
    return new PostHogError({
      code: "timeout",
      message: `PostHog request timed out (${code})`,
      userMessage: USER_MESSAGES.timeout,
      cause: error,
    });
  }
  return new PostHogError({
    code: "unavailable",
    message: `PostHog could not be reached (${code})`,
    userMessage: TLS_CODES.has(code)
      ? USER_MESSAGES.insecure
      : code === "ENOTFOUND"
        ? USER_MESSAGES.hostNotFound
        : USER_MESSAGES.unavailable,
    cause: error,
  });
}

/** The error for a 2xx response whose body is not JSON or does not match the expected shape. */
export function badResponse(reason: string, status?: number): PostHogError {
  return new PostHogError({
    code: "bad_response",
    message: `PostHog sent an unexpected response${status === undefined ? "" : ` (${status})`}: ${clip(reason)}`,
    userMessage: USER_MESSAGES.badResponse,
    ...(status === undefined ? {} : { status }),
  });
}
