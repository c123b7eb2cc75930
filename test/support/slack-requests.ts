/**
 * Correctly signed Slack requests to a running app: slash commands and the
 * interactivity payloads (block_actions, view_submission, view_closed,
 * block_suggestion) in the shapes Slack really sends, form-encoded with a
 * Content-Type of exactly `application/x-www-form-urlencoded`.
 */
import { createHmac, randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";

export const FORM_CONTENT_TYPE = "application/x-www-form-urlencoded";

/** Slack's v0 request signature: "v0=" + hex HMAC-SHA256(secret, "v0:" + timestamp + ":" + raw body). */
export function sign(secret: string, timestamp: number, rawBody: string): string {
  return `v0=${createHmac("sha256", secret).update(`v0:${timestamp}:${rawBody}`).digest("hex")}`;
}

export interface SlackRequesterOptions {
  /** e.g. http://127.0.0.1:PORT */
  baseUrl: string;
  signingSecret: string;
  /** Default "/slack/events". */
  path?: string;
  /** Clock in epoch milliseconds, used for the signature timestamp and action_ts. */
  now?: () => number;
  teamId?: string;
  teamDomain?: string;
  apiAppId?: string;
  /** The deprecated verification token Slack still puts in every payload. */
  verificationToken?: string;
}

export interface SlackHttpResponse {
  status: number;
  body: string;
  /** Wall-clock time from sending to the full response, in milliseconds. */
  ms: number;
  /** The body parsed as JSON, when it is JSON and its content type says so. */
  json?: unknown;
  contentType: string | null;
}

export interface SlashCommandArgs {
  text: string;
  userId?: string;
  userName?: string;
  channelId?: string;
  channelName?: string;
  command?: string;
  responseUrl: string;
  triggerId?: string;
}

export interface SelectedOption {
  value: string;
  text?: string;
}

export interface BlockActionArgs {
  userId?: string;
  actionId: string;
  blockId?: string;
  value?: string;
  selectedOption?: SelectedOption;
  /** Label of the clicked button (default "Button"). */
  text?: string;
  channelId?: string;
  messageTs?: string;
  responseUrl?: string;
  triggerId?: string;
  /** Set when the action happens inside a modal or Home tab: container becomes the view. */
  // biome-ignore lint/suspicious/noExplicitAny: a view as Slack sends it
  view?: any;
  /** The message the action's block belongs to, as Slack sends it (omitted for ephemeral messages). */
  // biome-ignore lint/suspicious/noExplicitAny: a message as Slack sends it
  message?: any;
  /** Whether the message is ephemeral (default: true when no `message` is given). */
  isEphemeral?: boolean;
  type?: "button" | "static_select" | "overflow";
}

export interface ViewSubmissionArgs {
  userId?: string;
  callbackId: string;
  privateMetadata?: string;
  values: Record<string, Record<string, unknown>>;
  viewId?: string;
  hash?: string;
  triggerId?: string;
  /** Extra view fields (blocks, title, external_id, …) merged into the payload's view. */
  view?: Record<string, unknown>;
}

export interface ViewClosedArgs {
  userId?: string;
  callbackId: string;
  privateMetadata?: string;
  viewId?: string;
  isCleared?: boolean;
}

export interface BlockSuggestionArgs {
  userId?: string;
  actionId: string;
  blockId?: string;
  value: string;
  // biome-ignore lint/suspicious/noExplicitAny: a view as Slack sends it
  view?: any;
}

let counter = 0;

/** A trigger id shaped like Slack's ("<n>.<n>.<hex>"); unknown to any fake unless it issued it. */
export function randomTriggerId(): string {
  counter += 1;
  return `${Date.now()}${counter}.${counter}7445629121.${randomBytes(16).toString("hex")}`;
}

function randomBlockId(): string {
  return randomBytes(3).toString("base64url").slice(0, 4);
}

export class SlackRequester {
  readonly url: string;
  private readonly secret: string;
  private readonly now: () => number;
  private readonly teamId: string;
  private readonly teamDomain: string;
  private readonly apiAppId: string;
  private readonly token: string;
  private viewSeq = 0;

  constructor(opts: SlackRequesterOptions) {
    this.url = `${opts.baseUrl.replace(/\/$/, "")}${opts.path ?? "/slack/events"}`;
    this.secret = opts.signingSecret;
    this.now = opts.now ?? Date.now;
    this.teamId = opts.teamId ?? "T0FAKETEAM";
    this.teamDomain = opts.teamDomain ?? "fake-team";
    this.apiAppId = opts.apiAppId ?? "A0FAKEAPP";
    this.token = opts.verificationToken ?? "fake-verification-token";
  }

  /** The two signature headers (plus Content-Type) for a raw body, at the requester's clock or a given time. */
  signedHeaders(
    rawBody: string,
    opts: { timestamp?: number; contentType?: string } = {},
  ): Record<string, string> {
    const timestamp = opts.timestamp ?? Math.floor(this.now() / 1000);
    return {
      "Content-Type": opts.contentType ?? FORM_CONTENT_TYPE,
      "X-Slack-Request-Timestamp": String(timestamp),
      "X-Slack-Signature": sign(this.secret, timestamp, rawBody),
    };
  }

  /** Signs and posts any body (e.g. an Events API JSON envelope). */
  send(rawBody: string, contentType: string = FORM_CONTENT_TYPE): Promise<SlackHttpResponse> {
    return this.raw(rawBody, this.signedHeaders(rawBody, { contentType }));
  }

  /** Posts exactly this body with exactly these headers: for forged, stale or malformed requests. */
  async raw(body: string, headers: Record<string, string>): Promise<SlackHttpResponse> {
    const started = performance.now();
    const res = await fetch(this.url, {
      method: "POST",
      headers: { "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)", ...headers },
      body,
    });
    const text = await res.text();
    const ms = performance.now() - started;
    // Like Slack: a body is read as JSON only when it says it is; any other body would be shown
    // to the user as plain text.
    const contentType = res.headers.get("content-type");
    let json: unknown;
    if (text !== "" && /^application\/json\b/i.test(contentType ?? "")) {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    return {
      status: res.status,
      body: text,
      ms,
      ...(json !== undefined ? { json } : {}),
      contentType,
    };
  }

  slashCommand(args: SlashCommandArgs): Promise<SlackHttpResponse> {
    const userId = args.userId ?? "U0TESTUSER";
    const channelId = args.channelId ?? "C0TESTCHAN";
    const fields: Array<[string, string]> = [
      ["token", this.token],
      ["team_id", this.teamId],
      ["team_domain", this.teamDomain],
      ["channel_id", channelId],
      ["channel_name", args.channelName ?? `channel-${channelId.toLowerCase()}`],
      ["user_id", userId],
      ["user_name", args.userName ?? this.userName(userId)],
      ["command", args.command ?? "/alerts"],
      ["text", args.text],
      ["api_app_id", this.apiAppId],
      ["is_enterprise_install", "false"],
      ["response_url", args.responseUrl],
      ["trigger_id", args.triggerId ?? randomTriggerId()],
    ];
    return this.send(new URLSearchParams(fields).toString());
  }

  blockAction(args: BlockActionArgs): Promise<SlackHttpResponse> {
    const type = args.type ?? (args.selectedOption ? "static_select" : "button");
    const action: Record<string, unknown> = {
      type,
      action_id: args.actionId,
      block_id: args.blockId ?? randomBlockId(),
      action_ts: this.slackTs(),
    };
    if (type === "button") {
      action.text = { type: "plain_text", text: args.text ?? "Button", emoji: true };
      if (args.value !== undefined) action.value = args.value;
    } else {
      const option = args.selectedOption ?? { value: args.value ?? "" };
      action.selected_option = {
        text: { type: "plain_text", text: option.text ?? option.value, emoji: true },
        value: option.value,
      };
    }

    const payload: Record<string, unknown> = {
      type: "block_actions",
      user: this.user(args.userId),
      api_app_id: this.apiAppId,
      token: this.token,
      trigger_id: args.triggerId ?? randomTriggerId(),
      team: this.team(),
      enterprise: null,
      is_enterprise_install: false,
    };
    if (args.view !== undefined) {
      const view = this.fullView({ ...args.view });
      payload.container = { type: "view", view_id: view.id };
      payload.view = view;
    } else {
      const channelId = args.channelId ?? "C0TESTCHAN";
      const message = args.message;
      const messageTs = args.messageTs ?? (message?.ts as string | undefined) ?? this.slackTs();
      payload.container = {
        type: "message",
        message_ts: messageTs,
        channel_id: channelId,
        is_ephemeral: args.isEphemeral ?? message === undefined,
      };
      payload.channel = { id: channelId, name: `channel-${channelId.toLowerCase()}` };
      if (message !== undefined) payload.message = { type: "message", ts: messageTs, ...message };
      payload.state = { values: {} };
      if (args.responseUrl !== undefined) payload.response_url = args.responseUrl;
    }
    payload.actions = [action];
    return this.interactive(payload);
  }

  viewSubmission(args: ViewSubmissionArgs): Promise<SlackHttpResponse> {
    const view = this.fullView({
      ...args.view,
      ...(args.viewId !== undefined ? { id: args.viewId } : {}),
      ...(args.hash !== undefined ? { hash: args.hash } : {}),
      callback_id: args.callbackId,
      private_metadata: args.privateMetadata ?? "",
      state: { values: args.values },
    });
    return this.interactive({
      type: "view_submission",
      team: this.team(),
      user: this.user(args.userId),
      api_app_id: this.apiAppId,
      token: this.token,
      trigger_id: args.triggerId ?? randomTriggerId(),
      view,
      response_urls: [],
      is_enterprise_install: false,
      enterprise: null,
    });
  }

  viewClosed(args: ViewClosedArgs): Promise<SlackHttpResponse> {
    const view = this.fullView({
      ...(args.viewId !== undefined ? { id: args.viewId } : {}),
      callback_id: args.callbackId,
      private_metadata: args.privateMetadata ?? "",
    });
    return this.interactive({
      type: "view_closed",
      team: this.team(),
      user: this.user(args.userId),
      api_app_id: this.apiAppId,
      token: this.token,
      view,
      is_cleared: args.isCleared ?? false,
      is_enterprise_install: false,
      enterprise: null,
    });
  }

  blockSuggestion(args: BlockSuggestionArgs): Promise<SlackHttpResponse> {
    const view = this.fullView({ ...args.view });
    return this.interactive({
      type: "block_suggestion",
      user: this.user(args.userId),
      container: { type: "view", view_id: view.id },
      api_app_id: this.apiAppId,
      token: this.token,
      action_id: args.actionId,
      block_id: args.blockId ?? randomBlockId(),
      value: args.value,
      team: this.team(),
      enterprise: null,
      is_enterprise_install: false,
      view,
    });
  }

  /** Signs and posts any interactivity payload as `payload=<JSON>`. */
  interactive(payload: Record<string, unknown>): Promise<SlackHttpResponse> {
    return this.send(new URLSearchParams({ payload: JSON.stringify(payload) }).toString());
  }

  // ----- shapes ------------------------------------------------------------------

  private userName(userId: string): string {
    return `user_${userId.toLowerCase()}`;
  }

  private user(userId = "U0TESTUSER"): Record<string, unknown> {
    const username = this.userName(userId);
    return { id: userId, username, name: username, team_id: this.teamId };
  }

  private team(): Record<string, unknown> {
    return { id: this.teamId, domain: this.teamDomain };
  }

  private slackTs(): string {
    const ms = this.now();
    return `${Math.floor(ms / 1000)}.${String((ms % 1000) * 1000).padStart(6, "0")}`;
  }

  /** A modal view as Slack sends it back, with every field an app may read. */
  private fullView(overrides: Record<string, unknown>): Record<string, unknown> & { id: string } {
    this.viewSeq += 1;
    const id =
      typeof overrides.id === "string" ? overrides.id : `V0TEST${String(this.viewSeq).padStart(4, "0")}`;
    return {
      type: "modal",
      blocks: [],
      private_metadata: "",
      callback_id: "",
      state: { values: {} },
      hash: `${Math.floor(this.now() / 1000)}.${randomBytes(4).toString("hex")}`,
      title: { type: "plain_text", text: "Modal", emoji: true },
      clear_on_close: false,
      notify_on_close: false,
      close: null,
      submit: null,
      previous_view_id: null,
      root_view_id: id,
      app_id: this.apiAppId,
      external_id: "",
      app_installed_team_id: this.teamId,
      bot_id: "B0FAKEBOT",
      team_id: this.teamId,
      ...overrides,
      id,
    };
  }
}
