import { existsSync, readdirSync, readFileSync } from "node:fs";
import { getPriority } from "node:os";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PostHogClient, type RequestLogInfo } from "../../../src/posthog/client.js";
import { isPostHogError, PostHogError, USER_MESSAGES } from "../../../src/posthog/errors.js";
import { PostHogThread, THREAD_MESSAGES } from "../../../src/posthog/thread.js";
import {
  answer,
  errorFromData,
  errorToData,
  requestBatcher,
  THREAD_NICENESS,
  type WorkerMessage,
} from "../../../src/posthog/thread-protocol.js";
import { type FakePostHog, startFakePostHog } from "../../support/fake-posthog.js";

// The worker runs compiled JavaScript; `npm test` builds before it runs the tests.
const BUILT_WORKER = new URL("../../../dist/posthog/thread-worker.js", import.meta.url);
const DYING_WORKER = new URL("../../support/dying-worker.mjs", import.meta.url);
const BROKEN_WORKER = new URL("../../support/broken-worker.mjs", import.meta.url);
const STUBBORN_WORKER = new URL("../../support/stubborn-worker.mjs", import.meta.url);
const KEY = "phx_ThreadTestKey0123456789abcdef";

describe("errors crossing the thread", () => {
  it("come back as the PostHogError they were, every field kept", () => {
    const init = {
      code: "rate_limited",
      message: "HTTP 429",
      userMessage: "PostHog is rate limiting the bot; try again in 7 seconds.",
      status: 429,
      attr: null,
      detail: "Request was throttled.",
      posthogCode: "throttled",
      retryAfterSeconds: 7,
      missingScope: "alert:write",
    } as const;
    const back = errorFromData(structuredClone(errorToData(new PostHogError(init))));
    expect(back).toBeInstanceOf(PostHogError);
    expect(back).toMatchObject({ name: "PostHogError", ...init });
    expect((back as PostHogError).retryable).toBe(true);
  });

  it("keep the message and code of anything else, and are not taken for PostHog's", () => {
    const odd = Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
    const back = errorFromData(structuredClone(errorToData(odd)));
    expect(isPostHogError(back)).toBe(false);
    expect(back.message).toBe("socket hang up");
    expect((back as { code?: string }).code).toBe("ECONNRESET");
    expect(errorFromData(errorToData("plain"))).toMatchObject({ message: "plain" });
  });

  it("sends a full listing in parts of a page each, as its pages arrive", async () => {
    const pagesRead: number[] = [];
    const client = {
      async *iterateAlerts() {
        for (let page = 0; page < 3; page++) {
          pagesRead.push(page);
          for (let i = 0; i < (page < 2 ? 100 : 50); i++) yield { id: `a${page * 100 + i}` };
        }
      },
    } as unknown as PostHogClient;
    const parts: Array<{ size: number; pagesReadBefore: number }> = [];
    const reply = await answer(client, { id: 9, method: "listAllAlerts", args: [] }, (m) => {
      if (m.type === "part") parts.push({ size: m.values.length, pagesReadBefore: pagesRead.length });
    });
    // Each part leaves as soon as its page is in, not after the whole listing.
    expect(parts).toEqual([
      { size: 100, pagesReadBefore: 1 },
      { size: 100, pagesReadBefore: 2 },
    ]);
    expect(reply).toMatchObject({ type: "result", id: 9 });
    expect((reply as { value: Array<{ id: string }> }).value.map((a) => a.id)).toEqual(
      Array.from({ length: 50 }, (_, i) => `a${200 + i}`),
    );
  });

  it("refuses a method the client does not offer through the thread", async () => {
    const client = { close: () => Promise.resolve() } as unknown as PostHogClient;
    const reply = await answer(client, { id: 4, method: "close" as never, args: [] });
    expect(reply).toMatchObject({ type: "error", id: 4, error: { kind: "other" } });
  });
});

describe("PostHogThread", () => {
  let fake: FakePostHog;
  let thread: PostHogThread | undefined;
  const seen: RequestLogInfo[] = [];

  beforeEach(async () => {
    fake = await startFakePostHog({ apiKey: KEY, projectId: 7 });
    seen.length = 0;
  });
  afterEach(async () => {
    await thread?.close();
    thread = undefined;
    await fake.close();
  });

  const settings = () => ({ host: fake.url, apiKey: KEY, projectId: "7" });

  it("has a built worker to run", () => {
    expect(existsSync(BUILT_WORKER)).toBe(true);
  });

  it("starts once its worker has loaded, and says so when it cannot", async () => {
    thread = new PostHogThread({ ...settings(), workerUrl: BUILT_WORKER });
    await expect(thread.start()).resolves.toBeUndefined();

    const problems: string[] = [];
    const broken = new PostHogThread({
      ...settings(),
      workerUrl: BROKEN_WORKER,
      onWorkerProblem: (p) => problems.push(p),
    });
    try {
      await expect(broken.start()).rejects.toThrow("this worker cannot load");
      // Asked again, it does not start a second worker.
      await expect(broken.start()).rejects.toThrow("this worker cannot load");
      expect(problems).toEqual(["the PostHog thread failed: this worker cannot load"]);
    } finally {
      await broken.close();
    }
  });

  // Linux keeps a nice value per thread: field 19 of /proc/<pid>/task/<tid>/stat.
  const niceByThread = (): Map<number, number> => {
    const nice = new Map<number, number>();
    for (const tid of readdirSync("/proc/self/task")) {
      try {
        const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
        // The name in parentheses may hold spaces; the fields after it are plain.
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        nice.set(Number(tid), Number(fields[16]));
      } catch {
        // the thread ended meanwhile
      }
    }
    return nice;
  };

  // Not when the tests themselves run at the lowest priority, which leaves nothing lower.
  it.runIf(process.platform === "linux" && getPriority(process.pid) < 19)(
    "runs its worker at a lower CPU priority than the thread that acks Slack",
    async () => {
      const main = getPriority(process.pid);
      const before = niceByThread();
      const problems: string[] = [];
      thread = new PostHogThread({
        ...settings(),
        workerUrl: BUILT_WORKER,
        onPriorityProblem: (p) => problems.push(p),
      });
      await thread.start();
      const expected = Math.min(19, main + THREAD_NICENESS);
      const lowered = [...niceByThread()].filter(([tid, nice]) => !before.has(tid) && nice === expected);
      expect(lowered).toHaveLength(1);
      expect(problems).toEqual([]);
      // The process, and so the main thread, keeps its priority.
      expect(getPriority(process.pid)).toBe(main);
      expect(niceByThread().get(process.pid)).toBe(main);
    },
  );

  it("says when its worker could not lower its priority, and starts all the same", async () => {
    const problems: string[] = [];
    thread = new PostHogThread({
      ...settings(),
      workerUrl: STUBBORN_WORKER,
      onPriorityProblem: (p) => problems.push(p),
    });
    await expect(thread.start()).resolves.toBeUndefined();
    expect(problems).toEqual(["EACCES: permission denied"]);
  });

  it("answers exactly as the client on the main thread does, and reports each request", async () => {
    const insight = fake.addInsight({ name: "Signups" });
    const alert = fake.addAlert({ insight: insight.id, name: "Signups dropped" });
    // Three pages, so the listing crosses in parts.
    for (let i = 0; i < 249; i++) fake.addAlert({ insight: insight.id, name: `Alert ${i}` });
    thread = new PostHogThread({ ...settings(), workerUrl: BUILT_WORKER, onRequest: (i) => seen.push(i) });
    const direct = new PostHogClient(settings());
    try {
      const until = new Date(Date.now() + 3_600_000).toISOString();
      const patched = await thread.updateAlert(alert.id, { snoozed_until: until });
      expect(patched.snoozed_until).not.toBeNull();
      expect(await thread.getAlert(alert.id)).toEqual(await direct.getAlert(alert.id));
      const listed = await thread.listAllAlerts();
      expect(listed).toHaveLength(250);
      expect(listed).toEqual(await direct.listAllAlerts());
      expect(await thread.getInsight(insight.id)).toEqual(await direct.getInsight(insight.id));
    } finally {
      await direct.close();
    }
    expect(seen.map((i) => [i.method, i.status])).toEqual([
      ["PATCH", 200],
      ["GET", 200],
      ["GET", 200],
      ["GET", 200],
      ["GET", 200],
      ["GET", 200],
    ]);
  });

  it("fails a call whose arguments cannot cross alone, and goes on with the next", async () => {
    const insight = fake.addInsight({ name: "Signups" });
    const alert = fake.addAlert({ insight: insight.id, name: "Signups dropped" });
    thread = new PostHogThread({ ...settings(), workerUrl: BUILT_WORKER });
    await expect(thread.getAlert(alert.id, (() => 5) as never)).rejects.toThrow(/could not be cloned/);
    await expect(thread.getAlert(alert.id)).resolves.toMatchObject({ id: alert.id });
  });

  it("rejects with PostHog's error, readable as on the main thread", async () => {
    thread = new PostHogThread({ ...settings(), workerUrl: BUILT_WORKER });
    const error = await thread.getAlert("0192c0de-0000-7000-8000-000000000000").catch((e: unknown) => e);
    expect(isPostHogError(error)).toBe(true);
    expect(error).toMatchObject({
      code: "not_found",
      status: 404,
      userMessage: USER_MESSAGES.notFound.alert,
    });

    const wrongKey = new PostHogThread({ ...settings(), apiKey: "phx_wrong", workerUrl: BUILT_WORKER });
    try {
      await expect(wrongKey.listAllAlerts()).rejects.toMatchObject({ code: "unauthorized", status: 401 });
    } finally {
      await wrongKey.close();
    }
  });

  it("fails the calls waiting on a worker that dies, says so, and starts a new one for the next call", async () => {
    const problems: string[] = [];
    thread = new PostHogThread({
      ...settings(),
      workerUrl: DYING_WORKER,
      onWorkerProblem: (p) => problems.push(p),
    });
    const first = thread.listAllAlerts().catch((e: unknown) => e);
    const second = thread.getAlert("x").catch((e: unknown) => e);
    for (const outcome of [await first, await second]) {
      expect(outcome).toMatchObject({ code: "unavailable", userMessage: THREAD_MESSAGES.failed });
    }
    // Told once per worker, and kept for /healthz.
    expect(problems).toEqual(["the PostHog thread stopped (exit code 3)"]);
    expect(thread.latestProblem()?.text).toBe("the PostHog thread stopped (exit code 3)");
    // A new worker takes the next call (this one dies too, which shows it was started).
    await expect(thread.listMembers()).rejects.toMatchObject({ code: "unavailable" });
    expect(problems).toHaveLength(2);
  });

  it("on close, lets a call in flight finish, then refuses new calls", async () => {
    const insight = fake.addInsight({ name: "Signups" });
    const alert = fake.addAlert({ insight: insight.id, name: "Signups dropped" });
    fake.setLatency(300);
    thread = new PostHogThread({ ...settings(), workerUrl: BUILT_WORKER });
    const patch = thread.updateAlert(alert.id, { enabled: false });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await thread.close();
    await expect(patch).resolves.toMatchObject({ id: alert.id, enabled: false });
    await expect(thread.getAlert(alert.id)).rejects.toMatchObject({
      code: "unavailable",
      message: "the PostHog thread is closed",
      userMessage: THREAD_MESSAGES.restarting,
    });
  });

  it("on close, fails a call that outlasts the grace period as a shutdown", async () => {
    fake.setLatency(5_000);
    thread = new PostHogThread({ ...settings(), workerUrl: BUILT_WORKER, closeGraceMs: 200 });
    const waiting = thread.listAllAlerts().catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    await thread.close();
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(await waiting).toMatchObject({
      code: "unavailable",
      message: "the bot is shutting down",
      userMessage: THREAD_MESSAGES.cutOff,
    });
  });
});

describe("the worker's HTTP attempts", () => {
  const info = (status: number): RequestLogInfo =>
    ({ method: "GET", path: "/api/x/", status, attempt: 1, ms: 3 }) as unknown as RequestLogInfo;

  it("ride on the next answer, so a call wakes the main thread once", () => {
    const posted: WorkerMessage[] = [];
    const batch = requestBatcher((m) => posted.push(m), 50);
    batch.add(info(200));
    batch.add(info(201));
    batch.send({ type: "result", id: 1, value: "ok" });
    batch.send({ type: "result", id: 2, value: "ok" });
    expect(posted).toEqual([
      { type: "result", id: 1, value: "ok", requests: [info(200), info(201)] },
      { type: "result", id: 2, value: "ok" },
    ]);
  });

  it("go on their own when no answer goes out in time (a call still retrying)", async () => {
    const posted: WorkerMessage[] = [];
    const batch = requestBatcher((m) => posted.push(m), 20);
    batch.add(info(503));
    expect(posted).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(posted).toEqual([{ type: "requests", infos: [info(503)] }]);
    // Nothing twice: the timer is gone once they went.
    batch.send({ type: "error", id: 3, error: { kind: "other", message: "down" } });
    expect(posted.at(-1)).toEqual({ type: "error", id: 3, error: { kind: "other", message: "down" } });
  });
});
