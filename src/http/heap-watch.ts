import { getHeapStatistics } from "node:v8";
import type { Logger } from "pino";

export interface HeapFigures {
  usedBytes: number;
  limitBytes: number;
}

export interface HeapWatchOptions {
  logger: Pick<Logger, "warn" | "info">;
  /** Share of the limit at which the heap counts as nearly full (default 0.85). */
  warnAt?: number;
  /** Share under which a warning clears again (default 0.7), so a heap near the line warns once. */
  clearAt?: number;
  read?: () => HeapFigures;
  process?: () => { rss: number; external: number };
}

const MB = 1024 * 1024;

export interface MemoryDetails {
  heapUsedMb: number;
  heapLimitMb: number;
  /** The whole process's resident memory. */
  rssMb: number;
  /** Memory held by buffers and native objects outside the JavaScript heap. */
  externalMb: number;
}

function inMb(figures: HeapFigures): { heapUsedMb: number; heapLimitMb: number } {
  return { heapUsedMb: Math.round(figures.usedBytes / MB), heapLimitMb: Math.round(figures.limitBytes / MB) };
}

function v8Figures(): HeapFigures {
  const stats = getHeapStatistics();
  return { usedBytes: stats.used_heap_size, limitBytes: stats.heap_size_limit };
}

/**
 * Watches the JavaScript heap against its limit. `npm start` caps the heap
 * (`--max-old-space-size`) to keep the process small; a project large enough to
 * fill it would otherwise end in an out-of-memory exit with no warning. This
 * says so in the log and in /healthz while there is still room.
 */
export class HeapWatch {
  private readonly warnAt: number;
  private readonly clearAt: number;
  private readonly read: () => HeapFigures;
  private readonly process: () => { rss: number; external: number };
  private high = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly options: HeapWatchOptions) {
    this.warnAt = options.warnAt ?? 0.85;
    this.clearAt = options.clearAt ?? 0.7;
    this.read = options.read ?? v8Figures;
    this.process = options.process ?? (() => process.memoryUsage());
  }

  /** Samples now; logs once when the heap passes the warning line and once when it falls back. */
  sample(): HeapFigures {
    const figures = this.read();
    const share = figures.usedBytes / figures.limitBytes;
    if (!this.high && share >= this.warnAt) {
      this.high = true;
      this.options.logger.warn(inMb(figures), this.sentence(figures));
    } else if (this.high && share < this.clearAt) {
      this.high = false;
      this.options.logger.info(inMb(figures), "the JavaScript heap is back under its warning line");
    }
    return figures;
  }

  /** A /healthz check: a warning while the heap is nearly full, and the figures in MB. */
  check = (): { warning: string | null; details: MemoryDetails } => {
    const figures = this.sample();
    const process = this.process();
    return {
      warning: this.high ? this.sentence(figures) : null,
      details: {
        ...inMb(figures),
        rssMb: Math.round(process.rss / MB),
        externalMb: Math.round(process.external / MB),
      },
    };
  };

  start(intervalMs = 30_000): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private sentence(figures: HeapFigures): string {
    const { heapUsedMb, heapLimitMb } = inMb(figures);
    return `The JavaScript heap is at ${heapUsedMb} of ${heapLimitMb} MB (${Math.round((100 * figures.usedBytes) / figures.limitBytes)}%). If it stays this full, start the bot with a larger --max-old-space-size (see "Memory" in the README) before it runs out.`;
  }
}
