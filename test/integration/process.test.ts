import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";

const MAIN = new URL("../../dist/main.js", import.meta.url).pathname;

function run(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: "pipe",
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("the bot process", () => {
  it("is built (npm test builds before running the tests)", () => {
    expect(existsSync(MAIN)).toBe(true);
  });

  it("exits non-zero with one readable message naming every problem, and no stack trace", async () => {
    const result = await run({ SLACK_BOT_TOKEN: "xoxp-wrong-kind-of-token", PORT: "http" });
    expect(result.code).toBe(2);
    const out = result.stderr;
    expect(out).toContain("configuration problems");
    for (const variable of [
      "SLACK_BOT_TOKEN",
      "SLACK_SIGNING_SECRET",
      "POSTHOG_PERSONAL_API_KEY",
      "POSTHOG_PROJECT_ID",
      "PORT",
    ]) {
      expect(out).toContain(variable);
    }
    expect(out).not.toContain("xoxp-wrong-kind-of-token");
    expect(out).not.toMatch(/\n\s+at /);
    expect(result.stdout).toBe("");
  });
});
