/**
 * Keeps the benchmarks runnable: the load generator's bookkeeping, a very
 * short ack-latency run and one start, writing to a temporary directory
 * (never to bench/results or BENCHMARKS.md). Needs the built bot (`npm test`
 * builds before running the tests).
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AckLatencyFigures,
  type AckLatencyOptions,
  ackLatencyOptionsFromEnv,
  ackLatencyResult,
  runAckLatency,
  runOrder,
  runRatios,
  settingsKey,
} from "../bench/ack-latency.js";
import { assertLoopback, LoadTarget } from "../bench/lib/load.js";
import { MAIN_JS, readCpuMs, readMainThreadCpuMs } from "../bench/lib/processes.js";
import {
  type BenchResult,
  readFindings,
  readResults,
  renderBenchmarks,
  writeResult,
} from "../bench/lib/report.js";
import {
  buildId,
  MIN_RUNS,
  type RatioRun,
  RUNS_FILE,
  ratioAcrossRuns,
  readRuns,
  recordRun,
} from "../bench/lib/run-history.js";
import { middle, percentile, roundBootstrapRatio, summarize } from "../bench/lib/stats.js";
import type { RequestKind } from "../bench/lib/world.js";
import { runStartMemory, type StartMemoryFigures } from "../bench/start-memory.js";

/**
 * A whole benchmark run starts the bot, the bare app and the fakes as processes: about 17 s
 * alone, and more while other test files share the two cores.
 */
const WHOLE_RUN_TIMEOUT_MS = 60_000;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "bench-smoke-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("CPU time by thread", () => {
  it("counts the main thread's time apart from the process's, and within it", () => {
    const pid = process.pid;
    const [total, main] = [readCpuMs(pid), readMainThreadCpuMs(pid)];
    const end = performance.now() + 200;
    while (performance.now() < end) {
      // Busy on this thread alone.
    }
    const mainMs = readMainThreadCpuMs(pid) - main;
    const totalMs = readCpuMs(pid) - total;
    expect(mainMs).toBeGreaterThanOrEqual(50);
    // The kernel scales each counter to the thread's exact run time on its own, in 10 ms
    // ticks, so the two may disagree by a tick or two; over 200 ms the main thread's share
    // can still never exceed the whole.
    expect(mainMs).toBeLessThanOrEqual(totalMs + 30);
  });

  it("leaves out another thread's time", async () => {
    const pid = process.pid;
    const [total, main] = [readCpuMs(pid), readMainThreadCpuMs(pid)];
    // A worker thread busy for 300 ms while this thread waits for it.
    const worker = new Worker("const end = Date.now() + 300; while (Date.now() < end) {}", { eval: true });
    await new Promise((resolve) => worker.once("exit", resolve));
    const mainMs = readMainThreadCpuMs(pid) - main;
    const totalMs = readCpuMs(pid) - total;
    expect(totalMs - mainMs).toBeGreaterThanOrEqual(100);
  });
});

describe("latency statistics", () => {
  it("uses nearest-rank percentiles", () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
    const stats = summarize([5, 1, 3]);
    expect(stats).toMatchObject({ count: 3, min: 1, p50: 3, max: 5, mean: 3 });
  });

  // Rounds unlike each other: round i's samples are 1..100 scaled by (i + 1), one round a spell of load.
  const rounds = (scale: number) =>
    Array.from({ length: 8 }, (_, i) =>
      Array.from({ length: 100 }, (_, k) => (k + 1) * (i === 5 ? 20 : i + 1) * scale),
    );

  it("keeps each round's two runs together when it draws rounds again", () => {
    // Two targets alike in every round: drawn as pairs, every draw gives 1, however unlike the rounds.
    expect(roundBootstrapRatio(rounds(1), rounds(1), 99)).toEqual({ low: 1, high: 1 });
    expect(roundBootstrapRatio(rounds(2), rounds(1), 99)).toEqual({ low: 2, high: 2 });
  });

  it("gives an interval around the ratio that a spell in one round widens", () => {
    const bare = rounds(1);
    // The bot is like the bare app except in one round, where its tail is 10 times longer.
    const bot = bare.map((samples, i) => (i === 2 ? samples.map((v, k) => (k >= 95 ? v * 10 : v)) : samples));
    const interval = roundBootstrapRatio(bot, bare, 99);
    expect(interval.low).toBeGreaterThanOrEqual(1);
    expect(interval.low).toBeLessThan(1.05);
    expect(interval.high).toBeGreaterThan(1.5);
    // The same samples give the same interval (the draws are seeded).
    expect(roundBootstrapRatio(bot, bare, 99)).toEqual(interval);
    expect(roundBootstrapRatio([bot[0] as number[]], [bare[0] as number[]], 99).low).toBeNaN();
  });
});

describe("the load generator", () => {
  let server: Server;
  let origin: string;
  let hits = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      hits += 1;
      req.resume();
      // Every third request fails; each answer takes 150 ms.
      const status = hits % 3 === 0 ? 500 : 200;
      setTimeout(() => res.writeHead(status).end(), 150);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it("sends on schedule whatever the responses take, and counts errors by kind", async () => {
    const target = new LoadTarget(origin);
    try {
      const result = await target.run({
        rate: 100,
        durationMs: 300,
        prepare: (i) => ({ path: `/r/${i}`, headers: { "content-type": "text/plain" }, body: "x" }),
      });
      expect(result.sent).toBe(30);
      expect(result.ok).toBe(20);
      expect(result.errors).toBe(10);
      expect(result.errorKinds).toEqual({ http_500: 10 });
      // Open loop: 30 requests of 150 ms each went out in about 0.3 s, not 4.5 s.
      expect(result.wallMs).toBeLessThan(1_500);
      expect(result.offeredRate).toBeGreaterThan(60);
      expect(result.latency.p50).toBeGreaterThanOrEqual(140);
      expect(result.latency.count).toBe(20);
    } finally {
      await target.close();
    }
  });

  it("counts requests that outlive the timeout as errors and stops waiting for them", async () => {
    const target = new LoadTarget(origin);
    try {
      const result = await target.run({
        rate: 50,
        durationMs: 100,
        timeoutMs: 50,
        prepare: () => ({ path: "/", headers: {}, body: "" }),
      });
      expect(result.sent).toBe(5);
      expect(result.errorKinds.timeout).toBe(5);
      expect(result.wallMs).toBeLessThan(1_500);
    } finally {
      await target.close();
    }
  });

  it("refuses anything but loopback", () => {
    expect(() => assertLoopback("http://example.com")).toThrow(/127\.0\.0\.1/);
    expect(() => assertLoopback("https://127.0.0.1:1")).toThrow();
    expect(assertLoopback("http://127.0.0.1:8080").port).toBe("8080");
  });
});

describe("the benchmarks", () => {
  it("takes the ack runs in rounds whose order rotates, every slot once per round", () => {
    expect(runOrder(3, true)).toEqual([
      ...["bot", "bare", "slow"],
      ...["bare", "slow", "bot"],
      ...["slow", "bot", "bare"],
    ]);
    expect(runOrder(4, false)).toEqual(["bot", "bare", "bare", "bot", "bot", "bare", "bare", "bot"]);
    expect(runOrder(2, true, true)).toEqual([
      ...["bot", "bare", "slow", "page"],
      ...["bare", "slow", "page", "bot"],
    ]);
  });

  it("has a built bot to measure", () => {
    expect(existsSync(MAIN_JS)).toBe(true);
  });

  // The two runs use their own fakes and ports, so they may overlap.
  it.concurrent(
    "measures ack latency of the bot and the bare Bolt app without errors",
    async () => {
      const options: AckLatencyOptions = {
        seconds: 0.4,
        parts: 4,
        rate: 20,
        // The bot's PostHog thread loads after it is healthy; the first calls wait for it.
        warmupSeconds: 1,
        slowPostHogMs: 100,
        stepUp: { stepSeconds: 0.4, startRate: 20, maxRate: 20, p99LimitMs: 1_000, includeBare: false },
        logLevel: "warn",
        settleQuietMs: 100,
        resultsDir: dir,
      };
      const result = await runAckLatency(options);
      const figures = result.data as AckLatencyFigures;
      // Both kinds for both targets at normal speed, the bot again with slow PostHog, and
      // commands to the bare app acking with the bot's page.
      expect(figures.rows).toHaveLength(7);
      for (const row of figures.rows) {
        expect(row.errors, JSON.stringify(row.errorKinds)).toBe(0);
        expect(row.sent).toBe(8);
        // Each target's time is split into the four runs asked for, taken in turns.
        expect(row.partP99s).toHaveLength(4);
        expect(row.latency.count).toBe(row.sent);
        expect(row.latency.p99).toBeGreaterThan(0);
        expect(row.latency.p99).toBeLessThan(3_000);
        // Counted in 10 ms ticks, eight requests may show none (see the test of the reading itself).
        expect(row.mainCpuMsPerRequest).toBeGreaterThanOrEqual(0);
      }
      // The bot really answered every command: in the ack itself when its alert list was cached,
      // otherwise through the command's response URL (while the first read of PostHog is in flight).
      const botCommands = figures.rows.find((r) => r.target === "bot" && r.kind === "command");
      // (Both shares are rounded to hundredths.)
      expect(
        (botCommands?.answeredInAck ?? 0) + (botCommands?.slackCallsPerRequest.response_url ?? 0),
      ).toBeCloseTo(1, 1);
      expect(figures.rows.find((r) => r.target === "bare")?.answeredInAck).toBe(0);
      expect(figures.rows.find((r) => r.target === "bare")?.slackCallsPerRequest).toEqual({
        response_url: 0,
      });
      // The page-acking app answered every command in its ack, with a page of real size, and
      // the ratio beside it is the bot's p99 over that app's.
      const paged = figures.rows.find((r) => r.target === "bare-page");
      expect(paged?.kind).toBe("command");
      expect(paged?.answeredInAck).toBe(1);
      expect(figures.page?.bytes).toBeGreaterThan(1_000);
      expect(figures.page?.ratio).toBeCloseTo(
        (botCommands?.latency.p99 ?? 0) / (paged?.latency.p99 ?? Number.NaN),
        6,
      );
      expect(Number.isFinite(figures.ratios.command)).toBe(true);
      expect(Number.isFinite(figures.ratios.snooze)).toBe(true);
      expect(figures.steps).toHaveLength(1);
      expect(figures.steps[0]?.passed).toBe(true);
      expect(figures.memory.bot.rssMb).toBeGreaterThan(10);
      expect(figures.otherCpu).toBeGreaterThanOrEqual(0);
      expect(figures.otherCpu).toBeLessThanOrEqual(1);

      expect(result.targets.length).toBe(4);
      const written = readResults(dir).find((r) => r.name === "ack-latency");
      expect(written?.tables[0]?.rows).toHaveLength(7);

      // The run is kept with its build and ratios; alone, it decides its own verdicts.
      expect(figures.build).toMatch(/^[0-9a-f]{12}$/);
      expect(figures.runsOfBuild).toHaveLength(1);
      const [kept] = readRuns(dir);
      expect(kept?.build).toBe(figures.build);
      expect(kept?.ratios).toEqual({
        command: figures.ratios.command,
        snooze: figures.ratios.snooze,
        "slow command": figures.slowRatios.command,
        "slow snooze": figures.slowRatios.snooze,
        page: figures.page?.ratio,
      });
      expect(result.targets[0]?.measured).toContain("run 1 of this build");
      expect(result.targets[0]?.met).toBe(figures.ratios.command <= 1.25);
      // With three runs of the build, their median decides, whatever this run or the last measured.
      const judged = (name: string, values: number[]) =>
        ackLatencyResult(options, {
          ...figures,
          runsOfBuild: values.map((value, i) => ({ ranAt: `2026-01-0${i + 1}`, ratios: { [name]: value } })),
        });
      const listTarget = (r: BenchResult) =>
        r.targets.find((t) => t.label.includes("bot ÷ bare Bolt, `/alerts list`"));
      const slowSnoozeTarget = (r: BenchResult) =>
        r.targets.find((t) => t.label.includes("PostHog answering") && t.label.includes("snooze"));
      expect(listTarget(judged("command", [1.4, 1.3, 1.1]))).toMatchObject({ met: false });
      expect(listTarget(judged("command", [1.4, 1.3, 1.1]))?.measured).toContain(
        "median of 3 runs of this build 1.30× (1.40×, 1.30×, 1.10×)",
      );
      expect(listTarget(judged("command", [1.0, 1.1, 1.6]))).toMatchObject({ met: true });
      // The slow-PostHog targets are judged by their own runs.
      expect(slowSnoozeTarget(judged("slow snooze", [1.0, 1.1, 1.6]))).toMatchObject({ met: true });
      expect(slowSnoozeTarget(judged("slow snooze", [1.6, 1.3, 1.0]))).toMatchObject({ met: false });
      // "What limits it" claims the median only where every target had three runs.
      const allThree = ackLatencyResult(options, {
        ...figures,
        runsOfBuild: [1, 2, 3].map((i) => ({ ranAt: `2026-01-0${i}`, ratios: runRatios(figures) })),
      });
      expect(allThree.limits.join(" ")).toContain("judged by the median of the 3 runs of this build");
      expect(judged("command", [1.4, 1.3, 1.1]).limits.join(" ")).not.toContain("judged by the median of");
    },
    WHOLE_RUN_TIMEOUT_MS,
  );

  it.concurrent(
    "measures a start, and the memory of the bot as `npm start` runs it",
    async () => {
      const result = await runStartMemory({
        starts: 1,
        npmStarts: 0,
        loadSeconds: 0.5,
        rate: 20,
        idleSeconds: 0.2,
        warmupSeconds: 0.3,
        memoryVia: "npm",
        memoryVariants: [{ label: "as shipped", nodeArgs: null }],
        resultsDir: dir,
      });
      const figures = result.data as StartMemoryFigures;
      expect(figures.runs).toHaveLength(1);
      const [run] = figures.runs;
      expect(run?.healthyMs).toBeGreaterThan(0);
      expect(run?.healthyMs).toBeLessThan(15_000);
      expect(run?.listeningMs).not.toBeNull();
      expect(run?.listeningMs).toBeLessThanOrEqual(run?.healthyMs ?? 0);
      expect(figures.bareReadyMs).toBeGreaterThan(0);
      const [memory] = figures.memory;
      expect(memory?.idle.rssMb).toBeGreaterThan(10);
      expect(memory?.load).toMatchObject({ errors: 0, sent: 10 });
      expect(memory?.peakUnderLoadMb).toBeGreaterThanOrEqual(memory?.idle.rssMb ?? 0);
      expect(result.targets.map((t) => t.goal)).toEqual(["≤ 2 s", "≤ 150 MB"]);
    },
    WHOLE_RUN_TIMEOUT_MS,
  );

  it("keeps every run's ratios by build and settings, and pools only runs of the same", () => {
    const runsDir = join(dir, "runs");
    mkdirSync(runsDir);
    const run = (build: string, settings: string, command: number): RatioRun => ({
      ranAt: new Date().toISOString(),
      build,
      settings,
      ratios: { command },
    });
    expect(readRuns(runsDir)).toEqual([]);
    recordRun(runsDir, run("a", "60 s", 1.1));
    recordRun(runsDir, run("b", "60 s", 1.9));
    recordRun(runsDir, run("a", "30 s", 1.8));
    const same = recordRun(runsDir, run("a", "60 s", 1.2));
    expect(same.map((r) => r.ratios.command)).toEqual([1.1, 1.2]);
    expect(readRuns(runsDir)).toHaveLength(4);
    // Two runs decide nothing yet; the third makes a median (nearest rank).
    expect(ratioAcrossRuns(same, "command")).toBeNull();
    const three = recordRun(runsDir, run("a", "60 s", 1.5));
    expect(ratioAcrossRuns(three, "command")).toEqual({ values: [1.1, 1.2, 1.5], median: 1.2 });
    expect(three).toHaveLength(MIN_RUNS);
    // An even count's median is the mean of the two middle runs, not the lower one.
    expect(middle([1.6, 1.0, 1.3, 1.2])).toBeCloseTo(1.25, 10);
    expect(middle([1.23, 1.1, 1.3, 1.18, 1.41, 1.55])).toBeCloseTo(1.265, 10);
    // Runs that did not measure a ratio do not count towards it.
    expect(ratioAcrossRuns(three, "snooze")).toBeNull();
    // The history is not a result: the report skips it.
    expect(readResults(runsDir)).toEqual([]);
    // A damaged file is started afresh rather than failing the run.
    writeFileSync(join(runsDir, RUNS_FILE), "{not json");
    expect(readRuns(runsDir)).toEqual([]);
    expect(recordRun(runsDir, run("a", "60 s", 1.0))).toHaveLength(1);
  });

  it("keys a run's settings by everything that shapes its ratios", () => {
    const options = ackLatencyOptionsFromEnv({}, null);
    const kinds: RequestKind[] = ["command", "snooze"];
    const key = settingsKey(options, kinds);
    expect(settingsKey(ackLatencyOptionsFromEnv({}, null), kinds)).toBe(key);
    expect(settingsKey(options, ["command"])).not.toBe(key);
    expect(settingsKey({ ...options, seconds: 30 }, kinds)).not.toBe(key);
    expect(settingsKey({ ...options, pageBaseline: false }, kinds)).not.toBe(key);
    expect(JSON.parse(key)).toMatchObject({ node: process.version });
    // Node flags given to any of the processes change what is measured (read while the key is made).
    for (const name of [
      "BENCH_NODE_ARGS",
      "BENCH_BARE_NODE_ARGS",
      "BENCH_HELPER_NODE_ARGS",
      "BENCH_WORLD_NICE",
    ]) {
      const before = process.env[name];
      process.env[name] = name === "BENCH_WORLD_NICE" ? "5" : "--cpu-prof";
      const changed = settingsKey(options, kinds);
      if (before === undefined) delete process.env[name];
      else process.env[name] = before;
      expect(changed, name).not.toBe(key);
    }
  });

  it("names a build by its files' contents", () => {
    const buildDir = join(dir, "build");
    mkdirSync(join(buildDir, "lib"), { recursive: true });
    writeFileSync(join(buildDir, "main.js"), "main");
    writeFileSync(join(buildDir, "lib", "a.js"), "a");
    const first = buildId([buildDir]);
    expect(first).toMatch(/^[0-9a-f]{12}$/);
    expect(buildId([buildDir])).toBe(first);
    writeFileSync(join(buildDir, "lib", "a.js"), "b");
    expect(buildId([buildDir])).not.toBe(first);
    writeFileSync(join(buildDir, "lib", "a.js"), "a");
    expect(buildId([buildDir])).toBe(first);
    // The same files in another checkout are the same build.
    const elsewhere = join(dir, "elsewhere", "build");
    cpSync(buildDir, elsewhere, { recursive: true });
    expect(buildId([elsewhere])).toBe(first);
    writeFileSync(join(buildDir, "lib", "c.js"), "");
    expect(buildId([buildDir])).not.toBe(first);
  });

  it("reads what earlier runs found from the findings folder, by benchmark name", () => {
    const findings = readFindings();
    expect(Object.keys(findings)).toContain("ack-latency");
    expect(findings["ack-latency"]).toMatch(/^\S/);
  });

  it("combines every result file into one markdown report, whoever wrote it", () => {
    const other: BenchResult = {
      name: "zz-other",
      title: "Another benchmark",
      order: 99,
      ranAt: new Date().toISOString(),
      machine: { cpu: "cpu", cores: 1, ramGb: 1, node: "v0", os: "os" },
      command: "npm run bench -- other",
      method: "Measures something else.",
      settings: {},
      targets: [{ label: "Something", goal: "≤ 1", measured: "2", met: false }],
      tables: [{ columns: ["a", "b|c"], rows: [[1, "x|y"]] }],
      limits: ["the other thing."],
      notes: [],
      data: null,
    };
    writeResult(dir, other);
    const markdown = renderBenchmarks(readResults(dir), { "zz-other": "It was slower last week." });
    const sections = [...markdown.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
    expect(sections).toEqual([
      "Machine",
      "Targets",
      "Ack latency",
      "Start time and memory",
      "Another benchmark",
    ]);
    expect(markdown).toContain("| a | b\\|c |");
    expect(markdown).toContain("**What limits it:** the other thing.");
    // What earlier runs found closes its own benchmark's section, and no other.
    expect(markdown).toMatch(
      /the other thing\.\n\n### What we found: another benchmark\n\nIt was slower last week\.\n$/,
    );
    expect(markdown.match(/### What we found/g)).toHaveLength(1);
    expect(markdown).toContain("❌ missed");
    expect(JSON.parse(readFileSync(join(dir, "zz-other.json"), "utf8")).title).toBe("Another benchmark");
  });
});
