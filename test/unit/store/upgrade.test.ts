import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MIGRATIONS } from "../../../src/store/migrations.js";
import { openStore } from "../../../src/store/store.js";

const ALERT = "0192c0de-7a1b-7c3e-9d2f-4b5a6c7d8e9f";

/** A database as the first released schema left it, with one delivery in flight. */
function firstSchemaDatabase(path: string): void {
  const raw = new Database(path);
  raw.exec(MIGRATIONS[0] ?? "");
  raw.pragma("user_version = 1");
  raw
    .prepare(
      `INSERT INTO notifications (id, kind, source, alert_id, payload, received_at, routed)
       VALUES (1, 'firing', 'webhook', ?, '{}', 1000, 1)`,
    )
    .run(ALERT);
  raw
    .prepare(
      `INSERT INTO deliveries (id, notification_id, channel, status, attempts, created_at, updated_at)
       VALUES (7, 1, 'C1', 'sending', 1, 1000, 2000)`,
    )
    .run();
  raw.close();
}

describe("upgrading a database from the first schema", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "store-upgrade-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("keeps its deliveries, gains an instance id, and marks a delivery left in flight as unsure", () => {
    const path = join(dir, "bot.db");
    firstSchemaDatabase(path);
    const store = openStore(path, { now: () => 5000 });
    try {
      expect(store.db.pragma("user_version", { simple: true })).toBe(MIGRATIONS.length);
      expect(store.instanceId()).toMatch(/^[0-9a-f]{16}$/);
      expect(store.getDelivery(7)).toMatchObject({ status: "sending", unsureSince: null });
      expect(store.requeueInterrupted()).toBe(1);
      // Unsure since its claim (the last update before the call), not since the restart.
      expect(store.getDelivery(7)).toMatchObject({ status: "pending", unsureSince: 2000 });
    } finally {
      store.close();
    }
  });

  it("gives each database its own instance id and keeps it across reopening", () => {
    const a = openStore(join(dir, "a.db"));
    const b = openStore(join(dir, "b.db"));
    const idA = a.instanceId();
    expect(idA).not.toBe(b.instanceId());
    a.close();
    b.close();
    const again = openStore(join(dir, "a.db"));
    expect(again.instanceId()).toBe(idA);
    again.close();
  });

  it("keeps the first unsure time when an unsure delivery fails again", () => {
    let now = 10_000;
    const store = openStore(":memory:", { now: () => now });
    try {
      const { id } = store.enqueueFiring({ source: "webhook", eventUuid: "u1", alertId: ALERT });
      store.routeNotification(id, ["C1"]);
      const deliveryId = store.deliveriesFor(id)[0]?.id ?? 0;
      store.claimDelivery(deliveryId);
      now = 11_000;
      store.reschedule(deliveryId, 12_000, "http_503", true);
      expect(store.getDelivery(deliveryId)?.unsureSince).toBe(10_000);
      now = 12_000;
      store.claimDelivery(deliveryId);
      now = 13_000;
      store.reschedule(deliveryId, 14_000, "request_error", true);
      expect(store.getDelivery(deliveryId)?.unsureSince).toBe(10_000);
      // A failure that proves nothing was posted leaves the mark as it was.
      store.claimDelivery(deliveryId);
      store.reschedule(deliveryId, 15_000, "ratelimited");
      expect(store.getDelivery(deliveryId)?.unsureSince).toBe(10_000);
    } finally {
      store.close();
    }
  });
});

describe("upgrading a database from before redraws could go ahead", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "store-upgrade-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("lets a redraw that was waiting in the queue go ahead of the posts before it", () => {
    const path = join(dir, "bot.db");
    const raw = new Database(path);
    for (const step of MIGRATIONS.slice(0, 3)) raw.exec(step);
    raw.pragma("user_version = 3");
    const insertNotification = raw.prepare(
      `INSERT INTO notifications (id, kind, source, alert_id, payload, received_at, routed)
       VALUES (?, ?, 'webhook', ?, '{}', 1000, 1)`,
    );
    const insertDelivery = raw.prepare(
      `INSERT INTO deliveries (id, notification_id, channel, status, created_at, updated_at)
       VALUES (?, ?, 'C1', ?, 1000, 1000)`,
    );
    insertNotification.run(1, "firing", ALERT);
    insertDelivery.run(1, 1, "sent");
    raw
      .prepare(
        `INSERT INTO episodes (alert_id, channel, message_ts, status, opened_at)
         VALUES (?, 'C1', '1.0001', 'firing', 1000)`,
      )
      .run(ALERT);
    insertNotification.run(2, "firing", "another-alert");
    insertDelivery.run(2, 2, "pending");
    insertNotification.run(3, "refresh", ALERT);
    insertDelivery.run(3, 3, "pending");
    raw.close();

    const store = openStore(path, { now: () => 5000 });
    try {
      expect(store.channelHeads()).toEqual([{ channel: "C1", deliveryId: 3, nextAttemptAt: 0 }]);
    } finally {
      store.close();
    }
  });
});
