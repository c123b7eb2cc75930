/**
 * Child processes (the bot, the bare Bolt app, a do-nothing server) die with
 * the process that started them. Without this, a test that times out leaves
 * its children running: vitest ends its worker with SIGTERM, which skips
 * `finally` blocks and exit handlers alike, and the orphans go on holding
 * ports and CPU under every later test and benchmark.
 */
import type { ChildProcess } from "node:child_process";

const live = new Map<ChildProcess, { group: boolean }>();
let installed = false;

function killAll(): void {
  for (const [child, { group }] of live) {
    try {
      if (group && child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      else child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
  live.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on("exit", killAll);
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
    process.once(signal, () => {
      killAll();
      // What the signal would have done had nobody listened.
      process.exit(128 + (signal === "SIGHUP" ? 1 : signal === "SIGINT" ? 2 : 15));
    });
  }
}

/** Kills `child` (its whole process group when `group`) if this process ends first. */
export function reapWithParent(child: ChildProcess, options: { group?: boolean } = {}): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  install();
  live.set(child, { group: options.group ?? false });
  child.once("exit", () => live.delete(child));
}
