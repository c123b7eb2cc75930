/**
 * The PostHog client on a thread of its own. Every PostHog exchange (socket
 * writes and reads, timers, JSON parsing and the schema check of up to 100
 * alerts a page) runs in a worker, so the thread that acknowledges Slack's
 * requests only posts a message and receives plain data. A snooze click's
 * PATCH costs about 1.6 ms of CPU on a small VM; on the main thread that work
 * and its garbage delayed the acks of the clicks behind it.
 *
 * Errors come back as the client's own PostHogError, built again from its
 * fields. If the worker dies, the calls waiting on it fail as "unavailable"
 * and the next call starts a new one.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { AlertsApi } from "../alerts/service.js";
import type { RequestLogInfo } from "./client.js";
import { PostHogError } from "./errors.js";
import {
  type CallMessage,
  errorFromData,
  type ThreadClientSettings,
  type ThreadMethod,
  type WorkerMessage,
} from "./thread-protocol.js";

export interface PostHogThreadOptions extends ThreadClientSettings {
  onRequest?: (info: RequestLogInfo) => void;
  /** Told when the worker fails or exits on its own (it is started again on the next call). */
  onWorkerProblem?: (problem: string) => void;
  /** Told when a worker on Linux could not lower its CPU priority (it works on, at the process's). */
  onPriorityProblem?: (problem: string) => void;
  /** The worker's script; by default the built thread-worker.js beside this module. */
  workerUrl?: URL;
  /**
   * How long close() lets calls in flight finish before ending the worker (default 5 s: a
   * write PostHog answers slowly still gets its answer, within main's 10 s to exit).
   */
  closeGraceMs?: number;
}

/** What a person is told when their call could not be answered by the PostHog thread. */
export const THREAD_MESSAGES = {
  /** Nothing was sent: the bot is stopping. */
  restarting: "The bot is restarting; try again in a minute.",
  /** The call may have reached PostHog; the bot stopped before the answer came. */
  cutOff:
    "The bot restarted before PostHog answered, so it cannot tell whether this went through. Check the alert in a minute.",
  /** The call may have reached PostHog; the thread making it failed. */
  failed:
    "The bot hit a problem of its own while waiting for PostHog, so it cannot tell whether this went through. Check the alert and try again in a minute; if it keeps happening, ask an admin to look at the bot's log.",
} as const;

/**
 * The worker's heap. A full listing leaves a page at a time (see LIST_PART_SIZE), so the
 * worker never holds more than a page of alerts, one alert or the member list: 64 MB of old
 * space is ample, and a small young generation (1 MB semi-spaces) keeps its share of the
 * bot's resident memory small (the main thread's heap is what grows with the alert count).
 */
const WORKER_LIMITS = { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 3 };

/** A call the thread could not answer: "unavailable", which callers treat as worth retrying. */
function unanswered(message: string, userMessage: string): PostHogError {
  return new PostHogError({ code: "unavailable", message, userMessage });
}

interface Waiting {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  /** Parts of a listing received so far. */
  parts?: unknown[][];
}

export class PostHogThread implements AlertsApi {
  private worker: Worker | null = null;
  /** Settles when the current worker has loaded, or has failed before it did. */
  private ready: Promise<void> | null = null;
  private markReady: (() => void) | null = null;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;
  private closed = false;
  private readonly settings: ThreadClientSettings;
  private readonly url: URL;
  private onRequest: ((info: RequestLogInfo) => void) | undefined;
  private lastProblem: { at: number; text: string } | null = null;

  constructor(private readonly options: PostHogThreadOptions) {
    this.settings = {
      host: options.host,
      apiKey: options.apiKey,
      projectId: options.projectId,
    };
    this.url = options.workerUrl ?? new URL("./thread-worker.js", import.meta.url);
    this.onRequest = options.onRequest;
  }

  listAllAlerts: AlertsApi["listAllAlerts"] = () => this.call("listAllAlerts", []);
  getAlert: AlertsApi["getAlert"] = (...args) => this.call("getAlert", args);
  createAlert: AlertsApi["createAlert"] = (...args) => this.call("createAlert", args);
  updateAlert: AlertsApi["updateAlert"] = (...args) => this.call("updateAlert", args);
  snoozeAlert: AlertsApi["snoozeAlert"] = (...args) => this.call("snoozeAlert", args);
  unsnoozeAlert: AlertsApi["unsnoozeAlert"] = (...args) => this.call("unsnoozeAlert", args);
  deleteAlert: AlertsApi["deleteAlert"] = (...args) => this.call("deleteAlert", args);
  searchInsights: AlertsApi["searchInsights"] = (...args) => this.call("searchInsights", args);
  getInsight: AlertsApi["getInsight"] = (...args) => this.call("getInsight", args);
  listMembers: AlertsApi["listMembers"] = (...args) => this.call("listMembers", args);

  /** Who hears of each HTTP attempt (replaces the `onRequest` option). */
  setRequestListener(listener: (info: RequestLogInfo) => void): void {
    this.onRequest = listener;
  }

  /**
   * Starts the worker now rather than on the first call; resolves once it has loaded (a few
   * hundred ms). Calls made meanwhile wait in its queue.
   */
  start(): Promise<void> {
    // Asked again, it answers for the worker it has: one that failed to load is replaced by
    // the next call, not here.
    if (this.ready) return this.ready;
    this.ensureWorker();
    return this.ready ?? Promise.resolve();
  }

  /** A sentence when the worker's script is not there (an incomplete build), else null. */
  missingScript(): string | null {
    if (this.url.protocol !== "file:" || existsSync(fileURLToPath(this.url))) return null;
    return `the PostHog thread's script ${fileURLToPath(this.url)} is missing: run npm ci (or npm run build) again`;
  }

  /** The latest time the thread failed or stopped on its own, for /healthz. */
  latestProblem(): { at: number; text: string } | null {
    return this.lastProblem;
  }

  /**
   * Takes no new calls, lets those in flight finish (a write PostHog is applying should get
   * its answer, not a false failure) for up to the grace period, then ends the worker; calls
   * still waiting then fail.
   */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
    worker.postMessage({ type: "close" });
    const timer = setTimeout(() => void worker.terminate(), this.options.closeGraceMs ?? 5_000);
    await exited;
    clearTimeout(timer);
  }

  private call<T>(method: ThreadMethod, args: unknown[]): Promise<T> {
    if (this.closed)
      return Promise.reject(unanswered("the PostHog thread is closed", THREAD_MESSAGES.restarting));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      try {
        const message: CallMessage = { id, method, args };
        this.ensureWorker().postMessage(message);
      } catch (error) {
        // No thread could be started, or the arguments cannot be cloned: this call fails alone.
        this.waiting.delete(id);
        reject(error);
      }
    });
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(this.url, { workerData: this.settings, resourceLimits: WORKER_LIMITS });
    this.ready = new Promise<void>((resolve, reject) => {
      this.markReady = resolve;
      worker.once("error", reject);
      worker.once("exit", (code) => reject(new Error(`the PostHog thread stopped (exit code ${code})`)));
    });
    // Nobody may be waiting for it; a failed start is told through onWorkerProblem and the calls.
    this.ready.catch(() => undefined);
    let failed = false;
    worker.on("message", (message: WorkerMessage) => this.receive(message));
    worker.on("error", (error) => {
      failed = true;
      this.problem(
        (error as { code?: string }).code === "ERR_WORKER_OUT_OF_MEMORY"
          ? "the PostHog thread ran out of its own 64 MB heap (not the bot's, so --max-old-space-size does not change it; it holds one page of alerts at a time, so this is a defect worth reporting with the log)"
          : `the PostHog thread failed: ${error.message}`,
      );
    });
    worker.once("exit", (code) => {
      this.worker = null;
      if (this.closed) return this.failAll("the bot is shutting down", THREAD_MESSAGES.cutOff);
      // An error was already told; an exit alone is told here.
      if (!failed) this.problem(`the PostHog thread stopped (exit code ${code})`);
      this.failAll(`the PostHog thread stopped (exit code ${code})`, THREAD_MESSAGES.failed);
    });
    // The HTTP server keeps the bot running; an idle worker alone must not. After the "message"
    // listener: adding the first one refs the worker again.
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private problem(text: string): void {
    this.lastProblem = { at: Date.now(), text };
    this.options.onWorkerProblem?.(text);
  }

  private receive(message: WorkerMessage): void {
    if (message.type === "ready") {
      if (message.priorityProblem) this.options.onPriorityProblem?.(message.priorityProblem);
      this.markReady?.();
      return;
    }
    if (message.type === "requests") {
      for (const info of message.infos) this.onRequest?.(info);
      return;
    }
    // The attempts behind an answer are heard before the answer is.
    for (const info of message.requests ?? []) this.onRequest?.(info);
    const waiting = this.waiting.get(message.id);
    if (!waiting) return;
    if (message.type === "part") {
      waiting.parts = [...(waiting.parts ?? []), message.values];
      return;
    }
    this.waiting.delete(message.id);
    if (message.type === "error") waiting.reject(errorFromData(message.error));
    else if (waiting.parts) waiting.resolve([...waiting.parts, message.value as unknown[]].flat());
    else waiting.resolve(message.value);
  }

  private failAll(reason: string, userMessage: string): void {
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiting) w.reject(unanswered(reason, userMessage));
  }
}

/** A PostHogThread for the bot's settings; its problems go to the log. It loads on start() or its first call. */
export function createPostHogThread(
  settings: ThreadClientSettings,
  logger: {
    error(details: Record<string, unknown>, message: string): void;
    warn(details: Record<string, unknown>, message: string): void;
  },
  workerUrl?: URL,
): PostHogThread {
  return new PostHogThread({
    ...settings,
    onWorkerProblem: (problem) => logger.error({ component: "posthog", problem }, "PostHog thread problem"),
    onPriorityProblem: (problem) =>
      logger.warn(
        { component: "posthog", problem },
        "The PostHog thread could not lower its CPU priority; on a busy machine, acks may wait for PostHog work",
      ),
    ...(workerUrl ? { workerUrl } : {}),
  });
}
