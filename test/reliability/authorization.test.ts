/**
 * Every write path, tried by a person the write policy refuses: each
 * subcommand, both modals, every button and menu choice on lists, detail
 * views and notifications. Zero changes reach PostHog and the person is told
 * why. The same matrix runs under WRITE_ACCESS=posthog-members and under a
 * WRITE_ACCESS list of user and user-group ids. Tampered button values and
 * modal metadata cannot point a write at an alert outside the project.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  ACTION_SNOOZE_PRESET,
  BLOCK_SNOOZE_PRESET,
  SNOOZE_CUSTOM,
  SNOOZE_PRESETS,
} from "../../src/blocks/snooze-modal.js";
import { alertRefCodec, rowMenuCodec } from "../../src/slack/codecs.js";
import {
  ACTION_CONFIRM_DELETE,
  ACTION_NOTIFY_DISABLE,
  ACTION_NOTIFY_ENABLE,
  ACTION_NOTIFY_SNOOZE,
  ACTION_NOTIFY_UNSNOOZE,
  ACTION_ROW_MENU,
  ACTION_SHOW_DELETE,
  ACTION_SHOW_EDIT,
  ACTION_SHOW_SNOOZE,
  ACTION_SHOW_TOGGLE,
  ACTION_SNOOZE_AT,
  BLOCK_LOWER,
  BLOCK_NAME,
  BLOCK_SNOOZE_AT,
  BLOCK_UPPER,
  VIEW_ALERT_FORM,
  VIEW_SNOOZE_CUSTOM,
} from "../../src/slack/ids.js";
import type { FakeAlert, FakeInsight, FakePostHog } from "../support/fake-posthog.js";
import { type Harness, PROJECT_ID, startHarness, USERS, WEBHOOK_SECRET } from "../support/harness.js";
import { setField, stateFromView } from "../support/view-state.js";
import { firingBody, postWebhook } from "../support/webhook.js";
import { sleep, waitUntil, watchUnhandledRejections, writesTo } from "./support.js";

const ALERTS_CHANNEL = "C0ALERTS01";
let h: Harness | undefined;
let insight: FakeInsight;
let target: FakeAlert;
let paused: FakeAlert;

function seed(posthog: FakePostHog) {
  insight = posthog.addInsight({ name: "Daily signups" });
  target = posthog.addAlert({
    insight: insight.id,
    name: "Signups dropped",
    threshold: { configuration: { type: "absolute", bounds: { lower: 100, upper: null } } },
  });
  paused = posthog.addAlert({ insight: insight.id, name: "Paused alert", enabled: false });
}

afterEach(async () => {
  await h?.close();
  h = undefined;
});

const alertsSnapshot = (hh: Harness) => JSON.stringify([...hh.posthog.alerts.values()]);

interface Attempt {
  name: string;
  answered: boolean;
}

/**
 * Runs every write path as `userId` and returns what was tried. Each attempt
 * must end with the refusal shown to the person: in a reply, in the modal
 * (inline errors or the updated view), never silently.
 */
async function tryEveryWrite(hh: Harness, userId: string, refusal: RegExp): Promise<Attempt[]> {
  const attempts: Attempt[] = [];
  const ref = alertRefCodec.encode({ a: target.id });
  const pausedRef = alertRefCodec.encode({ a: paused.id });

  async function attempt(name: string, run: () => Promise<unknown>) {
    const responses = hh.slack.responses.length;
    const updates = hh.slack.callsTo("views.update").length;
    const result = await run();
    const shown = () =>
      refusal.test(JSON.stringify(result ?? "")) ||
      hh.slack.responses.slice(responses).some((r) => refusal.test(JSON.stringify(r.body))) ||
      hh.slack
        .callsTo("views.update")
        .slice(updates)
        .some((c) => refusal.test(JSON.stringify(c.args.view)));
    const answered = await waitUntil(shown, 5_000, name).then(
      () => true,
      () => false,
    );
    attempts.push({ name, answered });
  }

  const command = (text: string) =>
    hh.requester.slashCommand({
      text,
      userId,
      responseUrl: hh.slack.responseUrl(),
      triggerId: hh.slack.triggerId({ userId }),
    });
  const click = (actionId: string, extra: Record<string, unknown>) =>
    hh.requester.blockAction({
      userId,
      actionId,
      responseUrl: hh.slack.responseUrl(),
      triggerId: hh.slack.triggerId({ userId }),
      ...extra,
    });

  /** Opens a modal through `open`, then submits it as the user would. */
  async function throughModal(
    name: string,
    open: () => Promise<unknown>,
    edit: (view: ModalView) => unknown,
  ) {
    const updates = hh.slack.callsTo("views.update").length;
    await open();
    await waitUntil(() => hh.slack.callsTo("views.update").length > updates, 5_000, `${name}: modal loaded`);
    const call = hh.slack.callsTo("views.update").at(-1);
    const viewId = call?.args.view_id as string;
    const view = hh.slack.views.get(viewId)?.view as ModalView;
    await attempt(name, async () => {
      const res = await hh.requester.viewSubmission({
        userId,
        callbackId: view.callback_id,
        viewId,
        privateMetadata: view.private_metadata,
        values: edit(view) as never,
      });
      expect(res.status, name).toBe(200);
      expect(res.ms, name).toBeLessThan(3_000);
      return res.json;
    });
  }

  // Subcommands
  for (const text of [
    `snooze ${target.name} 2h`,
    `snooze ${target.name} until tomorrow 9am`,
    `unsnooze ${target.name}`,
    `disable ${target.name}`,
    `enable ${paused.name}`,
    `delete ${target.name}`,
  ]) {
    await attempt(`/alerts ${text}`, () => command(text));
  }

  // The alert form, opened by create and edit (reading is open to all), then submitted
  const formValues = (view: ModalView) => {
    let state = stateFromView(view);
    state = setField(state, BLOCK_NAME, { value: "Changed by someone not allowed" });
    state = setField(state, BLOCK_LOWER, { value: "1" });
    return setField(state, BLOCK_UPPER, { value: "999" });
  };
  await throughModal("/alerts create → form submit", () => command(`create ${insight.id}`), formValues);
  await throughModal("/alerts edit → form submit", () => command(`edit ${target.name}`), formValues);

  // Buttons under /alerts show
  await attempt("show: Disable button", () => click(ACTION_SHOW_TOGGLE, { value: ref }));
  await attempt("show: Enable button", () => click(ACTION_SHOW_TOGGLE, { value: pausedRef }));
  await attempt("show: Delete button", () => click(ACTION_SHOW_DELETE, { value: ref }));
  await attempt("delete confirmation: Delete", () => click(ACTION_CONFIRM_DELETE, { value: ref }));
  await throughModal(
    "show: Edit button → form submit",
    () => click(ACTION_SHOW_EDIT, { value: ref }),
    formValues,
  );
  const pickedTime = () => ({
    [BLOCK_SNOOZE_AT]: {
      [ACTION_SNOOZE_AT]: {
        type: "datetimepicker",
        selected_date_time: Math.floor(Date.now() / 1000) + 7200,
      },
    },
  });
  await throughModal(
    "show: Snooze button → picked time",
    () => click(ACTION_SHOW_SNOOZE, { value: ref }),
    pickedTime,
  );
  await throughModal(
    "show: Snooze button → preset",
    () => click(ACTION_SHOW_SNOOZE, { value: ref }),
    () => ({
      [BLOCK_SNOOZE_PRESET]: {
        [ACTION_SNOOZE_PRESET]: {
          type: "static_select",
          selected_option: { value: "4h", text: { text: "4 hours" } },
        },
      },
    }),
  );

  // A list row's menu
  const row = (v: "edit" | "snooze" | "disable" | "enable" | "delete", a = target.id) => ({
    type: "overflow",
    selectedOption: { value: rowMenuCodec.encode({ v, a }) },
  });
  await attempt("row menu: Disable", () => click(ACTION_ROW_MENU, row("disable")));
  await attempt("row menu: Enable", () => click(ACTION_ROW_MENU, row("enable", paused.id)));
  await attempt("row menu: Delete", () => click(ACTION_ROW_MENU, row("delete")));
  await throughModal("row menu: Edit → form submit", () => click(ACTION_ROW_MENU, row("edit")), formValues);
  await throughModal(
    "row menu: Snooze → picked time",
    () => click(ACTION_ROW_MENU, row("snooze")),
    pickedTime,
  );

  // Controls on a firing notification
  const message = (hh.slack.messages.get(ALERTS_CHANNEL) ?? []).find((m) => !m.thread_ts);
  if (!message) throw new Error("no notification to click");
  const blockId = `notify_controls:${target.id}`;
  const onMessage = {
    channelId: ALERTS_CHANNEL,
    blockId,
    message: { ts: message.ts, text: message.text, blocks: message.blocks },
  };
  for (const preset of SNOOZE_PRESETS) {
    await attempt(`notification: Snooze ${preset.label}`, () =>
      click(ACTION_NOTIFY_SNOOZE, { ...onMessage, selectedOption: { value: preset.value } }),
    );
  }
  await throughModal(
    "notification: Snooze Custom… → picked time",
    () => click(ACTION_NOTIFY_SNOOZE, { ...onMessage, selectedOption: { value: SNOOZE_CUSTOM } }),
    pickedTime,
  );
  await attempt("notification: Disable", () => click(ACTION_NOTIFY_DISABLE, { ...onMessage, value: ref }));
  await attempt("notification: Enable", () => click(ACTION_NOTIFY_ENABLE, { ...onMessage, value: ref }));
  await attempt("notification: Unsnooze", () => click(ACTION_NOTIFY_UNSNOOZE, { ...onMessage, value: ref }));
  return attempts;
}

interface ModalView {
  callback_id: string;
  private_metadata: string;
  blocks: Array<Record<string, unknown>>;
}

async function startWithNotification(env: Record<string, string> = {}) {
  const hh = await startHarness({ seed, env: { ALERTS_CHANNEL, ...env } });
  const res = await postWebhook(hh.baseUrl, firingBody({ alertId: target.id }), { secret: WEBHOOK_SECRET });
  expect(res.status).toBe(202);
  await hh.slack.waitFor(() => (hh.slack.messages.get(ALERTS_CHANNEL) ?? []).length === 1, 5_000);
  return hh;
}

function expectNothingChanged(hh: Harness, before: string, attempts: Attempt[]) {
  expect(writesTo(hh.posthog).map((w) => `${w.method} ${w.path}`)).toEqual([]);
  expect(alertsSnapshot(hh)).toBe(before);
  expect(attempts.filter((a) => !a.answered).map((a) => a.name)).toEqual([]);
}

describe("a person the policy refuses", () => {
  it("WRITE_ACCESS=posthog-members: a Slack user who is not a PostHog member changes nothing, anywhere, and is told why", async () => {
    const unhandled = watchUnhandledRejections();
    h = await startWithNotification();
    const before = alertsSnapshot(h);
    const attempts = await tryEveryWrite(h, USERS.eve.id, /can't change alerts from Slack/);
    expect(attempts.length).toBeGreaterThanOrEqual(30);
    await sleep(200);
    expectNothingChanged(h, before, attempts);
    console.log(`authorization: ${attempts.length} write paths refused for a non-member, 0 changes`);
    // The same paths work for a member: the refusals above are the policy's doing.
    const ok = await h.requester.slashCommand({
      text: `disable ${target.name}`,
      userId: USERS.ann.id,
      responseUrl: h.slack.responseUrl(),
    });
    expect(ok.status).toBe(200);
    await waitUntil(() => h?.posthog.alerts.get(target.id)?.enabled === false, 5_000, "a member's write");
    unhandled.stop();
    expect(unhandled.seen).toEqual([]);
  }, 60_000);

  it("WRITE_ACCESS=<user and group ids>: a PostHog member who is not listed changes nothing; listed people can", async () => {
    h = await startWithNotification({ WRITE_ACCESS: `${USERS.bob.id},S0ONCALL01` });
    h.slack.addUser({ id: "U0ZED0009", name: "zed", email: "zed@example.com", tz: "UTC" });
    h.slack.addUserGroup("S0ONCALL01", ["U0ZED0009"]);
    const before = alertsSnapshot(h);
    const attempts = await tryEveryWrite(
      h,
      USERS.ann.id,
      /can't change alerts from Slack: changes are limited/,
    );
    await sleep(200);
    expectNothingChanged(h, before, attempts);
    console.log(`authorization: ${attempts.length} write paths refused for an unlisted member, 0 changes`);
    for (const [userId, verb] of [
      [USERS.bob.id, "disable"],
      ["U0ZED0009", "enable"],
    ] as const) {
      await h.requester.slashCommand({
        text: `${verb} ${target.name}`,
        userId,
        responseUrl: h.slack.responseUrl(),
      });
      const enabled = verb === "enable";
      await waitUntil(
        () => h?.posthog.alerts.get(target.id)?.enabled === enabled,
        5_000,
        `${userId} ${verb}`,
      );
    }
  }, 60_000);

  it("a user group Slack cannot list refuses everyone in it (fails closed)", async () => {
    h = await startHarness({ seed, env: { WRITE_ACCESS: "S0MISSING1" } });
    await h.requester.slashCommand({
      text: `disable ${target.name}`,
      userId: USERS.ann.id,
      responseUrl: h.slack.responseUrl(),
    });
    await waitUntil(() => (h?.slack.responses.length ?? 0) > 0, 5_000, "refusal");
    expect(h.slack.responses[0]?.body.text).toMatch(/could not check|can't change/);
    expect(writesTo(h.posthog)).toEqual([]);
  });
});

describe("tampered button values and modal metadata", () => {
  it("cannot point a write at an alert outside the project, or at anything but an alert", async () => {
    h = await startWithNotification();
    const before = alertsSnapshot(h);
    const foreign = "0192c0de-0000-7000-8000-00000000f0e1";
    const foreignRef = alertRefCodec.encode({ a: foreign });
    const tampered = [
      foreignRef,
      JSON.stringify({ a: "../../../api/projects/1/alerts/x" }),
      JSON.stringify({ a: `${target.id}/../../../1` }),
      JSON.stringify({ a: [target.id] }),
      `{"a":"${target.id}"`,
      "x".repeat(3_000),
      "",
    ];
    const hh = h;
    const replies: string[] = [];
    const answer = async (run: () => Promise<unknown>) => {
      const before = hh.slack.responses.length;
      await run();
      await waitUntil(() => hh.slack.responses.length > before, 5_000, "an answer");
      replies.push(String(hh.slack.responses[before]?.body.text));
    };
    for (const value of tampered) {
      for (const actionId of [
        ACTION_SHOW_TOGGLE,
        ACTION_SHOW_DELETE,
        ACTION_CONFIRM_DELETE,
        ACTION_NOTIFY_DISABLE,
        ACTION_NOTIFY_ENABLE,
        ACTION_NOTIFY_UNSNOOZE,
      ]) {
        await answer(() =>
          hh.requester.blockAction({
            userId: USERS.ann.id,
            actionId,
            value,
            channelId: ALERTS_CHANNEL,
            responseUrl: hh.slack.responseUrl(),
          }),
        );
      }
    }
    for (const v of ["disable", "enable", "delete"] as const) {
      await answer(() =>
        hh.requester.blockAction({
          userId: USERS.ann.id,
          actionId: ACTION_ROW_MENU,
          type: "overflow",
          selectedOption: { value: rowMenuCodec.encode({ v, a: foreign }) },
          responseUrl: hh.slack.responseUrl(),
        }),
      );
    }
    // The snooze menu reads its alert from the controls block id.
    await answer(() =>
      hh.requester.blockAction({
        userId: USERS.ann.id,
        actionId: ACTION_NOTIFY_SNOOZE,
        blockId: `notify_controls:${foreign}`,
        selectedOption: { value: "1h" },
        channelId: ALERTS_CHANNEL,
        responseUrl: hh.slack.responseUrl(),
      }),
    );
    for (const text of replies) expect(text).toMatch(/no longer exists|no longer valid/);

    // Modal metadata
    const at = Math.floor(Date.now() / 1000) + 3600;
    for (const metadata of [JSON.stringify({ a: foreign }), JSON.stringify({ a: "../x" }), "not json", ""]) {
      const updates = hh.slack.callsTo("views.update").length;
      const res = await hh.requester.viewSubmission({
        userId: USERS.ann.id,
        callbackId: VIEW_SNOOZE_CUSTOM,
        privateMetadata: metadata,
        values: {
          [BLOCK_SNOOZE_AT]: { [ACTION_SNOOZE_AT]: { type: "datetimepicker", selected_date_time: at } },
        },
      });
      expect(res.status).toBe(200);
      const shown = () =>
        /no longer valid/.test(JSON.stringify(res.json)) ||
        hh.slack
          .callsTo("views.update")
          .slice(updates)
          .some((c) => /no longer exists/.test(JSON.stringify(c.args.view)));
      await waitUntil(shown, 5_000, `answer to snooze metadata ${metadata}`);
    }
    for (const metadata of [
      JSON.stringify({ m: "edit", a: foreign }),
      JSON.stringify({ m: "edit" }),
      JSON.stringify({ m: "create", a: target.id }),
      JSON.stringify({ m: "delete", a: target.id }),
      "{",
    ]) {
      const res = await hh.requester.viewSubmission({
        userId: USERS.ann.id,
        callbackId: VIEW_ALERT_FORM,
        privateMetadata: metadata,
        values: {},
      });
      expect(res.status).toBe(200);
      expect(JSON.stringify(res.json)).toMatch(/no longer valid|"response_action":"errors"/);
    }
    await sleep(500);
    expect(alertsSnapshot(hh)).toBe(before);
    for (const w of writesTo(hh.posthog)) {
      expect(w.path).toBe(`/api/projects/${PROJECT_ID}/alerts/${foreign}/`);
    }
    for (const r of hh.posthog.requests)
      expect(
        r.path.startsWith(`/api/projects/${PROJECT_ID}/`) || r.path.startsWith("/api/organizations/"),
      ).toBe(true);
  }, 60_000);
});
