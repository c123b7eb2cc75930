/**
 * Starts the fake PostHog as a child process (see child-process.ts for how
 * its TypeScript runs there).
 */
import { forkHelper } from "./child-process.js";
import type { PostHogChildCommand, PostHogChildReply } from "./posthog-child.js";

export interface PostHogProcess {
  url: string;
  pid: number;
  seed(alerts: number, firing: number): Promise<{ alerts: number; firing: number }>;
  /** Fires `count` more alerts; resolves with how many were fired. */
  fire(count: number): Promise<number>;
  close(): Promise<void>;
}

export async function startPostHogProcess(opts: {
  apiKey: string;
  projectId: number;
}): Promise<PostHogProcess> {
  const { child, next, ask, close } = forkHelper<PostHogChildCommand, PostHogChildReply>({
    label: "fake PostHog",
    entrySource: "bench/lib/posthog-child.ts",
    env: { FAKE_POSTHOG_KEY: opts.apiKey, FAKE_POSTHOG_PROJECT: String(opts.projectId) },
  });
  try {
    const ready = await next(15_000);
    if (ready.type !== "ready" || child.pid === undefined)
      throw new Error(`unexpected first message: ${ready.type}`);
    const pid = child.pid;
    return {
      url: ready.url,
      pid,
      async seed(alerts, firing) {
        const reply = await ask({ type: "seed", alerts, firing });
        if (reply.type !== "seeded") throw new Error(`unexpected reply ${reply.type}`);
        return { alerts: reply.alerts, firing: reply.firing };
      },
      async fire(count) {
        const reply = await ask({ type: "fire", count });
        if (reply.type !== "fired") throw new Error(`unexpected reply ${reply.type}`);
        return reply.count;
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
