import { afterEach, describe, expect, it, vi } from "vitest";
import { ACTION_SNOOZE_PRESET, BLOCK_SNOOZE_PRESET } from "../../../src/blocks/snooze-modal.js";
import { readSnoozeChoice } from "../../../src/listeners/views.js";
import { fixture } from "./support.js";

const tomorrowNine = {
  [BLOCK_SNOOZE_PRESET]: { [ACTION_SNOOZE_PRESET]: { selected_option: { value: "tomorrow_9" } } },
};

describe("reading the snooze modal's preset before the ack", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("uses the user's time zone when Slack says it in time", async () => {
    const f = fixture([]);
    // The fixture's user is in Europe/Berlin (UTC+1 in March); now is 2026-03-02 10:00 UTC.
    expect(await readSnoozeChoice(f.deps, "U0ANN0001", tomorrowNine as never)).toEqual({
      ok: true,
      until: new Date("2026-03-03T08:00:00Z"),
    });
  });

  it("reads it in UTC after a second without an answer from Slack, so the ack is not late", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const f = fixture([]);
    f.deps.directory = { ...f.deps.directory, user: () => new Promise(() => {}) };
    let settled = false;
    const choice = readSnoozeChoice(f.deps, "U0ANN0001", tomorrowNine as never).finally(() => {
      settled = true;
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await choice).toEqual({ ok: true, until: new Date("2026-03-03T09:00:00Z"), readInUtc: true });
  });

  it("says a clock time was read in UTC only for clock presets: a duration needs no time zone", async () => {
    const f = fixture([]);
    f.deps.directory = { ...f.deps.directory, user: async () => null };
    expect(await readSnoozeChoice(f.deps, "U0ANN0001", tomorrowNine as never)).toMatchObject({
      readInUtc: true,
    });
    const hour = { [BLOCK_SNOOZE_PRESET]: { [ACTION_SNOOZE_PRESET]: { selected_option: { value: "1h" } } } };
    expect(await readSnoozeChoice(f.deps, "U0ANN0001", hour as never)).toEqual({
      ok: true,
      until: new Date("2026-03-02T11:00:00Z"),
    });
  });
});
