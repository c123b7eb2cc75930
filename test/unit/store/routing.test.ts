import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { openStore, parsePayload, type Store } from "../../../src/store/store.js";

const ALERT = "0192c0de-7a1b-7c3e-9d2f-4b5a6c7d8e9f";

describe("routing reads and writes", () => {
  let store: Store;
  beforeEach(() => {
    store = openStore(":memory:", { now: () => 1000 });
  });
  afterEach(() => store.close());

  it("reads only what routing needs of the unrouted notifications, oldest first", () => {
    const a = store.enqueueFiring({ source: "webhook", eventUuid: "a", alertId: ALERT, channelHint: "C1" });
    const b = store.enqueueRefresh({ alertId: ALERT, source: "poll" });
    const c = store.enqueueNotice("C2", "deliveries to #x are failing");
    expect(store.unroutedForRouting()).toEqual([
      { id: a.id, kind: "firing", alertId: ALERT, channelHint: "C1" },
      { id: b.id, kind: "refresh", alertId: ALERT, channelHint: null },
      { id: c.id, kind: "notice", alertId: "", channelHint: "C2" },
    ]);
    expect(store.unroutedForRouting(1)).toHaveLength(1);
    store.routeNotifications([{ id: a.id, channels: ["C1"] }]);
    expect(store.unroutedForRouting().map((n) => n.id)).toEqual([b.id, c.id]);
  });

  it("refuses a row whose routing columns are not what the bot writes", () => {
    store.db
      .prepare(
        `INSERT INTO notifications (kind, source, alert_id, channel_hint, payload, received_at)
           VALUES ('firing', 'webhook', x'2a', NULL, '{}', 0)`,
      )
      .run();
    expect(() => store.unroutedForRouting()).toThrow(/unexpected shape/);
  });

  it("routes a batch in one transaction: pending per distinct channel, unrouted, or nothing", () => {
    const ids = ["a", "b", "c"].map(
      (uuid) => store.enqueueFiring({ source: "webhook", eventUuid: uuid, alertId: ALERT }).id,
    );
    const [a, b, c] = ids as [number, number, number];
    store.routeNotifications([
      { id: a, channels: ["C1", "C2", "C1"] },
      { id: b, channels: null },
      { id: c, channels: [] },
    ]);
    expect(store.deliveriesFor(a).map((d) => [d.channel, d.status])).toEqual([
      ["C1", "pending"],
      ["C2", "pending"],
    ]);
    expect(store.deliveriesFor(b)).toMatchObject([{ channel: null, status: "unrouted" }]);
    expect(store.deliveriesFor(c)).toEqual([]);
    expect(store.unroutedForRouting()).toEqual([]);
    expect(store.deliveriesFor(a)[0]).toMatchObject({ nextAttemptAt: 0, attempts: 0 });
  });

  it("stores nothing of a batch when one of it fails", () => {
    const a = store.enqueueFiring({ source: "webhook", eventUuid: "a", alertId: ALERT }).id;
    const b = store.enqueueFiring({ source: "webhook", eventUuid: "b", alertId: ALERT }).id;
    store.db.exec(
      `CREATE TRIGGER fail_route BEFORE INSERT ON deliveries WHEN NEW.channel = 'CBROKEN'
         BEGIN SELECT RAISE(ABORT, 'disk full'); END`,
    );
    expect(() =>
      store.routeNotifications([
        { id: a, channels: ["C1"] },
        { id: b, channels: ["CBROKEN"] },
      ]),
    ).toThrow(/disk full/);
    expect(store.deliveriesFor(a)).toEqual([]);
    expect(store.unroutedForRouting().map((n) => n.id)).toEqual([a, b]);
    // The transaction is made once and reused after a failure.
    store.routeNotification(a, ["C1"]);
    expect(store.deliveriesFor(a)).toHaveLength(1);
  });
});

describe("stored payloads", () => {
  // The schema the payload used to be read with; the hand-written check must agree with it.
  const nullable = <T extends z.ZodType>(t: T) => t.nullable().catch(null);
  const schema = z.object({
    alertName: nullable(z.string()),
    insightName: nullable(z.string()),
    insightShortId: nullable(z.string()),
    breaches: nullable(z.string()),
    lastCheckedAt: nullable(z.string()),
    value: nullable(z.number()),
    state: nullable(z.string()),
    reason: nullable(z.string()),
    text: nullable(z.string()),
  });
  const EMPTY = {
    alertName: null,
    insightName: null,
    insightShortId: null,
    breaches: null,
    lastCheckedAt: null,
    value: null,
    state: null,
    reason: null,
    text: null,
  };
  const reference = (json: string) => {
    let raw: unknown = {};
    try {
      raw = JSON.parse(json);
    } catch {
      // an empty payload
    }
    const parsed = schema.safeParse(raw ?? {});
    return parsed.success ? parsed.data : EMPTY;
  };
  const field = fc.oneof(
    fc.string(),
    fc.double(),
    fc.integer(),
    fc.constant(null),
    fc.boolean(),
    fc.array(fc.string(), { maxLength: 2 }),
    fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }),
  );
  const keys = Object.keys(EMPTY);

  it("reads every field as the schema did: right type kept, anything else null", () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.oneof(fc.constantFrom(...keys), fc.string()), field, { maxKeys: 12 }),
        (payload) => {
          const json = JSON.stringify(payload);
          expect(parsePayload(json)).toEqual(reference(json));
        },
      ),
      { numRuns: 500 },
    );
  });

  it("reads a payload that is not a JSON object as empty", () => {
    for (const json of ["", "not json", "null", "42", '"text"', "[1,2]", '[{"alertName":"x"}]']) {
      expect(parsePayload(json)).toEqual(EMPTY);
      expect(reference(json)).toEqual(EMPTY);
    }
  });
});
