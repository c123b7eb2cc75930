/**
 * A fake Slack Web API: a real HTTP server on 127.0.0.1 (port 0) that the
 * bot's WebClient talks to through `slackApiUrl`. It answers the methods the
 * bot uses the way Slack does (HTTP 200 with `ok: false` for every error but
 * 429), validates Block Kit with the same checker the unit tests use, and has
 * knobs for the failures that matter: channel errors, one-off faults, rate
 * limits, expiring trigger ids, stale view hashes and used-up response URLs.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { blockKitProblems } from "./block-kit.js";

export interface FakeSlackOptions {
  /** The only token accepted (default "xoxb-test-token"). */
  botToken?: string;
  /** Workspace id (default "T0FAKETEAM"). */
  teamId?: string;
  /** Clock in epoch milliseconds; drives ts values, trigger expiry, rate limits and response URL expiry. */
  now?: () => number;
  /** The bot token's scopes (default: the manifest's, which include channels:history and groups:history). */
  scopes?: string[];
}

/** The scopes the app's manifest asks for; the history ones gate conversations.history and .replies. */
export const DEFAULT_SCOPES = [
  "commands",
  "chat:write",
  "chat:write.public",
  "users:read",
  "users:read.email",
  "usergroups:read",
  "channels:history",
  "groups:history",
];

export interface ApiCall {
  method: string;
  /** Request arguments; `blocks`, `view`, `attachments` and `metadata` are JSON-parsed. */
  args: Record<string, unknown>;
  at: number;
  ok: boolean;
  error?: string;
  /** HTTP status served (0 while a delayed or hanging call is still open). */
  status: number;
}

export interface Fault {
  /** HTTP status to answer with (429 adds `Retry-After`). */
  status?: number;
  /** `error` code; alone it gives HTTP 200 `{ok: false, error}` like Slack. */
  error?: string;
  /** Seconds for `Retry-After` on a 429 (default 1). */
  retryAfter?: number;
  /** Wait this long (real time) before answering. */
  delayMs?: number;
  /** Never answer; the connection stays open until the client gives up or the fake closes. */
  hang?: boolean;
  /** Do the work (post the message, …), then never answer: the answer is lost on the way back. */
  lostAnswer?: boolean;
}

export type ChannelError = "not_in_channel" | "channel_not_found" | "is_archived";

export interface FakeUser {
  id: string;
  name?: string;
  tz?: string;
  email?: string;
  deleted?: boolean;
  is_bot?: boolean;
}

export interface StoredMessage {
  ts: string;
  text: string;
  blocks?: unknown[];
  thread_ts?: string;
  reply_broadcast?: boolean;
  /** How many times chat.update changed it. */
  updates: number;
  /** Author; the bot's user id for everything posted through the API. */
  user: string;
  /** Message metadata as posted (`event_type`, `event_payload`). */
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
}

export interface EphemeralMessage {
  channel: string;
  user: string;
  message_ts: string;
  text: string;
  blocks?: unknown[];
  thread_ts?: string;
}

export interface ResponsePost {
  url: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary fields of what the app sent
  body: any;
  at: number;
  /** HTTP status the fake answered with (200 when accepted). */
  status: number;
  error?: string;
}

export interface StoredView {
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary fields of the stored view
  view: any;
  hash: string;
  userId?: string;
}

export interface FakeSlack {
  apiUrl: string;
  /** http://127.0.0.1:PORT */
  baseUrl: string;
  botToken: string;
  teamId: string;
  botUserId: string;
  botId: string;
  appId: string;
  close(): Promise<void>;

  calls: ApiCall[];
  callsTo(method: string): ApiCall[];

  addUser(u: FakeUser): void;
  addUserGroup(id: string, userIds: string[]): void;

  messages: Map<string, StoredMessage[]>;
  ephemerals: EphemeralMessage[];
  /** Puts a message written by someone else (default user "U0SOMEONE") in a channel; returns its ts. */
  addMessage(
    channel: string,
    msg: { text: string; user?: string; blocks?: unknown[]; thread_ts?: string },
  ): string;
  setChannelError(channel: string, error: ChannelError | null): void;
  /**
   * Takes the bot out of a public channel (or puts it back). With chat:write.public it
   * can still post there, but reading the channel's history answers not_in_channel.
   */
  setBotMember(channel: string, member: boolean): void;
  failNext(method: string, fault: Fault): void;
  setPostRateLimit(perChannelPerSecond: number | null): void;
  /** Every HTTP 429 served (rate limit or fault). */
  rateLimitedCount: number;
  /** Messages (and response URL posts) that had blocks but no top-level text. */
  missingTextCount: number;

  responseUrl(): string;
  responses: ResponsePost[];

  /** A trigger id valid for 3 s, single use; bind it to a user and to the open view it comes from. */
  triggerId(opts?: { userId?: string; viewId?: string }): string;
  views: Map<string, StoredView>;
  /** The view ids of the modal stack holding `viewId`, root first. */
  viewStack(viewId: string): string[];
  /** Closes a modal view and everything pushed above it (what the user closing it does). */
  closeView(viewId: string): void;

  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>;
}

// ---------------------------------------------------------------------------

export const TRIGGER_TTL_MS = 3000;
export const RESPONSE_URL_TTL_MS = 30 * 60 * 1000;
export const RESPONSE_URL_MAX_USES = 5;
export const MODAL_STACK_LIMIT = 3;
export const UPDATE_TEXT_LIMIT = 4000;
export const POST_TEXT_LIMIT = 40_000;

const OBJECT_ARGS = ["blocks", "view", "attachments", "metadata"] as const;

type Obj = Record<string, unknown>;

// biome-ignore lint/suspicious/noExplicitAny: views are free-form JSON the tests read field by field
type Json = any;

interface Reply {
  status?: number;
  headers?: Record<string, string>;
  body: Obj;
}

interface TriggerState {
  issuedAt: number;
  used: boolean;
  userId?: string;
  viewId?: string;
}

interface ResponseUrlState {
  createdAt: number;
  uses: number;
}

interface ViewRecord extends StoredView {
  kind: "modal" | "home";
  stack?: string[];
}

function isObj(value: unknown): value is Obj {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(value);
  return undefined;
}

function truthy(value: unknown): boolean {
  return value === true || value === "true" || value === "1" || value === 1;
}

function fail(error: string, extra: Obj = {}): Reply {
  return { body: { ok: false, error, ...extra } };
}

function invalidBlocks(problems: string[]): Reply {
  return fail("invalid_blocks", {
    errors: problems,
    response_metadata: { messages: problems.map((p) => `[ERROR] ${p}`) },
  });
}

function invalidArguments(messages: string[]): Reply {
  return fail("invalid_arguments", { response_metadata: { messages: messages.map((m) => `[ERROR] ${m}`) } });
}

function tzInfo(tz: string, atMs: number): { offset: number; label: string } {
  const date = new Date(atMs);
  const offsetName =
    new Intl.DateTimeFormat("en-US", { timeZone: tz, timeZoneName: "longOffset" })
      .formatToParts(date)
      .find((p) => p.type === "timeZoneName")?.value ?? "GMT";
  const m = /GMT([+-])(\d{1,2}):?(\d{2})?/.exec(offsetName);
  const offset = m ? (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 3600 + Number(m[3] ?? 0) * 60) : 0;
  const label =
    new Intl.DateTimeFormat("en-US", { timeZone: tz, timeZoneName: "long" })
      .formatToParts(date)
      .find((p) => p.type === "timeZoneName")?.value ?? tz;
  return { offset, label };
}

class FakeSlackServer implements FakeSlack {
  apiUrl = "";
  baseUrl = "";
  readonly botToken: string;
  readonly teamId: string;
  readonly botUserId = "U0FAKEBOT";
  readonly botId = "B0FAKEBOT";
  readonly appId = "A0FAKEAPP";

  calls: ApiCall[] = [];
  messages = new Map<string, StoredMessage[]>();
  ephemerals: EphemeralMessage[] = [];
  responses: ResponsePost[] = [];
  views = new Map<string, ViewRecord>();
  rateLimitedCount = 0;
  missingTextCount = 0;

  private readonly now: () => number;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly pending = new Set<NodeJS.Timeout>();
  private readonly users = new Map<string, FakeUser>();
  private readonly groups = new Map<string, string[]>();
  private readonly channelErrors = new Map<string, ChannelError>();
  private readonly faults = new Map<string, Fault[]>();
  private readonly postTimes = new Map<string, number[]>();
  private readonly triggers = new Map<string, TriggerState>();
  private readonly responseUrls = new Map<string, ResponseUrlState>();
  private readonly responseVerdicts = new Map<string, string[]>();
  private readonly externalIds = new Map<string, string>();
  private readonly homeViews = new Map<string, string>();
  private postRateLimit: number | null = null;
  private readonly scopes: Set<string>;
  private readonly notMember = new Set<string>();
  private lastStack: string[] | undefined;
  private lastSec = 0;
  private lastMicro = 0;
  private seq = 0;

  constructor(opts: FakeSlackOptions) {
    this.botToken = opts.botToken ?? "xoxb-test-token";
    this.teamId = opts.teamId ?? "T0FAKETEAM";
    this.now = opts.now ?? Date.now;
    this.scopes = new Set(opts.scopes ?? DEFAULT_SCOPES);
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) {
          res.writeHead(500, { "content-type": "text/plain" });
          res.end(String(err));
        }
      });
    });
    this.server.on("connection", (socket) => {
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
    this.baseUrl = `http://127.0.0.1:${port}`;
    this.apiUrl = `${this.baseUrl}/api/`;
  }

  async close(): Promise<void> {
    for (const t of this.pending) clearTimeout(t);
    this.pending.clear();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ----- knobs ---------------------------------------------------------------

  callsTo(method: string): ApiCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  addUser(u: FakeUser): void {
    this.users.set(u.id, u);
  }

  addUserGroup(id: string, userIds: string[]): void {
    this.groups.set(id, [...userIds]);
  }

  addMessage(
    channel: string,
    msg: { text: string; user?: string; blocks?: unknown[]; thread_ts?: string },
  ): string {
    const ts = this.nextTs();
    this.channelMessages(channel).push({
      ts,
      text: msg.text,
      ...(msg.blocks ? { blocks: msg.blocks } : {}),
      ...(msg.thread_ts ? { thread_ts: msg.thread_ts } : {}),
      updates: 0,
      user: msg.user ?? "U0SOMEONE",
    });
    return ts;
  }

  setBotMember(channel: string, member: boolean): void {
    if (member) this.notMember.delete(channel);
    else this.notMember.add(channel);
  }

  setChannelError(channel: string, error: ChannelError | null): void {
    if (error === null) this.channelErrors.delete(channel);
    else this.channelErrors.set(channel, error);
  }

  failNext(method: string, fault: Fault): void {
    const queue = this.faults.get(method) ?? [];
    queue.push(fault);
    this.faults.set(method, queue);
  }

  setPostRateLimit(perChannelPerSecond: number | null): void {
    this.postRateLimit = perChannelPerSecond;
    this.postTimes.clear();
  }

  responseUrl(): string {
    const id = randomBytes(12).toString("hex");
    this.responseUrls.set(id, { createdAt: this.now(), uses: 0 });
    return `${this.baseUrl}/response/${id}`;
  }

  triggerId(opts: { userId?: string; viewId?: string } = {}): string {
    this.seq += 1;
    const id = `${this.seq}${Math.floor(this.now() / 1000)}.${this.seq}0000.${randomBytes(16).toString("hex")}`;
    this.triggers.set(id, { issuedAt: this.now(), used: false, ...opts });
    return id;
  }

  viewStack(viewId: string): string[] {
    return [...(this.views.get(viewId)?.stack ?? [])];
  }

  closeView(viewId: string): void {
    const record = this.views.get(viewId);
    const stack = record?.stack;
    if (!stack) return;
    const index = stack.indexOf(viewId);
    const closed = stack.splice(index);
    for (const id of closed) {
      const v = this.views.get(id);
      if (v) delete v.stack;
    }
  }

  async waitFor(predicate: () => boolean, timeoutMs = 2000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`waitFor: condition not met within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  // ----- HTTP ----------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url ?? "/", this.baseUrl);

    const api = /^\/api\/([A-Za-z0-9_.]+)$/.exec(url.pathname);
    if (req.method === "POST" && api?.[1]) {
      await this.handleApi(api[1], req, raw, res);
      return;
    }
    const response = /^\/response\/([0-9a-f]+)$/.exec(url.pathname);
    if (req.method === "POST" && response?.[1]) {
      this.handleResponseUrl(`${this.baseUrl}${url.pathname}`, response[1], req, raw, res);
      return;
    }
    this.send(res, { status: 404, body: { ok: false, error: "not_found" } });
  }

  private send(res: ServerResponse, reply: Reply): void {
    res.writeHead(reply.status ?? 200, {
      "content-type": "application/json; charset=utf-8",
      ...reply.headers,
    });
    res.end(JSON.stringify(reply.body));
  }

  private parseArgs(req: IncomingMessage, raw: string): { args: Obj; badJson: Set<string> } | undefined {
    const badJson = new Set<string>();
    let args: Obj;
    const type = req.headers["content-type"] ?? "";
    if (type.startsWith("application/json")) {
      try {
        const parsed: unknown = raw === "" ? {} : JSON.parse(raw);
        if (!isObj(parsed)) return undefined;
        args = parsed;
      } catch {
        return undefined;
      }
    } else {
      args = Object.fromEntries(new URLSearchParams(raw));
    }
    for (const key of OBJECT_ARGS) {
      const value = args[key];
      if (typeof value !== "string") continue;
      try {
        args[key] = JSON.parse(value);
      } catch {
        badJson.add(key);
      }
    }
    return { args, badJson };
  }

  private async handleApi(
    method: string,
    req: IncomingMessage,
    raw: string,
    res: ServerResponse,
  ): Promise<void> {
    const parsed = this.parseArgs(req, raw);
    const call: ApiCall = { method, args: parsed?.args ?? {}, at: this.now(), ok: false, status: 0 };
    this.calls.push(call);
    const finish = (reply: Reply) => {
      call.status = reply.status ?? 200;
      call.ok = reply.body.ok === true;
      const error = reply.body.error;
      if (typeof error === "string") call.error = error;
      this.send(res, reply);
    };

    const fault = this.faults.get(method)?.shift();
    if (fault?.hang) {
      call.error = "hang";
      return;
    }
    if (fault?.delayMs) {
      const ms = fault.delayMs;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.pending.delete(timer);
          resolve();
        }, ms);
        this.pending.add(timer);
      });
      if (res.destroyed) return;
    }
    if (fault?.status === 429) {
      this.rateLimitedCount += 1;
      finish({
        status: 429,
        headers: { "retry-after": String(fault.retryAfter ?? 1) },
        body: { ok: false, error: fault.error ?? "ratelimited" },
      });
      return;
    }
    if (fault?.status !== undefined) {
      finish({ status: fault.status, body: { ok: false, error: fault.error ?? "fake_http_error" } });
      return;
    }
    if (fault?.error !== undefined) {
      finish(fail(fault.error));
      return;
    }
    if (fault?.lostAnswer) {
      // Slack acts on the call; the answer never reaches the client.
      if (parsed && this.authorized(req, parsed.args) === null)
        this.dispatch(method, parsed.args, parsed.badJson);
      call.error = "lost_answer";
      return;
    }

    if (!parsed) {
      finish(fail("invalid_json"));
      return;
    }
    const refused = this.authorized(req, parsed.args);
    if (refused) {
      finish(fail(refused));
      return;
    }
    finish(this.dispatch(method, parsed.args, parsed.badJson));
  }

  /** null when the request carries the bot token; otherwise Slack's error code. */
  private authorized(req: IncomingMessage, args: Obj): string | null {
    const auth = req.headers.authorization;
    const token = auth?.startsWith("Bearer ") ? auth.slice("Bearer ".length) : str(args.token);
    if (!token) return "not_authed";
    return token === this.botToken ? null : "invalid_auth";
  }

  private dispatch(method: string, args: Obj, badJson: Set<string>): Reply {
    switch (method) {
      case "auth.test":
        return {
          body: {
            ok: true,
            url: "https://fake-team.slack.com/",
            team: "Fake Team",
            user: "alerts-bot",
            team_id: this.teamId,
            user_id: this.botUserId,
            bot_id: this.botId,
            is_enterprise_install: false,
          },
        };
      case "users.info":
        return this.usersInfo(args);
      case "usergroups.users.list": {
        const users = this.groups.get(str(args.usergroup) ?? "");
        return users ? { body: { ok: true, users: [...users] } } : fail("no_such_subteam");
      }
      case "conversations.info":
        return this.conversationsInfo(args);
      case "conversations.history":
        return this.conversationsHistory(args);
      case "conversations.replies":
        return this.conversationsReplies(args);
      case "chat.postMessage":
        return this.postMessage(args, badJson);
      case "chat.update":
        return this.update(args, badJson);
      case "chat.postEphemeral":
        return this.postEphemeral(args, badJson);
      case "views.open":
        return this.viewsOpen(args, badJson);
      case "views.push":
        return this.viewsPush(args, badJson);
      case "views.update":
        return this.viewsUpdate(args, badJson);
      case "views.publish":
        return this.viewsPublish(args, badJson);
      default:
        return fail("unknown_method");
    }
  }

  // ----- users and channels ----------------------------------------------------

  private usersInfo(args: Obj): Reply {
    const user = this.users.get(str(args.user) ?? "");
    if (!user) return fail("user_not_found");
    const tz = user.tz ?? "America/Los_Angeles";
    const { offset, label } = tzInfo(tz, this.now());
    const name = user.name ?? user.id.toLowerCase();
    return {
      body: {
        ok: true,
        user: {
          id: user.id,
          team_id: this.teamId,
          name,
          deleted: user.deleted ?? false,
          real_name: name,
          tz,
          tz_label: label,
          tz_offset: offset,
          is_bot: user.is_bot ?? false,
          is_app_user: false,
          profile: {
            real_name: name,
            display_name: name,
            ...(user.email !== undefined ? { email: user.email } : {}),
            team: this.teamId,
          },
        },
      },
    };
  }

  private conversationsInfo(args: Obj): Reply {
    const id = str(args.channel);
    if (!id) return fail("channel_not_found");
    const error = this.channelErrors.get(id);
    if (error === "channel_not_found") return fail(error);
    return {
      body: {
        ok: true,
        channel: {
          id,
          name: `channel-${id.toLowerCase()}`,
          is_channel: id.startsWith("C"),
          is_group: false,
          is_im: id.startsWith("D"),
          is_private: id.startsWith("G"),
          is_archived: error === "is_archived",
          is_member: error !== "not_in_channel" && !this.notMember.has(id),
          created: Math.floor(this.now() / 1000) - 86_400,
        },
      },
    };
  }

  // ----- messages ----------------------------------------------------------------

  private channelMessages(channel: string): StoredMessage[] {
    let list = this.messages.get(channel);
    if (!list) {
      list = [];
      this.messages.set(channel, list);
    }
    return list;
  }

  /** Unique, increasing Slack timestamps: "<seconds>.<6 digits>". */
  private nextTs(): string {
    const sec = Math.floor(this.now() / 1000);
    if (sec > this.lastSec) {
      this.lastSec = sec;
      this.lastMicro = 100;
    } else {
      this.lastMicro += 100;
      if (this.lastMicro > 999_999) {
        this.lastSec += 1;
        this.lastMicro = 100;
      }
    }
    return `${this.lastSec}.${String(this.lastMicro).padStart(6, "0")}`;
  }

  /** Shared text/blocks checks of chat.postMessage, chat.update, chat.postEphemeral. */
  private messageContent(
    args: Obj,
    badJson: Set<string>,
    opts: { allowEmpty?: boolean } = {},
  ): { reply: Reply } | { text: string | undefined; blocks: unknown[] | undefined; missingText: boolean } {
    if (badJson.has("blocks")) return { reply: fail("invalid_blocks_format") };
    const blocks = args.blocks;
    if (blocks !== undefined && !Array.isArray(blocks)) return { reply: fail("invalid_blocks_format") };
    const text = str(args.text);
    const hasText = text !== undefined && text.trim() !== "";
    const hasBlocks = Array.isArray(blocks) && blocks.length > 0;
    if (!hasText && !hasBlocks && args.attachments === undefined && !opts.allowEmpty) {
      return { reply: fail("no_text") };
    }
    if (hasBlocks) {
      const problems = blockKitProblems({ kind: "message", text, blocks }, { requireText: false });
      if (problems.length > 0) return { reply: invalidBlocks(problems) };
    }
    return { text, blocks, missingText: hasBlocks && !hasText };
  }

  private warn(missingText: boolean, extra: string[] = []): Obj {
    const warnings = [...extra];
    if (missingText) {
      this.missingTextCount += 1;
      warnings.push("missing_text_in_request");
    }
    return warnings.length > 0 ? { warning: warnings.join(","), response_metadata: { warnings } } : {};
  }

  private postMessage(args: Obj, badJson: Set<string>): Reply {
    const channel = str(args.channel);
    if (!channel) return fail("channel_not_found");
    const channelError = this.channelErrors.get(channel);
    if (channelError) return fail(channelError);
    if (this.notMember.has(channel) && !(channel.startsWith("C") && this.scopes.has("chat:write.public"))) {
      return fail("not_in_channel");
    }

    if (this.postRateLimit !== null) {
      const now = this.now();
      const recent = (this.postTimes.get(channel) ?? []).filter((t) => t > now - 1000);
      this.postTimes.set(channel, recent);
      if (recent.length >= this.postRateLimit) {
        this.rateLimitedCount += 1;
        const oldest = recent[0] ?? now;
        const retryAfter = Math.max(1, Math.ceil((oldest + 1000 - now) / 1000));
        return {
          status: 429,
          headers: { "retry-after": String(retryAfter) },
          body: { ok: false, error: "ratelimited" },
        };
      }
    }

    const content = this.messageContent(args, badJson);
    if ("reply" in content) return content.reply;
    const metadata = this.metadataOf(args, badJson);
    if (metadata && "reply" in metadata) return metadata.reply;
    const extra: string[] = [];
    let text = content.text ?? "";
    if (text.length > POST_TEXT_LIMIT) {
      text = text.slice(0, POST_TEXT_LIMIT);
      extra.push("message_truncated");
    }
    const threadTs = str(args.thread_ts);
    const broadcast = truthy(args.reply_broadcast);
    const ts = this.nextTs();
    const stored: StoredMessage = {
      ts,
      text,
      ...(content.blocks ? { blocks: content.blocks } : {}),
      ...(threadTs ? { thread_ts: threadTs } : {}),
      ...(threadTs && broadcast ? { reply_broadcast: true } : {}),
      ...(metadata ? { metadata: metadata.value } : {}),
      updates: 0,
      user: this.botUserId,
    };
    this.channelMessages(channel).push(stored);
    this.postTimes.set(channel, [...(this.postTimes.get(channel) ?? []), this.now()]);
    return {
      body: {
        ok: true,
        channel,
        ts,
        message: this.renderMessage(stored),
        ...this.warn(content.missingText, extra),
      },
    };
  }

  private renderMessage(m: StoredMessage, opts: { metadata?: boolean } = {}): Obj {
    return {
      type: "message",
      user: m.user,
      ...(m.user === this.botUserId ? { bot_id: this.botId, app_id: this.appId } : {}),
      text: m.text,
      ts: m.ts,
      team: this.teamId,
      ...(m.blocks ? { blocks: m.blocks } : {}),
      ...(m.thread_ts ? { thread_ts: m.thread_ts } : {}),
      ...(opts.metadata && m.metadata ? { metadata: m.metadata } : {}),
    };
  }

  /** Message metadata, checked the way chat.postMessage checks it. */
  private metadataOf(
    args: Obj,
    badJson: Set<string>,
  ): { reply: Reply } | { value: NonNullable<StoredMessage["metadata"]> } | undefined {
    if (args.metadata === undefined) return undefined;
    if (badJson.has("metadata")) return { reply: fail("invalid_metadata_format") };
    const m = args.metadata;
    if (!isObj(m) || typeof m.event_type !== "string" || !isObj(m.event_payload)) {
      return { reply: fail("invalid_metadata_format") };
    }
    if (!/^[a-z0-9_]{1,255}$/i.test(m.event_type)) return { reply: fail("invalid_metadata_schema") };
    return { value: { event_type: m.event_type, event_payload: m.event_payload } };
  }

  /** The history scope a channel needs, when the token lacks it. */
  private missingHistoryScope(channel: string): Reply | undefined {
    const needed = channel.startsWith("G") ? "groups:history" : "channels:history";
    if (this.scopes.has(needed)) return undefined;
    return fail("missing_scope", { needed, provided: [...this.scopes].join(",") });
  }

  /** Timeline arguments shared by conversations.history and .replies. */
  private timeline(args: Obj): { inRange: (ts: string) => boolean; limit: number; offset: number } {
    const oldest = Number(str(args.oldest) ?? "0");
    const latest = args.latest === undefined ? Number.POSITIVE_INFINITY : Number(str(args.latest));
    const inclusive = truthy(args.inclusive);
    const limit = Math.min(999, Math.max(1, Number(str(args.limit) ?? "100") || 100));
    const cursor = str(args.cursor);
    const offset = cursor ? Number(Buffer.from(cursor, "base64").toString("utf8").replace("offset:", "")) : 0;
    const inRange = (ts: string) => {
      const t = Number(ts);
      return inclusive ? t >= oldest && t <= latest : t > oldest && t < latest;
    };
    return { inRange, limit, offset: Number.isFinite(offset) ? offset : 0 };
  }

  private page(all: StoredMessage[], args: Obj, offset: number, limit: number): Reply {
    const slice = all.slice(offset, offset + limit);
    const more = offset + limit < all.length;
    return {
      body: {
        ok: true,
        messages: slice.map((m) => this.renderMessage(m, { metadata: truthy(args.include_all_metadata) })),
        has_more: more,
        pin_count: 0,
        response_metadata: {
          next_cursor: more ? Buffer.from(`offset:${offset + limit}`).toString("base64") : "",
        },
      },
    };
  }

  /** The channel a history read names, or Slack's refusal (scope, existence, membership). */
  private readableChannel(args: Obj): { channel: string } | { reply: Reply } {
    const channel = str(args.channel);
    if (!channel) return { reply: fail("channel_not_found") };
    const scope = this.missingHistoryScope(channel);
    if (scope) return { reply: scope };
    const channelError = this.channelErrors.get(channel);
    if (channelError === "channel_not_found" || channelError === "not_in_channel") {
      return { reply: fail(channelError) };
    }
    if (this.notMember.has(channel)) return { reply: fail("not_in_channel") };
    return { channel };
  }

  /** Top-level messages (and thread replies sent to the channel too), newest first. */
  private conversationsHistory(args: Obj): Reply {
    const readable = this.readableChannel(args);
    if ("reply" in readable) return readable.reply;
    const { channel } = readable;
    const { inRange, limit, offset } = this.timeline(args);
    const all = (this.messages.get(channel) ?? [])
      .filter((m) => (!m.thread_ts || m.thread_ts === m.ts || m.reply_broadcast) && inRange(m.ts))
      .sort((a, b) => Number(b.ts) - Number(a.ts));
    return this.page(all, args, offset, limit);
  }

  /** A thread: its parent first, then the replies oldest first. */
  private conversationsReplies(args: Obj): Reply {
    const readable = this.readableChannel(args);
    if ("reply" in readable) return readable.reply;
    const { channel } = readable;
    const ts = str(args.ts);
    if (!ts) return invalidArguments(["missing required field: ts"]);
    const list = this.messages.get(channel) ?? [];
    const parent = list.find((m) => m.ts === ts && !m.thread_ts);
    if (!parent) return fail("thread_not_found");
    const { inRange, limit, offset } = this.timeline(args);
    const replies = list
      .filter((m) => m.thread_ts === ts && m.ts !== ts && inRange(m.ts))
      .sort((a, b) => Number(a.ts) - Number(b.ts));
    return this.page([parent, ...replies], args, offset, limit);
  }

  private update(args: Obj, badJson: Set<string>): Reply {
    const channel = str(args.channel);
    if (!channel) return fail("channel_not_found");
    const channelError = this.channelErrors.get(channel);
    if (channelError) return fail(channelError);
    const ts = str(args.ts);
    const message = this.messages.get(channel)?.find((m) => m.ts === ts);
    if (!message) return fail("message_not_found");
    if (message.user !== this.botUserId) return fail("cant_update_message");
    const text = str(args.text);
    if (text !== undefined && text.length > UPDATE_TEXT_LIMIT) return fail("msg_too_long");
    const content = this.messageContent(args, badJson);
    if ("reply" in content) return content.reply;
    if (content.text !== undefined) message.text = content.text;
    if (content.blocks !== undefined) {
      if (content.blocks.length > 0) message.blocks = content.blocks;
      else delete message.blocks;
    }
    message.updates += 1;
    return {
      body: {
        ok: true,
        channel,
        ts: message.ts,
        text: message.text,
        message: this.renderMessage(message),
        ...this.warn(content.missingText),
      },
    };
  }

  private postEphemeral(args: Obj, badJson: Set<string>): Reply {
    const channel = str(args.channel);
    if (!channel) return fail("channel_not_found");
    const channelError = this.channelErrors.get(channel);
    if (channelError) return fail(channelError);
    const user = str(args.user);
    if (!user) return fail("user_not_in_channel");
    const content = this.messageContent(args, badJson);
    if ("reply" in content) return content.reply;
    const messageTs = this.nextTs();
    const threadTs = str(args.thread_ts);
    this.ephemerals.push({
      channel,
      user,
      message_ts: messageTs,
      text: content.text ?? "",
      ...(content.blocks ? { blocks: content.blocks } : {}),
      ...(threadTs ? { thread_ts: threadTs } : {}),
    });
    return { body: { ok: true, message_ts: messageTs, ...this.warn(content.missingText) } };
  }

  // ----- response_url ----------------------------------------------------------------

  private handleResponseUrl(
    url: string,
    id: string,
    req: IncomingMessage,
    raw: string,
    res: ServerResponse,
  ): void {
    const at = this.now();
    let body: unknown = raw;
    let parsed = false;
    try {
      body = JSON.parse(raw);
      parsed = (req.headers["content-type"] ?? "").startsWith("application/json");
    } catch {
      parsed = false;
    }
    const verdict = this.responseUrlVerdict(id, at, parsed ? body : undefined, raw);
    this.responses.push({
      url,
      body,
      at,
      status: verdict.status,
      ...(verdict.error ? { error: verdict.error } : {}),
    });
    this.send(res, {
      status: verdict.status,
      body: verdict.error ? { ok: false, error: verdict.error, ...verdict.extra } : { ok: true },
    });
  }

  /**
   * Block Kit problems of a response body, remembered for bodies already checked:
   * the same list sent again is the same verdict, and checking it costs more CPU
   * than the bot's own work on it, which skews benchmarks sharing the machine.
   */
  private checkedBefore(raw: string, check: () => string[]): string[] {
    const known = this.responseVerdicts.get(raw);
    if (known) return known;
    const problems = check();
    if (this.responseVerdicts.size >= 64) this.responseVerdicts.clear();
    this.responseVerdicts.set(raw, problems);
    return problems;
  }

  /** What Slack answers on a response URL: 200 `{ok: true}`, or a 4xx with the error code. */
  private responseUrlVerdict(
    id: string,
    at: number,
    body: unknown,
    raw: string,
  ): { status: number; error?: string; extra?: Obj } {
    const state = this.responseUrls.get(id);
    if (!state) return { status: 404, error: "invalid_url" };
    if (at - state.createdAt > RESPONSE_URL_TTL_MS) return { status: 404, error: "expired_url" };
    if (state.uses >= RESPONSE_URL_MAX_USES) return { status: 404, error: "used_url" };
    if (!isObj(body)) return { status: 400, error: "invalid_payload" };
    if (!truthy(body.delete_original)) {
      const blocks = body.blocks;
      if (blocks !== undefined && !Array.isArray(blocks))
        return { status: 400, error: "invalid_blocks_format" };
      const text = str(body.text);
      const hasText = text !== undefined && text.trim() !== "";
      const hasBlocks = Array.isArray(blocks) && blocks.length > 0;
      if (!hasText && !hasBlocks) return { status: 400, error: "no_text" };
      if (hasBlocks) {
        const problems = this.checkedBefore(raw, () =>
          blockKitProblems({ kind: "message", text, blocks }, { requireText: false }),
        );
        if (problems.length > 0) return { status: 400, error: "invalid_blocks", extra: { errors: problems } };
        if (!hasText) this.missingTextCount += 1;
      }
    }
    state.uses += 1;
    return { status: 200 };
  }

  // ----- views ----------------------------------------------------------------------

  private checkTrigger(args: Obj): { reply: Reply } | { id: string; trigger: TriggerState } {
    const id = str(args.trigger_id) ?? str(args.interactivity_pointer);
    const trigger = id === undefined ? undefined : this.triggers.get(id);
    if (id === undefined || !trigger) return { reply: fail("invalid_trigger_id") };
    if (trigger.used) return { reply: fail("exchanged_trigger_id") };
    if (this.now() - trigger.issuedAt > TRIGGER_TTL_MS) return { reply: fail("expired_trigger_id") };
    return { id, trigger };
  }

  private checkView(
    args: Obj,
    badJson: Set<string>,
    kind: "modal" | "home",
  ): { reply: Reply } | { view: Json } {
    if (badJson.has("view"))
      return { reply: invalidArguments(["failed to parse view [json-pointer:/view]"]) };
    const view = args.view;
    if (!isObj(view))
      return { reply: invalidArguments(["missing required field: view [json-pointer:/view]"]) };
    if (view.type !== kind) {
      return { reply: invalidArguments([`view type must be ${kind} [json-pointer:/view/type]`]) };
    }
    const blocks = Array.isArray(view.blocks) ? view.blocks : [];
    const problems = blockKitProblems({ kind, blocks, view });
    if (problems.length > 0) return { reply: invalidArguments(problems) };
    return { view };
  }

  private newViewId(): string {
    this.seq += 1;
    return `V${String(this.seq).padStart(8, "0")}`;
  }

  private newHash(): string {
    return `${Math.floor(this.now() / 1000)}.${randomBytes(4).toString("hex")}`;
  }

  private store(
    id: string,
    view: Json,
    kind: "modal" | "home",
    userId?: string,
    stack?: string[],
  ): ViewRecord {
    const previous = this.views.get(id);
    const oldExternal = previous?.view?.external_id;
    if (typeof oldExternal === "string" && oldExternal !== "") this.externalIds.delete(oldExternal);
    const record: ViewRecord = {
      view,
      hash: this.newHash(),
      kind,
      ...(userId !== undefined ? { userId } : {}),
      ...(stack ? { stack } : {}),
    };
    this.views.set(id, record);
    if (typeof view.external_id === "string" && view.external_id !== "")
      this.externalIds.set(view.external_id, id);
    return record;
  }

  private externalIdTaken(view: Obj, exceptViewId?: string): boolean {
    const ext = view.external_id;
    if (typeof ext !== "string" || ext === "") return false;
    const owner = this.externalIds.get(ext);
    return owner !== undefined && owner !== exceptViewId;
  }

  private renderView(id: string, record: ViewRecord): Obj {
    const v = record.view as Obj;
    const stack = record.stack;
    const index = stack ? stack.indexOf(id) : -1;
    return {
      id,
      team_id: this.teamId,
      type: record.kind,
      blocks: v.blocks ?? [],
      private_metadata: v.private_metadata ?? "",
      callback_id: v.callback_id ?? "",
      state: { values: {} },
      hash: record.hash,
      clear_on_close: v.clear_on_close ?? false,
      notify_on_close: v.notify_on_close ?? false,
      root_view_id: stack?.[0] ?? id,
      previous_view_id: index > 0 ? stack?.[index - 1] : null,
      app_id: this.appId,
      external_id: v.external_id ?? "",
      app_installed_team_id: this.teamId,
      bot_id: this.botId,
      ...(record.kind === "modal"
        ? { title: v.title, close: v.close ?? null, submit: v.submit ?? null, submit_disabled: false }
        : {}),
    };
  }

  private viewsOpen(args: Obj, badJson: Set<string>): Reply {
    const trig = this.checkTrigger(args);
    if ("reply" in trig) return trig.reply;
    const checked = this.checkView(args, badJson, "modal");
    if ("reply" in checked) return checked.reply;
    if (this.externalIdTaken(checked.view)) return fail("duplicate_external_id");
    trig.trigger.used = true;
    const id = this.newViewId();
    const stack = [id];
    const record = this.store(id, checked.view, "modal", trig.trigger.userId, stack);
    this.lastStack = stack;
    return { body: { ok: true, view: this.renderView(id, record) } };
  }

  private viewsPush(args: Obj, badJson: Set<string>): Reply {
    const trig = this.checkTrigger(args);
    if ("reply" in trig) return trig.reply;
    const checked = this.checkView(args, badJson, "modal");
    if ("reply" in checked) return checked.reply;
    const from = trig.trigger.viewId;
    const stack = from !== undefined ? this.views.get(from)?.stack : this.lastStack;
    if (!stack || stack.length === 0) return fail("not_found");
    if (stack.length >= MODAL_STACK_LIMIT) return fail("push_limit_reached");
    if (this.externalIdTaken(checked.view)) return fail("duplicate_external_id");
    trig.trigger.used = true;
    const id = this.newViewId();
    stack.push(id);
    const record = this.store(id, checked.view, "modal", trig.trigger.userId, stack);
    return { body: { ok: true, view: this.renderView(id, record) } };
  }

  private viewsUpdate(args: Obj, badJson: Set<string>): Reply {
    const viewId = str(args.view_id);
    const externalId = str(args.external_id);
    if (viewId === undefined && externalId === undefined) {
      return invalidArguments(["either view_id or external_id is required"]);
    }
    const id = viewId ?? this.externalIds.get(externalId ?? "");
    const current = id === undefined ? undefined : this.views.get(id);
    // ⚠ Like Slack, a modal the person closed is gone: updating it answers not_found.
    if (id === undefined || !current || (current.kind !== "home" && !current.stack)) return fail("not_found");
    const hash = str(args.hash);
    if (hash !== undefined && hash !== current.hash) return fail("hash_conflict");
    const checked = this.checkView(args, badJson, current.kind);
    if ("reply" in checked) return checked.reply;
    if (this.externalIdTaken(checked.view, id)) return fail("duplicate_external_id");
    // ⚠ An update that names no external_id keeps the one the view had.
    const previousExternal = current.view?.external_id;
    const view =
      checked.view.external_id === undefined && typeof previousExternal === "string"
        ? { ...checked.view, external_id: previousExternal }
        : checked.view;
    const record = this.store(id, view, current.kind, current.userId, current.stack);
    return { body: { ok: true, view: this.renderView(id, record) } };
  }

  private viewsPublish(args: Obj, badJson: Set<string>): Reply {
    const userId = str(args.user_id);
    if (!userId) return invalidArguments(["missing required field: user_id"]);
    if (this.users.size > 0 && !this.users.has(userId)) return fail("user_not_found");
    const existing = this.homeViews.get(userId);
    const hash = str(args.hash);
    if (hash !== undefined && existing !== undefined && hash !== this.views.get(existing)?.hash) {
      return fail("hash_conflict");
    }
    const checked = this.checkView(args, badJson, "home");
    if ("reply" in checked) return checked.reply;
    const id = existing ?? this.newViewId();
    this.homeViews.set(userId, id);
    const record = this.store(id, checked.view, "home", userId);
    return { body: { ok: true, view: this.renderView(id, record) } };
  }
}

/** Starts a fake Slack Web API on 127.0.0.1 at a free port. Close it in `afterEach`/`afterAll`. */
export async function startFakeSlack(opts: FakeSlackOptions = {}): Promise<FakeSlack> {
  const fake = new FakeSlackServer(opts);
  await fake.listen();
  return fake;
}
