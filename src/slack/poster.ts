import type { types as slackTypes, webApi } from "@slack/bolt";

/**
 * The two Slack calls the notification worker makes, with every outcome as a
 * value. The worker owns retries and pacing, so the WebClient behind this
 * must be built with `rejectRateLimitedCalls: true` and
 * `retryConfig: { retries: 0 }`.
 */

export type PostResult =
  | { ok: true; ts: string }
  | { ok: false; kind: "rate_limited"; retryAfterMs: number }
  | { ok: false; kind: "permanent" | "transient"; error: string };

export interface PostArgs {
  channel: string;
  text: string;
  blocks?: unknown[];
  thread_ts?: string;
  reply_broadcast?: boolean;
  /** Carried in the message's metadata, so the post can be found again by `findPosted`. */
  deliveryKey?: string;
}

export interface FindPostedArgs {
  channel: string;
  /** Look among this thread's replies instead of the channel's top-level messages. */
  threadTs?: string;
  /** Nothing older than this (epoch ms) is looked at. */
  oldestMs: number;
  deliveryKey: string;
}

/** The message carrying the key (its ts), or null when the channel has none since `oldestMs`. */
export type FindResult = { ok: true; ts: string | null } | Exclude<PostResult, { ok: true }>;

export interface UpdateArgs {
  channel: string;
  ts: string;
  text: string;
  blocks: unknown[];
}

export interface SlackPoster {
  post(args: PostArgs): Promise<PostResult>;
  update(args: UpdateArgs): Promise<PostResult>;
  /**
   * Looks for a message this app posted with `deliveryKey`: the check made
   * before posting again when an earlier post's outcome is unknown. Needs
   * the `channels:history` and `groups:history` scopes.
   */
  findPosted(args: FindPostedArgs): Promise<FindResult>;
}

/** The metadata event type on every notification the worker posts. */
export const DELIVERY_EVENT_TYPE = "posthog_alert_delivery";
/** Messages read per history page, and pages read at most, when looking for a post. */
const LOOKUP_PAGE_SIZE = 200;
const LOOKUP_MAX_PAGES = 10;

/**
 * Slack errors worth trying again later. Everything else that Slack answers
 * with `ok: false` (not_in_channel, channel_not_found, is_archived,
 * invalid_auth, invalid_blocks, msg_too_long, …) will fail the same way
 * every time, so it is permanent.
 */
const TRANSIENT_PLATFORM_ERRORS = new Set([
  "internal_error",
  "fatal_error",
  "service_unavailable",
  "request_timeout",
  "team_added_to_org",
  "accesslimited",
  "ratelimited",
]);

/** When Slack says `ratelimited` without a usable Retry-After, wait this long. */
const DEFAULT_RETRY_AFTER_MS = 30_000;

/** Slack errors that mean the message to update is gone or can no longer be edited. */
export const MESSAGE_GONE_ERRORS: ReadonlySet<string> = new Set([
  "message_not_found",
  "cant_update_message",
  "edit_window_closed",
]);

/** Slack errors about the channel or the token, not the message: every later message there fails too. */
export const CHANNEL_ERRORS: ReadonlySet<string> = new Set([
  "not_in_channel",
  "channel_not_found",
  "is_archived",
  "invalid_auth",
  "account_inactive",
  "token_revoked",
  "token_expired",
  "not_authed",
  "missing_scope",
  "restricted_action",
  "restricted_action_read_only_channel",
  "ekm_access_denied",
  "team_access_not_granted",
]);

function errorCode(error: unknown): string | undefined {
  if (typeof error === "object" && error !== null && "code" in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === "string" ? code : undefined;
  }
  return undefined;
}

/** Turns anything the WebClient throws into a result the worker can act on. */
export function classifySlackError(error: unknown): Exclude<PostResult, { ok: true }> {
  const code = errorCode(error);
  if (code === "slack_webapi_rate_limited_error") {
    const seconds = Number((error as { retryAfter?: unknown }).retryAfter);
    return {
      ok: false,
      kind: "rate_limited",
      retryAfterMs: Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : DEFAULT_RETRY_AFTER_MS,
    };
  }
  if (code === "slack_webapi_platform_error") {
    const data = (error as { data?: { error?: unknown } }).data;
    const slackError = typeof data?.error === "string" ? data.error : "unknown_error";
    return platformResult(slackError);
  }
  if (code === "slack_webapi_http_error") {
    const status = (error as { statusCode?: unknown }).statusCode;
    return { ok: false, kind: "transient", error: `http_${typeof status === "number" ? status : "error"}` };
  }
  if (code === "slack_webapi_request_error") {
    const original = (error as { original?: { message?: unknown } }).original;
    const detail = typeof original?.message === "string" ? `: ${original.message}` : "";
    return { ok: false, kind: "transient", error: `request_error${detail}`.slice(0, 300) };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { ok: false, kind: "transient", error: `unexpected_error: ${message}`.slice(0, 300) };
}

function platformResult(slackError: string): Exclude<PostResult, { ok: true }> {
  if (slackError === "ratelimited")
    return { ok: false, kind: "rate_limited", retryAfterMs: DEFAULT_RETRY_AFTER_MS };
  return {
    ok: false,
    kind: TRANSIENT_PLATFORM_ERRORS.has(slackError) ? "transient" : "permanent",
    error: slackError,
  };
}

/** The slice of `WebClient` the poster needs. */
export interface ChatClient {
  chat: Pick<webApi.WebClient["chat"], "postMessage" | "update">;
  conversations: Pick<webApi.WebClient["conversations"], "history" | "replies">;
}

interface ListedMessage {
  ts?: string;
  metadata?: { event_type?: string; event_payload?: Record<string, unknown> };
}

function carriesKey(message: ListedMessage, key: string): boolean {
  return (
    message.metadata?.event_type === DELIVERY_EVENT_TYPE &&
    message.metadata.event_payload?.delivery_key === key
  );
}

/** The builders return plain JSON; Slack validates it. */
type AnyBlocks = Array<slackTypes.KnownBlock | slackTypes.Block>;

export function createWebPoster(client: ChatClient): SlackPoster {
  return {
    async post(args) {
      try {
        const content = args.blocks
          ? { channel: args.channel, text: args.text, blocks: args.blocks as AnyBlocks }
          : { channel: args.channel, text: args.text };
        const thread = args.thread_ts
          ? { thread_ts: args.thread_ts, reply_broadcast: args.reply_broadcast ?? false }
          : {};
        const metadata = args.deliveryKey
          ? {
              metadata: {
                event_type: DELIVERY_EVENT_TYPE,
                event_payload: { delivery_key: args.deliveryKey },
              },
            }
          : {};
        const response = await client.chat.postMessage({
          ...content,
          ...thread,
          ...metadata,
          unfurl_links: false,
          unfurl_media: false,
        });
        if (response.ok === false) return platformResult(response.error ?? "unknown_error");
        if (typeof response.ts !== "string" || response.ts === "") {
          return { ok: false, kind: "permanent", error: "no_ts_in_response" };
        }
        return { ok: true, ts: response.ts };
      } catch (error) {
        return classifySlackError(error);
      }
    },
    async update(args) {
      try {
        const response = await client.chat.update({
          channel: args.channel,
          ts: args.ts,
          text: args.text,
          blocks: args.blocks as AnyBlocks,
        });
        if (response.ok === false) return platformResult(response.error ?? "unknown_error");
        return {
          ok: true,
          ts: typeof response.ts === "string" && response.ts !== "" ? response.ts : args.ts,
        };
      } catch (error) {
        return classifySlackError(error);
      }
    },
    async findPosted(args) {
      // Slack's ts is its own clock; a minute of slack covers a skewed local clock.
      const oldest = (Math.max(0, args.oldestMs - 60_000) / 1000).toFixed(6);
      let cursor: string | undefined;
      try {
        for (let page = 0; page < LOOKUP_MAX_PAGES; page++) {
          const common = {
            channel: args.channel,
            oldest,
            inclusive: true,
            limit: LOOKUP_PAGE_SIZE,
            include_all_metadata: true,
            ...(cursor ? { cursor } : {}),
          };
          const response = args.threadTs
            ? await client.conversations.replies({ ...common, ts: args.threadTs })
            : await client.conversations.history(common);
          if (response.ok === false) return platformResult(response.error ?? "unknown_error");
          const messages = (response.messages ?? []) as ListedMessage[];
          const found = messages.find((m) => carriesKey(m, args.deliveryKey));
          if (found?.ts) return { ok: true, ts: found.ts };
          cursor = response.response_metadata?.next_cursor || undefined;
          if (!response.has_more || !cursor) return { ok: true, ts: null };
        }
        // More messages since the attempt than one lookup reads: give up looking. The
        // caller posts again, which at worst shows the notification twice.
        return { ok: true, ts: null };
      } catch (error) {
        return classifySlackError(error);
      }
    },
  };
}
