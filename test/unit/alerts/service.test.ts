import { describe, expect, it } from "vitest";
import { resolutionText } from "../../../src/alerts/messages.js";
import { AlertService, type AlertsApi } from "../../../src/alerts/service.js";
import type { Alert } from "../../../src/posthog/schemas.js";
import { makeAlert } from "../../fixtures/alerts.js";

function api(lists: Alert[][]) {
  let calls = 0;
  let release: (() => void) | null = null;
  const fake = {
    get calls() {
      return calls;
    },
    hold() {
      return new Promise<void>((resolve) => {
        release = resolve;
      });
    },
    release: () => release?.(),
    gate: null as Promise<void> | null,
    async listAllAlerts() {
      const list = lists[Math.min(calls, lists.length - 1)] as Alert[];
      calls += 1;
      if (fake.gate) await fake.gate;
      return list;
    },
  };
  return fake;
}

describe("AlertService.listAll", () => {
  it("serves the cache, then answers from the old list while one refresh runs", async () => {
    const first = [makeAlert({ name: "old" })];
    const second = [makeAlert({ name: "new" })];
    const fake = api([first, second]);
    let now = 0;
    const service = new AlertService(fake as unknown as AlertsApi, () => now, 1000);
    expect(await service.listAll()).toBe(first);
    now = 500;
    expect(await service.listAll()).toBe(first);
    expect(fake.calls).toBe(1);

    now = 1500;
    fake.gate = fake.hold();
    // Expired: answered at once from the old list, with one refresh in the background.
    expect(await service.listAll()).toBe(first);
    expect(await service.listAll()).toBe(first);
    expect(fake.calls).toBe(2);
    fake.release();
    fake.gate = null;
    await new Promise((r) => setImmediate(r));
    expect(await service.listAll()).toBe(second);
  });

  it("stops answering from a list PostHog has failed to refresh for five minutes", async () => {
    const first = [makeAlert({ name: "old" })];
    let failing = false;
    let calls = 0;
    const flaky = {
      async listAllAlerts() {
        calls += 1;
        if (failing) throw new Error("PostHog is down");
        return first;
      },
    };
    let now = 0;
    const service = new AlertService(flaky as unknown as AlertsApi, () => now, 1000, 300_000);
    await service.listAll();
    failing = true;
    now = 299_000;
    // Old but young enough: answered while the refresh (which fails) runs.
    expect(await service.listAll()).toBe(first);
    expect(service.listNow()).toBe(first);
    await new Promise((r) => setImmediate(r));
    now = 301_000;
    expect(service.listNow()).toBeNull();
    const before = calls;
    await expect(service.listAll()).rejects.toThrow("PostHog is down");
    expect(calls).toBe(before + 1);
    failing = false;
    expect(await service.listAll()).toBe(first);
    expect(service.listNow()).toBe(first);
  });

  it("never serves a list from before a write", async () => {
    const fake = api([[makeAlert({ name: "before" })], [makeAlert({ name: "after" })]]);
    const service = new AlertService(fake as unknown as AlertsApi, () => 0, 1000);
    await service.listAll();
    service.invalidate();
    expect((await service.listAll())[0]?.name).toBe("after");
  });

  it("applies a confirmed update or delete to the cached list without reading PostHog again", async () => {
    const [a, b, c] = [makeAlert({ name: "a" }), makeAlert({ name: "b" }), makeAlert({ name: "c" })];
    const fake = api([[a, b, c]]);
    const writes = Object.assign(fake, {
      updateAlert: async (id: string) => ({ ...(id === b.id ? b : a), name: "b snoozed" }),
      deleteAlert: async () => undefined,
    });
    const service = new AlertService(writes as unknown as AlertsApi, () => 0, 1000);
    await service.listAll();

    const updated = await service.update(b.id, { snoozed_until: "2026-11-29T10:00:00Z" });
    expect(updated.name).toBe("b snoozed");
    expect((await service.listAll()).map((x) => x.name)).toEqual(["a", "b snoozed", "c"]);
    await service.delete(a.id);
    expect((await service.listAll()).map((x) => x.name)).toEqual(["b snoozed", "c"]);
    expect(fake.calls).toBe(1);
  });

  it("reads the list again after a failed write, and after a write that met a read in flight", async () => {
    const first = [makeAlert({ name: "first" })];
    const fake = api([first, [makeAlert({ name: "second" })], [makeAlert({ name: "third" })]]);
    const writes = Object.assign(fake, {
      updateAlert: async () => {
        throw Object.assign(new Error("PostHog is unavailable"), { code: "unavailable" });
      },
      deleteAlert: async () => undefined,
    });
    const service = new AlertService(writes as unknown as AlertsApi, () => 0, 1000);
    await service.listAll();
    await expect(service.update(first[0]?.id as string, { enabled: false })).rejects.toThrow("unavailable");
    expect((await service.listAll())[0]?.name).toBe("second");

    service.invalidate();
    fake.gate = fake.hold();
    const inFlight = service.listAll();
    await service.delete("some-id");
    fake.release();
    fake.gate = null;
    await inFlight;
    // The read began before the delete, so its answer may not show it: the next command reads again.
    expect((await service.listAll())[0]?.name).toBe("third");
  });

  it("listNow answers only without a PostHog call: null when cold, the list when cached or expired", async () => {
    const first = [makeAlert({ name: "first" })];
    const fake = api([first, [makeAlert({ name: "second" })]]);
    let now = 0;
    const service = new AlertService(fake as unknown as AlertsApi, () => now, 1000);
    expect(service.listNow()).toBeNull();
    expect(fake.calls).toBe(0);
    await service.listAll();
    expect(service.listNow()).toBe(first);
    now = 1500;
    // Expired: the last list at once, and one refresh in the background.
    expect(service.listNow()).toBe(first);
    expect(fake.calls).toBe(2);
    await new Promise((r) => setImmediate(r));
    expect(service.listNow()?.[0]?.name).toBe("second");
    service.invalidate();
    expect(service.listNow()).toBeNull();
  });
});

describe("AlertService insight names", () => {
  function insightApi() {
    const fake = {
      lookups: [] as number[],
      failing: false,
      async getInsight(id: number) {
        fake.lookups.push(id);
        if (fake.failing) throw new Error("PostHog is down");
        return { id, name: `Insight ${id} name`, derived_name: null, short_id: `s${id}` };
      },
    };
    return fake;
  }

  it("names alerts without a lookup only when every insight was looked up already", async () => {
    const fake = insightApi();
    let now = 0;
    const service = new AlertService(fake as unknown as AlertsApi, () => now);
    const a = makeAlert({ insight: 1 });
    const b = makeAlert({ insight: 2 });
    const named = makeAlert({ insight: { id: 3, name: "Given", short_id: "g3" } });

    expect(service.withKnownInsightNames([a])).toBeNull();
    expect(service.withKnownInsightNames([named])).toEqual([named]);
    await service.withInsightNames([a]);
    expect(fake.lookups).toEqual([1]);

    // A copy of `a` (as a write returns it) is named from the earlier lookup; `b` is not known yet.
    const copy = { ...a, name: "renamed" };
    expect(service.withKnownInsightNames([copy])).toEqual([
      { ...copy, insight_name: "Insight 1 name", insight_short_id: "s1" },
    ]);
    expect(service.withKnownInsightNames([copy, b])).toBeNull();

    // After ten minutes the lookup no longer counts.
    now = 10 * 60_000 + 1;
    expect(service.withKnownInsightNames([copy])).toBeNull();
    expect(fake.lookups).toEqual([1]);
  });

  it("gives the notification side an alert with its insight's name, and the poller's list as it is", async () => {
    const fake = insightApi() as ReturnType<typeof insightApi> & {
      getAlert(id: string): Promise<Alert>;
      listAllAlerts(): Promise<Alert[]>;
    };
    const bare = makeAlert({ insight: 4821 });
    fake.getAlert = async () => bare;
    fake.listAllAlerts = async () => [bare];
    const source = new AlertService(fake as unknown as AlertsApi, () => 0).notificationSource();
    expect(await source.getAlert(bare.id)).toMatchObject({
      insight: 4821,
      insight_name: "Insight 4821 name",
      insight_short_id: "s4821",
    });
    expect(await source.listAllAlerts()).toEqual([bare]);
    expect(fake.lookups).toEqual([4821]);
    // PostHog cannot say: the alert still comes, unnamed, and the message goes out without the line.
    fake.failing = true;
    const other = makeAlert({ insight: 99 });
    fake.getAlert = async () => other;
    expect((await source.getAlert(other.id)).insight_name).toBeNull();
  });

  it("waits for a name only briefly, and the lookup still names the alert's later reads", async () => {
    const fake = insightApi() as ReturnType<typeof insightApi> & { getAlert(id: string): Promise<Alert> };
    const slowInsight = fake.getInsight;
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    fake.getInsight = async (id: number) => {
      await held;
      return slowInsight(id);
    };
    const alert = makeAlert({ insight: 5 });
    fake.getAlert = async () => alert;
    const source = new AlertService(fake as unknown as AlertsApi, () => 0).notificationSource(20);
    expect((await source.getAlert(alert.id)).insight_name).toBeNull();
    release();
    await held;
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect((await source.getAlert(alert.id)).insight_name).toBe("Insight 5 name");
    expect(fake.lookups).toEqual([5]);
  });

  it("tries a failed lookup again after half a minute, and never names from a failure", async () => {
    const fake = insightApi();
    let now = 0;
    const service = new AlertService(fake as unknown as AlertsApi, () => now);
    const a = makeAlert({ insight: 7 });
    fake.failing = true;
    expect((await service.withInsightNames([a]))[0]?.insight_name).toBeNull();
    expect(service.withKnownInsightNames([a])).toBeNull();
    fake.failing = false;
    now = 20_000;
    await service.withInsightNames([a]);
    expect(fake.lookups).toEqual([7]);
    now = 30_001;
    expect((await service.withInsightNames([a]))[0]?.insight_name).toBe("Insight 7 name");
    expect(fake.lookups).toEqual([7, 7]);
    expect(service.withKnownInsightNames([a])?.[0]?.insight_name).toBe("Insight 7 name");
  });
});

describe("AlertService.resolveCached", () => {
  const signups = makeAlert({ name: "Signups dropped" });
  const errorsA = makeAlert({ name: "Errors spiking (web)" });
  const errorsB = makeAlert({ name: "Errors spiking (api)" });

  it("needs PostHog until a list is in hand, and for ids, and for names the list does not know", async () => {
    const fake = api([[signups, errorsA, errorsB]]);
    const service = new AlertService(fake as unknown as AlertsApi, () => 0, 1000);
    expect(service.resolveCached("Signups dropped")).toBeNull();
    await service.listAll();
    expect(service.resolveCached(signups.id)).toBeNull();
    // Created since the list was read, perhaps: only PostHog can say.
    expect(service.resolveCached("Checkout errors")).toBeNull();
    expect(fake.calls).toBe(1);
  });

  it("settles a name the cached list knows, or finds several, without a PostHog call", async () => {
    const fake = api([[signups, errorsA, errorsB]]);
    const service = new AlertService(fake as unknown as AlertsApi, () => 0, 1000);
    await service.listAll();
    expect(service.resolveCached("signups")).toEqual({ ok: true, alert: signups });
    expect(service.resolveCached("errors spiking")).toMatchObject({
      ok: false,
      reason: "ambiguous",
      candidates: [errorsA, errorsB],
    });
    expect(fake.calls).toBe(1);
  });
});

describe("resolutionText", () => {
  it("keeps the longest list of candidates within a section's 3,000 characters, ending with how many more", () => {
    const candidates = Array.from({ length: 40 }, (_, i) =>
      makeAlert({ name: `${"Signups ".repeat(30)}${i}` }),
    );
    const text = resolutionText(
      { ok: false, reason: "ambiguous", ref: "s".repeat(100), candidates },
      "/alerts",
    );
    expect(text.length).toBeLessThanOrEqual(3000);
    expect(text).toMatch(/…and 28 more\.$/);
    for (const alert of candidates.slice(0, 12)) expect(text).toContain(`\`${alert.id}\``);
  });
});
