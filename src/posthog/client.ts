import { Agent, type Dispatcher, request } from "undici";
import { z } from "zod";
import { toEpochMs } from "../store/time.js";
import {
  badResponse,
  classify,
  classifyNetworkError,
  isPostHogError,
  PostHogError,
  type PostHogResource,
  USER_MESSAGES,
} from "./errors.js";
import {
  type Alert,
  type AlertCreate,
  type AlertPatch,
  alertSchema,
  type Insight,
  insightSchema,
  type Member,
  memberSchema,
  type Page,
  pageSchema,
  type SnoozeResult,
  type UnsnoozeResult,
} from "./schemas.js";

/**
 * The typed PostHog API client: one method per endpoint the bot uses, every
 * response zod-parsed, every failure a `PostHogError` (see errors.ts).
 *
 * Reliability rules:
 * - every request has connect, headers and body timeouts;
 * - GET, PATCH and DELETE are retried with capped exponential backoff on
 *   429, 502, 503, 504, timeouts and connection failures; POST only on 429
 *   (PostHog throttles before creating anything), because after a timeout or
 *   a 5xx the alert may have been created;
 * - `Retry-After` is honoured; a wait longer than `maxRetryAfterMs` is not
 *   attempted and the caller gets `rate_limited` at once;
 * - a DELETE that is retried and then answers 404 counts as deleted: the
 *   earlier attempt removed the alert and only its response was lost.
 */

export type HttpMethod = "GET" | "POST" | "PATCH" | "DELETE";

/** One line of request logging. Holds no secrets, headers or query strings. */
export interface RequestLogInfo {
  method: HttpMethod;
  /** URL path without the query string, e.g. `/api/projects/1/alerts/`. */
  path: string;
  /** HTTP status, or null when no response arrived. */
  status: number | null;
  durationMs: number;
  /** 1 for the first try, 2 for the first retry, … */
  attempt: number;
  /** The error code when the attempt failed. */
  errorCode?: PostHogError["code"];
}

export interface RetryOptions {
  /** Retries after the first attempt. Default 3. */
  maxRetries?: number;
  /** First backoff delay. Default 250 ms; doubles each retry. */
  baseDelayMs?: number;
  /** Cap on one backoff delay. Default 4000 ms. */
  maxDelayMs?: number;
  /** Longest `Retry-After` the client will wait; longer ones fail with `rate_limited`. Default 10000 ms. */
  maxRetryAfterMs?: number;
}

export interface TimeoutOptions {
  /** TCP/TLS connect timeout. Only applies to the client's own Agent, not to an injected dispatcher. Default 5000. */
  connectMs?: number;
  /** Time to wait for response headers. Default 10000. */
  headersMs?: number;
  /** Longest gap between body chunks. Default 10000. */
  bodyMs?: number;
}

export interface PostHogClientOptions {
  /** Base URL such as `https://us.posthog.com` (a trailing slash is ignored). */
  host: string;
  apiKey: string;
  /** The project id; PostHog's environment id is the same number. */
  projectId: string;
  /** undici dispatcher to send requests through; by default the client makes its own Agent. */
  dispatcher?: Dispatcher;
  /** Waits between retries. Injected in tests. */
  sleep?: (ms: number) => Promise<void>;
  /** Milliseconds clock for durations and HTTP-date `Retry-After`. Default `Date.now`. */
  now?: () => number;
  /** Source of backoff jitter in [0, 1]; the delay is scaled by `0.5 + 0.5 * random()`. Default `Math.random`. */
  random?: () => number;
  timeouts?: TimeoutOptions;
  retry?: RetryOptions;
  userAgent?: string;
  onRequest?: (info: RequestLogInfo) => void;
}

export const DEFAULT_USER_AGENT = "posthog-alerts-slack-bot/0.1 (+Slack bot)";
/** Safety stop for pagination: a server that always returns `next` cannot loop the bot forever. */
export const MAX_PAGES = 1000;

const RETRY_STATUSES = new Set([429, 502, 503, 504]);
const IDEMPOTENT: ReadonlySet<HttpMethod> = new Set(["GET", "PATCH", "DELETE"]);

type QueryValue = string | number | boolean | undefined;

interface CallSpec<S extends z.ZodType | undefined> {
  method: HttpMethod;
  path: string;
  query?: Record<string, QueryValue>;
  body?: unknown;
  /** Response schema; undefined when the body is ignored (DELETE). */
  schema: S;
  resource: PostHogResource;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// Built once: constructing a zod schema costs more than parsing a page with it.
const ALERT_PAGE = pageSchema(alertSchema);
const INSIGHT_PAGE = pageSchema(insightSchema);

/** PostHog's member list is paginated on current servers and a plain array on older ones. */
const memberPageSchema = z.union([
  pageSchema(memberSchema),
  z
    .array(memberSchema)
    .transform((results) => ({ count: results.length, next: null, previous: null, results })),
]);

export class PostHogClient {
  /** HTTP attempts sent by this client so far, retries included. */
  requestCount = 0;
  /**
   * Pages fetched by the most recent `iterateAlerts`/`listAllAlerts` (or
   * `listMembers`) run. Lets callers measure how much a full listing cost.
   */
  lastListPageCount = 0;

  private readonly host: string;
  private readonly apiKey: string;
  private readonly alertsBase: string;
  private readonly insightsBase: string;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly headersMs: number;
  private readonly bodyMs: number;
  private readonly maxRetries: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly userAgent: string;
  private readonly onRequest: ((info: RequestLogInfo) => void) | undefined;

  constructor(options: PostHogClientOptions) {
    this.host = options.host.replace(/\/+$/, "");
    this.apiKey = options.apiKey;
    const project = pathSegment(options.projectId);
    if (project === null) throw new Error("PostHog project id must not be empty");
    // The projects path: /api/environments/:id/ is a deprecated alias that may be switched off.
    this.alertsBase = `/api/projects/${project}/alerts/`;
    this.insightsBase = `/api/projects/${project}/insights/`;
    const timeouts = options.timeouts ?? {};
    this.headersMs = timeouts.headersMs ?? 10_000;
    this.bodyMs = timeouts.bodyMs ?? 10_000;
    if (options.dispatcher) {
      this.dispatcher = options.dispatcher;
      this.ownsDispatcher = false;
    } else {
      this.dispatcher = new Agent({
        connect: { timeout: timeouts.connectMs ?? 5_000 },
        headersTimeout: this.headersMs,
        bodyTimeout: this.bodyMs,
      });
      this.ownsDispatcher = true;
    }
    this.sleep = options.sleep ?? defaultSleep;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    const retry = options.retry ?? {};
    this.maxRetries = Math.max(0, retry.maxRetries ?? 3);
    this.baseDelayMs = retry.baseDelayMs ?? 250;
    this.maxDelayMs = retry.maxDelayMs ?? 4_000;
    this.maxRetryAfterMs = retry.maxRetryAfterMs ?? 10_000;
    this.userAgent = options.userAgent ?? DEFAULT_USER_AGENT;
    this.onRequest = options.onRequest;
  }

  /** Closes the client's own connection pool (an injected dispatcher is left alone). */
  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  // ── Alerts ────────────────────────────────────────────────────────────

  /** One page of alerts, newest first. */
  async listAlerts(options: { limit?: number; offset?: number } = {}): Promise<Page<Alert>> {
    return this.call({
      method: "GET",
      path: this.alertsBase,
      query: { limit: options.limit, offset: options.offset },
      schema: ALERT_PAGE,
      resource: "alert",
    });
  }

  /**
   * Every alert, page by page. The next request is built from limit/offset
   * on the configured host; the absolute `next` URL PostHog returns is only
   * used as the "more pages exist" signal, never followed.
   */
  async *iterateAlerts(options: { pageSize?: number } = {}): AsyncGenerator<Alert, void, undefined> {
    const pageSize = options.pageSize ?? 100;
    this.lastListPageCount = 0;
    for await (const page of this.pages((offset) => this.listAlerts({ limit: pageSize, offset }))) {
      yield* page;
    }
  }

  /** Every alert as one array; `lastListPageCount` tells how many pages it took. */
  async listAllAlerts(options: { pageSize?: number } = {}): Promise<Alert[]> {
    const all: Alert[] = [];
    for await (const alert of this.iterateAlerts(options)) all.push(alert);
    return all;
  }

  /** One alert with its recent checks (PostHog returns 5 unless `checksLimit` says otherwise, max 500). */
  async getAlert(id: string, options: { checksLimit?: number } = {}): Promise<Alert> {
    return this.call({
      method: "GET",
      path: this.alertPath(id),
      query: { checks_limit: options.checksLimit },
      schema: alertSchema,
      resource: "alert",
    });
  }

  /** Creates an alert. Retried only after a 429: a lost response may still have created it. */
  async createAlert(body: AlertCreate): Promise<Alert> {
    return this.call({ method: "POST", path: this.alertsBase, body, schema: alertSchema, resource: "alert" });
  }

  async updateAlert(id: string, patch: AlertPatch): Promise<Alert> {
    return this.call({
      method: "PATCH",
      path: this.alertPath(id),
      body: patch,
      schema: alertSchema,
      resource: "alert",
    });
  }

  /**
   * Snoozes an alert until `until`, unless `keepLongerByMs` is given and a snooze ending
   * more than that much later is in place. Reads the alert first (PostHog has no
   * conditional PATCH), both requests from here, so a caller on another thread hands
   * over once. `previousUntil` is the snooze that was in place, if any.
   */
  async snoozeAlert(
    id: string,
    until: string,
    options: { keepLongerByMs?: number } = {},
  ): Promise<SnoozeResult> {
    const current = await this.getAlert(id, { checksLimit: 1 });
    const previousUntil = current.snoozed_until;
    // PostHog's own formats (microseconds, +00:00, naive UTC) read as the store reads them.
    const previousMs = toEpochMs(previousUntil);
    const untilMs = toEpochMs(until);
    if (
      options.keepLongerByMs !== undefined &&
      previousMs !== null &&
      untilMs !== null &&
      previousMs - untilMs > options.keepLongerByMs
    ) {
      return { sent: false, alert: current, previousUntil };
    }
    return { sent: true, alert: await this.updateAlert(id, { snoozed_until: until }), previousUntil };
  }

  /**
   * Ends a snooze. PostHog's `snoozed_until: null` also sets the state to "Not firing", even from
   * Firing or Errored, so an alert with no snooze in force (none, or one that has ended) is read
   * and left alone: "unsnoozing" it would hide a firing until its next check.
   */
  async unsnoozeAlert(id: string): Promise<UnsnoozeResult> {
    const current = await this.getAlert(id, { checksLimit: 1 });
    const untilMs = toEpochMs(current.snoozed_until);
    if (untilMs === null || untilMs <= this.now()) return { sent: false, alert: current };
    return { sent: true, alert: await this.updateAlert(id, { snoozed_until: null }) };
  }

  /** Deletes an alert. A 404 on a retry counts as success (an earlier attempt deleted it). */
  async deleteAlert(id: string): Promise<void> {
    await this.call({ method: "DELETE", path: this.alertPath(id), schema: undefined, resource: "alert" });
  }

  // ── Insights ──────────────────────────────────────────────────────────

  /** Saved insights matching `search`, most recently modified first. */
  async searchInsights(
    options: { search?: string; limit?: number; offset?: number } = {},
  ): Promise<Page<Insight>> {
    const search = options.search?.trim();
    return this.call({
      method: "GET",
      path: this.insightsBase,
      query: {
        basic: true,
        saved: true,
        search: search ? search : undefined,
        order: "-last_modified_at",
        limit: options.limit ?? 20,
        offset: options.offset ?? 0,
      },
      schema: INSIGHT_PAGE,
      resource: "insight",
    });
  }

  /**
   * One insight by numeric pk or by short id (the 8-character id in insight
   * URLs and in `$insight_alert_firing` events).
   *
   * `/insights/{pk}/` only accepts the numeric pk on every PostHog version,
   * while the `?short_id=` list filter exists on all of them, so short ids go
   * through the list. A digit-only string is tried as a pk first and, if that
   * is not found, as a short id. `basic=true` skips cached query results.
   */
  async getInsight(idOrShortId: string | number): Promise<Insight> {
    const raw = String(idOrShortId).trim();
    if (typeof idOrShortId === "number" || /^\d+$/.test(raw)) {
      try {
        const insight = await this.call({
          method: "GET",
          path: `${this.insightsBase}${this.segmentOrNotFound(raw, "insight")}/`,
          query: { basic: true },
          schema: insightSchema,
          resource: "insight",
        });
        if (insight.deleted) throw notFound("insight");
        return insight;
      } catch (error) {
        if (typeof idOrShortId === "number" || !isPostHogError(error) || error.code !== "not_found")
          throw error;
      }
    }
    this.segmentOrNotFound(raw, "insight");
    const page = await this.call({
      method: "GET",
      path: this.insightsBase,
      query: { short_id: raw, basic: true, limit: 1 },
      schema: INSIGHT_PAGE,
      resource: "insight",
    });
    const insight = page.results.find((i) => i.short_id === raw && !i.deleted);
    if (!insight) throw notFound("insight");
    return insight;
  }

  // ── Organization members ──────────────────────────────────────────────

  /**
   * Every member of the key's current organization. `search` is passed to
   * PostHog, but older servers ignore it, so callers should still match on
   * email themselves.
   */
  async listMembers(options: { search?: string } = {}): Promise<Member[]> {
    const search = options.search?.trim();
    const pageSize = 100;
    const all: Member[] = [];
    this.lastListPageCount = 0;
    const fetchPage = (offset: number) =>
      this.call({
        method: "GET",
        path: "/api/organizations/@current/members/",
        query: { search: search ? search : undefined, limit: pageSize, offset },
        schema: memberPageSchema,
        resource: "member",
      });
    for await (const page of this.pages(fetchPage)) all.push(...page);
    return all;
  }

  // ── Plumbing ──────────────────────────────────────────────────────────

  private alertPath(id: string): string {
    return `${this.alertsBase}${this.segmentOrNotFound(id, "alert")}/`;
  }

  private segmentOrNotFound(id: string, resource: PostHogResource): string {
    const segment = pathSegment(id);
    if (segment === null) throw notFound(resource);
    return segment;
  }

  /** Walks offset pagination until PostHog reports no next page. */
  private async *pages<T>(
    fetchPage: (offset: number) => Promise<Page<T>>,
  ): AsyncGenerator<T[], void, undefined> {
    let offset = 0;
    this.lastListPageCount = 0;
    for (;;) {
      if (this.lastListPageCount >= MAX_PAGES) {
        throw badResponse(`pagination did not end after ${MAX_PAGES} pages`);
      }
      const page = await fetchPage(offset);
      this.lastListPageCount += 1;
      yield page.results;
      if (!page.next || page.results.length === 0) return;
      offset += page.results.length;
    }
  }

  private backoffMs(retryIndex: number): number {
    const exponential = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** retryIndex);
    const jitter = 0.5 + 0.5 * Math.min(1, Math.max(0, this.random()));
    return Math.round(exponential * jitter);
  }

  private buildUrl(path: string, query: Record<string, QueryValue> | undefined): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) params.set(key, String(value));
    }
    const qs = params.toString();
    return `${this.host}${path}${qs ? `?${qs}` : ""}`;
  }

  private report(info: RequestLogInfo): void {
    if (!this.onRequest) return;
    try {
      this.onRequest(info);
    } catch {
      // Logging must never break a request.
    }
  }

  private async call<S extends z.ZodType>(spec: CallSpec<S>): Promise<z.output<S>>;
  private async call(spec: CallSpec<undefined>): Promise<undefined>;
  private async call(spec: CallSpec<z.ZodType | undefined>): Promise<unknown> {
    const url = this.buildUrl(spec.path, spec.query);
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.apiKey}`,
      accept: "application/json",
      "user-agent": this.userAgent,
    };
    let body: string | undefined;
    if (spec.body !== undefined) {
      body = JSON.stringify(spec.body);
      headers["content-type"] = "application/json";
    }
    // A create is sent again only after a 429: PostHog throttles a request before its view runs,
    // so nothing was created. After a timeout or a 5xx it may have been.
    const retryable = IDEMPOTENT.has(spec.method);
    const attempts = this.maxRetries + 1;

    for (let attempt = 1; ; attempt++) {
      const started = this.now();
      const last = attempt >= attempts;
      let status: number;
      let text: string;
      let responseHeaders: Dispatcher.ResponseData["headers"];
      try {
        this.requestCount += 1;
        ({ status, headers: responseHeaders, text } = await this.send(url, spec.method, headers, body));
      } catch (cause) {
        const error = this.redact(classifyNetworkError(cause));
        this.report(this.logInfo(spec, null, started, attempt, error));
        if (last || !retryable) throw error;
        await this.sleep(this.backoffMs(attempt - 1));
        continue;
      }

      if (status >= 200 && status < 300) {
        this.report(this.logInfo(spec, status, started, attempt));
        return spec.schema === undefined ? undefined : this.parse(spec.schema, text, status);
      }
      if (spec.method === "DELETE" && status === 404 && attempt > 1) {
        this.report(this.logInfo(spec, status, started, attempt));
        return undefined;
      }

      const error = this.redact(
        classify(status, text, responseHeaders, { resource: spec.resource, nowMs: this.now() }),
      );
      this.report(this.logInfo(spec, status, started, attempt, error));
      if (last || !RETRY_STATUSES.has(status) || (!retryable && status !== 429)) throw error;
      let delay = this.backoffMs(attempt - 1);
      if (status === 429 && error.retryAfterSeconds !== undefined) {
        delay = Math.ceil(error.retryAfterSeconds * 1000);
        if (delay > this.maxRetryAfterMs) throw error;
      }
      await this.sleep(delay);
    }
  }

  /**
   * One HTTP exchange. undici's own headers/body timeouts are set, but its
   * timers tick about every half second, so the same limits are also enforced
   * here with an abort signal for precise deadlines.
   */
  private async send(
    url: string,
    method: HttpMethod,
    headers: Record<string, string>,
    body: string | undefined,
  ): Promise<{ status: number; headers: Dispatcher.ResponseData["headers"]; text: string }> {
    const controller = new AbortController();
    let timedOut: "UND_ERR_HEADERS_TIMEOUT" | "UND_ERR_BODY_TIMEOUT" | null = null;
    const arm = (ms: number, code: "UND_ERR_HEADERS_TIMEOUT" | "UND_ERR_BODY_TIMEOUT") =>
      setTimeout(() => {
        timedOut = code;
        controller.abort(timeoutError(code));
      }, ms);
    let timer = arm(this.headersMs, "UND_ERR_HEADERS_TIMEOUT");
    try {
      const response = await request(url, {
        dispatcher: this.dispatcher,
        method,
        headers,
        body,
        signal: controller.signal,
        headersTimeout: this.headersMs,
        bodyTimeout: this.bodyMs,
      });
      clearTimeout(timer);
      timer = arm(this.bodyMs, "UND_ERR_BODY_TIMEOUT");
      const chunks: Buffer[] = [];
      for await (const chunk of response.body) {
        chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
        clearTimeout(timer);
        timer = arm(this.bodyMs, "UND_ERR_BODY_TIMEOUT");
      }
      return {
        status: response.statusCode,
        headers: response.headers,
        text: Buffer.concat(chunks).toString("utf8"),
      };
    } catch (error) {
      throw timedOut ? timeoutError(timedOut) : error;
    } finally {
      clearTimeout(timer);
    }
  }

  private parse<S extends z.ZodType>(schema: S, text: string, status: number): z.output<S> {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw badResponse(text.trim() === "" ? "empty body" : "body is not JSON", status);
    }
    const result = schema.safeParse(json);
    if (!result.success) {
      const where = result.error.issues
        .slice(0, 3)
        .map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`)
        .join("; ");
      throw this.redact(badResponse(`schema mismatch at ${where}`, status));
    }
    return result.data;
  }

  private logInfo(
    spec: CallSpec<z.ZodType | undefined>,
    status: number | null,
    started: number,
    attempt: number,
    error?: PostHogError,
  ): RequestLogInfo {
    return {
      method: spec.method,
      path: spec.path,
      status,
      durationMs: Math.max(0, this.now() - started),
      attempt,
      ...(error ? { errorCode: error.code } : {}),
    };
  }

  /** Belt and braces: PostHog never echoes the key, but if any text did, it is scrubbed here. */
  private redact(error: PostHogError): PostHogError {
    const key = this.apiKey;
    if (key.length < 8) return error;
    const texts = [error.message, error.userMessage, error.detail ?? ""];
    if (!texts.some((t) => t.includes(key))) return error;
    const scrub = (t: string) => t.split(key).join("[redacted]");
    return new PostHogError({
      code: error.code,
      message: scrub(error.message),
      userMessage: scrub(error.userMessage),
      ...(error.status === undefined ? {} : { status: error.status }),
      ...(error.attr === undefined ? {} : { attr: error.attr }),
      ...(error.detail === undefined ? {} : { detail: scrub(error.detail) }),
      ...(error.posthogCode === undefined ? {} : { posthogCode: error.posthogCode }),
      ...(error.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: error.retryAfterSeconds }),
      ...(error.missingScope === undefined ? {} : { missingScope: error.missingScope }),
    });
  }
}

/**
 * Encodes one path segment so an id can never add or climb path segments.
 * Returns null for ids that cannot be a segment at all ("", ".", "..").
 */
export function pathSegment(id: string): string | null {
  if (id === "" || id === "." || id === "..") return null;
  return encodeURIComponent(id);
}

function timeoutError(code: "UND_ERR_HEADERS_TIMEOUT" | "UND_ERR_BODY_TIMEOUT"): Error {
  const what = code === "UND_ERR_HEADERS_TIMEOUT" ? "response headers" : "the response body";
  return Object.assign(new Error(`PostHog did not send ${what} in time`), { code });
}

function notFound(resource: PostHogResource): PostHogError {
  return new PostHogError({
    code: "not_found",
    message: `PostHog ${resource} not found`,
    userMessage: USER_MESSAGES.notFound[resource],
    status: 404,
  });
}
