/**
 * Slash commands and modal submissions with random and hostile input. Every
 * request is acknowledged within Slack's 3 s, every person gets an answer
 * (a reply on the response URL, a modal, or inline errors), and PostHog only
 * sees the write that the person actually asked for.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACTION_SNOOZE_PRESET, BLOCK_SNOOZE_PRESET } from "../../src/blocks/snooze-modal.js";
import { CALCULATION_INTERVALS, CONDITION_TYPES, THRESHOLD_TYPES } from "../../src/posthog/schemas.js";
import { alertRefCodec } from "../../src/slack/codecs.js";
import {
  ACTION_SHOW_SNOOZE,
  ACTION_SNOOZE_AT,
  BLOCK_CONDITION,
  BLOCK_INSIGHT,
  BLOCK_INTERVAL,
  BLOCK_LOWER,
  BLOCK_NAME,
  BLOCK_OPTIONS,
  BLOCK_SERIES,
  BLOCK_SNOOZE_AT,
  BLOCK_SUBSCRIBERS,
  BLOCK_THRESHOLD_TYPE,
  BLOCK_UPPER,
  VIEW_ALERT_FORM,
  VIEW_SNOOZE_CUSTOM,
} from "../../src/slack/ids.js";
import { expectValidMessage } from "../support/block-kit.js";
import type { FakeAlert, FakeInsight, FakePostHog, FakeRequest } from "../support/fake-posthog.js";
import { type Harness, PROJECT_ID, startHarness, USERS } from "../support/harness.js";
import { type StateValues, setField, stateFromView } from "../support/view-state.js";
import { HOSTILE_TEXTS, waitUntil, watchUnhandledRejections, writesTo } from "./support.js";

let h: Harness;
let insight: FakeInsight;
let alerts: FakeAlert[] = [];
const unhandled = watchUnhandledRejections();
const ROUTE = new RegExp(
  `^/api/(projects/${PROJECT_ID}/(alerts|insights)|organizations/[^/]+/members|users/@me)(/[^/]*)?/?$`,
);

function seed(posthog: FakePostHog) {
  insight = posthog.addInsight({ name: "Daily signups" });
  alerts = ["Signups dropped", "Errors spiking", "Churn up"].map((name) =>
    posthog.addAlert({
      insight: insight.id,
      name,
      threshold: { configuration: { type: "absolute", bounds: { lower: 100, upper: null } } },
    }),
  );
}

beforeAll(async () => {
  h = await startHarness({ seed });
});
afterAll(async () => {
  await h.close();
  unhandled.stop();
});

const WRITE_VERBS: Record<string, "snooze" | "unsnooze" | "enable" | "disable"> = {
  snooze: "snooze",
  mute: "snooze",
  unsnooze: "unsnooze",
  unmute: "unsnooze",
  enable: "enable",
  on: "enable",
  disable: "disable",
  off: "disable",
};

const METACHARACTERS = [
  "$(reboot)",
  "`id`",
  "; rm -rf / ;",
  "| curl http://evil.example",
  "&& shutdown now",
  "' OR '1'='1",
  '"; DROP TABLE alerts; --',
  "../../../etc/passwd",
  "%00%0d%0a",
  "\\u0000",
  "{{7*7}}",
  "<script>alert(1)</script>",
  "*_~`>",
  "<!channel>",
  "<@U0ANN0001>",
  "<https://evil.example|x>",
];

const VERBS = [
  ...Object.keys(WRITE_VERBS),
  "list",
  "show",
  "create",
  "edit",
  "delete",
  "watch",
  "unwatch",
  "watching",
  "help",
  "ls",
  "rm",
  "LIST",
  "Disable",
  "snoze",
  "",
];

const commandText: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: "binary", maxLength: 120 }) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", minLength: 1_000, maxLength: 4_000 }) },
  { weight: 2, arbitrary: fc.constantFrom(...Object.values(HOSTILE_TEXTS)) },
  {
    // Well-formed commands on real alerts: these are the ones that may write.
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.constantFrom(...Object.keys(WRITE_VERBS), "Disable", "ENABLE"),
        fc.constantFrom("Signups dropped", "errors", "churn", '"Churn up"', "“Errors spiking”", "s", "up"),
        fc.constantFrom(
          "",
          " 2h",
          " 30m",
          " 90 minutes",
          " until tomorrow 9am",
          " until 2020-01-01",
          " 400d",
          " 1w",
        ),
      )
      .map(([verb, ref, when]) => `${verb} ${ref}${when}`),
  },
  {
    weight: 5,
    arbitrary: fc
      .tuple(
        fc.constantFrom(...VERBS),
        fc.oneof(
          fc.constantFrom(...METACHARACTERS),
          fc.constantFrom("Signups dropped", "errors", "churn", '"Churn up"', "“Errors spiking”", "s"),
          fc.string({ unit: "binary", maxLength: 60 }),
        ),
        fc.constantFrom(
          "",
          " 2h",
          " 30m",
          " until tomorrow 9am",
          " until 2020-01-01",
          " 400d",
          " 1y",
          " forever",
        ),
        fc.constantFrom(...METACHARACTERS, "", ""),
      )
      .map(([verb, ref, when, tail]) => `${verb} ${ref}${when} ${tail}`),
  },
);

/** What the write a command made must look like, if it was allowed to make one. */
function checkWrite(text: string, write: FakeRequest, now: number): string | null {
  const verb = WRITE_VERBS[text.replace(/\s+/g, " ").trim().split(" ")[0]?.toLowerCase() ?? ""];
  if (!verb)
    return `a command that is not a write (${JSON.stringify(text.slice(0, 60))}) sent ${write.method}`;
  if (write.method !== "PATCH") return `${verb} sent ${write.method}`;
  if (!alerts.some((a) => write.path.endsWith(`/alerts/${a.id}/`) || write.path.endsWith(`/alerts/${a.id}`)))
    return `${verb} wrote to ${write.path}`;
  const body = write.body as Record<string, unknown>;
  const expected: Record<string, unknown> | null =
    verb === "enable"
      ? { enabled: true }
      : verb === "disable"
        ? { enabled: false }
        : verb === "unsnooze"
          ? { snoozed_until: null }
          : null;
  if (expected)
    return JSON.stringify(body) === JSON.stringify(expected) ? null : `${verb} sent ${JSON.stringify(body)}`;
  const until = Date.parse(String(body.snoozed_until));
  if (Object.keys(body).length !== 1 || !/Z$/.test(String(body.snoozed_until)))
    return `snooze sent ${JSON.stringify(body)}`;
  if (!(until > now && until <= now + 366 * 86_400_000))
    return `snooze until ${body.snoozed_until} is out of range`;
  return null;
}

async function runCommand(text: string, userId: string) {
  const responses = h.slack.responses.length;
  const opens = h.slack.callsTo("views.open").length;
  const writes = writesTo(h.posthog).length;
  const started = Date.now();
  const ack = await h.requester.slashCommand({
    text,
    userId,
    responseUrl: h.slack.responseUrl(),
    triggerId: h.slack.triggerId({ userId }),
  });
  expect(ack.status, text).toBe(200);
  expect(ack.ms, text).toBeLessThan(3_000);
  const inAck = ack.json as { text?: unknown; blocks?: unknown } | undefined;
  if (inAck && (typeof inAck.text === "string" || Array.isArray(inAck.blocks))) {
    // Answered at once (help, usage, a cached list): the same checks Slack makes on a response URL.
    expectValidMessage(inAck);
    return { reply: undefined, newWrites: writesTo(h.posthog).slice(writes), started };
  }
  await waitUntil(
    () => h.slack.responses.length > responses || h.slack.callsTo("views.open").length > opens,
    5_000,
    `an answer to ${JSON.stringify(text.slice(0, 80))}`,
  );
  const reply = h.slack.responses[responses];
  if (reply) expect(reply.status, `reply to ${JSON.stringify(text.slice(0, 80))}: ${reply.error}`).toBe(200);
  else expect(h.slack.callsTo("views.open")[opens]?.ok, `modal for ${text.slice(0, 80)}`).toBe(true);
  return { reply, newWrites: writesTo(h.posthog).slice(writes), started };
}

describe("slash commands with random and hostile text", () => {
  it("a member: always acked and answered; PostHog only gets the write the command asked for (150 runs)", async () => {
    let writesSeen = 0;
    await fc.assert(
      fc.asyncProperty(commandText, async (text) => {
        const { newWrites, started } = await runCommand(text, USERS.ann.id);
        expect(newWrites.length, text).toBeLessThanOrEqual(1);
        for (const w of newWrites) expect(checkWrite(text, w, started)).toBeNull();
        writesSeen += newWrites.length;
      }),
      {
        numRuns: 150,
        examples: [
          ["disable Signups dropped"],
          ["enable Signups dropped"],
          ["snooze Churn up 2h"],
          ["unsnooze Churn up"],
          ["mute “Errors spiking” 90 minutes"],
          ["off errors"],
          ["on errors"],
        ],
      },
    );
    expect(writesSeen).toBeGreaterThanOrEqual(7);
    for (const r of h.posthog.requests) expect(r.path).toMatch(ROUTE);
    console.log(`command fuzz: 150 commands by a member, ${writesSeen} writes, all as asked`);
  }, 60_000);

  it("a non-member: always acked and answered, and nothing is ever written (80 runs)", async () => {
    const before = writesTo(h.posthog).length;
    await fc.assert(
      fc.asyncProperty(commandText, async (text) => {
        const { reply } = await runCommand(text, USERS.eve.id);
        const verb = WRITE_VERBS[text.replace(/\s+/g, " ").trim().split(" ")[0]?.toLowerCase() ?? ""];
        if (verb && reply && /snoozed|unsnoozed|enabled|disabled/.test(String(reply.body.text))) {
          expect(reply.body.text, text).not.toMatch(/<@U0EVE0003> (snoozed|unsnoozed|enabled|disabled)/);
        }
      }),
      { numRuns: 80 },
    );
    expect(writesTo(h.posthog).length).toBe(before);
  }, 60_000);
});

// ---------------------------------------------------------------------------

const boundText: fc.Arbitrary<string | null> = fc.oneof(
  fc.constant(null),
  fc.constantFrom(
    "",
    " ",
    "0",
    "-0",
    "100",
    "1,000",
    "1,000,000.5",
    "1e3",
    "1e309",
    "-1e309",
    "1e-400",
    "NaN",
    "Infinity",
    "0x10",
    "½",
    "١٢٣",
    "%",
    "20%",
    "--1",
    "+.5",
    "1.2.3",
    "9".repeat(40),
    "9".repeat(400),
    "<!channel>",
  ),
  fc.double({ noNaN: false }).map(String),
  fc.integer().map(String),
  fc.string({ unit: "binary", maxLength: 30 }),
);

const nameText: fc.Arbitrary<string | null> = fc.oneof(
  fc.constant(null),
  fc.constantFrom(...Object.values(HOSTILE_TEXTS), "", "   ", "a".repeat(255), "a".repeat(256)),
  fc.string({ unit: "binary", maxLength: 300 }),
);

const optionValue = (valid: readonly string[]): fc.Arbitrary<string | null> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...valid) },
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.constantFrom("", "drop table", "../../x", "9".repeat(200), "<!here>") },
  );

/** A field that is usually what a person would pick, sometimes hostile. */
const mostly = <T>(usual: T, hostile: fc.Arbitrary<T>): fc.Arbitrary<T> =>
  fc.oneof({ weight: 2, arbitrary: fc.constant(usual) }, { weight: 1, arbitrary: hostile });

interface FormInput {
  name: string | null;
  lower: string | null;
  upper: string | null;
  condition: string | null;
  thresholdType: string | null;
  interval: string | null;
  series: string | null;
  insight: string;
  subscribers: string[];
  options: string[];
}

const formInput: fc.Arbitrary<FormInput> = fc.record({
  name: mostly<string | null>("Fuzzed alert", nameText),
  lower: mostly<string | null>("10", boundText),
  upper: mostly<string | null>(null, boundText),
  condition: mostly<string | null>("absolute_value", optionValue(CONDITION_TYPES)),
  thresholdType: mostly<string | null>("absolute", optionValue(THRESHOLD_TYPES)),
  interval: mostly<string | null>("daily", optionValue(CALCULATION_INTERVALS)),
  series: mostly<string | null>(
    "0",
    fc.oneof(fc.constantFrom("1", "-1", "99999", "abc", "1e2"), fc.constant(null)),
  ),
  insight: mostly("valid", fc.constantFrom("0", "-5", "1e3", "abc", "999999999999999999", "../../1")),
  subscribers: mostly<string[]>(
    [],
    fc.array(fc.oneof(fc.nat().map(String), fc.constantFrom("1", "abc", "-1", "1e9", "<!channel>")), {
      maxLength: 4,
    }),
  ),
  options: mostly<string[]>(
    ["enabled"],
    fc.subarray(["check_ongoing_interval", "skip_weekend", "enabled", "bogus"]),
  ),
});

const option = (value: string | null) =>
  value === null ? null : { text: { type: "plain_text", text: value }, value };

function fill(base: StateValues, input: FormInput): StateValues {
  let state = base;
  const set = (block: string, patch: Record<string, unknown>) => {
    if (state[block]) state = setField(state, block, patch);
  };
  set(BLOCK_NAME, { value: input.name });
  set(BLOCK_LOWER, { value: input.lower });
  set(BLOCK_UPPER, { value: input.upper });
  set(BLOCK_CONDITION, { selected_option: option(input.condition) });
  set(BLOCK_THRESHOLD_TYPE, { selected_option: option(input.thresholdType) });
  set(BLOCK_INTERVAL, { selected_option: option(input.interval) });
  set(BLOCK_SERIES, { selected_option: option(input.series) });
  set(BLOCK_INSIGHT, {
    selected_option: option(input.insight === "valid" ? String(insight.id) : input.insight),
  });
  set(BLOCK_SUBSCRIBERS, { selected_options: input.subscribers.map((v) => option(v)) });
  set(BLOCK_OPTIONS, { selected_options: input.options.map((v) => option(v)) });
  return state;
}

async function openForm(text: string) {
  const updates = h.slack.callsTo("views.update").length;
  await h.requester.slashCommand({
    text,
    userId: USERS.ann.id,
    responseUrl: h.slack.responseUrl(),
    triggerId: h.slack.triggerId({ userId: USERS.ann.id }),
  });
  await waitUntil(() => h.slack.callsTo("views.update").length > updates, 5_000, "form loaded");
  const [viewId, stored] = [...h.slack.views.entries()]
    .filter(([, v]) => v.view.callback_id === VIEW_ALERT_FORM)
    .at(-1) as [string, { view: { blocks: Array<Record<string, unknown>>; private_metadata: string } }];
  return { viewId, view: stored.view };
}

/** Submits the form and waits for the bot to finish with it; returns the ack and the writes made. */
async function submitForm(
  form: Awaited<ReturnType<typeof openForm>>,
  values: StateValues,
  userId = USERS.ann.id,
) {
  const writes = writesTo(h.posthog).length;
  const updates = h.slack.callsTo("views.update").length;
  const res = await h.requester.viewSubmission({
    userId,
    callbackId: VIEW_ALERT_FORM,
    viewId: form.viewId,
    privateMetadata: form.view.private_metadata,
    values,
  });
  expect(res.status).toBe(200);
  expect(res.ms).toBeLessThan(3_000);
  const ack = res.json as { response_action?: string; errors?: Record<string, string> } | undefined;
  if (ack?.response_action === "update") {
    // After "Saving…" the form ends in a success view or is shown again with the reason.
    await waitUntil(() => h.slack.callsTo("views.update").length > updates, 8_000, "the form's outcome");
    const outcome = h.slack.callsTo("views.update")[updates];
    expect(outcome?.ok, outcome?.error).toBe(true);
  }
  return { ack, writes: writesTo(h.posthog).slice(writes) };
}

function checkFormWrite(input: FormInput, write: FakeRequest, mode: "create" | "edit"): string | null {
  const body = write.body as Record<string, unknown>;
  if (mode === "create" && write.method !== "POST") return `create sent ${write.method}`;
  if (mode === "edit" && write.method !== "PATCH") return `edit sent ${write.method}`;
  if ("name" in body && body.name !== (input.name ?? "").trim())
    return `name sent as ${JSON.stringify(body.name)}`;
  const chosen = input.insight === "valid" ? String(insight.id) : input.insight;
  if (mode === "create" && String(body.insight) !== chosen)
    return `insight sent as ${JSON.stringify(body.insight)}`;
  const bounds = (
    body.threshold as { configuration?: { bounds?: { lower?: unknown; upper?: unknown } } } | undefined
  )?.configuration?.bounds;
  if (bounds) {
    const { lower, upper } = bounds;
    for (const b of [lower, upper]) {
      if (b !== null && !(typeof b === "number" && Number.isFinite(b)))
        return `bound sent as ${JSON.stringify(b)}`;
    }
    if (lower === null && upper === null) return "no bound sent";
    if (typeof lower === "number" && typeof upper === "number" && lower > upper)
      return "lower above upper sent";
  }
  if ("calculation_interval" in body && !CALCULATION_INTERVALS.includes(body.calculation_interval as never))
    return `interval sent as ${JSON.stringify(body.calculation_interval)}`;
  const condition = (body.condition as { type?: string } | undefined)?.type;
  if ("condition" in body && !CONDITION_TYPES.includes(condition as never)) return `condition ${condition}`;
  const users = body.subscribed_users;
  if (users !== undefined && !(Array.isArray(users) && users.every((u) => Number.isInteger(u) && u > 0)))
    return `subscribers sent as ${JSON.stringify(users)}`;
  const series = (body.config as { series_index?: unknown } | undefined)?.series_index;
  if (series !== undefined && !(Number.isInteger(series) && (series as number) >= 0))
    return `series ${series}`;
  return null;
}

describe("the alert form with hostile values in every field", () => {
  it("create: answered within 3 s; errors name only fields the form has; a write is exactly what was typed (80 runs)", async () => {
    const form = await openForm(`create ${insight.id}`);
    const base = stateFromView(form.view);
    const present = new Set(Object.keys(base));
    let created = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(formInput, async (input) => {
        const { ack, writes } = await submitForm(form, fill(base, input));
        expect(["errors", "update"]).toContain(ack?.response_action);
        if (ack?.response_action === "errors") {
          refused += 1;
          expect(writes).toEqual([]);
          for (const [block, message] of Object.entries(ack.errors ?? {})) {
            expect(present.has(block), `error for a block the form does not have: ${block}`).toBe(true);
            expect(message.length).toBeGreaterThan(0);
          }
        }
        expect(writes.length).toBeLessThanOrEqual(1);
        for (const w of writes) {
          expect(checkFormWrite(input, w, "create")).toBeNull();
          if (w.method === "POST") created += 1;
        }
      }),
      { numRuns: 80 },
    );
    console.log(`form fuzz: 80 create submissions, ${refused} refused inline, ${created} created`);
    expect(refused).toBeGreaterThan(0);
  }, 60_000);

  it("edit: a write is a PATCH of exactly what changed, on the alert being edited (30 runs)", async () => {
    const target = alerts[2] as FakeAlert;
    const form = await openForm(`edit ${target.id}`);
    const base = stateFromView(form.view);
    await fc.assert(
      fc.asyncProperty(formInput, async (input) => {
        const { writes } = await submitForm(form, fill(base, { ...input, insight: "valid" }));
        for (const w of writes) {
          expect(w.path).toContain(target.id);
          expect(checkFormWrite({ ...input, insight: "valid" }, w, "edit")).toBeNull();
        }
      }),
      { numRuns: 30 },
    );
    expect(writesTo(h.posthog).every((w) => w.method !== "DELETE")).toBe(true);
  }, 60_000);

  async function openSnoozeForm(target: FakeAlert) {
    const updates = h.slack.callsTo("views.update").length;
    await h.requester.blockAction({
      userId: USERS.ann.id,
      actionId: ACTION_SHOW_SNOOZE,
      value: alertRefCodec.encode({ a: target.id }),
      responseUrl: h.slack.responseUrl(),
      triggerId: h.slack.triggerId({ userId: USERS.ann.id }),
    });
    await waitUntil(() => h.slack.callsTo("views.update").length > updates, 5_000, "snooze form loaded");
    const viewId = h.slack.callsTo("views.update").at(-1)?.args.view_id as string;
    return { viewId, metadata: h.slack.views.get(viewId)?.view.private_metadata as string };
  }

  async function submitSnooze(
    form: { viewId: string; metadata: string },
    at: unknown,
    presetValue: string | undefined,
  ) {
    const writes = writesTo(h.posthog).length;
    const updates = h.slack.callsTo("views.update").length;
    const values: StateValues = {
      [BLOCK_SNOOZE_AT]: { [ACTION_SNOOZE_AT]: { type: "datetimepicker", selected_date_time: at } },
    };
    if (presetValue !== undefined) {
      values[BLOCK_SNOOZE_PRESET] = {
        [ACTION_SNOOZE_PRESET]: { type: "static_select", selected_option: option(presetValue) },
      };
    }
    const res = await h.requester.viewSubmission({
      userId: USERS.ann.id,
      callbackId: VIEW_SNOOZE_CUSTOM,
      viewId: form.viewId,
      privateMetadata: form.metadata,
      values,
    });
    expect(res.status).toBe(200);
    expect(res.ms).toBeLessThan(3_000);
    const ack = res.json as { response_action?: string; errors?: Record<string, string> };
    if (ack.response_action === "update") {
      await waitUntil(() => h.slack.callsTo("views.update").length > updates, 8_000, "the snooze outcome");
    }
    return {
      ack,
      values,
      writes: writesTo(h.posthog).slice(writes),
      outcome: h.slack.callsTo("views.update")[updates],
    };
  }

  it("the snooze form: any picked value is refused inline or snoozes to exactly that instant (60 runs)", async () => {
    const target = alerts[1] as FakeAlert;
    const form = await openSnoozeForm(target);
    const picked = fc.oneof(
      fc.constantFrom(null, -1, 0, 1.5, 2 ** 53, Number.MAX_SAFE_INTEGER, 1e15, "soon", "", [], {}),
      fc.integer({ min: -400 * 86_400, max: 400 * 86_400 }).map((d) => Math.floor(Date.now() / 1000) + d),
    );
    const preset = fc.oneof(
      fc.constant(undefined),
      fc.constantFrom("1h", "tomorrow_9", "bogus", "", "<!channel>"),
    );
    let snoozed = 0;
    await fc.assert(
      fc.asyncProperty(picked, preset, async (at, presetValue) => {
        const sentAt = Date.now();
        const { ack, values, writes, outcome } = await submitSnooze(form, at, presetValue);
        expect(["errors", "update"]).toContain(ack.response_action);
        expect(writes.length).toBeLessThanOrEqual(1);
        if (ack.response_action === "errors") {
          for (const block of Object.keys(ack.errors ?? {})) expect(Object.keys(values)).toContain(block);
          expect(writes).toEqual([]);
          return;
        }
        expect(outcome?.ok, outcome?.error).toBe(true);
        const [w] = writes;
        if (!w) {
          // Nothing was written: the outcome must not claim a snooze.
          expect(JSON.stringify(outcome?.args.view)).not.toMatch(/snoozed/i);
          return;
        }
        snoozed += 1;
        expect(w.method).toBe("PATCH");
        expect(w.path).toContain(target.id);
        const until = Date.parse((w.body as { snoozed_until: string }).snoozed_until);
        if (presetValue === "1h") expect(Math.abs(until - (sentAt + 3_600_000))).toBeLessThan(5_000);
        else if (presetValue !== "tomorrow_9") expect(until).toBe((at as number) * 1000);
        expect(until).toBeGreaterThan(sentAt);
        expect(until).toBeLessThanOrEqual(sentAt + 366 * 86_400_000);
      }),
      { numRuns: 60 },
    );
    expect(snoozed).toBeGreaterThan(0);
  }, 60_000);

  // Regression (found here, fixed in src/listeners/views.ts readSnoozeChoice): a time outside
  // JavaScript's date range used to pass both range checks (NaN comparisons) and fail after the ack.
  it("refuses a picked time beyond the calendar inline", async () => {
    const form = await openSnoozeForm(alerts[1] as FakeAlert);
    const { ack, writes } = await submitSnooze(form, 1e15, undefined);
    expect(writes).toEqual([]);
    expect(ack.response_action).toBe("errors");
  });

  it("leaves no unhandled rejection behind", () => {
    expect(unhandled.seen).toEqual([]);
  });
});
