/**
 * Benchmark results: each benchmark writes one self-describing JSON file
 * (`<results dir>/<name>.json`: title, tables, targets, what limits it, raw
 * figures) and BENCHMARKS.md is generated from whatever files exist, so any
 * benchmark can add its section without touching the others.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "./processes.js";

export interface MachineInfo {
  cpu: string;
  cores: number;
  ramGb: number;
  node: string;
  os: string;
}

export interface BenchTable {
  caption?: string;
  columns: string[];
  rows: Array<Array<string | number>>;
}

export interface BenchTarget {
  /** What is measured, e.g. "Ack p99, bot ÷ bare Bolt, at 100 req/s". */
  label: string;
  /** The goal in words, e.g. "≤ 1.25×". */
  goal: string;
  /** The measured figure in words. */
  measured: string;
  met: boolean;
}

export interface BenchResult {
  /** File name without extension, e.g. "ack-latency". */
  name: string;
  title: string;
  /** Position in BENCHMARKS.md (lower first; ties by name). */
  order: number;
  /** ISO time the run finished. */
  ranAt: string;
  machine: MachineInfo;
  /** The command that reproduces this section. */
  command: string;
  /** One paragraph: what is measured and how. */
  method: string;
  settings: Record<string, string | number | boolean>;
  targets: BenchTarget[];
  tables: BenchTable[];
  /** One or two lines: what limits the figures. */
  limits: string[];
  notes: string[];
  /** Raw figures for anyone who wants more than the tables. */
  data: unknown;
}

export const DEFAULT_RESULTS_DIR = join(REPO_ROOT, "bench", "results");
export const DEFAULT_MARKDOWN = join(REPO_ROOT, "BENCHMARKS.md");

/** The results directory: BENCH_RESULTS_DIR, or bench/results. */
export function resultsDir(): string {
  return process.env.BENCH_RESULTS_DIR || DEFAULT_RESULTS_DIR;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? "unknown",
    cores: cpus.length,
    ramGb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

/** A note on other programs' CPU use during a run: a busy machine makes tails noisier. */
export function quietNote(otherShare: number): string {
  const percent = Math.round(otherShare * 100);
  return percent >= 10
    ? `Other programs used ${percent}% of the machine's CPU during this run, so the tails are noisier than on a quiet machine.`
    : `Other programs used ${percent}% of the machine's CPU during this run.`;
}

export function writeResult(dir: string, result: BenchResult): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${result.name}.json`);
  writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
  return path;
}

function isResult(value: unknown): value is BenchResult {
  const r = value as Partial<BenchResult> | null;
  return (
    typeof r === "object" &&
    r !== null &&
    typeof r.name === "string" &&
    typeof r.title === "string" &&
    Array.isArray(r.tables) &&
    Array.isArray(r.targets)
  );
}

/** Every readable result in the directory, in report order. Files that are not results are skipped. */
export function readResults(dir: string): BenchResult[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith(".json"));
  } catch {
    return [];
  }
  const results: BenchResult[] = [];
  for (const file of files) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(join(dir, file), "utf8"));
      if (isResult(parsed)) results.push(parsed);
    } catch {
      // a half-written or foreign file: leave it out
    }
  }
  return results.sort((a, b) => (a.order ?? 100) - (b.order ?? 100) || a.name.localeCompare(b.name));
}

const cell = (value: string | number) => String(value).replace(/\|/g, "\\|").replace(/\n/g, " ");

export function renderTable(table: BenchTable): string {
  const lines: string[] = [];
  if (table.caption) lines.push(`*${table.caption}*`, "");
  lines.push(`| ${table.columns.map(cell).join(" | ")} |`);
  lines.push(`|${table.columns.map(() => "---").join("|")}|`);
  for (const row of table.rows) lines.push(`| ${row.map(cell).join(" | ")} |`);
  return lines.join("\n");
}

function machineLine(m: MachineInfo): string {
  return `${m.cpu}, ${m.cores} cores, ${m.ramGb} GB RAM, Node ${m.node}, ${m.os}`;
}

function sameMachine(a: MachineInfo, b: MachineInfo): boolean {
  return machineLine(a) === machineLine(b);
}

const mark = (met: boolean) => (met ? "✅ met" : "❌ missed");

/**
 * What past runs found, by benchmark name: hand-written notes in `bench/findings/<name>.md`, kept
 * apart from the run's own figures so that a section's "what limits it" stays about this run.
 */
export const FINDINGS_DIR = join(REPO_ROOT, "bench", "findings");

export function readFindings(dir: string = FINDINGS_DIR): Record<string, string> {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith(".md"));
  } catch {
    return {};
  }
  return Object.fromEntries(
    files.map((file) => [file.slice(0, -".md".length), readFileSync(join(dir, file), "utf8").trim()]),
  );
}

export function renderSection(result: BenchResult, reference?: MachineInfo, findings?: string): string {
  const parts: string[] = [`## ${result.title}`, ""];
  const where =
    reference && !sameMachine(reference, result.machine) ? ` on ${machineLine(result.machine)}` : "";
  parts.push(
    `Run ${result.ranAt.slice(0, 16).replace("T", " ")} UTC${where} with \`${result.command}\`.`,
    "",
  );
  parts.push(result.method, "");
  const settings = Object.entries(result.settings);
  if (settings.length > 0) {
    parts.push(`Settings: ${settings.map(([k, v]) => `${k} = ${v}`).join(", ")}.`, "");
  }
  for (const table of result.tables) parts.push(renderTable(table), "");
  if (result.limits.length === 1) parts.push(`**What limits it:** ${result.limits[0]}`, "");
  else if (result.limits.length > 1) {
    parts.push("**What limits it:**", "");
    for (const limit of result.limits) parts.push(`- ${limit}`);
    parts.push("");
  }
  if (result.notes.length > 0) {
    for (const note of result.notes) parts.push(`- ${note}`);
    parts.push("");
  }
  if (findings) parts.push(`### What we found: ${result.title.toLowerCase()}`, "", findings, "");
  return parts.join("\n");
}

/** The whole BENCHMARKS.md for a set of results. */
export function renderBenchmarks(results: BenchResult[], findings: Record<string, string> = {}): string {
  const newest = [...results].sort((a, b) => b.ranAt.localeCompare(a.ranAt))[0];
  const machine = newest?.machine ?? machineInfo();
  const lines: string[] = [
    "# Benchmarks",
    "",
    "Generated by `npm run bench` from the JSON files in `bench/results/`; do not edit by hand.",
    "Every benchmark runs on loopback against the in-repo fakes of PostHog and the Slack Web API, and",
    "starts the built bot (`dist/`) as its own process, as `npm start` does, with the node flags",
    "`npm start` gives it (read from package.json: the heap caps).",
    "",
    "- `npm run bench` builds, runs every `bench/*.bench-run.ts` one after another, and rewrites this file.",
    "- `npm run bench -- ack-latency` runs one benchmark; the other sections keep their last results.",
    "- Every ack-latency run is also kept in `bench/results/ack-latency-runs.json`, with a hash of the build it",
    "  measured; once three runs of one build and settings exist, its ratio targets are judged by their median.",
    "- Knobs (environment): `BENCH_SECONDS` (measurement length, default 20; 60 for ack latency), `BENCH_RATE` (default 100),",
    "  `BENCH_PARTS` (runs each target's ack measurement is split into, taken in turns; default 16),",
    "  `BENCH_KINDS` (`command`, `snooze`, or both separated by a comma), `BENCH_WORLD=inline` (the fakes in the",
    "  generator's process), `BENCH_BARE_NODE_ARGS` (node flags for the bare Bolt app), `BENCH_PAGE_BASELINE=0`",
    "  (skip the bare app that acks with the bot's page),",
    "  `BENCH_STEP_UP=0`, `BENCH_STEP_SECONDS`, `BENCH_STEP_MAX`, `BENCH_SLOW_POSTHOG_MS`, `BENCH_STARTS`,",
    "  `BENCH_NPM_STARTS`, `BENCH_WARMUP_SECONDS`, `BENCH_LOG_LEVEL`, `BENCH_NODE_ARGS` (more node flags for the",
    "  bot, e.g. `--cpu-prof`), `BENCH_HELPER_NODE_ARGS` (the same for the fakes' process), `BENCH_MEMORY_VARIANTS`",
    "  (sets of node flags separated by `;` to measure memory with; empty is V8's defaults, `0` none),",
    "  `BENCH_MAIN_JS` (another build to compare), `BENCH_RESULTS_DIR`, `BENCH_MARKDOWN`.",
    "",
    "## Machine",
    "",
    renderTable({
      columns: ["CPU", "Cores", "RAM", "Node", "OS", "Latest run"],
      rows: [
        [
          machine.cpu,
          machine.cores,
          `${machine.ramGb} GB`,
          machine.node,
          machine.os,
          newest ? `${newest.ranAt.slice(0, 10)}` : "–",
        ],
      ],
    }),
    "",
  ];
  const targets = results.flatMap((r) => r.targets.map((t) => ({ ...t, section: r.title })));
  if (targets.length > 0) {
    lines.push(
      "## Targets",
      "",
      "Each benchmark's section below says how it measured and what limits it, then what earlier runs found.",
      "",
      renderTable({
        columns: ["Benchmark", "Target", "Goal", "Measured", ""],
        rows: targets.map((t) => [t.section, t.label, t.goal, t.measured, mark(t.met)]),
      }),
      "",
    );
  }
  if (results.length === 0) lines.push("No results yet: run `npm run bench`.", "");
  for (const result of results) lines.push(renderSection(result, machine, findings[result.name]));
  return `${lines.join("\n").trimEnd()}\n`;
}

/** Regenerates the markdown file from every result in the directory; returns the path written. */
export function writeBenchmarks(dir: string = resultsDir(), out: string = DEFAULT_MARKDOWN): string {
  writeFileSync(out, renderBenchmarks(readResults(dir), readFindings()));
  return out;
}
