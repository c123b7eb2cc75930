/**
 * Starts the benchmark's world (fake PostHog and fake Slack, see
 * world-child.ts) as a child process. Like posthog-process.ts, the child's
 * TypeScript modules are transpiled (types stripped, nothing bundled) into a
 * temporary directory that mirrors the repository layout, with the
 * repository's node_modules linked in for the Block Kit schema checker.
 */
import { type ChildProcess, fork } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, posix } from "node:path";
import ts from "typescript";
import type { PreparedRequest } from "../lib/load.js";
import { childEnv, REPO_ROOT } from "../lib/processes.js";
import { botEnvFor, type RequestKind, startWorld } from "../lib/world.js";
import type { WorldChildCommand, WorldChildReply } from "./world-child.js";

/** The child's entry; the modules it imports (relative imports, followed) are transpiled with it. */
const ENTRY_SOURCE = "bench/lib2/world-child.ts";
const FILES = ["test/support/vendor/slack-block-kit.schema.json"];
const ENTRY = "bench/lib2/world-child.js";

export interface WorldProcess {
  pid: number;
  alertId: string;
  botEnv(opts: {
    port: number;
    databasePath: string;
    logLevel: string;
    pollSeconds?: number;
  }): Record<string, string>;
  /** PostHog's answer delay from now on. */
  setLatency(ms: number): Promise<void>;
  /** `count` signed requests, request i of kind `kinds[i % kinds.length]`, each with its own response URL. */
  prepare(kinds: RequestKind[], count: number): Promise<PreparedRequest[]>;
  /** Waits until the fakes have seen no new traffic for `quietMs` (bot work after the ack has finished). */
  settle(opts: { quietMs: number; maxMs: number }): Promise<void>;
  /** Slack traffic since the last `forget`: Web API calls by method, plus `response_url` posts. */
  slackCalls(): Promise<Record<string, number>>;
  forget(): Promise<void>;
  close(): Promise<void>;
}

/** Relative imports of a module (`./x.js` → the `./x.ts` beside it), as repository paths. */
function localImports(source: string, text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)) {
    const spec = match[1] as string;
    const path = posix.normalize(posix.join(posix.dirname(source), spec)).replace(/\.js$/, ".ts");
    if (existsSync(join(REPO_ROOT, path))) found.push(path);
  }
  return found;
}

function transpile(into: string): void {
  writeFileSync(join(into, "package.json"), '{ "type": "module" }\n');
  symlinkSync(join(REPO_ROOT, "node_modules"), join(into, "node_modules"), "dir");
  const done = new Set<string>();
  const todo = [ENTRY_SOURCE];
  for (let source = todo.pop(); source !== undefined; source = todo.pop()) {
    if (done.has(source)) continue;
    done.add(source);
    const text = readFileSync(join(REPO_ROOT, source), "utf8");
    const out = ts.transpileModule(text, {
      fileName: source,
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
    });
    const target = join(into, source.replace(/\.ts$/, ".js"));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, out.outputText);
    todo.push(...localImports(source, out.outputText));
  }
  for (const file of FILES) {
    mkdirSync(dirname(join(into, file)), { recursive: true });
    copyFileSync(join(REPO_ROOT, file), join(into, file));
  }
}

export async function startWorldProcess(opts: { alerts?: number } = {}): Promise<WorldProcess> {
  const dir = mkdtempSync(join(tmpdir(), "bench-world-"));
  transpile(dir);
  const child: ChildProcess = fork(join(dir, ENTRY), [], {
    execArgv: [],
    env: childEnv({ WORLD_ALERTS: String(opts.alerts ?? 30) }),
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    // Requests for a whole run cross in one message.
    serialization: "advanced",
  });
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-4000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  // One command at a time: replies come back in order.
  const waiting: Array<(reply: WorldChildReply) => void> = [];
  child.on("message", (message) => waiting.shift()?.(message as WorldChildReply));
  const next = (timeoutMs: number) =>
    new Promise<WorldChildReply>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the benchmark world did not answer within ${timeoutMs} ms:\n${output}`)),
        timeoutMs,
      );
      waiting.push((reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`the benchmark world exited:\n${output}`));
      });
    });
  let queue: Promise<unknown> = Promise.resolve();
  const ask = (command: WorldChildCommand, timeoutMs = 60_000): Promise<WorldChildReply> => {
    const run = queue.then(async () => {
      const answer = next(timeoutMs);
      child.send(command);
      const reply = await answer;
      if (reply.type === "error") throw new Error(`benchmark world: ${reply.message}`);
      return reply;
    });
    queue = run.catch(() => undefined);
    return run;
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
    const ready = await next(20_000);
    if (ready.type !== "ready" || child.pid === undefined)
      throw new Error(`unexpected first message: ${ready.type}`);
    const urls = { slackApiUrl: ready.slackApiUrl, posthogUrl: ready.posthogUrl };
    return {
      pid: child.pid,
      alertId: ready.alertId,
      botEnv: (o) => botEnvFor(urls, o),
      async setLatency(ms) {
        await ask({ type: "latency", ms });
      },
      async prepare(kinds, count) {
        const reply = await ask({ type: "prepare", kinds, count });
        if (reply.type !== "prepared") throw new Error(`unexpected reply ${reply.type}`);
        return reply.requests;
      },
      async settle({ quietMs, maxMs }) {
        await ask({ type: "settle", quietMs, maxMs }, maxMs + 30_000);
      },
      async slackCalls() {
        const reply = await ask({ type: "counts" });
        if (reply.type !== "counts") throw new Error(`unexpected reply ${reply.type}`);
        return { ...reply.calls, response_url: reply.responses };
      },
      async forget() {
        await ask({ type: "forget" });
      },
      close: cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/**
 * The same world inside this process, as the benchmarks ran it before: the
 * fakes' work then competes with the load generator (BENCH_WORLD=inline).
 */
export async function startWorldInline(opts: { alerts?: number } = {}): Promise<WorldProcess> {
  const world = await startWorld(opts);
  return {
    pid: process.pid,
    alertId: world.alertId,
    botEnv: (o) => world.botEnv(o),
    async setLatency(ms) {
      world.posthog.setLatency(ms);
    },
    async prepare(kinds, count) {
      return Array.from({ length: count }, (_, i) => world.request(kinds[i % kinds.length] as RequestKind));
    },
    settle: (o) => world.settle(o),
    async slackCalls() {
      const calls: Record<string, number> = {};
      for (const call of world.slack.calls) calls[call.method] = (calls[call.method] ?? 0) + 1;
      return { ...calls, response_url: world.slack.responses.length };
    },
    async forget() {
      world.forget();
    },
    close: () => world.close(),
  };
}
