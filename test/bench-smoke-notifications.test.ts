/**
 * Keeps the notification benchmarks runnable: the closed-loop generator's
 * bookkeeping, the burst's counting of lost and duplicated messages, and
 * seconds-long runs of webhook intake, burst delivery and poller cost with
 * tiny sizes, writing to a temporary directory (never to bench/results or
 * BENCHMARKS.md). Needs the built bot (`npm test` builds first).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BurstFigures, type BurstOptions, burstFigures, runBurst } from "../bench/burst.js";
import { type IntakeFigures, p99Above, runIntake } from "../bench/intake.js";
import { ClosedLoopTarget } from "../bench/lib/closed-loop.js";
import { readResults } from "../bench/lib/report.js";
import { type PollCostFigures, runPollCost } from "../bench/poll-cost.js";
import { BLOCK_NOTIFY_CONTROLS_PREFIX } from "../src/blocks/notification.js";
import type { ApiCall } from "./support/fake-slack.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "bench-smoke-notifications-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("the closed-loop generator", () => {
  let server: Server;
  let origin: string;
  let inFlight = 0;
  let maxInFlight = 0;
  let hits = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      hits += 1;
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      req.resume();
      // Every fourth request is refused; each answer takes 20 ms.
      const status = hits % 4 === 0 ? 503 : 202;
      setTimeout(() => {
        inFlight -= 1;
        res.writeHead(status).end("{}");
      }, 20);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it("keeps exactly `concurrency` requests in flight and counts refusals by status", async () => {
    const target = new ClosedLoopTarget(origin, 4);
    try {
      const result = await target.run({
        concurrency: 4,
        durationMs: 10_000,
        maxRequests: 40,
        prepare: (i) => ({ path: `/r/${i}`, headers: { "content-type": "application/json" }, body: "{}" }),
      });
      expect(result.sent).toBe(40);
      expect(result.ok).toBe(30);
      expect(result.errorKinds).toEqual({ http_503: 10 });
      expect(maxInFlight).toBe(4);
      // Closed loop: 40 requests of 20 ms, four at a time, take about 200 ms, not 800 ms or 20 ms.
      expect(result.wallMs).toBeGreaterThan(180);
      expect(result.wallMs).toBeLessThan(2_000);
      expect(result.latency.count).toBe(30);
      expect(result.latency.p50).toBeGreaterThanOrEqual(19);
    } finally {
      await target.close();
    }
  });
});

describe("the burst's bookkeeping", () => {
  const options: BurstOptions = {
    channels: 2,
    perChannel: 2,
    ratePerChannel: 1,
    concurrency: 1,
    graceMs: 0,
    logLevel: "warn",
    resultsDir: null,
  };
  const alerts = [
    { id: "a1", channel: "C0BURST001" },
    { id: "a2", channel: "C0BURST002" },
    { id: "a3", channel: "C0BURST001" },
    { id: "a4", channel: "C0BURST002" },
  ];
  const message = (alertId: string) => ({
    updates: 0,
    blocks: [{ type: "actions", block_id: `${BLOCK_NOTIFY_CONTROLS_PREFIX}${alertId}`, elements: [] }],
  });
  const post = (channel: string, at: number, status = 200): ApiCall => ({
    method: "chat.postMessage",
    args: { channel },
    at,
    ok: status === 200,
    status,
  });
  const figures = (messages: Map<string, ReturnType<typeof message>[]>, calls: ApiCall[]): BurstFigures =>
    burstFigures(options, {
      alerts,
      calls,
      messages,
      start: 0,
      intake: { ok: 4, errorKinds: {}, ms: 10 },
      stored: { webhookFirings: 4, distinctUuids: 4, deliveries: { sent: 4 }, notRouted: 0, episodes: 4 },
      botCpuMs: 1,
      otherCpu: 0,
    });

  it("finds lost, duplicated and misrouted messages and counts 429s per channel", () => {
    const f = figures(
      new Map([
        ["C0BURST001", [message("a1"), message("a1"), message("a2")]],
        ["C0BURST002", [message("a4")]],
      ]),
      [
        post("C0BURST001", 100),
        post("C0BURST001", 900, 429),
        post("C0BURST001", 1_900),
        post("C0BURST001", 2_950),
        post("C0BURST002", 150),
      ],
    );
    expect(f.lost).toBe(1); // a3
    expect(f.duplicated).toBe(1); // a1 twice
    expect(f.misrouted).toBe(1); // a2 in the first channel
    expect(f.rateLimited).toBe(1);
    expect(f.maxRateLimitedPerChannel).toBe(1);
    expect(f.allDeliveredMs).toBeNaN();
    expect(f.perChannelFigures[0]?.minGapMs).toBe(1_050);
  });

  it("times a complete burst against the rate limit's minimum", () => {
    const f = figures(
      new Map([
        ["C0BURST001", [message("a1"), message("a3")]],
        ["C0BURST002", [message("a2"), message("a4")]],
      ]),
      [
        post("C0BURST001", 100),
        post("C0BURST002", 120),
        post("C0BURST001", 1_160),
        post("C0BURST002", 1_200),
      ],
    );
    expect(f).toMatchObject({ lost: 0, duplicated: 0, misrouted: 0, rateLimited: 0 });
    expect(f.firstMessageMs).toBe(100);
    expect(f.minimumMs).toBe(1_100);
    expect(f.pacedMs).toBe(1_150);
    expect(f.allDeliveredMs).toBe(1_200);
  });
});

describe("the notification benchmarks", () => {
  it.concurrent("measures webhook intake of the bot and the do-nothing server, and every 202 is one stored row", async () => {
    const result = await runIntake({
      seconds: 0.6,
      concurrency: 4,
      warmupSeconds: 0,
      logLevel: "warn",
      noChannelRun: true,
      resultsDir: dir,
    });
    const f = result.data as IntakeFigures;
    expect(f.rows.map((r) => r.target)).toEqual(["bot", "null", "bot-no-channel", "null"]);
    for (const row of f.rows) {
      expect(row.errors, JSON.stringify(row.errorKinds)).toBe(0);
      expect(row.accepted).toBeGreaterThan(0);
      expect(row.acceptedPerSecond).toBeGreaterThan(0);
      expect(row.latency.count).toBe(row.accepted);
      expect(row.latency.p99).toBeGreaterThan(0);
      expect(row.latency.p99).toBeLessThan(5_000);
    }
    expect(Number.isFinite(p99Above(f, "bot"))).toBe(true);
    expect(f.checks).toHaveLength(2);
    for (const check of f.checks) {
      expect(check.failed).toBe(0);
      expect(check.stored.webhookFirings).toBe(check.accepted);
      expect(check.stored.distinctUuids).toBe(check.accepted);
    }
    // With ALERTS_CHANNEL unset nothing is deliverable: every delivery waits for a route. A
    // notification the bot had not routed yet when it stopped is routed at its next start.
    const quiet = f.checks.find((c) => c.target === "bot-no-channel");
    expect(Object.keys(quiet?.stored.deliveries ?? {})).toEqual(["unrouted"]);
    expect((quiet?.stored.deliveries.unrouted ?? 0) + (quiet?.stored.notRouted ?? 0)).toBe(quiet?.accepted);
    expect(result.targets.map((t) => t.label)).toHaveLength(3);
    expect(result.targets[2]?.met).toBe(true);
    expect(readResults(dir).some((r) => r.name === "intake")).toBe(true);
  }, 30_000);

  it.concurrent("delivers a small burst across rate-limited channels, each notification exactly once", async () => {
    const result = await runBurst({
      channels: 3,
      perChannel: 3,
      ratePerChannel: 1,
      concurrency: 4,
      graceMs: 300,
      logLevel: "warn",
      resultsDir: dir,
    });
    const f = result.data as BurstFigures;
    expect(f.accepted).toBe(9);
    expect(f).toMatchObject({ lost: 0, duplicated: 0, misrouted: 0, threadReplies: 0, updates: 0 });
    expect(f.perChannelFigures.map((c) => c.messages)).toEqual([3, 3, 3]);
    expect(f.stored.deliveries).toEqual({ sent: 9 });
    expect(f.stored.episodes).toBe(9);
    // The fake enforces one message per second per channel: nothing can beat the minimum.
    expect(f.allDeliveredMs).toBeGreaterThanOrEqual(f.minimumMs - 50);
    expect(f.allDeliveredMs).toBeLessThan(15_000);
    expect(result.targets).toHaveLength(3);
    expect(result.targets[2]?.met).toBe(true);
  }, 30_000);

  it.concurrent("counts PostHog requests and CPU per poll with the fake PostHog in its own process", async () => {
    const result = await runPollCost({
      sizes: [50, 250],
      steadyPolls: 1,
      firingShare: 0.1,
      changeShare: 0.01,
      intervalSeconds: 60,
      resultsDir: dir,
    });
    const f = result.data as PollCostFigures;
    expect(f.sizes.map((s) => [s.alerts, s.requests, s.pages])).toEqual([
      [50, 1, 1],
      [250, 3, 3],
    ]);
    for (const size of f.sizes) {
      expect(size.samples.map((s) => s.kind)).toEqual(["baseline", "steady", "change"]);
      expect(size.cpuMs).toBeGreaterThan(0);
      expect(size.samples.find((s) => s.kind === "steady")?.fired).toBe(0);
      expect(size.samples.find((s) => s.kind === "change")?.fired).toBe(
        Math.max(1, Math.round(size.alerts * 0.01)),
      );
      // Polling every 60 s: one poll's requests per minute.
      expect(size.perMinute).toBe(size.requests);
      expect(size.perHour).toBe(size.requests * 60);
    }
    expect(result.targets[0]?.met).toBe(true);
  }, 30_000);
});
