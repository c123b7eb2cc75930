// A PostHog thread worker that ends itself on its first call, as a crashed one would.
import { parentPort } from "node:worker_threads";

parentPort.on("message", () => process.exit(3));
