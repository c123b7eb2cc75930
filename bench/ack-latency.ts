/**
 * Ack latency: how fast the bot acknowledges Slack interactions, compared with
 * a bare Bolt app on the same machine, with the same Bolt version and receiver,
 * whose listeners only ack. Slack gives up on an interaction after 3 s, so
 * this is the figure a person feels first.
 *
 * Both run as their own processes (the bot as `node dist/main.js`), driven by
 * the same open-loop generator with the same signed requests. Runs alternate
 * bot, bare, bare, bot so that drift (CPU frequency, other load) touches both.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { setPriority, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { type LoadResult, LoadTarget, mergeRuns, type PreparedRequest } from "./lib/load.js";
import {
  type Child,
  cpuSnapshot,
  freePort,
  type MemoryFigures,
  otherCpuShare,
  readCpuMs,
  readMainThreadCpuMs,
  readMemory,
  startBareBolt,
  startBot,
} from "./lib/processes.js";
import { type BenchResult, type BenchTable, machineInfo, quietNote, writeResult } from "./lib/report.js";
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

interface Target {
  name: "bot" | "bare";
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
  target: "bot" | "bare";
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
  target: "bot" | "bare",
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

    // Steady rate. Bot, bare and the bot with slow PostHog take turns in short runs, each round
    // in a rotated order (bot, bare, slow; bare, slow, bot; slow, bot, bare; …), so a spell of load
    // from elsewhere on the machine, which lasts seconds, falls on all three alike.
    const rows: AckRow[] = [];
    const ratios = { command: Number.NaN, snooze: Number.NaN };
    const slowRatios: Partial<Record<RequestKind, number>> = {};
    const ratioIntervals: Partial<Record<RequestKind, Interval>> = {};
    const slowRatioIntervals: Partial<Record<RequestKind, Interval>> = {};
    const slowMs = options.slowPostHogMs;
    const runs = partCount(options);
    const order = runOrder(runs, slowMs > 0);
    for (const kind of kinds) {
      log(
        `${kind} at ${options.rate} req/s, ${options.seconds} s per target${slowMs > 0 ? ` (and the bot with PostHog answering in ${slowMs} ms)` : ""}`,
      );
      const parts: Record<Slot, Measured[]> = { bot: [], bare: [], slow: [] };
      for (const slot of order) {
        const target = slot === "bare" ? bareTarget : botTarget;
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
      const targets = step.includeBare ? [botTarget, bareTarget] : [botTarget];
      for (const target of targets) {
        for (let rate = step.startRate; rate <= step.maxRate; rate *= 2) {
          log(`step: ${target.label} at ${rate} req/s (mixed) for ${step.stepSeconds} s`);
          const m = await measure(target, KINDS, rate, step.stepSeconds, { maxSettleMs: 30_000 });
          const passed = m.load.errors === 0 && m.load.latency.p99 <= step.p99LimitMs;
          describe(`${target.label} ${rate} req/s${passed ? "" : " (failed)"}`, m);
          steps.push({
            target: target.name,
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
          sustained[target.name] = rate;
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
        readCpuMs(bot.child.pid) + readCpuMs(bare.child.pid) + (worldPid === null ? 0 : readCpuMs(worldPid)),
        machineInfo().cores,
      ),
    };
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
      r.target === "bot" ? "bot" : "bare Bolt",
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
    targets.push({
      label: `Ack p99, bot ÷ bare Bolt, ${KIND_LABEL[kind]} at ${options.rate} req/s`,
      goal: `≤ ${ACK_TARGET_RATIO}×`,
      measured: `${r.toFixed(2)}× (${ms(bot.latency.p99)} vs ${ms(bare.latency.p99)} ms${intervalText(f.ratioIntervals?.[kind])})`,
      met: r <= ACK_TARGET_RATIO && bot.errors === 0,
    });
  }
  for (const kind of KINDS) {
    const slow = find(kind, "bot", options.slowPostHogMs);
    const normal = find(kind, "bot", 0);
    const r = f.slowRatios[kind];
    if (!slow || !normal || r === undefined || options.slowPostHogMs === 0) continue;
    targets.push({
      label: `Ack p99 with PostHog answering in ${options.slowPostHogMs / 1000} s, ${KIND_LABEL[kind]}`,
      goal: `unchanged (≤ ${ACK_TARGET_RATIO}× the bot's own p99, no errors)`,
      measured: `${ms(slow.latency.p99)} vs ${ms(normal.latency.p99)} ms (${r.toFixed(2)}×${intervalText(f.slowRatioIntervals?.[kind])}), errors ${slow.errors}`,
      met: r <= ACK_TARGET_RATIO && slow.errors === 0,
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
      (options.world === "inline"
        ? "The fakes run inside the load generator's process. "
        : "The fakes run in a process of their own, so their work on the bot's posts (the fake Slack checks each message against Block Kit's schema) does not delay the generator, which would lengthen only the bot's latencies. ") +
      "Latency runs from handing " +
      "the request to the client to reading the whole response. After a warm-up, each target's time is split into " +
      `${partCount(options)} runs, which take turns in rounds whose order rotates (bot, bare, bot with slow PostHog; bare, slow, bot; slow, bot, bare; and so on), so that a spell of load from elsewhere on the machine, which lasts seconds, falls on each alike. ` +
      "The 95% interval beside a ratio shows how far chance alone moves it: the run's rounds are drawn again, with replacement, 2,000 times (each round's two runs together), and the ratio of the merged p99s is taken each time; the middle 95% of those ratios is the interval. When it spans the target, this run alone cannot tell on which side the bot is. " +
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

/** Runs per target and kind: at least 2. */
/** "; 95% interval 0.95–1.80×": a ratio's bootstrap interval, when the run had one. */
function intervalText(interval: Interval | undefined): string {
  if (!interval || !Number.isFinite(interval.low) || !Number.isFinite(interval.high)) return "";
  return `; 95% interval ${interval.low.toFixed(2)}–${interval.high.toFixed(2)}×`;
}

function partCount(options: AckLatencyOptions): number {
  return Math.max(2, Math.round(options.parts ?? DEFAULT_PARTS));
}

type Slot = "bot" | "bare" | "slow";

/** `runs` rounds of every slot, each round's order rotated by one from the last. */
export function runOrder(runs: number, withSlow: boolean): Slot[] {
  const slots: Slot[] = withSlow ? ["bot", "bare", "slow"] : ["bot", "bare"];
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
        `${KIND_LABEL[r.kind]} ${r.target === "bot" ? "bot" : "bare Bolt"}${r.posthogDelayMs > 0 ? " (slow PostHog)" : ""} ${spreadOf(r.partP99s ?? [])}`,
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
  const steady = (kind: RequestKind, target: "bot" | "bare") =>
    f.rows.find((r) => r.kind === kind && r.target === target && r.posthogDelayMs === 0);
  const cpu = (kind: RequestKind, target: "bot" | "bare") => steady(kind, target)?.cpuMsPerRequest;
  const cmdBot = cpu("command", "bot");
  const cmdBare = cpu("command", "bare");
  const snzBot = cpu("snooze", "bot");
  const snzBare = cpu("snooze", "bare");
  if (cmdBot !== undefined && cmdBare !== undefined && snzBot !== undefined && snzBare !== undefined) {
    lines.push(
      `the acks share one JavaScript thread with the work that follows them, and with the garbage collector. Profiled under this load, that work was mostly: Bolt's \`respond()\` posting through the global \`fetch\` (about 1.2 ms of CPU per \`/alerts list\` and the most garbage of anything), rendering the 20-row list (0.5 ms: a zod parse for each of 100 menu values, labels rebuilt per row), serializing it (22 kB), and twenty Bolt listeners whose middleware ran for every request around its ack (0.3 ms); the garbage made young-generation collections of 10–70 ms on this machine, the largest source of the tail. Now the reply goes out through undici's \`request\` on its own keep-alive pool, menu values are checked on decode only, a row is rendered and serialized once per alert object while the alert list is cached, one Bolt listener per kind of interaction routes by id, and the work after an ack runs in slices (build, then post; a snooze's PostHog answer, then the database write) with a turn of the event loop between them. A later profile found Bolt's conversation store (unused here) building an Error with a stack trace for every request before its ack, now switched off, and every snooze dropping the cached alert list, so the next \`/alerts list\` read PostHog again; a confirmed write now updates the cached list in place. A profile of what the bot allocates (not only of its CPU) then found Bolt writing each list ack with \`JSON.stringify\` and flattening the 22 kB result to count its bytes: 64% of the bot's allocations under this load, and 206 young-generation collections in a 40-second list run against the bare app's 37. A page is now serialized once per cached list and query and handed to Bolt as text, with the response marked as JSON: 89 collections in the same run, and 2.3–2.4 ms of CPU per list instead of 2.7. The five Bolt listeners left (one per kind of request) still ran five promise chains, each with its own copy of the arguments, around every ack: a third of what the bot allocated per \`/alerts list\` (a sampling profile of allocations, dead objects included, over the same 30 s list run: 83 MB with them, 54 MB without). One global middleware now routes every request and Bolt has no listener at all; the bot's CPU per list then matched the bare app's (0.78 against 0.77 ms in the run of 29 November at 21:20).`,
    );
    lines.push(
      `what is left: the bot spends ${cmdBot.toFixed(2)} ms of CPU per \`/alerts list\` and ${snzBot.toFixed(2)} ms per snooze click (the bare app ${cmdBare.toFixed(2)} and ${snzBare.toFixed(2)} ms). A list page the cached alerts can answer goes out in the ack itself, so it costs no second HTTP request to the response URL (which had made the bot's CPU per list 3.6 ms); after a snooze, the row PostHog sent back is named from the insight looked up before, so that list is answered in the ack too. A snooze click is real work the bare app does not do: reading the alert from PostHog (so that a longer snooze already in place is not cut short), the PATCH, checking PostHog's answers, and the database write; an ack that arrives during one of those slices waits for it. The PATCH alone cost the bot about 1.6 ms of CPU per click (a bot that acked snooze clicks and did nothing else used 1.8 ms per click, the bare app 1.7; with the PATCH and nothing after it, 3.4), and a plain \`node:http\` request to a loopback server costs about 1 ms here: waking another process or thread is expensive on this VM (about 0.4 ms for a socket write that wakes the fake PostHog). That work's garbage also reached the old generation: under snooze load a young-generation collection every 110 ms or so, each moving about 200 kB to the old generation (the bare app a third of that), and a full collection every 3 s, at about 27.5 MB over 20 MB of live data, with final pauses of 3–18 ms and incremental marking steps of up to 16 ms that land in the p99. So PostHog calls now run on a worker thread of their own (\`src/posthog/thread.ts\`): the socket work, timers, JSON parsing and zod checks, and their garbage, leave the thread that acks. What stays is handing the call over, which still costs about 0.5 ms per call here (\`postMessage\` wakes the worker, as the socket write woke PostHog), the database write, and the refresh of the message. The thread also told the main thread of each HTTP attempt (for the log and /healthz) in a message of its own, two per click; they now ride on the answer, so a click wakes the thread that acks once (2.63 ms of CPU per click against 2.75 in the runs either side of the change, 29 November). In runs of 16 parts taken in turns with the bare app (snooze only, 40 s per target), the snooze p99 ratio was 1.05–1.77×, median 1.43×, over 13 runs with the PATCH on the main thread (4 of them at or under 1.25×), and 1.02–1.72×, median 1.18×, over 13 runs with it on its own thread (8 at or under 1.25×; a first version of the thread in 7 of them); the bot's total CPU per click rose by about 0.5 ms (the hand-over), and its resident memory by about 20 MB (the thread's own heap and modules; see Start time and memory). The read before the PATCH came later and added about 0.7 ms of CPU per click across the bot's two threads (3.2–4.2 ms per click in runs of 29 November before it, 4.16 ms in the last of them at 10:41; 4.83 ms in the run of 12:10 that day); the read and the PATCH now go to the PostHog thread as one call, so a click still hands over once. Until 29 November at 13:30 the clicks named a message the bot had never posted, so it had no message to record the snooze on or to redraw, as it has for every click in Slack. Aimed at a notification the bot posted, the clicks cost about 0.7 ms more CPU each (the message's record written, a redraw queued, the delivery worker woken), and the snooze p99 ratio was 1.62×, 1.89× and 1.57× in three runs of 8 parts of 30 s. Making the record and the redraw one database transaction, and not waking the delivery worker for a redraw that merges into one still waiting, moved neither figure beyond the noise (1.94×, 1.11×, 1.77× and 1.81× in the next four runs). What seems to help: the PostHog thread now runs at a lower CPU priority than the thread that acks (10 nice steps lower, \`THREAD_NICENESS\`). The generator, the fakes and both targets share two cores; when they are all busy, Linux's scheduler now gives the thread that acks about nine times the PostHog thread's share of CPU time. In eight alternating runs the ratio was 1.10×, 1.37× and 0.75× with the lower priority (and 3.79× in a fourth, while other programs took 10% of the CPU and two of its eight parts had p99s of 63 and 111 ms), and 1.77×, 1.81×, 1.70× and 1.12× without: medians of about 1.24× against 1.74×, but one run without it beat two with it, so this suggests rather than proves. The ratio of a single run stays noisy: the p99s of the 8 parts of one run spread over 4–44 ms for the bare app alone.`,
    );
    const snzBotMain = steady("snooze", "bot")?.mainCpuMsPerRequest;
    const snzBareMain = steady("snooze", "bare")?.mainCpuMsPerRequest;
    lines.push(
      `where a snooze click's CPU goes, thread by thread: in this run ${snzBotMain?.toFixed(2) ?? "–"} ms on the bot's main thread, the one that acks (the bare app's: ${snzBareMain?.toFixed(2) ?? "–"} ms), and the rest on its other threads. Counted per thread from /proc on 29 November (runs of 4 parts of 20 s), those were about 2.2 ms on the PostHog thread and 1.1–1.4 ms on V8's helper threads. The helpers were still compiling with TurboFan in the last 40 s of a run, about 20 functions a second while the bot was under load, at 10–16 ms each on this machine (undici's and Node's stream functions among them): V8 drops optimized code when an object it embeds dies in a full collection ("weak objects", 42 times in those 40 s) or an object's shape changes (14), and compiles it again when it is hot. A 16 MB young generation (\`--max-semi-space-size=16\`) cut the helpers to 1.1 ms and the PostHog thread to 1.9 ms per click, but two isolates with 16 MB semi-spaces would take memory the 150 MB target has no room for (see Start time and memory). No single part of the rest stood out in \`perf\` profiles: on the PostHog thread undici's request and response handling, the \`postMessage\` hand-over and zod's checks (25–50 µs per alert outside the load) each took a few per cent; on the main thread the database transaction took about 0.12 ms of CPU per click. It held that thread longer than its CPU time, though: each click's record was committed with \`synchronous = FULL\`, so the thread waited for an fsync of the log. A profile of the main thread under snooze load (29 November, late) found a third of its busy time in that commit, about 0.36 ms per click; alone on this disk such a commit takes 0.19 ms on average (p99 0.29 ms, up to 0.9 ms) against 0.014 ms without the fsync. The bare app writes nothing. A change made from Slack is now committed without an fsync of its own (PostHog holds the change; the background checkpoint fsyncs the log within 100 ms, and the poller restores a record a power cut loses; only the first write after a checkpoint still waits, for the new log's header), and the webhook intake and delivery claims still wait for theirs. In six runs taken in turns (snooze only, 8 parts of 30 s), the ratio was 1.16×, 1.34× and 1.13× with the fsync and 1.02×, 1.16× and 0.87× without, and the main thread's CPU per click 1.13–1.18 ms against 0.97–1.06 ms; two more runs without it gave 0.84× and 0.92×. In the run of this benchmark that followed (20 s per target then, in 16 parts of 1.25 s), it was 1.59× with an interval of 0.73–2.53×: three of the bot's sixteen parts had p99s of 9–15 ms, none of the bare app's, and three of the bare app's sixteen \`/alerts list\` parts had p99s over 12 ms, none of the bot's. Those are stalls of the whole machine landing on one target or the other; this benchmark now measures 60 s per target for that reason.`,
    );
    lines.push(
      "where the tail's pauses come from: a timer firing every millisecond in both processes, logging each gap over 4 ms, during `/alerts list` at 100 req/s (30 s per target in 4 parts, 29 November): 99 such pauses in the bot and 108 in the bare app; 35 and 26 over 6 ms, of which 9 and 5 fell on a garbage collection of the thread that acks. So the machine holds up both processes alike (about 25 long pauses a run each that no collection explains), and what the bot adds is its own collections: 185 on that thread against the bare app's 75, from the work it does per request. The same run's p99s were 4.47 and 3.80 ms (1.18×).",
    );
    lines.push(
      "the `/alerts list` ratio moves with the machine more than with the code: in runs of 8 parts of 30 s taken in turns late on 29 November, the code as it was before that night's changes (none of which touch the list) gave 1.08×, 1.35× and 1.21×, and the code after them 1.31×, 1.15×, 1.49× and 1.34×, against 0.70–1.02× in the four runs of this benchmark between 21:20 and 22:59 that day. The bare app had become faster (p99 2.3–3.4 ms, against 3.8–3.9 ms in the last two of those runs), the bot much less so. Its list ack carries the 22 kB page the bare app does not send (p50 0.01–0.13 ms above the bare app's in those runs), and its main thread ran about 1.5 young-generation collections for each of the bare app's under load (about 60 against 40 in 40 s, with the bare app allocating twice as much: the 2 MB young generation); an 8 MB young generation gave 1.24× and 1.27× against 1.49× and 1.34× with 2 MB in alternating runs, a gain within the noise that would cost the memory the 150 MB target has no room for.",
    );
    lines.push(
      "tried and not kept: young-generation sizes of 2, 4, 8 and 16 MB moved neither p99 beyond the run-to-run noise (over eight 15-second runs the bot's p99 ranged 9–15 ms and the bare app's 5.5–14 ms), so `npm start` keeps the 2 MB that keeps memory low; pinning the process under test to one core and the generator with the fakes to the other made both tails longer (the bot's garbage-collector helpers and checkpoint thread then share its core, and the generator fell behind); giving the fakes a lower CPU priority gave 1.0× in one run and 1.6× in the next; running both targets and the fakes 5 nice steps below the generator (so that the generator, standing in for Slack, reads each response as soon as it comes) gave 1.82× and 1.30× (and 5.7× while other programs took 31% of the CPU) against 1.33×, 1.68× and 1.52× in alternating runs without (snooze only, 8 parts of 30 s, 29 November); in snooze runs, a 16 MB young generation cut full collections from 9 to 5 but moved the p99 no further than the noise, and turning off V8's allocation-site pretenuring changed nothing (9 either way). Sampled under snooze load (29 November, late), the bot's main thread allocated 10% more than the bare app (118 against 107 MB in 25 s, most of it Bolt's parsing of the form body in both) yet ran 213 young-generation collections to the bare app's 112 in 80 s: the difference is the 2 MB young generation `npm start` sets, not the bot's garbage. Run again with 8 MB after the click's commit stopped waiting for the disk, it gave 1.27× and 0.97× against 0.84× and 0.92× with 2 MB in alternating runs, so the memory stays saved. The same machine also drifts by hours: the do-nothing server of the intake benchmark needed 0.061 ms of CPU per request in one run and 0.09 ms four hours later.",
    );
  }
  const botLag = f.rows.filter((r) => r.target === "bot" && r.posthogDelayMs === 0).map((r) => r.sendLagP99);
  const bareLag = f.rows.filter((r) => r.target === "bare").map((r) => r.sendLagP99);
  if (botLag.length > 0 && bareLag.length > 0) {
    lines.push(
      options.world === "inline"
        ? `the fakes ran in the generator's process: the fake Slack's check of each list reply against Block Kit's schema delayed the generator in the bot's runs only (lag p99 up to ${ms(Math.max(...botLag))} ms, against ${ms(Math.max(...bareLag))} ms in the bare app's), which lengthens the bot's measured latencies.`
        : `the fakes run in their own process (they used to share the generator's, where the fake Slack's Block Kit check of each 22 kB reply delayed the generator in the bot's runs only); the generator's lag p99 was up to ${ms(Math.max(...botLag))} ms in the bot's runs and ${ms(Math.max(...bareLag))} ms in the bare app's, as both still share ${machineInfo().cores} cores with the fakes. The fakes' own work on the bot's calls lands on those cores too, and only in the bot's runs: the fake Slack now checks each distinct reply once instead of every copy (it cost about 1 ms of CPU per list), and the fake PostHog finds an alert's newest check in one pass instead of sorting every check on each write (with thousands of snoozes on one alert, that had grown to a few ms per click).`,
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
  if (moved.includes("snooze")) {
    const waiting = Math.round((options.rate * options.slowPostHogMs) / 1000);
    lines.push(
      `with PostHog answering in ${options.slowPostHogMs / 1000} s, about ${waiting} snooze clicks wait on it at any time. Each used to hold Bolt's whole request (the payload with the message it came from, the context, the middleware frames) until PostHog answered; now Bolt lets go at the ack and a click keeps only its ids, its response URL and its PostHog request. What still differs from the normal run is the fakes' work: the fake PostHog holds ${waiting} delayed answers and releases them in bursts, on the same cores (the generator's lag p99 rises with it).`,
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
