/**
 * Poller cost: what one look at PostHog's alert list costs the bot, in
 * PostHog requests and in CPU, for 100, 1,000 and 10,000 alerts.
 *
 * The poller runs in this process exactly as the bot builds it (the PostHog
 * client, a SQLite store on disk and `createPoller`), while the fake PostHog
 * runs in a child process, so the CPU measured around each `pollOnce()` is
 * the bot's alone. The first poll only records a baseline; the steady polls
 * after it see no change; the last one follows 1% of the alerts starting to
 * fire.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createPoller } from "../src/notifications/poller.js";
import type { Logger } from "../src/notifications/ports.js";
import { PostHogClient } from "../src/posthog/client.js";
import { openStore } from "../src/store/store.js";
import { startPostHogProcess } from "./lib/posthog-process.js";
import { cpuSnapshot, otherCpuShare, readCpuMs } from "./lib/processes.js";
import { type BenchResult, machineInfo, quietNote, writeResult } from "./lib/report.js";
import { median, ms } from "./lib/stats.js";
import { int, num } from "./lib/webhooks.js";
import { POSTHOG_KEY, PROJECT_ID } from "./lib/world.js";

export interface PollCostOptions {
  /** Alert counts to measure. */
  sizes: number[];
  /** Polls after the baseline with nothing changed; the median is reported. */
  steadyPolls: number;
  /** Share of the alerts already firing when the bot first looks. */
  firingShare: number;
  /** Share of the alerts that start firing before the last poll. */
  changeShare: number;
  /** The poll interval the requests-per-minute figures assume (the default POLL_INTERVAL_SECONDS). */
  intervalSeconds: number;
  resultsDir: string | null;
  log?: (line: string) => void;
}

/** PostHog's documented throttle for the alerts API, per personal API key. */
export const POSTHOG_PER_MINUTE = 480;
export /** The poller's least wait per page of 100 alerts (its `minMsPerPage` default). */
const POLL_MS_PER_PAGE = 1500;
const POSTHOG_PER_HOUR = 4_800;
/** "Linear in pages": CPU per page at the largest size within this factor of that at 1,000 alerts. */
export const LINEAR_TOLERANCE = 1.5;

export function pollCostOptionsFromEnv(env: NodeJS.ProcessEnv, resultsDir: string | null): PollCostOptions {
  const sizes = (env.BENCH_POLL_SIZES ?? "100,1000,10000")
    .split(",")
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
  return {
    sizes: sizes.length > 0 ? sizes : [100, 1_000, 10_000],
    steadyPolls: num(env, "BENCH_POLLS", 5),
    firingShare: 0.1,
    changeShare: 0.01,
    intervalSeconds: 60,
    resultsDir,
    log: (line) => process.stdout.write(`${line}\n`),
  };
}

export interface PollSample {
  kind: "baseline" | "steady" | "change";
  requests: number;
  pages: number;
  cpuMs: number;
  wallMs: number;
  /** CPU the fake PostHog spent answering, for reference. */
  fakeCpuMs: number;
  /** Firings the poll queued. */
  fired: number;
}

export interface PollSizeFigures {
  alerts: number;
  samples: PollSample[];
  /** Medians over the steady polls. */
  requests: number;
  pages: number;
  cpuMs: number;
  wallMs: number;
  fakeCpuMs: number;
  /** Requests per minute and per hour when polling every `intervalSeconds` (poll duration not counted). */
  perMinute: number;
  perHour: number;
}

export interface PollCostFigures {
  sizes: PollSizeFigures[];
  otherCpu: number;
}

const silent: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

async function measureSize(
  options: PollCostOptions,
  alerts: number,
  dataDir: string,
): Promise<PollSizeFigures> {
  const fake = await startPostHogProcess({ apiKey: POSTHOG_KEY, projectId: PROJECT_ID });
  const store = openStore(join(dataDir, `poll-${alerts}.db`));
  const client = new PostHogClient({
    host: fake.url,
    apiKey: POSTHOG_KEY,
    projectId: String(PROJECT_ID),
  });
  try {
    await fake.seed(alerts, Math.round(alerts * options.firingShare));
    const poller = createPoller({
      source: client,
      store,
      intervalMs: options.intervalSeconds * 1000,
      logger: silent,
    });
    const samples: PollSample[] = [];
    const poll = async (kind: PollSample["kind"]) => {
      const requestsBefore = client.requestCount;
      const fakeBefore = readCpuMs(fake.pid);
      const wallBefore = performance.now();
      const cpuBefore = process.cpuUsage();
      const result = await poller.pollOnce();
      const cpu = process.cpuUsage(cpuBefore);
      const sample: PollSample = {
        kind,
        requests: client.requestCount - requestsBefore,
        pages: client.lastListPageCount,
        cpuMs: (cpu.user + cpu.system) / 1000,
        wallMs: performance.now() - wallBefore,
        fakeCpuMs: readCpuMs(fake.pid) - fakeBefore,
        fired: result.fired,
      };
      if (result.alerts !== alerts) throw new Error(`the poll saw ${result.alerts} alerts, not ${alerts}`);
      samples.push(sample);
      return sample;
    };
    await poll("baseline");
    for (let i = 0; i < options.steadyPolls; i++) await poll("steady");
    const toFire = Math.max(1, Math.round(alerts * options.changeShare));
    await fake.fire(toFire);
    const change = await poll("change");
    if (change.fired !== toFire) throw new Error(`the poll queued ${change.fired} firings, not ${toFire}`);

    const steady = samples.filter((s) => s.kind === "steady");
    const pick = (f: (s: PollSample) => number) => median(steady.map(f));
    const requests = pick((s) => s.requests);
    const wallMs = pick((s) => s.wallMs);
    // An upper bound: the poller waits the interval after each poll, so a slow list lowers the rate a little.
    // The poller stretches the interval to at least 1.5 s per page (src/notifications/poller.ts).
    const pages = Math.max(1, Math.ceil(alerts / 100));
    const pollsPerMinute = 60 / Math.max(options.intervalSeconds, (pages * POLL_MS_PER_PAGE) / 1000);
    const figures: PollSizeFigures = {
      alerts,
      samples,
      requests,
      pages: pick((s) => s.pages),
      cpuMs: pick((s) => s.cpuMs),
      wallMs,
      fakeCpuMs: pick((s) => s.fakeCpuMs),
      perMinute: requests * pollsPerMinute,
      perHour: requests * pollsPerMinute * 60,
    };
    options.log?.(
      `  ${int(alerts)} alerts: ${requests} requests, ${figures.pages} pages, cpu ${ms(figures.cpuMs)} ms per poll ` +
        `(baseline ${ms(samples[0]?.cpuMs ?? Number.NaN)}, with ${toFire} new firings ${ms(change.cpuMs)}), ` +
        `wall ${ms(wallMs)} ms, fake PostHog cpu ${ms(figures.fakeCpuMs)} ms`,
    );
    return figures;
  } finally {
    await client.close();
    store.close();
    await fake.close();
  }
}

export async function runPollCost(options: PollCostOptions): Promise<BenchResult> {
  const machineBefore = cpuSnapshot();
  const dataDir = mkdtempSync(join(tmpdir(), "alerts-bot-poll-"));
  try {
    const sizes: PollSizeFigures[] = [];
    for (const alerts of options.sizes) sizes.push(await measureSize(options, alerts, dataDir));
    const figures: PollCostFigures = {
      sizes,
      otherCpu: otherCpuShare(machineBefore, 0, machineInfo().cores),
    };
    const result = pollCostResult(options, figures);
    if (options.resultsDir) writeResult(options.resultsDir, result);
    return result;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** CPU per page at the largest size ÷ CPU per page at the reference size (1,000 alerts, or the smallest). */
export function linearity(
  f: PollCostFigures,
): { ratio: number; reference: PollSizeFigures; largest: PollSizeFigures } | null {
  const sorted = [...f.sizes].sort((a, b) => a.alerts - b.alerts);
  const largest = sorted[sorted.length - 1];
  const reference = sorted.find((s) => s.alerts === 1_000) ?? sorted[0];
  if (!largest || !reference || largest === reference) return null;
  const perPage = (s: PollSizeFigures) => s.cpuMs / Math.max(1, s.pages);
  return { ratio: perPage(largest) / perPage(reference), reference, largest };
}

export function pollCostResult(options: PollCostOptions, f: PollCostFigures): BenchResult {
  const targets: BenchResult["targets"] = [];
  const requestsOk = f.sizes.every((s) => s.requests <= Math.ceil(s.alerts / 100));
  targets.push({
    label: "PostHog requests per poll",
    goal: "≤ 1 per 100 alerts",
    measured: f.sizes.map((s) => `${s.requests} for ${int(s.alerts)}`).join(", "),
    met: requestsOk,
  });
  const linear = linearity(f);
  if (linear) {
    targets.push({
      label: "Poll CPU linear in pages",
      goal: `CPU per page at ${int(linear.largest.alerts)} alerts ≤ ${LINEAR_TOLERANCE}× that at ${int(linear.reference.alerts)}`,
      measured: `${(linear.largest.cpuMs / linear.largest.pages).toFixed(2)} vs ${(linear.reference.cpuMs / linear.reference.pages).toFixed(2)} ms per page (${linear.ratio.toFixed(2)}×)`,
      met: linear.ratio <= LINEAR_TOLERANCE,
    });
  }
  const largest = [...f.sizes].sort((a, b) => b.alerts - a.alerts)[0];
  if (largest) {
    targets.push({
      label: `Polling ${int(largest.alerts)} alerts every ${options.intervalSeconds} s within PostHog's per-key limits`,
      goal: `≤ ${POSTHOG_PER_MINUTE}/min and ≤ ${int(POSTHOG_PER_HOUR)}/h`,
      measured: `${largest.perMinute.toFixed(1)}/min, ${int(largest.perHour)}/h`,
      met: largest.perMinute <= POSTHOG_PER_MINUTE && largest.perHour <= POSTHOG_PER_HOUR,
    });
  }

  const table = {
    caption: `One poll of the whole alert list (median of ${options.steadyPolls} polls with no change)`,
    columns: [
      "Alerts",
      "Pages",
      "Requests",
      "Bot CPU ms/poll",
      "CPU ms/page",
      "CPU ms, first poll (baseline)",
      `CPU ms, poll with ${Math.round(options.changeShare * 100)}% newly firing`,
      "Wall ms/poll",
      "Fake PostHog CPU ms/poll",
      `Requests/min at ${options.intervalSeconds} s`,
      `Share of ${POSTHOG_PER_MINUTE}/min`,
      `Requests/h (limit ${int(POSTHOG_PER_HOUR)})`,
    ],
    rows: f.sizes.map((s) => {
      const baseline = s.samples.find((x) => x.kind === "baseline");
      const change = s.samples.find((x) => x.kind === "change");
      return [
        int(s.alerts),
        s.pages,
        s.requests,
        ms(s.cpuMs),
        (s.cpuMs / Math.max(1, s.pages)).toFixed(2),
        baseline ? ms(baseline.cpuMs) : "–",
        change ? ms(change.cpuMs) : "–",
        ms(s.wallMs),
        ms(s.fakeCpuMs),
        s.perMinute.toFixed(1),
        `${((s.perMinute / POSTHOG_PER_MINUTE) * 100).toFixed(1)}%`,
        int(s.perHour),
      ];
    }),
  };

  const limits: string[] = [];
  if (largest) {
    const stretchFrom = Math.ceil((options.intervalSeconds * 1000) / POLL_MS_PER_PAGE) * 100;
    limits.push(
      `requests: the client reads 100 alerts per page (PostHog's default), so a poll costs one request per 100 alerts. Above ${int(stretchFrom)} alerts the poller waits at least ${POLL_MS_PER_PAGE / 1000} s per page between polls instead of POLL_INTERVAL_SECONDS=${options.intervalSeconds}, so polling stays at or under ${int((3600 * 1000) / POLL_MS_PER_PAGE)} requests an hour, half of PostHog's ${int(POSTHOG_PER_HOUR)} per key, however many alerts there are.`,
    );
    limits.push(
      `CPU: each alert is schema-parsed, compared with the stored state (one query per alert for its open messages) and the state rewritten, so the bot's cost grows with the alert count: ${(largest.cpuMs / largest.alerts).toFixed(3)} ms per alert at ${int(largest.alerts)}, ${((largest.cpuMs / (options.intervalSeconds * 1000)) * 100).toFixed(1)}% of a core at one poll per ${options.intervalSeconds} s.` +
        (largest.fakeCpuMs > largest.wallMs / 2
          ? " The wall time per poll is mostly the fake PostHog, which serialises the whole list for every page."
          : ""),
    );
  }
  return {
    name: "poll-cost",
    title: "Poller cost",
    order: 50,
    ranAt: new Date().toISOString(),
    machine: machineInfo(),
    command: "npm run bench -- poll-cost",
    method:
      "The poller is built as the bot builds it (the PostHog client, a SQLite store on disk and `createPoller`) and " +
      "`pollOnce()` is called against the fake PostHog, which runs in a child process so its CPU is not counted. " +
      `${Math.round(options.firingShare * 100)}% of the alerts are firing when the bot first looks (the baseline poll records ` +
      `them without notifying); ${options.steadyPolls} polls with nothing changed follow, then one after ` +
      `${Math.round(options.changeShare * 100)}% of the alerts started firing. CPU is \`process.cpuUsage()\` around each ` +
      "poll; requests are the client's own count (retries included). Requests per minute and hour assume one poll per " +
      "interval (the poller waits the interval after each poll ends, so a slow list lowers them a little).",
    settings: {
      sizes: options.sizes.join(", "),
      "steady polls per size": options.steadyPolls,
      "poll interval assumed (s)": options.intervalSeconds,
    },
    targets,
    tables: [table],
    limits,
    notes: [
      quietNote(f.otherCpu),
      "Knobs: `BENCH_POLL_SIZES` (default `100,1000,10000`), `BENCH_POLLS` (steady polls per size, default 5).",
    ],
    data: f,
  };
}
