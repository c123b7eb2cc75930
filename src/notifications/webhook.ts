import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { wellFormed } from "../slack/mrkdwn.js";
import type { FiringInput, Store } from "../store/store.js";
import { describeError, type Logger } from "./ports.js";

/**
 * `POST /posthog/webhook`: PostHog's HTTP-webhook destination for
 * `$insight_alert_firing`. The handler only authenticates, validates and
 * stores; it answers 202 once the event is committed and never waits on
 * Slack or PostHog. Bad input gets a 4xx with a one-sentence `error`; a
 * store that cannot write (disk full, locked) gets 503 with Retry-After so
 * PostHog tries again.
 */

export interface WebhookHandlerOptions {
  store: Pick<Store, "enqueueFiring">;
  /** WEBHOOK_SECRET; when unset the route answers 404 (webhook off). */
  secret: string | undefined;
  logger: Logger;
  /** Called after a new (not duplicate) event is stored: wake the delivery worker. */
  onAccepted?: () => void;
  maxBodyBytes?: number;
}

export type WebhookHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export const WEBHOOK_MAX_BODY_BYTES = 1024 * 1024;
export const WEBHOOK_MAX_DEPTH = 64;
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
  return createHash("sha256").update(value, "utf8").digest();
}

/** Constant-time check of `Authorization: Bearer <secret>`; hashing first hides the secret's length. */
export function bearerMatches(header: string | undefined, secret: string): boolean {
  const match = /^Bearer[ \t]+(\S.*)$/i.exec(header?.trim() ?? "");
  const presented = match?.[1]?.trim() ?? "";
  const equal = timingSafeEqual(digest(presented), digest(secret));
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

export function createWebhookHandler(options: WebhookHandlerOptions): WebhookHandler {
  const { store, secret, logger } = options;
  const maxBody = options.maxBodyBytes ?? WEBHOOK_MAX_BODY_BYTES;

  return async (req, res) => {
    try {
      if (!secret) {
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
      if (!bearerMatches(req.headers.authorization, secret)) {
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
      const url = new URL(req.url ?? "/", "http://localhost");
      const channel = url.searchParams.get("channel");
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
        body = JSON.parse(read.body.toString("utf8").replace(/^\uFEFF/, ""));
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
      let result: { id: number; duplicate: boolean };
      try {
        result = store.enqueueFiring({ ...parsed.event, source: "webhook", channelHint: channel });
      } catch (error) {
        logger.error(
          { alertId: parsed.event.alertId, error: describeError(error) },
          "Could not store a PostHog alert event; asking PostHog to retry",
        );
        send(
          res,
          503,
          { error: "The bot cannot store events right now; try again later." },
          { "Retry-After": String(RETRY_AFTER_SECONDS) },
        );
        return;
      }
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
      if (!result.duplicate) {
        try {
          options.onAccepted?.();
        } catch (error) {
          logger.error({ error: describeError(error) }, "Waking the notification worker failed");
        }
      }
    } catch (error) {
      logger.error({ error: describeError(error) }, "PostHog webhook handler failed");
      send(res, 500, { error: "Internal error." });
    }
  };
}
