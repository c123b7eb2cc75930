/**
 * Start time and memory: how long the built bot takes from `node dist/main.js`
 * (and from `npm start`) to a 200 on /healthz, and how much memory the process
 * holds idle and under a steady stream of Slack requests.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { LoadTarget } from "./lib/load.js";
import {
  childEnv,
  cpuSnapshot,
  freePort,
  MAIN_JS,
  type MemoryFigures,
  otherCpuShare,
  readCpuMs,
  readMemory,
  SHIPPED_NODE_FLAGS,
  spawnChild,
  startBareBolt,
  startBot,
  startWithNpm,
} from "./lib/processes.js";
import { type BenchResult, machineInfo, quietNote, writeResult } from "./lib/report.js";
import { median, ms } from "./lib/stats.js";
import { BOT_TOKEN, type RequestKind, SIGNING_SECRET, startWorld } from "./lib/world.js";

export interface MemoryVariant {
  label: string;
  /**
   * Node flags for `node dist/main.js`; null is the bot as shipped: `npm start`
   * (or, with BENCH_MEMORY_VIA=node, the flags `npm start` gives it).
   */
  nodeArgs: string[] | null;
}

export interface StartMemoryOptions {
  /** Cold starts of `node dist/main.js`, each with a new database file. */
  starts: number;
  /** Starts through `npm start`; 0 skips them. */
  npmStarts: number;
  /** Seconds of request load for the memory figures; 0 skips the load. */
  loadSeconds: number;
  rate: number;
  /** Seconds to wait before reading the idle figures. */
  idleSeconds: number;
  /** Seconds of load before the measured load (memory is still sampled). */
  warmupSeconds: number;
  /** How the bot is started for the memory figures: as `npm start` does, or `node dist/main.js`. */
  memoryVia: "npm" | "node";
  /** Memory is measured once per variant; the first is the product as shipped and is held to the target. */
  memoryVariants: MemoryVariant[];
  resultsDir: string | null;
  log?: (line: string) => void;
}

export const START_TARGET_MS = 2_000;
export const RSS_TARGET_MB = 150;
/** The flag that keeps WebAssembly (undici's HTTP parser) on V8's baseline compiler; see the README's "Memory". */
export const LIFTOFF_FLAG = "--liftoff-only";
/** The shipped flags but that one: the variant that shows what it saves. */
const SHIPPED_WITHOUT_LIFTOFF = SHIPPED_NODE_FLAGS.filter((flag) => flag !== LIFTOFF_FLAG);

/**
 * Variants measured beside the shipped bot, each started as `node <flags> dist/main.js`:
 * BENCH_MEMORY_VARIANTS is "0" for none, or sets of node flags separated by ";", where
 * an empty set is V8's defaults. By default: V8's defaults (what the shipped heap flags
 * save) and the shipped flags without --liftoff-only (what that flag saves).
 */
function extraVariants(spec: string | undefined): MemoryVariant[] {
  if (spec === "0") return [];
  return (spec ?? `;${SHIPPED_WITHOUT_LIFTOFF.join(" ")}`).split(";").map((flags) => {
    const nodeArgs = flags.trim().split(/\s+/).filter(Boolean);
    return {
      label: nodeArgs.length > 0 ? `node ${nodeArgs.join(" ")}` : "V8's default heap sizes (no flags)",
      nodeArgs,
    };
  });
}

export function startMemoryOptionsFromEnv(
  env: NodeJS.ProcessEnv,
  resultsDir: string | null,
): StartMemoryOptions {
  const num = (name: string, fallback: number) => {
    const value = Number(env[name]);
    return env[name] !== undefined && env[name] !== "" && Number.isFinite(value) ? value : fallback;
  };
  return {
    starts: num("BENCH_STARTS", 5),
    npmStarts: num("BENCH_NPM_STARTS", 5),
    loadSeconds: num("BENCH_SECONDS", 20),
    rate: num("BENCH_RATE", 100),
    idleSeconds: num("BENCH_IDLE_SECONDS", 2),
    warmupSeconds: num("BENCH_WARMUP_SECONDS", 3),
    memoryVia: env.BENCH_MEMORY_VIA === "node" ? "node" : "npm",
    memoryVariants: [{ label: "as shipped", nodeArgs: null }, ...extraVariants(env.BENCH_MEMORY_VARIANTS)],
    resultsDir,
    log: (line) => process.stdout.write(`${line}\n`),
  };
}

export interface StartRun {
  how: "node" | "npm";
  /** Spawn → /healthz 200. */
  healthyMs: number;
  /** Spawn → the "listening" log line (modules loaded, server bound), when seen. */
  listeningMs: number | null;
}

export interface LoadFigures {
  rate: number;
  seconds: number;
  sent: number;
  errors: number;
  errorKinds: Record<string, number>;
  p99Ms: number;
}

export interface MemoryRun {
  variant: MemoryVariant;
  via: "npm" | "node";
  idle: MemoryFigures;
  /** Highest VmRSS sampled every 250 ms under load. */
  peakUnderLoadMb: number | null;
  afterLoad: MemoryFigures | null;
  load: LoadFigures | null;
}

export interface StartMemoryFigures {
  runs: StartRun[];
  /** Spawn → exit of `node -e ""` (the runtime alone), for reference. */
  nodeAloneMs: number;
  /** Other programs' share of the machine's CPU during the run (0–1). */
  otherCpu: number;
  /** A bare Bolt app (listeners that only ack), idle, for reference. */
  bareIdle: MemoryFigures;
  /** Spawn → the bare Bolt app listening. */
  bareReadyMs: number;
  memory: MemoryRun[];
}

const LISTENING = /"msg":"listening"/;

async function nodeAlone(): Promise<number> {
  const child = spawnChild(process.execPath, ["-e", ""], { env: childEnv({}) });
  await child.exited;
  return performance.now() - child.spawnedAt;
}

export async function runStartMemory(options: StartMemoryOptions): Promise<BenchResult> {
  const log = options.log ?? (() => {});
  const machineBefore = cpuSnapshot();
  const world = await startWorld();
  const dataDir = mkdtempSync(join(tmpdir(), "alerts-bot-bench-"));
  const stops: Array<() => Promise<void>> = [];
  let seq = 0;
  const env = async (extra: Record<string, string> = {}) => {
    seq += 1;
    const port = await freePort();
    // The production defaults where they matter: polling on, info logs, a database file on disk.
    const vars = world.botEnv({
      port,
      databasePath: join(dataDir, `bot-${seq}.db`),
      logLevel: "info",
      pollSeconds: 60,
    });
    return { port, env: { ...vars, ...extra } };
  };
  try {
    const runs: StartRun[] = [];
    const nodeAloneMs = await nodeAlone();
    log(`node alone: ${ms(nodeAloneMs)} ms`);

    for (let i = 0; i < options.starts; i++) {
      const { port, env: vars } = await env();
      const bot = await startBot(vars, port, []);
      stops.push(() => bot.child.stop());
      runs.push({ how: "node", healthyMs: bot.readyMs, listeningMs: bot.child.lineAfter(LISTENING) ?? null });
      log(`node dist/main.js #${i + 1}: healthy after ${ms(bot.readyMs)} ms`);
      await bot.child.stop();
    }
    for (let i = 0; i < options.npmStarts; i++) {
      const { port, env: vars } = await env();
      const bot = await startWithNpm(vars, port);
      stops.push(bot.stop);
      runs.push({ how: "npm", healthyMs: bot.readyMs, listeningMs: bot.child.lineAfter(LISTENING) ?? null });
      log(`npm start #${i + 1}: healthy after ${ms(bot.readyMs)} ms`);
      await bot.stop();
    }

    const bare = await startBareBolt(await freePort(), {
      signingSecret: SIGNING_SECRET,
      botToken: BOT_TOKEN,
    });
    stops.push(() => bare.child.stop());
    await sleep(options.idleSeconds * 1000);
    const bareIdle = readMemory(bare.child.pid);
    const bareReadyMs = bare.child.lineAfter(/^ready /) ?? Number.NaN;
    await bare.child.stop();

    // Memory per variant: idle after start, then under load, then idle again.
    const memory: MemoryRun[] = [];
    let liveCpuMs = 0;
    for (const variant of options.memoryVariants) {
      const { port, env: vars } = await env();
      const via = variant.nodeArgs === null ? options.memoryVia : "node";
      const started =
        via === "npm"
          ? await startWithNpm(vars, port)
          : await startBot(vars, port, variant.nodeArgs ?? SHIPPED_NODE_FLAGS).then((b) => ({
              ...b,
              botPid: b.child.pid,
              stop: () => b.child.stop(),
            }));
      stops.push(started.stop);
      const pid = started.botPid;
      await sleep(options.idleSeconds * 1000);
      const idle = readMemory(pid);
      let peakUnderLoadMb: number | null = null;
      let afterLoad: MemoryFigures | null = null;
      let load: LoadFigures | null = null;
      if (options.loadSeconds > 0) {
        // The snooze clicks act on a notification this bot posted, as in the ack benchmark.
        await world.postNotification(started.origin);
        const target = new LoadTarget(started.origin);
        let peak = idle.rssMb;
        const sampler = setInterval(() => {
          try {
            peak = Math.max(peak, readMemory(pid).rssMb);
          } catch {
            // the process is gone; the load run reports it
          }
        }, 250);
        try {
          const kinds: RequestKind[] = ["command", "snooze"];
          // A few seconds of the same load first, unmeasured except for memory: the generator and
          // the fakes share this process, and their first seconds (compiling, warming caches) would
          // otherwise land on the first variant's ack p99 only.
          if (options.warmupSeconds > 0) {
            await target.run({
              rate: options.rate,
              durationMs: options.warmupSeconds * 1000,
              prepare: (i) => world.request(kinds[i % 2] as RequestKind),
            });
            await world.settle();
          }
          const result = await target.run({
            rate: options.rate,
            durationMs: options.loadSeconds * 1000,
            prepare: (i) => world.request(kinds[i % 2] as RequestKind),
          });
          await world.settle();
          peak = Math.max(peak, readMemory(pid).rssMb);
          load = {
            rate: options.rate,
            seconds: options.loadSeconds,
            sent: result.sent,
            errors: result.errors,
            errorKinds: result.errorKinds,
            p99Ms: result.latency.p99,
          };
        } finally {
          clearInterval(sampler);
          await target.close();
        }
        world.forget();
        peakUnderLoadMb = peak;
        await sleep(options.idleSeconds * 1000);
        afterLoad = readMemory(pid);
      }
      log(
        `memory (${variant.label}, via ${via}): idle ${idle.rssMb.toFixed(1)} MB, peak under load ${peakUnderLoadMb?.toFixed(1) ?? "–"} MB, after ${afterLoad?.rssMb.toFixed(1) ?? "–"} MB`,
      );
      memory.push({ variant, via, idle, peakUnderLoadMb, afterLoad, load });
      if (via === "npm") liveCpuMs += readCpuMs(pid);
      await started.stop();
    }
    // The bots were stopped through npm, which may not have waited for them: count their CPU as ours.
    const otherCpu = otherCpuShare(machineBefore, liveCpuMs, machineInfo().cores);

    const figures: StartMemoryFigures = { runs, nodeAloneMs, otherCpu, bareIdle, bareReadyMs, memory };
    const result = startMemoryResult(options, figures);
    if (options.resultsDir) writeResult(options.resultsDir, result);
    return result;
  } finally {
    for (const stop of stops) await stop().catch(() => undefined);
    await world.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function errorsText(load: { errors: number; errorKinds: Record<string, number> }): string {
  if (load.errors === 0) return "no errors";
  const kinds = Object.entries(load.errorKinds).map(([k, n]) => `${k} ${n}`);
  return `${load.errors} errors: ${kinds.join(", ")}`;
}

export function startMemoryResult(options: StartMemoryOptions, f: StartMemoryFigures): BenchResult {
  const summary = (how: StartRun["how"]) => {
    const runs = f.runs.filter((r) => r.how === how);
    const healthy = runs.map((r) => r.healthyMs);
    const listening = runs.map((r) => r.listeningMs).filter((v): v is number => v !== null);
    return {
      count: runs.length,
      median: median(healthy),
      max: healthy.length > 0 ? Math.max(...healthy) : Number.NaN,
      listening: listening.length > 0 ? median(listening) : Number.NaN,
    };
  };
  const node = summary("node");
  const npm = summary("npm");
  const peakOf = (run: MemoryRun) =>
    Math.max(run.idle.rssMb, run.peakUnderLoadMb ?? 0, run.afterLoad?.hwmMb ?? 0);

  const targets: BenchResult["targets"] = [];
  const startFigure = npm.count > 0 ? npm : node;
  const startLabel = npm.count > 0 ? "`npm start`" : "`node dist/main.js`";
  if (startFigure.count > 0) {
    targets.push({
      label: `${startLabel} to a 200 on /healthz`,
      goal: `≤ ${START_TARGET_MS / 1000} s`,
      measured: `median ${ms(startFigure.median)} ms, max ${ms(startFigure.max)} ms (${startFigure.count} starts)`,
      met: startFigure.max <= START_TARGET_MS,
    });
  }
  const shipped = f.memory[0];
  if (shipped) {
    const peak = peakOf(shipped);
    targets.push({
      label: shipped.load
        ? `Resident memory, highest of idle and ${shipped.load.rate} req/s load`
        : "Resident memory, idle",
      goal: `≤ ${RSS_TARGET_MB} MB`,
      measured: `${peak.toFixed(0)} MB`,
      met: peak <= RSS_TARGET_MB,
    });
  }

  const startRows: Array<Array<string | number>> = (["node", "npm"] as const)
    .map((how) => ({ how, s: summary(how) }))
    .filter(({ s }) => s.count > 0)
    .map(({ how, s }) => [
      how === "node" ? "`node dist/main.js`" : "`npm start`",
      s.count,
      ms(s.listening),
      ms(s.median),
      ms(s.max),
    ]);
  startRows.push(
    ["bare Bolt app, to listening (for reference)", 1, ms(f.bareReadyMs), "–", "–"],
    ['`node -e ""` (the runtime alone, to exit)', 1, "–", ms(f.nodeAloneMs), "–"],
  );

  const memoryRows: Array<Array<string | number>> = f.memory.map((run) => [
    run.variant.nodeArgs === null
      ? `as shipped (${run.via === "npm" ? "`npm start`" : "`node dist/main.js` with its flags"})`
      : run.variant.label,
    run.idle.rssMb.toFixed(1),
    run.peakUnderLoadMb?.toFixed(1) ?? "–",
    run.afterLoad?.rssMb.toFixed(1) ?? "–",
    run.afterLoad?.hwmMb.toFixed(1) ?? run.idle.hwmMb.toFixed(1),
    run.load ? `${ms(run.load.p99Ms)} ms, ${errorsText(run.load)}` : "–",
  ]);
  memoryRows.push([
    "bare Bolt app (listeners that only ack), for reference",
    f.bareIdle.rssMb.toFixed(1),
    "–",
    "–",
    "–",
    "–",
  ]);
  const load = shipped?.load;

  const beforeListening = node.count > 0 ? node.listening / node.median : Number.NaN;
  const npmExtra = npm.count > 0 && node.count > 0 ? npm.median - node.median : Number.NaN;
  const npmText = !Number.isFinite(npmExtra)
    ? ""
    : npmExtra > 0
      ? `; \`npm start\` adds ${ms(npmExtra)} ms of npm's own`
      : "; npm's own overhead was within the run-to-run noise";
  const limits = [
    Number.isFinite(beforeListening)
      ? `${Math.round(beforeListening * 100)}% of a start passes before the server listens, and a bare Bolt app needs ${ms(f.bareReadyMs)} ms to listen at all: loading @slack/bolt and the other modules is most of it${npmText}.`
      : "loading modules before the server listens.",
  ];
  if (shipped) {
    const defaults = f.memory.find((run) => run.variant.nodeArgs?.length === 0);
    const withoutLiftoff = f.memory.find(
      (run) =>
        run.variant.nodeArgs !== null &&
        run.variant.nodeArgs.length > 0 &&
        !run.variant.nodeArgs.includes(LIFTOFF_FLAG) &&
        SHIPPED_WITHOUT_LIFTOFF.every((flag) => run.variant.nodeArgs?.includes(flag)),
    );
    limits.push(
      `memory: idle, the bot holds ${shipped.idle.rssMb.toFixed(0)} MB (the runtime and its modules; a bare Bolt app ${f.bareIdle.rssMb.toFixed(0)} MB). About 20 MB of it is the PostHog thread: a second V8 heap with its own copy of undici, zod and the client (before PostHog calls moved there, the bot held 105 MB idle and peaked at 140 MB in the run of 29 November 07:30; the thread loads after the bot is healthy and its young generation is 3 MB).`,
      `memory peaks: the highest figure used to come from one moment, not from the load: V8 optimising undici's HTTP parser (WebAssembly) with TurboFan on a background thread, once in each JavaScript thread that makes its first request, whose register allocator took about 30 MB for a fraction of a second (traced to a V8 worker thread's allocations with perf). \`${LIFTOFF_FLAG}\` keeps WebAssembly on V8's baseline compiler${withoutLiftoff ? `: without it the highest figure was ${peakOf(withoutLiftoff).toFixed(0)} MB in this run, against ${peakOf(shipped).toFixed(0)} MB with it` : ""}. The parser reads only status lines, headers and chunk sizes, so the slower code does not show in the ack figures.`,
      `heap: without flags V8 sizes the heap from the machine's RAM and lets it grow before it collects${defaults ? ` (here ${peakOf(defaults).toFixed(0)} MB under the same load)` : ""}; \`npm start\` caps it (\`${SHIPPED_NODE_FLAGS.join(" ")}\`), and the live heap is a fraction of the cap.`,
    );
  }

  return {
    name: "start-memory",
    title: "Start time and memory",
    order: 20,
    ranAt: new Date().toISOString(),
    machine: machineInfo(),
    command: "npm run bench -- start-memory",
    method:
      "Each start runs the built bot with a new SQLite file and LOG_LEVEL=info against the fake PostHog and " +
      "Slack, and polls `GET /healthz` every 5 ms; the time runs from the spawn to the first 200. Memory is " +
      "VmRSS of the bot's node process from `/proc/<pid>/status`: idle, sampled every 250 ms under a steady load " +
      "of signed requests (half `/alerts list`, half snooze clicks) after a few unmeasured seconds of it (the generator and the fakes warm up there, not in the first variant's figures), and idle again afterwards.",
    settings: {
      "node starts": options.starts,
      "npm starts": options.npmStarts,
      "load (req/s)": options.rate,
      "warm-up seconds": options.warmupSeconds,
      "load seconds": options.loadSeconds,
      main: MAIN_JS.endsWith("dist/main.js") ? "dist/main.js" : MAIN_JS,
    },
    targets,
    tables: [
      {
        caption: "Start to healthy (ms)",
        columns: ["How", "Starts", "Median to “listening”", "Median to healthy", "Max to healthy"],
        rows: startRows,
      },
      {
        caption: `Resident memory (MB)${load ? `, load ${load.rate} req/s for ${load.seconds} s` : ""}`,
        columns: ["Bot", "Idle", "Highest under load", "Idle after", "VmHWM", "Ack p99 under load"],
        rows: memoryRows,
      },
    ],
    limits,
    notes: [quietNote(f.otherCpu)],
    data: f,
  };
}
