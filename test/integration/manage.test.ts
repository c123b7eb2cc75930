import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LIST_PAGE_SIZE } from "../../src/blocks/alert-list.js";
import { ACTION_SNOOZE_PRESET, BLOCK_SNOOZE_PRESET } from "../../src/blocks/snooze-modal.js";
import { alertRefCodec, rowMenuCodec } from "../../src/slack/codecs.js";
import {
  ACTION_CONFIRM_DELETE,
  ACTION_LIST_PAGE,
  ACTION_ROW_MENU,
  ACTION_SHOW_DELETE,
  ACTION_SHOW_TOGGLE,
  ACTION_SHOW_UNSNOOZE,
  ACTION_SNOOZE_AT,
  BLOCK_SNOOZE_AT,
  VIEW_SNOOZE_CUSTOM,
} from "../../src/slack/ids.js";
import { expectValidMessage, expectValidView } from "../support/block-kit.js";
import type { FakeAlert, FakePostHog } from "../support/fake-posthog.js";
import {
  commandReply,
  type Harness,
  nextResponse,
  startHarness,
  USERS,
  visibleText,
} from "../support/harness.js";
import { unsafeMrkdwn } from "../support/mrkdwn-safety.js";

let h: Harness;
let signups: FakeAlert;
let errors: FakeAlert;

function seed(posthog: FakePostHog) {
  const insight = posthog.addInsight({ name: "Daily signups" });
  signups = posthog.addAlert({
    insight: insight.id,
    name: "Signups dropped",
    threshold: { configuration: { type: "absolute", bounds: { lower: 100, upper: null } } },
  });
  errors = posthog.addAlert({
    insight: insight.id,
    name: "Errors spiking",
    condition: { type: "relative_increase" },
    threshold: { configuration: { type: "percentage", bounds: { lower: null, upper: 0.2 } } },
  });
  posthog.addAlert({ insight: insight.id, name: "Errors spiking (EU)" });
}

/** Sends a command as a user and returns its answer (in the ack, or posted to its response_url). */
async function command(text: string, userId: string = USERS.ann.id) {
  const before = h.slack.responses.length;
  const ack = await h.requester.slashCommand({
    text,
    userId,
    responseUrl: h.slack.responseUrl(),
    triggerId: h.slack.triggerId({ userId }),
  });
  expect(ack.status).toBe(200);
  expect(ack.ms).toBeLessThan(2_500);
  const reply = await commandReply(h, ack, before);
  expectValidMessage(reply?.body ?? {});
  expect(unsafeMrkdwn(reply?.body, h.posthog.url)).toEqual([]);
  return reply?.body as { text: string; blocks: unknown[] };
}

const writes = () => h.posthog.requests.filter((r) => r.method !== "GET");

/** Deletes the alert in PostHog, clicks its Disable/Enable button, and expects to be told it is gone. */
async function expectDeletedMeanwhile(alert: FakeAlert) {
  h.posthog.alerts.delete(alert.id);
  const before = await pressButton(USERS.ann.id, ACTION_SHOW_TOGGLE, alertRefCodec.encode({ a: alert.id }));
  expect((await nextResponse(h, before))?.body.text).toMatch(/no longer exists/);
}

beforeEach(async () => {
  h = await startHarness({ seed });
});
afterEach(async () => {
  await h.close();
});

describe("/alerts show", () => {
  it("shows the alert with its recent checks and a sparkline", async () => {
    for (const v of [120, 90, 60]) h.posthog.fire(signups.id, v);
    const reply = await command("show signups dropped");
    const text = visibleText(reply);
    expect(text).toContain("Signups dropped");
    expect(text).toContain("below 100");
    expect(text).toMatch(/[▁▂▃▄▅▆▇█]{3}/);
    expect(text).toContain("Daily signups");
  });

  it("does not call a disabled alert snoozed once its snooze has ended (PostHog keeps the time)", async () => {
    const alert = h.posthog.alerts.get(signups.id);
    if (!alert) throw new Error("seeded alert missing");
    alert.enabled = false;
    alert.snoozed_until = new Date(Date.now() - 3_600_000).toISOString();
    const shown = JSON.stringify(await command("show Signups dropped"));
    expect(shown).not.toContain("Snoozed until");
    expect(shown).not.toContain("Snooze again");
    expect(shown).toContain("Snooze…");
    const snoozedList = JSON.stringify(await command("list snoozed"));
    expect(snoozedList).not.toContain("Signups dropped");
    const all = JSON.stringify(await command("list all"));
    expect(all).toContain("Signups dropped");
    expect(all).not.toContain("🔕 until");
  });

  it("lists the candidates with ids when the name is ambiguous, and says so when unknown", async () => {
    const ambiguous = await command("show errors");
    expect(visibleText(ambiguous)).toContain(errors.id);
    expect(ambiguous.text).toMatch(/matches 2 alerts/);
    const exact = await command("show Errors spiking");
    expect(visibleText(exact)).toContain("up by more than 20%");
    const unknown = await command("show nothing-like-this");
    expect(unknown.text).toMatch(/No alert matches/);
    const byId = await command(`show ${signups.id}`);
    expect(visibleText(byId)).toContain("Signups dropped");
  });
});

/** Presses a button as `userId` (with a response URL), and returns the index its first answer will have. */
async function pressButton(userId: string, actionId: string, value: string): Promise<number> {
  const before = h.slack.responses.length;
  await h.requester.blockAction({ userId, actionId, value, responseUrl: h.slack.responseUrl() });
  return before;
}

/**
 * Clicks a button under `/alerts show` as Ann, and returns its two answers: the details drawn
 * again (replacing the message), then the sentence.
 */
async function clickDetail(actionId: string, value: string) {
  const before = await pressButton(USERS.ann.id, actionId, value);
  const refreshed = await nextResponse(h, before);
  const sentence = await nextResponse(h, before + 1);
  return { refreshed, sentence };
}

describe("the buttons under /alerts show", () => {
  it("Disable does what its label said, also when clicked again on the out-of-date message", async () => {
    const shown = await command("show Signups dropped");
    const toggle = (shown.blocks as Array<{ elements?: Array<Record<string, unknown>> }>)
      .flatMap((b) => b.elements ?? [])
      .find((e) => e.action_id === ACTION_SHOW_TOGGLE) as { text: { text: string }; value: string };
    expect(toggle.text.text).toBe("Disable");
    for (const click of [1, 2]) {
      const { refreshed, sentence } = await clickDetail(ACTION_SHOW_TOGGLE, toggle.value);
      expect(refreshed?.body.replace_original, `click ${click}`).toBe(true);
      expect(visibleText(refreshed?.body)).toContain("Enable");
      expect(sentence?.body.text, `click ${click}`).toMatch(/disabled \*Signups dropped\*/);
      expect(h.posthog.alerts.get(signups.id)?.enabled, `click ${click}`).toBe(false);
    }
  });
});

describe("/alerts show on a snoozed alert", () => {
  it("offers Unsnooze, which ends the snooze and draws the details again; Disable asks first", async () => {
    await command("snooze Signups dropped 2h");
    const shown = await command("show Signups dropped");
    const elements = (shown.blocks as Array<{ elements?: Array<Record<string, unknown>> }>).flatMap(
      (b) => b.elements ?? [],
    );
    expect(elements.find((e) => e.action_id === ACTION_SHOW_TOGGLE)?.confirm).toMatchObject({
      title: { text: "Disable this alert?" },
    });
    // PostHog does not check a snoozed alert, so no "next check" is promised.
    expect(visibleText(shown)).not.toContain("Next check");
    const unsnooze = elements.find((e) => e.action_id === ACTION_SHOW_UNSNOOZE) as { value: string };
    const { refreshed, sentence } = await clickDetail(ACTION_SHOW_UNSNOOZE, unsnooze.value);
    expect(h.posthog.alerts.get(signups.id)?.snoozed_until).toBeNull();
    expect(sentence?.body.text).toMatch(/unsnoozed \*Signups dropped\*/);
    expect(visibleText(refreshed?.body)).not.toContain("Unsnooze");
  });
});

describe("writes from commands", () => {
  it("snoozes for an exact duration and reports PostHog's result as a date token", async () => {
    const before = Date.now();
    const reply = await command("snooze Signups dropped 2h");
    const patch = writes().at(-1);
    expect(patch?.method).toBe("PATCH");
    const sent = (patch?.body as { snoozed_until: string } | undefined)?.snoozed_until ?? "";
    expect(sent).toMatch(/Z$/);
    const delta = new Date(sent).getTime() - before;
    expect(delta).toBeGreaterThanOrEqual(2 * 3600_000 - 1000);
    expect(delta).toBeLessThan(2 * 3600_000 + 5_000);
    expect(visibleText(reply)).toMatch(/snoozed .*Signups dropped.* until <!date\^\d+\^/);
    expect(h.posthog.alerts.get(signups.id)?.state).toBe("Snoozed");
  });

  it("reads 'until' times in the user's own time zone", async () => {
    await command("snooze Signups dropped until tomorrow 9am", USERS.bob.id);
    const sent = (writes().at(-1)?.body as { snoozed_until: string } | undefined)?.snoozed_until ?? "";
    const berlin = new Intl.DateTimeFormat("en-GB", {
      timeZone: "Europe/Berlin",
      hour: "2-digit",
      minute: "2-digit",
    }).format(new Date(sent));
    expect(berlin).toBe("09:00");
  });

  it("refuses times in the past with an explanation, and changes nothing", async () => {
    const reply = await command("snooze Signups dropped until 2020-01-01 08:00");
    expect(reply.text).toMatch(/passed/i);
    expect(writes()).toHaveLength(0);
  });

  it("cuts a longer snooze short when asked by command, and says what it cut short", async () => {
    await command("snooze Signups dropped 1w");
    const reply = await command("snooze Signups dropped 2h");
    expect(writes()).toHaveLength(2);
    expect(visibleText(reply)).toMatch(
      /snoozed .*Signups dropped.* until <!date\^\d+\^.*cutting short a snooze until/,
    );
    const left = new Date(h.posthog.alerts.get(signups.id)?.snoozed_until ?? 0).getTime() - Date.now();
    expect(left).toBeLessThan(2 * 3600_000 + 5_000);
  });

  it("unsnoozes, disables and enables", async () => {
    await command("snooze Signups dropped 1d");
    const un = await command("unsnooze Signups dropped");
    expect(un.text).toMatch(/unsnoozed/);
    expect(h.posthog.alerts.get(signups.id)?.snoozed_until).toBeNull();
    await command("disable Signups dropped");
    expect(h.posthog.alerts.get(signups.id)?.enabled).toBe(false);
    await command("enable Signups dropped");
    expect(h.posthog.alerts.get(signups.id)?.enabled).toBe(true);
    expect(writes().map((r) => r.body)).toEqual([
      expect.objectContaining({ snoozed_until: expect.any(String) }),
      { snoozed_until: null },
      { enabled: false },
      { enabled: true },
    ]);
  });

  it("does not unsnooze a firing alert that is not snoozed: PostHog's unsnooze would clear the firing", async () => {
    h.posthog.fire(signups.id, 150);
    expect(h.posthog.alerts.get(signups.id)?.state).toBe("Firing");
    const un = await command("unsnooze Signups dropped");
    expect(un.text).toContain("is not snoozed, so nothing changed");
    expect(writes()).toHaveLength(0);
    expect(h.posthog.alerts.get(signups.id)?.state).toBe("Firing");
  });

  it("asks before deleting, then deletes and says so", async () => {
    const ask = await command("delete Signups dropped");
    const blocks = JSON.stringify(ask.blocks);
    expect(blocks).toContain('"style":"danger"');
    expect(blocks).toContain('"confirm"');
    expect(writes()).toHaveLength(0);
    const before = await pressButton(
      USERS.ann.id,
      ACTION_CONFIRM_DELETE,
      alertRefCodec.encode({ a: signups.id }),
    );
    const done = await nextResponse(h, before);
    expect(done?.body.text).toMatch(/deleted/);
    expect(h.posthog.alerts.has(signups.id)).toBe(false);
  });

  it("tells the user when the alert was deleted meanwhile", async () => {
    await expectDeletedMeanwhile(signups);
  });

  it("shows PostHog's validation detail in plain words", async () => {
    h.posthog.failNext(1, {
      status: 400,
      body: {
        type: "validation_error",
        code: "invalid_input",
        detail: "snoozed_until has to be passed in string format",
        attr: "snoozed_until",
      },
    });
    const reply = await command("disable Signups dropped");
    // Escaped like any text from outside (formatting characters carry an invisible joiner).
    expect(reply.text.replace(/\u2060/g, "")).toContain("snoozed_until has to be passed in string format");
  });

  it("tells the user when to retry when PostHog rate limits", async () => {
    h.posthog.failNext(10, {
      status: 429,
      headers: { "Retry-After": "37" },
      body: {
        type: "throttled_error",
        code: "throttled",
        detail: "Request was throttled. Expected available in 37 seconds.",
        attr: null,
      },
    });
    const reply = await command("enable Signups dropped");
    expect(reply.text).toMatch(/37 seconds/);
  });
});

describe("the permission policy", () => {
  it("refuses every write from a Slack user who is not a PostHog member, and says whom to ask", async () => {
    for (const text of [
      "snooze Signups dropped 2h",
      "unsnooze Signups dropped",
      "disable Signups dropped",
      "enable Signups dropped",
      "delete Signups dropped",
    ]) {
      const reply = await command(text, USERS.eve.id);
      expect(reply.text).toMatch(/can't change alerts/);
    }
    for (const [actionId, value] of [
      [ACTION_CONFIRM_DELETE, alertRefCodec.encode({ a: signups.id })],
      [ACTION_SHOW_TOGGLE, alertRefCodec.encode({ a: signups.id })],
      [ACTION_SHOW_DELETE, alertRefCodec.encode({ a: signups.id })],
    ] as const) {
      const before = await pressButton(USERS.eve.id, actionId, value);
      const reply = await nextResponse(h, before);
      expect(reply?.body.text).toMatch(/can't change alerts/);
    }
    const before = h.slack.responses.length;
    await h.requester.blockAction({
      userId: USERS.eve.id,
      actionId: ACTION_ROW_MENU,
      type: "overflow",
      selectedOption: { value: rowMenuCodec.encode({ v: "disable", a: signups.id }) },
      responseUrl: h.slack.responseUrl(),
    });
    expect((await nextResponse(h, before))?.body.text).toMatch(/can't change alerts/);
    const trigger = h.slack.triggerId({ userId: USERS.eve.id });
    const submit = await h.requester.viewSubmission({
      userId: USERS.eve.id,
      callbackId: VIEW_SNOOZE_CUSTOM,
      privateMetadata: JSON.stringify({ a: signups.id }),
      values: {
        [BLOCK_SNOOZE_AT]: {
          [ACTION_SNOOZE_AT]: {
            type: "datetimepicker",
            selected_date_time: Math.floor(Date.now() / 1000) + 3600,
          },
        },
      },
      triggerId: trigger,
    });
    expect(submit.status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(writes()).toHaveLength(0);
    expect(h.logs.some((l) => l.includes("write refused by WRITE_ACCESS policy"))).toBe(true);
  });

  it("refuses a tampered button value", async () => {
    const before = await pressButton(
      USERS.ann.id,
      ACTION_CONFIRM_DELETE,
      JSON.stringify({ a: "../../projects/1/alerts/x" }),
    );
    expect((await nextResponse(h, before))?.body.text).toMatch(/no longer valid/);
    expect(writes()).toHaveLength(0);
  });
});

describe("list paging and row menus", () => {
  it("pages through the list with Previous/Next", async () => {
    const insight = h.posthog.addInsight({ name: "Many" });
    for (let i = 0; i < 45; i++) h.posthog.addAlert({ insight: insight.id, name: `Bulk ${i}` });
    const first = await command("list all bulk");
    expect(first.text).toMatch(/^45 alerts/);
    const nav = (
      first.blocks as Array<{ type: string; elements?: Array<{ action_id: string; value: string }> }>
    ).find((b) => b.type === "actions");
    const next = nav?.elements?.find((e) => e.action_id.startsWith(ACTION_LIST_PAGE));
    const before = await pressButton(USERS.eve.id, next?.action_id ?? "", next?.value ?? "");
    const second = await nextResponse(h, before);
    expectValidMessage(second?.body);
    expect(second?.body.replace_original).toBe(true);
    expect(visibleText(second?.body)).toContain(`showing ${LIST_PAGE_SIZE + 1}–${LIST_PAGE_SIZE * 2}`);
  });

  it("answers a list in the ack while the alerts are cached, and through the response URL when they are not", async () => {
    const send = (text: string) =>
      h.requester.slashCommand({ text, userId: USERS.ann.id, responseUrl: h.slack.responseUrl() });
    const listReads = () =>
      h.posthog.requests.filter((r) => r.method === "GET" && /\/alerts\/?$/.test(r.path));

    // Nothing cached yet: the ack is empty, and the list follows on the response URL.
    const before = h.slack.responses.length;
    const cold = await send("list");
    expect(cold.json).toBeUndefined();
    const posted = await commandReply(h, cold, before);
    expect(posted?.via).toBe("response_url");
    const reads = listReads().length;
    expect(reads).toBeGreaterThan(0);

    // Cached: the same page comes in the ack, with no PostHog read and no second request to Slack.
    const warm = await send("list");
    // Slack reads an ack's body as a message only when it is marked as JSON (else it shows the text).
    expect(warm.contentType).toMatch(/^application\/json/);
    const answered = await commandReply(h, warm, h.slack.responses.length);
    expect(answered?.via).toBe("ack");
    expect(answered?.body.response_type).toBe("ephemeral");
    expectValidMessage(answered?.body ?? {});
    expect(answered?.body.blocks).toEqual(posted?.body.blocks);
    expect(listReads()).toHaveLength(reads);
    expect(h.slack.responses).toHaveLength(before + 1);

    // A write from Slack updates the cached list in place: the next list shows it in the ack,
    // without reading the list or the insight again.
    await command("disable Signups dropped");
    const requests = h.posthog.requests.length;
    const after = await commandReply(h, await send("list"), h.slack.responses.length);
    expect(after?.via).toBe("ack");
    expect(h.posthog.requests).toHaveLength(requests);
    expect(visibleText(after?.body ?? {})).toMatch(
      /Signups dropped[^"]*disabled|disabled[^"]*Signups dropped/i,
    );
    expect(listReads()).toHaveLength(reads);
  });

  /** Chooses Snooze in a list row's menu, as Ann, and waits for the form to open. */
  async function openSnoozeFormFromRow() {
    await h.requester.blockAction({
      userId: USERS.ann.id,
      actionId: ACTION_ROW_MENU,
      type: "overflow",
      selectedOption: { value: rowMenuCodec.encode({ v: "snooze", a: signups.id }) },
      responseUrl: h.slack.responseUrl(),
      triggerId: h.slack.triggerId({ userId: USERS.ann.id }),
    });
    await h.slack.waitFor(() => h.slack.callsTo("views.open").length > 0);
  }

  it("opens the snooze form from a row menu and snoozes until the picked time", async () => {
    await openSnoozeFormFromRow();
    const opened = h.slack.callsTo("views.open")[0];
    expect(opened?.ok).toBe(true);
    expectValidView(opened?.args.view);
    const viewId = [...h.slack.views.keys()][0] as string;
    const at = Math.floor(Date.now() / 1000) + 3 * 3600;
    const res = await h.requester.viewSubmission({
      userId: USERS.ann.id,
      callbackId: VIEW_SNOOZE_CUSTOM,
      viewId,
      privateMetadata: JSON.stringify({ a: signups.id }),
      values: {
        [BLOCK_SNOOZE_AT]: { [ACTION_SNOOZE_AT]: { type: "datetimepicker", selected_date_time: at } },
      },
    });
    expect(res.status).toBe(200);
    expect((res.json as { response_action: string }).response_action).toBe("update");
    await h.slack.waitFor(() => writes().length > 0);
    expect(writes()[0]?.body).toEqual({ snoozed_until: new Date(at * 1000).toISOString() });
  });

  it("opened from a list, says the outcome in the list's channel when the form was closed before PostHog answered", async () => {
    await openSnoozeFormFromRow();
    const opened = h.slack.callsTo("views.open")[0]?.args.view as { private_metadata: string };
    const origin = JSON.parse(opened.private_metadata);
    // The list's channel, and no message: a list is not a notification to redraw.
    expect(origin).toEqual({ a: signups.id, c: "C0TESTCHAN" });
    const viewId = [...h.slack.views.keys()][0] as string;
    h.posthog.setLatency(300);
    await h.requester.viewSubmission({
      userId: USERS.ann.id,
      callbackId: VIEW_SNOOZE_CUSTOM,
      viewId,
      privateMetadata: opened.private_metadata,
      values: {
        [BLOCK_SNOOZE_AT]: {
          [ACTION_SNOOZE_AT]: {
            type: "datetimepicker",
            selected_date_time: Math.floor(Date.now() / 1000) + 3600,
          },
        },
      },
    });
    h.slack.closeView(viewId);
    await h.slack.waitFor(() => h.slack.ephemerals.length > 0, 5_000);
    expect(h.slack.ephemerals[0]).toMatchObject({ channel: "C0TESTCHAN", user: USERS.ann.id });
    expect(h.slack.ephemerals[0]?.text).toMatch(/snoozed \*Signups dropped\* until <!date\^/);
  });

  it("says so when a preset's clock time was read in UTC because Slack did not say the time zone", async () => {
    await openSnoozeFormFromRow();
    const viewId = [...h.slack.views.keys()][0] as string;
    h.slack.failNext("users.info", { status: 500 });
    await h.requester.viewSubmission({
      userId: USERS.ann.id,
      callbackId: VIEW_SNOOZE_CUSTOM,
      viewId,
      privateMetadata: JSON.stringify({ a: signups.id }),
      values: {
        [BLOCK_SNOOZE_PRESET]: {
          [ACTION_SNOOZE_PRESET]: { type: "static_select", selected_option: { value: "tomorrow_9" } },
        },
      },
    });
    await h.slack.waitFor(() => writes().length > 0, 5_000);
    const body = writes()[0]?.body as { snoozed_until?: string } | undefined;
    const until = new Date(String(body?.snoozed_until));
    expect(until.getUTCHours()).toBe(9);
    await h.slack.waitFor(
      () => JSON.stringify(h.slack.views.get(viewId)?.view ?? {}).includes("read in UTC"),
      5_000,
    );
  });

  it("says the snooze in the channel it came from when its form was closed before PostHog answered", async () => {
    await openSnoozeFormFromRow();
    const viewId = [...h.slack.views.keys()][0] as string;
    h.posthog.setLatency(300);
    const at = Math.floor(Date.now() / 1000) + 3 * 3600;
    await h.requester.viewSubmission({
      userId: USERS.ann.id,
      callbackId: VIEW_SNOOZE_CUSTOM,
      viewId,
      privateMetadata: JSON.stringify({ a: signups.id, c: "C0ALERTS01", t: "1748826013.000100" }),
      values: {
        [BLOCK_SNOOZE_AT]: { [ACTION_SNOOZE_AT]: { type: "datetimepicker", selected_date_time: at } },
      },
    });
    h.slack.closeView(viewId);
    await h.slack.waitFor(() => h.slack.ephemerals.length > 0, 5_000);
    expect(h.slack.ephemerals[0]).toMatchObject({ channel: "C0ALERTS01", user: USERS.ann.id });
    expect(h.slack.ephemerals[0]?.text).toMatch(/snoozed \*Signups dropped\* until <!date\^/);
  });

  it("refuses a picked time in the past inline, without calling PostHog", async () => {
    const res = await h.requester.viewSubmission({
      userId: USERS.ann.id,
      callbackId: VIEW_SNOOZE_CUSTOM,
      privateMetadata: JSON.stringify({ a: signups.id }),
      values: {
        [BLOCK_SNOOZE_AT]: {
          [ACTION_SNOOZE_AT]: { type: "datetimepicker", selected_date_time: 1_600_000_000 },
        },
      },
    });
    expect(res.json).toMatchObject({
      response_action: "errors",
      errors: { [BLOCK_SNOOZE_AT]: expect.stringMatching(/passed/) },
    });
    expect(writes()).toHaveLength(0);
  });
});

describe("answers to everything", () => {
  it("answers unknown subcommands with the nearest usage", async () => {
    const reply = await command("snoze Signups 2h");
    expect(reply.text).toMatch(/Usage: `\/alerts snooze/);
  });

  it("answers a snooze without a time with the usage and an example", async () => {
    const reply = await command("snooze Signups dropped");
    expect(reply.text).toMatch(/snooze/);
    expect(writes()).toHaveLength(0);
  });

  it("publishes the Home tab", async () => {
    const event = {
      token: "x",
      team_id: "T0FAKETEAM",
      api_app_id: "A0FAKEAPP",
      type: "event_callback",
      event_id: "Ev01",
      event_time: Math.floor(Date.now() / 1000),
      event: { type: "app_home_opened", user: USERS.ann.id, channel: "D0123", tab: "home", event_ts: "1.2" },
    };
    const res = await h.requester.send(JSON.stringify(event), "application/json");
    expect(res.status).toBe(200);
    await h.slack.waitFor(() => h.slack.callsTo("views.publish").length > 0);
    const call = h.slack.callsTo("views.publish")[0];
    expect(call?.ok).toBe(true);
    expectValidView(call?.args.view);
    // The time the list was read, in each viewer's own time zone.
    expect(JSON.stringify(call?.args.view)).toMatch(/As PostHog listed them <!date\^\d+\^/);
  });
});

describe("with PostHog calls on a thread of their own, as `npm start` runs the bot", () => {
  // The worker runs compiled JavaScript; `npm test` builds before it runs the tests.
  const builtWorker = new URL("../../dist/posthog/thread-worker.js", import.meta.url);

  beforeEach(async () => {
    await h.close();
    h = await startHarness({ seed, posthogThreadWorker: builtWorker });
  });

  it("lists, snoozes and unsnoozes as the bot on one thread does", async () => {
    expect(visibleText(await command("list all"))).toContain("Errors spiking (EU)");
    const reply = await command("snooze Signups dropped 2h");
    expect(visibleText(reply)).toMatch(/snoozed .*Signups dropped.* until <!date\^\d+\^/);
    expect(h.posthog.alerts.get(signups.id)?.state).toBe("Snoozed");
    expect(visibleText(await command("unsnooze Signups dropped"))).toMatch(/unsnoozed/);
    expect(h.posthog.alerts.get(signups.id)?.snoozed_until).toBeNull();
  });

  it("tells PostHog's refusals in the same words: its validation detail, a rate limit, a deleted alert", async () => {
    h.posthog.failNext(1, {
      status: 400,
      body: { type: "validation_error", code: "invalid_input", detail: "Bad interval", attr: "enabled" },
    });
    expect((await command("disable Signups dropped")).text.replace(/\u2060/g, "")).toContain("Bad interval");
    h.posthog.failNext(1, {
      status: 429,
      headers: { "Retry-After": "37" },
      body: { type: "throttled_error", code: "throttled", detail: "Request was throttled.", attr: null },
    });
    expect((await command("enable Signups dropped")).text).toMatch(/37 seconds/);
    await expectDeletedMeanwhile(errors);
  });
});
