import { describe, expect, it } from "vitest";
import { conditionWords, formatNumber } from "../../../src/alerts/describe.js";
import { buildAlertDetail, sparkline } from "../../../src/blocks/alert-detail.js";
import { alertRow, buildAlertList, filterAlerts, LIST_PAGE_SIZE } from "../../../src/blocks/alert-list.js";
import { buildHelp, COMMAND_ALIASES } from "../../../src/blocks/help.js";
import { parseCommand } from "../../../src/commands/parse.js";
import type { Alert } from "../../../src/posthog/schemas.js";
import { listPageCodec, rowMenuCodec } from "../../../src/slack/codecs.js";
import { HOSTILE_NAMES, makeAlert } from "../../fixtures/alerts.js";
import { blockKitProblems, expectValidMessage } from "../../support/block-kit.js";
import { unsafeMrkdwn } from "../../support/mrkdwn-safety.js";

const links = { host: "https://us.posthog.com", projectId: "4242" };

function manyAlerts(n: number) {
  return Array.from({ length: n }, (_, i) =>
    makeAlert({
      name: `Alert number ${i}`,
      state: i % 3 === 0 ? "Firing" : i % 3 === 1 ? "Snoozed" : "Not firing",
      snoozed_until: i % 3 === 1 ? "2030-01-01T00:00:00Z" : null,
      enabled: i % 7 !== 0,
    }),
  );
}

describe("a list row's menu", () => {
  const options = (alert: Alert) =>
    (alertRow(links, alert) as { accessory: { options: Array<{ value: string }> } }).accessory.options.map(
      (o) => rowMenuCodec.decode(o.value)?.v,
    );

  it("ends a snoozed alert's snooze where others offer one, within an overflow menu's five options", () => {
    expect(options(makeAlert({ snoozed_until: null }))).toEqual([
      "edit",
      "snooze",
      "disable",
      "delete",
      "show",
    ]);
    expect(options(makeAlert({ state: "Snoozed", snoozed_until: "2030-01-01T00:00:00Z" }))).toEqual([
      "edit",
      "unsnooze",
      "disable",
      "delete",
      "show",
    ]);
  });

  it("says an alert not yet checked has no value, without a dangling “last”", () => {
    const text = JSON.stringify(alertRow(links, makeAlert({ last_value: null })));
    expect(text).toContain("no value yet");
    expect(text).not.toContain("last no value");
  });
});

describe("conditionWords", () => {
  const withCondition = (type: string, thresholdType: string, lower: number | null, upper: number | null) =>
    makeAlert({
      condition: { type },
      threshold: { configuration: { type: thresholdType, bounds: { lower, upper } } },
    });

  it.each([
    ["absolute_value", "absolute", 100, null, "below 100"],
    ["absolute_value", "absolute", 1, 5000, "above 5,000 or below 1"],
    ["relative_increase", "percentage", null, 0.2, "up by more than 20%"],
    ["relative_decrease", "absolute", null, 50, "down by more than 50"],
    ["relative_decrease", "percentage", 0.105, null, "down by less than 10.5%"],
    ["absolute_value", "absolute", null, null, "no threshold set"],
  ])("%s %s %s %s → %s", (type, thresholdType, lower, upper, words) => {
    expect(conditionWords(withCondition(type, thresholdType, lower, upper))).toBe(words);
  });

  it("formats floating-point noise away", () => {
    expect(formatNumber(0.1 + 0.2)).toBe("0.3");
    expect(formatNumber(1234567.5)).toBe("1,234,567.5");
  });
});

describe("buildAlertList", () => {
  it("names every alert of a one-page list in its fallback text, without a page range", () => {
    const alerts = manyAlerts(3);
    const message = buildAlertList(links, alerts, { filter: "all", words: "", offset: 0 });
    expect(message.text).toMatch(/^3 alerts: /);
    expect(message.text).not.toContain("showing");
    for (const alert of alerts) expect(message.text).toContain(alert.name);
  });

  it("pages 1,000 alerts within Slack's limits, with working navigation", () => {
    const alerts = manyAlerts(1000);
    const first = buildAlertList(links, alerts, { filter: "all", words: "", offset: 0 });
    expectValidMessage(first);
    const rows = first.blocks.filter((b) => (b as { accessory?: unknown }).accessory);
    expect(rows).toHaveLength(LIST_PAGE_SIZE);
    // The fallback text (notifications, screen readers) says the page is part of a longer list.
    expect(first.text).toMatch(new RegExp(`^1000 alerts, showing 1–${LIST_PAGE_SIZE}: `));
    const nav = first.blocks.find((b) => b.type === "actions") as {
      elements: Array<{ value: string; action_id: string }>;
    };
    expect(nav.elements).toHaveLength(1);
    const next = listPageCodec.decode(nav.elements[0]?.value);
    expect(next).toEqual({ f: "all", q: "", o: LIST_PAGE_SIZE });

    // A last page that is not full: 3 rows.
    const total = LIST_PAGE_SIZE * 99 + 3;
    const last = buildAlertList(links, manyAlerts(total), {
      filter: "all",
      words: "",
      offset: LIST_PAGE_SIZE * 99,
    });
    expectValidMessage(last);
    expect(last.blocks.filter((b) => (b as { accessory?: unknown }).accessory)).toHaveLength(3);
    const lastNav = last.blocks.find((b) => b.type === "actions") as { elements: unknown[] };
    expect(lastNav.elements).toHaveLength(1);
  });

  it("clamps an offset past the end to the last page", () => {
    const page = buildAlertList(links, manyAlerts(45), { filter: "all", words: "", offset: 5000 });
    expect(page.blocks.filter((b) => (b as { accessory?: unknown }).accessory)).toHaveLength(5);
  });

  it("filters by state and by words in the name", () => {
    const alerts = manyAlerts(30);
    expect(filterAlerts(alerts, "firing", "").every((a) => a.state === "Firing" && a.enabled)).toBe(true);
    expect(filterAlerts(alerts, "disabled", "").every((a) => !a.enabled)).toBe(true);
    // Every word must appear somewhere in the name, in any order and case.
    expect(filterAlerts(alerts, "all", "1 NUMBER").map((a) => a.name)).toEqual(
      alerts.filter((a) => a.name.includes("number") && a.name.includes("1")).map((a) => a.name),
    );
    expect(filterAlerts(alerts, "all", "number 29").map((a) => a.name)).toEqual(["Alert number 29"]);
  });

  it("puts only identifiers in row menus, and offers the right toggle", () => {
    const enabled = makeAlert({ enabled: true });
    const disabled = makeAlert({ enabled: false });
    const page = buildAlertList(links, [enabled, disabled], { filter: "all", words: "", offset: 0 });
    const menus = page.blocks
      .map(
        (b) => (b as { accessory?: { options: Array<{ value: string; text: { text: string } }> } }).accessory,
      )
      .filter(Boolean);
    const labels = menus.map((m) => m?.options.map((o) => o.text.text));
    expect(labels[0]).toContain("Disable");
    expect(labels[1]).toContain("Enable");
    for (const option of menus[0]?.options ?? []) {
      expect(rowMenuCodec.decode(option.value)?.a).toBe(enabled.id);
    }
  });

  it("says so when nothing matches, and how to see more", () => {
    const page = buildAlertList(links, manyAlerts(3), { filter: "errored", words: "", offset: 0 });
    expect(page.text).toMatch(/No errored alerts \(of 3 in the project\)/);
    const empty = buildAlertList(links, [], { filter: "all", words: "", offset: 0 });
    expect(empty.text).toMatch(/no alerts yet/);
  });

  it("the safety check itself catches an injected link and a ping", () => {
    expect(unsafeMrkdwn({ text: "<!channel> hi", blocks: [] }, links.host)).toEqual(["<!channel>"]);
    expect(
      unsafeMrkdwn(
        {
          text: "x",
          blocks: [{ type: "section", text: { type: "mrkdwn", text: "<https://evil.example|a>" } }],
        },
        links.host,
      ),
    ).toEqual(["<https://evil.example|a>"]);
  });

  it.each(HOSTILE_NAMES)("renders hostile name %# harmlessly", (name) => {
    const alert = makeAlert({ name, insight: { id: 1, name, short_id: "abc" } });
    const page = buildAlertList(links, [alert], { filter: "all", words: name.slice(0, 100), offset: 0 });
    expect(blockKitProblems({ kind: "message", ...page })).toEqual([]);
    expect(unsafeMrkdwn(page, links.host)).toEqual([]);
    const detail = buildAlertDetail(links, alert);
    expect(blockKitProblems({ kind: "message", ...detail })).toEqual([]);
    expect(unsafeMrkdwn(detail, links.host)).toEqual([]);
  });
});

describe("buildAlertDetail", () => {
  it("shows recent checks with a sparkline and the actions", () => {
    const checks = [50, 40, 30, 20, 10].map((v, i) => ({
      id: `c${i}`,
      created_at: new Date(Date.UTC(2025, 5, 10 - i)).toISOString(),
      calculated_value: v,
      state: "Firing",
      targets_notified: true,
    }));
    const detail = buildAlertDetail(links, makeAlert({ checks, state: "Firing" }));
    expectValidMessage(detail);
    const json = JSON.stringify(detail.blocks);
    expect(json).toContain("▁▃▅▆█");
    expect(json).toContain("<!date^");
    const actions = detail.blocks.find((b) => b.type === "actions") as {
      elements: Array<{ text: { text: string } }>;
    };
    expect(actions.elements.map((e) => e.text.text)).toEqual([
      "Edit",
      "Snooze…",
      "Disable",
      "Delete…",
      "Open in PostHog",
    ]);
  });

  it("draws a sparkline with gaps and flat lines", () => {
    expect(sparkline([1, null, 3])).toBe("▁ █");
    expect(sparkline([2, 2])).toBe("▄▄");
    expect(sparkline([])).toBe("");
  });
});

describe("alertRow", () => {
  it("renders an alert object's row once and shares it, frozen, between lists", () => {
    const alerts = manyAlerts(3);
    const first = buildAlertList(links, alerts, { filter: "all", words: "", offset: 0 });
    const again = buildAlertList(links, alerts, { filter: "all", words: "", offset: 0 });
    expect(again.blocks[1]).toBe(first.blocks[1]);
    expect(alertRow(links, alerts[0] as Alert)).toBe(first.blocks[1]);
    const row = first.blocks[1] as { accessory: { options: unknown[] } };
    expect(Object.isFrozen(row)).toBe(true);
    expect(Object.isFrozen(row.accessory.options[0])).toBe(true);
    expect(() => {
      (row as Record<string, unknown>).type = "divider";
    }).toThrow(TypeError);
  });

  it("renders anew for another alert object or other links, with the same result for the same data", () => {
    const [alert] = manyAlerts(1);
    const row = alertRow(links, alert as Alert);
    const copy = alertRow(links, { ...(alert as Alert) });
    expect(copy).not.toBe(row);
    expect(copy).toEqual(row);
    const elsewhere = alertRow({ host: "https://eu.posthog.com", projectId: "7" }, alert as Alert);
    expect(JSON.stringify(elsewhere)).toContain("eu.posthog.com");
    expect(JSON.stringify(alertRow(links, alert as Alert))).not.toContain("eu.posthog.com");
  });
});

describe("buildHelp", () => {
  it("explains every subcommand within the limits", () => {
    const help = buildHelp("/alerts");
    expectValidMessage(help);
    for (const name of [
      "list",
      "show",
      "create",
      "edit",
      "delete",
      "snooze",
      "unsnooze",
      "enable",
      "disable",
      "watch",
      "unwatch",
      "watching",
    ]) {
      expect(JSON.stringify(help.blocks)).toContain(`/alerts ${name}`);
    }
  });

  it("names every short form the command understands, and what it stands for", () => {
    const text = JSON.stringify(buildHelp("/alerts").blocks);
    for (const [short, long] of Object.entries(COMMAND_ALIASES)) {
      expect(text).toContain(`\`${short}\` (${long})`);
      expect(parseCommand(`${short} x`).kind).toBe(long);
    }
  });
});
