/**
 * The fakes of PostHog and Slack (the benchmark's world) in a process of their
 * own, driven over IPC. The fake Slack checks every message the bot posts to a
 * response URL against Block Kit's schema; in the load generator's process
 * that work delayed the generator, and so the bot's measured latencies, but
 * never the bare Bolt app's (which posts nothing). Run only through
 * `startWorldProcess` (it is transpiled to JavaScript first); importing it for
 * its types is fine.
 */
import type { PreparedRequest } from "./load.js";
import { type RequestKind, startWorld } from "./world.js";

export type WorldChildCommand =
  | { type: "latency"; ms: number }
  /** Builds `count` signed requests, request i of kind `kinds[i % kinds.length]`, each with its own response URL. */
  | { type: "prepare"; kinds: RequestKind[]; count: number }
  | { type: "settle"; quietMs: number; maxMs: number }
  /** See World.postNotification. */
  | { type: "post-notification"; botOrigin: string }
  /** Slack traffic since the last `forget`: Web API calls by method, and response URL posts. */
  | { type: "counts" }
  | { type: "forget" };

export type WorldChildReply =
  | { type: "ready"; slackApiUrl: string; posthogUrl: string; alertId: string }
  | { type: "done" }
  | { type: "prepared"; requests: PreparedRequest[] }
  | { type: "counts"; calls: Record<string, number>; responses: number }
  | { type: "error"; message: string };

const reply = (message: WorldChildReply) => process.send?.(message);

const world = await startWorld({ alerts: Number(process.env.WORLD_ALERTS ?? 30) });

async function handle(command: WorldChildCommand): Promise<WorldChildReply> {
  switch (command.type) {
    case "latency":
      world.posthog.setLatency(command.ms);
      return { type: "done" };
    case "prepare": {
      const requests: PreparedRequest[] = [];
      for (let i = 0; i < command.count; i++)
        requests.push(world.request(command.kinds[i % command.kinds.length] as RequestKind));
      return { type: "prepared", requests };
    }
    case "post-notification":
      await world.postNotification(command.botOrigin);
      return { type: "done" };
    case "settle":
      await world.settle({ quietMs: command.quietMs, maxMs: command.maxMs });
      return { type: "done" };
    case "counts": {
      const calls: Record<string, number> = {};
      for (const call of world.slack.calls) calls[call.method] = (calls[call.method] ?? 0) + 1;
      return { type: "counts", calls, responses: world.slack.responses.length };
    }
    case "forget":
      world.forget();
      return { type: "done" };
  }
}

process.on("message", (raw) => {
  handle(raw as WorldChildCommand).then(reply, (error: unknown) =>
    reply({ type: "error", message: error instanceof Error ? error.message : String(error) }),
  );
});
// The parent went away: so does the world.
process.on("disconnect", () => {
  void world.close().finally(() => process.exit(0));
});
reply({
  type: "ready",
  slackApiUrl: world.slack.apiUrl,
  posthogUrl: world.posthog.url,
  alertId: world.alertId,
});
