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
import { getHeapStatistics } from "node:v8";
import { Worker } from "node:worker_threads";
import type { AlertsApi } from "../alerts/service.js";
import type { RequestLogInfo } from "./client.js";
import { USER_MESSAGES } from "./errors.js";
import {
  type CallMessage,
  errorFromData,
  type ThreadClientSettings,
  type ThreadMethod,
  threadGone,
  type WorkerMessage,
} from "./thread-protocol.js";

export interface PostHogThreadOptions extends ThreadClientSettings {
  onRequest?: (info: RequestLogInfo) => void;
  /** Told when the worker fails or exits on its own (it is started again on the next call). */
  onWorkerProblem?: (problem: string) => void;
  /** The worker's script; by default the built thread-worker.js beside this module. */
  workerUrl?: URL;
  /** How long close() lets calls in flight finish before ending the worker (default 2 s). */
  closeGraceMs?: number;
}

/**
 * The worker's heap: the main thread's old-space limit (`--max-old-space-size`, 192 MB with
 * `npm start`), since a full listing of a large project passes through both, and the small
 * young generation `npm start` gives the main thread (`--max-semi-space-size=2`).
 */
function workerLimits() {
  const mainLimitMb = Math.round(getHeapStatistics().heap_size_limit / 1024 / 1024);
  return { maxOldGenerationSizeMb: Math.max(64, mainLimitMb), maxYoungGenerationSizeMb: 6 };
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

  constructor(private readonly options: PostHogThreadOptions) {
    this.settings = {
      host: options.host,
      apiKey: options.apiKey,
      pathFamily: options.pathFamily,
      projectId: options.projectId,
    };
    this.url = options.workerUrl ?? new URL("./thread-worker.js", import.meta.url);
    this.onRequest = options.onRequest;
  }

  listAllAlerts: AlertsApi["listAllAlerts"] = () => this.call("listAllAlerts", []);
  getAlert: AlertsApi["getAlert"] = (...args) => this.call("getAlert", args);
  createAlert: AlertsApi["createAlert"] = (...args) => this.call("createAlert", args);
  updateAlert: AlertsApi["updateAlert"] = (...args) => this.call("updateAlert", args);
  deleteAlert: AlertsApi["deleteAlert"] = (...args) => this.call("deleteAlert", args);
  searchInsights: AlertsApi["searchInsights"] = (...args) => this.call("searchInsights", args);
  getInsight: AlertsApi["getInsight"] = (...args) => this.call("getInsight", args);
  listMembers: AlertsApi["listMembers"] = (...args) => this.call("listMembers", args);

  /** Who hears of each HTTP attempt (replaces the `onRequest` option). */
  setRequestListener(listener: (info: RequestLogInfo) => void): void {
    this.onRequest = listener;
  }

  /**
   * Starts the worker now rather than on the first call, and resolves once it has loaded
   * (a few hundred ms), so the bot reports healthy only when PostHog calls can go out.
   */
  start(): Promise<void> {
    this.ensureWorker();
    return this.ready ?? Promise.resolve();
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
    const timer = setTimeout(() => void worker.terminate(), this.options.closeGraceMs ?? 2_000);
    await exited;
    clearTimeout(timer);
  }

  private call<T>(method: ThreadMethod, args: unknown[]): Promise<T> {
    if (this.closed)
      return Promise.reject(
        threadGone("unavailable", "the PostHog thread is closed", USER_MESSAGES.unavailable),
      );
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      const message: CallMessage = { id, method, args };
      worker.postMessage(message);
    });
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(this.url, { workerData: this.settings, resourceLimits: workerLimits() });
    this.ready = new Promise<void>((resolve, reject) => {
      this.markReady = resolve;
      worker.once("error", reject);
      worker.once("exit", (code) => reject(new Error(`the PostHog thread stopped (exit code ${code})`)));
    });
    // Nobody may be waiting for it; a failed start is told through onWorkerProblem and the calls.
    this.ready.catch(() => undefined);
    // The HTTP server keeps the bot running; an idle worker alone must not.
    worker.unref();
    worker.on("message", (message: WorkerMessage) => this.receive(message));
    worker.on("error", (error) => {
      this.options.onWorkerProblem?.(
        (error as { code?: string }).code === "ERR_WORKER_OUT_OF_MEMORY"
          ? "the PostHog thread ran out of memory: start the bot with a larger --max-old-space-size"
          : `the PostHog thread failed: ${error.message}`,
      );
    });
    worker.once("exit", (code) => {
      this.worker = null;
      if (this.closed) return this.failAll("the bot is shutting down");
      const problem = `the PostHog thread stopped (exit code ${code})`;
      this.options.onWorkerProblem?.(problem);
      this.failAll(problem);
    });
    this.worker = worker;
    return worker;
  }

  private receive(message: WorkerMessage): void {
    if (message.type === "ready") {
      this.markReady?.();
      return;
    }
    if (message.type === "request") {
      this.onRequest?.(message.info);
      return;
    }
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

  private failAll(reason: string): void {
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiting) w.reject(threadGone("unavailable", reason, USER_MESSAGES.unavailable));
  }
}

/**
 * A PostHogThread for the bot's settings, already loading; its problems go to the log.
 * Start it early: its worker loads while the caller loads everything else.
 */
export function startPostHogThread(
  settings: ThreadClientSettings,
  logger: { error(details: Record<string, unknown>, message: string): void },
  workerUrl?: URL,
): PostHogThread {
  const thread = new PostHogThread({
    ...settings,
    onWorkerProblem: (problem) => logger.error({ component: "posthog", problem }, "PostHog thread problem"),
    ...(workerUrl ? { workerUrl } : {}),
  });
  // A failed start is logged through onWorkerProblem; the bot's start() awaits it again and stops.
  thread.start().catch(() => undefined);
  return thread;
}
