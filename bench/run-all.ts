/**
 * The bench runner's global setup: after the benchmark files have run, it
 * regenerates BENCHMARKS.md from every result in the results directory, so a
 * run of one benchmark keeps the other sections. BENCH_MARKDOWN overrides the
 * output path; BENCH_RESULTS_DIR the results directory.
 */
import { DEFAULT_MARKDOWN, resultsDir, writeBenchmarks } from "./lib/report.js";

export function setup(): void {
  process.stdout.write(`bench results go to ${resultsDir()}\n`);
}

export function teardown(): void {
  const path = writeBenchmarks(resultsDir(), process.env.BENCH_MARKDOWN || DEFAULT_MARKDOWN);
  process.stdout.write(`wrote ${path}\n`);
}
