import { describe, expect, it } from "vitest";
import {
  BlockKitError,
  blockKitProblems,
  expectValidMessage,
  expectValidView,
  problemPointer,
  type Surface,
} from "./block-kit.js";

const pt = (text: string) => ({ type: "plain_text", text });
const md = (text: string) => ({ type: "mrkdwn", text });
const x = (n: number) => "x".repeat(n);
const times = <T>(n: number, make: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => make(i));
const option = (text: string, value: string) => ({ text: pt(text), value });
const options = (n: number) => times(n, (i) => option(`Option ${i}`, `v${i}`));
const divider = () => ({ type: "divider" });
const button = (extra: Record<string, unknown> = {}) => ({
  type: "button",
  text: pt("Go"),
  action_id: "go",
  value: "1",
  ...extra,
});
const select = (extra: Record<string, unknown> = {}) => ({
  type: "static_select",
  action_id: "pick",
  placeholder: pt("Pick one"),
  options: options(3),
  ...extra,
});
const confirm = (extra: Record<string, unknown> = {}) => ({
  title: pt("Sure?"),
  text: md("This cannot be undone."),
  confirm: pt("Yes"),
  deny: pt("No"),
  ...extra,
});
const textInput = (extra: Record<string, unknown> = {}) => ({
  type: "plain_text_input",
  action_id: "t",
  ...extra,
});
const input = (element: unknown, extra: Record<string, unknown> = {}) => ({
  type: "input",
  block_id: "in",
  label: pt("Label"),
  element,
  ...extra,
});

/** A message surface; `text: null` leaves the fallback out. */
const message = (blocks: unknown[], text: string | null = "fallback"): Surface => ({
  kind: "message",
  blocks,
  ...(text !== null ? { text } : {}),
});
const modal = (blocks: unknown[], extra: Record<string, unknown> = {}): Surface => {
  const view = {
    type: "modal",
    title: pt("Title"),
    submit: pt("Save"),
    close: pt("Cancel"),
    blocks,
    ...extra,
  };
  return { kind: "modal", blocks, view };
};
const home = (blocks: unknown[], extra: Record<string, unknown> = {}): Surface => ({
  kind: "home",
  blocks,
  view: { type: "home", blocks, ...extra },
});

const pointersOf = (s: Surface) => blockKitProblems(s).map(problemPointer);

describe("blockKitProblems on valid surfaces", () => {
  it("accepts a realistic alert message", () => {
    const surface = message([
      { type: "header", text: pt("Signups dropped") },
      {
        type: "section",
        block_id: "summary",
        text: md(
          "*Signups* fell below *100* <!date^1748876400^{date_short_pretty} {time}|2025-06-02 15:00 UTC>",
        ),
        fields: [md("*State*\nFiring"), md("*Value*\n42")],
        accessory: button({ action_id: "open", url: "https://eu.posthog.com/project/1/insights/abc" }),
      },
      {
        type: "actions",
        block_id: "controls",
        elements: [
          button({ action_id: "snooze", style: "primary" }),
          button({ action_id: "disable", style: "danger", confirm: confirm() }),
          select({ action_id: "menu" }),
          { type: "overflow", action_id: "more", options: options(5) },
        ],
      },
      { type: "context", elements: [md("Checked hourly"), pt("by PostHog")] },
      divider(),
    ]);
    expect(blockKitProblems(surface)).toEqual([]);
    expect(() => expectValidMessage(surface)).not.toThrow();
  });

  it("accepts a realistic modal with every input the bot uses", () => {
    const surface = modal(
      [
        input(select({ action_id: "insight" }), { block_id: "insight" }),
        input(textInput({ max_length: 255, placeholder: pt("Alert name") }), {
          block_id: "name",
          hint: pt("Hint"),
        }),
        input(
          { type: "checkboxes", action_id: "opts", options: options(2) },
          { block_id: "opts", optional: true },
        ),
        input({ type: "radio_buttons", action_id: "cond", options: options(3) }, { block_id: "cond" }),
        input({ type: "datetimepicker", action_id: "at", initial_date_time: 1748876400 }, { block_id: "at" }),
        input({ type: "multi_users_select", action_id: "subs" }, { block_id: "subs" }),
        { type: "section", text: md("Pick an insight") },
      ],
      { private_metadata: '{"alertId":"abc"}', callback_id: "alert_form", external_id: "form-1" },
    );
    expect(blockKitProblems(surface)).toEqual([]);
    expect(() => expectValidView(surface.view)).not.toThrow();
  });

  it("accepts a Home tab", () => {
    const surface = home([{ type: "section", text: md("Your alerts") }, divider()]);
    expect(blockKitProblems(surface)).toEqual([]);
    expect(() => expectValidView(surface.view)).not.toThrow();
  });

  it("accepts a text-only message without blocks", () => {
    expect(blockKitProblems(message([]))).toEqual([]);
  });
});

interface Boundary {
  name: string;
  limit: number;
  pointer: string;
  build: (n: number) => Surface;
}

const boundaries: Boundary[] = [
  { name: "blocks per message", limit: 50, pointer: "/blocks", build: (n) => message(times(n, divider)) },
  { name: "blocks per modal", limit: 100, pointer: "/view/blocks", build: (n) => modal(times(n, divider)) },
  { name: "blocks per Home tab", limit: 100, pointer: "/view/blocks", build: (n) => home(times(n, divider)) },
  {
    name: "section text",
    limit: 3000,
    pointer: "/blocks/0/text/text",
    build: (n) => message([{ type: "section", text: md(x(n)) }]),
  },
  {
    name: "section fields",
    limit: 10,
    pointer: "/blocks/0/fields",
    build: (n) => message([{ type: "section", fields: times(n, () => md("f")) }]),
  },
  {
    name: "section field text",
    limit: 2000,
    pointer: "/blocks/0/fields/0/text",
    build: (n) => message([{ type: "section", fields: [md(x(n))] }]),
  },
  {
    name: "header text",
    limit: 150,
    pointer: "/blocks/0/text/text",
    build: (n) => message([{ type: "header", text: pt(x(n)) }]),
  },
  {
    name: "actions elements",
    limit: 25,
    pointer: "/blocks/0/elements",
    build: (n) => message([{ type: "actions", elements: times(n, (i) => button({ action_id: `b${i}` })) }]),
  },
  {
    name: "context elements",
    limit: 10,
    pointer: "/blocks/0/elements",
    build: (n) => message([{ type: "context", elements: times(n, () => md("c")) }]),
  },
  {
    name: "button text",
    limit: 75,
    pointer: "/blocks/0/elements/0/text/text",
    build: (n) => message([{ type: "actions", elements: [button({ text: pt(x(n)) })] }]),
  },
  {
    name: "button value",
    limit: 2000,
    pointer: "/blocks/0/elements/0/value",
    build: (n) => message([{ type: "actions", elements: [button({ value: x(n) })] }]),
  },
  {
    name: "option text",
    limit: 75,
    pointer: "/blocks/0/elements/0/options/0/text/text",
    build: (n) => message([{ type: "actions", elements: [select({ options: [option(x(n), "v")] })] }]),
  },
  {
    name: "option value",
    limit: 150,
    pointer: "/blocks/0/elements/0/options/0/value",
    build: (n) => message([{ type: "actions", elements: [select({ options: [option("o", x(n))] })] }]),
  },
  {
    name: "options per static select",
    limit: 100,
    pointer: "/blocks/0/elements/0/options",
    build: (n) => message([{ type: "actions", elements: [select({ options: options(n) })] }]),
  },
  {
    name: "option groups per static select",
    limit: 100,
    pointer: "/blocks/0/elements/0/option_groups",
    build: (n) =>
      message([
        {
          type: "actions",
          elements: [
            {
              type: "static_select",
              action_id: "g",
              option_groups: times(n, (i) => ({ label: pt(`G${i}`), options: [option("o", `v${i}`)] })),
            },
          ],
        },
      ]),
  },
  {
    name: "overflow options",
    limit: 5,
    pointer: "/blocks/0/accessory/options",
    build: (n) =>
      message([
        {
          type: "section",
          text: md("t"),
          accessory: { type: "overflow", action_id: "o", options: options(n) },
        },
      ]),
  },
  {
    name: "checkbox options",
    limit: 10,
    pointer: "/view/blocks/0/element/options",
    build: (n) => modal([input({ type: "checkboxes", action_id: "c", options: options(n) })]),
  },
  {
    name: "radio options",
    limit: 10,
    pointer: "/view/blocks/0/element/options",
    build: (n) => modal([input({ type: "radio_buttons", action_id: "r", options: options(n) })]),
  },
  {
    name: "modal title",
    limit: 24,
    pointer: "/view/title/text",
    build: (n) => modal([divider()], { title: pt(x(n)) }),
  },
  {
    name: "modal submit",
    limit: 24,
    pointer: "/view/submit/text",
    build: (n) => modal([divider()], { submit: pt(x(n)) }),
  },
  {
    name: "modal close",
    limit: 24,
    pointer: "/view/close/text",
    build: (n) => modal([divider()], { close: pt(x(n)) }),
  },
  {
    name: "private_metadata",
    limit: 3000,
    pointer: "/view/private_metadata",
    build: (n) => modal([divider()], { private_metadata: x(n) }),
  },
  {
    name: "Home tab private_metadata",
    limit: 3000,
    pointer: "/view/private_metadata",
    build: (n) => home([divider()], { private_metadata: x(n) }),
  },
  {
    name: "block_id",
    limit: 255,
    pointer: "/blocks/0/block_id",
    build: (n) => message([{ type: "divider", block_id: x(n) }]),
  },
  {
    name: "action_id",
    limit: 255,
    pointer: "/blocks/0/elements/0/action_id",
    build: (n) => message([{ type: "actions", elements: [button({ action_id: x(n) })] }]),
  },
  {
    name: "callback_id",
    limit: 255,
    pointer: "/view/callback_id",
    build: (n) => modal([divider()], { callback_id: x(n) }),
  },
  {
    name: "external_id",
    limit: 255,
    pointer: "/view/external_id",
    build: (n) => modal([divider()], { external_id: x(n) }),
  },
  ...(
    [
      ["title", 100, pt],
      ["text", 300, md],
      ["confirm", 30, pt],
      ["deny", 30, pt],
    ] as const
  ).map(
    ([field, limit, make]): Boundary => ({
      name: `confirm ${field}`,
      limit,
      pointer: `/blocks/0/elements/0/confirm/${field}/text`,
      build: (n) =>
        message([{ type: "actions", elements: [button({ confirm: confirm({ [field]: make(x(n)) }) })] }]),
    }),
  ),
  {
    name: "placeholder",
    limit: 150,
    pointer: "/view/blocks/0/element/placeholder/text",
    build: (n) => modal([input(textInput({ placeholder: pt(x(n)) }))]),
  },
  {
    name: "input label",
    limit: 2000,
    pointer: "/view/blocks/0/label/text",
    build: (n) => modal([input(textInput(), { label: pt(x(n)) })]),
  },
  {
    name: "input hint",
    limit: 2000,
    pointer: "/view/blocks/0/hint/text",
    build: (n) => modal([input(textInput(), { hint: pt(x(n)) })]),
  },
  {
    name: "plain_text_input max_length",
    limit: 3000,
    pointer: "/view/blocks/0/element/max_length",
    build: (n) => modal([input(textInput({ max_length: n }))]),
  },
];

describe("blockKitProblems enforces each limit at its boundary", () => {
  it.each(boundaries)("$name: $limit passes, one more fails at $pointer", ({ limit, pointer, build }) => {
    expect(blockKitProblems(build(limit))).toEqual([]);
    const problems = blockKitProblems(build(limit + 1));
    expect(problems.map(problemPointer)).toContain(pointer);
    expect(problems.join("\n")).toMatch(/at most|no more than|must be an integer/);
  });
});

describe("blockKitProblems lower bounds and required parts", () => {
  it("rejects empty section text and a section with neither text nor fields", () => {
    expect(pointersOf(message([{ type: "section", text: md("") }]))).toContain("/blocks/0/text/text");
    expect(pointersOf(message([{ type: "section" }]))).toContain("/blocks/0");
  });

  it("rejects plain_text_input max_length 0 and min_length above max_length", () => {
    expect(pointersOf(modal([input(textInput({ max_length: 0 }))]))).toContain(
      "/view/blocks/0/element/max_length",
    );
    expect(pointersOf(modal([input(textInput({ min_length: 10, max_length: 5 }))]))).toContain(
      "/view/blocks/0/element/min_length",
    );
  });

  it("requires a header to be plain_text", () => {
    expect(pointersOf(message([{ type: "header", text: md("*bold*") }]))).toContain("/blocks/0/text/type");
  });

  it("requires a modal title, and a submit button when the modal has an input block", () => {
    const noTitle: Surface = {
      kind: "modal",
      blocks: [divider()],
      view: { type: "modal", blocks: [divider()] },
    };
    expect(pointersOf(noTitle)).toContain("/view/title");
    const blocks = [input(textInput())];
    const noSubmit: Surface = {
      kind: "modal",
      blocks,
      view: { type: "modal", title: pt("T"), blocks },
    };
    const problems = blockKitProblems(noSubmit);
    expect(problems.map(problemPointer)).toContain("/view/submit");
    expect(problems.join("\n")).toContain("needs a submit button");
    // Without an input block, submit is optional.
    expect(blockKitProblems(modal([divider()], { submit: undefined }))).toEqual([]);
  });

  it("requires a non-empty top-level text fallback on messages", () => {
    expect(pointersOf(message([{ type: "section", text: md("hi") }], null))).toEqual(["/text"]);
    expect(pointersOf(message([{ type: "section", text: md("hi") }], "   "))).toEqual(["/text"]);
    const noText = message([{ type: "section", text: md("hi") }], null);
    expect(blockKitProblems(noText, { requireText: false })).toEqual([]);
  });

  it("rejects empty plain_text anywhere, e.g. an option or a modal close button", () => {
    const surface = message([{ type: "actions", elements: [select({ options: [option("", "v")] })] }]);
    expect(pointersOf(surface)).toContain("/blocks/0/elements/0/options/0/text/text");
    expect(pointersOf(modal([divider()], { close: pt("") }))).toContain("/view/close/text");
    const deep = message([{ type: "context", elements: [pt("")] }]);
    expect(pointersOf(deep)).toContain("/blocks/0/elements/0/text");
  });

  it("rejects a view larger than 250 kB even when every block is within its own limits", () => {
    const big = modal(times(100, () => ({ type: "section", text: md(x(2600)) })));
    const problems = blockKitProblems(big);
    expect(problems.map(problemPointer)).toEqual(["/view"]);
    expect(problems[0]).toContain("view_too_large");
    expect(blockKitProblems(modal(times(100, () => ({ type: "section", text: md(x(2400)) }))))).toEqual([]);
  });
});

describe("blockKitProblems identifiers", () => {
  it("rejects duplicate block_ids across the surface", () => {
    const surface = message([
      { type: "section", block_id: "a", text: md("1") },
      { type: "divider", block_id: "b" },
      { type: "section", block_id: "a", text: md("2") },
    ]);
    const problems = blockKitProblems(surface);
    expect(problems.map(problemPointer)).toEqual(["/blocks/2/block_id"]);
    expect(problems[0]).toContain("not unique");
  });

  it("rejects an action_id used twice in one block but allows it in different blocks", () => {
    const twice = message([
      { type: "actions", elements: [button({ action_id: "x" }), button({ action_id: "x" })] },
    ]);
    expect(pointersOf(twice)).toContain("/blocks/0/elements/1");
    const apart = message([
      { type: "actions", elements: [button({ action_id: "x" })] },
      { type: "actions", elements: [button({ action_id: "x" })] },
    ]);
    expect(blockKitProblems(apart)).toEqual([]);
  });
});

describe("blockKitProblems JSON Schema layer", () => {
  it("names an unknown block type without listing every other block type", () => {
    const problems = blockKitProblems(message([{ type: "bogus" }]));
    expect(problems).toEqual(['schema: type "bogus" is not allowed here [json-pointer:/blocks/0]']);
  });

  it("rejects an element where Slack does not allow it", () => {
    const problems = blockKitProblems(message([{ type: "actions", elements: [textInput()] }]));
    expect(problems).toContain(
      'schema: type "plain_text_input" is not allowed here [json-pointer:/blocks/0/elements/0]',
    );
  });

  it("rejects unknown properties, such as url on a select option", () => {
    const bad = { ...option("o", "v"), url: "" };
    const problems = blockKitProblems(message([{ type: "actions", elements: [select({ options: [bad] })] }]));
    expect(problems).toEqual([
      'schema: unknown property "url" [json-pointer:/blocks/0/elements/0/options/0]',
    ]);
  });

  it("rejects malformed picker values and unknown view fields", () => {
    const picker = input({ type: "datepicker", action_id: "d", initial_date: "02/06/2025" });
    expect(pointersOf(modal([picker]))).toContain("/view/blocks/0/element/initial_date");
    expect(blockKitProblems(modal([divider()], { sumbit: pt("typo") }))).toEqual([
      'schema: unknown property "sumbit" [json-pointer:/view]',
    ]);
  });

  it("rejects a button url that is not a URL", () => {
    const problems = blockKitProblems(
      message([{ type: "actions", elements: [button({ url: "not a url" })] }]),
    );
    expect(problems.map(problemPointer)).toContain("/blocks/0/elements/0/url");
  });
});

describe("expectValidMessage / expectValidView", () => {
  it("throws a BlockKitError listing every problem", () => {
    const msg = {
      blocks: [
        { type: "header", text: pt(x(151)) },
        { type: "section", text: md(x(3001)) },
      ],
    };
    let error: unknown;
    try {
      expectValidMessage(msg);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BlockKitError);
    const problems = (error as BlockKitError).problems.map(problemPointer);
    expect(problems).toEqual(expect.arrayContaining(["/text", "/blocks/0/text/text", "/blocks/1/text/text"]));
    expect((error as Error).message).toContain("[json-pointer:/blocks/1/text/text]");
  });

  it("checks views by their own type", () => {
    expect(() => expectValidView({ type: "home", blocks: [divider()] })).not.toThrow();
    expect(() => expectValidView({ type: "modal", title: pt(x(25)), blocks: [divider()] })).toThrow(
      /\/view\/title\/text/,
    );
    expect(() => expectValidView({ type: "modal", title: pt("T"), blocks: "nope" })).toThrow(
      /\/view\/blocks/,
    );
    expect(() => expectValidView(null)).toThrow(BlockKitError);
  });
});
