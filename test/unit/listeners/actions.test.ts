import { describe, expect, it } from "vitest";
import { controlsBlockId } from "../../../src/blocks/notification.js";
import { listenerRouter } from "../../../src/listeners/index.js";
import type { ActionArgs } from "../../../src/listeners/router.js";
import { ACTION_NOTIFY_SNOOZE, ACTION_ROW_MENU } from "../../../src/slack/ids.js";
import { createResponseUrlSender } from "../../../src/slack/respond.js";
import { makeAlert } from "../../fixtures/alerts.js";
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
