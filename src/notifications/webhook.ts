import { hash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { wellFormed } from "../slack/mrkdwn.js";
import type { EnqueueResult, FiringInput, Store } from "../store/store.js";
import { describeError, type Logger } from "./ports.js";

/**
 * `POST /posthog/webhook`: PostHog's HTTP-webhook destination for
 * `$insight_alert_firing`. The handler only authenticates, validates and
 * stores; it answers 202 once the event is committed and never waits on
 * Slack or PostHog. Bad input gets a 4xx with a one-sentence `error`; a
 * store that cannot write (disk full, locked) gets 503 with Retry-After so
 * PostHog tries again.
 *
 * Group commit: the events validated in one turn of the event loop are
 * stored together in one transaction (`Store.enqueueFirings`), in the order
 * they were validated, and each request is answered only after that
 * transaction has committed. Under load this turns one commit per event into
 * one per turn; a lone event waits for nothing but the end of its turn. If
 * the transaction fails, every event of it gets 503 and none is stored.
 */

export interface WebhookHandlerOptions {
  store: Pick<Store, "enqueueFirings">;
  /** WEBHOOK_SECRET; when unset the route answers 404 (webhook off). */
  secret: string | undefined;
  logger: Logger;
  /** Called after a new (not duplicate) event is stored: wake the delivery worker. */
  onAccepted?: () => void;
  maxBodyBytes?: number;
  /** Most events stored in one transaction; a turn with more stores them in several. */
  maxBatch?: number;
}

export type WebhookHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export const WEBHOOK_MAX_BODY_BYTES = 1024 * 1024;
export const WEBHOOK_MAX_DEPTH = 64;
export const WEBHOOK_MAX_BATCH = 256;
const FIRING_EVENT = "$insight_alert_firing";
const CHANNEL_ID = /^[CG][A-Z0-9]{6,}$/;
const RETRY_AFTER_SECONDS = 30;

function send(
  res: ServerResponse,
  status: number,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
) {
  if (res.headersSent) return;
  const json = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(json),
    "Cache-Control": "no-store",
    ...headers,
  });
  res.end(json);
}

function digest(value: string): Buffer {
  return hash("sha256", value, "buffer");
}

/** Constant-time check of `Authorization: Bearer <secret>`; hashing first hides the secret's length. */
export function bearerMatches(header: string | undefined, secret: string): boolean {
  return bearerMatchesDigest(header, digest(secret));
}

/** `bearerMatches` against the secret's digest, computed once per handler rather than per request. */
function bearerMatchesDigest(header: string | undefined, secretDigest: Buffer): boolean {
  const match = /^Bearer[ \t]+(\S.*)$/i.exec(header?.trim() ?? "");
  const presented = match?.[1]?.trim() ?? "";
  const equal = timingSafeEqual(digest(presented), secretDigest);
  return equal && presented.length > 0;
}

function isJsonContentType(header: string | undefined): boolean {
  if (!header) return true;
  const type = (header.split(";")[0] ?? "").trim().toLowerCase();
  return type === "" || type === "application/json" || type === "text/plain" || type.endsWith("+json");
}

type BodyResult = { ok: true; body: Buffer } | { ok: false; reason: "too_large" | "aborted" };

/** Reads at most `max` bytes; past that it stops keeping data and reports too_large. */
function readBody(req: IncomingMessage, max: number): Promise<BodyResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (result: BodyResult) => {
      if (settled) return;
      settled = true;
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("aborted", onError);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        chunks.length = 0;
        // Let the rest of the upload drain without keeping it.
        req.resume();
        finish({ ok: false, reason: "too_large" });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => finish({ ok: true, body: Buffer.concat(chunks, size) });
    const onError = () => finish({ ok: false, reason: "aborted" });
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("aborted", onError);
  });
}

/** True when arrays/objects nest deeper than `max` (checked without recursion). */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (typeof node !== "object" || node === null) continue;
    if (depth > max) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof child === "object" && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Text from the body, cut to size and always well-formed UTF-16 (a character cut in half becomes U+FFFD). */
function optionalText(value: unknown, max: number): string | null {
  if (typeof value === "string") return wellFormed(value.slice(0, max));
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return null;
}

export type ParsedEvent = Omit<FiringInput, "source" | "channelHint">;

/**
 * Reads PostHog's `{"event": {...}, "person": ...}` body, or the bare event
 * object, into a firing. Errors name the first missing or wrong field.
 */
export function parseFiringEvent(
  body: unknown,
): { ok: true; event: ParsedEvent } | { ok: false; error: string } {
  if (!isRecord(body)) {
    return {
      ok: false,
      error: 'The body must be a JSON object like PostHog\'s default {"event": …, "person": …}.',
    };
  }
  let event: Record<string, unknown>;
  let at: string;
  if (isRecord(body.event)) {
    event = body.event;
    at = "event.";
  } else if (typeof body.event === "string" && "properties" in body) {
    event = body;
    at = "";
  } else {
    return { ok: false, error: 'event is missing (expected PostHog\'s event object under "event").' };
  }
  const name = event.event;
  if (typeof name !== "string" || name === "") return { ok: false, error: `${at}event is missing.` };
  if (name !== FIRING_EVENT) {
    return {
      ok: false,
      error: `${at}event is ${JSON.stringify(name.slice(0, 80))}; only ${FIRING_EVENT} events are accepted.`,
    };
  }
  const props = event.properties;
  if (!isRecord(props)) return { ok: false, error: `${at}properties is missing.` };
  const alertId = props.alert_id;
  if (alertId === undefined || alertId === null || alertId === "") {
    return { ok: false, error: `${at}properties.alert_id is missing.` };
  }
  if (typeof alertId !== "string" || alertId.length > 200) {
    return { ok: false, error: `${at}properties.alert_id must be a string (the alert's id).` };
  }
  const uuid = event.uuid;
  if (uuid !== undefined && uuid !== null && (typeof uuid !== "string" || uuid.length > 200)) {
    return { ok: false, error: `${at}uuid must be a string.` };
  }
  const lastCheckedAt = props.last_checked_at;
  if (lastCheckedAt !== undefined && lastCheckedAt !== null && typeof lastCheckedAt !== "string") {
    return { ok: false, error: `${at}properties.last_checked_at must be a date-time string.` };
  }
  const breaches = Array.isArray(props.breaches)
    ? props.breaches.filter((b): b is string => typeof b === "string").join("\n")
    : optionalText(props.breaches, 20_000);
  return {
    ok: true,
    event: {
      eventUuid: typeof uuid === "string" && uuid !== "" ? wellFormed(uuid) : null,
      alertId: wellFormed(alertId),
      alertName: optionalText(props.alert_name, 1000),
      insightName: optionalText(props.insight_name, 1000),
      insightShortId: optionalText(props.insight_id, 200),
      breaches: breaches ? wellFormed(breaches.slice(0, 20_000)) : null,
      lastCheckedAt: typeof lastCheckedAt === "string" ? wellFormed(lastCheckedAt.slice(0, 100)) : null,
      state: optionalText(props.state, 50),
      isTest: props.is_test === true,
    },
  };
}

type StoreOutcome = { ok: true; result: EnqueueResult } | { ok: false; error: unknown };

interface Queued {
  input: FiringInput;
  settle: (outcome: StoreOutcome) => void;
}

/**
 * Stores firings in groups: `submit` queues one and settles once the
 * transaction holding it has committed (or failed). The queue is flushed at
 * the end of the current event-loop turn (setImmediate runs after every
 * request whose body arrived in this turn has been read and validated), or at
 * once when it reaches `maxBatch`. `onStored` runs after each flush.
 */
export function createFiringBatcher(
  store: Pick<Store, "enqueueFirings">,
  maxBatch: number,
  onStored: (batch: readonly FiringInput[], outcome: EnqueueResult[] | { error: unknown }) => void,
): (input: FiringInput) => Promise<StoreOutcome> {
  let queue: Queued[] = [];
  let scheduled = false;

  const flush = () => {
    scheduled = false;
    const batch = queue;
    queue = [];
    if (batch.length === 0) return;
    const inputs = batch.map((q) => q.input);
    let results: EnqueueResult[];
    try {
      results = store.enqueueFirings(inputs);
      if (results.length !== batch.length)
        throw new Error("the store answered for a different number of events");
    } catch (error) {
      for (const q of batch) q.settle({ ok: false, error });
      report(inputs, { error });
      return;
    }
    for (const [i, q] of batch.entries()) q.settle({ ok: true, result: results[i] as EnqueueResult });
    report(inputs, results);
  };
  const report: typeof onStored = (inputs, outcome) => {
    try {
      onStored(inputs, outcome);
    } catch {
      // Every request of the batch has its outcome already; a failing report must not crash the process.
    }
  };

  return (input) =>
    new Promise<StoreOutcome>((settle) => {
      queue.push({ input, settle });
      if (queue.length >= Math.max(1, maxBatch)) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    });
}

/** `?channel=` from the request target; cheaper than a full URL parse, which most calls would not need. */
function channelOf(url: string | undefined): string | null {
  const at = url?.indexOf("?") ?? -1;
  if (!url || at < 0) return null;
  const end = url.indexOf("#", at);
  return new URLSearchParams(url.slice(at + 1, end < 0 ? undefined : end)).get("channel");
}

export function createWebhookHandler(options: WebhookHandlerOptions): WebhookHandler {
  const { store, secret, logger } = options;
  const maxBody = options.maxBodyBytes ?? WEBHOOK_MAX_BODY_BYTES;
  const secretDigest = secret ? digest(secret) : null;

  const submit = createFiringBatcher(store, options.maxBatch ?? WEBHOOK_MAX_BATCH, (batch, outcome) => {
    if ("error" in outcome) {
      logger.error(
        {
          events: batch.length,
          alertIds: [...new Set(batch.map((e) => e.alertId))].slice(0, 20),
          error: describeError(outcome.error),
        },
        "Could not store PostHog alert events; asking PostHog to retry",
      );
      return;
    }
    if (!outcome.some((r) => !r.duplicate || r.completed)) return;
    try {
      options.onAccepted?.();
    } catch (error) {
      logger.error({ error: describeError(error) }, "Waking the notification worker failed");
    }
  });

  return async (req, res) => {
    try {
      if (!secretDigest) {
        send(res, 404, {
          error:
            "The PostHog webhook is turned off: set WEBHOOK_SECRET on the bot and send it as a Bearer token.",
        });
        return;
      }
      if (req.method !== "POST") {
        send(res, 405, { error: "Use POST." }, { Allow: "POST" });
        return;
      }
      if (!bearerMatchesDigest(req.headers.authorization, secretDigest)) {
        logger.warn(
          { remote: req.socket.remoteAddress, hasAuthorization: Boolean(req.headers.authorization) },
          "Rejected a PostHog webhook call with a missing or wrong secret",
        );
        send(
          res,
          401,
          { error: "Missing or wrong secret: send the header Authorization: Bearer <WEBHOOK_SECRET>." },
          { "WWW-Authenticate": "Bearer" },
        );
        return;
      }
      if (!isJsonContentType(req.headers["content-type"])) {
        send(res, 415, { error: "Send the body as JSON (Content-Type: application/json)." });
        return;
      }
      const channel = channelOf(req.url);
      if (channel !== null && !CHANNEL_ID.test(channel)) {
        send(res, 422, { error: "channel must be a Slack channel ID such as C0123ABCDEF." });
        return;
      }
      const declared = Number(req.headers["content-length"]);
      if (Number.isFinite(declared) && declared > maxBody) {
        send(res, 413, { error: `The body is larger than ${maxBody} bytes.` }, { Connection: "close" });
        return;
      }
      const read = await readBody(req, maxBody);
      if (!read.ok) {
        if (read.reason === "too_large") {
          send(res, 413, { error: `The body is larger than ${maxBody} bytes.` }, { Connection: "close" });
        } else {
          send(res, 400, { error: "The request body could not be read." });
        }
        return;
      }
      let body: unknown;
      try {
        const text = read.body.toString("utf8");
        body = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
      } catch {
        send(res, 400, { error: "The body is not valid JSON." });
        return;
      }
      if (nestedDeeperThan(body, WEBHOOK_MAX_DEPTH)) {
        send(res, 422, { error: `The JSON is nested deeper than ${WEBHOOK_MAX_DEPTH} levels.` });
        return;
      }
      const parsed = parseFiringEvent(body);
      if (!parsed.ok) {
        logger.info({ error: parsed.error }, "Rejected a PostHog webhook body");
        send(res, 422, { error: parsed.error });
        return;
      }
      const stored = await submit({ ...parsed.event, source: "webhook", channelHint: channel });
      if (!stored.ok) {
        send(
          res,
          503,
          { error: "The bot cannot store events right now; try again later." },
          { "Retry-After": String(RETRY_AFTER_SECONDS) },
        );
        return;
      }
      const result = stored.result;
      logger.info(
        {
          alertId: parsed.event.alertId,
          notificationId: result.id,
          duplicate: result.duplicate,
          test: parsed.event.isTest || undefined,
        },
        result.duplicate ? "PostHog alert event was a duplicate" : "Accepted a PostHog alert event",
      );
      send(res, 202, {
        accepted: true,
        id: result.id,
        duplicate: result.duplicate,
        ...(parsed.event.isTest ? { test: true } : {}),
      });
    } catch (error) {
      logger.error({ error: describeError(error) }, "PostHog webhook handler failed");
      send(res, 500, { error: "Internal error." });
    }
  };
}
