import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MENU_NOTICE_VALUE } from "../../src/blocks/alert-modal.js";
import {
  ACTION_INSIGHT,
  BLOCK_INSIGHT,
  BLOCK_LOWER,
  BLOCK_NAME,
  BLOCK_UPPER,
  VIEW_ALERT_FORM,
} from "../../src/slack/ids.js";
import { expectValidView } from "../support/block-kit.js";
import type { FakeAlert, FakeInsight, FakePostHog } from "../support/fake-posthog.js";
import { type Harness, startHarness, USERS } from "../support/harness.js";
import { setField, stateFromView } from "../support/view-state.js";

let h: Harness;
let insight: FakeInsight;
let alert: FakeAlert;

function seed(posthog: FakePostHog) {
  insight = posthog.addInsight({ name: "Daily signups" });
  posthog.addInsight({
    name: "Signup funnel",
    query: {
      kind: "InsightVizNode",
      source: { kind: "FunnelsQuery", series: [{ kind: "EventsNode", event: "a" }] },
    },
  });
  alert = posthog.addAlert({
    insight: insight.id,
    name: "Signups dropped",
    threshold: { configuration: { type: "absolute", bounds: { lower: 100, upper: null } } },
  });
}

beforeEach(async () => {
  h = await startHarness({ seed });
});
afterEach(async () => {
  await h.close();
});

/** What the insight type-ahead offers for `value`. */
async function suggestInsights(value: string) {
  const res = await h.requester.blockSuggestion({
    userId: USERS.ann.id,
    actionId: ACTION_INSIGHT,
    blockId: BLOCK_INSIGHT,
    value,
  });
  expect(res.status).toBe(200);
  return (res.json as { options: Array<{ text: { text: string }; value: string }> }).options;
}

/** Runs a command that opens the form and returns the form once it has loaded. */
/** Sends `/alerts <text>` as Ann, with a fresh trigger id and response URL. */
async function sendCommand(text: string) {
  const ack = await h.requester.slashCommand({
    text,
    userId: USERS.ann.id,
    responseUrl: h.slack.responseUrl(),
    triggerId: h.slack.triggerId({ userId: USERS.ann.id }),
  });
  expect(ack.status).toBe(200);
  return ack;
}

async function openForm(text: string) {
  await sendCommand(text);
  await h.slack.waitFor(() => h.slack.callsTo("views.update").some((c) => c.ok), 5_000);
  const [viewId, stored] = [...h.slack.views.entries()][0] as [
    string,
    { view: Record<string, unknown>; hash: string },
  ];
  expect(stored.view.callback_id).toBe(VIEW_ALERT_FORM);
  expectValidView(stored.view);
  return {
    viewId,
    view: stored.view as { blocks: Array<Record<string, unknown>>; private_metadata: string },
    hash: stored.hash,
  };
}

function submit(form: Awaited<ReturnType<typeof openForm>>, values: ReturnType<typeof stateFromView>) {
  return h.requester.viewSubmission({
    userId: USERS.ann.id,
    callbackId: VIEW_ALERT_FORM,
    viewId: form.viewId,
    hash: form.hash,
    privateMetadata: form.view.private_metadata,
    values,
    view: { blocks: form.view.blocks },
  });
}

const posts = () => h.posthog.requests.filter((r) => r.method === "POST" || r.method === "PATCH");

describe("the create form", () => {
  it("opens at once, preselects the insight, creates the alert and links to it", async () => {
    const form = await openForm(`create ${insight.id}`);
    const opened = h.slack.callsTo("views.open")[0];
    expect(opened?.ok).toBe(true);
    expect(JSON.stringify(form.view)).toContain("Daily signups");
    let state = stateFromView(form.view);
    state = setField(state, BLOCK_NAME, { value: "Signups below 50" });
    state = setField(state, BLOCK_LOWER, { value: "50" });
    const res = await submit(form, state);
    expect(res.status).toBe(200);
    expect(res.ms).toBeLessThan(3_000);
    expect(res.json).toMatchObject({ response_action: "update" });
    await h.slack.waitFor(() => h.posthog.alerts.size === 2, 5_000);
    const created = [...h.posthog.alerts.values()].find((a) => a.name === "Signups below 50");
    expect(created?.insight).toBe(insight.id);
    expect(created?.threshold?.configuration).toMatchObject({ type: "absolute", bounds: { lower: 50 } });
    const post = posts()[0];
    expect(post?.body).not.toHaveProperty("snoozed_until");
    await h.slack.waitFor(
      () => JSON.stringify(h.slack.views.get(form.viewId)?.view ?? {}).includes(created?.id ?? "?"),
      5_000,
    );
    expectValidView(h.slack.views.get(form.viewId)?.view);
  });

  it("checks locally first: no bound → inline error, nothing sent to PostHog", async () => {
    const form = await openForm(`create ${insight.id}`);
    let state = stateFromView(form.view);
    state = setField(state, BLOCK_NAME, { value: "No bounds" });
    state = setField(state, BLOCK_LOWER, { value: null });
    state = setField(state, BLOCK_UPPER, { value: null });
    const res = await submit(form, state);
    expect(res.json).toMatchObject({ response_action: "errors" });
    const errors = (res.json as { errors: Record<string, string> }).errors;
    expect(Object.keys(errors).some((k) => k === BLOCK_LOWER || k === BLOCK_UPPER)).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    expect(posts()).toHaveLength(0);
  });

  it("refuses lower above upper and unreadable numbers inline", async () => {
    const form = await openForm(`create ${insight.id}`);
    let state = setField(stateFromView(form.view), BLOCK_NAME, { value: "Bad" });
    state = setField(state, BLOCK_LOWER, { value: "500" });
    state = setField(state, BLOCK_UPPER, { value: "abc" });
    const res = await submit(form, state);
    expect(res.json).toMatchObject({
      response_action: "errors",
      errors: { [BLOCK_UPPER]: expect.any(String) },
    });
    expect(posts()).toHaveLength(0);
  });

  it("puts PostHog's 400 under the field its attr names, keeping the input", async () => {
    const form = await openForm(`create ${insight.id}`);
    h.posthog.failNext(1, {
      status: 400,
      body: {
        type: "validation_error",
        code: "invalid_input",
        detail: "Lower threshold must be less than upper threshold",
        attr: "threshold__non_field_errors",
      },
    });
    let state = setField(stateFromView(form.view), BLOCK_NAME, { value: "Keep my name" });
    state = setField(state, BLOCK_LOWER, { value: "5" });
    await submit(form, state);
    await h.slack.waitFor(
      () =>
        JSON.stringify(h.slack.views.get(form.viewId)?.view ?? {}).includes("Lower threshold must be less"),
      5_000,
    );
    const back = h.slack.views.get(form.viewId)?.view;
    expect(back.callback_id).toBe(VIEW_ALERT_FORM);
    expect(JSON.stringify(back)).toContain("Keep my name");
    expectValidView(back);
  });

  it("shows PostHog's 400 without attr at the top of the form", async () => {
    const form = await openForm(`create ${insight.id}`);
    h.posthog.failNext(1, {
      status: 400,
      body: {
        type: "validation_error",
        code: "invalid_input",
        detail: "Your plan is limited to 5 alerts.",
        attr: null,
      },
    });
    const state = setField(setField(stateFromView(form.view), BLOCK_NAME, { value: "Sixth" }), BLOCK_LOWER, {
      value: "5",
    });
    await submit(form, state);
    await h.slack.waitFor(
      () => JSON.stringify(h.slack.views.get(form.viewId)?.view ?? {}).includes("limited to 5 alerts"),
      5_000,
    );
    expect(JSON.stringify(h.slack.views.get(form.viewId)?.view)).toContain("Sixth");
  });

  it("acknowledges within Slack's window while PostHog is slow, then shows the result", async () => {
    const form = await openForm(`create ${insight.id}`);
    h.posthog.setLatency(2_500);
    const state = setField(setField(stateFromView(form.view), BLOCK_NAME, { value: "Slow" }), BLOCK_LOWER, {
      value: "1",
    });
    const res = await submit(form, state);
    expect(res.ms).toBeLessThan(3_000);
    expect(res.json).toMatchObject({ response_action: "update" });
    await h.slack.waitFor(() => [...h.posthog.alerts.values()].some((a) => a.name === "Slow"), 10_000);
  });

  it("says in the type-ahead why it could not search, instead of an empty menu, and refuses that entry", async () => {
    h.posthog.failNext(1, {
      status: 429,
      headers: { "Retry-After": "30" },
      body: { type: "throttled_error", code: "throttled", detail: "Request was throttled." },
    });
    const throttled = await suggestInsights("sign");
    expect(throttled.map((o) => [o.text.text, o.value])).toEqual([
      ["⚠️ PostHog is rate limiting the bot; try again in a minute", MENU_NOTICE_VALUE],
    ]);
    h.posthog.failNext(1, {
      status: 400,
      body: { type: "validation_error", code: "invalid_input", detail: "Invalid search.", attr: "search" },
    });
    expect((await suggestInsights("sign"))[0]?.text.text).toBe(
      "⚠️ Could not search PostHog's insights; type again to retry",
    );
    // Picking the notice is picking no insight.
    const form = await openForm("create");
    const state = setField(stateFromView(form.view), BLOCK_INSIGHT, {
      selected_option: {
        text: { type: "plain_text", text: throttled[0]?.text.text },
        value: MENU_NOTICE_VALUE,
      },
    });
    const res = await submit(form, state);
    expect(res.json).toMatchObject({
      response_action: "errors",
      errors: { [BLOCK_INSIGHT]: "Choose an insight." },
    });
    expect(posts()).toHaveLength(0);
  });

  it("offers only insights that can carry an alert in the type-ahead", async () => {
    const options = await suggestInsights("sign");
    const labels = options.map((o) => o.text.text).join("|");
    expect(labels).toContain("Daily signups");
    expect(labels).not.toContain("Signup funnel");
  });
});

describe("after the form is submitted", () => {
  it("confirms a change in the channel the form came from", async () => {
    const form = await openForm("edit Signups dropped");
    await submit(form, setField(stateFromView(form.view), BLOCK_UPPER, { value: "900" }));
    await h.slack.waitFor(() => h.slack.ephemerals.length > 0, 5_000);
    expect(h.slack.ephemerals).toMatchObject([
      { channel: "C0TESTCHAN", user: USERS.ann.id, text: "✅ You updated the alert *Signups dropped*." },
    ]);
  });

  it("says the outcome in the channel when the form was closed before PostHog answered", async () => {
    const form = await openForm("edit Signups dropped");
    h.posthog.failNext(1, {
      status: 400,
      body: { type: "validation_error", code: "invalid_input", detail: "Name is taken.", attr: "name" },
    });
    // The read before the write succeeds; the write fails; by then the person closed the form.
    h.posthog.setLatency(300);
    const res = await submit(form, setField(stateFromView(form.view), BLOCK_UPPER, { value: "900" }));
    expect(res.json).toMatchObject({ response_action: "update" });
    h.slack.closeView(form.viewId);
    await h.slack.waitFor(() => h.slack.ephemerals.length > 0, 5_000);
    expect(h.slack.ephemerals[0]?.text).toMatch(
      /^⚠️ PostHog did not save the alert: PostHog says: Name is taken\./,
    );
    expect(posts()).toHaveLength(0);
  });
});

describe("the edit form", () => {
  it("opens filled with the alert's settings and PATCHes only what changed", async () => {
    const form = await openForm("edit Signups dropped");
    const state = stateFromView(form.view);
    expect(state[BLOCK_NAME]).toMatchObject({
      [Object.keys(state[BLOCK_NAME] ?? {})[0] ?? ""]: { value: "Signups dropped" },
    });
    const res = await submit(form, setField(state, BLOCK_UPPER, { value: "900" }));
    expect(res.json).toMatchObject({ response_action: "update" });
    await h.slack.waitFor(() => posts().length > 0, 5_000);
    const patch = posts()[0];
    expect(patch?.method).toBe("PATCH");
    expect(patch?.path).toContain(alert.id);
    expect(patch?.body).toEqual({
      threshold: { configuration: { type: "absolute", bounds: { lower: 100, upper: 900 } } },
    });
  });

  it("keeps what others changed while the form was open: only this person's changes are sent", async () => {
    const form = await openForm("edit Signups dropped");
    // While the form is open, someone disables the alert (a notification's Disable) and
    // another person renames it in PostHog.
    const stored = h.posthog.alerts.get(alert.id);
    if (!stored) throw new Error("no alert");
    stored.enabled = false;
    stored.name = "Signups dropped (EU)";
    const res = await submit(form, setField(stateFromView(form.view), BLOCK_UPPER, { value: "900" }));
    expect(res.json).toMatchObject({ response_action: "update" });
    await h.slack.waitFor(() => posts().length > 0, 5_000);
    expect(posts()[0]?.body).toEqual({
      threshold: { configuration: { type: "absolute", bounds: { lower: 100, upper: 900 } } },
    });
    expect(h.posthog.alerts.get(alert.id)).toMatchObject({ enabled: false, name: "Signups dropped (EU)" });
  });

  it("opens at once and finds the alert while it shows Loading, so a slow PostHog cannot outlast the trigger id", async () => {
    // Nothing cached: finding the alert by name reads the list, then the alert, then its insight.
    h.posthog.setLatency(600);
    const started = performance.now();
    const before = h.slack.responses.length;
    await sendCommand("edit Signups dropped");
    await h.slack.waitFor(() => h.slack.callsTo("views.open").length > 0, 5_000);
    // Opened before the first PostHog answer could have come back.
    expect(performance.now() - started).toBeLessThan(600);
    expect(h.slack.callsTo("views.open")[0]?.ok).toBe(true);
    await h.slack.waitFor(() => h.slack.callsTo("views.update").some((c) => c.ok), 10_000);
    const [, stored] = [...h.slack.views.entries()][0] as [string, { view: Record<string, unknown> }];
    expect(stored.view.callback_id).toBe(VIEW_ALERT_FORM);
    expect(JSON.parse(stored.view.private_metadata as string)).toMatchObject({ m: "edit", a: alert.id });
    expect(h.slack.responses).toHaveLength(before);
  });

  it("says in the form when the name matches no alert, and posts nothing else", async () => {
    const before = h.slack.responses.length;
    await sendCommand("edit nothing-like-this");
    await h.slack.waitFor(() => h.slack.callsTo("views.update").some((c) => c.ok), 5_000);
    const [, stored] = [...h.slack.views.entries()][0] as [string, { view: Record<string, unknown> }];
    expectValidView(stored.view);
    expect(JSON.stringify(stored.view)).toContain("No alert matches “nothing-like-this”");
    expect(stored.view.submit).toBeUndefined();
    expect(h.slack.responses).toHaveLength(before);
  });

  it("edits an alert on an insight the bot would not offer for a new alert: PostHog, which holds it, judges", async () => {
    // A newer PostHog takes funnel alerts; the bot offers trends insights only.
    h.posthog.acceptAlertsOn("FunnelsQuery");
    const funnel = [...h.posthog.insights.values()].find((i) => i.name === "Signup funnel");
    const onFunnel = h.posthog.addAlert({
      insight: funnel?.id as number,
      name: "Funnel conversion",
      threshold: { configuration: { type: "absolute", bounds: { lower: 10, upper: null } } },
    });
    const form = await openForm(`edit ${onFunnel.name}`);
    expect(JSON.stringify(form.view.blocks)).not.toContain("Alerts work only on trends insights");
    // A first save PostHog refuses shows the form again; the second goes through from it.
    h.posthog.failNext(1, {
      status: 400,
      body: { type: "validation_error", code: "invalid_input", detail: "Name is taken.", attr: "name" },
    });
    const state = setField(stateFromView(form.view), BLOCK_NAME, { value: "Funnel conversion v2" });
    const res = await submit(form, state);
    expect((res.json as { response_action: string }).response_action).toBe("update");
    await h.slack.waitFor(
      () => JSON.stringify(h.slack.views.get(form.viewId)?.view ?? {}).includes("Name is taken."),
      5_000,
    );
    const again = h.slack.views.get(form.viewId) as { view: typeof form.view; hash: string };
    const retry = await submit({ viewId: form.viewId, view: again.view, hash: again.hash }, state);
    expect((retry.json as { response_action: string }).response_action).toBe("update");
    await h.slack.waitFor(() => h.posthog.alerts.get(onFunnel.id)?.name === "Funnel conversion v2", 5_000);
    expect(posts().at(-1)?.body).toEqual({ name: "Funnel conversion v2" });
    expect(h.posthog.alerts.get(onFunnel.id)?.name).toBe("Funnel conversion v2");
  });

  it("keeps what was typed when the permission check cannot be made, so trying again needs no retyping", async () => {
    const form = await openForm("edit Signups dropped");
    // Slack cannot say who is submitting, so the check cannot be made.
    h.slack.failNext("users.info", { status: 500 });
    const res = await submit(form, setField(stateFromView(form.view), BLOCK_UPPER, { value: "900" }));
    expect((res.json as { response_action: string }).response_action).toBe("update");
    await h.slack.waitFor(
      () => JSON.stringify(h.slack.views.get(form.viewId)?.view ?? {}).includes("could not check whether"),
      10_000,
    );
    const shown = h.slack.views.get(form.viewId)?.view as { blocks: unknown[]; submit?: unknown };
    expectValidView(shown);
    expect(shown.submit).toBeDefined();
    expect(JSON.stringify(shown.blocks)).toContain('"initial_value":"900"');
    expect(posts()).toHaveLength(0);
  });

  it("refuses a user the policy refuses, and nothing changes", async () => {
    const form = await openForm("edit Signups dropped");
    const res = await h.requester.viewSubmission({
      userId: USERS.eve.id,
      callbackId: VIEW_ALERT_FORM,
      viewId: form.viewId,
      privateMetadata: form.view.private_metadata,
      values: setField(stateFromView(form.view), BLOCK_UPPER, { value: "900" }),
    });
    // Said in place of the form, not under one of its fields: no field is the problem.
    const answer = res.json as { response_action: string; view: { blocks: unknown[]; submit?: unknown } };
    expect(answer.response_action).toBe("update");
    expect(JSON.stringify(answer.view.blocks)).toMatch(/can't change alerts/);
    expect(answer.view.submit).toBeUndefined();
    await new Promise((r) => setTimeout(r, 300));
    expect(posts()).toHaveLength(0);
  });
});
