/**
 * Random webhook bodies and the bookkeeping that judges the bot's answers.
 * Each body goes to its own `?channel=`, so what Slack received can be tied
 * back to the request that caused it: a body refused with a 4xx must never
 * produce a post, and a body accepted with 202 (and not a duplicate) must
 * produce exactly one.
 */
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import type { Harness } from "../support/harness.js";
import { WEBHOOK_SECRET } from "../support/harness.js";
import { firingBody } from "../support/webhook.js";
import { HOSTILE_TEXTS, sleep } from "./support.js";

export interface FuzzCase {
  label: string;
  raw: string;
  contentType: string;
}

type Json = unknown;

type Op =
  | { op: "set"; path: string[]; value: Json }
  | { op: "delete"; path: string[] }
  | { op: "bare" }
  | { op: "wrap" };

type Plan =
  | { kind: "json"; raw: string }
  | { kind: "anything"; value: unknown }
  | { kind: "mutate"; ops: Op[]; realAlert: number; contentType: string }
  | { kind: "text"; edits: Array<{ at: number; cut: number; insert: string }> };

/** Every field of PostHog's webhook body, as a path from the top. */
export const WEBHOOK_FIELD_PATHS: string[][] = [
  ["event"],
  ["person"],
  ["event", "event"],
  ["event", "uuid"],
  ["event", "properties"],
  ["event", "timestamp"],
  ["event", "distinct_id"],
  ["event", "properties", "alert_id"],
  ["event", "properties", "alert_name"],
  ["event", "properties", "insight_name"],
  ["event", "properties", "insight_id"],
  ["event", "properties", "state"],
  ["event", "properties", "last_checked_at"],
  ["event", "properties", "breaches"],
  ["event", "properties", "is_test"],
];
const FIELD_PATHS: string[][] = [[], ...WEBHOOK_FIELD_PATHS];

/**
 * The generators. Strings are arbitrary UTF-16, lone surrogates included, and
 * long ones are full of astral characters, so trimming a field to size can
 * cut a surrogate pair.
 */
function arbitraries() {
  const unit = "binary";
  const hostile = Object.values(HOSTILE_TEXTS);
  // fc.jsonValue, fc.json and fc.anything add ASCII strings on top.

  const value: fc.Arbitrary<Json> = fc.oneof(
    { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
    { weight: 3, arbitrary: fc.constantFrom(...hostile) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(null, 0, -1, 1e308, -1e-308, true, false, "", [], {}, [[[]]], {
        a: { b: {} },
      }),
    },
    { weight: 2, arbitrary: fc.string({ unit, maxLength: 200 }) },
    {
      weight: 1,
      arbitrary: fc.string({ unit: "grapheme", minLength: 2_000, maxLength: 12_000 }),
    },
    { weight: 1, arbitrary: fc.array(fc.string({ unit, maxLength: 40 }), { maxLength: 50 }) },
  );

  const path: fc.Arbitrary<string[]> = fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom(...FIELD_PATHS) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom(...FIELD_PATHS), fc.string({ maxLength: 12 }))
        .map(([p, k]) => [...p, k]),
    },
  );

  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 6, arbitrary: fc.record({ op: fc.constant("set" as const), path, value }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant("delete" as const), path }) },
    { weight: 1, arbitrary: fc.constant({ op: "bare" as const }) },
    { weight: 1, arbitrary: fc.constant({ op: "wrap" as const }) },
  );

  const plan: fc.Arbitrary<Plan> = fc.oneof(
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant("json" as const), raw: fc.json({ maxDepth: 4 }) }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant("anything" as const), value: fc.anything({ maxDepth: 3 }) }),
    },
    {
      weight: 6,
      arbitrary: fc.record({
        kind: fc.constant("mutate" as const),
        ops: fc.array(op, { minLength: 0, maxLength: 3 }),
        realAlert: fc.nat(),
        contentType: fc.constantFrom(
          "application/json",
          "application/json",
          "application/json",
          "application/json; charset=utf-8",
          "text/plain",
          "application/x-www-form-urlencoded",
        ),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("text" as const),
        edits: fc.array(
          fc.record({
            at: fc.nat(),
            cut: fc.nat({ max: 8 }),
            insert: fc.string({ unit: "binary", maxLength: 4 }),
          }),
          { minLength: 1, maxLength: 3 },
        ),
      }),
    },
  );
  return plan;
}

function setAt(root: Record<string, unknown>, p: string[], v: Json): Json {
  if (p.length === 0) return v;
  let node: unknown = root;
  for (const key of p.slice(0, -1)) {
    if (typeof node !== "object" || node === null) return root;
    node = (node as Record<string, unknown>)[key];
  }
  if (typeof node === "object" && node !== null) (node as Record<string, unknown>)[p.at(-1) as string] = v;
  return root;
}

function deleteAt(root: Record<string, unknown>, p: string[]): Json {
  if (p.length === 0) return {};
  let node: unknown = root;
  for (const key of p.slice(0, -1)) {
    if (typeof node !== "object" || node === null) return root;
    node = (node as Record<string, unknown>)[key];
  }
  if (typeof node === "object" && node !== null) delete (node as Record<string, unknown>)[p.at(-1) as string];
  return root;
}

/** A fresh valid body: unique uuid and check time, so only the mutation decides its fate. */
function baseBody(index: number, alertIds: string[], pick: number) {
  const alertId = pick % 3 === 0 ? randomUUID() : (alertIds[pick % alertIds.length] ?? randomUUID());
  return firingBody({
    alertId,
    alertName: `Fuzz ${index}`,
    checkedAt: new Date(Date.UTC(2025, 0, 1) + index * 60_000 + (pick % 1000)),
    uuid: randomUUID(),
  }) as unknown as Record<string, unknown>;
}

function build(p: Plan, index: number, alertIds: string[]): FuzzCase {
  switch (p.kind) {
    case "json":
      return { label: "random JSON", raw: p.raw, contentType: "application/json" };
    case "anything":
      return {
        label: "random value",
        raw: JSON.stringify(p.value) ?? "null",
        contentType: "application/json",
      };
    case "mutate": {
      let body: Json = baseBody(index, alertIds, p.realAlert);
      for (const o of p.ops) {
        if (typeof body !== "object" || body === null || Array.isArray(body)) break;
        const rec = body as Record<string, unknown>;
        if (o.op === "set") body = setAt(rec, o.path, structuredClone(o.value));
        else if (o.op === "delete") body = deleteAt(rec, o.path);
        else if (o.op === "bare") body = rec.event;
        else body = [rec];
      }
      return {
        label: p.ops.length === 0 ? "valid body" : `mutated: ${p.ops.map((o) => o.op).join("+")}`,
        raw: JSON.stringify(body) ?? "null",
        contentType: p.contentType,
      };
    }
    case "text": {
      let raw = JSON.stringify(baseBody(index, alertIds, index));
      for (const e of p.edits) {
        const at = e.at % (raw.length + 1);
        raw = raw.slice(0, at) + e.insert + raw.slice(at + e.cut);
      }
      return { label: "edited text", raw, contentType: "application/json" };
    }
  }
}

export function fuzzCases(count: number, seed: number, alertIds: string[]): FuzzCase[] {
  return fc.sample(arbitraries(), { numRuns: count, seed }).map((p, i) => build(p, i, alertIds));
}

/** A channel id per request index, valid for `?channel=`. */
export function fuzzChannel(index: number): string {
  return `CFZ${index.toString(36).toUpperCase().padStart(6, "0")}`;
}

export interface FuzzReport {
  seed: number;
  sent: number;
  byStatus: Record<string, number>;
  accepted: number;
  duplicates: number;
  posted: number;
  problems: string[];
}

const ALLOWED = new Set([202, 400, 413, 415, 422]);

/**
 * Sends `count` random bodies in concurrent batches, waits for the
 * accepted ones to be posted, and lists every broken promise.
 */
export async function runWebhookFuzz(
  h: Harness,
  count: number,
  options: {
    seed: number;
    batch?: number;
    /** Wait for a round's posts before sending the next round (keeps Slack's backlog bounded). */
    roundSize?: number;
    settleMs?: number;
    alertIds: string[];
  },
): Promise<FuzzReport> {
  const cases = fuzzCases(count, options.seed, options.alertIds);
  const batch = options.batch ?? 50;
  const report: FuzzReport = {
    seed: options.seed,
    sent: 0,
    byStatus: {},
    accepted: 0,
    duplicates: 0,
    posted: 0,
    problems: [],
  };
  const expectPost = new Set<string>();
  const mayNotPost = new Set<string>();
  const problem = (text: string) => {
    if (report.problems.length < 40) report.problems.push(text);
  };
  const postsIn = (channel: string) =>
    (h.slack.messages.get(channel) ?? []).filter((m) => !m.thread_ts).length;
  /** Channels of this round still waiting for their post. */
  let waiting = new Set<string>();
  const settle = async () => {
    const deadline = Date.now() + (options.settleMs ?? 20_000);
    while (Date.now() < deadline && waiting.size > 0) {
      for (const c of waiting) if (postsIn(c) > 0) waiting.delete(c);
      await sleep(50);
    }
    waiting = new Set();
  };
  const roundSize = options.roundSize ?? cases.length;
  for (let start = 0; start < cases.length; start += batch) {
    if (start > 0 && start % roundSize === 0) await settle();
    const slice = cases.slice(start, start + batch);
    await Promise.all(
      slice.map(async (c, j) => {
        const index = start + j;
        const channel = fuzzChannel(index);
        let status = 0;
        let text = "";
        try {
          const res = await fetch(`${h.baseUrl}/posthog/webhook?channel=${channel}`, {
            method: "POST",
            headers: { "content-type": c.contentType, authorization: `Bearer ${WEBHOOK_SECRET}` },
            body: c.raw,
          });
          status = res.status;
          text = await res.text();
        } catch (error) {
          problem(`#${index} (${c.label}): request failed: ${(error as Error).message}`);
        }
        report.sent += 1;
        report.byStatus[status] = (report.byStatus[status] ?? 0) + 1;
        if (!ALLOWED.has(status)) {
          problem(
            `#${index} (${c.label}): answered ${status} ${text.slice(0, 200)} to ${c.raw.slice(0, 200)}`,
          );
        }
        if (status === 202) {
          report.accepted += 1;
          const body = JSON.parse(text) as { accepted?: boolean; duplicate?: boolean };
          if (body.accepted !== true) problem(`#${index}: 202 without accepted:true`);
          if (body.duplicate) report.duplicates += 1;
          else {
            expectPost.add(channel);
            waiting.add(channel);
          }
        } else {
          mayNotPost.add(channel);
        }
      }),
    );
  }
  await settle();
  await sleep(500);
  for (const channel of expectPost) {
    const n = postsIn(channel);
    if (n !== 1) problem(`${channel}: accepted once but posted ${n} times`);
  }
  for (const channel of mayNotPost) {
    if (h.slack.messages.has(channel)) problem(`${channel}: refused but something was posted`);
  }
  for (const [channel, messages] of h.slack.messages) {
    if (channel.startsWith("CFZ")) report.posted += messages.filter((m) => !m.thread_ts).length;
  }
  const failedPosts = h.slack.callsTo("chat.postMessage").filter((c) => !c.ok);
  for (const c of failedPosts.slice(0, 5)) problem(`Slack refused a post: ${c.error}`);
  return report;
}
