import { Agent, type Dispatcher, request } from "undici";

/**
 * Answers to slash commands and button clicks go to the interaction's
 * `response_url`: a plain JSON POST, no token. Bolt's own `respond()` sends it
 * through the global `fetch`, whose request, header and stream objects cost
 * several times the CPU of the post itself; on the thread that also has to
 * acknowledge the next interactions within Slack's 3 seconds, that shows up
 * in every ack that arrives meanwhile. This sender uses undici's `request`
 * on its own keep-alive pool, and keeps Bolt's contract: a message that
 * Slack did not take is an error the caller sees.
 */

/** A message for a response URL: `text` and `blocks`, and how to place it. */
export interface ResponseMessage {
  text: string;
  blocks?: unknown[];
  response_type?: "ephemeral" | "in_channel";
  replace_original?: boolean;
  delete_original?: boolean;
}

/** What listeners use to answer an interaction. Built once in the composition root; tests pass fakes. */
export interface ResponderPort {
  /** Posts the message; rejects with a `ResponseUrlError` when Slack does not take it. */
  send(responseUrl: string | undefined, message: ResponseMessage): Promise<void>;
}

export type ResponseUrlErrorCode =
  /** The interaction came without a response URL (a click in a modal or on the Home tab). */
  | "response_url_missing"
  /** Slack answered with an error status, or 200 with `ok: false`. */
  | "response_url_refused"
  /** No answer: connection refused or reset, or a timeout. */
  | "response_url_unreachable";

export class ResponseUrlError extends Error {
  override readonly name = "ResponseUrlError";
  constructor(
    readonly code: ResponseUrlErrorCode,
    message: string,
    /** HTTP status, when Slack answered. */
    readonly status?: number,
    /** Slack's error, e.g. `used_url` or `expired_url`, when it said one. */
    readonly slackError?: string,
  ) {
    super(message);
  }
}

export interface ResponseUrlSenderOptions {
  /** Where requests go; by default the sender's own keep-alive Agent (closed by `close()`). */
  dispatcher?: Dispatcher;
  /** Longest wait for Slack's answer (headers, then body). Default 10 s. */
  timeoutMs?: number;
}

/** The largest answer body read for its error code; Slack's are a few dozen bytes. */
const MAX_ANSWER_CHARS = 4_096;

export interface ResponseUrlSender extends ResponderPort {
  /** Closes the sender's own connection pool (an injected dispatcher is left alone). */
  close(): Promise<void>;
}

/** Slack's error from an answer body: `{"ok": false, "error": "used_url"}`, or plain text. */
function slackErrorOf(body: string): string | undefined {
  const text = body.slice(0, MAX_ANSWER_CHARS).trim();
  if (text === "" || text === "ok") return undefined;
  if (text.startsWith("{")) {
    try {
      const parsed = JSON.parse(text) as { error?: unknown };
      return typeof parsed.error === "string" ? parsed.error.slice(0, 100) : undefined;
    } catch {
      return undefined;
    }
  }
  return /^[a-z_]{1,100}$/.test(text) ? text : undefined;
}

/** Whether a 2xx answer still says the message was refused (`{"ok": false, …}`). */
function refusedIn(body: string): boolean {
  return body.startsWith("{") && /"ok"\s*:\s*false/.test(body.slice(0, MAX_ANSWER_CHARS));
}

/** JSON of frozen blocks, which the builders share between messages (see alertRow in blocks/alert-list). */
const frozenBlockJson = new WeakMap<object, string>();

function blockJson(block: unknown): string {
  if (typeof block === "object" && block !== null && Object.isFrozen(block)) {
    let json = frozenBlockJson.get(block);
    if (json === undefined) {
      json = JSON.stringify(block);
      frozenBlockJson.set(block, json);
    }
    return json;
  }
  return JSON.stringify(block) ?? "null";
}

/**
 * The message as JSON, exactly as `JSON.stringify` writes it, except that a
 * frozen block (immutable, shared by many messages) is serialized only once.
 */
export function messageJson(message: ResponseMessage): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(message)) {
    if (value === undefined) continue;
    const json =
      key === "blocks" && Array.isArray(value)
        ? `[${Array.from(value, blockJson).join(",")}]`
        : (JSON.stringify(value) as string | undefined);
    if (json !== undefined) parts.push(`${JSON.stringify(key)}:${json}`);
  }
  return `{${parts.join(",")}}`;
}

export function createResponseUrlSender(options: ResponseUrlSenderOptions = {}): ResponseUrlSender {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const owned = options.dispatcher
    ? null
    : new Agent({
        connect: { timeout: timeoutMs },
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
  const dispatcher = options.dispatcher ?? (owned as Agent);

  return {
    async send(responseUrl, message) {
      if (!responseUrl) {
        throw new ResponseUrlError(
          "response_url_missing",
          "this interaction has no response_url to answer through",
        );
      }
      let status: number;
      let answer: string;
      try {
        const res = await request(responseUrl, {
          method: "POST",
          headers: { "content-type": "application/json; charset=utf-8" },
          body: messageJson(message),
          dispatcher,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        });
        status = res.statusCode;
        answer = await res.body.text();
      } catch (error) {
        const code = (error as { code?: string }).code;
        throw new ResponseUrlError(
          "response_url_unreachable",
          `could not post to the response_url: ${code ?? (error as Error).message}`,
        );
      }
      if (status >= 200 && status < 300 && !refusedIn(answer)) return;
      const slackError = slackErrorOf(answer);
      throw new ResponseUrlError(
        "response_url_refused",
        `Slack refused the response_url post: HTTP ${status}${slackError ? ` ${slackError}` : ""}`,
        status,
        slackError,
      );
    },
    async close() {
      await owned?.close();
    },
  };
}
