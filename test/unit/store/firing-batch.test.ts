import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FiringInput, openStore, type Store } from "../../../src/store/store.js";

const ALERT = "0192c0de-7a1b-7c3e-9d2f-4b5a6c7d8e9f";

function firing(overrides: Partial<FiringInput> = {}): FiringInput {
  return {
    source: "webhook",
    eventUuid: "u1",
    alertId: ALERT,
    alertName: "Signups dropped",
    lastCheckedAt: "2025-06-02T01:00:00Z",
    ...overrides,
  };
}

/** Every firing row, in id order, with what dedup and delivery depend on. */
function rows(store: Store) {
  return store.db
    .prepare(
      `SELECT id, source, event_uuid, alert_id, checked_at_ms, channel_hint, is_test, payload, received_at
         FROM notifications WHERE kind = 'firing' ORDER BY id`,
    )
    .all();
}

/** Makes every insert of a firing for `alertId` fail, as a full disk would, from inside the transaction. */
function failInsertsFor(store: Store, alertId: string): void {
  store.db.exec(
    `CREATE TRIGGER fail_insert BEFORE INSERT ON notifications WHEN NEW.alert_id = '${alertId}'
       BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`,
  );
}

describe("Store.enqueueFirings", () => {
  let store: Store;
  let t: number;
  beforeEach(() => {
    t = Date.UTC(2025, 5, 2, 12);
    store = openStore(":memory:", { now: () => t });
  });
  afterEach(() => store.close());

  it("stores each firing and answers for each, in order", () => {
    const results = store.enqueueFirings([
      firing({ eventUuid: "a", lastCheckedAt: "2025-06-02T01:00:00Z" }),
      firing({ eventUuid: "b", lastCheckedAt: "2025-06-02T02:00:00Z", channelHint: "C0123ABCDEF" }),
      firing({ eventUuid: "c", alertId: "other", isTest: true }),
    ]);
    expect(results.map((r) => r.duplicate)).toEqual([false, false, false]);
    const [a, b, c] = results.map((r) => store.getNotification(r.id));
    expect(a).toMatchObject({ eventUuid: "a", alertId: ALERT, checkedAtMs: Date.UTC(2025, 5, 2, 1) });
    expect(b).toMatchObject({ eventUuid: "b", channelHint: "C0123ABCDEF", receivedAt: t });
    expect(c).toMatchObject({ eventUuid: "c", alertId: "other", isTest: true });
    expect(a?.payload.alertName).toBe("Signups dropped");
    expect(new Set(results.map((r) => r.id)).size).toBe(3);
  });

  it("answers a duplicate inside the batch as sequential inserts would: first accepted, then duplicate", () => {
    const results = store.enqueueFirings([
      firing({ eventUuid: "same" }),
      firing({ eventUuid: "same" }),
      // The same check under another uuid (and another spelling of the time).
      firing({ eventUuid: "other", lastCheckedAt: "2025-06-02T01:00:00.000+00:00" }),
      firing({ eventUuid: "third", lastCheckedAt: "2025-06-02T03:00:00Z" }),
    ]);
    const first = results[0]?.id;
    expect(results).toEqual([
      { id: first, duplicate: false },
      { id: first, duplicate: true },
      { id: first, duplicate: true },
      { id: expect.any(Number), duplicate: false },
    ]);
    expect(rows(store)).toHaveLength(2);
  });

  it("finds duplicates of firings stored by earlier batches and by enqueueFiring", () => {
    const earlier = store.enqueueFiring(firing({ eventUuid: "e1" }));
    const [again, fresh] = store.enqueueFirings([
      firing({ eventUuid: "e1" }),
      firing({ eventUuid: "e2", lastCheckedAt: "2025-06-02T05:00:00Z" }),
    ]);
    expect(again).toEqual({ id: earlier.id, duplicate: true });
    expect(fresh?.duplicate).toBe(false);
    expect(store.enqueueFiring(firing({ eventUuid: "e2" }))).toEqual({ id: fresh?.id, duplicate: true });
  });

  it("stores none of the batch when one firing fails, throws, and keeps working afterwards", () => {
    const before = store.enqueueFiring(firing({ eventUuid: "kept" }));
    failInsertsFor(store, "boom");
    expect(() =>
      store.enqueueFirings([
        firing({ eventUuid: "x1", lastCheckedAt: "2025-06-02T06:00:00Z" }),
        firing({ eventUuid: "x2", alertId: "boom" }),
        firing({ eventUuid: "x3", lastCheckedAt: "2025-06-02T07:00:00Z" }),
      ]),
    ).toThrow(/disk is full/);
    expect(store.db.inTransaction).toBe(false);
    expect(rows(store).map((r) => (r as { event_uuid: string }).event_uuid)).toEqual(["kept"]);
    // Nothing of the failed batch counts as seen: sent again, each is new.
    const retried = store.enqueueFirings([
      firing({ eventUuid: "x1", lastCheckedAt: "2025-06-02T06:00:00Z" }),
      firing({ eventUuid: "x3", lastCheckedAt: "2025-06-02T07:00:00Z" }),
    ]);
    expect(retried.map((r) => r.duplicate)).toEqual([false, false]);
    expect(retried.every((r) => r.id > before.id)).toBe(true);
  });

  it("refuses a firing without an alert id, storing nothing of its batch", () => {
    expect(() => store.enqueueFirings([firing({ eventUuid: "ok" }), firing({ alertId: "" })])).toThrow(
      /alert id/,
    );
    expect(rows(store)).toHaveLength(0);
  });

  it("does nothing for an empty batch", () => {
    expect(store.enqueueFirings([])).toEqual([]);
    expect(rows(store)).toHaveLength(0);
  });

  it("gives the same answers and rows as one enqueueFiring after another, for any mix of repeats", () => {
    const event = fc.record({
      eventUuid: fc.option(fc.constantFrom("u1", "u2", "u3", "u4"), { nil: null }),
      alertId: fc.constantFrom("a1", "a2"),
      lastCheckedAt: fc.option(
        fc.constantFrom("2025-06-02T01:00:00Z", "2025-06-02T01:00:00.000+00:00", "2025-06-02T02:00:00Z"),
        { nil: null },
      ),
      isTest: fc.boolean(),
      source: fc.constantFrom("webhook" as const, "poll" as const),
    });
    fc.assert(
      fc.property(fc.array(event, { maxLength: 12 }), fc.array(event, { maxLength: 4 }), (batch, before) => {
        const one = openStore(":memory:", { now: () => t });
        const all = openStore(":memory:", { now: () => t });
        try {
          for (const input of before) {
            one.enqueueFiring(input);
            all.enqueueFiring(input);
          }
          const sequential = batch.map((input) => one.enqueueFiring(input));
          expect(all.enqueueFirings(batch)).toEqual(sequential);
          expect(rows(all)).toEqual(rows(one));
        } finally {
          one.close();
          all.close();
        }
      }),
      { numRuns: 150 },
    );
  });
});
