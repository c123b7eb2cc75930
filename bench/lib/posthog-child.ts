/**
 * The fake PostHog in a process of its own, driven over IPC, so a benchmark
 * that measures the bot's CPU in its own process does not count the fake's.
 * Run only through `startPostHogChild` (it is transpiled to JavaScript
 * first); importing it for its types is fine.
 */
import { startFakePostHog } from "../../test/support/fake-posthog.js";

export type PostHogChildCommand =
  /** Adds `alerts` alerts over three insights; the first `firing` of them fire once. */
  | { type: "seed"; alerts: number; firing: number }
  /** Fires `count` alerts that are not firing yet (a change the next poll must notice). */
  | { type: "fire"; count: number };

export type PostHogChildReply =
  | { type: "ready"; url: string }
  | { type: "seeded"; alerts: number; firing: number }
  | { type: "fired"; count: number }
  | { type: "error"; message: string };

const reply = (message: PostHogChildReply) => process.send?.(message);

const posthog = await startFakePostHog({
  apiKey: process.env.FAKE_POSTHOG_KEY ?? "phx_test_key",
  projectId: Number(process.env.FAKE_POSTHOG_PROJECT ?? 4242),
});
const alertIds: string[] = [];
let fired = 0;

function seed(alerts: number, firing: number): void {
  const insights = ["Daily signups", "Checkout errors", "Weekly active users"].map((name) =>
    posthog.addInsight({ name }),
  );
  const start = alertIds.length;
  for (let i = 0; i < alerts; i++) {
    const insight = insights[i % insights.length] as (typeof insights)[number];
    const alert = posthog.addAlert({
      insight: insight.id,
      name: `${insight.name ?? "Insight"} alert ${start + i + 1}`,
      threshold: { configuration: { type: "absolute", bounds: { lower: 100, upper: null } } },
    });
    alertIds.push(alert.id);
  }
  for (let i = 0; i < firing; i++) posthog.fire(alertIds[start + i] as string, 42);
  fired = start + firing;
}

process.on("message", (raw) => {
  const command = raw as PostHogChildCommand;
  try {
    if (command.type === "seed") {
      seed(command.alerts, command.firing);
      reply({ type: "seeded", alerts: alertIds.length, firing: fired });
    } else if (command.type === "fire") {
      const until = Math.min(alertIds.length, fired + command.count);
      const count = until - fired;
      for (; fired < until; fired++) posthog.fire(alertIds[fired] as string, 42);
      reply({ type: "fired", count });
    }
  } catch (error) {
    reply({ type: "error", message: error instanceof Error ? error.message : String(error) });
  }
});
// The parent went away: so does the fake.
process.on("disconnect", () => {
  void posthog.close().finally(() => process.exit(0));
});
reply({ type: "ready", url: posthog.url });
