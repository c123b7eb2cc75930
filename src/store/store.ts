import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import { z } from "zod";
import {
  type Checkpointer,
  type CheckpointLogger,
  type CheckpointOptions,
  startCheckpointer,
} from "./checkpoint.js";
import { MIGRATIONS } from "./migrations.js";
import { snoozeEnded, toEpochMs } from "./time.js";

/**
 * The bot's durable state: accepted notifications, their per-channel
 * deliveries, the Slack message (episode) each firing streak lives in,
 * channel routes from `/alerts watch`, and what the poller saw last.
 *
 * better-sqlite3 is synchronous, so every method here is too. Each method is
 * one transaction: when it returns, the change is committed.
 */

export type NotificationKind = "firing" | "resolved" | "refresh" | "notice";
export type NotificationSource = "webhook" | "poll" | "action" | "bot";
export type DeliveryStatus = "pending" | "sending" | "sent" | "failed" | "unrouted";
export type EpisodeStatus = "firing" | "resolved" | "replaced";
export type AlertAction = "snooze" | "unsnooze" | "disable" | "enable";

/** What an event said about the alert, kept with the notification as JSON. */
export interface NotificationPayload {
  alertName: string | null;
  insightName: string | null;
  insightShortId: string | null;
  breaches: string | null;
  lastCheckedAt: string | null;
  value: number | null;
  /** PostHog's alert state when the event was made. */
  state: string | null;
  /** Why a resolve or refresh was queued. */
  reason: string | null;
  /** The text of a notice. */
  text: string | null;
}

export interface NotificationRecord {
  id: number;
  kind: NotificationKind;
  source: string;
  eventUuid: string | null;
  alertId: string;
  checkedAtMs: number | null;
  channelHint: string | null;
  isTest: boolean;
  payload: NotificationPayload;
  receivedAt: number;
}

export interface DeliveryRecord {
  id: number;
  notificationId: number;
  channel: string | null;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  messageTs: string | null;
  /**
   * When a post for this delivery that may have reached Slack started (the
   * process stopped mid-call, or the answer was lost); null when every
   * earlier attempt certainly posted nothing.
   */
  unsureSince: number | null;
}

/** The next delivery to make in a channel, with its notification. */
export interface DeliveryJob {
  delivery: DeliveryRecord & { channel: string };
  notification: NotificationRecord;
}

export interface ThresholdDetails {
  type: string;
  lower: number | null;
  upper: number | null;
}

/** Alert facts that only the PostHog API knows, kept so a message can be re-rendered without it. */
export interface EpisodeDetails {
  threshold: ThresholdDetails | null;
  condition: string | null;
  frequency: string | null;
  /** Recent check values, oldest first. */
  recentValues: number[];
}

/** What an alert is, as a message shows it besides its checks (see syncEpisodeState). */
export interface EpisodeAbout {
  alertName: string;
  insightName: string | null;
  insightShortId: string | null;
  details: Omit<EpisodeDetails, "recentValues">;
}

export interface EpisodeRecord {
  id: number;
  alertId: string;
  channel: string;
  messageTs: string;
  status: EpisodeStatus;
  openedAt: number;
  closedAt: number | null;
  repeatCount: number;
  firstCheckedAt: string | null;
  latestCheckedAt: string | null;
  latestCheckedMs: number | null;
  latestValue: number | null;
  breaches: string | null;
  alertName: string;
  insightName: string | null;
  insightShortId: string | null;
  details: EpisodeDetails;
  snoozedUntil: string | null;
  snoozedBy: string | null;
  enabled: boolean;
  disabledBy: string | null;
  actionAt: number | null;
  /** The latest snooze or disable undone from Slack, and by whom; cleared by the next action. */
  undone: { action: "unsnooze" | "enable"; by: string } | null;
  resolvedNote: string | null;
}

/** What a delivered firing wrote into its episode. */
export interface EpisodeSnapshot {
  alertName: string;
  insightName: string | null;
  insightShortId: string | null;
  breaches: string | null;
  latestValue: number | null;
  latestCheckedAt: string | null;
  details: EpisodeDetails;
  snoozedUntil: string | null;
  enabled: boolean;
}

export interface FiringInput {
  source: "webhook" | "poll";
  /** PostHog's event uuid (webhook); a redelivery of the same uuid is a duplicate. */
  eventUuid?: string | null;
  alertId: string;
  alertName?: string | null;
  insightName?: string | null;
  insightShortId?: string | null;
  breaches?: string | null;
  /** The check that fired; two reports of the same check are one notification. */
  lastCheckedAt?: string | null;
  value?: number | null;
  state?: string | null;
  /** A channel named by the webhook URL (`?channel=C…`). */
  channelHint?: string | null;
  /** PostHog's "test destination" deliveries. */
  isTest?: boolean;
}

export interface ResolveInput {
  alertId: string;
  source: NotificationSource;
  /** The check that came back clear, when known: used to report it once. */
  lastCheckedAt?: string | null;
  state?: string | null;
  reason?: string | null;
}

export interface RefreshInput {
  alertId: string;
  source: NotificationSource;
  reason?: string | null;
}

/**
 * SQL for a posted firing's breach text, given (delivery id, the text it was drawn with): the
 * firing's own text as it is now, which a webhook may have added while the post was under way
 * (see `addBreaches`), else the one drawn.
 */
const BREACHES_NOW = `COALESCE(
  (SELECT json_extract(n.payload, '$.breaches') FROM deliveries d JOIN notifications n ON n.id = d.notification_id
    WHERE d.id = ?),
  ?)`;

export interface EnqueueResult {
  id: number;
  duplicate: boolean;
  /** A duplicate that brought what the first report lacked (its breach text): a redraw is queued. */
  completed?: boolean;
}

export interface RouteRecord {
  alertId: string;
  channel: string;
  createdBy: string | null;
  createdAt: number;
}

export interface PollStateRecord {
  alertId: string;
  state: string;
  enabled: boolean;
  snoozedUntilMs: number | null;
  lastCheckedAtMs: number | null;
  /** A print of the settings the alert's message shows; null when not recorded. */
  shownPrint: string | null;
}

export interface ActionInput {
  alertId: string;
  action: AlertAction;
  /** Slack user id of the person who acted. */
  by: string;
  /** For `snooze`: the absolute instant PostHog was told. */
  snoozedUntil?: string | null;
}

/** A change made from Slack (see recordChange). */
export interface ChangeInput extends Omit<ActionInput, "action"> {
  /** What was done, when the open messages record it; null for a change they only redraw. */
  action: AlertAction | null;
  /** The alert was deleted: its open messages close instead of redrawing. */
  close?: boolean;
  /** Why, as the queue records it (the verb). */
  reason: string;
  /**
   * The print of what the alert's message now shows of its settings (see the poller), when the
   * change was made from Slack and is redrawn from here: the poller's memory takes it, so the
   * next poll does not take it for an edit in PostHog and redraw again.
   */
  shownPrint?: string;
}

export interface FailureSummary {
  /** Deliveries that hit a permanent Slack error. */
  failed: number;
  /** Deliveries with no channel to go to (no route, no hint, no default channel). */
  unrouted: number;
  /** Deliveries waiting to be made, plus notifications not yet routed. */
  pending: number;
  /** Channels whose latest delivery failed permanently, with the error. */
  failingChannels: Array<{
    channel: string;
    lastError: string | null;
    lastErrorAt: number | null;
    failures: number;
  }>;
  /** Channels with a delivery still retrying after `DELAYED_AFTER_ATTEMPTS` tries (a passing error that keeps coming). */
  delayedChannels: Array<{ channel: string; attempts: number; lastError: string | null }>;
}

/** Tries after which a delivery that keeps meeting passing errors counts as delayed in /healthz. */
export const DELAYED_AFTER_ATTEMPTS = 5;

export interface StoreOptions {
  now?: () => number;
  /** How long a write waits for another connection's lock before failing. */
  busyTimeoutMs?: number;
  /** Where the store reports trouble (background checkpoints that stopped); defaults to a process warning. */
  logger?: CheckpointLogger;
  /**
   * Checkpoints from a background thread (file databases; see checkpoint.ts).
   * `false` leaves them to SQLite, on the calling thread.
   */
  checkpoint?: CheckpointOptions | false;
}

/** The fields routing reads, checked as they come out of the database. */
export interface RoutingItem {
  id: number;
  kind: NotificationKind;
  alertId: string;
  channelHint: string | null;
}

const KINDS: ReadonlySet<string> = new Set<NotificationKind>(["firing", "resolved", "refresh", "notice"]);

/**
 * A row limit written into the SQL rather than bound: SQLite prepares a
 * statement again whenever the value bound to its `LIMIT ?` changes the plan's
 * row estimate, which made every call cost a re-prepare (about 10 µs).
 */
function rowLimit(limit: number): number {
  return Number.isSafeInteger(limit) && limit > 0 ? limit : 100;
}

const processWarning: CheckpointLogger = {
  warn: (_details, message) => process.emitWarning(message ?? "store warning"),
};

const detailsSchema = z.object({
  threshold: z
    .object({ type: z.string(), lower: z.number().nullable(), upper: z.number().nullable() })
    .nullable()
    .catch(null),
  condition: z.string().nullable().catch(null),
  frequency: z.string().nullable().catch(null),
  recentValues: z.array(z.number()).catch([]),
});

const EMPTY_DETAILS: EpisodeDetails = { threshold: null, condition: null, frequency: null, recentValues: [] };

function parseDetails(json: string): EpisodeDetails {
  try {
    const parsed = detailsSchema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : EMPTY_DETAILS;
  } catch {
    return EMPTY_DETAILS;
  }
}

const str = (value: unknown): string | null => (typeof value === "string" ? value : null);

/**
 * A stored payload, checked field by field: a field of the wrong type (or a
 * payload that is not a JSON object) reads as null. The bot writes these
 * itself (`payloadOf`), so the check is a guard, not a parser; written out
 * by hand because it runs for every notification claimed.
 */
export function parsePayload(json: string): NotificationPayload {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    raw = null;
  }
  const p = (typeof raw === "object" && raw !== null && !Array.isArray(raw) ? raw : {}) as Record<
    string,
    unknown
  >;
  return {
    alertName: str(p.alertName),
    insightName: str(p.insightName),
    insightShortId: str(p.insightShortId),
    breaches: str(p.breaches),
    lastCheckedAt: str(p.lastCheckedAt),
    value: typeof p.value === "number" && Number.isFinite(p.value) ? p.value : null,
    state: str(p.state),
    reason: str(p.reason),
    text: str(p.text),
  };
}

function payloadOf(p: Partial<NotificationPayload>): string {
  const full: NotificationPayload = {
    alertName: p.alertName ?? null,
    insightName: p.insightName ?? null,
    insightShortId: p.insightShortId ?? null,
    breaches: p.breaches ?? null,
    lastCheckedAt: p.lastCheckedAt ?? null,
    value: typeof p.value === "number" && Number.isFinite(p.value) ? p.value : null,
    state: p.state ?? null,
    reason: p.reason ?? null,
    text: p.text ?? null,
  };
  return JSON.stringify(full);
}

interface NotificationRow {
  id: number;
  kind: NotificationKind;
  source: string;
  event_uuid: string | null;
  alert_id: string;
  checked_at_ms: number | null;
  channel_hint: string | null;
  is_test: number;
  payload: string;
  received_at: number;
}

interface DeliveryRow {
  id: number;
  notification_id: number;
  channel: string | null;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  message_ts: string | null;
  unsure_since: number | null;
}

interface EpisodeRow {
  id: number;
  alert_id: string;
  channel: string;
  message_ts: string;
  status: EpisodeStatus;
  opened_at: number;
  closed_at: number | null;
  repeat_count: number;
  first_checked_at: string | null;
  latest_checked_at: string | null;
  latest_checked_ms: number | null;
  latest_value: number | null;
  breaches: string | null;
  alert_name: string;
  insight_name: string | null;
  insight_short_id: string | null;
  details: string;
  snoozed_until: string | null;
  snoozed_by: string | null;
  enabled: number;
  disabled_by: string | null;
  action_at: number | null;
  undone: string | null;
  undone_by: string | null;
  resolved_note: string | null;
}

function toNotification(row: NotificationRow): NotificationRecord {
  return {
    id: row.id,
    kind: row.kind,
    source: row.source,
    eventUuid: row.event_uuid,
    alertId: row.alert_id,
    checkedAtMs: row.checked_at_ms,
    channelHint: row.channel_hint,
    isTest: row.is_test === 1,
    payload: parsePayload(row.payload),
    receivedAt: row.received_at,
  };
}

function toDelivery(row: DeliveryRow): DeliveryRecord {
  return {
    id: row.id,
    notificationId: row.notification_id,
    channel: row.channel,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastError: row.last_error,
    messageTs: row.message_ts,
    unsureSince: row.unsure_since,
  };
}

function toEpisode(row: EpisodeRow): EpisodeRecord {
  return {
    id: row.id,
    alertId: row.alert_id,
    channel: row.channel,
    messageTs: row.message_ts,
    status: row.status,
    openedAt: row.opened_at,
    closedAt: row.closed_at,
    repeatCount: row.repeat_count,
    firstCheckedAt: row.first_checked_at,
    latestCheckedAt: row.latest_checked_at,
    latestCheckedMs: row.latest_checked_ms,
    latestValue: row.latest_value,
    breaches: row.breaches,
    alertName: row.alert_name,
    insightName: row.insight_name,
    insightShortId: row.insight_short_id,
    details: parseDetails(row.details),
    snoozedUntil: row.snoozed_until,
    snoozedBy: row.snoozed_by,
    enabled: row.enabled === 1,
    disabledBy: row.disabled_by,
    actionAt: row.action_at,
    undone:
      (row.undone === "unsnooze" || row.undone === "enable") && row.undone_by
        ? { action: row.undone, by: row.undone_by }
        : null,
    resolvedNote: row.resolved_note,
  };
}

/** Brings the schema up to date inside one transaction. Refuses a database written by a newer version. */
export function migrate(db: Database.Database): { from: number; to: number } {
  const from = db.pragma("user_version", { simple: true }) as number;
  const to = MIGRATIONS.length;
  if (from > to) {
    throw new Error(
      `The database was created by a newer version of the bot (schema ${from}, this version knows ${to}). ` +
        "Upgrade the bot or point DATABASE_PATH at another file.",
    );
  }
  if (from === to) return { from, to };
  db.transaction(() => {
    for (let version = from; version < to; version++) {
      db.exec(MIGRATIONS[version] as string);
      db.pragma(`user_version = ${version + 1}`);
    }
  }).immediate();
  return { from, to };
}

/**
 * Opens (creating if needed) the database at `path`; `":memory:"` gives a
 * private in-memory database for tests.
 */
export function openStore(path: string, options: StoreOptions = {}): Store {
  if (path !== ":memory:" && !path.startsWith("file:")) {
    mkdirSync(dirname(resolve(path)), { recursive: true });
  }
  const db = new Database(path);
  try {
    // WAL lets readers and the single writer proceed together. With
    // synchronous = FULL every commit is on disk (the WAL file fsynced) before
    // the call returns, so what the bot has acknowledged (a webhook's 202) or
    // claimed (a delivery marked `sending` before its Slack call) survives a
    // power cut as well as a killed process. NORMAL would leave the fsync to the
    // next checkpoint, up to 100 ms later: a power cut could then lose accepted
    // webhooks, and a lost claim would post a message twice. Commits are grouped
    // (one per turn of the event loop for webhooks), so the fsyncs are few; the
    // intake benchmark measured no difference between the two here. Records of
    // changes PostHog already holds are the exception (see lazyCommit).
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
    db.pragma("foreign_keys = ON");
    migrate(db);
    // Copying the log into the database (a checkpoint) happens on a thread of its own.
    return new Store(db, options.now ?? Date.now, backgroundCheckpoints(db, options));
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * Runs `write` (one transaction) with a commit that does not fsync the log: with
 * synchronous = NORMAL it is in the log when `write` returns, so a killed process keeps it, and
 * on disk at the log's next fsync, the background checkpoint's (every 100 ms) or that of the
 * next commit that waits for it (any other write). The connection is FULL again afterwards,
 * whether or not `write` threw; inside a caller's transaction, the caller's commit decides.
 * One fsync remains when `write` is the first write after a checkpoint copied the whole log:
 * SQLite then starts the log over and syncs its new header, whatever the setting.
 *
 * For the record of a change made from Slack: PostHog holds the change itself, and what a power
 * cut in that moment could lose (who made it, and the queued redraw) the poller, when on, puts
 * back from PostHog at its next look. The fsync it saves held the thread that acks Slack's
 * requests for 0.2 ms on every click, and longer when the disk was busy.
 */
export function lazyCommit<T>(db: Database.Database, write: () => T): T {
  if (db.inTransaction) return write();
  db.pragma("synchronous = NORMAL");
  try {
    return write();
  } finally {
    db.pragma("synchronous = FULL");
  }
}

/**
 * Moves checkpoints off the calling thread for a database file in WAL mode
 * (not for `:memory:`, which has no log to copy).
 */
function backgroundCheckpoints(db: Database.Database, options: StoreOptions): Checkpointer | null {
  if (options.checkpoint === false) return null;
  if (db.pragma("journal_mode", { simple: true }) !== "wal") return null;
  const main = (db.pragma("database_list") as Array<{ name: string; file: string }>).find(
    (d) => d.name === "main",
  );
  if (!main?.file) return null;
  return startCheckpointer(db, main.file, options.logger ?? processWarning, options.checkpoint ?? {});
}

export class Store {
  /** Prepared statements by SQL text: preparing costs more than running most of them. */
  private readonly statements = new Map<string, Database.Statement>();

  constructor(
    readonly db: Database.Database,
    private readonly now: () => number,
    /** Background checkpoints of the database file; null in memory or when turned off. */
    readonly checkpointer: Checkpointer | null = null,
  ) {}

  private stmt(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** Stops the checkpoint thread (a bounded wait), then closes the connection. */
  close(): void {
    this.checkpointer?.stop();
    if (this.db.open) this.db.close();
  }

  // ---- intake -------------------------------------------------------------

  /**
   * Records a firing. A repeat of the same event uuid, or a second report of
   * the same check (same alert and `last_checked_at`, whatever its format),
   * is a duplicate and returns the first one's id.
   */
  enqueueFiring(input: FiringInput): EnqueueResult {
    return this.enqueueFirings([input])[0] as EnqueueResult;
  }

  /**
   * Records several firings in one transaction, so one commit (one write to
   * the log) serves them all. Each is recorded as `enqueueFiring` would in
   * turn, so a duplicate inside the batch, like one already stored, returns
   * the first one's id. Returns one result per input, in order. If any of
   * them fails, nothing of the batch is stored and the error is thrown.
   */
  enqueueFirings(inputs: readonly FiringInput[]): EnqueueResult[] {
    if (inputs.length === 0) return [];
    this.firingBatch ??= this.db.transaction((batch: readonly FiringInput[], receivedAt: number) =>
      batch.map((input) => this.insertFiring(input, receivedAt)),
    );
    return this.firingBatch.immediate(inputs, this.now());
  }

  /** The transaction behind `enqueueFirings`, made once: building one costs more than a small insert. */
  private firingBatch: Database.Transaction<
    (batch: readonly FiringInput[], receivedAt: number) => EnqueueResult[]
  > | null = null;

  /** One firing, inside the caller's transaction. */
  private insertFiring(input: FiringInput, receivedAt: number): EnqueueResult {
    if (!input.alertId) throw new Error("enqueueFiring needs an alert id");
    const checkedAtMs = toEpochMs(input.lastCheckedAt ?? null);
    const uuid = input.eventUuid || null;
    const info = this.stmt(
      `INSERT INTO notifications
           (kind, source, event_uuid, alert_id, checked_at_ms, channel_hint, is_test, payload, received_at)
         VALUES ('firing', ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT DO NOTHING`,
    ).run(
      input.source,
      uuid,
      input.alertId,
      checkedAtMs,
      input.channelHint ?? null,
      input.isTest === true ? 1 : 0,
      payloadOf({
        alertName: input.alertName ?? null,
        insightName: input.insightName ?? null,
        insightShortId: input.insightShortId ?? null,
        breaches: input.breaches ?? null,
        lastCheckedAt: input.lastCheckedAt ?? null,
        value: input.value ?? null,
        state: input.state ?? null,
      }),
      receivedAt,
    );
    if (info.changes === 1) return { id: Number(info.lastInsertRowid), duplicate: false };
    const existing =
      (uuid
        ? (this.stmt("SELECT id FROM notifications WHERE event_uuid = ?").get(uuid) as
            | { id: number }
            | undefined)
        : undefined) ??
      (this.stmt(
        `SELECT id FROM notifications
           WHERE kind = 'firing' AND alert_id = ? AND checked_at_ms = ? AND is_test = 0`,
      ).get(input.alertId, checkedAtMs) as { id: number } | undefined);
    if (!existing) throw new Error("notification insert was ignored but no duplicate was found");
    if (input.breaches && this.addBreaches(existing.id, input.alertId, checkedAtMs, input.breaches)) {
      return { id: existing.id, duplicate: true, completed: true };
    }
    return { id: existing.id, duplicate: true };
  }

  /**
   * The poller reports a firing without PostHog's breach sentence ("value 42
   * is below 100"); the webhook for the same check carries it. When the
   * webhook comes second, the stored firing takes its text and, if the
   * message is already posted, so does the message (a redraw is queued).
   * Returns whether a redraw was queued.
   */
  private addBreaches(id: number, alertId: string, checkedAtMs: number | null, breaches: string): boolean {
    const added = this.stmt(
      `UPDATE notifications SET payload = json_set(payload, '$.breaches', ?)
         WHERE id = ? AND kind = 'firing' AND json_extract(payload, '$.breaches') IS NULL`,
    ).run(breaches, id).changes;
    if (added === 0 || checkedAtMs === null) return false;
    // A message showing this check takes the text (in place of none, or of the sentence an
    // earlier check left there); one being posted now takes it when recorded (completeOpened).
    const shown = this.stmt(
      `UPDATE episodes SET breaches = ?
         WHERE alert_id = ? AND status = 'firing' AND latest_checked_ms = ?`,
    ).run(breaches, alertId, checkedAtMs).changes;
    const posting = this.stmt(
      "SELECT 1 FROM deliveries WHERE notification_id = ? AND status = 'sending'",
    ).get(id);
    if (shown === 0 && posting === undefined) return false;
    this.coalesce("refresh", alertId, "webhook", null, { reason: "breaches" });
    return true;
  }

  /** Queues "this alert stopped firing" for its open episodes; once per clear check. */
  enqueueResolved(input: ResolveInput): EnqueueResult {
    const checkedAtMs = toEpochMs(input.lastCheckedAt ?? null);
    return this.enqueueCoalesced("resolved", input.alertId, input.source, checkedAtMs, {
      lastCheckedAt: input.lastCheckedAt ?? null,
      state: input.state ?? null,
      reason: input.reason ?? null,
    });
  }

  /** Queues a re-render of the alert's open messages; merged with one already waiting. */
  enqueueRefresh(input: RefreshInput): EnqueueResult {
    return this.enqueueCoalesced("refresh", input.alertId, input.source, null, {
      reason: input.reason ?? null,
    });
  }

  /** Queues a short message from the bot to a channel (e.g. "deliveries to #x are failing"). */
  enqueueNotice(channel: string, text: string, alertId = ""): EnqueueResult {
    const info = this.stmt(
      `INSERT INTO notifications (kind, source, alert_id, channel_hint, payload, received_at)
         VALUES ('notice', 'bot', ?, ?, ?, ?)`,
    ).run(alertId, channel, payloadOf({ text }), this.now());
    return { id: Number(info.lastInsertRowid), duplicate: false };
  }

  private enqueueCoalesced(
    kind: "resolved" | "refresh",
    alertId: string,
    source: string,
    checkedAtMs: number | null,
    payload: Partial<NotificationPayload>,
  ): EnqueueResult {
    return this.db.transaction(() => this.coalesce(kind, alertId, source, checkedAtMs, payload)).immediate();
  }

  /** enqueueCoalesced's work, inside the caller's transaction. */
  private coalesce(
    kind: "resolved" | "refresh",
    alertId: string,
    source: string,
    checkedAtMs: number | null,
    payload: Partial<NotificationPayload>,
  ): EnqueueResult {
    if (!alertId) throw new Error(`enqueue ${kind} needs an alert id`);
    // Merged only into one that no channel has had yet: once a channel got it (or is
    // getting it), that channel would miss the change this one carries.
    const waiting = this.stmt(
      `SELECT n.id FROM notifications n
         WHERE n.alert_id = ? AND n.kind = ?
           AND (n.routed = 0 OR EXISTS
             (SELECT 1 FROM deliveries d WHERE d.notification_id = n.id AND d.status = 'pending'))
           AND NOT EXISTS
             (SELECT 1 FROM deliveries d WHERE d.notification_id = n.id AND d.status <> 'pending')
         ORDER BY n.id DESC LIMIT 1`,
    ).get(alertId, kind) as { id: number } | undefined;
    if (waiting) {
      // A delete from Slack says more than "cleared": the waiting resolve takes its reason.
      if (kind === "resolved" && payload.reason === "deleted_from_slack")
        this.stmt("UPDATE notifications SET payload = json_set(payload, '$.reason', ?) WHERE id = ?").run(
          payload.reason,
          waiting.id,
        );
      return { id: waiting.id, duplicate: true };
    }
    const info = this.stmt(
      `INSERT INTO notifications (kind, source, alert_id, checked_at_ms, payload, received_at)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT DO NOTHING`,
    ).run(kind, source, alertId, checkedAtMs, payloadOf(payload), this.now());
    if (info.changes === 1) return { id: Number(info.lastInsertRowid), duplicate: false };
    const existing = this.stmt(
      "SELECT id FROM notifications WHERE kind = ? AND alert_id = ? AND checked_at_ms = ?",
    ).get(kind, alertId, checkedAtMs) as { id: number };
    return { id: existing.id, duplicate: true };
  }

  getNotification(id: number): NotificationRecord | null {
    const row = this.stmt("SELECT * FROM notifications WHERE id = ?").get(id) as NotificationRow | undefined;
    return row ? toNotification(row) : null;
  }

  // ---- routing ------------------------------------------------------------

  /** Notifications accepted but not yet given deliveries, oldest first. */
  unroutedNotifications(limit = 100): NotificationRecord[] {
    const rows = this.stmt(
      `SELECT * FROM notifications WHERE routed = 0 ORDER BY id LIMIT ${rowLimit(limit)}`,
    ).all() as NotificationRow[];
    return rows.map(toNotification);
  }

  /**
   * What routing needs of the notifications not yet routed, oldest first:
   * four columns, without the payload. Each row is checked on the way out
   * (a row that fails is an error, not something to route).
   */
  unroutedForRouting(limit = 100): RoutingItem[] {
    const rows = this.stmt(
      `SELECT id, kind, alert_id AS alertId, channel_hint AS channelHint
         FROM notifications WHERE routed = 0 ORDER BY id LIMIT ${rowLimit(limit)}`,
    ).all() as Array<Record<keyof RoutingItem, unknown>>;
    for (const row of rows) {
      if (
        typeof row.id !== "number" ||
        typeof row.kind !== "string" ||
        !KINDS.has(row.kind) ||
        typeof row.alertId !== "string" ||
        (row.channelHint !== null && typeof row.channelHint !== "string")
      ) {
        throw new Error(`notification ${String(row.id)} has an unexpected shape in the database`);
      }
    }
    return rows as unknown as RoutingItem[];
  }

  /**
   * Gives a notification its deliveries: one pending delivery per channel,
   * or (with `null`) a single `unrouted` one that `addRoute` can revive.
   * An empty list means "nothing to do" (e.g. resolving an alert with no
   * open message).
   */
  routeNotification(notificationId: number, channels: string[] | null): void {
    this.routeNotifications([{ id: notificationId, channels }]);
  }

  /** Routes a batch of notifications in one transaction (one commit instead of one each). */
  routeNotifications(batch: ReadonlyArray<{ id: number; channels: readonly string[] | null }>): void {
    if (batch.length === 0) return;
    this.routeBatch ??= this.db.transaction(
      (items: ReadonlyArray<{ id: number; channels: readonly string[] | null }>, now: number) => {
        const unrouted = this.stmt(
          `INSERT INTO deliveries (notification_id, channel, status, created_at, updated_at)
             VALUES (?, NULL, 'unrouted', ?, ?)`,
        );
        // A redraw is flagged so that the queue can let it go ahead (see channelHeads).
        const pending = this.stmt(
          `INSERT INTO deliveries (notification_id, channel, status, redraw, created_at, updated_at)
             SELECT id, ?, 'pending', kind = 'refresh', ?, ? FROM notifications WHERE id = ?
             ON CONFLICT DO NOTHING`,
        );
        const routed = this.stmt("UPDATE notifications SET routed = 1 WHERE id = ?");
        for (const { id, channels } of items) {
          if (channels === null) unrouted.run(id, now, now);
          else for (const channel of new Set(channels)) pending.run(channel, now, now, id);
          routed.run(id);
        }
      },
    );
    this.routeBatch.immediate(batch, this.now());
  }

  /** The transaction behind `routeNotifications`, made once (like `firingBatch`). */
  private routeBatch: Database.Transaction<
    (items: ReadonlyArray<{ id: number; channels: readonly string[] | null }>, now: number) => void
  > | null = null;

  /** Channels that hold (or are about to hold) a firing message for the alert. */
  activeChannelsForAlert(alertId: string): string[] {
    const rows = this.stmt(
      `SELECT channel FROM episodes WHERE alert_id = ? AND status = 'firing'
         UNION
         SELECT d.channel FROM deliveries d JOIN notifications n ON n.id = d.notification_id
         WHERE n.alert_id = ? AND n.kind = 'firing' AND n.is_test = 0
           AND d.status IN ('pending', 'sending') AND d.channel IS NOT NULL`,
    ).all(alertId, alertId) as Array<{ channel: string }>;
    return rows.map((r) => r.channel);
  }

  /**
   * Sends an alert's notifications to a channel. Deliveries of this alert
   * that found no channel earlier go back to the queue, addressed here.
   */
  addRoute(
    alertId: string,
    channel: string,
    createdBy: string | null = null,
  ): { added: boolean; rerouted: number } {
    const now = this.now();
    return this.db
      .transaction(() => {
        const added = this.stmt(
          `INSERT INTO routes (alert_id, channel, created_by, created_at) VALUES (?, ?, ?, ?)
             ON CONFLICT DO NOTHING`,
        ).run(alertId, channel, createdBy, now).changes;
        const rerouted = this.reviveFor(alertId, channel, now);
        return { added: added === 1, rerouted };
      })
      .immediate();
  }

  /**
   * Sends every alert's kept firings (kept while it had no channel) to `channel`:
   * for a default channel set since they were kept. Returns how many go.
   */
  reviveUnrouted(channel: string): number {
    const now = this.now();
    return this.db
      .transaction(() => {
        const alerts = this.stmt(
          `SELECT DISTINCT n.alert_id AS alertId FROM deliveries d JOIN notifications n ON n.id = d.notification_id
             WHERE d.status = 'unrouted'`,
        ).all() as Array<{ alertId: string }>;
        return alerts.reduce((sum, a) => sum + this.reviveFor(a.alertId, channel, now), 0);
      })
      .immediate();
  }

  /**
   * Firings kept while the alert had no channel: only the newest is posted. The older ones
   * would arrive as a flood of stale "fired again" replies; they are closed with a note.
   */
  private reviveFor(alertId: string, channel: string, now: number): number {
    // Real firings and PostHog's test deliveries each keep their newest.
    for (const isTest of [0, 1]) {
      const newest = this.stmt(
        `SELECT MAX(n.id) AS id FROM deliveries d JOIN notifications n ON n.id = d.notification_id
           WHERE d.status = 'unrouted' AND n.alert_id = ? AND n.kind = 'firing' AND n.is_test = ?`,
      ).get(alertId, isTest) as { id: number | null };
      this.stmt(
        `UPDATE deliveries SET status = 'sent', last_error = 'skipped: a newer firing was posted instead',
             updated_at = ?
           WHERE status = 'unrouted'
             AND notification_id IN (
               SELECT id FROM notifications WHERE alert_id = ? AND kind = 'firing' AND is_test = ? AND id < ?
             )`,
      ).run(now, alertId, isTest, newest.id ?? 0);
    }
    return this.stmt(
      `UPDATE deliveries SET status = 'pending', channel = ?, next_attempt_at = 0, last_error = NULL,
           updated_at = ?
         WHERE status = 'unrouted'
           AND notification_id IN (SELECT id FROM notifications WHERE alert_id = ?)`,
    ).run(channel, now, alertId).changes;
  }

  removeRoute(alertId: string, channel: string): boolean {
    return (
      this.stmt("DELETE FROM routes WHERE alert_id = ? AND channel = ?").run(alertId, channel).changes === 1
    );
  }

  routesForChannel(channel: string): RouteRecord[] {
    const rows = this.stmt(
      `SELECT alert_id AS alertId, channel, created_by AS createdBy, created_at AS createdAt
         FROM routes WHERE channel = ? ORDER BY created_at, alert_id`,
    ).all(channel) as RouteRecord[];
    return rows;
  }

  /** Channels watching the alert, in the order they were added. */
  routesForAlert(alertId: string): string[] {
    const rows = this.stmt("SELECT channel FROM routes WHERE alert_id = ? ORDER BY created_at, channel").all(
      alertId,
    ) as Array<{ channel: string }>;
    return rows.map((r) => r.channel);
  }

  // ---- delivery queue -----------------------------------------------------

  /**
   * Each channel's queue is first-in first-out, so a firing's update and its
   * resolve reach the message in order. Returns, per channel with nothing
   * `sending` (a busy channel is left out), the delivery to make next: the
   * oldest waiting one, unless a redraw of a message already posted in the
   * channel is due as soon. A redraw (after a click, a change the poller saw,
   * a snooze ending) draws the message from
   * what is recorded when it runs, so going ahead changes nothing it shows;
   * waiting behind an incident's backlog of posts, at one a second, would keep
   * the clicker's answer off the message for a minute.
   */
  channelHeads(): Array<{ channel: string; deliveryId: number; nextAttemptAt: number }> {
    // Steps from channel to channel through the (status, channel, id) index instead of reading
    // every waiting delivery: this runs after each accepted webhook, with any backlog behind it.
    // Redraws come from their own partial index, which holds only the waiting ones (named,
    // because SQLite's planner would rather walk the channel's backlog in the queue index).
    const rows = this.stmt(
      `WITH RECURSIVE waiting(channel) AS (
         SELECT MIN(channel) FROM deliveries WHERE status = 'pending' AND channel IS NOT NULL
         UNION ALL
         SELECT (SELECT MIN(channel) FROM deliveries WHERE status = 'pending' AND channel > waiting.channel)
         FROM waiting WHERE waiting.channel IS NOT NULL
       )
       SELECT h.channel AS channel, h.id AS headId, h.next_attempt_at AS headAt,
              r.id AS redrawId, r.next_attempt_at AS redrawAt
       FROM waiting
       JOIN deliveries h ON h.id =
         (SELECT MIN(id) FROM deliveries WHERE status = 'pending' AND channel = waiting.channel)
       LEFT JOIN deliveries r ON r.id =
         (SELECT d.id FROM deliveries d INDEXED BY deliveries_redraws
           JOIN notifications n ON n.id = d.notification_id
           WHERE d.status = 'pending' AND d.redraw = 1 AND d.channel = waiting.channel AND d.id > h.id
             AND EXISTS (SELECT 1 FROM episodes e
                          WHERE e.alert_id = n.alert_id AND e.channel = waiting.channel AND e.status = 'firing')
           ORDER BY d.next_attempt_at, d.id LIMIT 1)
       WHERE waiting.channel IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM deliveries s WHERE s.status = 'sending' AND s.channel = waiting.channel)`,
    ).all() as Array<{
      channel: string;
      headId: number;
      headAt: number;
      redrawId: number | null;
      redrawAt: number | null;
    }>;
    return rows
      .map(({ channel, headId, headAt, redrawId, redrawAt }) =>
        redrawId !== null && redrawAt !== null && redrawAt <= headAt
          ? { channel, deliveryId: redrawId, nextAttemptAt: redrawAt }
          : { channel, deliveryId: headId, nextAttemptAt: headAt },
      )
      .sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || a.deliveryId - b.deliveryId);
  }

  getDelivery(id: number): DeliveryRecord | null {
    const row = this.stmt("SELECT * FROM deliveries WHERE id = ?").get(id) as DeliveryRow | undefined;
    return row ? toDelivery(row) : null;
  }

  deliveriesFor(notificationId: number): DeliveryRecord[] {
    const rows = this.stmt("SELECT * FROM deliveries WHERE notification_id = ? ORDER BY id").all(
      notificationId,
    ) as DeliveryRow[];
    return rows.map(toDelivery);
  }

  deliveriesByStatus(status: DeliveryStatus): DeliveryRecord[] {
    const rows = this.stmt("SELECT * FROM deliveries WHERE status = ? ORDER BY id").all(
      status,
    ) as DeliveryRow[];
    return rows.map(toDelivery);
  }

  /**
   * Claims a pending delivery (pending → sending, one more attempt) and
   * returns it with its notification; null if it is no longer pending.
   */
  claimDelivery(id: number): DeliveryJob | null {
    const now = this.now();
    return this.db
      .transaction((): DeliveryJob | null => {
        const claimed = this.stmt(
          `UPDATE deliveries SET status = 'sending', attempts = attempts + 1, updated_at = ?
             WHERE id = ? AND status = 'pending' AND channel IS NOT NULL`,
        ).run(now, id).changes;
        if (claimed !== 1) return null;
        const delivery = toDelivery(
          this.stmt("SELECT * FROM deliveries WHERE id = ?").get(id) as DeliveryRow,
        );
        const notification = this.getNotification(delivery.notificationId);
        if (!notification || delivery.channel === null) return null;
        return { delivery: { ...delivery, channel: delivery.channel }, notification };
      })
      .immediate();
  }

  markSent(deliveryId: number, messageTs: string | null, note: string | null = null): void {
    this.db
      .transaction(() => {
        this.finishSent(deliveryId, messageTs, note);
      })
      .immediate();
  }

  /**
   * Back to the queue, to be tried again at `nextAttemptAt`. `unsure` says
   * the failed attempt may have posted all the same (its answer was lost), so
   * the next attempt looks for that post first; the time kept is when the
   * claim was made, just before the call.
   */
  reschedule(deliveryId: number, nextAttemptAt: number, error: string, unsure = false): void {
    this.stmt(
      `UPDATE deliveries SET status = 'pending', next_attempt_at = ?, last_error = ?, updated_at = ?,
              unsure_since = CASE WHEN ? THEN COALESCE(unsure_since, updated_at) ELSE unsure_since END
         WHERE id = ?`,
    ).run(nextAttemptAt, error, this.now(), unsure ? 1 : 0, deliveryId);
  }

  /** A permanent failure: kept for the record, not retried. */
  markFailed(deliveryId: number, error: string): void {
    this.stmt("UPDATE deliveries SET status = 'failed', last_error = ?, updated_at = ? WHERE id = ?").run(
      error,
      this.now(),
      deliveryId,
    );
  }

  /**
   * Deliveries left `sending` by a process that stopped mid-call go back to
   * `pending`, marked unsure since their claim: Slack may or may not have
   * received that call, so the next attempt looks for the post first.
   */
  requeueInterrupted(): number {
    return this.stmt(
      `UPDATE deliveries SET status = 'pending', unsure_since = COALESCE(unsure_since, updated_at),
              updated_at = ?
         WHERE status = 'sending'`,
    ).run(this.now()).changes;
  }

  /** This database's own random id, part of the key each post carries. */
  instanceId(): string {
    const row = this.stmt("SELECT value FROM meta WHERE key = 'instance_id'").get() as
      | { value: string }
      | undefined;
    if (!row) throw new Error("The database has no instance id; its migrations did not run");
    return row.value;
  }

  /** Deliveries still to be made (including ones in flight) plus notifications not yet routed. */
  pendingCount(): number {
    const row = this.stmt(
      `SELECT (SELECT COUNT(*) FROM deliveries WHERE status IN ('pending', 'sending'))
              + (SELECT COUNT(*) FROM notifications WHERE routed = 0) AS n`,
    ).get() as { n: number };
    return row.n;
  }

  private finishSent(deliveryId: number, messageTs: string | null, note: string | null): void {
    const now = this.now();
    this.stmt(
      `UPDATE deliveries SET status = 'sent', message_ts = ?, last_error = ?, updated_at = ?
         WHERE id = ?`,
    ).run(messageTs, note, now, deliveryId);
    const channel = this.stmt("SELECT channel FROM deliveries WHERE id = ?").get(deliveryId) as
      | { channel: string | null }
      | undefined;
    if (channel?.channel) this.channelSucceeded(channel.channel);
  }

  // ---- episodes -----------------------------------------------------------

  openEpisode(alertId: string, channel: string): EpisodeRecord | null {
    const row = this.stmt(
      "SELECT * FROM episodes WHERE alert_id = ? AND channel = ? AND status = 'firing'",
    ).get(alertId, channel) as EpisodeRow | undefined;
    return row ? toEpisode(row) : null;
  }

  /** Whether the alert has a message still shown as firing (cheaper than reading them). */
  hasOpenEpisode(alertId: string): boolean {
    return (
      this.stmt("SELECT 1 FROM episodes WHERE alert_id = ? AND status = 'firing' LIMIT 1").get(alertId) !==
      undefined
    );
  }

  openEpisodesForAlert(alertId: string): EpisodeRecord[] {
    const rows = this.stmt("SELECT * FROM episodes WHERE alert_id = ? AND status = 'firing' ORDER BY id").all(
      alertId,
    ) as EpisodeRow[];
    return rows.map(toEpisode);
  }

  /** A snooze time, or null once it has passed: PostHog may keep the old time after a snooze ends. */
  private unlessEnded(snoozedUntil: string | null): string | null {
    return snoozeEnded(snoozedUntil, this.now()) ? null : snoozedUntil;
  }

  /**
   * Clears the snooze of every still-firing message whose snooze has ended, and names
   * their alerts (once each): those messages need one redraw, with the Snooze control back.
   */
  takeEndedSnoozes(): string[] {
    return this.db
      .transaction((): string[] => {
        const rows = this.stmt(
          "SELECT id, alert_id, snoozed_until FROM episodes WHERE status = 'firing' AND snoozed_until IS NOT NULL",
        ).all() as Array<{ id: number; alert_id: string; snoozed_until: string }>;
        const ended = rows.filter((r) => this.unlessEnded(r.snoozed_until) === null);
        const clear = this.stmt("UPDATE episodes SET snoozed_until = NULL, snoozed_by = NULL WHERE id = ?");
        for (const r of ended) clear.run(r.id);
        return [...new Set(ended.map((r) => r.alert_id))];
      })
      .immediate();
  }

  /** The still-firing episode whose Slack message is (channel, ts): how a button click finds its alert. */
  openEpisodeByMessage(channel: string, ts: string): EpisodeRecord | null {
    const episode = this.episodeByMessage(channel, ts);
    return episode && episode.status === "firing" ? episode : null;
  }

  episodeByMessage(channel: string, ts: string): EpisodeRecord | null {
    const row = this.stmt("SELECT * FROM episodes WHERE channel = ? AND message_ts = ?").get(channel, ts) as
      | EpisodeRow
      | undefined;
    return row ? toEpisode(row) : null;
  }

  getEpisode(id: number): EpisodeRecord | null {
    const row = this.stmt("SELECT * FROM episodes WHERE id = ?").get(id) as EpisodeRow | undefined;
    return row ? toEpisode(row) : null;
  }

  /** A firing was posted as a new message: open its episode and mark the delivery sent, together. */
  completeOpened(
    deliveryId: number,
    input: { alertId: string; channel: string; ts: string; snapshot: EpisodeSnapshot },
  ): number {
    const now = this.now();
    const s = input.snapshot;
    return this.db
      .transaction(() => {
        this.stmt(
          `UPDATE episodes SET status = 'replaced', closed_at = ?
             WHERE alert_id = ? AND channel = ? AND status = 'firing'`,
        ).run(now, input.alertId, input.channel);
        const info = this.stmt(
          `INSERT INTO episodes (alert_id, channel, message_ts, status, opened_at, repeat_count,
               first_checked_at, latest_checked_at, latest_checked_ms, latest_value, breaches, alert_name,
               insight_name, insight_short_id, details, snoozed_until, enabled)
             VALUES (?, ?, ?, 'firing', ?, 1, ?, ?, ?, ?, ${BREACHES_NOW}, ?, ?, ?, ?, ?, ?)`,
        ).run(
          input.alertId,
          input.channel,
          input.ts,
          now,
          s.latestCheckedAt,
          s.latestCheckedAt,
          toEpochMs(s.latestCheckedAt),
          s.latestValue,
          deliveryId,
          s.breaches,
          s.alertName,
          s.insightName,
          s.insightShortId,
          JSON.stringify(s.details),
          this.unlessEnded(s.snoozedUntil),
          s.enabled ? 1 : 0,
        );
        const id = Number(info.lastInsertRowid);
        // A snooze or disable made from Slack on another open message of the alert is the one this
        // message shows too: it names who did it, not "in PostHog".
        this.stmt(
          `UPDATE episodes SET
             snoozed_by = CASE WHEN snoozed_until IS NULL THEN NULL ELSE (
               SELECT o.snoozed_by FROM episodes o
                WHERE o.alert_id = episodes.alert_id AND o.id != episodes.id AND o.status = 'firing'
                  AND o.snoozed_by IS NOT NULL
                  AND abs(julianday(o.snoozed_until) - julianday(episodes.snoozed_until)) * 86400 < 1
                ORDER BY o.action_at DESC LIMIT 1) END,
             disabled_by = CASE WHEN enabled = 1 THEN NULL ELSE (
               SELECT o.disabled_by FROM episodes o
                WHERE o.alert_id = episodes.alert_id AND o.id != episodes.id AND o.status = 'firing'
                  AND o.enabled = 0 AND o.disabled_by IS NOT NULL
                ORDER BY o.action_at DESC LIMIT 1) END
           WHERE id = ?`,
        ).run(id);
        this.finishSent(deliveryId, input.ts, null);
        return id;
      })
      .immediate();
  }

  /** A repeat firing updated the message and replied in its thread. */
  completeRepeated(
    deliveryId: number,
    input: { episodeId: number; repeatCount: number; replyTs: string; snapshot: EpisodeSnapshot },
  ): void {
    const s = input.snapshot;
    this.db
      .transaction(() => {
        this.stmt(
          `UPDATE episodes SET repeat_count = ?, latest_checked_at = ?, latest_checked_ms = ?, latest_value = ?,
               breaches = ${BREACHES_NOW}, alert_name = ?, insight_name = ?, insight_short_id = ?, details = ?
             WHERE id = ?`,
        ).run(
          input.repeatCount,
          s.latestCheckedAt,
          toEpochMs(s.latestCheckedAt),
          s.latestValue,
          deliveryId,
          s.breaches,
          s.alertName,
          s.insightName,
          s.insightShortId,
          JSON.stringify(s.details),
          input.episodeId,
        );
        this.finishSent(deliveryId, input.replyTs, null);
      })
      .immediate();
  }

  /** The message now says resolved: close the episode and mark the delivery sent. */
  completeResolved(deliveryId: number, episodeId: number, note: string | null): void {
    const now = this.now();
    this.db
      .transaction(() => {
        this.stmt(
          `UPDATE episodes SET status = 'resolved', closed_at = ?, resolved_note = ?
             WHERE id = ? AND status = 'firing'`,
        ).run(now, note, episodeId);
        const ts = (
          this.stmt("SELECT message_ts FROM episodes WHERE id = ?").get(episodeId) as
            | { message_ts: string }
            | undefined
        )?.message_ts;
        this.finishSent(deliveryId, ts ?? null, null);
      })
      .immediate();
  }

  /** The episode's message is gone (deleted, or too old to edit); the next firing starts a new one. */
  retireEpisode(episodeId: number): void {
    this.stmt(
      "UPDATE episodes SET status = 'replaced', closed_at = ? WHERE id = ? AND status = 'firing'",
    ).run(this.now(), episodeId);
  }

  /**
   * Brings open episodes in line with PostHog's snooze and enabled state.
   * A value that changed outside Slack loses its "by <@user>". With `about`,
   * also what the alert is now (its name, insight, threshold, condition and
   * frequency), so a redraw after an edit shows the edit; check history and
   * the reported check stay as the messages had them, and names PostHog left
   * out are kept.
   */
  syncEpisodeState(
    alertId: string,
    state: { snoozedUntil: string | null; enabled: boolean; about?: EpisodeAbout },
  ): void {
    const snoozedUntil = this.unlessEnded(state.snoozedUntil);
    const untilMs = toEpochMs(snoozedUntil);
    const about = state.about;
    this.db
      .transaction(() => {
        for (const episode of this.openEpisodesForAlert(alertId)) {
          if (about) {
            const details: EpisodeDetails = { ...about.details, recentValues: episode.details.recentValues };
            this.stmt(
              `UPDATE episodes SET alert_name = ?, insight_name = COALESCE(?, insight_name),
                   insight_short_id = COALESCE(?, insight_short_id), details = ?
                 WHERE id = ?`,
            ).run(
              about.alertName || episode.alertName,
              about.insightName,
              about.insightShortId,
              JSON.stringify(details),
              episode.id,
            );
          }
          if (toEpochMs(episode.snoozedUntil) !== untilMs) {
            this.stmt(
              "UPDATE episodes SET snoozed_until = ?, snoozed_by = NULL, undone = NULL, undone_by = NULL WHERE id = ?",
            ).run(snoozedUntil, episode.id);
          }
          if (episode.enabled !== state.enabled) {
            this.stmt(
              "UPDATE episodes SET enabled = ?, disabled_by = NULL, undone = NULL, undone_by = NULL WHERE id = ?",
            ).run(state.enabled ? 1 : 0, episode.id);
          }
        }
      })
      .immediate();
  }

  /**
   * Records a snooze/unsnooze/disable/enable done from Slack on every open
   * message of the alert, and in the poller's memory so the poller does not
   * mistake it for a change made in PostHog. Returns the updated episodes;
   * queue a refresh (or update the message directly) to show it.
   */
  recordAction(input: ActionInput): EpisodeRecord[] {
    return this.db
      .transaction(() => {
        this.applyAction(input);
        return this.openEpisodesForAlert(input.alertId);
      })
      .immediate();
  }

  /**
   * A change made from Slack, in one transaction: the action (if any) as
   * recordAction records it, then what the alert's open messages need to show
   * it: a redraw, or closing for a deleted alert, merged with one still
   * waiting. Returns what was queued, or null when no message is open.
   */
  recordChange(input: ChangeInput): EnqueueResult | null {
    // PostHog already holds the change itself; this records who made it and queues the redraw.
    // A click's commit would otherwise hold the thread that acks for an fsync (see lazyCommit).
    return lazyCommit(this.db, () =>
      this.db
        .transaction((): EnqueueResult | null => {
          const { alertId } = input;
          if (input.shownPrint !== undefined) this.noteShownPrint(alertId, input.shownPrint);
          const open = input.action
            ? this.applyAction({ ...input, action: input.action }) > 0
            : this.hasOpenEpisode(alertId);
          if (!open) return null;
          return input.close
            ? this.coalesce("resolved", alertId, "action", null, {
                lastCheckedAt: null,
                state: null,
                reason: input.reason,
              })
            : this.coalesce("refresh", alertId, "action", null, { reason: input.reason });
        })
        .immediate(),
    );
  }

  /** recordAction's writes, inside the caller's transaction; returns how many open messages it changed. */
  private applyAction(input: ActionInput): number {
    const now = this.now();
    const episodeSql: Record<AlertAction, string> = {
      snooze:
        "UPDATE episodes SET snoozed_until = ?, snoozed_by = ?, action_at = ?, undone = NULL, undone_by = NULL",
      // SET reads the row as it was. An undo of what was not there (Unsnooze with no snooze,
      // Enable on an enabled alert) claims no undo, and Disable on a disabled one moves no "by".
      unsnooze: `UPDATE episodes SET snoozed_until = NULL, snoozed_by = NULL, action_at = ?,
             undone = CASE WHEN snoozed_until IS NOT NULL THEN 'unsnooze' ELSE undone END,
             undone_by = CASE WHEN snoozed_until IS NOT NULL THEN ? ELSE undone_by END`,
      disable: `UPDATE episodes SET disabled_by = CASE WHEN enabled = 1 THEN ? ELSE disabled_by END,
             enabled = 0, action_at = ?, undone = NULL, undone_by = NULL`,
      enable: `UPDATE episodes SET action_at = ?,
             undone = CASE WHEN enabled = 0 THEN 'enable' ELSE undone END,
             undone_by = CASE WHEN enabled = 0 THEN ? ELSE undone_by END,
             enabled = 1, disabled_by = NULL`,
    };
    const args: Record<AlertAction, unknown[]> = {
      snooze: [input.snoozedUntil ?? null, input.by, now],
      unsnooze: [now, input.by],
      disable: [input.by, now],
      enable: [now, input.by],
    };
    const changed = this.stmt(`${episodeSql[input.action]} WHERE alert_id = ? AND status = 'firing'`).run(
      ...args[input.action],
      input.alertId,
    );
    const pollSql: Record<AlertAction, [string, unknown[]]> = {
      snooze: ["snoozed_until_ms = ?", [toEpochMs(input.snoozedUntil ?? null)]],
      unsnooze: ["snoozed_until_ms = NULL", []],
      disable: ["enabled = 0", []],
      enable: ["enabled = 1", []],
    };
    const [set, pollArgs] = pollSql[input.action];
    this.stmt(`UPDATE poll_state SET ${set} WHERE alert_id = ?`).run(...pollArgs, input.alertId);
    return changed.changes;
  }

  // ---- channel health -----------------------------------------------------

  /**
   * Records a permanent failure in a channel. `firstOfStreak` is true only
   * for the first failure since the channel last worked, so a notice about
   * it goes out once, not once per message.
   */
  recordChannelFailure(channel: string, error: string): { firstOfStreak: boolean } {
    const now = this.now();
    return this.db
      .transaction(() => {
        const before = this.stmt("SELECT notice_sent FROM channel_health WHERE channel = ?").get(channel) as
          | { notice_sent: number }
          | undefined;
        this.stmt(
          `INSERT INTO channel_health (channel, failing, failures, last_error, last_error_at, notice_sent)
             VALUES (?, 1, 1, ?, ?, 1)
             ON CONFLICT (channel) DO UPDATE SET failing = 1, failures = failures + 1, last_error = excluded.last_error,
               last_error_at = excluded.last_error_at, notice_sent = 1`,
        ).run(channel, error, now);
        return { firstOfStreak: !before || before.notice_sent === 0 };
      })
      .immediate();
  }

  private channelSucceeded(channel: string): void {
    this.stmt("UPDATE channel_health SET failing = 0, notice_sent = 0 WHERE channel = ? AND failing = 1").run(
      channel,
    );
  }

  /** For /healthz: what is stuck or broken, without any message content. */
  failureSummary(): FailureSummary {
    const counts = this.stmt(
      `SELECT
           (SELECT COUNT(*) FROM deliveries WHERE status = 'failed') AS failed,
           (SELECT COUNT(*) FROM deliveries WHERE status = 'unrouted') AS unrouted`,
    ).get() as { failed: number; unrouted: number };
    const failingChannels = this.stmt(
      `SELECT channel, last_error AS lastError, last_error_at AS lastErrorAt, failures
         FROM channel_health WHERE failing = 1 ORDER BY last_error_at DESC`,
    ).all() as FailureSummary["failingChannels"];
    // Per channel: the most tried delivery, and its latest error.
    const delayedChannels = this.stmt(
      `SELECT channel, attempts, lastError FROM (
         SELECT channel, attempts, last_error AS lastError,
                ROW_NUMBER() OVER (PARTITION BY channel ORDER BY attempts DESC, updated_at DESC) AS rank
           FROM deliveries WHERE status IN ('pending', 'sending') AND attempts >= ? AND channel IS NOT NULL)
         WHERE rank = 1 ORDER BY channel`,
    ).all(DELAYED_AFTER_ATTEMPTS) as FailureSummary["delayedChannels"];
    return {
      failed: counts.failed,
      unrouted: counts.unrouted,
      pending: this.pendingCount(),
      failingChannels,
      delayedChannels,
    };
  }

  // ---- poller memory ------------------------------------------------------

  pollState(): Map<string, PollStateRecord> {
    const rows = this.stmt("SELECT * FROM poll_state").all() as Array<{
      alert_id: string;
      state: string;
      enabled: number;
      snoozed_until_ms: number | null;
      last_checked_at_ms: number | null;
      shown_print: string | null;
    }>;
    return new Map(
      rows.map((r) => [
        r.alert_id,
        {
          alertId: r.alert_id,
          state: r.state,
          enabled: r.enabled === 1,
          snoozedUntilMs: r.snoozed_until_ms,
          lastCheckedAtMs: r.last_checked_at_ms,
          shownPrint: r.shown_print,
        },
      ]),
    );
  }

  /** Replaces the poller's memory with what it saw now (alerts not listed are forgotten). */
  savePollState(records: PollStateRecord[]): void {
    const now = this.now();
    this.db
      .transaction(() => {
        this.stmt("DELETE FROM poll_state").run();
        const insert = this.stmt(
          `INSERT INTO poll_state
             (alert_id, state, enabled, snoozed_until_ms, last_checked_at_ms, shown_print, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
        );
        for (const r of records) {
          insert.run(
            r.alertId,
            r.state,
            r.enabled ? 1 : 0,
            r.snoozedUntilMs,
            r.lastCheckedAtMs,
            r.shownPrint,
            now,
          );
        }
        this.stmt(
          "INSERT INTO meta (key, value) VALUES ('poll_baseline_at', ?) ON CONFLICT (key) DO NOTHING",
        ).run(String(now));
      })
      .immediate();
  }

  /**
   * A change to an alert's settings made from Slack, already redrawn: the poller's memory takes
   * its print, so the next poll does not take it for an edit in PostHog and redraw again.
   */
  private noteShownPrint(alertId: string, print: string): void {
    this.stmt("UPDATE poll_state SET shown_print = ? WHERE alert_id = ?").run(print, alertId);
  }

  /** Whether the poller has recorded a first look at PostHog (so it knows what "changed" means). */
  hasPollBaseline(): boolean {
    return this.stmt("SELECT 1 FROM meta WHERE key = 'poll_baseline_at'").get() !== undefined;
  }

  // ---- housekeeping -------------------------------------------------------

  /**
   * Deletes finished history older than `before` (epoch ms): notifications
   * whose deliveries are all sent or failed, and closed episodes. Waiting
   * and unrouted work is never deleted.
   */
  prune(before: number): { notifications: number; episodes: number } {
    return this.db
      .transaction(() => {
        const done = `SELECT id FROM notifications WHERE received_at < ? AND routed = 1 AND NOT EXISTS
          (SELECT 1 FROM deliveries d WHERE d.notification_id = notifications.id
             AND d.status IN ('pending', 'sending', 'unrouted'))`;
        this.stmt(`DELETE FROM deliveries WHERE notification_id IN (${done})`).run(before);
        const notifications = this.stmt(`DELETE FROM notifications WHERE id IN (${done})`).run(
          before,
        ).changes;
        const episodes = this.stmt("DELETE FROM episodes WHERE status != 'firing' AND closed_at < ?").run(
          before,
        ).changes;
        return { notifications, episodes };
      })
      .immediate();
  }
}
