import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type AlertFormMeta,
  type AlertFormModel,
  type AlertFormValues,
  alertChanges,
  alertFormMetaCodec,
  blockForAttr,
  boundInputText,
  buildAlertForm,
  buildEditAlertForm,
  buildFormErrorView,
  buildLoadingView,
  buildSavingView,
  buildSuccessView,
  defaultFormValues,
  FORM_ERRORS,
  type FormInsight,
  factsFromMeta,
  failureOnForm,
  formInputBlocks,
  formPrints,
  formValuesFromAlert,
  genericSeries,
  type InsightFacts,
  insightMenuOptions,
  MENU_NOTICE_VALUE,
  type ModalView,
  memberLabel,
  memberMenuOptions,
  parseBound,
  parseInsightRef,
  placeErrors,
  readAlertForm,
  type StateValues,
  shiftedDecimalText,
  validateAlertForm,
} from "../../../src/blocks/alert-modal.js";
import { stateFromView as untouchedState } from "../../../src/blocks/view-state.js";
import { type Alert, alertSchema, type Member, memberSchema } from "../../../src/posthog/schemas.js";
import {
  ACTION_INSIGHT,
  ACTION_SUBSCRIBERS,
  BLOCK_CONDITION,
  BLOCK_INSIGHT,
  BLOCK_INTERVAL,
  BLOCK_LOWER,
  BLOCK_NAME,
  BLOCK_OPTIONS,
  BLOCK_SERIES,
  BLOCK_SUBSCRIBERS,
  BLOCK_THRESHOLD_TYPE,
  BLOCK_UPPER,
  VIEW_ALERT_FORM,
} from "../../../src/slack/ids.js";
import { blockKitProblems } from "../../support/block-kit.js";

const LINKS = { host: "https://us.posthog.com", projectId: "12345" };
const ALERT_ID = "0192c0de-7a1b-7c3e-9d2f-4b5a6c7d8e9f";

function makeAlert(overrides: Record<string, unknown> = {}): Alert {
  return alertSchema.parse({
    id: ALERT_ID,
    created_at: "2025-05-01T10:11:12.123456Z",
    insight: 4821,
    name: "Signups dropped",
    subscribed_users: [7, 9],
    threshold: { name: "", configuration: { type: "absolute", bounds: { lower: 100, upper: null } } },
    condition: { type: "absolute_value" },
    state: "Firing",
    enabled: true,
    last_notified_at: null,
    last_checked_at: null,
    next_check_at: null,
    checks: [],
    config: { type: "TrendsAlertConfig", series_index: 1, check_ongoing_interval: false },
    calculation_interval: "daily",
    snoozed_until: null,
    skip_weekend: false,
    last_value: 42,
    ...overrides,
  });
}

function makeMember(id: number, first: string, last: string, email: string, active = true): Member {
  return memberSchema.parse({
    id: `m-${id}`,
    level: 1,
    user: { id, uuid: `u-${id}`, email, first_name: first, last_name: last, is_active: active },
  });
}

const INSIGHT: FormInsight = {
  id: 4821,
  name: "Daily signups",
  alertable: true,
  absoluteOnly: false,
  seriesCount: 2,
  series: [
    { index: 0, label: "Pageview (count)" },
    { index: 1, label: "signed_up (unique users)" },
  ],
};
const FACTS: InsightFacts = { id: 4821, seriesCount: 2, absoluteOnly: false, alertable: true };

function validValues(overrides: Partial<AlertFormValues> = {}): AlertFormValues {
  return {
    ...defaultFormValues(),
    insight: { id: 4821, label: "Daily signups" },
    name: "Signups dropped",
    seriesIndex: 1,
    lower: "100",
    subscribers: [{ id: 7, label: "Ann Lee (ann@example.com)" }],
    ...overrides,
  };
}

/** What Slack would send back in `view.state.values` if the person submitted the view untouched. */
function stateFromView(view: ModalView): StateValues {
  return untouchedState(view) as StateValues;
}

function expectValidModal(view: ModalView) {
  expect(blockKitProblems({ kind: "modal", blocks: view.blocks, view })).toEqual([]);
}

function inputBlock(view: ModalView, blockId: string) {
  const block = view.blocks.find((b) => b.block_id === blockId);
  if (!block) throw new Error(`no block ${blockId}`);
  return block as Record<string, unknown> & { element: Record<string, unknown>; hint?: { text: string } };
}

function decodeMeta(view: ModalView): AlertFormMeta {
  const meta = alertFormMetaCodec.decode(view.private_metadata);
  if (!meta) throw new Error("private_metadata does not decode");
  return meta;
}

const createModel = (overrides: Partial<AlertFormModel> = {}): AlertFormModel => ({
  meta: { m: "create" },
  values: defaultFormValues(),
  insight: null,
  members: [
    { id: 7, label: "Ann Lee (ann@example.com)" },
    { id: 9, label: "Bo Chen (bo@example.com)" },
  ],
  ...overrides,
});

describe("parseBound", () => {
  it.each([
    ["100", 100],
    ["  42 ", 42],
    ["1,000", 1000],
    ["12,345,678.5", 12345678.5],
    ["1e3", 1000],
    ["1E-3", 0.001],
    ["-2.5", -2.5],
    ["+.5", 0.5],
    ["3.", 3],
    ["−7", -7],
    ["-0", 0],
  ])("reads %j as %d", (text, value) => {
    expect(parseBound(text, false)).toEqual({ ok: true, value });
  });

  it("treats empty and blank as no bound", () => {
    expect(parseBound("", false)).toEqual({ ok: true, value: null });
    expect(parseBound("   ", true)).toEqual({ ok: true, value: null });
  });

  it.each([
    "abc",
    "NaN",
    "Infinity",
    "-Infinity",
    "1e400",
    "1.2.3",
    "0x10",
    "1,00",
    "1,5",
    "12,34",
    "--1",
    "1 000",
    "e5",
    ".",
  ])("rejects %j", (text) => {
    const parsed = parseBound(text, false);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error.length).toBeGreaterThan(0);
  });

  it("explains decimal commas", () => {
    expect(parseBound("1,5", false)).toEqual({
      ok: false,
      error: expect.stringContaining("dot for decimals"),
    });
  });

  it("turns percentages into fractions without float noise", () => {
    expect(parseBound("20", true)).toEqual({ ok: true, value: 0.2 });
    expect(parseBound("20%", true)).toEqual({ ok: true, value: 0.2 });
    expect(parseBound("12.5 %", true)).toEqual({ ok: true, value: 0.125 });
    expect(parseBound("14.1", true)).toEqual({ ok: true, value: 0.141 });
    expect(parseBound("0.29", true)).toEqual({ ok: true, value: 0.0029 });
    expect(parseBound("7", true)).toEqual({ ok: true, value: 0.07 });
    expect(parseBound("100", true)).toEqual({ ok: true, value: 1 });
    expect(parseBound("1e-5", true)).toEqual({ ok: true, value: 1e-7 });
    expect(parseBound("-50", true)).toEqual({ ok: true, value: -0.5 });
    expect(parseBound("1,250", true)).toEqual({ ok: true, value: 12.5 });
  });

  it("refuses a percent sign on an absolute threshold", () => {
    expect(parseBound("20%", false)).toEqual({ ok: false, error: expect.stringContaining("Percentage") });
  });
});

describe("shiftedDecimalText and boundInputText", () => {
  it.each([
    [0.29, 2, "29"],
    [0.141, 2, "14.1"],
    [0.2, 2, "20"],
    [1, 2, "100"],
    [0, 2, "0"],
    [-0, 2, "0"],
    [-0.5, 2, "-50"],
    [1e-7, 2, "0.00001"],
    [1e-9, 2, "1e-7"],
    [1e21, 2, "1e23"],
    [123.456, 0, "123.456"],
    [1e21, 0, "1e21"],
    [1e20, 0, "100000000000000000000"],
    [1e-6, 0, "0.000001"],
    [14.1, -2, "0.141"],
    [0.30000000000000004, 2, "30.000000000000004"],
  ])("%d × 10^%d reads %s", (value, places, text) => {
    expect(shiftedDecimalText(value, places)).toBe(text);
  });

  it("avoids the float noise of multiplying", () => {
    expect(0.29 * 100).not.toBe(29);
    expect(Number(shiftedDecimalText(0.29, 2))).toBe(29);
  });

  it("shows stored fractions as percent numbers, and absolute bounds as they are", () => {
    expect(boundInputText(0.2, true)).toBe("20");
    expect(boundInputText(0.29, true)).toBe("29");
    expect(boundInputText(0.0029, true)).toBe("0.29");
    expect(boundInputText(1234.5, false)).toBe("1234.5");
    expect(boundInputText(null, true)).toBe("");
  });

  it("round-trips any bound through the input text", () => {
    const magnitude = fc.double({ min: 0, max: 1e15, noNaN: true, noDefaultInfinity: true });
    fc.assert(
      fc.property(magnitude, fc.boolean(), fc.boolean(), (m, negative, percentage) => {
        const value = negative && m !== 0 ? -m : m;
        const parsed = parseBound(boundInputText(value, percentage), percentage);
        expect(parsed).toEqual({ ok: true, value });
      }),
      { numRuns: 500 },
    );
  });
});

describe("validateAlertForm", () => {
  it("builds the POST body from a valid form", () => {
    const result = validateAlertForm(validValues({ upper: "1,000", skipWeekend: true }), FACTS);
    expect(result).toEqual({
      ok: true,
      body: {
        insight: 4821,
        name: "Signups dropped",
        subscribed_users: [7],
        threshold: { configuration: { type: "absolute", bounds: { lower: 100, upper: 1000 } } },
        condition: { type: "absolute_value" },
        config: { type: "TrendsAlertConfig", series_index: 1, check_ongoing_interval: false },
        enabled: true,
        calculation_interval: "daily",
        skip_weekend: true,
      },
    });
  });

  it("sends percentage thresholds as fractions and leaves the empty bound null", () => {
    const result = validateAlertForm(
      validValues({ condition: "relative_increase", thresholdType: "percentage", lower: "", upper: "20" }),
      FACTS,
    );
    expect(result.ok && result.body.threshold.configuration).toEqual({
      type: "percentage",
      bounds: { lower: null, upper: 0.2 },
    });
  });

  it("trims the name and dedupes subscribers", () => {
    const result = validateAlertForm(
      validValues({
        name: "  Spaces  ",
        subscribers: [
          { id: 7, label: "a" },
          { id: 7, label: "a" },
          { id: 9, label: "b" },
        ],
      }),
      FACTS,
    );
    expect(result.ok && result.body.name).toBe("Spaces");
    expect(result.ok && result.body.subscribed_users).toEqual([7, 9]);
  });

  it("requires an insight, a name and at least one bound, reporting all at once", () => {
    const result = validateAlertForm(validValues({ insight: null, name: "   ", lower: "", upper: "" }), null);
    expect(result).toEqual({
      ok: false,
      errors: {
        [BLOCK_INSIGHT]: FORM_ERRORS.noInsight,
        [BLOCK_NAME]: FORM_ERRORS.noName,
        [BLOCK_LOWER]: FORM_ERRORS.noBound,
      },
    });
  });

  it("limits the name to 255 characters", () => {
    expect(validateAlertForm(validValues({ name: "x".repeat(255) }), FACTS).ok).toBe(true);
    expect(validateAlertForm(validValues({ name: "x".repeat(256) }), FACTS)).toEqual({
      ok: false,
      errors: { [BLOCK_NAME]: FORM_ERRORS.nameTooLong(256) },
    });
  });

  it("asks for an upper bound before checking the current interval, as PostHog does", () => {
    const ongoing = (overrides: Partial<AlertFormValues>) =>
      validateAlertForm(validValues({ checkOngoingInterval: true, ...overrides }), FACTS);
    for (const condition of ["absolute_value", "relative_increase"]) {
      expect(ongoing({ condition, lower: "100", upper: "" })).toEqual({
        ok: false,
        errors: { [BLOCK_OPTIONS]: FORM_ERRORS.ongoingNeedsUpper },
      });
      expect(ongoing({ condition, lower: "", upper: "500" }).ok).toBe(true);
    }
    // PostHog allows it with a decrease.
    expect(ongoing({ condition: "relative_decrease", lower: "100", upper: "" }).ok).toBe(true);
    expect(ongoing({ checkOngoingInterval: false, lower: "100", upper: "" }).ok).toBe(true);
  });

  it("puts number problems under the field that has them", () => {
    const result = validateAlertForm(validValues({ lower: "abc", upper: "Infinity" }), FACTS);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(Object.keys(result.errors).sort()).toEqual([BLOCK_LOWER, BLOCK_UPPER]);
  });

  it("refuses lower above upper, allows equal bounds", () => {
    expect(validateAlertForm(validValues({ lower: "10", upper: "5" }), FACTS)).toEqual({
      ok: false,
      errors: { [BLOCK_LOWER]: FORM_ERRORS.lowerAboveUpper },
    });
    expect(validateAlertForm(validValues({ lower: "5", upper: "5" }), FACTS).ok).toBe(true);
    // compared as numbers, not text
    expect(validateAlertForm(validValues({ lower: "9", upper: "10" }), FACTS).ok).toBe(true);
    expect(validateAlertForm(validValues({ lower: "-10", upper: "-9" }), FACTS).ok).toBe(true);
  });

  it("refuses an absolute value condition with a percentage threshold", () => {
    const result = validateAlertForm(validValues({ thresholdType: "percentage" }), FACTS);
    expect(result).toEqual({
      ok: false,
      errors: { [BLOCK_THRESHOLD_TYPE]: FORM_ERRORS.absoluteNeedsNumber },
    });
  });

  it("refuses relative conditions on insights whose display allows only absolute values", () => {
    const facts = { ...FACTS, absoluteOnly: true };
    expect(validateAlertForm(validValues({ condition: "relative_decrease" }), facts)).toEqual({
      ok: false,
      errors: { [BLOCK_CONDITION]: FORM_ERRORS.absoluteOnly },
    });
    expect(validateAlertForm(validValues({ condition: "absolute_value" }), facts).ok).toBe(true);
  });

  it("refuses insights that cannot have alerts", () => {
    expect(validateAlertForm(validValues(), { ...FACTS, alertable: false })).toEqual({
      ok: false,
      errors: { [BLOCK_INSIGHT]: FORM_ERRORS.notAlertable },
    });
  });

  it("checks the series index against the insight's series", () => {
    expect(validateAlertForm(validValues({ seriesIndex: 2 }), FACTS)).toEqual({
      ok: false,
      errors: { [BLOCK_SERIES]: FORM_ERRORS.series(2) },
    });
    expect(validateAlertForm(validValues({ seriesIndex: 0 }), FACTS).ok).toBe(true);
    const single = validateAlertForm(validValues({ seriesIndex: null }), { ...FACTS, seriesCount: 1 });
    expect(single.ok && single.body.config.series_index).toBe(0);
  });

  it("ignores facts about a different insight (PostHog checks those on save)", () => {
    const other = { id: 1, seriesCount: 1, absoluteOnly: true, alertable: false };
    const result = validateAlertForm(validValues({ seriesIndex: 5, condition: "relative_increase" }), other);
    expect(result.ok && result.body.config.series_index).toBe(5);
  });

  it("refuses unknown choices and accepts the edited alert's own unlisted interval", () => {
    const bad = validateAlertForm(
      validValues({ condition: "sideways", thresholdType: "x", interval: "yearly" }),
      FACTS,
    );
    expect(bad.ok ? [] : Object.keys(bad.errors).sort()).toEqual([
      BLOCK_CONDITION,
      BLOCK_INTERVAL,
      BLOCK_THRESHOLD_TYPE,
    ]);
    const kept = validateAlertForm(validValues({ interval: "every_15_minutes" }), FACTS, {
      extraInterval: "every_15_minutes",
    });
    expect(kept.ok && kept.body.calculation_interval).toBe("every_15_minutes");
  });
});

describe("placeErrors", () => {
  it("keeps errors for blocks the view has and moves the rest to the first block", () => {
    expect(
      placeErrors({ [BLOCK_SERIES]: "Pick a series.", [BLOCK_NAME]: "Name it." }, [
        BLOCK_INSIGHT,
        BLOCK_NAME,
      ]),
    ).toEqual({ [BLOCK_NAME]: "Name it.", [BLOCK_INSIGHT]: "Pick a series." });
    expect(placeErrors({ [BLOCK_INSIGHT]: "A.", [BLOCK_SERIES]: "B." }, [BLOCK_INSIGHT])).toEqual({
      [BLOCK_INSIGHT]: "A. B.",
    });
  });
});

describe("readAlertForm", () => {
  it("reads a submitted state.values payload", () => {
    const values: StateValues = {
      [BLOCK_INSIGHT]: {
        [ACTION_INSIGHT]: {
          type: "external_select",
          selected_option: { text: { text: "Daily signups" }, value: "4821" },
        },
      },
      [BLOCK_NAME]: { name_input: { type: "plain_text_input", value: "Drop" } },
      [BLOCK_SERIES]: { series_select: { type: "static_select", selected_option: { value: "1" } } },
      [BLOCK_CONDITION]: {
        condition_select: { type: "static_select", selected_option: { value: "relative_decrease" } },
      },
      [BLOCK_THRESHOLD_TYPE]: {
        threshold_type_select: { type: "static_select", selected_option: { value: "percentage" } },
      },
      [BLOCK_LOWER]: { lower_input: { type: "plain_text_input", value: null } },
      [BLOCK_UPPER]: { upper_input: { type: "plain_text_input", value: "25" } },
      [BLOCK_INTERVAL]: { interval_select: { type: "static_select", selected_option: { value: "hourly" } } },
      [BLOCK_OPTIONS]: {
        options_checks: { type: "checkboxes", selected_options: [{ value: "skip_weekend" }] },
      },
      [BLOCK_SUBSCRIBERS]: {
        [ACTION_SUBSCRIBERS]: {
          type: "multi_static_select",
          selected_options: [
            { text: { text: "Ann" }, value: "7" },
            { text: { text: "bogus" }, value: "not-a-number" },
          ],
        },
      },
    };
    expect(readAlertForm(values)).toEqual({
      insight: { id: 4821, label: "Daily signups" },
      name: "Drop",
      seriesIndex: 1,
      condition: "relative_decrease",
      thresholdType: "percentage",
      lower: "",
      upper: "25",
      interval: "hourly",
      checkOngoingInterval: false,
      skipWeekend: true,
      enabled: false,
      subscribers: [{ id: 7, label: "Ann" }],
    });
  });

  it("never throws on an empty or odd payload", () => {
    const values = readAlertForm({});
    expect(values.insight).toBeNull();
    expect(values.enabled).toBe(true);
    expect(
      readAlertForm({ [BLOCK_INSIGHT]: { [ACTION_INSIGHT]: { selected_option: null } } }).insight,
    ).toBeNull();
  });
});

describe("a type-ahead's notice picked as a subscriber", () => {
  it("is refused with a sentence under the field, not dropped in silence", () => {
    const values = readAlertForm({
      [BLOCK_SUBSCRIBERS]: {
        [ACTION_SUBSCRIBERS]: {
          selected_options: [
            { text: { text: "Ann" }, value: "7" },
            { text: { text: "⚠️ Could not search" }, value: MENU_NOTICE_VALUE },
          ],
        },
      },
    });
    expect(values.subscribers).toEqual([{ id: 7, label: "Ann" }]);
    const result = validateAlertForm(
      validValues({ subscribers: values.subscribers, pickedMenuNotice: values.pickedMenuNotice }),
      FACTS,
    );
    expect(result).toEqual({ ok: false, errors: { [BLOCK_SUBSCRIBERS]: FORM_ERRORS.menuNotice } });
  });
});

describe("alertChanges", () => {
  const body = () => {
    const r = validateAlertForm(formValuesFromAlert(makeAlert(), "Daily signups", new Map()), FACTS);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    return r.body;
  };

  it("is empty when nothing changed", () => {
    expect(alertChanges(makeAlert(), body())).toEqual({});
  });

  it("ignores subscriber order", () => {
    expect(alertChanges(makeAlert({ subscribed_users: [9, 7] }), body())).toEqual({});
  });

  it("lists only what changed", () => {
    const b = body();
    b.threshold.configuration.bounds.upper = 500;
    b.enabled = false;
    expect(alertChanges(makeAlert(), b)).toEqual({
      threshold: { configuration: { type: "absolute", bounds: { lower: 100, upper: 500 } } },
      enabled: false,
    });
  });

  it("sends condition and config when PostHog returned none", () => {
    const patch = alertChanges(makeAlert({ condition: null, config: null }), body());
    expect(Object.keys(patch).sort()).toEqual(["condition", "config"]);
  });
});

describe("edit round trip", () => {
  it("an untouched edit form validates to no changes, including percentage bounds", () => {
    const bounds = fc.option(fc.double({ min: -1e12, max: 1e12, noNaN: true, noDefaultInfinity: true }), {
      nil: null,
    });
    fc.assert(
      fc.property(
        bounds,
        bounds,
        fc.constantFrom("absolute", "percentage"),
        fc.constantFrom("relative_increase", "relative_decrease"),
        (a, b, type, condition) => {
          if (a === null && b === null) return;
          const [lower, upper] = a !== null && b !== null && a > b ? [b, a] : [a, b];
          const alert = makeAlert({
            threshold: { configuration: { type, bounds: { lower, upper } } },
            condition: { type: condition },
          });
          const view = buildAlertForm({
            meta: { m: "edit", a: ALERT_ID },
            values: formValuesFromAlert(alert, "Daily signups", new Map()),
            insight: INSIGHT,
            members: [
              { id: 7, label: "Ann" },
              { id: 9, label: "Bo" },
            ],
          });
          const read = readAlertForm(stateFromView(view));
          const result = validateAlertForm(read, factsFromMeta(decodeMeta(view)));
          if (!result.ok) throw new Error(JSON.stringify(result.errors));
          expect(alertChanges(alert, result.body)).toEqual({});
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("the edit form sends only what was changed in it", () => {
  /**
   * Opens the edit form on `alert`, changes the given fields (by block, as Slack sends them),
   * and returns the PATCH a save would send when PostHog has `current` by then.
   */
  function save(
    alert: Alert,
    insight: FormInsight | null,
    changes: Record<string, Record<string, unknown>>,
    current: Alert = alert,
  ): Record<string, unknown> {
    const view = buildEditAlertForm({
      meta: { m: "edit", a: ALERT_ID, h: alert.insight },
      values: formValuesFromAlert(alert, "Daily signups", new Map()),
      insight,
      members: null,
    });
    expectValidModal(view);
    const meta = decodeMeta(view);
    const state = stateFromView(view);
    for (const [block, value] of Object.entries(changes)) {
      const action = Object.keys(state[block] ?? {})[0] as string;
      state[block] = { [action]: { ...state[block]?.[action], ...value } };
    }
    const read = readAlertForm(state);
    const result = validateAlertForm(read, factsFromMeta(meta), { extraInterval: meta.x });
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    if (!meta.b) throw new Error("the edit form carries no prints");
    return alertChanges(current, result.body, { opened: meta.b, submitted: formPrints(read) });
  }
  const renamed = (alert: Alert, insight: FormInsight | null) =>
    save(alert, insight, { [BLOCK_NAME]: { value: "Renamed" } });

  it("leaves a series the form could not list, and a condition the chart no longer offers, as they are", () => {
    const alert = makeAlert({
      config: { type: "TrendsAlertConfig", series_index: 2, check_ongoing_interval: false },
      condition: { type: "relative_increase" },
      threshold: { configuration: { type: "absolute", bounds: { lower: null, upper: 50 } } },
    });
    // The insight's series could not be read, and it now allows absolute values only.
    const unreadable: FormInsight = { ...INSIGHT, seriesCount: 0, series: [], absoluteOnly: true };
    expect(renamed(alert, unreadable)).toEqual({ name: "Renamed" });
    // An insight the form knows nothing about: the same.
    expect(renamed(alert, null)).toEqual({ name: "Renamed" });
  });

  it("keeps what others changed even when the form could not be saved as it opened", () => {
    // Checks the current interval with a lower bound only: PostHog now asks for an upper bound.
    const alert = makeAlert({
      config: { type: "TrendsAlertConfig", series_index: 1, check_ongoing_interval: true },
    });
    // Someone disables it while the form is open; this person adds the upper bound.
    const disabled = makeAlert({ ...alert, enabled: false });
    expect(save(alert, INSIGHT, { [BLOCK_UPPER]: { value: "500" } }, disabled)).toEqual({
      threshold: { configuration: { type: "absolute", bounds: { lower: 100, upper: 500 } } },
    });
  });

  it("sends the condition and series shown for a newly chosen insight", () => {
    // The old insight allowed absolute values only, so the form showed that, not the alert's own.
    const alert = makeAlert({
      condition: { type: "relative_increase" },
      threshold: { configuration: { type: "absolute", bounds: { lower: null, upper: 50 } } },
    });
    const patch = save(
      alert,
      { ...INSIGHT, absoluteOnly: true },
      {
        [BLOCK_INSIGHT]: { selected_option: { text: { type: "plain_text", text: "Weekly" }, value: "8" } },
      },
    );
    expect(patch).toEqual({ insight: 8, condition: { type: "absolute_value" } });
  });

  it("leaves a config PostHog returned in another shape (a funnel alert's) as it is", () => {
    const alert = makeAlert({ config: null, condition: null });
    expect(renamed(alert, INSIGHT)).toEqual({ name: "Renamed" });
  });
});

describe("buildAlertForm", () => {
  it("builds the create form with every writable field", () => {
    const view = buildAlertForm(createModel());
    expectValidModal(view);
    expect(view.callback_id).toBe(VIEW_ALERT_FORM);
    expect(view.title.text).toBe("New alert");
    expect(view.submit?.text).toBe("Create alert");
    expect([...formInputBlocks(view)]).toEqual([
      BLOCK_INSIGHT,
      BLOCK_NAME,
      BLOCK_CONDITION,
      BLOCK_THRESHOLD_TYPE,
      BLOCK_LOWER,
      BLOCK_UPPER,
      BLOCK_INTERVAL,
      BLOCK_OPTIONS,
      BLOCK_SUBSCRIBERS,
    ]);
    const insight = inputBlock(view, BLOCK_INSIGHT);
    expect(insight.dispatch_action).toBe(true);
    expect(insight.element).toMatchObject({ type: "external_select", action_id: ACTION_INSIGHT });
    expect(insight.element.initial_option).toBeUndefined();
    expect(inputBlock(view, BLOCK_NAME).element.max_length).toBe(255);
    expect(inputBlock(view, BLOCK_LOWER).optional).toBe(true);
    expect(decodeMeta(view)).toEqual({ m: "create" });
    // New alerts start enabled, absolute, daily.
    const state = readAlertForm(stateFromView(view));
    expect(state).toMatchObject({
      enabled: true,
      condition: "absolute_value",
      thresholdType: "absolute",
      interval: "daily",
    });
  });

  it("shows the chosen insight's series and carries its facts in private_metadata", () => {
    const view = buildAlertForm(
      createModel({
        values: { ...defaultFormValues(), insight: { id: 4821, label: "Daily signups" } },
        insight: INSIGHT,
      }),
    );
    expectValidModal(view);
    const series = inputBlock(view, BLOCK_SERIES).element;
    expect((series.options as Array<{ value: string }>).map((o) => o.value)).toEqual(["0", "1"]);
    expect(series.initial_option).toEqual((series.options as unknown[])[0]);
    expect(inputBlock(view, BLOCK_INSIGHT).element.initial_option).toMatchObject({ value: "4821" });
    expect(decodeMeta(view)).toEqual({ m: "create", i: 4821, n: 2, o: false, k: true });
  });

  it("offers only absolute value on absolute-only insights", () => {
    const view = buildAlertForm(createModel({ insight: { ...INSIGHT, absoluteOnly: true } }));
    expectValidModal(view);
    const options = inputBlock(view, BLOCK_CONDITION).element.options as Array<{ value: string }>;
    expect(options.map((o) => o.value)).toEqual(["absolute_value"]);
  });

  it("prefills the edit form from an alert, percentage bounds as percent", () => {
    const alert = makeAlert({
      threshold: { configuration: { type: "percentage", bounds: { lower: 0.29, upper: 0.5 } } },
      condition: { type: "relative_increase" },
      config: { type: "TrendsAlertConfig", series_index: 1, check_ongoing_interval: true },
      skip_weekend: true,
      enabled: false,
    });
    const labels = new Map([[7, "Ann Lee (ann@example.com)"]]);
    const view = buildAlertForm({
      meta: { m: "edit", a: ALERT_ID },
      values: formValuesFromAlert(alert, "Daily signups", labels),
      insight: INSIGHT,
      members: [{ id: 7, label: "Ann Lee (ann@example.com)" }],
    });
    expectValidModal(view);
    expect(view.title.text).toBe("Edit alert");
    expect(view.submit?.text).toBe("Save changes");
    expect(inputBlock(view, BLOCK_LOWER).element.initial_value).toBe("29");
    expect(inputBlock(view, BLOCK_UPPER).element.initial_value).toBe("50");
    expect(inputBlock(view, BLOCK_NAME).element.initial_value).toBe("Signups dropped");
    expect(inputBlock(view, BLOCK_SERIES).element.initial_option).toMatchObject({ value: "1" });
    expect(inputBlock(view, BLOCK_CONDITION).element.initial_option).toMatchObject({
      value: "relative_increase",
    });
    expect(inputBlock(view, BLOCK_THRESHOLD_TYPE).element.initial_option).toMatchObject({
      value: "percentage",
    });
    const checks = inputBlock(view, BLOCK_OPTIONS).element.initial_options as Array<{ value: string }>;
    expect(checks.map((o) => o.value).sort()).toEqual(["check_ongoing_interval", "skip_weekend"]);
    // Subscriber 9 is not an active member any more; they stay on the alert, labelled by id.
    const subscribers = inputBlock(view, BLOCK_SUBSCRIBERS).element;
    expect(subscribers.type).toBe("multi_static_select");
    expect(
      (subscribers.initial_options as Array<{ value: string; text: { text: string } }>).map(
        (o) => o.text.text,
      ),
    ).toEqual(["Ann Lee (ann@example.com)", "PostHog user 9"]);
    expect(decodeMeta(view)).toMatchObject({ m: "edit", a: ALERT_ID, i: 4821 });
  });

  it("keeps an interval the form does not list as a choice", () => {
    const alert = makeAlert({ calculation_interval: "every_15_minutes" });
    const view = buildAlertForm({
      meta: { m: "edit", a: ALERT_ID, x: "every_15_minutes" },
      values: formValuesFromAlert(alert, "Daily signups", new Map()),
      insight: INSIGHT,
      members: null,
    });
    expectValidModal(view);
    expect(inputBlock(view, BLOCK_INTERVAL).element.initial_option).toMatchObject({
      value: "every_15_minutes",
    });
  });

  it("uses a static subscriber menu up to 100 people and a search beyond", () => {
    const people = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ id: i + 1, label: `Person ${i + 1}` }));
    const small = buildAlertForm(createModel({ members: people(100) }));
    expectValidModal(small);
    expect(inputBlock(small, BLOCK_SUBSCRIBERS).element.type).toBe("multi_static_select");
    const large = buildAlertForm(
      createModel({
        members: people(101),
        values: { ...defaultFormValues(), subscribers: [{ id: 3, label: "Person 3" }] },
      }),
    );
    expectValidModal(large);
    expect(inputBlock(large, BLOCK_SUBSCRIBERS).element).toMatchObject({
      type: "multi_external_select",
      action_id: ACTION_SUBSCRIBERS,
      initial_options: [{ value: "3" }],
    });
    const unknown = buildAlertForm(createModel({ members: null }));
    expect(inputBlock(unknown, BLOCK_SUBSCRIBERS).element.type).toBe("multi_external_select");
  });

  it("stays within Slack's limits with hostile and huge input", () => {
    const long = `<!channel> *bold* ${"é".repeat(400)}`;
    const view = buildAlertForm({
      meta: { m: "edit", a: ALERT_ID, c: "C0123ABCDEF", x: "every_15_minutes" },
      values: {
        ...validValues(),
        insight: { id: 999999999999, label: long },
        name: "n".repeat(400),
        lower: "9".repeat(100),
        subscribers: Array.from({ length: 150 }, (_, i) => ({ id: i, label: long })),
      },
      insight: {
        ...INSIGHT,
        id: 999999999999,
        name: long,
        seriesCount: 300,
        series: Array.from({ length: 300 }, (_, index) => ({ index, label: long })),
      },
      members: Array.from({ length: 500 }, (_, i) => ({ id: i, label: long })),
      notice: `⚠️ ${"x".repeat(5000)}`,
      fieldErrors: Object.fromEntries(
        [BLOCK_NAME, BLOCK_LOWER, BLOCK_SERIES].map((b) => [b, "e".repeat(3000)]),
      ),
    });
    expectValidModal(view);
    expect(view.private_metadata?.length).toBeLessThanOrEqual(3000);
  });

  it("shows errors under the fields they belong to", () => {
    const view = buildAlertForm(
      createModel({ insight: INSIGHT, fieldErrors: { [BLOCK_LOWER]: "Too low." } }),
    );
    expectValidModal(view);
    expect(inputBlock(view, BLOCK_LOWER).hint?.text).toBe("⚠️ Too low.");
    expect(inputBlock(view, BLOCK_UPPER).hint?.text).not.toContain("⚠️");
  });
});

describe("failureOnForm and blockForAttr", () => {
  it.each([
    ["insight", BLOCK_INSIGHT],
    ["name", BLOCK_NAME],
    ["subscribed_users", BLOCK_SUBSCRIBERS],
    ["threshold", BLOCK_LOWER],
    ["threshold__configuration", BLOCK_LOWER],
    ["threshold__non_field_errors", BLOCK_LOWER],
    ["threshold__configuration__type", BLOCK_THRESHOLD_TYPE],
    ["calculation_interval", BLOCK_INTERVAL],
    ["condition", BLOCK_CONDITION],
    ["config", BLOCK_SERIES],
    ["config__series_index", BLOCK_SERIES],
    ["skip_weekend", BLOCK_OPTIONS],
    ["alert", null],
    ["something_new", null],
  ])("maps attr %s to %s", (attr, block) => {
    expect(blockForAttr(attr)).toBe(block);
  });

  it("reads the field from PostHog's detail when attr is null", () => {
    expect(blockForAttr(null, "series_index 3 is out of range (query has 2 series)")).toBe(BLOCK_SERIES);
    expect(
      blockForAttr(
        null,
        "Absolute value alerts require an absolute threshold, but a percentage threshold was configured",
      ),
    ).toBe(BLOCK_THRESHOLD_TYPE);
    expect(blockForAttr(null, "Your plan is limited to 5 alerts.")).toBeNull();
    expect(blockForAttr(null)).toBeNull();
  });

  it("rebuilds the full form with PostHog's reason under the named field and the input kept", () => {
    const values = validValues({ lower: "10", upper: "5,000", name: "Mine <b>" });
    const model = createModel({ values, insight: INSIGHT });
    const present = formInputBlocks(buildAlertForm(model));
    const failure = {
      code: "validation",
      attr: "threshold__non_field_errors",
      detail: "Lower threshold must be less than upper threshold",
      userMessage: "PostHog says: Lower threshold must be less than upper threshold",
    };
    const { notice, fieldErrors } = failureOnForm(failure, "create", present);
    const view = buildAlertForm({ ...model, notice, fieldErrors });
    expectValidModal(view);
    expect(view.blocks[0]).toMatchObject({ type: "section" });
    expect(JSON.stringify(view.blocks[0])).toContain("did not create the alert");
    expect(inputBlock(view, BLOCK_LOWER).hint?.text).toBe(
      "⚠️ Lower threshold must be less than upper threshold",
    );
    expect(readAlertForm(stateFromView(view))).toEqual(values);
  });

  it("puts PostHog's refusal of checking the current interval under Options, in a sentence that ends", () => {
    const detail =
      "check_ongoing_interval is only supported for alert condition absolute_value when upper threshold is specified";
    const { notice, fieldErrors } = failureOnForm(
      { code: "validation", attr: null, detail, userMessage: `PostHog says: ${detail}` },
      "create",
      new Set([BLOCK_LOWER, BLOCK_OPTIONS]),
    );
    expect(fieldErrors).toEqual({ [BLOCK_OPTIONS]: detail });
    expect(notice).toMatch(/specified\. See the highlighted field\.$/);
  });

  it("puts an unknown attr, or a field the form lacks, only at the top", () => {
    const present = new Set([BLOCK_INSIGHT, BLOCK_NAME]);
    const plan = failureOnForm(
      {
        code: "validation",
        attr: "alert",
        detail: "Your plan is limited to 5 alerts.",
        userMessage: "PostHog says: …",
      },
      "create",
      present,
    );
    expect(plan.fieldErrors).toEqual({});
    const series = failureOnForm(
      { code: "validation", attr: null, detail: "series_index 3 is out of range", userMessage: "x" },
      "edit",
      present,
    );
    expect(series.fieldErrors).toEqual({});
  });

  it("warns that a create that timed out may have happened", () => {
    const { notice, fieldErrors } = failureOnForm(
      { code: "timeout", userMessage: "PostHog took too long to answer; try again shortly." },
      "create",
      new Set([BLOCK_INSIGHT]),
    );
    expect(notice).toContain("may have been created");
    expect(fieldErrors).toEqual({});
  });

  it("says an edit whose first read failed saved nothing, and one whose write was lost may have", () => {
    const timeout = { code: "timeout", userMessage: "PostHog took too long to answer; try again shortly." };
    expect(failureOnForm({ ...timeout, sent: false }, "edit", new Set()).notice).toBe(
      "⚠️ PostHog did not save the alert: PostHog took too long to answer; try again shortly.",
    );
    expect(failureOnForm(timeout, "edit", new Set()).notice).toContain("may or may not have been saved");
    // Said in the channel once the form is gone: nothing to submit again.
    expect(failureOnForm(timeout, "edit", new Set(), "channel").notice).toMatch(
      /may or may not have been saved; check the alert with `\/alerts show`/,
    );
  });

  it.each([
    [BLOCK_SUBSCRIBERS, "subscribed_users", "One of these people is no longer an active PostHog user"],
    [BLOCK_INSIGHT, "insight", "That insight no longer exists in PostHog"],
  ])("says PostHog's does_not_exist in words under %s", (block, attr, sentence) => {
    const { fieldErrors } = failureOnForm(
      {
        code: "validation",
        attr,
        posthogCode: "does_not_exist",
        detail: 'Invalid pk "99" - object does not exist.',
        userMessage: 'PostHog says: Invalid pk "99" - object does not exist.',
      },
      "create",
      new Set([block]),
    );
    expect(fieldErrors[block]).toMatch(new RegExp(`^${sentence}`));
  });

  it("escapes PostHog's words", () => {
    const { notice } = failureOnForm(
      { code: "validation", attr: null, userMessage: "PostHog says: <!channel> *boom*" },
      "edit",
      new Set(),
    );
    expect(notice).not.toContain("<!channel>");
    expect(notice).toContain("&lt;!channel&gt;");
  });
});

describe("other views", () => {
  it("loading, saving and error views have no inputs and no submit", () => {
    for (const view of [
      buildLoadingView("create"),
      buildLoadingView("edit"),
      buildSavingView("create", "<!here> x".repeat(100)),
      buildFormErrorView("edit", "That alert no longer exists in PostHog (it may have been deleted)."),
    ]) {
      expectValidModal(view);
      expect(view.submit).toBeUndefined();
      expect(view.close).toBeDefined();
      expect(JSON.stringify(view)).not.toContain("<!here>");
    }
  });

  it("the success view links to the alert in PostHog and only closes", () => {
    const alert = makeAlert({ name: "*Signups* <!channel>" });
    const view = buildSuccessView({ mode: "create", alert, links: LINKS, changed: true });
    expectValidModal(view);
    expect(view.submit).toBeUndefined();
    expect(view.close?.text).toBe("Done");
    const json = JSON.stringify(view);
    expect(json).toContain(`https://us.posthog.com/project/12345/insights?tab=alerts&alert_id=${ALERT_ID}`);
    expect(json).not.toContain("<!channel>");
    expect(json).toContain("Created");
    const same = buildSuccessView({ mode: "edit", alert, links: LINKS, changed: false });
    expectValidModal(same);
    expect(JSON.stringify(same)).toContain("Nothing changed");
  });
});

describe("private_metadata", () => {
  it("decodes what the builders encode and refuses tampering", () => {
    expect(
      alertFormMetaCodec.decode(alertFormMetaCodec.encode({ m: "edit", a: ALERT_ID, c: "C123ABC" })),
    ).toEqual({
      m: "edit",
      a: ALERT_ID,
      c: "C123ABC",
    });
    expect(alertFormMetaCodec.decode('{"m":"edit"}')).toBeNull();
    expect(alertFormMetaCodec.decode('{"m":"create","a":"0192c0de-7a1b-7c3e-9d2f-4b5a6c7d8e9f"}')).toBeNull();
    expect(alertFormMetaCodec.decode('{"m":"edit","a":"../../etc"}')).toBeNull();
    expect(alertFormMetaCodec.decode("not json")).toBeNull();
  });

  it("turns metadata into insight facts", () => {
    expect(factsFromMeta({ m: "create" })).toBeNull();
    expect(factsFromMeta({ m: "create", i: 5, n: 3, o: true, k: true })).toEqual({
      id: 5,
      seriesCount: 3,
      absoluteOnly: true,
      alertable: true,
    });
    expect(genericSeries(2)).toEqual([
      { index: 0, label: "Series A" },
      { index: 1, label: "Series B" },
    ]);
  });
});

describe("menus", () => {
  it("insight options: names fit, ids as values, no duplicates, at most 100", () => {
    const insights = Array.from({ length: 150 }, (_, i) => ({
      id: i % 120,
      name: `Insight ${"x".repeat(100)} ${i}`,
    }));
    const options = insightMenuOptions(insights);
    expect(options).toHaveLength(100);
    expect(new Set(options.map((o) => o.value)).size).toBe(100);
    for (const o of options) {
      expect(o.text.text.length).toBeLessThanOrEqual(75);
      expect(o.value).toMatch(/^\d+$/);
    }
    expect(insightMenuOptions(insights, 25)).toHaveLength(25);
  });

  it("member options: filter by name or email, skip inactive people", () => {
    const members = [
      makeMember(7, "Ann", "Lee", "ann@example.com"),
      makeMember(9, "Bo", "Chen", "bo@corp.io"),
      makeMember(11, "Ann", "Gone", "gone@example.com", false),
    ];
    expect(memberLabel(members[0] as Member)).toBe("Ann Lee (ann@example.com)");
    expect(memberMenuOptions(members, "ann").map((o) => o.value)).toEqual(["7"]);
    expect(memberMenuOptions(members, "CORP").map((o) => o.value)).toEqual(["9"]);
    expect(memberMenuOptions(members, "").map((o) => o.value)).toEqual(["7", "9"]);
    expect(memberMenuOptions(members, "ann chen")).toEqual([]);
  });
});

describe("parseInsightRef", () => {
  it.each([
    ["https://us.posthog.com/project/123/insights/AaVQ8Ijw", { ref: "AaVQ8Ijw", projectId: "123" }],
    ["https://eu.posthog.com/project/123/insights/AaVQ8Ijw/edit", { ref: "AaVQ8Ijw", projectId: "123" }],
    [
      "<https://us.posthog.com/project/9/insights/AaVQ8Ijw?foo=1#x|Signups>",
      { ref: "AaVQ8Ijw", projectId: "9" },
    ],
    ["https://posthog.example.com/insights/Zz12Yy34", { ref: "Zz12Yy34", projectId: null }],
    ["4821", { ref: 4821, projectId: null }],
    ["AaVQ8Ijw", { ref: "AaVQ8Ijw", projectId: null }],
  ])("reads %s", (text, expected) => {
    expect(parseInsightRef(text)).toEqual(expected);
  });

  it.each([
    null,
    "",
    "   ",
    "two words",
    "https://us.posthog.com/project/1/insights/new",
    "https://us.posthog.com/project/1/dashboard/5",
    "ftp://x/insights/abc",
  ])("rejects %j", (text) => {
    expect(parseInsightRef(text)).toBeNull();
  });
});
