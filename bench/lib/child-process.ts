/**
 * Runs a benchmark helper (a fake, or the world of fakes) as a child process
 * that answers commands over IPC. The helpers are TypeScript and the runtime
 * cannot load that directly, so the entry module and every module it imports
 * by a relative path are transpiled (types stripped, nothing bundled) into a
 * temporary directory that mirrors the repository layout, with the
 * repository's node_modules linked in.
 */
import { type ChildProcess, fork, type SerializationType } from "node:child_process";
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
import { childEnv, envNodeArgs, REPO_ROOT } from "./processes.js";

/** What every child answers with when a command fails. */
interface ErrorReply {
  type: "error";
  message: string;
}

export interface HelperProcess<Command, Reply extends { type: string }> {
  child: ChildProcess;
  /** The next message from the child (its first one is its "ready"). */
  next(timeoutMs: number): Promise<Reply>;
  /** Sends a command and waits for its reply; commands run one at a time, in order. */
  ask(command: Command, timeoutMs?: number): Promise<Reply>;
  /** Disconnects (SIGKILL after 3 s) and removes the transpiled files. */
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

function transpile(into: string, entrySource: string, files: readonly string[]): void {
  writeFileSync(join(into, "package.json"), '{ "type": "module" }\n');
  symlinkSync(join(REPO_ROOT, "node_modules"), join(into, "node_modules"), "dir");
  const done = new Set<string>();
  const todo = [entrySource];
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
  for (const file of files) {
    mkdirSync(dirname(join(into, file)), { recursive: true });
    copyFileSync(join(REPO_ROOT, file), join(into, file));
  }
}

export function forkHelper<Command, Reply extends { type: string }>(opts: {
  /** How errors name the helper, e.g. "fake PostHog". */
  label: string;
  /** The child's entry module, a repository path ending in .ts. */
  entrySource: string;
  /** Data files the child reads, copied beside the transpiled modules. */
  files?: readonly string[];
  env: Record<string, string>;
  serialization?: SerializationType;
}): HelperProcess<Command, Reply> {
  const dir = mkdtempSync(join(tmpdir(), "bench-helper-"));
  transpile(dir, opts.entrySource, opts.files ?? []);
  const child = fork(join(dir, opts.entrySource.replace(/\.ts$/, ".js")), [], {
    // BENCH_HELPER_NODE_ARGS, e.g. `--cpu-prof`, profiles the fakes as BENCH_NODE_ARGS does the bot.
    execArgv: envNodeArgs("BENCH_HELPER_NODE_ARGS"),
    env: childEnv(opts.env),
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    ...(opts.serialization ? { serialization: opts.serialization } : {}),
  });
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-4000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  // Replies come back in the order the commands went out.
  const waiting: Array<(reply: Reply) => void> = [];
  child.on("message", (message) => waiting.shift()?.(message as Reply));
  const next = (timeoutMs: number) =>
    new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the ${opts.label} did not answer within ${timeoutMs} ms:\n${output}`)),
        timeoutMs,
      );
      waiting.push((reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`the ${opts.label} exited:\n${output}`));
      });
    });
  let queue: Promise<unknown> = Promise.resolve();
  const ask = (command: Command, timeoutMs = 60_000): Promise<Reply> => {
    const run = queue.then(async () => {
      const answer = next(timeoutMs);
      child.send(command as object);
      const reply = await answer;
      if (reply.type === "error")
        throw new Error(`${opts.label}: ${(reply as unknown as ErrorReply).message}`);
      return reply;
    });
    queue = run.catch(() => undefined);
    return run;
  };
  const close = async () => {
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
  return { child, next, ask, close };
}
