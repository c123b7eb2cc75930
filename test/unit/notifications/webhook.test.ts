import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { bearerMatches, createWebhookHandler, nestedDeeperThan } from "../../../src/notifications/webhook.js";
import { openStore, type Store } from "../../../src/store/store.js";
import { memoryLogger } from "./support.js";

const SECRET = "s3cret-webhook-token-0123456789";

function firingBody(overrides: Record<string, unknown> = {}, props: Record<string, unknown> = {}) {
  return {
    event: {
      uuid: "5f0c2a9e-8b1d-4c3e-9f70-1a2b3c4d5e6f",
      event: "$insight_alert_firing",
      elements_chain: "",
      distinct_id: "team_12345",
      properties: {
        alert_id: "0192c0de-7a1b-7c3e-9d2f-4b5a6c7d8e9f",
        alert_name: "Signups dropped",
        insight_name: "Daily signups",
        insight_id: "AaVQ8Ijw",
        state: "Firing",
        last_checked_at: "2025-06-02T01:00:12.345678+00:00",
        breaches: "The insight value (signed_up) for previous day (42) is less than lower threshold (100)",
        ...props,
      },
      timestamp: "2025-06-02T01:00:13.001234",
      url: "",
      ...overrides,
    },
    person: null,
  };
}

interface Sent {
  status: number;
  headers: Headers;
  json: Record<string, unknown>;
}

describe("PostHog webhook handler", () => {
  let server: Server;
  let base: string;
  let store: Store;
  let storeForHandler: Pick<Store, "enqueueFirings">;
  let accepted: number;
  let secret: string | undefined;
  const logger = memoryLogger();

  beforeEach(async () => {
    store = openStore(":memory:");
    storeForHandler = store;
    accepted = 0;
    secret = SECRET;
    server = createServer((req, res) => {
      // Made per request so a test can change `secret`; batching across requests has its own tests.
      const handler = createWebhookHandler({
        store: { enqueueFirings: (inputs) => storeForHandler.enqueueFirings(inputs) },
        secret,
        logger,
        onAccepted: () => {
          accepted++;
        },
      });
      void handler(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/posthog/webhook`;
  });

  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    store.close();
  });

  async function send(
    body: unknown,
    init: { headers?: Record<string, string>; method?: string; query?: string; raw?: string } = {},
  ): Promise<Sent> {
    const response = await fetch(`${base}${init.query ?? ""}`, {
      method: init.method ?? "POST",
      headers: { Authorization: `Bearer ${SECRET}`, "Content-Type": "application/json", ...init.headers },
      body: init.method === "GET" ? undefined : (init.raw ?? JSON.stringify(body)),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, json: text ? JSON.parse(text) : {} };
  }

  it("accepts PostHog's default body with 202 once stored", async () => {
    const res = await send(firingBody());
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ accepted: true, id: expect.any(Number), duplicate: false });
    const stored = store.getNotification(res.json.id as number);
    expect(stored).toMatchObject({
      kind: "firing",
      source: "webhook",
      eventUuid: "5f0c2a9e-8b1d-4c3e-9f70-1a2b3c4d5e6f",
      alertId: "0192c0de-7a1b-7c3e-9d2f-4b5a6c7d8e9f",
      checkedAtMs: Date.UTC(2025, 5, 2, 1, 0, 12, 345),
      isTest: false,
      channelHint: null,
    });
    expect(stored?.payload).toMatchObject({
      alertName: "Signups dropped",
      insightName: "Daily signups",
      insightShortId: "AaVQ8Ijw",
      breaches: expect.stringContaining("lower threshold (100)"),
    });
    expect(accepted).toBe(1);
  });

  it("answers a redelivery, or the same check under another uuid, as a duplicate", async () => {
    const first = await send(firingBody());
    const again = await send(firingBody());
    expect(again.status).toBe(202);
    expect(again.json).toEqual({ accepted: true, id: first.json.id, duplicate: true });
    const sameCheck = await send(
      firingBody({ uuid: "another" }, { last_checked_at: "2025-06-02T01:00:12.345678Z" }),
    );
    expect(sameCheck.json).toMatchObject({ id: first.json.id, duplicate: true });
    expect(accepted).toBe(1);
  });

  it("wakes the worker for a duplicate that brought the breach text a posted message lacked", async () => {
    const checkedAt = "2025-06-02T01:00:12.345678Z";
    const alertId = "0192c0de-7a1b-7c3e-9d2f-4b5a6c7d8e9f";
    const poll = store.enqueueFiring({ source: "poll", alertId, lastCheckedAt: checkedAt });
    store.routeNotification(poll.id, ["C1"]);
    const job = store.claimDelivery(store.deliveriesFor(poll.id)[0]!.id)!;
    store.completeOpened(job.delivery.id, {
      alertId,
      channel: "C1",
      ts: "1.0001",
      snapshot: {
        alertName: "Signups dropped",
        insightName: null,
        insightShortId: null,
        breaches: null,
        latestValue: 42,
        latestCheckedAt: checkedAt,
        details: { threshold: null, condition: null, frequency: null, recentValues: [] },
        snoozedUntil: null,
        enabled: true,
      },
    });
    const res = await send(firingBody());
    expect(res.json).toEqual({ accepted: true, id: poll.id, duplicate: true });
    expect(accepted).toBe(1);
    expect(store.openEpisode(alertId, "C1")?.breaches).toContain("lower threshold (100)");
    // A second copy adds nothing, so it wakes nothing.
    await send(firingBody({ uuid: "another" }));
    expect(accepted).toBe(1);
  });

  it("accepts the bare event object and text/plain JSON", async () => {
    const bare = firingBody().event;
    const res = await send(bare, { headers: { "Content-Type": "text/plain; charset=utf-8" } });
    expect(res.status).toBe(202);
    expect(res.json.duplicate).toBe(false);
  });

  it("marks PostHog test deliveries", async () => {
    const res = await send(firingBody({}, { is_test: true }));
    expect(res.status).toBe(202);
    expect(res.json.test).toBe(true);
    expect(store.getNotification(res.json.id as number)?.isTest).toBe(true);
  });

  it("keeps a valid ?channel= hint and rejects a malformed one", async () => {
    const ok = await send(firingBody(), { query: "?channel=C0123ABCDEF" });
    expect(ok.status).toBe(202);
    expect(store.getNotification(ok.json.id as number)?.channelHint).toBe("C0123ABCDEF");
    const bad = await send(firingBody({ uuid: "x2" }), { query: "?channel=%3C!channel%3E" });
    expect(bad.status).toBe(422);
    expect(bad.json.error).toMatch(/channel/);
  });

  it("rejects a missing or wrong secret with 401", async () => {
    const missing = await send(firingBody(), { headers: { Authorization: "" } });
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toBe("Bearer");
    expect(missing.json.error).toMatch(/Bearer/);
    expect((await send(firingBody(), { headers: { Authorization: "Bearer wrong" } })).status).toBe(401);
    expect((await send(firingBody(), { headers: { Authorization: `Basic ${SECRET}` } })).status).toBe(401);
    expect((await send(firingBody(), { headers: { Authorization: `Bearer ${SECRET}x` } })).status).toBe(401);
    expect(store.pendingCount()).toBe(0);
    expect(JSON.stringify(logger.entries)).not.toContain(SECRET);
  });

  it("answers 404 with a hint when no secret is configured", async () => {
    secret = undefined;
    const res = await send(firingBody());
    expect(res.status).toBe(404);
    expect(res.json.error).toMatch(/WEBHOOK_SECRET/);
  });

  it("answers 405 to other methods", async () => {
    const res = await send(null, { method: "GET" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST");
  });

  it("answers 415 to form posts", async () => {
    const res = await send(null, {
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      raw: "a=1",
    });
    expect(res.status).toBe(415);
  });

  it("answers 400 to malformed JSON", async () => {
    const res = await send(null, { raw: '{"event": ' });
    expect(res.status).toBe(400);
    expect(res.json.error).toBe("The body is not valid JSON.");
  });

  it("answers 422 naming what is missing or wrong", async () => {
    const cases: Array<[unknown, RegExp]> = [
      [[1, 2], /JSON object/],
      [{ person: null }, /^event is missing/],
      [firingBody({ event: undefined }), /event\.event is missing/],
      [firingBody({ event: "$pageview" }), /only \$insight_alert_firing/],
      [firingBody({ properties: undefined }), /event\.properties is missing/],
      [firingBody({}, { alert_id: undefined }), /^event\.properties\.alert_id is missing\.$/],
      [firingBody({}, { alert_id: 42 }), /alert_id must be a string/],
      [firingBody({}, { last_checked_at: 17 }), /last_checked_at/],
      [firingBody({ uuid: { x: 1 } }), /uuid must be a string/],
    ];
    for (const [body, error] of cases) {
      const res = await send(body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.json.error).toMatch(error);
    }
    expect(store.pendingCount()).toBe(0);
  });

  it("rejects JSON nested too deeply", async () => {
    const raw = `${"[".repeat(100)}${"]".repeat(100)}`;
    const res = await send(null, { raw });
    expect(res.status).toBe(422);
    expect(res.json.error).toMatch(/nested deeper/);
  });

  it("answers 413 to bodies over 1 MB, declared or streamed", async () => {
    const big = JSON.stringify(firingBody({}, { breaches: "x".repeat(1024 * 1024) }));
    const declared = await send(null, { raw: big });
    expect(declared.status).toBe(413);

    // Chunked upload without Content-Length: the handler stops keeping data past the limit.
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        base,
        {
          method: "POST",
          headers: { Authorization: `Bearer ${SECRET}`, "Content-Type": "application/json" },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      const chunk = "x".repeat(64 * 1024);
      let sent = 0;
      const pump = () => {
        while (sent < 40) {
          sent++;
          if (!req.write(chunk)) {
            req.once("drain", pump);
            return;
          }
        }
        req.end();
      };
      pump();
    });
    expect(status).toBe(413);
    expect(store.pendingCount()).toBe(0);
  });

  it("answers 503 with Retry-After when the store cannot write", async () => {
    storeForHandler = {
      enqueueFirings: () => {
        throw Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" });
      },
    };
    const res = await send(firingBody());
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("30");
    expect(accepted).toBe(0);
  });
});

describe("webhook helpers", () => {
  it("compares the bearer secret exactly", () => {
    expect(bearerMatches(`Bearer ${SECRET}`, SECRET)).toBe(true);
    expect(bearerMatches(`bearer   ${SECRET}`, SECRET)).toBe(true);
    expect(bearerMatches(undefined, SECRET)).toBe(false);
    expect(bearerMatches("Bearer ", SECRET)).toBe(false);
    expect(bearerMatches(`Bearer ${SECRET.slice(0, -1)}`, SECRET)).toBe(false);
  });

  it("measures nesting depth without recursion", () => {
    expect(nestedDeeperThan({ a: { b: [1] } }, 3)).toBe(false);
    expect(nestedDeeperThan({ a: { b: [1] } }, 2)).toBe(true);
    expect(nestedDeeperThan("flat", 1)).toBe(false);
    let deep: unknown = [];
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(nestedDeeperThan(deep, 64)).toBe(true);
  });
});
