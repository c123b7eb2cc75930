/**
 * The ratios of every run written to a results directory, kept by build.
 *
 * On this two-core machine the p99 ratio of one whole ack-latency run moves between runs of the
 * same code (snooze clicks with a slow PostHog measured 1.10–1.55× in five runs of one build: a p99
 * of a few thousand requests is decided by a handful of stalls of the whole machine), more than one
 * run's own interval shows. So a ratio target is judged by the median of the runs of one build
 * with one set of settings, once there are `MIN_RUNS` of them. Every such run counts: none is left
 * out for its figures.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { middle } from "./stats.js";

/** Runs of one build and settings before their median decides a ratio target. */
export const MIN_RUNS = 3;
/** The history's file in a results directory. It is not a result, so the report skips it. */
export const RUNS_FILE = "ack-latency-runs.json";
/** Runs kept in the file, newest last. */
const KEEP_RUNS = 100;

export interface RatioRun {
  /** ISO time the run finished. */
  ranAt: string;
  /** What was measured: a hash of the built bot, the bare app and the locked dependencies. */
  build: string;
  /** Everything that shapes a ratio besides the build (length, runs, rate, PostHog's delay…). */
  settings: string;
  /** The run's ratios by name ("command", "snooze", "slow command", "page"…). */
  ratios: Record<string, number>;
}

/** One ratio over the runs of a build: each run's value, oldest first, and their median. */
export interface RatioAcrossRuns {
  values: number[];
  median: number;
}

/**
 * A short hash of files and directories (recursively, in a fixed order): each file's contents and
 * its name below the path given, so the same build has the same id in any checkout.
 */
export function buildId(paths: string[]): string {
  const hash = createHash("sha256");
  const add = (path: string, name: string) => {
    if (statSync(path).isDirectory()) {
      for (const child of readdirSync(path).sort()) add(join(path, child), `${name}/${child}`);
      return;
    }
    const contents = readFileSync(path);
    hash.update(`${name}\0${contents.length}\0`).update(contents);
  };
  for (const path of paths) add(path, basename(path));
  return hash.digest("hex").slice(0, 12);
}

function isRun(value: unknown): value is RatioRun {
  const r = value as Partial<RatioRun> | null;
  return (
    typeof r === "object" &&
    r !== null &&
    typeof r.ranAt === "string" &&
    typeof r.build === "string" &&
    typeof r.settings === "string" &&
    typeof r.ratios === "object" &&
    r.ratios !== null
  );
}

/** Every run recorded in the directory, oldest first; none when the file is missing or unreadable. */
export function readRuns(dir: string): RatioRun[] {
  try {
    const parsed: unknown = JSON.parse(readFileSync(join(dir, RUNS_FILE), "utf8"));
    return Array.isArray(parsed) ? parsed.filter(isRun) : [];
  } catch {
    return [];
  }
}

/** Adds a run to the directory's history; returns the runs of the same build and settings, this one last. */
export function recordRun(dir: string, run: RatioRun): RatioRun[] {
  const runs = [...readRuns(dir), run].slice(-KEEP_RUNS);
  writeFileSync(join(dir, RUNS_FILE), `${JSON.stringify(runs, null, 2)}\n`);
  return runs.filter((r) => r.build === run.build && r.settings === run.settings);
}

/** The values of one ratio in the runs that measured it, oldest first. */
export function ratioValues(runs: Array<Pick<RatioRun, "ratios">>, name: string): number[] {
  return runs.map((r) => r.ratios[name]).filter((v): v is number => Number.isFinite(v));
}

/** A ratio over runs, when at least `MIN_RUNS` of them measured it; otherwise null. */
export function ratioAcrossRuns(runs: Array<Pick<RatioRun, "ratios">>, name: string): RatioAcrossRuns | null {
  const values = ratioValues(runs, name);
  return values.length >= MIN_RUNS ? { values, median: middle(values) } : null;
}
