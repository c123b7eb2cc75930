/**
 * Child processes under test: the built bot (`node dist/main.js`), `npm start`,
 * and the bare Bolt app it is compared with. Each runs in its own process, as
 * in production, so the load generator and the fakes never share its event loop.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { request } from "undici";
import { reapWithParent } from "../../test/support/reaper.js";
import { assertLoopback } from "./load.js";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** The built bot; BENCH_MAIN_JS points the benchmarks at another build (to compare a change). */
export const MAIN_JS = process.env.BENCH_MAIN_JS || join(REPO_ROOT, "dist", "main.js");
export const BARE_BOLT_JS = join(REPO_ROOT, "bench", "targets", "bare-bolt.mjs");

export function assertBuilt(): void {
  if (!existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} is missing: run \`npm run build\` first`);
}

/** A free TCP port on loopback (closed again before returning). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface Child {
  pid: number;
  process: ChildProcess;
  /** Performance-clock time of the spawn call. */
  spawnedAt: number;
  /** The last lines the process wrote (stdout and stderr), for error messages. */
  tail(): string;
  /** Milliseconds from spawn to the first line matching the pattern, if one was written. */
  lineAfter(pattern: RegExp): number | undefined;
  /** Resolves once a line matching the pattern was written. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<void>;
  exited: Promise<number | null>;
  /** SIGTERM (to the whole process group for `group` children), then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  env: Record<string, string>;
  cwd?: string;
  /** Start a new process group and signal it as a whole (for `npm start`, which starts node itself). */
  group?: boolean;
}

/** A minimal environment: PATH and HOME only, plus what the caller passes. Nothing else leaks in. */
export function childEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin" };
  if (process.env.HOME) env.HOME = process.env.HOME;
  return { ...env, ...extra };
}

export function spawnChild(command: string, args: string[], options: SpawnOptions): Child {
  const spawnedAt = performance.now();
  const child = spawn(command, args, {
    cwd: options.cwd ?? REPO_ROOT,
    env: options.env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: options.group ?? false,
  });
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  const pid = child.pid;
  reapWithParent(child, { group: options.group ?? false });
  const lines: string[] = [];
  const seen: Array<{ line: string; at: number }> = [];
  const waiters: Array<{ pattern: RegExp; resolve: () => void }> = [];
  const onData = (chunk: Buffer) => {
    for (const line of chunk.toString("utf8").split("\n")) {
      if (line === "") continue;
      if (seen.length < 200) seen.push({ line: line.slice(0, 500), at: performance.now() - spawnedAt });
      lines.push(line.slice(0, 500));
      if (lines.length > 40) lines.shift();
      for (const waiter of [...waiters]) {
        if (waiter.pattern.test(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      }
    }
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const signal = (sig: NodeJS.Signals) => {
    try {
      if (options.group) process.kill(-pid, sig);
      else child.kill(sig);
    } catch {
      // already gone
    }
  };
  return {
    pid,
    process: child,
    spawnedAt,
    tail: () => lines.join("\n"),
    lineAfter: (pattern) => seen.find((entry) => pattern.test(entry.line))?.at,
    exited,
    waitForLine(pattern, timeoutMs) {
      if (lines.some((line) => pattern.test(line))) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(`${command} did not print ${pattern} within ${timeoutMs} ms:\n${lines.join("\n")}`),
            ),
          timeoutMs,
        );
        const waiter = {
          pattern,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        waiters.push(waiter);
        void exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`${command} exited (${code}) before printing ${pattern}:\n${lines.join("\n")}`));
        });
      });
    },
    async stop(graceMs = 5_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      signal("SIGTERM");
      const done = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
      if (!done) {
        signal("SIGKILL");
        await exited;
      }
    },
  };
}

/**
 * Polls `GET <origin>/healthz` until it answers 200 and returns the milliseconds
 * from the child's spawn. Fails if the child exits or the deadline passes.
 */
export async function waitHealthy(
  child: Child,
  origin: string,
  opts: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<number> {
  const url = `${assertLoopback(origin).origin}/healthz`;
  const deadline = performance.now() + (opts.timeoutMs ?? 15_000);
  const interval = opts.intervalMs ?? 5;
  let exited = false;
  void child.exited.then(() => {
    exited = true;
  });
  let last = "no answer";
  while (performance.now() < deadline) {
    if (exited) throw new Error(`the process exited before it was healthy:\n${child.tail()}`);
    try {
      const res = await request(url, { headersTimeout: 1_000, bodyTimeout: 1_000, reset: true });
      await res.body.dump();
      if (res.statusCode === 200) return performance.now() - child.spawnedAt;
      last = `HTTP ${res.statusCode}`;
    } catch (error) {
      last = (error as { code?: string }).code ?? String(error);
    }
    await sleep(interval);
  }
  throw new Error(`not healthy within the deadline (last: ${last}):\n${child.tail()}`);
}

export interface MemoryFigures {
  /** Resident set size now, in MB (10^6 bytes). */
  rssMb: number;
  /** Peak resident set size since the process started, in MB. */
  hwmMb: number;
}

/** VmRSS and VmHWM of a process, in MB, from /proc (Linux). */
export function readMemory(pid: number): MemoryFigures {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status);
    if (!match) throw new Error(`/proc/${pid}/status has no ${name}`);
    return (Number(match[1]) * 1024) / 1e6;
  };
  return { rssMb: field("VmRSS"), hwmMb: field("VmHWM") };
}

let clockTicks: number | null = null;

function ticksPerSecond(): number {
  if (clockTicks === null) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** Fields of /proc/<pid>/stat from the 3rd on (after the parenthesised command name). */
function statFields(pid: number | "self" | `${number}/task/${number}`): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

const ticksToMs = (...ticks: Array<string | undefined>) =>
  (ticks.reduce((n, t) => n + Number(t ?? 0), 0) * 1000) / ticksPerSecond();

/** CPU time (user + system) a process has used so far, in milliseconds, from /proc (Linux). */
export function readCpuMs(pid: number): number {
  const fields = statFields(pid);
  // utime and stime are the 14th and 15th fields.
  return ticksToMs(fields[11], fields[12]);
}

/**
 * CPU time (user + system) of a process's main thread alone, in milliseconds: the thread that
 * reads Slack's requests and acks them, without worker threads, V8's compiler and garbage
 * collector helpers, or libuv's pool.
 */
export function readMainThreadCpuMs(pid: number): number {
  const fields = statFields(`${pid}/task/${pid}`);
  return ticksToMs(fields[11], fields[12]);
}

export interface CpuSnapshot {
  at: number;
  /** CPU time every process on the machine has used (user, nice, system, irq, softirq, steal). */
  machineMs: number;
  /** This process plus its finished children (cutime, cstime). */
  oursMs: number;
}

export function cpuSnapshot(): CpuSnapshot {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/);
  const self = statFields("self");
  return {
    at: performance.now(),
    machineMs: ticksToMs(user, nice, system, irq, softirq, steal),
    oursMs: ticksToMs(self[11], self[12], self[13], self[14]),
  };
}

/**
 * How much of the machine's CPU other programs used since `from`, as a share of
 * all cores (0–1). `liveChildrenMs` is the CPU our still-running children used.
 */
export function otherCpuShare(from: CpuSnapshot, liveChildrenMs: number, cores: number): number {
  const now = cpuSnapshot();
  const others = now.machineMs - from.machineMs - (now.oursMs - from.oursMs) - liveChildrenMs;
  return Math.max(0, others) / Math.max(1, (now.at - from.at) * cores);
}

/**
 * Extra node flags for the bot from BENCH_NODE_ARGS (space-separated), e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile it under load.
 */
export function nodeArgsFromEnv(): string[] {
  return envNodeArgs("BENCH_NODE_ARGS");
}

/** Node flags from an environment variable, separated by spaces (none when it is unset). */
export function envNodeArgs(name: string): string[] {
  return (process.env[name] ?? "").split(" ").filter(Boolean);
}

/**
 * The node flags `npm start` gives the bot (its heap sizes), read from package.json
 * so the benchmarks run the bot as deployed. `--env-file…` is left out: the
 * benchmarks pass the whole environment themselves.
 */
export const SHIPPED_NODE_FLAGS: string[] = (() => {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
    scripts?: { start?: string };
  };
  return (pkg.scripts?.start ?? "")
    .split(/\s+/)
    .filter((word) => word.startsWith("--") && !word.startsWith("--env-file"));
})();

/**
 * Starts the built bot with the given environment and waits until `/healthz` answers 200.
 * By default it gets the flags `npm start` gives it, then BENCH_NODE_ARGS.
 */
export async function startBot(
  env: Record<string, string>,
  port: number,
  nodeArgs: string[] = [...SHIPPED_NODE_FLAGS, ...nodeArgsFromEnv()],
): Promise<{ child: Child; origin: string; readyMs: number }> {
  assertBuilt();
  const child = spawnChild(process.execPath, [...nodeArgs, MAIN_JS], { env: childEnv(env) });
  const origin = `http://127.0.0.1:${port}`;
  try {
    const readyMs = await waitHealthy(child, origin);
    return { child, origin, readyMs };
  } catch (error) {
    await child.stop();
    throw error;
  }
}

/**
 * Starts the bare Bolt app (a listener that only acks) and waits until it listens.
 * BENCH_BARE_NODE_ARGS gives it node flags, as BENCH_NODE_ARGS does the bot.
 * With `commandAckFile`, its commands ack with that file's JSON text instead of nothing.
 */
export async function startBareBolt(
  port: number,
  secrets: { signingSecret: string; botToken: string },
  options: { commandAckFile?: string } = {},
): Promise<{ child: Child; origin: string }> {
  const nodeArgs = envNodeArgs("BENCH_BARE_NODE_ARGS");
  const child = spawnChild(process.execPath, [...nodeArgs, BARE_BOLT_JS], {
    env: childEnv({
      PORT: String(port),
      SLACK_SIGNING_SECRET: secrets.signingSecret,
      SLACK_BOT_TOKEN: secrets.botToken,
      ...(options.commandAckFile ? { ACK_BODY_FILE: options.commandAckFile } : {}),
    }),
  });
  try {
    await child.waitForLine(/^ready /, 15_000);
    return { child, origin: `http://127.0.0.1:${port}` };
  } catch (error) {
    await child.stop();
    throw error;
  }
}

/** The first descendant of `rootPid` whose argument vector matches, from /proc (Linux). */
export function findDescendant(rootPid: number, matches: (argv: string[]) => boolean): number | null {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number(statFields(Number(entry))[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // the process ended while we looked
    }
  }
  const queue = [...(children.get(rootPid) ?? [])];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
      if (matches(argv)) return pid;
    } catch {
      // gone
    }
    queue.push(...(children.get(pid) ?? []));
  }
  return null;
}

/** The bot's own node process (not the shell npm runs it through). */
const isBotProcess = (argv: string[]) =>
  /(^|\/)node$/.test(argv[0] ?? "") && argv.some((arg) => arg.endsWith("dist/main.js"));

export interface NpmStarted {
  child: Child;
  origin: string;
  /** Spawn → /healthz 200. */
  readyMs: number;
  /** The node process npm started (the bot itself). */
  botPid: number;
  /** Stops the bot the way a supervisor would (SIGTERM to the bot), then npm; the whole group if that hangs. */
  stop(): Promise<void>;
}

/** Runs `npm start` in the repository with the given environment and waits until /healthz answers 200. */
export async function startWithNpm(env: Record<string, string>, port: number): Promise<NpmStarted> {
  assertBuilt();
  const child = spawnChild("npm", ["start", "--silent"], {
    group: true,
    env: childEnv({
      ...env,
      // npm itself must not reach the registry.
      npm_config_update_notifier: "false",
      npm_config_offline: "true",
      npm_config_fund: "false",
      npm_config_audit: "false",
    }),
  });
  const origin = `http://127.0.0.1:${port}`;
  const stop = async () => {
    const pid = findDescendant(child.pid, isBotProcess);
    if (pid !== null) {
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        // already gone
      }
      await Promise.race([child.exited, sleep(5_000)]);
    }
    await child.stop();
  };
  try {
    const readyMs = await waitHealthy(child, origin);
    const botPid = findDescendant(child.pid, isBotProcess);
    if (botPid === null)
      throw new Error(`npm start is healthy but its node process was not found:\n${child.tail()}`);
    return { child, origin, readyMs, botPid, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
