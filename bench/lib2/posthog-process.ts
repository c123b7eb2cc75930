/**
 * Starts the fake PostHog as a child process. The fake is TypeScript and the
 * runtime cannot load that directly, so the child's two modules are
 * transpiled (types stripped, nothing bundled) into a temporary directory
 * that mirrors the repository layout, and run from there.
 */
import { type ChildProcess, fork } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import ts from "typescript";
import { childEnv, REPO_ROOT } from "../lib/processes.js";
import type { PostHogChildCommand, PostHogChildReply } from "./posthog-child.js";

const SOURCES = ["test/support/fake-posthog.ts", "bench/lib2/posthog-child.ts"];
const ENTRY = "bench/lib2/posthog-child.js";

export interface PostHogProcess {
  url: string;
  pid: number;
  seed(alerts: number, firing: number): Promise<{ alerts: number; firing: number }>;
  /** Fires `count` more alerts; resolves with how many were fired. */
  fire(count: number): Promise<number>;
  close(): Promise<void>;
}

function transpile(into: string): void {
  writeFileSync(join(into, "package.json"), '{ "type": "module" }\n');
  for (const source of SOURCES) {
    const text = readFileSync(join(REPO_ROOT, source), "utf8");
    const out = ts.transpileModule(text, {
      fileName: source,
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
    });
    const target = join(into, source.replace(/\.ts$/, ".js"));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, out.outputText);
  }
}

export async function startPostHogProcess(opts: {
  apiKey: string;
  projectId: number;
}): Promise<PostHogProcess> {
  const dir = mkdtempSync(join(tmpdir(), "fake-posthog-"));
  transpile(dir);
  const child: ChildProcess = fork(join(dir, ENTRY), [], {
    execArgv: [],
    env: childEnv({ FAKE_POSTHOG_KEY: opts.apiKey, FAKE_POSTHOG_PROJECT: String(opts.projectId) }),
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-4000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const waiting: Array<(reply: PostHogChildReply) => void> = [];
  child.on("message", (message) => waiting.shift()?.(message as PostHogChildReply));
  const next = (timeoutMs: number) =>
    new Promise<PostHogChildReply>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the fake PostHog did not answer within ${timeoutMs} ms:\n${output}`)),
        timeoutMs,
      );
      waiting.push((reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`the fake PostHog exited:\n${output}`));
      });
    });
  const ask = async (command: PostHogChildCommand): Promise<PostHogChildReply> => {
    const answer = next(60_000);
    child.send(command);
    const reply = await answer;
    if (reply.type === "error") throw new Error(`fake PostHog: ${reply.message}`);
    return reply;
  };

  const cleanup = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.disconnect();
      const done = await Promise.race([
        exited.then(() => true),
        new Promise((r) => setTimeout(r, 3_000, false)),
      ]);
      if (!done) child.kill("SIGKILL");
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ready = await next(15_000);
    if (ready.type !== "ready" || child.pid === undefined)
      throw new Error(`unexpected first message: ${ready.type}`);
    const pid = child.pid;
    return {
      url: ready.url,
      pid,
      async seed(alerts, firing) {
        const reply = await ask({ type: "seed", alerts, firing });
        if (reply.type !== "seeded") throw new Error(`unexpected reply ${reply.type}`);
        return { alerts: reply.alerts, firing: reply.firing };
      },
      async fire(count) {
        const reply = await ask({ type: "fire", count });
        if (reply.type !== "fired") throw new Error(`unexpected reply ${reply.type}`);
        return reply.count;
      },
      close: cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
