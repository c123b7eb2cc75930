/**
 * Group commit in the webhook: requests whose bodies arrive in one turn of
 * the event loop are stored in one transaction and answered after it
 * commits. The requests are written on already-open keep-alive connections
 * in one synchronous loop, so the server reads them all in one turn.
 */
import { createServer, type Server } from "node:http";
import { type AddressInfo, connect, type Socket } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createFiringBatcher, createWebhookHandler } from "../../../src/notifications/webhook.js";
import { type FiringInput, openStore, type Store } from "../../../src/store/store.js";
import { memoryLogger } from "./support.js";

const SECRET = "s3cret-webhook-token-0123456789";
const ALERT = "0192c0de-7a1b-7c3e-9d2f-4b5a6c7d8e9f";

function body(uuid: string, checkedAt: string, alertId = ALERT): string {
  return JSON.stringify({
    event: {
      uuid,
      event: "$insight_alert_firing",
      properties: { alert_id: alertId, alert_name: "Signups dropped", last_checked_at: checkedAt },
    },
    person: null,
  });
}

const checkAt = (minute: number) => `2025-06-02T01:${String(minute).padStart(2, "0")}:00Z`;

interface Answer {
  status: number;
  headers: Record<string, string>;
  json: Record<string, unknown>;
}

/** One keep-alive HTTP/1.1 connection that reads one response per request written. */
class Connection {
  private buffer = "";
  private waiting: Array<(answer: Answer) => void> = [];

  private constructor(private readonly socket: Socket) {
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      this.buffer += chunk;
      this.drain();
    });
  }

  static open(port: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, "127.0.0.1", () => resolve(new Connection(socket)));
      socket.once("error", reject);
    });
  }

  /** Writes the request now (synchronously) and resolves with its response. */
  send(json: string, path = "/posthog/webhook"): Promise<Answer> {
    const answer = new Promise<Answer>((resolve) => this.waiting.push(resolve));
    this.socket.write(
      `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${SECRET}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`,
    );
    return answer;
  }

  close(): void {
    this.socket.destroy();
  }

  private drain(): void {
    for (;;) {
      const end = this.buffer.indexOf("\r\n\r\n");
      if (end < 0) return;
      const [statusLine = "", ...lines] = this.buffer.slice(0, end).split("\r\n");
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(":");
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const length = Number(headers["content-length"] ?? 0);
      if (this.buffer.length < end + 4 + length) return;
      const text = this.buffer.slice(end + 4, end + 4 + length);
      this.buffer = this.buffer.slice(end + 4 + length);
      this.waiting.shift()?.({
        status: Number(statusLine.split(" ")[1]),
        headers,
        json: text ? (JSON.parse(text) as Record<string, unknown>) : {},
      });
    }
  }
}

describe("webhook group commit", () => {
  let server: Server;
  let port: number;
  let store: Store;
  let batches: number[];
  let wakes: number;
  let connections: Connection[];
  const logger = memoryLogger();

  async function start(maxBatch?: number) {
    server = createServer(
      createWebhookHandler({
        store: {
          enqueueFirings: (inputs: readonly FiringInput[]) => {
            batches.push(inputs.length);
            return store.enqueueFirings(inputs);
          },
        },
        secret: SECRET,
        logger,
        onAccepted: () => {
          wakes++;
        },
        ...(maxBatch ? { maxBatch } : {}),
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  }

  /** Opens `n` connections and sends one request on each, so the server has them all set up. */
  async function connectAll(n: number) {
    connections = await Promise.all(Array.from({ length: n }, () => Connection.open(port)));
    await Promise.all(connections.map((c, i) => c.send(body(`warm-${i}`, `2025-01-01T00:00:0${i % 10}Z`))));
    batches.length = 0;
    wakes = 0;
  }

  /** Writes one body on each connection in one synchronous loop. */
  function sendTogether(bodies: string[]): Promise<Answer[]> {
    return Promise.all(bodies.map((b, i) => (connections[i] as Connection).send(b)));
  }

  const firingCount = () =>
    (
      store.db
        .prepare("SELECT COUNT(*) AS n FROM notifications WHERE event_uuid NOT LIKE 'warm-%'")
        .get() as {
        n: number;
      }
    ).n;

  beforeEach(() => {
    store = openStore(":memory:");
    batches = [];
    wakes = 0;
    connections = [];
  });

  afterEach(async () => {
    for (const c of connections) c.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    store.close();
  });

  it("stores requests that arrive in one turn in one transaction, each answered 202 with its own id", async () => {
    await start();
    await connectAll(12);
    const answers = await sendTogether(Array.from({ length: 12 }, (_, i) => body(`e-${i}`, checkAt(i))));
    expect(batches).toEqual([12]);
    expect(answers.map((a) => a.status)).toEqual(Array(12).fill(202));
    expect(answers.every((a) => a.json.duplicate === false)).toBe(true);
    const ids = answers.map((a) => a.json.id as number);
    expect(new Set(ids).size).toBe(12);
    // Stored in the order the requests were read.
    expect(ids.map((id) => store.getNotification(id)?.eventUuid)).toEqual(
      Array.from({ length: 12 }, (_, i) => `e-${i}`),
    );
    expect(wakes).toBe(1);
  });

  it("answers a duplicate inside one batch as sequential inserts would", async () => {
    await start();
    await connectAll(4);
    const answers = await sendTogether([
      body("same", checkAt(1)),
      body("same", checkAt(1)),
      body("another-uuid-same-check", "2025-06-02T01:01:00.000+00:00"),
      body("new", checkAt(2)),
    ]);
    expect(batches).toEqual([4]);
    const first = answers[0]?.json.id;
    expect(answers.map((a) => [a.status, a.json.id === first, a.json.duplicate])).toEqual([
      [202, true, false],
      [202, true, true],
      [202, true, true],
      [202, false, false],
    ]);
    expect(firingCount()).toBe(2);
  });

  it("answers 503 with Retry-After to every request of a batch that failed mid-way, and stores none", async () => {
    await start();
    await connectAll(3);
    store.db.exec(
      `CREATE TRIGGER fail_insert BEFORE INSERT ON notifications WHEN NEW.alert_id = 'boom'
         BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`,
    );
    const answers = await sendTogether([
      body("good-1", checkAt(1)),
      body("bad", checkAt(2), "boom"),
      body("good-2", checkAt(3)),
    ]);
    expect(batches).toEqual([3]);
    expect(answers.map((a) => a.status)).toEqual([503, 503, 503]);
    expect(answers.every((a) => a.headers["retry-after"] === "30")).toBe(true);
    expect(firingCount()).toBe(0);
    expect(wakes).toBe(0);
    expect(JSON.stringify(logger.entries)).toContain("disk is full");

    // PostHog's retry of a refused event is a new event, not a duplicate.
    const retry = await sendTogether([body("good-1", checkAt(1))]);
    expect(retry[0]).toMatchObject({ status: 202, json: { duplicate: false } });
    expect(firingCount()).toBe(1);
  });

  it("splits a turn with more than maxBatch requests into several transactions", async () => {
    await start(4);
    await connectAll(10);
    const answers = await sendTogether(Array.from({ length: 10 }, (_, i) => body(`m-${i}`, checkAt(i))));
    expect(batches).toEqual([4, 4, 2]);
    expect(answers.every((a) => a.status === 202 && a.json.duplicate === false)).toBe(true);
    expect(firingCount()).toBe(10);
  });

  it("does not wake the worker for a batch of duplicates only", async () => {
    await start();
    await connectAll(2);
    await sendTogether([body("d", checkAt(1))]);
    expect(wakes).toBe(1);
    const again = await sendTogether([body("d", checkAt(1)), body("d", checkAt(1))]);
    expect(again.map((a) => a.json.duplicate)).toEqual([true, true]);
    expect(wakes).toBe(1);
  });

  it("mixes refused bodies into a batch without touching the others", async () => {
    await start();
    await connectAll(3);
    const answers = await sendTogether([body("v1", checkAt(1)), '{"event": ', body("v2", checkAt(2))]);
    expect(answers.map((a) => a.status)).toEqual([202, 400, 202]);
    expect(batches).toEqual([2]);
  });
});

describe("createFiringBatcher", () => {
  const input = (eventUuid: string): FiringInput => ({ source: "webhook", eventUuid, alertId: ALERT });

  it("settles every submission of a turn from one store call, and reports it once", async () => {
    const calls: string[][] = [];
    const reports: number[] = [];
    const submit = createFiringBatcher(
      {
        enqueueFirings: (inputs) => {
          calls.push(inputs.map((i) => i.eventUuid ?? ""));
          return inputs.map((_, i) => ({ id: i + 1, duplicate: false }));
        },
      },
      100,
      (batch) => reports.push(batch.length),
    );
    const outcomes = await Promise.all([submit(input("a")), submit(input("b")), submit(input("c"))]);
    expect(calls).toEqual([["a", "b", "c"]]);
    expect(reports).toEqual([3]);
    expect(outcomes).toEqual([1, 2, 3].map((id) => ({ ok: true, result: { id, duplicate: false } })));
  });

  it("fails every submission of the batch when the store throws, and survives a failing report", async () => {
    const error = new Error("SQLITE_BUSY: database is locked");
    const submit = createFiringBatcher(
      {
        enqueueFirings: () => {
          throw error;
        },
      },
      100,
      () => {
        throw new Error("the logger broke");
      },
    );
    const outcomes = await Promise.all([submit(input("a")), submit(input("b"))]);
    expect(outcomes).toEqual([
      { ok: false, error },
      { ok: false, error },
    ]);
  });

  it("treats a store answer of the wrong length as a failure of the whole batch", async () => {
    const submit = createFiringBatcher(
      { enqueueFirings: () => [{ id: 1, duplicate: false }] },
      100,
      () => {},
    );
    const outcomes = await Promise.all([submit(input("a")), submit(input("b"))]);
    expect(outcomes.map((o) => o.ok)).toEqual([false, false]);
  });
});
