// A PostHog thread worker that loads, then ends itself on its first call, as a crashing one would.
import { parentPort } from "node:worker_threads";

parentPort.postMessage({ type: "ready" });
parentPort.on("message", () => process.exit(3));
