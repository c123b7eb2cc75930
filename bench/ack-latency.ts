/**
 * Ack latency: how fast the bot acknowledges Slack interactions, compared with
 * a bare Bolt app on the same machine, with the same Bolt version and receiver,
 * whose listeners only ack. Slack gives up on an interaction after 3 s, so
 * this is the figure a person feels first.
 *
 * Both run as their own processes (the bot as `node dist/main.js`), driven by
 * the same open-loop generator with the same signed requests, in short runs
 * taken in turns (`runOrder`) so that drift (CPU frequency, other load) touches
 * all alike. A second bare app acks commands with the bot's own list page, to
 * show what answering in the ack costs apart from the bot's work.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { setPriority, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { type LoadResult, LoadTarget, mergeRuns, type PreparedRequest } from "./lib/load.js";
import {
  BARE_BOLT_JS,
  type Child,
  cpuSnapshot,
  envNodeArgs,
  freePort,
  MAIN_JS,
  type MemoryFigures,
  nodeArgsFromEnv,
  otherCpuShare,
  REPO_ROOT,
  readCpuMs,
  readMainThreadCpuMs,
  readMemory,
  SHIPPED_NODE_FLAGS,
  startBareBolt,
  startBot,
} from "./lib/processes.js";
import { type BenchResult, type BenchTable, machineInfo, quietNote, writeResult } from "./lib/report.js";
import {
  buildId,
  MIN_RUNS,
  type RatioAcrossRuns,
  type RatioRun,
  RUNS_FILE,
  ratioAcrossRuns,
  ratioValues,
  recordRun,
} from "./lib/run-history.js";
import { type LatencyStats, median, ms, ratio, roundBootstrapRatio } from "./lib/stats.js";
import { BOT_TOKEN, type RequestKind, SIGNING_SECRET } from "./lib/world.js";
import { startWorldInline, startWorldProcess } from "./lib/world-process.js";

export interface StepUpOptions {
  /** Seconds per step. */
  stepSeconds: number;
  startRate: number;
  /** The last rate tried, even if the bot still keeps up. */
  maxRate: number;
  /** A step fails when any request errs or the p99 exceeds this. */
  p99LimitMs: number;
  /** Also step up the bare Bolt app, to show what the machine and the generator allow. */
  includeBare: boolean;
}

export interface AckLatencyOptions {
  /** Seconds of measurement per target and request kind at `rate`. */
  seconds: number;
  /** Runs each target's `seconds` is split into (default 16), taken in turns; see DEFAULT_PARTS. */
  parts?: number;
  rate: number;
  /** Unmeasured seconds per target and kind before the runs (JIT, pools, caches). */
  warmupSeconds: number;
  /** PostHog response delay for the second measurement; 0 skips it. */
  slowPostHogMs: number;
  stepUp: StepUpOptions | null;
  /** The bot's LOG_LEVEL. */
  logLevel: string;
  /**
   * Where the fakes of PostHog and Slack run: "process" (their own, the default) or "inline"
   * (inside the load generator's process, where their work delays the generator).
   */
  world?: "process" | "inline";
  /** Which requests to measure (default both); one alone is handy for profiling. */
  kinds?: RequestKind[];
  /**
   * Also measure a second bare app whose `/alerts list` ack carries the bot's page (default on):
   * what answering in the ack costs, apart from what the bot does to find the answer.
   */
  pageBaseline?: boolean;
  /** Quiet time that means the bot's work after the acks is done (default 300 ms; 1,200 ms with snooze clicks). */
  settleQuietMs?: number;
  /** Where to write ack-latency.json; null writes nothing. */
  resultsDir: string | null;
  log?: (line: string) => void;
}

export const ACK_TARGET_RATIO = 1.25;

/**
 * Runs per target and kind. Spells of load from elsewhere on this shared machine last
 * seconds; with a few long runs one spell decided a ratio (the same bot with the same work
 * measured 0.76× and 1.46× its own p99 in two runs of four). Sixteen short runs spread such a spell
 * more evenly over the targets; a machine loaded from outside still moves the ratios between runs.
 */
const DEFAULT_PARTS = 16;

/**
 * Seconds per target and kind, three times the 20 s the target names: the p99 of 2,000 requests
 * is their 20th slowest, which a handful of stalls of the whole machine decide (in runs of 20 s,
 * single runs of the bare app alone had p99s of 1.3–12.6 ms, and one run's interval for the
 * snooze ratio spanned 0.73–2.53×). Three times the requests narrow that interval by about √3.
 */
const DEFAULT_SECONDS = 60;

const KINDS: RequestKind[] = ["command", "snooze"];
/** More than the delivery worker's spacing of calls to one channel (1,050 ms). */
const SNOOZE_SETTLE_QUIET_MS = 1_200;

export function ackLatencyOptionsFromEnv(
  env: NodeJS.ProcessEnv,
  resultsDir: string | null,
): AckLatencyOptions {
  const num = (name: string, fallback: number) => {
    const value = Number(env[name]);
    return env[name] !== undefined && env[name] !== "" && Number.isFinite(value) ? value : fallback;
  };
  const seconds = num("BENCH_SECONDS", DEFAULT_SECONDS);
  return {
    seconds,
    rate: num("BENCH_RATE", 100),
    parts: num("BENCH_PARTS", DEFAULT_PARTS),
    warmupSeconds: num("BENCH_WARMUP_SECONDS", Math.min(5, seconds)),
    slowPostHogMs: num("BENCH_SLOW_POSTHOG_MS", 2_000),
    stepUp:
      env.BENCH_STEP_UP === "0"
        ? null
        : {
            stepSeconds: num("BENCH_STEP_SECONDS", Math.min(5, seconds)),
            startRate: num("BENCH_STEP_START", 100),
            maxRate: num("BENCH_STEP_MAX", 3_200),
            p99LimitMs: 1_000,
            includeBare: env.BENCH_STEP_BARE !== "0",
          },
    logLevel: env.BENCH_LOG_LEVEL || "warn",
    world: env.BENCH_WORLD === "inline" ? "inline" : "process",
    kinds: env.BENCH_KINDS
      ? KINDS.filter((kind) => (env.BENCH_KINDS ?? "").split(",").includes(kind))
      : undefined,
    pageBaseline: env.BENCH_PAGE_BASELINE !== "0",
    resultsDir,
    log: (line) => process.stdout.write(`${line}\n`),
  };
}

interface Measured {
  load: LoadResult;
  /** CPU the target process used, including work it did after the acks, per request. */
  cpuMsPerRequest: number;
  /** The part of it spent on the main thread, the one that acks. */
  mainCpuMsPerRequest: number;
  /** CPU used ÷ wall time while sending, draining and finishing the work after the acks (1 = one core busy). */
  cpuShare: number;
  /** The same for the bench: the generator's process and the fakes' (when they have their own). */
  benchCpuShare: number;
  /** Slack calls the target made, by Web API method, plus `response_url` posts. */
  slackCalls: Record<string, number>;
}

/** The bot, the bare app, and the bare app acking `/alerts list` with the bot's page. */
export type TargetName = "bot" | "bare" | "bare-page";

const TARGET_LABEL: Record<TargetName, string> = {
  bot: "bot",
  bare: "bare Bolt",
  "bare-page": "bare Bolt, acking the bot's page",
};

interface Target {
  name: TargetName;
  label: string;
  child: Child;
  load: LoadTarget;
}

function merge(parts: Measured[]): Measured {
  const load = mergeRuns(parts.map((p) => p.load));
  const perRequest = (of: (p: Measured) => number) =>
    parts.reduce((n, p) => n + of(p) * p.load.sent, 0) / Math.max(1, load.sent);
  return {
    load,
    cpuMsPerRequest: perRequest((p) => p.cpuMsPerRequest),
    mainCpuMsPerRequest: perRequest((p) => p.mainCpuMsPerRequest),
    cpuShare: parts.reduce((n, p) => n + p.cpuShare, 0) / parts.length,
    benchCpuShare: parts.reduce((n, p) => n + p.benchCpuShare, 0) / parts.length,
    slackCalls: addCounts(parts.map((p) => p.slackCalls)),
  };
}

function addCounts(counts: Array<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of counts) for (const [k, n] of Object.entries(c)) out[k] = (out[k] ?? 0) + n;
  return out;
}

export interface AckRow {
  kind: RequestKind;
  target: TargetName;
  posthogDelayMs: number;
  rate: number;
  sent: number;
  errors: number;
  errorKinds: Record<string, number>;
  latency: LatencyStats;
  cpuMsPerRequest: number;
  /** Of that, the main thread's (the one that acks). */
  mainCpuMsPerRequest: number;
  sendLagP99: number;
  /** Slack calls per request: Web API methods, and `response_url` for posts to response URLs. */
  slackCallsPerRequest: Record<string, number>;
  /** Share of requests whose ack carried the answer itself (a cached list, help). */
  answeredInAck?: number;
  /** The p99 of each of the runs merged into this row (their spread shows the machine's noise). */
  partP99s?: number[];
}

export interface StepRow {
  target: "bot" | "bare";
  rate: number;
  sent: number;
  errors: number;
  errorKinds: Record<string, number>;
  latency: LatencyStats;
  throughput: number;
  cpuShare: number;
  sendLagP99: number;
  passed: boolean;
}

export interface AckLatencyFigures {
  rows: AckRow[];
  ratios: Record<RequestKind, number>;
  slowRatios: Partial<Record<RequestKind, number>>;
  /** 95% intervals of those ratios from a bootstrap over rounds (absent in older results). */
  ratioIntervals?: Partial<Record<RequestKind, Interval>>;
  slowRatioIntervals?: Partial<Record<RequestKind, Interval>>;
  steps: StepRow[];
  sustained: { bot: number | null; bare: number | null };
  memory: { bot: MemoryFigures; bare: MemoryFigures };
  /** Other programs' share of the machine's CPU during the run (0–1). */
  otherCpu: number;
  /** The `/alerts list` p99 of the bot ÷ that of the bare app acking with the bot's page. */
  page?: { bytes: number; ratio: number; interval: Interval };
  /** The build measured (see `buildId`), when the run was written to a results directory. */
  build?: string;
  /**
   * Every run of this build with these settings in the results directory, this one last: the
   * ratio targets are judged by their median once there are `MIN_RUNS` (absent in older results).
   */
  runsOfBuild?: Array<Pick<RatioRun, "ranAt" | "ratios">>;
}

/** The built bot, the bare app and the locked dependencies, as `buildId` names them. */
function measuredBuild(): string {
  return buildId([dirname(MAIN_JS), BARE_BOLT_JS, join(REPO_ROOT, "package-lock.json")]);
}

/** The history's names of the ratios that have targets. */
const TARGET_RATIOS = ["command", "snooze", "slow command", "slow snooze"];

/** The ratios a run adds to the history, by name. */
export function runRatios(f: AckLatencyFigures): Record<string, number> {
  const named: Record<string, number | undefined> = {
    command: f.ratios.command,
    snooze: f.ratios.snooze,
    "slow command": f.slowRatios.command,
    "slow snooze": f.slowRatios.snooze,
    page: f.page?.ratio,
  };
  return Object.fromEntries(
    Object.entries(named).filter((entry): entry is [string, number] => Number.isFinite(entry[1])),
  );
}

/**
 * Everything besides the build that shapes a ratio: runs differing in any of it are not pooled.
 * (The load generator and the fakes are not in it: a change to them should start a new history.)
 */
export function settingsKey(options: AckLatencyOptions, kinds: RequestKind[]): string {
  return JSON.stringify({
    node: process.version,
    botNodeArgs: [...SHIPPED_NODE_FLAGS, ...nodeArgsFromEnv()],
    bareNodeArgs: envNodeArgs("BENCH_BARE_NODE_ARGS"),
    helperNodeArgs: envNodeArgs("BENCH_HELPER_NODE_ARGS"),
    worldNice: process.env.BENCH_WORLD_NICE ?? "",
    seconds: options.seconds,
    parts: partCount(options),
    rate: options.rate,
    warmup: options.warmupSeconds,
    slowPostHogMs: options.slowPostHogMs,
    world: options.world ?? "process",
    kinds,
    page: options.pageBaseline !== false,
    logLevel: options.logLevel,
  });
}

export interface Interval {
  low: number;
  high: number;
}

/** The p99 ratio of `a` to `b` as it could have come out by chance: rounds drawn again, pairs kept. */
function p99Interval(a: Measured[], b: Measured[]): Interval {
  return roundBootstrapRatio(
    a.map((m) => m.load.samples),
    b.map((m) => m.load.samples),
    99,
  );
}

const KIND_LABEL: Record<RequestKind, string> = {
  command: "`/alerts list`",
  snooze: "snooze click",
};

function row(
  kind: RequestKind,
  target: TargetName,
  delay: number,
  m: Measured,
  parts: Measured[] = [],
): AckRow {
  return {
    partP99s: parts.map((p) => p.load.latency.p99),
    kind,
    target,
    posthogDelayMs: delay,
    rate: m.load.rate,
    sent: m.load.sent,
    errors: m.load.errors,
    errorKinds: m.load.errorKinds,
    latency: m.load.latency,
    cpuMsPerRequest: m.cpuMsPerRequest,
    mainCpuMsPerRequest: m.mainCpuMsPerRequest,
    sendLagP99: m.load.sendLag.p99,
    answeredInAck: Math.round((m.load.withBody / Math.max(1, m.load.sent)) * 100) / 100,
    slackCallsPerRequest: Object.fromEntries(
      Object.entries(m.slackCalls).map(([k, n]) => [
        k,
        Math.round((n / Math.max(1, m.load.sent)) * 100) / 100,
      ]),
    ),
  };
}

export async function runAckLatency(options: AckLatencyOptions): Promise<BenchResult> {
  const log = options.log ?? (() => {});
  const kinds = options.kinds && options.kinds.length > 0 ? options.kinds : KINDS;
  const machineBefore = cpuSnapshot();
  const inline = options.world === "inline";
  const world = inline ? await startWorldInline() : await startWorldProcess();
  const worldPid = inline ? null : world.pid;
  if (worldPid !== null && process.env.BENCH_WORLD_NICE)
    setPriority(worldPid, Number(process.env.BENCH_WORLD_NICE));
  // What is measured is named before the bot starts: a build made during the run does not count.
  const build = options.resultsDir ? measuredBuild() : undefined;
  const dataDir = mkdtempSync(join(tmpdir(), "alerts-bot-bench-"));
  const started: Child[] = [];
  const loads: LoadTarget[] = [];
  try {
    const [botPort, barePort] = [await freePort(), await freePort()];
    const [bot, bare] = await Promise.all([
      startBot(
        world.botEnv({ port: botPort, databasePath: join(dataDir, "bot.db"), logLevel: options.logLevel }),
        botPort,
      ),
      startBareBolt(barePort, { signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN }),
    ]);
    started.push(bot.child, bare.child);
    // Snooze clicks act on a notification the bot posted, so each one also redraws it.
    if (kinds.includes("snooze")) await world.postNotification(bot.origin);
    const botTarget: Target = {
      name: "bot",
      label: "bot",
      child: bot.child,
      load: new LoadTarget(bot.origin),
    };
    const bareTarget: Target = {
      name: "bare",
      label: "bare Bolt",
      child: bare.child,
      load: new LoadTarget(bare.origin),
    };
    loads.push(botTarget.load, bareTarget.load);

    const measure = async (
      target: Target,
      kinds: RequestKind[],
      rate: number,
      seconds: number,
      opts: { posthogDelayMs?: number; maxSettleMs?: number } = {},
    ): Promise<Measured> => {
      const delay = opts.posthogDelayMs ?? 0;
      // A snooze's redraw of its message may wait its turn in the channel (about 1 s after the
      // last one), so those runs wait that long for quiet: its CPU then lands in its own run.
      const quietMs = options.settleQuietMs ?? (kinds.includes("snooze") ? SNOOZE_SETTLE_QUIET_MS : 300);
      // Every request is built (and its response URL issued) before the clock starts.
      const requests = await world.prepare(kinds, Math.max(1, Math.round(rate * seconds)));
      const cpuBefore = readCpuMs(target.child.pid);
      const mainBefore = readMainThreadCpuMs(target.child.pid);
      const benchBefore = process.cpuUsage();
      const worldBefore = worldPid === null ? 0 : readCpuMs(worldPid);
      await world.setLatency(delay);
      const started = performance.now();
      let load: LoadResult;
      try {
        load = await target.load.run({
          rate,
          durationMs: seconds * 1000,
          prepare: (i) => requests[i] as PreparedRequest,
        });
        // Slow PostHog stays slow until the bot has finished the work it started.
        await world.settle({
          quietMs: delay + quietMs,
          maxMs: (opts.maxSettleMs ?? 10_000) + delay * 4,
        });
      } finally {
        await world.setLatency(0);
      }
      // CPU is counted until the target's work after the acks is done, so it is shared over that time too.
      const wallMs = Math.max(load.wallMs, performance.now() - started);
      const cpu = readCpuMs(target.child.pid) - cpuBefore;
      const mainCpu = readMainThreadCpuMs(target.child.pid) - mainBefore;
      const bench = process.cpuUsage(benchBefore);
      const worldCpu = worldPid === null ? 0 : readCpuMs(worldPid) - worldBefore;
      const slackCalls = await world.slackCalls();
      await world.forget();
      return {
        load,
        cpuMsPerRequest: cpu / Math.max(1, load.sent),
        mainCpuMsPerRequest: mainCpu / Math.max(1, load.sent),
        cpuShare: cpu / Math.max(1, wallMs),
        benchCpuShare: ((bench.user + bench.system) / 1000 + worldCpu) / Math.max(1, wallMs),
        slackCalls,
      };
    };
    const describe = (label: string, m: Measured) =>
      log(
        `  ${label}: sent ${m.load.sent}, errors ${m.load.errors}, p50 ${ms(m.load.latency.p50)} p99 ${ms(m.load.latency.p99)} max ${ms(m.load.latency.max)} ms, cpu ${m.cpuMsPerRequest.toFixed(2)} ms/req (main ${m.mainCpuMsPerRequest.toFixed(2)}), target cpu ${Math.round(m.cpuShare * 100)}%, bench cpu ${Math.round(m.benchCpuShare * 100)}%, lag p99 ${ms(m.load.sendLag.p99)} ms`,
      );

    // Warm both up (JIT, connection pools, caches); these figures are discarded.
    if (options.warmupSeconds > 0) {
      log(`warming up (${options.warmupSeconds} s per target and kind)`);
      for (const kind of kinds)
        for (const target of [botTarget, bareTarget])
          await measure(target, [kind], options.rate, options.warmupSeconds);
    }

    // The bare app acking with the bot's page: the page is taken from the bot, warm, so it is
    // the very answer the bot sends in this run.
    let pageTarget: Target | null = null;
    let pageBytes = 0;
    if (kinds.includes("command") && options.pageBaseline !== false) {
      const answer = await capturePage(world, botTarget.load);
      pageBytes = Buffer.byteLength(answer.text);
      const pageFile = join(dataDir, "list-ack.json");
      writeFileSync(pageFile, answer.text);
      const pagePort = await freePort();
      const bare = await startBareBolt(
        pagePort,
        { signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN },
        { commandAckFile: pageFile },
      );
      started.push(bare.child);
      pageTarget = {
        name: "bare-page",
        label: TARGET_LABEL["bare-page"],
        child: bare.child,
        load: new LoadTarget(bare.origin),
      };
      loads.push(pageTarget.load);
      if (options.warmupSeconds > 0)
        await measure(pageTarget, ["command"], options.rate, options.warmupSeconds);
    }

    // Steady rate. Bot, bare, the bot with slow PostHog and (for commands) the page-acking app take
    // turns in short runs, each round in a rotated order (bot, bare, slow, page; bare, slow, page,
    // bot; …), so a spell of load from elsewhere on the machine, which lasts seconds, falls on all alike.
    const rows: AckRow[] = [];
    const ratios = { command: Number.NaN, snooze: Number.NaN };
    const slowRatios: Partial<Record<RequestKind, number>> = {};
    const ratioIntervals: Partial<Record<RequestKind, Interval>> = {};
    const slowRatioIntervals: Partial<Record<RequestKind, Interval>> = {};
    const slowMs = options.slowPostHogMs;
    const runs = partCount(options);
    let page: AckLatencyFigures["page"];
    for (const kind of kinds) {
      const withPage = kind === "command" && pageTarget !== null;
      const order = runOrder(runs, slowMs > 0, withPage);
      log(
        `${kind} at ${options.rate} req/s, ${options.seconds} s per target${slowMs > 0 ? ` (and the bot with PostHog answering in ${slowMs} ms)` : ""}`,
      );
      const parts: Record<Slot, Measured[]> = { bot: [], bare: [], slow: [], page: [] };
      for (const slot of order) {
        const target =
          slot === "bare" ? bareTarget : slot === "page" && pageTarget !== null ? pageTarget : botTarget;
        const delay = slot === "slow" ? slowMs : 0;
        parts[slot].push(
          await measure(target, [kind], options.rate, options.seconds / runs, { posthogDelayMs: delay }),
        );
      }
      const bot = merge(parts.bot);
      const bare = merge(parts.bare);
      describe(`${kind} bot`, bot);
      describe(`${kind} bare`, bare);
      rows.push(row(kind, "bot", 0, bot, parts.bot), row(kind, "bare", 0, bare, parts.bare));
      ratios[kind] = ratio(bot.load.latency.p99, bare.load.latency.p99);
      ratioIntervals[kind] = p99Interval(parts.bot, parts.bare);
      if (parts.page.length > 0) {
        const paged = merge(parts.page);
        describe(`${kind} bare, acking the bot's page`, paged);
        rows.push(row(kind, "bare-page", 0, paged, parts.page));
        page = {
          bytes: pageBytes,
          ratio: ratio(bot.load.latency.p99, paged.load.latency.p99),
          interval: p99Interval(parts.bot, parts.page),
        };
      }
      if (parts.slow.length > 0) {
        const slow = merge(parts.slow);
        describe(`${kind} bot, slow PostHog`, slow);
        rows.push(row(kind, "bot", slowMs, slow, parts.slow));
        slowRatios[kind] = ratio(slow.load.latency.p99, bot.load.latency.p99);
        slowRatioIntervals[kind] = p99Interval(parts.slow, parts.bot);
      }
    }

    // Step the rate up until the bot errs or its p99 passes the limit.
    const steps: StepRow[] = [];
    const sustained: { bot: number | null; bare: number | null } = { bot: null, bare: null };
    if (options.stepUp) {
      const step = options.stepUp;
      const targets = step.includeBare
        ? [["bot", botTarget] as const, ["bare", bareTarget] as const]
        : [["bot", botTarget] as const];
      for (const [name, target] of targets) {
        for (let rate = step.startRate; rate <= step.maxRate; rate *= 2) {
          log(`step: ${target.label} at ${rate} req/s (mixed) for ${step.stepSeconds} s`);
          const m = await measure(target, KINDS, rate, step.stepSeconds, { maxSettleMs: 30_000 });
          const passed = m.load.errors === 0 && m.load.latency.p99 <= step.p99LimitMs;
          describe(`${target.label} ${rate} req/s${passed ? "" : " (failed)"}`, m);
          steps.push({
            target: name,
            rate,
            sent: m.load.sent,
            errors: m.load.errors,
            errorKinds: m.load.errorKinds,
            latency: m.load.latency,
            throughput: m.load.throughput,
            cpuShare: m.cpuShare,
            sendLagP99: m.load.sendLag.p99,
            passed,
          });
          if (!passed) break;
          sustained[name] = rate;
        }
      }
    }

    const memory = { bot: readMemory(bot.child.pid), bare: readMemory(bare.child.pid) };
    log(
      `memory: bot ${memory.bot.rssMb.toFixed(1)} MB (peak ${memory.bot.hwmMb.toFixed(1)}), bare ${memory.bare.rssMb.toFixed(1)} MB`,
    );
    const figures: AckLatencyFigures = {
      rows,
      ratios,
      slowRatios,
      ratioIntervals,
      slowRatioIntervals,
      steps,
      sustained,
      memory,
      otherCpu: otherCpuShare(
        machineBefore,
        readCpuMs(bot.child.pid) +
          readCpuMs(bare.child.pid) +
          (pageTarget === null ? 0 : readCpuMs(pageTarget.child.pid)) +
          (worldPid === null ? 0 : readCpuMs(worldPid)),
        machineInfo().cores,
      ),
      ...(page ? { page } : {}),
    };
    if (options.resultsDir && build) {
      mkdirSync(options.resultsDir, { recursive: true });
      figures.build = build;
      figures.runsOfBuild = recordRun(options.resultsDir, {
        ranAt: new Date().toISOString(),
        build,
        settings: settingsKey(options, kinds),
        ratios: runRatios(figures),
      }).map(({ ranAt, ratios }) => ({ ranAt, ratios }));
    }
    const result = ackLatencyResult(options, figures);
    if (options.resultsDir) writeResult(options.resultsDir, result);
    return result;
  } finally {
    for (const load of loads) await load.close().catch(() => undefined);
    await Promise.all(started.map((child) => child.stop()));
    await world.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * The bot's `/alerts list` ack, once it carries the page: the first commands after a start may be
 * answered through the response URL while the alert list is first read from PostHog.
 */
async function capturePage(
  world: {
    prepare(kinds: RequestKind[], count: number): Promise<PreparedRequest[]>;
    forget(): Promise<void>;
  },
  bot: LoadTarget,
): Promise<{ text: string }> {
  let last = "";
  for (let attempt = 0; attempt < 40; attempt++) {
    const [request] = await world.prepare(["command"], 1);
    const answer = await bot.fetch(request as PreparedRequest);
    await world.forget();
    if (answer.status === 200 && answer.contentType.startsWith("application/json") && answer.text !== "")
      return answer;
    last = `HTTP ${answer.status}, ${answer.text.length} characters`;
    await sleep(250);
  }
  throw new Error(`the bot's /alerts list ack never carried a page (last: ${last})`);
}

const callsText = (calls: Record<string, number>) =>
  Object.entries(calls)
    .filter(([, n]) => n >= 0.01)
    .map(([method, n]) => `${method} ${n.toFixed(2)}`)
    .join(", ") || "–";

const errorText = (r: { errors: number; errorKinds: Record<string, number> }) =>
  r.errors === 0
    ? "0"
    : `${r.errors} (${Object.entries(r.errorKinds)
        .map(([k, n]) => `${k} ${n}`)
        .join(", ")})`;

export function ackLatencyResult(options: AckLatencyOptions, f: AckLatencyFigures): BenchResult {
  const find = (kind: RequestKind, target: "bot" | "bare", delay: number) =>
    f.rows.find((r) => r.kind === kind && r.target === target && r.posthogDelayMs === delay);

  const steady: BenchTable = {
    caption: `Ack latency at ${options.rate} req/s (ms, request sent → response read)`,
    columns: [
      "Request",
      "Target",
      "PostHog delay",
      "Sent",
      "Errors",
      "p50",
      "p95",
      "p99",
      "max",
      "CPU ms/req",
      "of it, main thread",
      "Slack calls/req",
    ],
    rows: f.rows.map((r) => [
      KIND_LABEL[r.kind],
      TARGET_LABEL[r.target],
      r.posthogDelayMs > 0 ? `${r.posthogDelayMs / 1000} s` : "none",
      r.sent,
      errorText(r),
      ms(r.latency.p50),
      ms(r.latency.p95),
      ms(r.latency.p99),
      ms(r.latency.max),
      r.cpuMsPerRequest.toFixed(2),
      r.mainCpuMsPerRequest.toFixed(2),
      `${callsText(r.slackCallsPerRequest)}${r.answeredInAck ? `; answered in the ack ${r.answeredInAck.toFixed(2)}` : ""}`,
    ]),
  };

  const targets: BenchResult["targets"] = [];
  for (const kind of KINDS) {
    const bot = find(kind, "bot", 0);
    const bare = find(kind, "bare", 0);
    if (!bot || !bare) continue;
    const r = f.ratios[kind];
    const runs = ratioAcrossRuns(f.runsOfBuild ?? [], kind);
    targets.push({
      label: `Ack p99, bot ÷ bare Bolt, ${KIND_LABEL[kind]} at ${options.rate} req/s`,
      goal: `≤ ${ACK_TARGET_RATIO}×`,
      measured: `${r.toFixed(2)}× (${ms(bot.latency.p99)} vs ${ms(bare.latency.p99)} ms${intervalText(f.ratioIntervals?.[kind])})${acrossRunsText(f, runs, kind)}`,
      met: (runs?.median ?? r) <= ACK_TARGET_RATIO && bot.errors === 0,
    });
  }
  for (const kind of KINDS) {
    const slow = find(kind, "bot", options.slowPostHogMs);
    const normal = find(kind, "bot", 0);
    const r = f.slowRatios[kind];
    if (!slow || !normal || r === undefined || options.slowPostHogMs === 0) continue;
    const runs = ratioAcrossRuns(f.runsOfBuild ?? [], `slow ${kind}`);
    targets.push({
      label: `Ack p99 with PostHog answering in ${options.slowPostHogMs / 1000} s, ${KIND_LABEL[kind]}`,
      goal: `unchanged (≤ ${ACK_TARGET_RATIO}× the bot's own p99, no errors)`,
      measured: `${ms(slow.latency.p99)} vs ${ms(normal.latency.p99)} ms (${r.toFixed(2)}×${intervalText(f.slowRatioIntervals?.[kind])}), errors ${slow.errors}${acrossRunsText(f, runs, `slow ${kind}`)}`,
      met: (runs?.median ?? r) <= ACK_TARGET_RATIO && slow.errors === 0,
    });
  }

  const tables: BenchTable[] = [steady];
  if (f.steps.length > 0) {
    tables.push({
      caption: "Step-up, half `/alerts list` and half snooze clicks (ms)",
      columns: [
        "Target",
        "Offered req/s",
        "Sent",
        "Errors",
        "p50",
        "p99",
        "max",
        "Acks/s",
        "Target CPU",
        "Generator lag p99",
        "",
      ],
      rows: f.steps.map((s) => [
        s.target === "bot" ? "bot" : "bare Bolt",
        s.rate,
        s.sent,
        errorText(s),
        ms(s.latency.p50),
        ms(s.latency.p99),
        ms(s.latency.max),
        Math.round(s.throughput),
        `${Math.round(s.cpuShare * 100)}%`,
        ms(s.sendLagP99),
        s.passed ? "ok" : "fails",
      ]),
    });
    tables.push({
      columns: ["", "Highest rate without errors and with p99 ≤ 1 s"],
      rows: [
        ["bot", f.sustained.bot === null ? "below the first step" : `${f.sustained.bot} req/s`],
        ...(f.steps.some((s) => s.target === "bare")
          ? [["bare Bolt", f.sustained.bare === null ? "below the first step" : `${f.sustained.bare} req/s`]]
          : []),
      ],
    });
  }

  return {
    name: "ack-latency",
    title: "Ack latency",
    order: 10,
    ranAt: new Date().toISOString(),
    machine: machineInfo(),
    command: "npm run bench -- ack-latency",
    method:
      "Signed `/alerts list` commands and snooze clicks (block_actions from a notification's snooze menu, " +
      "option `1h`, each with its own response URL) are sent open-loop at a steady rate over keep-alive " +
      "connections. The clicks act on a notification the bot posted at the start (a firing alert sent to its webhook), " +
      "so, as in Slack, each one also records the snooze on that message and queues its redraw (clicks while a redraw waits ride on it). " +
      "They go to the bot (`node dist/main.js` against the fake PostHog and Slack) and to a bare Bolt " +
      "app with the same Bolt version and `HTTPReceiver` whose listeners only ack. " +
      (f.page
        ? "The bot answers `/alerts list` in its ack, with a page the bare app does not send; so a second bare app, whose commands ack with that same page (taken from the bot after the warm-up), is measured beside them, to show what carrying the answer costs apart from what the bot does to find it. "
        : "") +
      (options.world === "inline"
        ? "The fakes run inside the load generator's process. "
        : "The fakes run in a process of their own, so their work on the bot's posts (the fake Slack checks each message against Block Kit's schema) does not delay the generator, which would lengthen only the bot's latencies. ") +
      "Latency runs from handing " +
      "the request to the client to reading the whole response. After a warm-up, each target's time is split into " +
      `${partCount(options)} runs, which take turns in rounds whose order rotates (bot, bare, bot with slow PostHog; bare, slow, bot; slow, bot, bare; and so on; for \`/alerts list\` the page-acking app joins each round as a fourth: bot, bare, slow, page; bare, slow, page, bot; …), so that a spell of load from elsewhere on the machine, which lasts seconds, falls on each alike. ` +
      "The 95% interval beside a ratio shows how far chance alone moves it: the run's rounds are drawn again, with replacement, 2,000 times (each round's runs of the two targets together), and the ratio of the merged p99s is taken each time; the middle 95% of those ratios is the interval. When it spans the target, this run alone cannot tell on which side the bot is. " +
      `Whole runs of the same code move more than that between them, so every run written to \`bench/results/\` is kept (\`${RUNS_FILE}\`) with a hash of what it measured (the built bot, the bare app and the locked dependencies) and its settings; once ${MIN_RUNS} runs of one build and settings exist, a ratio target is judged by the median of all of them, and the Targets table gives each run's ratio. ` +
      "CPU ms/req is the target process's CPU time (including the bot's work after the ack) ÷ requests, and the main thread's part of it is the time of the thread that reads and acks the requests (the rest is the bot's PostHog and checkpoint threads, and V8's compiler and garbage-collector helpers); " +
      "Slack calls/req counts the Web API calls and response URL posts that work made, and the share of requests answered in the ack itself.",
    settings: {
      "seconds per target and kind": options.seconds,
      "runs per target and kind": partCount(options),
      "warm-up seconds per target and kind": options.warmupSeconds,
      "rate (req/s)": options.rate,
      "bot LOG_LEVEL": options.logLevel,
      fakes: options.world === "inline" ? "in the generator's process" : "own process",
      "alerts in PostHog": 30,
      ...(options.stepUp ? { "seconds per step": options.stepUp.stepSeconds } : {}),
    },
    targets,
    tables,
    limits: ackLimits(options, f),
    notes: [
      quietNote(f.otherCpu),
      partsNote(f),
      `Resident memory after all of the above: bot ${f.memory.bot.rssMb.toFixed(0)} MB (peak ${f.memory.bot.hwmMb.toFixed(0)} MB), bare Bolt ${f.memory.bare.rssMb.toFixed(0)} MB.${f.steps.some((s) => s.target === "bot" && !s.passed) ? " The bot's figures include the step-up's last step, where it was overloaded and its replies to response URLs piled up; the memory benchmark measures it at a steady 100 req/s." : ""}`,
      options.world === "inline"
        ? "The generator and both fakes share the bench process; “generator lag” is how late it sent against its schedule. When it grows, the bench process, not the target, is the bottleneck."
        : "“Generator lag” is how late the load generator sent against its schedule. When it grows, the machine, not the target, is the bottleneck; the fakes run in a process of their own beside it.",
    ].filter((note) => note !== ""),
    data: f,
  };
}

/**
 * "; median of 3 runs of this build 1.12× (1.28×, 1.00×, 1.12×)", or, before there are enough
 * runs, how many there are so far; nothing for results written before runs were kept.
 */
function acrossRunsText(f: AckLatencyFigures, runs: RatioAcrossRuns | null, name: string): string {
  if (runs)
    return `; median of ${runs.values.length} runs of this build ${runs.median.toFixed(2)}× (${runs.values.map((v) => `${v.toFixed(2)}×`).join(", ")})`;
  const count = ratioValues(f.runsOfBuild ?? [], name).length;
  return count > 0
    ? `; run ${count} of this build (the verdict is this run's until there are ${MIN_RUNS} runs to take the median of)`
    : "";
}

/** How the targets are judged, given the runs of this build so far that measured all of this run's ratios. */
function acrossRunsLimit(f: AckLatencyFigures): string {
  const measured = runRatios(f);
  const names = TARGET_RATIOS.filter((name) => name in measured);
  if (names.length === 0) return "";
  const runs = Math.min(...names.map((name) => ratioValues(f.runsOfBuild ?? [], name).length));
  if (runs >= MIN_RUNS) return `, so the targets are judged by the median of the ${runs} runs of this build`;
  if (runs > 0)
    return `; once there are ${MIN_RUNS} runs of this build, the targets are judged by their median`;
  return "";
}

/** "; 95% interval 0.95–1.80×": a ratio's bootstrap interval, when the run had one. */
function intervalText(interval: Interval | undefined): string {
  if (!interval || !Number.isFinite(interval.low) || !Number.isFinite(interval.high)) return "";
  return `; 95% interval ${interval.low.toFixed(2)}–${interval.high.toFixed(2)}×`;
}

/** Runs per target and kind: at least 2. */
function partCount(options: AckLatencyOptions): number {
  return Math.max(2, Math.round(options.parts ?? DEFAULT_PARTS));
}

type Slot = "bot" | "bare" | "slow" | "page";

/** `runs` rounds of every slot, each round's order rotated by one from the last. */
export function runOrder(runs: number, withSlow: boolean, withPage = false): Slot[] {
  const slots: Slot[] = ["bot", "bare"];
  if (withSlow) slots.push("slow");
  if (withPage) slots.push("page");
  return Array.from({ length: runs }, (_, round) =>
    slots.map((_, i) => slots[(i + round) % slots.length] as Slot),
  ).flat();
}

/** The p99 of each run merged into a row: how far the machine alone moves a p99 between runs. */
function partsNote(f: AckLatencyFigures): string {
  const parts = f.rows
    .filter((r) => (r.partP99s ?? []).length > 1)
    .map(
      (r) =>
        `${KIND_LABEL[r.kind]} ${TARGET_LABEL[r.target]}${r.posthogDelayMs > 0 ? " (slow PostHog)" : ""} ${spreadOf(r.partP99s ?? [])}`,
    );
  return parts.length > 0
    ? `Each row of the steady-rate table merges ${f.rows[0]?.partP99s?.length ?? 0} runs; the p99s of those runs (ms, lowest–highest, median) were: ${parts.join("; ")}.`
    : "";
}

/** Lowest–highest and median of a few figures, in ms. */
function spreadOf(values: number[]): string {
  if (values.length === 0) return "–";
  return `${ms(Math.min(...values))}–${ms(Math.max(...values))}, median ${ms(median(values))}`;
}

function ackLimits(options: AckLatencyOptions, f: AckLatencyFigures): string[] {
  const lines: string[] = [];
  /** The steady-rate row (PostHog at full speed) of a kind and target. */
  const steady = (kind: RequestKind, target: TargetName) =>
    f.rows.find((r) => r.kind === kind && r.target === target && r.posthogDelayMs === 0);
  const cmdBotRow = steady("command", "bot");
  const cmdBareRow = steady("command", "bare");
  const snzBotRow = steady("snooze", "bot");
  const snzBareRow = steady("snooze", "bare");
  const cmdBot = cmdBotRow?.cpuMsPerRequest;
  const snzBot = snzBotRow?.cpuMsPerRequest;
  const cpuText = (what: string, bot: AckRow | undefined, bare: AckRow | undefined) =>
    bot && bare
      ? `${what} ${bot.mainCpuMsPerRequest.toFixed(2)} ms on the thread that acks and ${bot.cpuMsPerRequest.toFixed(2)} ms in all (the bare app ${bare.mainCpuMsPerRequest.toFixed(2)} and ${bare.cpuMsPerRequest.toFixed(2)} ms)`
      : null;
  const cpu = [
    cpuText("per `/alerts list`", cmdBotRow, cmdBareRow),
    cpuText("per snooze click", snzBotRow, snzBareRow),
  ].filter((t) => t !== null);
  if (cpu.length > 0) {
    lines.push(
      `the acks share one JavaScript thread with the work that follows them and with its garbage collector, and the generator, the fakes and the targets share ${machineInfo().cores} cores. The bot's CPU in this run: ${cpu.join("; ")}.`,
    );
  }
  const paged = steady("command", "bare-page");
  if (f.page && cmdBotRow && cmdBareRow && paged) {
    const empty = f.ratios.command;
    const { low, high } = f.page.interval;
    // A verdict only where the run can carry it: the page-acking app no faster than the empty
    // one, and the interval on one side of the target.
    const pageCosts = paged.latency.p99 >= cmdBareRow.latency.p99;
    const verdict = !pageCosts
      ? ""
      : high <= ACK_TARGET_RATIO && empty > ACK_TARGET_RATIO
        ? " So what the bot's list acks take beyond the target is their answer's bytes, which the bare app does not send."
        : low > ACK_TARGET_RATIO
          ? " So in this run the bot's list acks take more than their answer's bytes explain."
          : "";
    lines.push(
      `\`/alerts list\` answers in its ack: the bot's page is ${(f.page.bytes / 1000).toFixed(1)} kB of JSON, where the bare app's ack is empty. A second bare app acking with that same page (taken from the bot in this run) had a p99 of ${ms(paged.latency.p99)} ms and spent ${paged.cpuMsPerRequest.toFixed(2)} ms of CPU per command (the empty ack ${cmdBareRow.cpuMsPerRequest.toFixed(2)} ms); the bot's p99 is ${f.page.ratio.toFixed(2)}× that (95% interval ${f.page.interval.low.toFixed(2)}–${f.page.interval.high.toFixed(2)}×), against ${empty.toFixed(2)}× the empty ack's.${verdict} Sending the page as bytes encoded once, or with a Content-Length instead of chunks, did not move the ratio (What we found, below).`,
    );
  }
  if (snzBotRow) {
    lines.push(
      `a snooze click is work the bare app does not do: reading the alert and the PATCH (one hand-over to the PostHog thread, which runs at a lower CPU priority), the record of the change (committed without waiting for the disk), and the redraw of its message (Slack calls per click: ${callsText(snzBotRow.slackCallsPerRequest)}).`,
    );
  }
  lines.push(
    `the machine: a p99 moves between the runs merged into one row (their spread is in the notes below), and the ratio of a whole run moves between runs of the same code by more than one run's interval shows, as the machine's load changes (What we found, below). Where a ratio's interval spans ${ACK_TARGET_RATIO}×, one run cannot tell on which side the bot is${acrossRunsLimit(f)}.`,
  );
  const botLag = f.rows.filter((r) => r.target === "bot" && r.posthogDelayMs === 0).map((r) => r.sendLagP99);
  const bareLag = f.rows.filter((r) => r.target === "bare").map((r) => r.sendLagP99);
  if (botLag.length > 0 && bareLag.length > 0) {
    lines.push(
      options.world === "inline"
        ? `the fakes ran in the generator's process: the fake Slack's check of each list reply against Block Kit's schema delayed the generator in the bot's runs only (lag p99 up to ${ms(Math.max(...botLag))} ms, against ${ms(Math.max(...bareLag))} ms in the bare app's), which lengthens the bot's measured latencies.`
        : `the fakes run in a process of their own; the generator's lag p99 was up to ${ms(Math.max(...botLag))} ms in the bot's runs and ${ms(Math.max(...bareLag))} ms in the bare app's. Their work on the bot's calls (Block Kit checks, PostHog's answers) lands on the same cores, in the bot's runs only.`,
    );
  }
  const authTests = f.rows
    .filter((r) => r.target === "bot" && r.posthogDelayMs === 0)
    .map((r) => r.slackCallsPerRequest["auth.test"] ?? 0);
  if (authTests.length > 0 && Math.min(...authTests) >= 0.5) {
    lines.push(
      "the bot calls Slack's `auth.test` before acknowledging every request: Bolt's single-token authorization, with `tokenVerificationEnabled: false` and no `botId`/`botUserId`, repeats it per request. On loopback it costs CPU; against slack.com it puts a network round trip in front of every ack.",
    );
  }
  const moved = KINDS.filter((kind) => (f.slowRatios[kind] ?? 0) > ACK_TARGET_RATIO);
  const slowSnooze = f.rows.find(
    (r) => r.kind === "snooze" && r.target === "bot" && r.posthogDelayMs === options.slowPostHogMs,
  );
  if (moved.includes("snooze") && slowSnooze && snzBotRow) {
    // A click reads the alert, then PATCHes it: two answers to wait for, one after the other.
    const waiting = Math.round((options.rate * 2 * options.slowPostHogMs) / 1000);
    const [slowMain, main] = [slowSnooze.mainCpuMsPerRequest, snzBotRow.mainCpuMsPerRequest];
    const sameWork = Math.abs(slowMain - main) <= 0.15 * main;
    lines.push(
      `with PostHog answering in ${options.slowPostHogMs / 1000} s, a click waits for two answers in turn (the read, then the PATCH), so about ${waiting} clicks wait on PostHog at any time, each on a connection the bot opens for it, and the fake PostHog holds their answers and releases them in bursts, all on the same cores. The thread that acks spent ${slowMain.toFixed(2)} ms of CPU per click, against ${main.toFixed(2)} ms with PostHog at full speed${sameWork ? " (the same work)" : ""}; the bot in all ${slowSnooze.cpuMsPerRequest.toFixed(2)} ms against ${snzBotRow.cpuMsPerRequest.toFixed(2)} ms. PostHog's 480 requests a minute per key keep a real workspace far below this load.`,
    );
  }
  if (moved.includes("command")) {
    const spread = (delay: number) =>
      spreadOf(
        f.rows.find((r) => r.kind === "command" && r.target === "bot" && r.posthogDelayMs === delay)
          ?.partP99s ?? [],
      );
    lines.push(
      `\`/alerts list\` does not wait on PostHog (the cached list is refreshed in the background, one request every 15 s), so a slower PostHog adds no work to its path, yet its p99 with PostHog slow was ${(f.slowRatios.command ?? 0).toFixed(2)}× its own; the separate runs show how far the machine alone moves a p99 (the bot with PostHog at normal speed ${spread(0)} ms, with PostHog slow ${spread(options.slowPostHogMs)} ms).`,
    );
  }
  const failed = f.steps.find((s) => s.target === "bot" && !s.passed);
  const cpuPerMixed = ((cmdBot ?? 0) + (snzBot ?? 0)) / 2 || 1;
  if (failed) {
    const lagBound = failed.sendLagP99 > 20;
    lines.push(
      lagBound
        ? `the step-up stopped at ${failed.rate} req/s with the generator ${ms(failed.sendLagP99)} ms behind schedule: the machine (the generator, the fakes and the bot, on ${machineInfo().cores} cores) ran out of CPU, so ${f.sustained.bot === null ? "this step says little about the bot alone" : `the bot's own ceiling is at least ${f.sustained.bot} req/s`}.`
        : `at ${failed.rate} req/s the bot's acks queued behind the work after earlier acks: at about ${cpuPerMixed.toFixed(1)} ms of CPU per request, one thread keeps up with about ${Math.round(1000 / cpuPerMixed)} requests a second.`,
    );
  } else if (f.steps.length > 0) {
    lines.push(
      `the bot kept up with every step, up to ${f.sustained.bot} req/s; the generator sets the ceiling.`,
    );
  }
  return lines;
}
