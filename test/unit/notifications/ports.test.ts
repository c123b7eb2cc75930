import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { describeError, type Logger, realTimer } from "../../../src/notifications/ports.js";

describe("ports", () => {
  it("accepts a pino logger as the Logger port", () => {
    const logger: Logger = pino({ level: "silent" });
    expect(() => logger.warn({ alertId: "a" }, "message")).not.toThrow();
  });

  it("describes errors with their code", () => {
    expect(describeError(Object.assign(new Error("Not found."), { code: "posthog_http_error" }))).toBe(
      "posthog_http_error: Not found.",
    );
    expect(describeError(new Error("plain"))).toBe("plain");
    expect(describeError("text")).toBe("text");
  });

  it("runs and cancels real timers", async () => {
    let ran = 0;
    const cancel = realTimer(() => {
      ran++;
    }, 1);
    cancel();
    await new Promise<void>((resolve) => realTimer(resolve, 5));
    expect(ran).toBe(0);
  });
});
