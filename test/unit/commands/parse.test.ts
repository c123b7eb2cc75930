import { describe, expect, it } from "vitest";
import { nearestSubcommand, parseCommand, snoozeSplits, unquote } from "../../../src/commands/parse.js";

describe("parseCommand", () => {
  it.each([
    ["", { kind: "help" }],
    ["help", { kind: "help" }],
    ["HELP", { kind: "help" }],
    ["list", { kind: "list", filter: "all", words: "" }],
    ["List Firing", { kind: "list", filter: "firing", words: "" }],
    ["list snoozed signup funnel", { kind: "list", filter: "snoozed", words: "signup funnel" }],
    ["list signups", { kind: "list", filter: "all", words: "signups" }],
    ["ls muted", { kind: "list", filter: "snoozed", words: "" }],
    ["show Signups dropped", { kind: "show", ref: "Signups dropped" }],
    ['show "Signups  dropped"', { kind: "show", ref: "Signups dropped" }],
    ["create", { kind: "create", insight: null }],
    [
      "create https://us.posthog.com/project/1/insights/AaVQ8Ijw",
      { kind: "create", insight: "https://us.posthog.com/project/1/insights/AaVQ8Ijw" },
    ],
    ["DISABLE  signups", { kind: "disable", ref: "signups" }],
    ["snooze signups 2h", { kind: "snooze", rest: "signups 2h" }],
    ["watching", { kind: "watching" }],
    ["unwatch x", { kind: "unwatch", ref: "x" }],
  ])("reads %j", (text, expected) => {
    expect(parseCommand(text)).toEqual(expected);
  });

  it("asks for the missing alert with the subcommand's usage", () => {
    const result = parseCommand("delete");
    expect(result).toMatchObject({ kind: "usage", problem: "Which alert?" });
    expect(result.kind === "usage" && result.line.name).toBe("delete");
  });

  it("answers unknown words with the nearest subcommand, never silence", () => {
    for (const [typo, meant] of [
      ["lst", "list"],
      ["snoze", "snooze"],
      ["unsnoze", "unsnooze"],
      ["shwo", "show"],
      ["dissable", "disable"],
      ["creat", "create"],
    ]) {
      const result = parseCommand(`${typo} x`);
      expect(result.kind).toBe("usage");
      expect(result.kind === "usage" && result.line.name).toBe(meant);
    }
    const nonsense = parseCommand("qqqqqqqqqq");
    expect(nonsense.kind === "usage" && nonsense.line.name).toBe("help");
  });

  it("reads &, < and > as typed: Slack sends them as &amp;, &lt; and &gt;", () => {
    expect(parseCommand("disable Revenue &amp; Costs")).toEqual({ kind: "disable", ref: "Revenue & Costs" });
    expect(parseCommand("show Errors &gt; 5% &lt;EU&gt;")).toEqual({ kind: "show", ref: "Errors > 5% <EU>" });
    // Decoded once: what Slack sent for a typed "&lt;" stays "&lt;".
    expect(parseCommand("show a &amp;lt; b")).toEqual({ kind: "show", ref: "a &lt; b" });
  });

  it("refuses very long input clearly", () => {
    const result = parseCommand(`show ${"a".repeat(2000)}`);
    expect(result.kind).toBe("usage");
  });

  it("echoes an unknown word escaped: no mention or link comes of it", () => {
    const result = parseCommand("&lt;!channel&gt; now");
    expect(result.kind === "usage" && result.problem).toBe("I don't know `&lt;!channel&gt;`.");
  });

  it("treats backticks in unknown words safely", () => {
    const result = parseCommand("`rm -rf` now");
    expect(result.kind === "usage" && result.problem).not.toContain("``");
  });
});

describe("nearestSubcommand", () => {
  it("prefers prefixes", () => {
    expect(nearestSubcommand("wat").name).toBe("watch");
    expect(nearestSubcommand("un").name).toBe("unsnooze");
  });
});

describe("snoozeSplits", () => {
  const readsAsTime = (when: string) =>
    /^(until .+|\d+[mhdw]|\d+ minutes|\d+[mhdw] \d+[mhdw]|for \d+h|tomorrow 9am)$/.test(when);

  it.each([
    ["signups 2h", { ref: "signups", when: "2h" }],
    ["Signups dropped 90 minutes", { ref: "Signups dropped", when: "90 minutes" }],
    ["Signups dropped until tomorrow 9am", { ref: "Signups dropped", when: "until tomorrow 9am" }],
    ["Daily until now until 17:00", { ref: "Daily until now", when: "until 17:00" }],
    ['"Signups 2h" 1h 30m', { ref: "Signups 2h", when: "1h 30m" }],
    ["Errors for 2h", { ref: "Errors", when: "for 2h" }],
  ])("splits %j, the longest time first", (rest, expected) => {
    expect(snoozeSplits(rest, readsAsTime)[0]).toEqual(expected);
  });

  it("offers every way when the name may end in a time, the longest time first", () => {
    expect(snoozeSplits("Signups 7d 1h", readsAsTime)).toEqual([
      { ref: "Signups", when: "7d 1h" },
      { ref: "Signups 7d", when: "1h" },
    ]);
  });

  it('reads "until" as part of the name when what follows it is no time', () => {
    const strict = (when: string) => /^(until (tomorrow 9am|17:00)|\d+[mhdw])$/.test(when);
    expect(snoozeSplits("Days until churn 2h", strict)).toEqual([{ ref: "Days until churn", when: "2h" }]);
    expect(snoozeSplits("Days until churn until 17:00", strict)).toEqual([
      { ref: "Days until churn", when: "until 17:00" },
    ]);
    // Nothing reads as a time: the "until" reading stays, so the answer is about its time.
    expect(snoozeSplits("Signups until tomorow", strict)).toEqual([
      { ref: "Signups", when: "until tomorow" },
    ]);
    // A time read but refused (passed) is still the time, even when a tail would read on its own.
    const refusing = (when: string) => (when === "until 2020-01-01 08:00" ? "refused" : when === "08:00");
    expect(snoozeSplits("Signups until 2020-01-01 08:00", refusing)).toEqual([
      { ref: "Signups", when: "until 2020-01-01 08:00" },
    ]);
  });

  it("returns none when no tail reads as a time", () => {
    expect(snoozeSplits("signups forever", readsAsTime)).toEqual([]);
    expect(snoozeSplits("2h", readsAsTime)).toEqual([]);
  });

  it("unquotes curly quotes too", () => {
    expect(unquote("“Signups”")).toBe("Signups");
  });
});
