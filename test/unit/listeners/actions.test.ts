import { describe, expect, it } from "vitest";
import { controlsBlockId } from "../../../src/blocks/notification.js";
import { listenerRouter } from "../../../src/listeners/index.js";
import type { ActionArgs } from "../../../src/listeners/router.js";
import {
  ACTION_NOTIFY_SNOOZE,
  ACTION_ROW_MENU,
  ACTION_SHOW_SNOOZE,
  ACTION_SHOW_TOGGLE,
} from "../../../src/slack/ids.js";
import { createResponseUrlSender } from "../../../src/slack/respond.js";
import { makeAlert } from "../../fixtures/alerts.js";
import { expectValidMessage } from "../../support/block-kit.js";
import { type Fixture, fixture, markNextTurn } from "./support.js";

const RESPONSE_URL = "https://hooks.slack.invalid/actions/T1/1/abc";

/** Clicks a control as Bolt would hand it to the listener, recording the ack in the event order. */
async function click(
  f: Fixture,
  actionId: string,
  action: Record<string, unknown>,
  body: Record<string, unknown> = {},
) {
  const handler = listenerRouter(f.deps).actionHandler(actionId);
  if (!handler) throw new Error(`no handler for ${actionId}`);
  await handler({
    ack: async () => {
      f.events.push("ack");
      markNextTurn(f.events, "next turn after the ack");
    },
    action: { action_id: actionId, ...action },
    body: {
      type: "block_actions",
      user: { id: "U0ANN0001" },
      trigger_id: "1.2.3",
      channel: { id: "C0CHANNEL1" },
      message: { ts: "1748826013.000100" },
      response_url: RESPONSE_URL,
      ...body,
    },
    client: {},
  } as unknown as ActionArgs);
}

describe("a snooze click on a notification", () => {
  const alert = makeAlert({ name: "Signups dropped", state: "Firing" });
  const snooze = (f: Fixture) =>
    click(f, ACTION_NOTIFY_SNOOZE, {
      block_id: controlsBlockId(alert.id),
      selected_option: { value: "1h" },
    });

  it("acks, then snoozes in PostHog and records it, each step in its own turn of the event loop", async () => {
    const f = fixture([alert]);
    f.api.onCall = (method) => {
      f.events.push(method);
      if (method === "updateAlert") markNextTurn(f.events, "turn while PostHog answers");
    };
    await snooze(f);
    expect(f.events[0]).toBe("ack");
    const at = (e: string) => f.events.indexOf(e);
    expect(at("next turn after the ack")).toBeLessThan(at("updateAlert"));
    expect(at("turn while PostHog answers")).toBeLessThan(at("alertChanged"));
    expect(f.api.patches).toEqual([{ id: alert.id, patch: { snoozed_until: "2026-03-02T11:00:00.000Z" } }]);
    expect(f.changes).toEqual([
      { verb: "snooze", alertId: alert.id, origin: { channel: "C0CHANNEL1", ts: "1748826013.000100" } },
    ]);
    // Success shows in the message itself (updated by the notification side), not as a reply.
    expect(f.responder.sent).toEqual([]);
  });

  it("tells the clicker when a clock time was read in UTC because Slack did not say their zone", async () => {
    const pick = async (preset: string) => {
      const f = fixture([alert]);
      f.deps.directory = {
        ...f.deps.directory,
        user: async (id) => ({ id, tz: null, email: null, isBot: false, deleted: false }),
      };
      await click(f, ACTION_NOTIFY_SNOOZE, {
        block_id: controlsBlockId(alert.id),
        selected_option: { value: preset },
      });
      return f;
    };
    const tomorrow = await pick("tomorrow_9");
    expect(tomorrow.api.patches).toEqual([
      { id: alert.id, patch: { snoozed_until: "2026-03-03T09:00:00.000Z" } },
    ]);
    expect(tomorrow.responder.sent.map((s) => s.message.text)).toEqual([
      expect.stringMatching(
        /snoozed \*Signups dropped\* until .* The time was read in UTC: Slack did not say your time zone\.$/,
      ),
    ]);
    // "For an hour" is the same hour in every zone: the message itself is the answer.
    const hour = await pick("1h");
    expect(hour.api.patches).toHaveLength(1);
    expect(hour.responder.sent).toEqual([]);
  });

  it("tells the clicker when the message clicked is an earlier one, which nothing redraws", async () => {
    const f = fixture([alert]);
    f.earlierMessage = true;
    await snooze(f);
    expect(f.api.patches).toHaveLength(1);
    expect(f.changes).toHaveLength(1);
    expect(f.responder.sent.map((s) => s.message)).toEqual([
      expect.objectContaining({
        response_type: "ephemeral",
        replace_original: false,
        text: expect.stringMatching(
          /^.*snoozed \*Signups dropped\* until .* This message is no longer updated, so it will not show this\.$/,
        ),
      }),
    ]);
  });

  it("tells the clicker when PostHog fails, ephemerally and without replacing the message", async () => {
    const f = fixture([alert]);
    f.api.failNextWrite = new Error("socket hang up");
    await snooze(f);
    expect(f.changes).toEqual([]);
    expect(f.responder.sent).toHaveLength(1);
    expect(f.responder.sent[0]).toMatchObject({
      url: RESPONSE_URL,
      message: { response_type: "ephemeral", replace_original: false },
    });
  });
});

describe("a write PostHog confirmed, when the notification side cannot record it", () => {
  const alert = makeAlert({ name: "Signups dropped", state: "Firing" });
  const logged = (f: Fixture) =>
    f.logs
      .map((l) => JSON.parse(l))
      .filter((l) => l.msg === "could not record the change for its notification message");

  it("a notification's snooze button: the clicker is told it was snoozed (the message cannot show it), and the failure is logged", async () => {
    const f = fixture([alert]);
    f.failChanges = new Error("database is locked");
    await click(f, ACTION_NOTIFY_SNOOZE, {
      block_id: controlsBlockId(alert.id),
      selected_option: { value: "1h" },
    });
    expect(f.api.patches).toHaveLength(1);
    expect(f.responder.sent.map((s) => s.message.text)).toEqual([
      expect.stringMatching(
        /snoozed \*Signups dropped\* until .*This message could not be updated to show it\.$/,
      ),
    ]);
    expect(f.responder.sent[0]?.message).toMatchObject({
      response_type: "ephemeral",
      replace_original: false,
    });
    expect(logged(f)).toMatchObject([{ alertId: alert.id, action: "snooze", err: "database is locked" }]);
  });

  it("a list row's Disable: the clicker is told it was disabled, and nothing else", async () => {
    const f = fixture([alert]);
    f.failChanges = new Error("database is locked");
    await click(f, ACTION_ROW_MENU, {
      selected_option: { value: JSON.stringify({ v: "disable", a: alert.id }) },
    });
    expect(f.api.patches).toEqual([{ id: alert.id, patch: { enabled: false } }]);
    expect(f.responder.sent.map((s) => s.message.text)).toEqual([
      expect.stringMatching(/disabled \*Signups dropped\*/),
    ]);
    expect(logged(f)).toHaveLength(1);
  });
});

describe("a change from a list row's menu", () => {
  const rowMenu = (f: Fixture, v: string, a: string) =>
    click(f, ACTION_ROW_MENU, { selected_option: { value: JSON.stringify({ v, a }) } });
  /** The buttons of the one reply sent, by label, with what they carry. */
  const replyButtons = (f: Fixture) => {
    expect(f.responder.sent).toHaveLength(1);
    const message = f.responder.sent[0]?.message as { text: string; blocks: unknown[] };
    expectValidMessage(message);
    return (message.blocks as Array<{ type: string; elements?: Array<Record<string, unknown>> }>)
      .flatMap((b) => b.elements ?? [])
      .map((e) => ({
        label: (e.text as { text: string }).text,
        action: e.action_id,
        value: JSON.parse(String(e.value)),
        confirm: Boolean(e.confirm),
      }));
  };

  it("answers a Disable with an Enable that takes it back (an overflow menu cannot ask first)", async () => {
    const alert = makeAlert({ name: "Signups dropped", enabled: true });
    const f = fixture([alert]);
    await rowMenu(f, "disable", alert.id);
    expect(f.api.patches).toEqual([{ id: alert.id, patch: { enabled: false } }]);
    const [undo] = replyButtons(f);
    expect(undo).toEqual({
      label: "Enable",
      action: ACTION_SHOW_TOGGLE,
      value: { a: alert.id, v: "enable" },
      confirm: false,
    });
    // The undo is the Enable of /alerts show: clicking it enables the alert again.
    await click(f, ACTION_SHOW_TOGGLE, { value: JSON.stringify(undo?.value) });
    expect(f.api.patches.at(-1)).toEqual({ id: alert.id, patch: { enabled: true } });
  });

  it("answers an Enable with a Disable that asks first, and an Unsnooze with Snooze again", async () => {
    const disabled = makeAlert({ name: "Signups dropped", enabled: false });
    const f = fixture([disabled]);
    await rowMenu(f, "enable", disabled.id);
    expect(replyButtons(f)).toEqual([
      {
        label: "Disable",
        action: ACTION_SHOW_TOGGLE,
        value: { a: disabled.id, v: "disable" },
        confirm: true,
      },
    ]);

    const snoozed = makeAlert({
      name: "Checkout errors",
      snoozed_until: new Date(Date.now() + 3_600_000).toISOString(),
    });
    const g = fixture([snoozed]);
    await rowMenu(g, "unsnooze", snoozed.id);
    expect(g.api.patches).toEqual([{ id: snoozed.id, patch: { snoozed_until: null } }]);
    expect(replyButtons(g)).toEqual([
      { label: "Snooze again…", action: ACTION_SHOW_SNOOZE, value: { a: snoozed.id }, confirm: false },
    ]);
  });

  it("offers nothing to take back when the change was not made", async () => {
    const alert = makeAlert({ name: "Signups dropped", enabled: true });
    const f = fixture([alert]);
    f.api.failNextWrite = new Error("socket hang up");
    await rowMenu(f, "disable", alert.id);
    expect(replyButtons(f)).toEqual([]);
  });
});

describe("Enable/Disable under /alerts show", () => {
  const toggle = (f: Fixture, value: Record<string, string>) =>
    click(f, ACTION_SHOW_TOGGLE, { value: JSON.stringify(value) });

  it("writes the verb its label showed, without reading the alert first, even if the alert changed since", async () => {
    const alert = makeAlert({ name: "Signups dropped", enabled: false });
    const f = fixture([alert]);
    const calls: string[] = [];
    f.api.onCall = (method) => calls.push(method);
    await toggle(f, { a: alert.id, v: "disable" });
    expect(f.api.patches).toEqual([{ id: alert.id, patch: { enabled: false } }]);
    expect(calls[0]).toBe("updateAlert");
  });

  it("falls back to the alert's state for buttons posted before the verb was in their value", async () => {
    const alert = makeAlert({ name: "Signups dropped", enabled: true });
    const f = fixture([alert]);
    await toggle(f, { a: alert.id });
    expect(f.api.patches).toEqual([{ id: alert.id, patch: { enabled: false } }]);
  });

  it("says it worked when the refreshed details cannot be read", async () => {
    const alert = makeAlert({ name: "Signups dropped", enabled: true });
    const f = fixture([alert]);
    f.api.onCall = (method) => {
      if (method === "getAlert") throw Object.assign(new Error("throttled"), { code: "rate_limited" });
    };
    await toggle(f, { a: alert.id, v: "disable" });
    expect(f.responder.sent.map((s) => [s.message.replace_original, s.message.text])).toEqual([
      [false, expect.stringMatching(/disabled \*Signups dropped\*/)],
    ]);
    expect(f.logs.some((l) => l.includes("could not refresh the alert's details"))).toBe(true);
    expect(f.changes).toEqual([{ verb: "disable", alertId: alert.id }]);
  });

  it("refuses a value that is not one of its own", async () => {
    const alert = makeAlert({ name: "Signups dropped" });
    const f = fixture([alert]);
    await toggle(f, { a: alert.id, v: "delete" });
    expect(f.api.patches).toEqual([]);
    expect(f.responder.sent).toHaveLength(1);
  });
});

describe("a click that cannot be answered", () => {
  it("logs that the action failed and that there was no response URL to say so", async () => {
    const f = fixture([makeAlert()]);
    const sender = createResponseUrlSender();
    f.deps.responder = sender;
    // A tampered menu value, from a surface that has no response URL.
    await click(f, ACTION_ROW_MENU, { selected_option: { value: "{}" } }, { response_url: undefined });
    await sender.close();
    const lines = f.logs.map((l) => JSON.parse(l));
    const failed = lines.find((l) => l.msg === "action failed");
    expect(failed).toMatchObject({ code: "response_url_missing", action: ACTION_ROW_MENU });
    expect(lines.some((l) => l.msg === "could not answer through response_url")).toBe(true);
  });
});
