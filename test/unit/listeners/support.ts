import type { Logger } from "pino";
import { AlertService, type AlertsApi } from "../../../src/alerts/service.js";
import { WritePolicy } from "../../../src/auth/policy.js";
import type { ListenerDeps, NotificationsPort } from "../../../src/listeners/deps.js";
import { createLogger } from "../../../src/log.js";
import type { Alert, AlertPatch, Insight } from "../../../src/posthog/schemas.js";
import type { SlackDirectory } from "../../../src/slack/directory.js";
import type { ResponderPort, ResponseMessage } from "../../../src/slack/respond.js";

/** What happened, in order: the tests check that acks come first and that work yields in between. */
export type Events = string[];

/** Schedules a marker for the next turn of the event loop: it lands before anything that waited for a yield. */
export function markNextTurn(events: Events, label: string): void {
  setImmediate(() => events.push(label));
}

export interface FakeApi {
  api: AlertsApi;
  listCalls: number;
  insightCalls: number;
  patches: Array<{ id: string; patch: AlertPatch }>;
  /** Called inside each PostHog call, before it answers. */
  onCall: (method: string) => void;
  /** Makes the next write fail with this error. */
  failNextWrite: Error | null;
  /** Lists return the same alert objects each time (the real client parses new ones). */
  sameObjects: boolean;
}

export function fakeApi(alerts: Alert[]): FakeApi {
  const state: FakeApi = {
    listCalls: 0,
    insightCalls: 0,
    patches: [],
    onCall: () => {},
    failNextWrite: null,
    sameObjects: false,
    api: null as unknown as AlertsApi,
  };
  const api: Partial<AlertsApi> = {
    async listAllAlerts() {
      state.listCalls += 1;
      state.onCall("listAllAlerts");
      return state.sameObjects ? [...alerts] : alerts.map((a) => ({ ...a }));
    },
    async getAlert(id) {
      state.onCall("getAlert");
      const alert = alerts.find((a) => a.id === id);
      if (!alert) throw Object.assign(new Error("not found"), { code: "not_found" });
      return alert;
    },
    async getInsight(id) {
      state.insightCalls += 1;
      state.onCall("getInsight");
      return { id: Number(id), name: `Daily signups ${id}`, short_id: `s${id}` } as unknown as Insight;
    },
    async updateAlert(id, patch) {
      state.onCall("updateAlert");
      if (state.failNextWrite) {
        const error = state.failNextWrite;
        state.failNextWrite = null;
        throw error;
      }
      state.patches.push({ id, patch });
      const alert = alerts.find((a) => a.id === id);
      return { ...(alert as Alert), ...(patch as Partial<Alert>) };
    },
    // As the client does it: a read, then the PATCH unless a longer snooze is kept.
    async snoozeAlert(id, until, options = {}) {
      const current = await (api.getAlert as AlertsApi["getAlert"])(id);
      const previousUntil = current.snoozed_until;
      const longerBy = previousUntil ? Date.parse(previousUntil) - Date.parse(until) : Number.NaN;
      if (options.keepLongerByMs !== undefined && longerBy > options.keepLongerByMs)
        return { sent: false, alert: current, previousUntil };
      const alert = await (api.updateAlert as AlertsApi["updateAlert"])(id, { snoozed_until: until });
      return { sent: true, alert, previousUntil };
    },
    // As the client does it: a read, then the PATCH only while a snooze is in force.
    async unsnoozeAlert(id) {
      const current = await (api.getAlert as AlertsApi["getAlert"])(id);
      if (!current.snoozed_until || Date.parse(current.snoozed_until) <= Date.now())
        return { sent: false, alert: current };
      return {
        sent: true,
        alert: await (api.updateAlert as AlertsApi["updateAlert"])(id, { snoozed_until: null }),
      };
    },
    async listMembers() {
      return [];
    },
  };
  state.api = api as AlertsApi;
  return state;
}

export interface FakeResponder extends ResponderPort {
  sent: Array<{ url: string | undefined; message: ResponseMessage }>;
  /** Makes every send fail with this error. */
  failWith: Error | null;
}

export function fakeResponder(events: Events): FakeResponder {
  const responder: FakeResponder = {
    sent: [],
    failWith: null,
    async send(url, message) {
      events.push("reply");
      responder.sent.push({ url, message });
      if (responder.failWith) throw responder.failWith;
    },
  };
  return responder;
}

const directory: SlackDirectory = {
  async user(id) {
    return {
      id,
      tz: "Europe/Berlin",
      email: `${id.toLowerCase()}@example.com`,
      isBot: false,
      deleted: false,
    };
  },
  async userGroupMembers() {
    return [];
  },
};

export interface Fixture {
  deps: ListenerDeps;
  api: FakeApi;
  responder: FakeResponder;
  events: Events;
  logs: string[];
  changes: Array<{ verb: string; alertId: string; origin?: { channel: string; ts: string } }>;
  /** Makes the notification side fail to record changes (its database write), with this error. */
  failChanges: Error | null;
  /** alertChanged says the clicked message is an earlier one, which nothing redraws. */
  earlierMessage: boolean;
}

export function fixture(alerts: Alert[]): Fixture {
  const events: Events = [];
  const logs: string[] = [];
  const api = fakeApi(alerts);
  const responder = fakeResponder(events);
  const changes: Fixture["changes"] = [];
  const f = { failChanges: null, earlierMessage: false } as Fixture;
  const notifications: NotificationsPort = {
    async alertChanged(_alert, action, origin) {
      events.push("alertChanged");
      if (f.failChanges) throw f.failChanges;
      changes.push({ verb: action.verb, alertId: action.alertId, ...(origin ? { origin } : {}) });
      return !f.earlierMessage;
    },
  };
  const logger: Logger = createLogger({ level: "debug", secrets: [], out: { write: (l) => logs.push(l) } });
  const deps: ListenerDeps = {
    alerts: new AlertService(api.api, () => 0),
    policy: new WritePolicy(
      { mode: "everyone" },
      directory,
      async () => [],
      () => 0,
    ),
    directory,
    links: { host: "https://us.posthog.com", projectId: "4242" },
    logger,
    now: () => new Date("2026-03-02T10:00:00Z"),
    responder,
    notifications,
  };
  return Object.assign(f, { deps, api, responder, events, logs, changes });
}
