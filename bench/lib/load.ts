/**
 * An open-loop load generator for loopback HTTP targets.
 *
 * Request i is sent at start + i / rate whatever happened to the earlier ones,
 * the way Slack sends interactions: a slow target does not slow the senders
 * down, so queueing shows up in the latencies instead of being hidden by them.
 * Every request is built before the clock starts, so signing and payload
 * encoding do not compete with sending.
 */
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { Pool } from "undici";
import { type LatencyStats, summarize } from "./stats.js";

export interface PreparedRequest {
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface LoadOptions {
  /** Offered rate in requests per second. */
  rate: number;
  /** How long to keep sending, in milliseconds. */
  durationMs: number;
  /** Builds request number i; called for every request before sending starts. */
  prepare: (i: number) => PreparedRequest;
  /** Hard cap on the number of requests (default 200 000). */
  maxRequests?: number;
  /** A request without a full response after this long counts as an error (default 10 s). */
  timeoutMs?: number;
  /** Status that counts as success (default 200). */
  okStatus?: number;
}

/** What both load generators count in a run. */
export interface RunCounts {
  sent: number;
  ok: number;
  errors: number;
  /** Error counts by kind: `http_<status>`, `timeout`, or the client's error code. */
  errorKinds: Record<string, number>;
  /** Latency of successful requests, from the moment each was handed to the client to its full response. */
  latency: LatencyStats;
  /** Every successful request's latency, in completion order. */
  samples: Float64Array;
}

export interface LoadResult extends RunCounts {
  rate: number;
  /** How late the generator sent requests against their schedule (its own event-loop delay). */
  sendLag: LatencyStats;
  lagSamples: Float64Array;
  /** Requests sent per second over the sending window. */
  offeredRate: number;
  /** Successful responses per second, first send to last response. */
  throughput: number;
  /** Wall time of the whole run, sending and draining, in milliseconds. */
  wallMs: number;
  /** Successful responses that carried a body (a Slack ack with an answer in it). */
  withBody: number;
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** Throws unless the URL points at this machine: benchmarks never leave loopback. */
export function assertLoopback(origin: string): URL {
  const url = new URL(origin);
  if (!LOOPBACK_HOSTS.has(url.hostname) || url.protocol !== "http:")
    throw new Error(`benchmarks only drive http://127.0.0.1 targets, not ${url.origin}`);
  return url;
}

/** A keep-alive pool of `connections` to one loopback origin, for the load generators. */
export class LoopbackPool {
  readonly origin: string;
  protected readonly pool: Pool;

  constructor(origin: string, connections: number) {
    this.origin = assertLoopback(origin).origin;
    this.pool = new Pool(this.origin, {
      connections,
      pipelining: 1,
      keepAliveTimeout: 60_000,
      keepAliveMaxTimeout: 60_000,
    });
  }

  /** Sends one request and reads its answer whole (outside any measurement). */
  async fetch(request: PreparedRequest): Promise<{ status: number; contentType: string; text: string }> {
    const res = await this.pool.request({
      method: "POST",
      path: request.path,
      headers: request.headers,
      body: request.body,
    });
    const text = await res.body.text();
    return { status: res.statusCode, contentType: String(res.headers["content-type"] ?? ""), text };
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}

/** Open-loop load: requests at a steady rate, whatever the responses take. */
export class LoadTarget extends LoopbackPool {
  constructor(origin: string, connections = 128) {
    super(origin, connections);
  }

  /** Sends requests at a steady rate and measures each one. Bounded by count and by time. */
  async run(options: LoadOptions): Promise<LoadResult> {
    const { rate, durationMs } = options;
    if (!(rate > 0) || !(durationMs > 0)) throw new Error("rate and duration must be positive");
    const maxRequests = options.maxRequests ?? 200_000;
    const timeoutMs = options.timeoutMs ?? 10_000;
    const okStatus = options.okStatus ?? 200;
    const count = Math.min(maxRequests, Math.max(1, Math.round((rate * durationMs) / 1000)));
    const interval = 1000 / rate;

    const requests: PreparedRequest[] = [];
    for (let i = 0; i < count; i++) requests.push(options.prepare(i));

    const samples = new Float64Array(count);
    const lags = new Float64Array(count);
    const errorKinds: Record<string, number> = {};
    let ok = 0;
    let withBody = 0;
    let lastDone = 0;
    const fail = (kind: string) => {
      errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
    };

    const inflight = new Set<Promise<void>>();
    const controllers = new Set<AbortController>();
    const send = (request: PreparedRequest): void => {
      const controller = new AbortController();
      controllers.add(controller);
      const timer = setTimeout(() => controller.abort(), timeoutMs);
      const started = performance.now();
      const done = this.pool
        .request({
          method: "POST",
          path: request.path,
          headers: request.headers,
          body: request.body,
          signal: controller.signal,
        })
        .then(async (res) => {
          // Read, not dumped: whether the body was empty is part of the answer (Bolt sends an ack's
          // answer chunked, without a Content-Length).
          let bytes = 0;
          for await (const chunk of res.body) bytes += (chunk as Buffer).length;
          const finished = performance.now();
          // Slack reads a body as JSON only when its content type says so, and shows any other as text.
          const isJson = /^application\/json\b/i.test(String(res.headers["content-type"] ?? ""));
          if (res.statusCode === okStatus && bytes > 0 && !isJson) fail("ack_body_not_json");
          else if (res.statusCode === okStatus) {
            if (bytes > 0) withBody += 1;
            samples[ok] = finished - started;
            ok += 1;
            lastDone = finished;
          } else fail(`http_${res.statusCode}`);
        })
        .catch((error: { code?: string; name?: string }) => {
          fail(controller.signal.aborted ? "timeout" : (error.code ?? error.name ?? "error"));
        })
        .finally(() => {
          clearTimeout(timer);
          controllers.delete(controller);
          inflight.delete(done);
        });
      inflight.add(done);
    };

    const start = performance.now();
    let next = 0;
    let lastSent = start;
    while (next < count) {
      const now = performance.now();
      while (next < count && start + next * interval <= now) {
        lags[next] = now - (start + next * interval);
        send(requests[next] as PreparedRequest);
        lastSent = now;
        next += 1;
      }
      if (next < count) await sleep(Math.max(0, start + next * interval - performance.now()));
    }
    // Wait for the stragglers, but never longer than the per-request timeout.
    const drainUntil = performance.now() + timeoutMs + 1_000;
    while (inflight.size > 0 && performance.now() < drainUntil) {
      await Promise.race([Promise.allSettled([...inflight]), sleep(100)]);
    }
    for (const controller of controllers) controller.abort();
    const end = performance.now();

    const latencies = samples.slice(0, ok);
    const sendWindow = Math.max(lastSent - start, interval);
    return {
      rate,
      sent: count,
      ok,
      errors: count - ok,
      errorKinds,
      latency: summarize(latencies),
      samples: latencies,
      sendLag: summarize(lags),
      lagSamples: lags,
      offeredRate: count > 1 ? ((count - 1) * 1000) / sendWindow : rate,
      throughput: ok > 0 ? (ok * 1000) / Math.max(lastDone - start, 1) : 0,
      wallMs: end - start,
      withBody,
    };
  }
}

function concat(arrays: Float64Array[]): Float64Array {
  const out = new Float64Array(arrays.reduce((n, a) => n + a.length, 0));
  let offset = 0;
  for (const a of arrays) {
    out.set(a, offset);
    offset += a.length;
  }
  return out;
}

/** The counts of several runs against one target, as if they were one run: for either generator. */
export function mergeCounts(runs: RunCounts[]): RunCounts {
  if (runs.length === 0) throw new Error("nothing to merge");
  const samples = concat(runs.map((r) => r.samples));
  const errorKinds: Record<string, number> = {};
  for (const run of runs)
    for (const [kind, n] of Object.entries(run.errorKinds)) errorKinds[kind] = (errorKinds[kind] ?? 0) + n;
  const sent = runs.reduce((n, r) => n + r.sent, 0);
  const ok = runs.reduce((n, r) => n + r.ok, 0);
  return { sent, ok, errors: sent - ok, errorKinds, latency: summarize(samples), samples };
}

/** Merges several runs against the same target (e.g. the runs a target takes in turns with another). */
export function mergeRuns(runs: LoadResult[]): LoadResult {
  const counts = mergeCounts(runs);
  const lagSamples = concat(runs.map((r) => r.lagSamples));
  const weighted = (pick: (r: LoadResult) => number) =>
    runs.reduce((n, r) => n + pick(r) * r.sent, 0) / Math.max(counts.sent, 1);
  const first = runs[0] as LoadResult;
  return {
    ...counts,
    rate: first.rate,
    sendLag: summarize(lagSamples),
    lagSamples,
    offeredRate: weighted((r) => r.offeredRate),
    throughput: weighted((r) => r.throughput),
    wallMs: runs.reduce((n, r) => n + r.wallMs, 0),
    withBody: runs.reduce((n, r) => n + r.withBody, 0),
  };
}
