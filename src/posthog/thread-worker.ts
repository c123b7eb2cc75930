/**
 * The PostHog thread's body: one PostHogClient answering calls from the main
 * thread (see thread.ts). Runs only as a worker, from the built JavaScript.
 */
import { readlinkSync } from "node:fs";
import { getPriority, setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import { PostHogClient } from "./client.js";
import {
  answer,
  type CallMessage,
  requestBatcher,
  THREAD_NICENESS,
  type ThreadClientSettings,
  type WorkerMessage,
} from "./thread-protocol.js";

/**
 * Lowers this thread's CPU priority by THREAD_NICENESS (at most to 19). Returns
 * why it could not, on Linux; elsewhere the thread keeps the process's priority.
 */
function lowerPriority(): string | undefined {
  if (process.platform !== "linux") return undefined;
  try {
    // Linux keeps a nice value per thread, and /proc/thread-self names this one.
    const tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
    if (!Number.isInteger(tid) || tid <= 0) return "/proc/thread-self named no thread";
    setPriority(tid, Math.min(19, getPriority(tid) + THREAD_NICENESS));
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

const port = parentPort;
if (!port) throw new Error("thread-worker.js runs only as a worker thread");
const settings = workerData as ThreadClientSettings;
const priorityProblem = lowerPriority();
const requests = requestBatcher((message) => port.postMessage(message));
const send = (message: WorkerMessage) => requests.send(message);

const client = new PostHogClient({
  host: settings.host,
  apiKey: settings.apiKey,
  projectId: settings.projectId,
  onRequest: (info) => requests.add(info),
});
send({ type: "ready", ...(priorityProblem ? { priorityProblem } : {}) });

/** Calls still being answered; closing waits for them. */
const inFlight = new Set<Promise<void>>();

port.on("message", (message: CallMessage | { type: "close" }) => {
  if ("type" in message) {
    void Promise.allSettled(inFlight)
      .then(() => client.close())
      .finally(() => port.close());
    return;
  }
  const done: Promise<void> = answer(client, message, send)
    .then(send)
    .finally(() => inFlight.delete(done));
  inFlight.add(done);
});
