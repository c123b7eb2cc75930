// A PostHog thread worker that could not lower its CPU priority (as where the system forbids it), then answers nothing.
import { parentPort } from "node:worker_threads";

parentPort.postMessage({ type: "ready", priorityProblem: "EACCES: permission denied" });
parentPort.on("message", (message) => {
  if ("type" in message) parentPort.close();
});
