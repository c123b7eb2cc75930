import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from "@slack/bolt";
import { describe, expect, it } from "vitest";
import { AlertService } from "../../../src/alerts/service.js";
import { commandListener, immediateAnswer, listMessage } from "../../../src/listeners/commands.js";
import { JSON_ACK_CONTEXT_KEY } from "../../../src/slack/json-ack.js";
import { ResponseUrlError } from "../../../src/slack/respond.js";
import { makeAlert } from "../../fixtures/alerts.js";
import { type Fixture, fixture, markNextTurn } from "./support.js";

const RESPONSE_URL = "https://hooks.slack.invalid/commands/T1/1/abc";

/** What the listener acked with, and the context marker's calls (the HTTP receiver's JSON mark). */
interface Acked {
  bodies: unknown[];
  marked: number;
}

/**
 * Runs `/alerts <text>` through the listener as Bolt would, recording the ack in the event order.
 * With `acked`, the context carries the HTTP receiver's JSON marker and the ack bodies are kept.
 */
async function run(f: Fixture, text: string, acked?: Acked, channelId = "C0CHANNEL1") {
  const args = {
    command: {
      command: "/alerts",
      text,
      user_id: "U0ANN0001",
      channel_id: channelId,
      trigger_id: "1.2.3",
      response_url: RESPONSE_URL,
    },
    ack: async (body?: unknown) => {
      f.events.push("ack");
      acked?.bodies.push(body);
      // Another request's work that became ready meanwhile: it must not wait for this command's.
      markNextTurn(f.events, "next turn after the ack");
    },
    client: {},
    context: acked
      ? {
          [JSON_ACK_CONTEXT_KEY]: () => {
            // Marked before the ack goes out, or the header would come too late.
            expect(acked.bodies).toHaveLength(acked.marked);
            acked.marked += 1;
          },
        }
      : {},
  } as unknown as SlackCommandMiddlewareArgs & AllMiddlewareArgs;
  await commandListener(f.deps)(args);
}

const alerts = () => [
  makeAlert({ name: "Signups dropped", state: "Firing" }),
  makeAlert({ name: "Checkout errors" }),
  makeAlert({ name: "Weekly actives", enabled: false }),
];

describe("the /alerts command listener", () => {
  it("acks first, lets the next turn of the event loop run, and answers through the responder", async () => {
    const f = fixture(alerts());
    await run(f, "list");
    expect(f.events[0]).toBe("ack");
    expect(f.events.indexOf("next turn after the ack")).toBeLessThan(f.events.indexOf("reply"));
    expect(f.responder.sent).toHaveLength(1);
    const [sent] = f.responder.sent;
    expect(sent?.url).toBe(RESPONSE_URL);
    expect(sent?.message.response_type).toBe("ephemeral");
    expect(sent?.message.replace_original).toBe(false);
    expect(sent?.message.text).toMatch(/^3 alerts/);
  });

  it("builds the answer and posts it in different turns of the event loop", async () => {
    const f = fixture(alerts());
    // Marks a turn from inside the PostHog call, i.e. while the answer is being built.
    f.api.onCall = (method) => {
      if (method === "listAllAlerts") markNextTurn(f.events, "turn while building");
    };
    await run(f, "list");
    expect(f.events.indexOf("turn while building")).toBeGreaterThan(-1);
    expect(f.events.indexOf("turn while building")).toBeLessThan(f.events.indexOf("reply"));
  });

  it("logs a response URL that Slack refuses, tries once more with one sentence, and logs that too", async () => {
    const f = fixture(alerts());
    f.responder.failWith = new ResponseUrlError(
      "response_url_refused",
      "Slack refused the response_url post: HTTP 404 used_url",
      404,
      "used_url",
    );
    await run(f, "list");
    expect(f.responder.sent).toHaveLength(2);
    expect(f.responder.sent[1]?.message.text).toMatch(/Something went wrong/);
    const failed = f.logs
      .map((l) => JSON.parse(l))
      .filter((l) => /command failed|could not answer/.test(l.msg));
    expect(failed.map((l) => l.msg)).toEqual(["command failed", "could not answer through response_url"]);
    expect(failed[0]).toMatchObject({
      code: "response_url_refused",
      err: expect.stringContaining("used_url"),
    });
  });
});

describe("a write from the command line", () => {
  it("says what PostHog confirmed even when the notification side cannot record it", async () => {
    const f = fixture(alerts());
    f.failChanges = new Error("database is locked");
    await run(f, "disable Signups dropped");
    expect(f.api.patches).toHaveLength(1);
    expect(f.responder.sent.map((s) => s.message.text)).toEqual([
      expect.stringMatching(/disabled \*Signups dropped\*/),
    ]);
    expect(f.logs.some((l) => l.includes("could not record the change"))).toBe(true);
  });
});

describe("/alerts snooze with a name that ends like a time", () => {
  const said = (f: Fixture) => f.responder.sent.map((s) => s.message.text ?? "");
  const hours = (patch: { snoozed_until?: string | null } | undefined) =>
    (new Date(patch?.snoozed_until ?? 0).getTime() - Date.UTC(2026, 2, 2, 10)) / 3_600_000;

  it("reads the name an alert has: “Signups 7d” for 1h, not “Signups” for 7d 1h", async () => {
    const f = fixture([makeAlert({ name: "Signups 7d" }), makeAlert({ name: "Checkout errors" })]);
    await run(f, "snooze Signups 7d 1h");
    expect(f.api.patches).toHaveLength(1);
    expect(hours(f.api.patches[0]?.patch)).toBe(1);
  });

  it("reads the longest time when only the shorter name is an alert", async () => {
    const f = fixture([makeAlert({ name: "Signups" })]);
    await run(f, "snooze Signups 7d 1h");
    expect(hours(f.api.patches[0]?.patch)).toBe(7 * 24 + 1);
  });

  it("asks which is meant, and changes nothing, when both readings name an alert", async () => {
    const f = fixture([makeAlert({ name: "Signups" }), makeAlert({ name: "signups 7d" })]);
    await run(f, "snooze Signups 7d 1h");
    expect(f.api.patches).toEqual([]);
    expect(said(f)).toEqual([
      "“Signups” and “Signups 7d” are both alerts, so I can't tell where the name ends. Say which: " +
        '`/alerts snooze "Signups" 7d 1h` or `/alerts snooze "Signups 7d" 1h`.',
    ]);
    await run(f, 'snooze "Signups 7d" 1h');
    expect(hours(f.api.patches[0]?.patch)).toBe(1);
  });
});

describe("/alerts snooze with a name that ends like a time, and awkward names", () => {
  it("names an alert by its id when its name cannot be quoted as it is, and escapes both names", async () => {
    const odd = makeAlert({ name: 'Say "hi" <!channel>' });
    const f = fixture([odd, makeAlert({ name: 'Say "hi" <!channel> 7d' })]);
    await run(f, 'snooze Say "hi" <!channel> 7d 1h');
    expect(f.api.patches).toEqual([]);
    const text = f.responder.sent.map((s) => s.message.text ?? "").join("");
    expect(text).not.toContain("<!channel>");
    expect(text).toContain(`\`/alerts snooze ${odd.id} 7d 1h\``);
  });

  it("reads an alert id without reading the list", async () => {
    const all = alerts();
    const f = fixture(all);
    await run(f, `snooze ${all[0]!.id} 1d 2h`);
    expect(f.api.patches).toEqual([{ id: all[0]!.id, patch: { snoozed_until: expect.any(String) } }]);
    expect(f.api.listCalls).toBe(0);
  });
});

describe("/alerts snooze and the user's time zone", () => {
  const noTimeZone = (f: Fixture) => {
    f.deps.directory = {
      ...f.deps.directory,
      user: async (id) => ({ id, tz: null, email: "ann@example.com", isBot: false, deleted: false }),
    };
  };
  const said = (f: Fixture) => f.responder.sent.map((s) => s.message.text ?? "");

  it("says a clock time was read in UTC when Slack did not say the person's time zone", async () => {
    const f = fixture(alerts());
    noTimeZone(f);
    await run(f, "snooze Signups dropped until 17:00");
    // now is 2026-03-02 10:00 UTC
    expect(f.api.patches).toEqual([
      { id: expect.any(String), patch: { snoozed_until: "2026-03-02T17:00:00.000Z" } },
    ]);
    expect(said(f)).toEqual([
      expect.stringMatching(/snoozed .* The time was read in UTC: Slack did not say your time zone\.$/),
    ]);
  });

  it("says nothing of time zones for a duration, or when Slack said one", async () => {
    const f = fixture(alerts());
    noTimeZone(f);
    await run(f, "snooze Signups dropped 2h");
    const g = fixture(alerts());
    await run(g, "snooze Signups dropped until 17:00");
    expect(g.api.patches[0]?.patch).toEqual({ snoozed_until: "2026-03-02T16:00:00.000Z" });
    expect([...said(f), ...said(g)].join(" ")).not.toMatch(/read in UTC/);
  });
});

describe("/alerts watch", () => {
  it("says notifications go to channels when run in a direct message, and saves no route", async () => {
    const f = fixture(alerts());
    const added: string[] = [];
    f.deps.routes = {
      add: (_a, channel) => {
        added.push(channel);
        return true;
      },
      remove: () => false,
      forChannel: () => [],
    };
    await run(f, "watch Signups dropped", undefined, "D0DIRECT01");
    expect(added).toEqual([]);
    expect(f.responder.sent.map((s) => s.message.text)).toEqual([
      expect.stringMatching(/^Notifications go to channels/),
    ]);
    await run(f, "watch Signups dropped");
    expect(added).toEqual(["C0CHANNEL1"]);
  });
});

describe("answers in the ack", () => {
  /** A fixture whose list is cached and whose rows' insight names are known, so lists need no I/O. */
  async function warm() {
    const f = fixture(alerts());
    await listMessage(f.deps, { filter: "all", words: "", offset: 0 }, "/alerts", false);
    return f;
  }

  it("sends a cached list as JSON text, marked as JSON before the ack, and posts nothing else", async () => {
    const f = await warm();
    const acked: Acked = { bodies: [], marked: 0 };
    await run(f, "list", acked);
    expect(acked.marked).toBe(1);
    const [body] = acked.bodies;
    expect(typeof body).toBe("string");
    const parsed = JSON.parse(body as string);
    expect(parsed.response_type).toBe("ephemeral");
    expect(parsed.text).toMatch(/^3 alerts/);
    expect(parsed.blocks).toHaveLength(5);
    expect(f.responder.sent).toHaveLength(0);
  });

  it("acks with the object itself where there is no HTTP response to mark (Socket Mode)", async () => {
    const f = await warm();
    const acked: Acked = { bodies: [], marked: 0 };
    await commandListener(f.deps)({
      command: { command: "/alerts", text: "help", user_id: "U0ANN0001", response_url: RESPONSE_URL },
      ack: async (body?: unknown) => void acked.bodies.push(body),
      client: {},
      context: {},
    } as unknown as SlackCommandMiddlewareArgs & AllMiddlewareArgs);
    const [body] = acked.bodies as Array<{ response_type: string; text: string }>;
    expect(body?.response_type).toBe("ephemeral");
    expect(body?.text).toMatch(/alerts/);
  });

  it("serializes a page once per cached list and query, and never serves one from an older list", async () => {
    const f = await warm();
    const first = immediateAnswer(f.deps, "list", "/alerts");
    expect(first).not.toBeNull();
    expect(immediateAnswer(f.deps, "list", "/alerts")).toBe(first);
    expect(JSON.parse(first?.json ?? "")).toEqual(first?.body);

    // Other queries and other command names are other answers.
    const firing = immediateAnswer(f.deps, "list firing", "/alerts");
    expect(firing).not.toBe(first);
    expect(firing?.body.text).toMatch(/^1 firing alert/);
    expect(immediateAnswer(f.deps, "list", "/alerts-staging")?.json).toContain("/alerts-staging show");

    // A write changes the cached list, and the next answer shows the change. The changed row is a
    // new alert object from PostHog, named from the insight looked up before: still no I/O.
    const signups = f.deps.alerts.listNow()?.[0];
    await f.deps.alerts.update(signups?.id ?? "", { enabled: false });
    const lookups = f.api.insightCalls;
    const after = immediateAnswer(f.deps, "list", "/alerts");
    expect(f.api.insightCalls).toBe(lookups);
    expect(after).not.toBeNull();
    expect(after?.json).toMatch(/Disabled {2}\*Signups dropped/);
    expect(first?.json).toMatch(/Firing {2}\*Signups dropped/);
  });

  it("leaves a page whose insight names were never looked up to the response URL", async () => {
    const f = fixture(alerts());
    await f.deps.alerts.listAll();
    expect(f.deps.alerts.listNow()).not.toBeNull();
    expect(immediateAnswer(f.deps, "list", "/alerts")).toBeNull();
    expect(f.api.insightCalls).toBe(0);
  });

  it("keeps answers for the latest queries only", async () => {
    const f = await warm();
    const first = immediateAnswer(f.deps, "list", "/alerts");
    for (let i = 0; i < 16; i++) immediateAnswer(f.deps, `list all word${i}`, "/alerts");
    const again = immediateAnswer(f.deps, "list", "/alerts");
    expect(again).not.toBe(first);
    expect(again?.json).toBe(first?.json);
  });
});

describe("listMessage", () => {
  const query = { filter: "all" as const, words: "", offset: 0 };

  it("looks insight names up once, and shows the same rows again while the list is the same", async () => {
    const f = fixture(alerts());
    const first = await listMessage(f.deps, query, "/alerts", false);
    const second = await listMessage(f.deps, query, "/alerts", false);
    expect(f.api.listCalls).toBe(1);
    // The three alerts share one insight: one lookup, and none the second time.
    expect(f.api.insightCalls).toBe(1);
    expect(JSON.stringify(first.blocks)).toContain("Daily signups 4821");
    expect(second).toEqual(first);
    // The rows are the very same (frozen) objects: rendered once.
    expect(second.blocks[1]).toBe(first.blocks[1]);
    expect(Object.isFrozen(first.blocks[1])).toBe(true);
  });

  it("renders rows anew for a fresh list", async () => {
    const f = fixture(alerts());
    const first = await listMessage(f.deps, query, "/alerts", false);
    const fresh = await listMessage(f.deps, query, "/alerts", true);
    expect(f.api.listCalls).toBe(2);
    expect(fresh.blocks[1]).not.toBe(first.blocks[1]);
    expect(fresh).toEqual(first);
  });

  it("does not keep an alert without its name after a failed lookup", async () => {
    const f = fixture(alerts());
    f.api.sameObjects = true;
    const working = f.deps.alerts.api.getInsight;
    f.deps.alerts.api.getInsight = async () => {
      throw new Error("PostHog is down");
    };
    const unnamed = await listMessage(f.deps, query, "/alerts", false);
    expect(JSON.stringify(unnamed.blocks)).not.toContain("Daily signups 4821");
    // The same alert objects again, through a service whose lookups work: the names come.
    f.deps.alerts.api.getInsight = working;
    const deps = { ...f.deps, alerts: new AlertService(f.deps.alerts.api, () => 0) };
    const named = await listMessage(deps, query, "/alerts", false);
    expect(JSON.stringify(named.blocks)).toContain("Daily signups 4821");
  });
});
