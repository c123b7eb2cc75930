import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { App, HTTPReceiver } from "@slack/bolt";
import { WebClient, type WebClientOptions } from "@slack/web-api";
import type { Logger } from "pino";
import { AlertService, type AlertsApi } from "./alerts/service.js";
import { WritePolicy } from "./auth/policy.js";
import type { Config } from "./config.js";
import { Health } from "./http/health.js";
import { HeapWatch } from "./http/heap-watch.js";
import type { ListenerDeps } from "./listeners/deps.js";
import { registerListeners } from "./listeners/index.js";
import { boltLogger } from "./log.js";
import { createNotifications, type Notifications } from "./notifications/service.js";
import { PostHogClient, type RequestLogInfo } from "./posthog/client.js";
import type { PostHogThread } from "./posthog/thread.js";
import { createSlackDirectory } from "./slack/directory.js";
import { ROUTE_HEALTH, ROUTE_POSTHOG_WEBHOOK, ROUTE_SLACK_EVENTS } from "./slack/ids.js";
import { PendingResponses } from "./slack/json-ack.js";
import { createResponseUrlSender, type ResponseUrlSender } from "./slack/respond.js";
import { openStore, type Store } from "./store/store.js";
import { within } from "./time/within.js";

/** Slack allows five minutes of clock skew either way; Bolt checks only the past, we check both. */
const MAX_SKEW_SECONDS = 5 * 60;

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface BotDeps {
  config: Config;
  logger: Logger;
  now?: () => Date;
  /** PostHog API; by default a PostHogClient built from the config. */
  posthog?: AlertsApi;
  /**
   * The PostHog client on a worker thread (what `npm start` runs; see posthog/thread.ts),
   * used instead of a client on this thread when `posthog` is not given. The bot reports
   * each of its requests and its failures to /healthz, starts it once listening, and
   * closes it on stop.
   */
  posthogThread?: PostHogThread;
  /** Extra Web API client options (tests shorten timeouts). */
  slackClientOptions?: Partial<WebClientOptions>;
  /** Extra HTTP routes, e.g. the PostHog webhook, keyed by path. */
  routes?: Record<string, RouteHandler>;
  /** Posts answers to response URLs; by default an undici sender with its own connection pool. */
  responder?: ResponseUrlSender;
  /** The notification store; by default opened at DATABASE_PATH. */
  store?: Store;
  health?: Health;
}

export interface Bot {
  app: App;
  client: WebClient;
  health: Health;
  deps: ListenerDeps;
  posthog: AlertsApi;
  store: Store;
  notifications: Notifications;
  start(): Promise<{ port: number }>;
  stop(): Promise<void>;
}

/**
 * Web API settings for an interactive bot: a few quick retries, a short
 * timeout. The library default retries for about 30 minutes, long after
 * the person who clicked has given up.
 */
export function interactiveClientOptions(config: Config, logger: Logger): WebClientOptions {
  return {
    slackApiUrl: config.slack.apiUrl,
    logger: boltLogger(logger),
    timeout: 5_000,
    retryConfig: { retries: 2, factor: 2, minTimeout: 250, maxTimeout: 1_000, randomize: true },
  };
}

/** What each PostHog HTTP attempt tells: a debug log line, and its status for /healthz. */
function postHogRequestListener(logger: Logger, onStatus: (status: number | null, attempt: number) => void) {
  const log = logger.child({ component: "posthog" });
  return (info: RequestLogInfo) => {
    log.debug(info, "posthog request");
    onStatus(info.status, info.attempt);
  };
}

export function createPostHogClient(
  config: Config,
  logger: Logger,
  onStatus: (status: number | null, attempt: number) => void = () => {},
): PostHogClient {
  return new PostHogClient({
    host: config.posthog.host,
    apiKey: config.posthog.apiKey,
    projectId: config.posthog.projectId,
    onRequest: postHogRequestListener(logger, onStatus),
  });
}

function timestampProblem(req: IncomingMessage, nowSeconds: number): string | null {
  const raw = req.headers["x-slack-request-timestamp"];
  if (typeof raw !== "string" || !/^\d{1,12}$/.test(raw)) return "missing or malformed timestamp";
  const skew = Number(raw) - nowSeconds;
  if (skew > MAX_SKEW_SECONDS) return "timestamp too far in the future";
  if (skew < -MAX_SKEW_SECONDS) return "stale timestamp";
  if (typeof req.headers["x-slack-signature"] !== "string") return "missing signature";
  return null;
}

/**
 * How long a stop lets requests already under way finish (Slack's own limit is 3 s) before
 * it closes their connections.
 */
const SHUTDOWN_GRACE_MS = 2_000;
/**
 * How long a stop waits for listeners still at work (a PostHog answer, then the reply it
 * owes), and for deliveries in flight: a little past the PostHog thread's own 5 s grace.
 */
const WORK_GRACE_MS = 5_500;
/** How long a stop waits for the last replies to response URLs to be sent. */
const REPLY_GRACE_MS = 1_000;

/** PostHog requests in a row without an answer after which /healthz warns. */
const UNANSWERED_WARNED = 3;

/**
 * How long /healthz keeps a PostHog warning after the latest event that raised it (a 403, a
 * request left unanswered, a failure of the PostHog thread): other calls going well say
 * nothing of that one thing, and a loop of failures would look like health between them.
 */
const POSTHOG_WARNING_MS = 60 * 60_000;

export async function createBot(input: BotDeps): Promise<Bot> {
  const { config, logger } = input;
  const now = input.now ?? (() => new Date());
  const health = input.health ?? new Health();
  // PostHog's key. A 401 means no PostHog call can work: /healthz fails until a call succeeds.
  // A 403 is one thing the key may not do (a missing scope, say) while the rest works: it warns
  // for an hour after the latest one, since other calls succeeding says nothing of that one thing.
  let rejected = false;
  let forbiddenAt: number | null = null;
  // Requests PostHog did not answer (network errors, timeouts, 5xx) since the last it did,
  // each counted once however often it was retried, and when the latest of them was.
  let unanswered = 0;
  let unansweredAt = 0;
  // The bot's own PostHog thread: a failure (a crash, running out of memory) restarts it on the
  // next call, and warns for an hour after the latest one, since a loop of them looks like health.
  const thread = input.posthogThread ?? null;
  health.register("posthog", () => {
    const threadProblem = thread?.latestProblem();
    const t = now().getTime();
    const warnings = [
      unanswered >= UNANSWERED_WARNED && t - unansweredAt < POSTHOG_WARNING_MS
        ? `PostHog has not answered the bot's last ${unanswered} requests (no connection, a timeout or a server error): check POSTHOG_HOST and PostHog's status (the log names each)`
        : null,
      forbiddenAt !== null && t - forbiddenAt < POSTHOG_WARNING_MS
        ? "PostHog refused a request with HTTP 403 within the last hour: the API key lacks a scope or access to the project (the log names it)"
        : null,
      // The thread stamps its problems with the real clock.
      threadProblem && Date.now() - threadProblem.at < POSTHOG_WARNING_MS
        ? `Within the last hour ${threadProblem.text} (the calls waiting on it failed; the log has each time)`
        : null,
    ].filter((w): w is string => w !== null);
    return {
      failing: rejected ? "PostHog rejected the API key (HTTP 401)" : null,
      warning: warnings.length > 0 ? warnings.join("; ") : null,
    };
  });
  const onStatus = (status: number | null, attempt: number) => {
    if (status !== null && status < 500) unanswered = 0;
    else if (attempt === 1) {
      unanswered += 1;
      unansweredAt = now().getTime();
    }
    if (status === 401) rejected = true;
    else if (status === 403) forbiddenAt = now().getTime();
    else if (status !== null && status < 400) rejected = false;
  };
  thread?.setRequestListener(postHogRequestListener(logger, onStatus));
  // A thread given beside `posthog` is still started and closed, but not used.
  const posthog = input.posthog ?? thread ?? createPostHogClient(config, logger, onStatus);

  const clientOptions: WebClientOptions = {
    ...interactiveClientOptions(config, logger),
    ...input.slackClientOptions,
  };
  const client = new WebClient(config.slack.botToken, clientOptions);

  // A short busy timeout: better-sqlite3 is synchronous, so waiting on another process's lock
  // stops the event loop; 250 ms keeps acks within Slack's window, and a webhook that meets a
  // locked database answers 503 so PostHog sends it again.
  const store = input.store ?? openStoreOrSay(config.databasePath, logger);
  const alerts = new AlertService(posthog, () => now().getTime());
  const notifications = createNotifications({
    config,
    logger,
    store,
    source: alerts.notificationSource(),
    ...(input.slackClientOptions?.timeout
      ? { clientOptions: { timeout: input.slackClientOptions.timeout } }
      : {}),
  });
  health.register("delivery", () => notifications.health());
  const heap = new HeapWatch({ logger });
  health.register("memory", heap.check);

  const directory = createSlackDirectory(client, () => now().getTime());
  const policy = new WritePolicy(
    config.writeAccess,
    directory,
    () => posthog.listMembers(),
    () => now().getTime(),
  );
  const responder = input.responder ?? createResponseUrlSender();
  const deps: ListenerDeps = {
    alerts,
    policy,
    directory,
    links: { host: config.posthog.host, projectId: config.posthog.projectId },
    logger,
    now,
    responder,
    routes: notifications.routes,
    notifications: notifications.port,
  };

  const pending = new PendingResponses();
  const receiver = config.slack.socketMode
    ? undefined
    : new HTTPReceiver({
        signingSecret: config.slack.signingSecret as string,
        endpoints: ROUTE_SLACK_EVENTS,
        logger: boltLogger(logger),
        processBeforeResponse: false,
        customPropertiesExtractor: pending.contextFor,
      });

  // Who the bot is, asked once. Bolt is given the answer: without both ids it would call
  // auth.test again before every single request, in front of every ack.
  const auth = await client.auth.test();
  if (!auth.user_id || !auth.bot_id) throw new Error("Slack's auth.test did not say who the bot is");
  logger.info({ team: auth.team, botUserId: auth.user_id, botId: auth.bot_id }, "connected to Slack");

  const app = new App({
    token: config.slack.botToken,
    botId: auth.bot_id,
    botUserId: auth.user_id,
    logger: boltLogger(logger),
    clientOptions,
    tokenVerificationEnabled: false,
    // Bolt's conversation store is unused here, and it built an Error with a stack trace on
    // every request ("Conversation not found") before each ack.
    convoStore: false,
    // In Socket Mode, Bolt hands `clientOptions` (SLACK_API_URL included) to its connection client.
    ...(receiver ? { receiver } : { socketMode: true, appToken: config.slack.appToken as string }),
  });
  app.error(async (error) => {
    logger.error({ err: error.message, code: (error as { code?: string }).code }, "unhandled listener error");
  });
  // Work a listener does after its ack (a PostHog call, then the reply it owes) is counted, so
  // that a stop can let it finish before the reply sender and the database close.
  const work = workCounter();
  app.use(({ next }) => work.during(next));
  registerListeners(app, deps);

  const routes: Record<string, RouteHandler> = {
    [ROUTE_HEALTH]: health.handle,
    [ROUTE_POSTHOG_WEBHOOK]: notifications.webhook,
    ...input.routes,
  };
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (receiver && path === ROUTE_SLACK_EVENTS) {
      const problem = timestampProblem(req, Math.floor(now().getTime() / 1000));
      if (
        problem &&
        req.headers["x-slack-signature"] === undefined &&
        req.method === "POST" &&
        (req.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")
      ) {
        // Slack checks a slash command's certificate with an unsigned `ssl_check=1` POST.
        void answerSslCheck(req, res, () => {
          logger.warn({ reason: problem }, "refused a Slack request");
        });
        return;
      }
      if (problem) {
        logger.warn({ reason: problem }, "refused a Slack request");
        req.resume();
        res.writeHead(401).end();
        return;
      }
      pending.remember(req, res);
      receiver.requestListener(req, res);
      return;
    }
    const handler = routes[path];
    if (!handler) {
      req.resume();
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: "Not found." }));
      return;
    }
    Promise.resolve(handler(req, res)).catch((error: Error) => {
      logger.error({ err: error.message, path }, "route failed");
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "Internal error." }));
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 65_000;

  return {
    app,
    client,
    health,
    deps,
    posthog,
    store,
    notifications,
    async start() {
      const missing = thread?.missingScript();
      if (missing) throw new Error(missing);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(config.port, () => {
          server.off("error", reject);
          resolve();
        });
      });
      const port = (server.address() as AddressInfo).port;
      logger.info({ port, mode: config.slack.socketMode ? "socket" : "http" }, "listening");
      if (config.slack.socketMode)
        await app.start().catch((error: unknown) => {
          // Socket Mode's first call is made with the app-level token, not the bot token.
          throw Object.assign(error instanceof Error ? error : new Error(String(error)), { appToken: true });
        });
      notifications.start();
      heap.start();
      health.markReady();
      // The PostHog thread loads once the bot is listening, so it adds nothing to the time to
      // healthy; calls made in its first few hundred ms wait for it. A failure to load is
      // logged and shown on /healthz.
      thread?.start().catch(() => undefined);
      return { port };
    },
    async stop() {
      health.markStopping();
      heap.stop();
      if (config.slack.socketMode)
        await app
          .stop()
          .catch((error: Error) =>
            logger.warn({ err: error.message }, "could not close the Socket Mode connection cleanly"),
          );
      await closeServer(server);
      // PostHog calls still under way get the thread's own grace; listeners and deliveries
      // waiting on one finish with what they have. Answers go out through the responder, so it
      // closes after them. A delivery cut off here is looked for in its channel at the next start.
      await Promise.all([
        within(notifications.stop(), WORK_GRACE_MS),
        thread?.close(),
        work.idle(WORK_GRACE_MS),
      ]);
      await within(responder.close(), REPLY_GRACE_MS);
      store.close();
    },
  };
}

/**
 * Stops taking requests and lets those under way finish, for up to the grace time: a request
 * that is still arriving by then (a stalled upload, say) would otherwise hold the stop until
 * Node's request timeout, past the time a container runtime waits before it kills.
 */
function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    const cut = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
    server.close(() => {
      clearTimeout(cut);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/** Opens the database, or fails with a sentence that names DATABASE_PATH and the file. */
function openStoreOrSay(path: string, logger: Logger): Store {
  try {
    return openStore(path, { busyTimeoutMs: 250, logger });
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new Error(
      `DATABASE_PATH (${path}) cannot be used: ${why}. Point it at a file in a folder the bot may write to, that no other running bot uses.`,
    );
  }
}

/** The most of an unsigned request's body read to see whether it is Slack's certificate check. */
const SSL_CHECK_MAX_BYTES = 4096;

/**
 * Answers Slack's unsigned certificate check (`ssl_check=1`) with 200, as Bolt would, and any
 * other unsigned request with 401 (after `refused`). Reads at most a few kB of the body.
 */
async function answerSslCheck(req: IncomingMessage, res: ServerResponse, refused: () => void): Promise<void> {
  let body = "";
  await new Promise<void>((resolve) => {
    const done = () => {
      req.off("data", onData);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      body += chunk.toString();
      // Too long to be the check: answered without reading the rest.
      if (body.length > SSL_CHECK_MAX_BYTES) done();
    };
    req.on("data", onData);
    req.once("end", done);
    req.once("error", done);
  });
  if (body.length <= SSL_CHECK_MAX_BYTES && new URLSearchParams(body).get("ssl_check") === "1") {
    res.writeHead(200).end();
    return;
  }
  refused();
  req.resume();
  res.writeHead(401).end();
}

/** Counts work under way, and waits (up to a limit) for none to be. */
function workCounter() {
  let count = 0;
  const waiters: Array<() => void> = [];
  return {
    async during(run: () => Promise<void>): Promise<void> {
      count += 1;
      try {
        await run();
      } finally {
        count -= 1;
        if (count === 0) for (const wake of waiters.splice(0)) wake();
      }
    },
    idle(ms: number): Promise<void> {
      if (count === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
