/**
 * Webhook intake: how many `$insight_alert_firing` events per second the bot
 * accepts (stores durably and answers 202), and how long each waits, with 32
 * in flight. Beside it, driven the same way in the same run, a do-nothing
 * HTTP server shows what the load generator and Node's HTTP stack cost on
 * their own, so the bot's own share is the difference.
 *
 * The bot runs as deployed (`node dist/main.js`, SQLite file on disk, the
 * delivery worker posting to ALERTS_CHANNEL), then once more with
 * ALERTS_CHANNEL unset so nothing is delivered, which separates intake from
 * delivery. Afterwards the database is opened read-only: every 202 must be
 * one stored row.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ClosedLoopResult, ClosedLoopTarget, mergeClosedLoop } from "./lib/closed-loop.js";
import { type Child, cpuSnapshot, freePort, otherCpuShare, readCpuMs, startBot } from "./lib/processes.js";
import { type BenchResult, type BenchTable, machineInfo, quietNote, writeResult } from "./lib/report.js";
import { type LatencyStats, ms } from "./lib/stats.js";
import {
  firingRequest,
  int,
  num,
  readStoredCounts,
  type StoredCounts,
  startNullServer,
} from "./lib/webhooks.js";
import { startWorld, type World } from "./lib/world.js";

export interface IntakeOptions {
  /** Seconds of measurement per target and phase (run as two halves, A-B-B-A). */
  seconds: number;
  /** Requests in flight (closed loop). */
  concurrency: number;
  /** Seconds of warm-up per target before each phase; discarded. */
  warmupSeconds: number;
  /** The bot's LOG_LEVEL. */
  logLevel: string;
  /** Also measure a bot with ALERTS_CHANNEL unset (nothing to deliver). */
  noChannelRun: boolean;
  /** Where to write intake.json; null writes nothing. */
  resultsDir: string | null;
  log?: (line: string) => void;
}

export const INTAKE_TARGET_PER_SECOND = 2_000;
export const INTAKE_TARGET_P99_EXTRA_MS = 25;

export function intakeOptionsFromEnv(env: NodeJS.ProcessEnv, resultsDir: string | null): IntakeOptions {
  const seconds = num(env, "BENCH_SECONDS", 20);
  return {
    seconds,
    concurrency: num(env, "BENCH_CONCURRENCY", 32),
    warmupSeconds: num(env, "BENCH_WARMUP_SECONDS", Math.min(3, seconds)),
    logLevel: env.BENCH_LOG_LEVEL || "warn",
    noChannelRun: env.BENCH_INTAKE_NO_CHANNEL !== "0",
    resultsDir,
    log: (line) => process.stdout.write(`${line}\n`),
  };
}

export type IntakeTarget = "bot" | "bot-no-channel" | "null";

export interface IntakeRow {
  target: IntakeTarget;
  /** The phase: each bot is compared with the do-nothing server measured beside it. */
  phase: number;
  sent: number;
  accepted: number;
  errors: number;
  errorKinds: Record<string, number>;
  latency: LatencyStats;
  acceptedPerSecond: number;
  /** Accepted per second in each half (the bot's first half runs with a shorter delivery queue). */
  halves: number[];
  /** CPU time of the target process per request, including work after the answer. */
  cpuMsPerRequest: number;
  /** CPU time of the target process ÷ wall time (1 = one core busy). */
  cpuShare: number;
  /** The same for the bench process (load generator and fakes). */
  benchCpuShare: number;
}

export interface IntakeStoreCheck {
  target: Exclude<IntakeTarget, "null">;
  /** 202s the bot answered over its whole life (warm-up included). */
  accepted: number;
  /** Requests that did not get a 202 (any error), warm-up included. */
  failed: number;
  stored: StoredCounts;
  /**
   * Size of the write-ahead log file just before the bot stopped: the largest
   * it grew to, since the file is reused from its start rather than shrunk.
   */
  walBytes?: number;
}

export interface IntakeFigures {
  rows: IntakeRow[];
  checks: IntakeStoreCheck[];
  /** Slack calls the delivering bot made while it was being loaded, by method. */
  slackCalls: Record<string, number>;
  otherCpu: number;
}

interface Runner {
  name: IntakeTarget;
  child: Child;
  load: ClosedLoopTarget;
  accepted: number;
  failed: number;
}

interface Measured {
  load: ClosedLoopResult;
  cpuMs: number;
  benchCpuMs: number;
}

const LABEL: Record<IntakeTarget, string> = {
  bot: "bot, ALERTS_CHANNEL set (delivering)",
  "bot-no-channel": "bot, ALERTS_CHANNEL unset (nothing to deliver)",
  null: "do-nothing server",
};

export async function runIntake(options: IntakeOptions): Promise<BenchResult> {
  const log = options.log ?? (() => {});
  const machineBefore = cpuSnapshot();
  const world = await startWorld();
  const dataDir = mkdtempSync(join(tmpdir(), "alerts-bot-intake-"));
  const started: Child[] = [];
  const loads: ClosedLoopTarget[] = [];
  const alerts = [...world.posthog.alerts.values()].map((a) => ({ id: a.id, name: a.name }));
  let seq = 0;
  const prepare = () => {
    const alert = alerts[seq % alerts.length] as { id: string; name: string };
    seq += 1;
    return firingRequest({ alertId: alert.id, alertName: alert.name, seq });
  };
  let otherCpu = 0;
  try {
    const nullPort = await freePort();
    const nullServer = await startNullServer(nullPort);
    started.push(nullServer.child);
    const nullRunner: Runner = {
      name: "null",
      child: nullServer.child,
      load: new ClosedLoopTarget(nullServer.origin, options.concurrency),
      accepted: 0,
      failed: 0,
    };
    loads.push(nullRunner.load);

    const measure = async (runner: Runner, seconds: number): Promise<Measured> => {
      const cpuBefore = readCpuMs(runner.child.pid);
      const benchBefore = process.cpuUsage();
      const load = await runner.load.run({
        concurrency: options.concurrency,
        durationMs: seconds * 1000,
        prepare,
      });
      runner.accepted += load.ok;
      runner.failed += load.errors;
      const bench = process.cpuUsage(benchBefore);
      return {
        load,
        cpuMs: readCpuMs(runner.child.pid) - cpuBefore,
        benchCpuMs: (bench.user + bench.system) / 1000,
      };
    };
    const row = (runner: Runner, phase: number, parts: Measured[]): IntakeRow => {
      const load = mergeClosedLoop(parts.map((p) => p.load));
      const cpu = parts.reduce((n, p) => n + p.cpuMs, 0);
      const bench = parts.reduce((n, p) => n + p.benchCpuMs, 0);
      const result: IntakeRow = {
        target: runner.name,
        phase,
        sent: load.sent,
        accepted: load.ok,
        errors: load.errors,
        errorKinds: load.errorKinds,
        latency: load.latency,
        acceptedPerSecond: load.throughput,
        halves: parts.map((p) => p.load.throughput),
        cpuMsPerRequest: cpu / Math.max(1, load.sent),
        cpuShare: cpu / Math.max(1, load.wallMs),
        benchCpuShare: bench / Math.max(1, load.wallMs),
      };
      log(
        `  ${LABEL[runner.name]}: ${load.ok} accepted (${Math.round(load.throughput)}/s), errors ${load.errors}, ` +
          `p50 ${ms(load.latency.p50)} p99 ${ms(load.latency.p99)} max ${ms(load.latency.max)} ms, ` +
          `cpu ${result.cpuMsPerRequest.toFixed(3)} ms/req (${Math.round(result.cpuShare * 100)}%), ` +
          `bench cpu ${Math.round(result.benchCpuShare * 100)}%`,
      );
      return result;
    };

    const rows: IntakeRow[] = [];
    const checks: IntakeStoreCheck[] = [];
    let slackCalls: Record<string, number> = {};
    const phases: Array<Exclude<IntakeTarget, "null">> = options.noChannelRun
      ? ["bot", "bot-no-channel"]
      : ["bot"];
    for (const [index, name] of phases.entries()) {
      const phase = index + 1;
      const port = await freePort();
      const databasePath = join(dataDir, `${name}.db`);
      const env = world.botEnv({ port, databasePath, logLevel: options.logLevel });
      if (name === "bot-no-channel") env.ALERTS_CHANNEL = "";
      const bot = await startBot(env, port);
      started.push(bot.child);
      const botRunner: Runner = {
        name,
        child: bot.child,
        load: new ClosedLoopTarget(bot.origin, options.concurrency),
        accepted: 0,
        failed: 0,
      };
      loads.push(botRunner.load);
      world.forget();
      if (options.warmupSeconds > 0) {
        log(`${LABEL[name]}: warming up (${options.warmupSeconds} s per target)`);
        for (const runner of [botRunner, nullRunner]) await measure(runner, options.warmupSeconds);
      }
      log(
        `${LABEL[name]} vs the do-nothing server, ${options.concurrency} in flight, ${options.seconds} s each`,
      );
      const parts: Record<"bot" | "null", Measured[]> = { bot: [], null: [] };
      for (const runner of [botRunner, nullRunner, nullRunner, botRunner]) {
        parts[runner === botRunner ? "bot" : "null"].push(await measure(runner, options.seconds / 2));
      }
      rows.push(row(botRunner, phase, parts.bot), row(nullRunner, phase, parts.null));
      if (name === "bot") slackCalls = countCalls(world);
      otherCpu = Math.max(
        otherCpu,
        otherCpuShare(
          machineBefore,
          readCpuMs(bot.child.pid) + readCpuMs(nullRunner.child.pid),
          machineInfo().cores,
        ),
      );

      await botRunner.load.close();
      loads.splice(loads.indexOf(botRunner.load), 1);
      // A clean stop removes the log, so its size is read first.
      const walBytes = statSync(`${databasePath}-wal`, { throwIfNoEntry: false })?.size ?? 0;
      await bot.child.stop(15_000);
      const stored = readStoredCounts(databasePath);
      checks.push({ target: name, accepted: botRunner.accepted, failed: botRunner.failed, stored, walBytes });
      log(
        `  stored ${stored.webhookFirings} webhook firings (${stored.distinctUuids} distinct uuids) for ${botRunner.accepted} 202s`,
      );
    }

    const figures: IntakeFigures = { rows, checks, slackCalls, otherCpu };
    const result = intakeResult(options, figures);
    if (options.resultsDir) writeResult(options.resultsDir, result);
    return result;
  } finally {
    for (const load of loads) await load.close().catch(() => undefined);
    await Promise.all(started.map((child) => child.stop()));
    await world.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function countCalls(world: World): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const call of world.slack.calls) counts[call.method] = (counts[call.method] ?? 0) + 1;
  return counts;
}

const errorText = (r: { errors: number; errorKinds: Record<string, number> }) =>
  r.errors === 0
    ? "0"
    : `${r.errors} (${Object.entries(r.errorKinds)
        .map(([k, n]) => `${k} ${n}`)
        .join(", ")})`;

/** The bot's p99 minus the do-nothing server's, measured in the same phase. */
export function p99Above(f: IntakeFigures, target: Exclude<IntakeTarget, "null">): number | null {
  const bot = f.rows.find((r) => r.target === target);
  const bare = bot && f.rows.find((r) => r.target === "null" && r.phase === bot.phase);
  return bot && bare ? bot.latency.p99 - bare.latency.p99 : null;
}

export function intakeResult(options: IntakeOptions, f: IntakeFigures): BenchResult {
  const table: BenchTable = {
    caption: `Webhook intake, closed loop with ${options.concurrency} requests in flight (ms, request sent → response read)`,
    columns: [
      "Target",
      "Sent",
      "202s",
      "Errors",
      "Accepted/s",
      "p50",
      "p95",
      "p99",
      "max",
      "p99 above do-nothing",
      "CPU ms/req",
      "Target CPU",
      "Bench CPU",
    ],
    rows: f.rows.map((r) => {
      const above = r.target === "null" ? null : p99Above(f, r.target);
      return [
        r.target === "null" ? `${LABEL.null} (beside run ${r.phase})` : LABEL[r.target],
        int(r.sent),
        int(r.accepted),
        errorText(r),
        int(r.acceptedPerSecond),
        ms(r.latency.p50),
        ms(r.latency.p95),
        ms(r.latency.p99),
        ms(r.latency.max),
        above === null ? "–" : `${above >= 0 ? "+" : ""}${ms(above)}`,
        r.cpuMsPerRequest.toFixed(3),
        `${Math.round(r.cpuShare * 100)}%`,
        `${Math.round(r.benchCpuShare * 100)}%`,
      ];
    }),
  };
  const storeTable: BenchTable = {
    caption: "What the bot stored (database opened read-only after the bot stopped; warm-up included)",
    columns: [
      "Bot",
      "202s",
      "Failed requests",
      "Firing rows",
      "Distinct event uuids",
      "Deliveries",
      "Log file, largest",
      "Match",
    ],
    rows: f.checks.map((c) => [
      LABEL[c.target],
      int(c.accepted),
      int(c.failed),
      int(c.stored.webhookFirings),
      int(c.stored.distinctUuids),
      Object.entries(c.stored.deliveries)
        .map(([status, n]) => `${status} ${int(n)}`)
        .join(", ") || "–",
      c.walBytes === undefined ? "–" : `${(c.walBytes / 1024 / 1024).toFixed(1)} MB`,
      storedMatches(c) ? "yes" : "no",
    ]),
  };

  const targets: BenchResult["targets"] = [];
  const bot = f.rows.find((r) => r.target === "bot");
  if (bot) {
    targets.push({
      label: `Notifications accepted per second, bot as deployed, ${options.concurrency} in flight`,
      goal: `≥ ${int(INTAKE_TARGET_PER_SECOND)}/s, no errors`,
      measured: `${int(bot.acceptedPerSecond)}/s, errors ${bot.errors}`,
      met: bot.acceptedPerSecond >= INTAKE_TARGET_PER_SECOND && bot.errors === 0,
    });
    const above = p99Above(f, "bot");
    const bare = f.rows.find((r) => r.target === "null" && r.phase === bot.phase);
    if (above !== null && bare) {
      targets.push({
        label: "Intake p99 above the do-nothing server's, bot as deployed",
        goal: `≤ ${INTAKE_TARGET_P99_EXTRA_MS} ms`,
        measured: `${ms(above)} ms (${ms(bot.latency.p99)} vs ${ms(bare.latency.p99)} ms)`,
        met: above <= INTAKE_TARGET_P99_EXTRA_MS,
      });
    }
  }
  if (f.checks.length > 0) {
    targets.push({
      label: "Rows stored = 202s answered",
      goal: "equal, every event once",
      measured: f.checks
        .map((c) => `${int(c.stored.webhookFirings)} rows for ${int(c.accepted)} 202s`)
        .join("; "),
      met: f.checks.every(storedMatches),
    });
  }

  return {
    name: "intake",
    title: "Webhook intake",
    order: 30,
    ranAt: new Date().toISOString(),
    machine: machineInfo(),
    command: "npm run bench -- intake",
    method:
      `Valid \`$insight_alert_firing\` webhook POSTs (PostHog's default body, each with its own event uuid and check ` +
      `time, so none is a duplicate; the 30 alerts of the fake PostHog in turn) are sent in a closed loop: ` +
      `${options.concurrency} workers, each sending its next request when the previous one was answered. The bot runs ` +
      "as `node dist/main.js` with `WEBHOOK_SECRET` set, a SQLite file in a temporary directory and the fakes of " +
      "PostHog and Slack; it answers 202 once the event is committed. A do-nothing server (plain `node:http` in its " +
      "own process, reading the body and answering 202 with a small JSON) is driven the same way beside it, " +
      "alternating bot, do-nothing, do-nothing, bot after a warm-up. The second bot has ALERTS_CHANNEL unset. " +
      "CPU ms/req is the target process's CPU time ÷ requests; “bench CPU” is the load generator's process.",
    settings: {
      "seconds per target and phase": options.seconds,
      "requests in flight": options.concurrency,
      "bot LOG_LEVEL": options.logLevel,
      "warm-up seconds": options.warmupSeconds,
    },
    targets,
    tables: [table, storeTable],
    limits: intakeLimits(options, f),
    notes: [
      quietNote(f.otherCpu),
      `Slack calls the delivering bot made during its run: ${
        Object.entries(f.slackCalls)
          .map(([m, n]) => `${m} ${n}`)
          .join(", ") || "none"
      }. Delivery is paced to one Slack call per 1.05 s per channel, so almost every accepted event is still queued when the run ends; the queue is durable and drains at that pace.`,
      "The load generator and the fakes share the bench process; when its CPU nears one core, the generator, not the target, sets the pace of the do-nothing server.",
      "Knobs: `BENCH_SECONDS`, `BENCH_CONCURRENCY` (default 32), `BENCH_WARMUP_SECONDS`, `BENCH_INTAKE_NO_CHANNEL=0` (skip the second bot), `BENCH_LOG_LEVEL`, `BENCH_NODE_ARGS`, `BENCH_MAIN_JS`.",
    ],
    data: f,
  };
}

function storedMatches(c: IntakeStoreCheck): boolean {
  return c.stored.webhookFirings === c.accepted && c.stored.distinctUuids === c.accepted;
}

function intakeLimits(options: IntakeOptions, f: IntakeFigures): string[] {
  const lines: string[] = [];
  const bot = f.rows.find((r) => r.target === "bot");
  const quiet = f.rows.find((r) => r.target === "bot-no-channel");
  const bare = bot && f.rows.find((r) => r.target === "null" && r.phase === bot.phase);
  if (!bot || !bare) return lines;
  lines.push(
    `the bot spends ${bot.cpuMsPerRequest.toFixed(3)} ms of CPU per webhook (the do-nothing server ${bare.cpuMsPerRequest.toFixed(3)} ms) on one JavaScript thread, at ${Math.round(bot.cpuShare * 100)}% of a core: ` +
      `with ${options.concurrency} requests in flight each waits for the ones ahead of it, so latency ≈ ${options.concurrency} ÷ throughput.`,
  );
  const needed = (bot.cpuMsPerRequest * INTAKE_TARGET_PER_SECOND) / 1000;
  if (bot.acceptedPerSecond < INTAKE_TARGET_PER_SECOND) {
    lines.push(
      `at that cost ${int(INTAKE_TARGET_PER_SECOND)}/s needs ${Math.round(needed * 100)}% of a core; the bot got ${Math.round(bot.cpuShare * 100)}% while the bench process used ${Math.round(bot.benchCpuShare * 100)}% and other programs up to ${Math.round(f.otherCpu * 100)}% of the machine` +
        (needed < 1
          ? ", so the bot was short of CPU time on a shared machine rather than of work it could do."
          : "."),
    );
  }
  lines.push(
    "group commit: the webhooks whose bodies are read in one turn of the event loop are stored in one SQLite transaction and each is answered after it commits, so BEGIN/COMMIT and the write to the WAL are paid once per turn instead of once per event (with 32 in flight, half the events shared their transaction with 25 or more others). " +
      "With one transaction per webhook the bot spent 0.43 ms of CPU per webhook, a fifth of its time in the commit. " +
      "Each commit is also fsynced before the 202s go out (`synchronous = FULL`, so an accepted webhook survives a power cut, not only a killed process); once per turn, that cost nothing measurable here: in two 10-second runs each on 29 November, 3,239 and 3,428 accepted/s with it against 3,389 and 3,074/s without (an fsync on this machine's disk takes about 0.12 ms; a slower disk pays its own fsync time once per turn).",
  );
  lines.push(
    "what is left per webhook, from a CPU profile of the bot under this load: the insert itself (the row and its four indexes; random event uuids and 30 alerts in turn make each event dirty 4–5 WAL pages even in a batch); " +
      "the delivery worker routing each new event in a second transaction per turn (reading back its id, kind, alert and channel hint, inserting its delivery, marking it routed), now 0.7× the insert's cost, down from 1.2×: " +
      "its transaction is built once instead of once per call (and no longer nests one savepoint per event), the read skips the payload and its zod parse, and its `LIMIT` is written into the SQL, because a bound `LIMIT ?` made SQLite prepare the statement again on every call (about 10 µs); " +
      "Node's HTTP parsing and response write, as in the do-nothing server. The handler's own checks (secret digest, JSON.parse, validation) are under 0.03 ms.",
  );
  const above = p99Above(f, "bot");
  const walMb = (f.checks.find((c) => c.target === "bot")?.walBytes ?? 0) / 1024 / 1024;
  lines.push(
    (above !== null && above > INTAKE_TARGET_P99_EXTRA_MS
      ? `the tail, ${ms(above - INTAKE_TARGET_P99_EXTRA_MS)} ms over the p99 goal in this run: `
      : "the tail: ") +
      "SQLite used to copy the write-ahead log into the database (a checkpoint, with two fsyncs) inside the commit that took the log past 1,000 pages, every ~200 events here, holding the event loop and every request in flight for 5–12 ms. " +
      "A background thread with its own connection now does it every 100 ms (wal_autocheckpoint = 0 on the main connection); under a burst that never pauses the log only starts over when that thread forces it (a RESTART checkpoint once it passes 64 MB), which holds writes for a few milliseconds every few seconds" +
      (walMb > 0 ? ` (the log file reached ${walMb.toFixed(0)} MB in this run)` : "") +
      ". In a build that timed every intake transaction on the main thread, the share taking over 10 ms fell from 4–7% with SQLite's own checkpoints to 0.1–0.5% (two runs each, this load). What remains of the tail is mostly waiting for the CPU that other programs take.",
  );
  const [first, second] = bot.halves;
  const pending = f.checks.find((c) => c.target === "bot")?.stored.deliveries.pending ?? 0;
  if (quiet) {
    const delta = bot.cpuMsPerRequest - quiet.cpuMsPerRequest;
    lines.push(
      `with nothing to deliver the bot accepts ${int(quiet.acceptedPerSecond)}/s at ${quiet.cpuMsPerRequest.toFixed(3)} ms of CPU per webhook (each event is still routed, to nowhere; the warning that no channel is set up is logged at most once a minute per alert, with how many were kept since); ` +
        (delta > 0
          ? `the delivery side adds ${delta.toFixed(3)} ms per webhook.`
          : "the delivery side adds no measurable CPU per webhook."),
    );
    if (delta > 0.25) {
      lines.push(
        "every accepted event wakes the delivery worker at once (`worker.kick()` → `pump()`): it routes the event in a transaction of its own and reads each channel's queue head with `Store.channelHeads`, a query that visits every pending delivery, so the cost per webhook grows with the backlog" +
          (first !== undefined && second !== undefined
            ? ` (${int(first)}/s in the bot's first half, ${int(second)}/s in its second; ${int(pending)} deliveries pending at the end).`
            : "."),
      );
    }
  }
  if (bare.benchCpuShare > 0.8) {
    lines.push(
      `the do-nothing server's figures are bounded by the load generator (the bench process used ${Math.round(bare.benchCpuShare * 100)}% of a core), not by the server.`,
    );
  }
  return lines;
}
