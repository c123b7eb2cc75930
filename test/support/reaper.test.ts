import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ts from "typescript";
import { afterAll, describe, expect, it } from "vitest";

const dir = mkdtempSync(join(tmpdir(), "reaper-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Running, not gone and not a zombie (an orphan's exit is reaped by init, if at all). */
const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
};

/**
 * A parent process that starts a long `sleep` through the reaper, prints the sleep's pid,
 * and waits; the test then ends the parent the way vitest ends a worker.
 */
async function parentWithChild(group: boolean) {
  const source = readFileSync(new URL("./reaper.ts", import.meta.url), "utf8");
  const js = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  writeFileSync(join(dir, "reaper.mjs"), js);
  writeFileSync(
    join(dir, "parent.mjs"),
    `import { spawn } from "node:child_process";
import { reapWithParent } from "./reaper.mjs";
const child = spawn("sleep", ["600"], { stdio: "ignore", detached: ${group} });
reapWithParent(child, { group: ${group} });
console.log(child.pid);
setInterval(() => {}, 1000);
`,
  );
  const parent = spawn(process.execPath, [join(dir, "parent.mjs")], { stdio: ["ignore", "pipe", "inherit"] });
  const pid = await new Promise<number>((resolve) =>
    parent.stdout.once("data", (d) => resolve(Number(String(d)))),
  );
  return { parent, pid };
}

describe("children die with the process that started them", () => {
  for (const group of [false, true]) {
    it(`on SIGTERM, as when vitest ends a worker whose test timed out${group ? " (a process group)" : ""}`, async () => {
      const { parent, pid } = await parentWithChild(group);
      expect(alive(pid)).toBe(true);
      const exited = new Promise<number | null>((resolve) => parent.once("exit", (code) => resolve(code)));
      parent.kill("SIGTERM");
      expect(await exited).toBe(143);
      await expect.poll(() => alive(pid), { timeout: 5_000 }).toBe(false);
    });
  }
});
