import { describe, expect, it } from "vitest";
import { boltLogger, createLogger } from "../../src/log.js";

describe("createLogger", () => {
  const secrets = ["xoxb-very-secret-token", "phx_personal_key_123"];

  it("scrubs secret values wherever they appear, at every level", () => {
    const lines: string[] = [];
    const logger = createLogger({ level: "trace", secrets, out: { write: (l) => lines.push(l) } });
    logger.trace("token xoxb-very-secret-token in a message");
    logger.error({ err: "request to https://x/?key=phx_personal_key_123 failed" }, "boom");
    logger.info({ headers: { authorization: "Bearer anything" } }, "headers");
    boltLogger(logger).debug("bolt says", { token: "xoxb-very-secret-token" });
    const all = lines.join("");
    expect(lines).toHaveLength(4);
    for (const s of secrets) expect(all).not.toContain(s);
    expect(all).not.toContain("Bearer anything");
    expect(all).toContain("[redacted]");
  });

  it("writes JSON lines at the configured level", () => {
    const lines: string[] = [];
    const logger = createLogger({ level: "warn", secrets: [], out: { write: (l) => lines.push(l) } });
    logger.info("hidden");
    logger.warn({ alertId: "a" }, "shown");
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? "{}")).toMatchObject({ level: 40, msg: "shown", alertId: "a" });
  });
});
