/**
 * The database schema, as an ordered list of steps. Step N (1-based) brings a
 * database from `PRAGMA user_version = N - 1` to `N`. Steps are only ever
 * appended: a released step is never edited, so every install walks the same
 * path to the same schema.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: the notification pipeline.
  `
  -- One row per accepted event: a firing (webhook or poll), a resolve, a
  -- re-render request, or a notice the bot itself wants to post.
  CREATE TABLE notifications (
    id            INTEGER PRIMARY KEY,
    kind          TEXT    NOT NULL CHECK (kind IN ('firing', 'resolved', 'refresh', 'notice')),
    source        TEXT    NOT NULL,
    event_uuid    TEXT    UNIQUE,
    alert_id      TEXT    NOT NULL,
    checked_at_ms INTEGER,
    channel_hint  TEXT,
    is_test       INTEGER NOT NULL DEFAULT 0,
    payload       TEXT    NOT NULL,
    received_at   INTEGER NOT NULL,
    routed        INTEGER NOT NULL DEFAULT 0
  );
  -- PostHog fires on every check while an alert stays breached; the webhook
  -- and the poller may both report the same check. One row per check.
  CREATE UNIQUE INDEX notifications_check ON notifications (kind, alert_id, checked_at_ms)
    WHERE checked_at_ms IS NOT NULL AND is_test = 0 AND kind IN ('firing', 'resolved');
  CREATE INDEX notifications_unrouted ON notifications (routed, id);
  CREATE INDEX notifications_alert ON notifications (alert_id, kind);

  -- One row per notification and channel.
  CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    notification_id INTEGER NOT NULL REFERENCES notifications (id),
    channel         TEXT,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'unrouted')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    message_ts      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (notification_id, channel)
  );
  CREATE INDEX deliveries_queue ON deliveries (status, channel, id);
  CREATE INDEX deliveries_notification ON deliveries (notification_id);

  -- One Slack message per firing streak of an alert in a channel.
  CREATE TABLE episodes (
    id                INTEGER PRIMARY KEY,
    alert_id          TEXT    NOT NULL,
    channel           TEXT    NOT NULL,
    message_ts        TEXT    NOT NULL,
    status            TEXT    NOT NULL CHECK (status IN ('firing', 'resolved', 'replaced')),
    opened_at         INTEGER NOT NULL,
    closed_at         INTEGER,
    repeat_count      INTEGER NOT NULL DEFAULT 1,
    first_checked_at  TEXT,
    latest_checked_at TEXT,
    latest_checked_ms INTEGER,
    latest_value      REAL,
    breaches          TEXT,
    alert_name        TEXT    NOT NULL DEFAULT '',
    insight_name      TEXT,
    insight_short_id  TEXT,
    details           TEXT    NOT NULL DEFAULT '{}',
    snoozed_until     TEXT,
    snoozed_by        TEXT,
    enabled           INTEGER NOT NULL DEFAULT 1,
    disabled_by       TEXT,
    action_at         INTEGER,
    resolved_note     TEXT
  );
  CREATE UNIQUE INDEX episodes_open ON episodes (alert_id, channel) WHERE status = 'firing';
  CREATE UNIQUE INDEX episodes_message ON episodes (channel, message_ts);

  -- Channels that asked for an alert with /alerts watch.
  CREATE TABLE routes (
    alert_id   TEXT    NOT NULL,
    channel    TEXT    NOT NULL,
    created_by TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (alert_id, channel)
  );
  CREATE INDEX routes_channel ON routes (channel);

  -- What the poller saw last time, per alert.
  CREATE TABLE poll_state (
    alert_id           TEXT PRIMARY KEY,
    state              TEXT    NOT NULL,
    enabled            INTEGER NOT NULL,
    snoozed_until_ms   INTEGER,
    last_checked_at_ms INTEGER,
    updated_at         INTEGER NOT NULL
  );

  -- Permanent delivery failures per channel, for /healthz and for telling
  -- the default channel once per failure streak.
  CREATE TABLE channel_health (
    channel       TEXT PRIMARY KEY,
    failing       INTEGER NOT NULL DEFAULT 0,
    failures      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    last_error_at INTEGER,
    notice_sent   INTEGER NOT NULL DEFAULT 0
  );

  CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  `,
  // 2: posting exactly once. A post whose outcome is unknown (the process
  // stopped mid-call, or the answer was lost) is looked up in the channel
  // before it is made again. Each post carries a key in its message metadata:
  // this database's own id plus the delivery id, so two installs posting in
  // one channel never mistake each other's messages.
  `
  ALTER TABLE deliveries ADD COLUMN unsure_since INTEGER;
  INSERT INTO meta (key, value) VALUES ('instance_id', lower(hex(randomblob(8))))
    ON CONFLICT (key) DO NOTHING;
  `,
  // 3: who undid a snooze or a disable from Slack, so the message can say so
  // ("Unsnoozed by @ann") instead of the line just disappearing.
  `
  ALTER TABLE episodes ADD COLUMN undone TEXT;
  ALTER TABLE episodes ADD COLUMN undone_by TEXT;
  `,
  // 4: a redraw after a click goes ahead of the channel's waiting posts. It
  // redraws the message from what is recorded when it runs, so its place in
  // the queue changes nothing it shows; only its wait does (a click answered
  // about a minute later, after an incident's backlog, is no answer). The flag
  // and the partial index let the queue find a channel's waiting redraws
  // without reading its backlog.
  `
  ALTER TABLE deliveries ADD COLUMN redraw INTEGER NOT NULL DEFAULT 0;
  UPDATE deliveries SET redraw = 1
    WHERE status IN ('pending', 'sending')
      AND notification_id IN (SELECT id FROM notifications WHERE kind = 'refresh');
  CREATE INDEX deliveries_redraws ON deliveries (channel, id) WHERE status = 'pending' AND redraw = 1;
  `,
  // 5: what an alert's message shows of its settings (name, insight, condition,
  // threshold, frequency), as a print in the poller's memory, so an edit made
  // in PostHog redraws the message at the next poll. Null until the next poll
  // after the upgrade records it (a null print is no change).
  `
  ALTER TABLE poll_state ADD COLUMN shown_print TEXT;
  `,
];
