/**
 * What the PostHog thread (thread.ts) and its worker (thread-worker.ts) say to
 * each other. Values cross as structured clones; a PostHogError does not
 * survive cloning as itself, so it crosses as its fields and is built again.
 */
import type { PostHogClient, RequestLogInfo } from "./client.js";
import { PostHogError, type PostHogErrorInit } from "./errors.js";

/**
 * How far the PostHog thread's CPU priority is below the main thread's (a Linux
 * nice value, capped at 19). The main thread acknowledges Slack, which gives it
 * 3 seconds; the PostHog calls behind those acks can wait a moment. When the
 * cores are busy, Linux's scheduler then gives the main thread about nine times
 * this thread's share of CPU time; when they are idle, the lower priority costs
 * this thread nothing.
 */
export const THREAD_NICENESS = 10;

/** The client methods the bot calls through the thread. */
export const THREAD_METHODS = [
  "listAllAlerts",
  "getAlert",
  "createAlert",
  "updateAlert",
  "snoozeAlert",
  "unsnoozeAlert",
  "deleteAlert",
  "searchInsights",
  "getInsight",
  "listMembers",
] as const;
export type ThreadMethod = (typeof THREAD_METHODS)[number];

/** What the worker needs to build its client; the API key travels in memory only. */
export interface ThreadClientSettings {
  host: string;
  apiKey: string;
  projectId: string;
}

export interface CallMessage {
  id: number;
  method: ThreadMethod;
  args: unknown[];
}

/** An error as it crosses: a PostHogError's fields, or a message (and code) of anything else. */
export type ErrorData =
  | { kind: "posthog"; init: Omit<PostHogErrorInit, "cause"> }
  | { kind: "other"; message: string; code?: string };

export type WorkerMessage =
  /**
   * The worker has loaded and built its client. `priorityProblem`: why it could not
   * lower its CPU priority on Linux (see THREAD_NICENESS); absent when it did, or elsewhere.
   */
  | { type: "ready"; priorityProblem?: string }
  /** The first items of a list still being read; the result carries the rest. */
  | ({ type: "part"; id: number; values: unknown[] } & CarriedRequests)
  | ({ type: "result"; id: number; value: unknown } & CarriedRequests)
  | ({ type: "error"; id: number; error: ErrorData } & CarriedRequests)
  /** HTTP attempts no answer carried within REQUEST_INFO_WAIT_MS (see requestBatcher). */
  | { type: "requests"; infos: RequestLogInfo[] };

/** HTTP attempts made since the worker last said, for the log and for /healthz (the key's 401/403). */
interface CarriedRequests {
  requests?: RequestLogInfo[];
}

/** The longest the worker keeps an HTTP attempt to itself while no answer goes out. */
export const REQUEST_INFO_WAIT_MS = 1000;

/**
 * Tells the main thread of the worker's HTTP attempts without a message of their own each:
 * they ride on the next answer (a snooze's read and PATCH on its result), so the thread that
 * acks Slack is woken once per call, not once per attempt too. Attempts with no answer going
 * out (a call still retrying) go on their own after `waitMs`.
 */
export function requestBatcher(
  post: (message: WorkerMessage) => void,
  waitMs = REQUEST_INFO_WAIT_MS,
): { add(info: RequestLogInfo): void; send(message: WorkerMessage): void } {
  let pending: RequestLogInfo[] = [];
  let timer: NodeJS.Timeout | null = null;
  const take = (): RequestLogInfo[] => {
    const infos = pending;
    pending = [];
    if (timer) clearTimeout(timer);
    timer = null;
    return infos;
  };
  return {
    add(info) {
      pending.push(info);
      if (timer) return;
      timer = setTimeout(() => {
        timer = null;
        if (pending.length > 0) post({ type: "requests", infos: take() });
      }, waitMs);
      timer.unref();
    },
    send(message) {
      if (pending.length === 0 || message.type === "ready" || message.type === "requests")
        return post(message);
      post({ ...message, requests: take() });
    },
  };
}

export function isThreadMethod(name: unknown): name is ThreadMethod {
  return typeof name === "string" && (THREAD_METHODS as readonly string[]).includes(name);
}

export function errorToData(error: unknown): ErrorData {
  if (error instanceof PostHogError) {
    const init: Omit<PostHogErrorInit, "cause"> = {
      code: error.code,
      message: error.message,
      userMessage: error.userMessage,
    };
    if (error.status !== undefined) init.status = error.status;
    if (error.attr !== undefined) init.attr = error.attr;
    if (error.detail !== undefined) init.detail = error.detail;
    if (error.posthogCode !== undefined) init.posthogCode = error.posthogCode;
    if (error.retryAfterSeconds !== undefined) init.retryAfterSeconds = error.retryAfterSeconds;
    if (error.missingScope !== undefined) init.missingScope = error.missingScope;
    return { kind: "posthog", init };
  }
  const code = (error as { code?: unknown } | null)?.code;
  return {
    kind: "other",
    message: error instanceof Error ? error.message : String(error),
    ...(typeof code === "string" ? { code } : {}),
  };
}

export function errorFromData(data: ErrorData): Error {
  if (data.kind === "posthog") return new PostHogError(data.init);
  const error = new Error(data.message) as Error & { code?: string };
  if (data.code !== undefined) error.code = data.code;
  return error;
}

/**
 * Alerts per part of a full listing, one page's worth. A clone is read back on the main thread
 * in one piece, between two of its acks: 10,000 alerts took 290 ms to read there, 100 take 1.3 ms.
 */
export const LIST_PART_SIZE = 100;

/**
 * Runs one call on the worker's client; never throws. A full listing goes out in parts as its
 * pages arrive (PostHog's round trips space them), so the main thread never reads it in one piece.
 */
export async function answer(
  client: Pick<PostHogClient, ThreadMethod | "iterateAlerts">,
  call: CallMessage,
  sendPart: (message: WorkerMessage) => void = () => {},
): Promise<WorkerMessage> {
  try {
    if (!isThreadMethod(call.method)) throw new Error(`unknown PostHog call ${String(call.method)}`);
    if (call.method === "listAllAlerts") {
      let part: unknown[] = [];
      for await (const alert of client.iterateAlerts()) {
        part.push(alert);
        if (part.length === LIST_PART_SIZE) {
          sendPart({ type: "part", id: call.id, values: part });
          part = [];
        }
      }
      return { type: "result", id: call.id, value: part };
    }
    const method = client[call.method] as (...args: unknown[]) => Promise<unknown>;
    const value = await method.apply(client, call.args);
    return { type: "result", id: call.id, value };
  } catch (error) {
    return { type: "error", id: call.id, error: errorToData(error) };
  }
}
