import { describe, expect, it } from "vitest";
import { firedAfterAGap } from "../../../src/notifications/render.js";

const HOUR = 3_600_000;

describe("firedAfterAGap", () => {
  it("counts firings up to one and a half check intervals apart as in a row", () => {
    expect(firedAfterAGap(1.5 * HOUR, 0, "hourly")).toBe(false);
    expect(firedAfterAGap(1.5 * HOUR + 1, 0, "hourly")).toBe(true);
    expect(firedAfterAGap(24 * HOUR, 0, "daily")).toBe(false);
    expect(firedAfterAGap(48 * HOUR, 0, "daily")).toBe(true);
    expect(firedAfterAGap(8 * 24 * HOUR, 0, "weekly")).toBe(false);
  });

  it("counts as in a row whatever it cannot judge: unknown intervals or times", () => {
    expect(firedAfterAGap(100 * HOUR, 0, "every 5 minutes")).toBe(false);
    expect(firedAfterAGap(100 * HOUR, 0, null)).toBe(false);
    expect(firedAfterAGap(null, 0, "hourly")).toBe(false);
    expect(firedAfterAGap(100 * HOUR, null, "hourly")).toBe(false);
  });
});
