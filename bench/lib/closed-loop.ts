/**
 * A closed-loop load generator for loopback HTTP targets: `concurrency`
 * workers, each sending its next request as soon as the previous one has
 * been answered, the way PostHog's webhook senders retry and drain a queue.
 * Throughput is whatever the target sustains; latency is what each request
 * waited with that many others in flight.
 */
import { performance } from "node:perf_hooks";
import { LoopbackPool, mergeCounts, type PreparedRequest, type RunCounts } from "./load.js";
import { summarize } from "./stats.js";

export interface ClosedLoopOptions {
  /** Requests in flight at any moment (one per worker). */
  concurrency: number;
  /** Stop starting new requests after this long, in milliseconds. */
  durationMs: number;
  /** Builds request number i, just before it is sent (keep it cheap). */
  prepare: (i: number) => PreparedRequest;
  /** Stop after this many requests even if time is left (default unlimited). */
  maxRequests?: number;
  /** Status that counts as accepted (default 202). */
  okStatus?: number;
  /** A request without a full response after this long counts as an error (default 10 s). */
  timeoutMs?: number;
  /** Called with every response body of an accepted request (e.g. to check what the target said). */
  onAccepted?: (i: number, body: string) => void;
}

export interface ClosedLoopResult extends RunCounts {
  concurrency: number;
  /** Accepted requests per second over the run. */
  throughput: number;
  wallMs: number;
}

/** Closed-loop load: `concurrency` requests in flight, each sent when the last was answered. */
export class ClosedLoopTarget extends LoopbackPool {
  constructor(origin: string, connections = 32) {
    super(origin, connections);
  }

  async run(options: ClosedLoopOptions): Promise<ClosedLoopResult> {
    const { concurrency, durationMs } = options;
    if (!(concurrency >= 1) || !(durationMs > 0))
      throw new Error("concurrency and duration must be positive");
    const okStatus = options.okStatus ?? 202;
    const timeoutMs = options.timeoutMs ?? 10_000;
    const maxRequests = options.maxRequests ?? Number.POSITIVE_INFINITY;
    const samples: number[] = [];
    const errorKinds: Record<string, number> = {};
    let next = 0;
    let ok = 0;
    const fail = (kind: string) => {
      errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
    };

    const start = performance.now();
    const end = start + durationMs;
    const worker = async () => {
      while (performance.now() < end && next < maxRequests) {
        const i = next++;
        const request = options.prepare(i);
        const signal = AbortSignal.timeout(timeoutMs);
        const sentAt = performance.now();
        try {
          const res = await this.pool.request({
            method: "POST",
            path: request.path,
            headers: request.headers,
            body: request.body,
            signal,
          });
          const text = await res.body.text();
          if (res.statusCode === okStatus) {
            samples.push(performance.now() - sentAt);
            ok += 1;
            options.onAccepted?.(i, text);
          } else fail(`http_${res.statusCode}`);
        } catch (error) {
          const e = error as { code?: string; name?: string };
          fail(signal.aborted ? "timeout" : (e.code ?? e.name ?? "error"));
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const wallMs = performance.now() - start;
    const latencies = Float64Array.from(samples);
    return {
      concurrency,
      sent: next,
      ok,
      errors: next - ok,
      errorKinds,
      latency: summarize(latencies),
      samples: latencies,
      throughput: (ok * 1000) / Math.max(wallMs, 1),
      wallMs,
    };
  }
}

/** Merges runs against one target (e.g. the two halves of an A-B-B-A sequence). */
export function mergeClosedLoop(runs: ClosedLoopResult[]): ClosedLoopResult {
  const counts = mergeCounts(runs);
  const wallMs = runs.reduce((n, r) => n + r.wallMs, 0);
  return {
    ...counts,
    concurrency: (runs[0] as ClosedLoopResult).concurrency,
    throughput: (counts.ok * 1000) / Math.max(wallMs, 1),
    wallMs,
  };
}
