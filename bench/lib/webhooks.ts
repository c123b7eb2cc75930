/**
 * What the notification benchmarks share: PostHog webhook requests as the bot
 * receives them, the do-nothing receiver they are compared with, and a
 * read-only look into the bot's database after it stopped.
 */
import { join } from "node:path";
import Database from "better-sqlite3";
import { firingBody } from "../../test/support/webhook.js";
import type { PreparedRequest } from "./load.js";
import { type Child, childEnv, REPO_ROOT, spawnChild } from "./processes.js";

export const NULL_SERVER_JS = join(REPO_ROOT, "bench", "lib", "null-server.mjs");
export const WEBHOOK_PATH = "/posthog/webhook";
export const WEBHOOK_SECRET = "bench-webhook-secret-0123456789";

/** 2026-01-01T00:00:00Z: check times count up from here, one millisecond per event. */
const FIRST_CHECK_MS = Date.UTC(2026, 0, 1);

export interface FiringRequestInput {
  alertId: string;
  alertName: string;
  /** Makes the check time unique: two events with one check time would be one notification. */
  seq: number;
  /** `?channel=` on the webhook URL. */
  channel?: string;
}

/** A signed `$insight_alert_firing` webhook call with its own event uuid and check time. */
export function firingRequest(input: FiringRequestInput): PreparedRequest {
  const body = firingBody({
    alertId: input.alertId,
    alertName: input.alertName,
    checkedAt: new Date(FIRST_CHECK_MS + input.seq),
  });
  return {
    path: input.channel ? `${WEBHOOK_PATH}?channel=${input.channel}` : WEBHOOK_PATH,
    headers: { "content-type": "application/json", authorization: `Bearer ${WEBHOOK_SECRET}` },
    body: JSON.stringify(body),
  };
}

/** Starts the do-nothing receiver in its own process and waits until it listens. */
export async function startNullServer(port: number): Promise<{ child: Child; origin: string }> {
  const child = spawnChild(process.execPath, [NULL_SERVER_JS], { env: childEnv({ PORT: String(port) }) });
  try {
    await child.waitForLine(/^ready /, 10_000);
    return { child, origin: `http://127.0.0.1:${port}` };
  } catch (error) {
    await child.stop();
    throw error;
  }
}

export interface StoredCounts {
  /** Firing notifications that came in through the webhook. */
  webhookFirings: number;
  /** Distinct event uuids among them (equal to the above unless an event was stored twice). */
  distinctUuids: number;
  /** Deliveries by status. */
  deliveries: Record<string, number>;
  /** Notifications not yet given their deliveries when the bot stopped (it routes them at its next start). */
  notRouted: number;
  /** Slack messages opened (one per firing streak and channel). */
  episodes: number;
}

/** Counts what the bot stored, opening its database read-only (after the bot has stopped). */
export function readStoredCounts(databasePath: string): StoredCounts {
  const db = new Database(databasePath, { readonly: true, fileMustExist: true });
  try {
    const firings = db
      .prepare(
        `SELECT COUNT(*) AS n, COUNT(DISTINCT event_uuid) AS uuids FROM notifications
         WHERE kind = 'firing' AND source = 'webhook'`,
      )
      .get() as { n: number; uuids: number };
    const deliveries: Record<string, number> = {};
    const rows = db.prepare("SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status").all() as Array<{
      status: string;
      n: number;
    }>;
    for (const row of rows) deliveries[row.status] = row.n;
    const episodes = (db.prepare("SELECT COUNT(*) AS n FROM episodes").get() as { n: number }).n;
    const notRouted = (
      db.prepare("SELECT COUNT(*) AS n FROM notifications WHERE routed = 0").get() as { n: number }
    ).n;
    return { webhookFirings: firings.n, distinctUuids: firings.uuids, deliveries, notRouted, episodes };
  } finally {
    db.close();
  }
}

export const num = (env: NodeJS.ProcessEnv, name: string, fallback: number): number => {
  const raw = env[name];
  const value = Number(raw);
  return raw !== undefined && raw !== "" && Number.isFinite(value) ? value : fallback;
};

/** Integer with thousands separators, for table cells. */
export const int = (value: number): string =>
  Number.isFinite(value) ? Math.round(value).toLocaleString("en-US") : "–";
