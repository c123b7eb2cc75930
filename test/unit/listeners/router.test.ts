import { App, type Receiver } from "@slack/bolt";
import { describe, expect, it } from "vitest";
import { controlsBlockId } from "../../../src/blocks/notification.js";
import { listenerRouter } from "../../../src/listeners/index.js";
import { ListenerRouter } from "../../../src/listeners/router.js";
import {
  ACTION_CONFIRM_DELETE,
  ACTION_INSIGHT,
  ACTION_LIST_PAGE,
  ACTION_NOTIFY_DISABLE,
  ACTION_NOTIFY_ENABLE,
  ACTION_NOTIFY_OPEN,
  ACTION_NOTIFY_SNOOZE,
  ACTION_NOTIFY_UNSNOOZE,
  ACTION_OPEN_IN_POSTHOG,
  ACTION_ROW_MENU,
  ACTION_SHOW_DELETE,
  ACTION_SHOW_EDIT,
  ACTION_SHOW_SNOOZE,
  ACTION_SHOW_TOGGLE,
} from "../../../src/slack/ids.js";
import { makeAlert } from "../../fixtures/alerts.js";
import { waitFor } from "../notifications/support.js";
import { fixture } from "./support.js";

const failOnError = (error: unknown) => {
  throw error;
};

/** Every action id the bot puts on a surface and listens for. */
const ACTION_IDS = [
  `${ACTION_LIST_PAGE}_prev`,
  `${ACTION_LIST_PAGE}_next`,
  ACTION_ROW_MENU,
  ACTION_SHOW_EDIT,
  ACTION_SHOW_SNOOZE,
  ACTION_SHOW_TOGGLE,
  ACTION_SHOW_DELETE,
  ACTION_CONFIRM_DELETE,
  ACTION_OPEN_IN_POSTHOG,
  ACTION_NOTIFY_SNOOZE,
  ACTION_NOTIFY_UNSNOOZE,
  ACTION_NOTIFY_DISABLE,
  ACTION_NOTIFY_ENABLE,
  ACTION_NOTIFY_OPEN,
  ACTION_INSIGHT,
];

const quietReceiver: Receiver = { init: () => {}, start: async () => {}, stop: async () => {} };

/** A Bolt app that never talks to Slack: known identity, no token check, a receiver that listens nowhere. */
function boltApp(): App {
  return new App({
    token: "xoxb-test",
    botId: "B0TEST",
    botUserId: "U0BOT",
    tokenVerificationEnabled: false,
    receiver: quietReceiver,
    clientOptions: { slackApiUrl: "http://127.0.0.1:9/api/" },
  });
}

const blockAction = (actionId: string, extra: Record<string, unknown> = {}) => ({
  type: "block_actions",
  team: { id: "T0TEAM" },
  user: { id: "U0ANN0001" },
  api_app_id: "A0APP",
  token: "x",
  trigger_id: "1.2.3",
  container: { type: "message" },
  channel: { id: "C0CHANNEL1" },
  actions: [{ type: "button", action_id: actionId, block_id: "b", action_ts: "1.2", ...extra }],
});

describe("the bot's routes", () => {
  const router = listenerRouter(fixture([makeAlert()]).deps);

  it("take every action id the bot listens for to exactly one handler", () => {
    for (const id of ACTION_IDS) expect(router.actionHandler(id), id).toBeDefined();
    expect(router.overlaps(ACTION_IDS)).toEqual([]);
  });

  it("take nothing else", () => {
    for (const id of ["", "alerts_list", "notify", "something_else", `x${ACTION_ROW_MENU}`]) {
      expect(router.actionHandler(id), id).toBeUndefined();
    }
  });
});

describe("ListenerRouter inside Bolt", () => {
  it("runs the handler an action id names, and only that one", async () => {
    const router = new ListenerRouter();
    const ran: string[] = [];
    router.action("exact", async ({ ack }) => {
      ran.push("exact");
      await ack();
    });
    router.action(/^prefix_/, async ({ ack, action }) => {
      ran.push(`prefix:${(action as { action_id: string }).action_id}`);
      await ack();
    });
    const app = boltApp();
    router.attach(app, failOnError);
    const acks: string[] = [];
    for (const id of ["exact", "prefix_next", "unknown"]) {
      await app.processEvent({ body: blockAction(id), ack: async () => void acks.push(id) });
    }
    expect(ran).toEqual(["exact", "prefix:prefix_next"]);
    // Nothing handles "unknown", so nothing acks it: Bolt reports it as unhandled, as before.
    expect(acks).toEqual(["exact", "prefix_next"]);
  });

  it("routes suggestions by action id and view submissions by callback id", async () => {
    const router = new ListenerRouter();
    const ran: string[] = [];
    router.options("insight_select", async ({ ack }) => {
      ran.push("options");
      await ack({ options: [] });
    });
    router.view("the_form", async ({ ack, view }) => {
      ran.push(`view:${view.callback_id}`);
      await ack();
    });
    const app = boltApp();
    router.attach(app, failOnError);
    const base = { team: { id: "T0TEAM" }, user: { id: "U0ANN0001" }, api_app_id: "A0APP", token: "x" };
    await app.processEvent({
      body: {
        ...base,
        type: "block_suggestion",
        action_id: "insight_select",
        block_id: "insight",
        value: "sig",
        container: { type: "view", view_id: "V1" },
      },
      ack: async () => {},
    });
    for (const callback_id of ["the_form", "another_form"]) {
      await app.processEvent({
        body: {
          ...base,
          type: "view_submission",
          trigger_id: "1.2.3",
          view: { id: "V1", type: "modal", callback_id, state: { values: {} }, private_metadata: "" },
        },
        ack: async () => {},
      });
    }
    expect(ran).toEqual(["options", "view:the_form"]);
  });

  it("routes slash commands by name and events by type, through one middleware and no Bolt listener", async () => {
    const router = new ListenerRouter();
    const ran: string[] = [];
    router.command("/alerts", async ({ ack, command }) => {
      ran.push(`command:${command.text}`);
      await ack();
    });
    router.event("app_home_opened", async ({ event }) => {
      ran.push(`event:${event.type}`);
    });
    const app = boltApp();
    router.attach(app, failOnError);
    // Bolt would run every listener's middleware chain for every request; there are none.
    expect((app as unknown as { listeners: unknown[] }).listeners).toEqual([]);
    const acks: string[] = [];
    const base = { team_id: "T0TEAM", user_id: "U0ANN0001", api_app_id: "A0APP", token: "x" };
    for (const command of ["/alerts", "/other"]) {
      await app.processEvent({
        body: {
          ...base,
          command,
          text: "list",
          channel_id: "C0CHANNEL1",
          response_url: "https://x.invalid/1",
          trigger_id: "1.2.3",
        },
        ack: async () => void acks.push(command),
      });
    }
    await app.processEvent({
      body: {
        type: "event_callback",
        team_id: "T0TEAM",
        api_app_id: "A0APP",
        event: { type: "app_home_opened", user: "U0ANN0001", channel: "D0DM", tab: "home", event_ts: "1.2" },
      },
      ack: async () => {},
    });
    // A closed modal is not a submission: a view route does not take it, as Bolt's app.view does not.
    router.view("the_form", async () => void ran.push("view"));
    await app.processEvent({
      body: {
        type: "view_closed",
        team: { id: "T0TEAM" },
        user: { id: "U0ANN0001" },
        api_app_id: "A0APP",
        view: { id: "V1", type: "modal", callback_id: "the_form", state: { values: {} } },
        is_cleared: false,
      },
      ack: async () => {},
    });
    expect(ran).toEqual(["command:list", "event:app_home_opened"]);
    // "/other" has no route: nothing acks it.
    expect(acks).toEqual(["/alerts"]);
  });

  it("hands the real snooze control's click to the snooze handler", async () => {
    const f = fixture([makeAlert()]);
    const app = boltApp();
    listenerRouter(f.deps).attach(app, failOnError);
    let acked = false;
    await app.processEvent({
      body: {
        ...blockAction(ACTION_NOTIFY_SNOOZE, {
          type: "static_select",
          block_id: controlsBlockId("0192c0de-7a1b-7c3e-9d2f-0000000000ff"),
          selected_option: { value: "no-such-preset", text: { type: "plain_text", text: "?" } },
        }),
        response_url: "https://hooks.slack.invalid/actions/1",
      },
      ack: async () => {
        acked = true;
      },
    });
    expect(acked).toBe(true);
    // An unknown preset is refused with one sentence through the response URL.
    await waitFor(() => f.responder.sent.length > 0);
    expect(f.responder.sent.map((s) => s.message.text)).toEqual([
      "That button is no longer valid. Run the command again.",
    ]);
  });

  it("lets Bolt finish once an action is acked, while its work goes on, and reports a late failure", async () => {
    const router = new ListenerRouter();
    let release: () => void = () => {};
    const pending = new Promise<void>((resolve) => {
      release = resolve;
    });
    let finished = false;
    router.action("slow", async ({ ack }) => {
      await ack();
      await pending;
      finished = true;
      throw new Error("PostHog went away");
    });
    const errors: unknown[] = [];
    const app = boltApp();
    router.attach(app, (error) => errors.push(error));
    let acked = false;
    await app.processEvent({
      body: blockAction("slow"),
      ack: async () => {
        acked = true;
      },
    });
    // Bolt is done with the request (its context can go) while the handler still waits.
    expect(acked).toBe(true);
    expect(finished).toBe(false);
    release();
    await waitFor(() => errors.length > 0);
    expect(finished).toBe(true);
    expect((errors[0] as Error).message).toBe("PostHog went away");
  });
});
