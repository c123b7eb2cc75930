import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { snoozeOriginCodec } from "../../../src/blocks/snooze-modal.js";
import {
  alertRefCodec,
  jsonCodec,
  LIST_FILTERS,
  listPageCodec,
  ROW_VERBS,
  rowMenuCodec,
} from "../../../src/slack/codecs.js";
import { LIMITS } from "../../../src/slack/limits.js";

const alertId = fc.uuid();

describe("codecs", () => {
  it("decode what they encode: alert refs, row menu choices and list pages", () => {
    fc.assert(
      fc.property(
        alertId,
        fc.constantFrom(...ROW_VERBS),
        fc.constantFrom(...LIST_FILTERS),
        fc.string({ maxLength: 100 }),
        fc.integer({ min: 0, max: 100_000 }),
        (a, v, f, q, o) => {
          expect(alertRefCodec.decode(alertRefCodec.encode({ a }))).toEqual({ a });
          expect(rowMenuCodec.decode(rowMenuCodec.encode({ v, a }))).toEqual({ v, a });
          expect(listPageCodec.decode(listPageCodec.encode({ f, q, o }))).toEqual({ f, q, o });
        },
      ),
    );
  });

  it("encode without parsing, but still within the limit Slack puts on the field", () => {
    const value = rowMenuCodec.encode({ v: "edit", a: "0192c0de-7a1b-7c3e-9d2f-000000000001" });
    expect(value).toBe('{"v":"edit","a":"0192c0de-7a1b-7c3e-9d2f-000000000001"}');
    expect(value.length).toBeLessThanOrEqual(LIMITS.optionValue);
    expect(() => alertRefCodec.encode({ a: "x".repeat(LIMITS.optionValue) })).toThrow(/limit/);
  });

  it("refuse on decode what was not theirs: wrong shapes, bad ids, oversize and non-JSON", () => {
    // Encoding no longer checks the shape, so decoding is where a bad value is caught.
    expect(alertRefCodec.decode(alertRefCodec.encode({ a: "not-a-uuid" }))).toBeNull();
    for (const raw of [
      undefined,
      null,
      "",
      "{",
      "[]",
      "1h",
      ' {"a":"0192c0de-7a1b-7c3e-9d2f-000000000001"}',
      '{"a":"0192c0de-7a1b-7c3e-9d2f-000000000001"}',
      '{"v":"explode","a":"0192c0de-7a1b-7c3e-9d2f-000000000001"}',
      `{"v":"edit","a":"${"0".repeat(200)}"}`,
    ]) {
      expect(rowMenuCodec.decode(raw)).toBeNull();
    }
    expect(listPageCodec.decode('{"f":"all","q":"","o":-1}')).toBeNull();
    expect(
      listPageCodec.decode(`{"f":"all","q":"","o":0,"pad":"${"x".repeat(LIMITS.buttonValue)}"}`),
    ).toBeNull();
  });

  it("check on encode when asked to, for values assembled from several sources", () => {
    const strict = jsonCodec(z.object({ n: z.number().int() }), 100, { checkOnEncode: true });
    const loose = jsonCodec(z.object({ n: z.number().int() }), 100);
    expect(() => strict.encode({ n: 1.5 })).toThrow();
    expect(loose.encode({ n: 1.5 })).toBe('{"n":1.5}');
    expect(loose.decode('{"n":1.5}')).toBeNull();
    // The snooze modal's metadata is such a value.
    expect(() =>
      snoozeOriginCodec.encode({ a: "0192c0de-7a1b-7c3e-9d2f-000000000001", c: "nope" }),
    ).toThrow();
  });
});
