/**
 * The crash scenario, shared by the fast test and the stress run: the real
 * bot process takes a burst of webhook notifications while Slack fails every
 * other post, is killed with SIGKILL in the middle of the burst, and is
 * started again on the same database with Slack healthy. PostHog's retries
 * of the requests that never got an answer are replayed. Then every
 * notification is counted in Slack: each must be there exactly once, including
 * the ones whose post was in flight at the kill.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { startFakePostHog } from "../support/fake-posthog.js";
import { startFakeSlack } from "../support/fake-slack.js";
import { BOT_TOKEN, POSTHOG_KEY, PROJECT_ID, SIGNING_SECRET, WEBHOOK_SECRET } from "../support/harness.js";
import { firingBody, postWebhook } from "../support/webhook.js";
import { type BotProcess, sleep, startBotProcess, startSlackFront } from "./support.js";

export interface CrashReport {
  notifications: number;
  channels: number;
  /** Answered 202 by the first process before it was killed. */
  acceptedBeforeKill: number;
  /** Requests cut off by the kill (no answer): replayed after the restart, as PostHog retries. */
  unansweredAtKill: number;
  /** Replays the restarted process answered as duplicates: stored before the kill, answer lost. */
  replayedDuplicates: number;
  /** Delivery rows by status, read from the database right after the kill. */
  rowsAtKill: Record<string, number>;
  /** Slack posts made before the kill. */
  postsBeforeKill: number;
  /** Slack faults injected (HTTP 500 on posts) before the kill. */
  faultsInjected: number;
  /** Delivery rows in flight (`sending`) at the kill: their outcome was unknown to the restarted process. */
  sendingAtKill: number;
  /** Channel reads (conversations.history) the restarted process made to settle those. */
  lookupsAfterRestart: number;
  /** Interrupted posts the restarted process found in Slack and recorded instead of posting again. */
  foundInSlack: number;
  lost: string[];
  /** Notifications posted more than once, with how many times. */
  duplicates: Array<{ alert: string; posts: number; wasSending: boolean }>;
  /** Lines of the restarted process's log that mention an unhandled rejection. */
  unhandled: string[];
  msToDeliverAfterRestart: number;
}

const name = (i: number) => `Crash-${String(i).padStart(4, "0")}`;

export async function runCrashScenario(options: {
  notifications: number;
  channels: number;
  /** Kill once this many notifications were answered 202 (and Slack has failed a post). */
  killAfterAccepted: number;
  concurrency?: number;
  /** Pause between one sender's requests, so deliveries are under way when the kill comes. */
  spacingMs?: number;
  deliverTimeoutMs: number;
  logLevel?: string;
  /** Latency of Slack's chat.postMessage, so some deliveries are in flight when the kill comes. */
  slackLatencyMs?: number;
}): Promise<CrashReport> {
  const { notifications, channels } = options;
  const dir = mkdtempSync(join(tmpdir(), "alerts-bot-crash-"));
  const dbPath = join(dir, "bot.db");
  const posthog = await startFakePostHog({ apiKey: POSTHOG_KEY, projectId: PROJECT_ID });
  const slack = await startFakeSlack({ botToken: BOT_TOKEN });
  const front = await startSlackFront(slack.apiUrl, "flaky");
  front.latencyMs = options.slackLatencyMs ?? 0;
  const insight = posthog.addInsight({ name: "Crash insight" });
  const alerts = Array.from({ length: notifications }, (_, i) =>
    posthog.addAlert({
      insight: insight.id,
      name: name(i),
      threshold: { configuration: { type: "absolute", bounds: { lower: 100, upper: null } } },
    }),
  );
  const channelOf = (i: number) => `CCRASH${String(i % channels).padStart(3, "0")}`;
  const bodies = alerts.map((a, i) =>
    firingBody({ alertId: a.id, alertName: a.name, checkedAt: new Date(Date.now() - 3_600_000 + i * 1000) }),
  );
  const env = {
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: front.apiUrl,
    POSTHOG_HOST: posthog.url,
    POSTHOG_PERSONAL_API_KEY: POSTHOG_KEY,
    POSTHOG_PROJECT_ID: String(PROJECT_ID),
    PORT: "0",
    DATABASE_PATH: dbPath,
    WEBHOOK_SECRET,
    POLL_INTERVAL_SECONDS: "0",
    LOG_LEVEL: options.logLevel ?? "info",
  };
  const send = (bot: BotProcess, i: number) =>
    postWebhook(bot.baseUrl, bodies[i], { secret: WEBHOOK_SECRET, query: `?channel=${channelOf(i)}` }).then(
      (r) => ({ status: r.status, duplicate: r.json?.duplicate === true }),
      () => ({ status: 0, duplicate: false }),
    );

  let first: BotProcess | undefined;
  let second: BotProcess | undefined;
  try {
    first = await startBotProcess(env);
    const bot = first;
    const statuses: number[] = new Array(notifications).fill(0);
    let next = 0;
    let accepted = 0;
    let killing: Promise<void> | null = null;
    // The kill comes mid-burst, and only once Slack has failed a post: on a busy machine the
    // first posts can lag the burst, and a kill before any would leave the fault path untried.
    const slackFailed = () => (front.faults.get("chat.postMessage") ?? 0) > 0;
    const worker = async () => {
      while (next < notifications) {
        const i = next++;
        const r = await send(bot, i);
        statuses[i] = r.status;
        if (r.status === 202) accepted += 1;
        if (accepted >= options.killAfterAccepted && slackFailed() && !killing) killing = bot.kill();
        if (options.spacingMs) await sleep(options.spacingMs);
      }
    };
    await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
    if (!killing) {
      const deadline = Date.now() + 10_000;
      while (!slackFailed() && Date.now() < deadline) await sleep(20);
    }
    await (killing ?? bot.kill());
    const postsBeforeKill = slackPosts(slack);
    const faultsInjected = front.faults.get("chat.postMessage") ?? 0;

    // What the database says, right after the kill.
    const db = new Database(dbPath);
    const rows = db
      .prepare(
        "SELECT n.alert_id AS alertId, d.status AS status FROM deliveries d JOIN notifications n ON n.id = d.notification_id",
      )
      .all() as Array<{ alertId: string; status: string }>;
    db.close();
    const rowsAtKill: Record<string, number> = {};
    for (const r of rows) rowsAtKill[r.status] = (rowsAtKill[r.status] ?? 0) + 1;
    const sendingAtKill = new Set(rows.filter((r) => r.status === "sending").map((r) => r.alertId));

    // Restart on the same database with Slack healthy, and replay what got no answer.
    front.mode = "up";
    front.latencyMs = 0;
    const lookupsBefore = slack.callsTo("conversations.history").length;
    second = await startBotProcess(env);
    const restarted = Date.now();
    const unanswered = statuses.flatMap((s, i) => (s === 202 ? [] : [i]));
    let replayedDuplicates = 0;
    for (const i of unanswered) {
      const r = await send(second, i);
      if (r.status !== 202) throw new Error(`replay of ${name(i)} answered ${r.status}`);
      if (r.duplicate) replayedDuplicates += 1;
    }
    const countFor = (i: number) =>
      (slack.messages.get(channelOf(i)) ?? []).filter((m) => !m.thread_ts && m.text.includes(name(i))).length;
    const deadline = Date.now() + options.deliverTimeoutMs;
    while (Date.now() < deadline && alerts.some((_, i) => countFor(i) === 0)) await sleep(100);
    const msToDeliverAfterRestart = Date.now() - restarted;
    // Long enough for a second post of a re-queued row to show, if one were made (one channel gap, 1.05 s).
    await sleep(1_500);
    const lost: string[] = [];
    const duplicates: CrashReport["duplicates"] = [];
    for (const [i, a] of alerts.entries()) {
      const posts = countFor(i);
      if (posts === 0) lost.push(a.name);
      if (posts > 1) duplicates.push({ alert: a.name, posts, wasSending: sendingAtKill.has(a.id) });
    }
    return {
      notifications,
      channels,
      acceptedBeforeKill: accepted,
      unansweredAtKill: unanswered.length,
      replayedDuplicates,
      rowsAtKill,
      postsBeforeKill,
      faultsInjected,
      sendingAtKill: sendingAtKill.size,
      lookupsAfterRestart: slack.callsTo("conversations.history").length - lookupsBefore,
      foundInSlack: second.stdout.filter((l) => l.includes("had reached Slack")).length,
      lost,
      duplicates,
      unhandled: [...first.stdout, ...second.stdout].filter((l) => l.includes("unhandled promise rejection")),
      msToDeliverAfterRestart,
    };
  } finally {
    await first?.kill();
    await second?.stop();
    await front.close();
    await slack.close();
    await posthog.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function slackPosts(slack: Awaited<ReturnType<typeof startFakeSlack>>): number {
  let n = 0;
  for (const messages of slack.messages.values()) n += messages.filter((m) => !m.thread_ts).length;
  return n;
}
