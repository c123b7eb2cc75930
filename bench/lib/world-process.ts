/**
 * Starts the benchmark's world (fake PostHog and fake Slack, see
 * world-child.ts) as a child process (see child-process.ts for how its
 * TypeScript runs there).
 */

import { forkHelper } from "./child-process.js";
import type { PreparedRequest } from "./load.js";
import { type BotEnvOptions, botEnvFor, type RequestKind, startWorld } from "./world.js";
import type { WorldChildCommand, WorldChildReply } from "./world-child.js";

export interface WorldProcess {
  pid: number;
  alertId: string;
  botEnv(opts: BotEnvOptions): Record<string, string>;
  /** PostHog's answer delay from now on. */
  setLatency(ms: number): Promise<void>;
  /** See World.postNotification: snooze clicks from then on act on a message that bot posted. */
  postNotification(botOrigin: string): Promise<void>;
  /** `count` signed requests, request i of kind `kinds[i % kinds.length]`, each with its own response URL. */
  prepare(kinds: RequestKind[], count: number): Promise<PreparedRequest[]>;
  /** Waits until the fakes have seen no new traffic for `quietMs` (bot work after the ack has finished). */
  settle(opts: { quietMs: number; maxMs: number }): Promise<void>;
  /** Slack traffic since the last `forget`: Web API calls by method, plus `response_url` posts. */
  slackCalls(): Promise<Record<string, number>>;
  forget(): Promise<void>;
  close(): Promise<void>;
}

export async function startWorldProcess(opts: { alerts?: number } = {}): Promise<WorldProcess> {
  const { child, next, ask, close } = forkHelper<WorldChildCommand, WorldChildReply>({
    label: "benchmark world",
    entrySource: "bench/lib/world-child.ts",
    // The fake Slack's Block Kit checker reads the schema.
    files: ["test/support/vendor/slack-block-kit.schema.json"],
    env: { WORLD_ALERTS: String(opts.alerts ?? 30) },
    // Requests for a whole run cross in one message.
    serialization: "advanced",
  });
  try {
    const ready = await next(20_000);
    if (ready.type !== "ready" || child.pid === undefined)
      throw new Error(`unexpected first message: ${ready.type}`);
    const urls = { slackApiUrl: ready.slackApiUrl, posthogUrl: ready.posthogUrl };
    return {
      pid: child.pid,
      alertId: ready.alertId,
      botEnv: (o) => botEnvFor(urls, o),
      async setLatency(ms) {
        await ask({ type: "latency", ms });
      },
      async postNotification(botOrigin) {
        await ask({ type: "post-notification", botOrigin }, 30_000);
      },
      async prepare(kinds, count) {
        const reply = await ask({ type: "prepare", kinds, count });
        if (reply.type !== "prepared") throw new Error(`unexpected reply ${reply.type}`);
        return reply.requests;
      },
      async settle({ quietMs, maxMs }) {
        await ask({ type: "settle", quietMs, maxMs }, maxMs + 30_000);
      },
      async slackCalls() {
        const reply = await ask({ type: "counts" });
        if (reply.type !== "counts") throw new Error(`unexpected reply ${reply.type}`);
        return { ...reply.calls, response_url: reply.responses };
      },
      async forget() {
        await ask({ type: "forget" });
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * The same world inside this process, as the benchmarks ran it before: the
 * fakes' work then competes with the load generator (BENCH_WORLD=inline).
 */
export async function startWorldInline(opts: { alerts?: number } = {}): Promise<WorldProcess> {
  const world = await startWorld(opts);
  return {
    pid: process.pid,
    alertId: world.alertId,
    botEnv: (o) => world.botEnv(o),
    async setLatency(ms) {
      world.posthog.setLatency(ms);
    },
    postNotification: (botOrigin) => world.postNotification(botOrigin),
    async prepare(kinds, count) {
      return Array.from({ length: count }, (_, i) => world.request(kinds[i % kinds.length] as RequestKind));
    },
    settle: (o) => world.settle(o),
    async slackCalls() {
      const calls: Record<string, number> = {};
      for (const call of world.slack.calls) calls[call.method] = (calls[call.method] ?? 0) + 1;
      return { ...calls, response_url: world.slack.responses.length };
    },
    async forget() {
      world.forget();
    },
    close: () => world.close(),
  };
}
