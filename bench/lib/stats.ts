/** Latency summaries for benchmark runs, in milliseconds. */

export interface LatencyStats {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of an ascending array (p in 0–100); NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  const index = Math.min(sorted.length - 1, Math.max(0, rank - 1));
  return sorted[index] as number;
}

export function summarize(samples: ArrayLike<number>): LatencyStats {
  const sorted = Float64Array.from(samples).sort();
  let sum = 0;
  for (const value of sorted) sum += value;
  const count = sorted.length;
  return {
    count,
    min: count > 0 ? (sorted[0] as number) : Number.NaN,
    mean: count > 0 ? sum / count : Number.NaN,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: count > 0 ? (sorted[count - 1] as number) : Number.NaN,
  };
}

/** Milliseconds for a table cell: two decimals under 10 ms, one under 100, whole above. */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return "–";
  if (value < 10) return value.toFixed(2);
  if (value < 100) return value.toFixed(1);
  return Math.round(value).toString();
}

export function ratio(a: number, b: number): number {
  return b > 0 ? a / b : Number.NaN;
}

/** The median of a few numbers by nearest rank (e.g. repeated start times): always one of them. */
export function median(values: number[]): number {
  return percentile(
    [...values].sort((x, y) => x - y),
    50,
  );
}

/**
 * The median as the mean of the two middle values of an even count, where `median` takes the
 * lower one: for a verdict over runs, which the lower one would lean towards passing.
 */
export function middle(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const half = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[half] as number)
    : ((sorted[half - 1] as number) + (sorted[half] as number)) / 2;
}

/** A small seeded generator (mulberry32), so a bootstrap gives the same interval for the same samples. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * How far a ratio of two percentiles could move by chance alone: a bootstrap over rounds.
 * `a[i]` and `b[i]` are the samples of two targets measured in the same round (back to back),
 * so rounds are drawn whole, with replacement, keeping each pair together: a spell of load
 * from elsewhere falls on both, as it did in the run. Each draw merges the drawn rounds'
 * samples per target and takes the percentile `p` of each; the interval holds the middle
 * `level` of those ratios. NaN bounds when there are fewer than two rounds.
 */
export function roundBootstrapRatio(
  a: ArrayLike<number>[],
  b: ArrayLike<number>[],
  p: number,
  options: { resamples?: number; level?: number; seed?: number } = {},
): { low: number; high: number } {
  const rounds = Math.min(a.length, b.length);
  if (rounds < 2) return { low: Number.NaN, high: Number.NaN };
  const resamples = options.resamples ?? 2000;
  const level = options.level ?? 0.95;
  const random = seeded(options.seed ?? 1);
  const sizeOf = (parts: ArrayLike<number>[]) => Math.max(...parts.slice(0, rounds).map((s) => s.length));
  const bufferA = new Float64Array(sizeOf(a) * rounds);
  const bufferB = new Float64Array(sizeOf(b) * rounds);
  const ratios = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let na = 0;
    let nb = 0;
    for (let k = 0; k < rounds; k++) {
      const pick = Math.floor(random() * rounds);
      const sa = a[pick] as ArrayLike<number>;
      const sb = b[pick] as ArrayLike<number>;
      for (let i = 0; i < sa.length; i++) bufferA[na++] = sa[i] as number;
      for (let i = 0; i < sb.length; i++) bufferB[nb++] = sb[i] as number;
    }
    ratios[r] = ratio(
      percentile(bufferA.subarray(0, na).sort(), p),
      percentile(bufferB.subarray(0, nb).sort(), p),
    );
  }
  ratios.sort();
  const tail = (1 - level) / 2;
  return { low: percentile(ratios, tail * 100), high: percentile(ratios, (1 - tail) * 100) };
}
