import { statSync } from "node:fs";
import { Worker } from "node:worker_threads";
import type Database from "better-sqlite3";

/**
 * Background checkpoints for a database in WAL mode.
 *
 * SQLite appends every commit to the write-ahead log and, by default, copies
 * the log into the database file (a checkpoint, with two fsyncs) from inside
 * the commit that takes the log past 1,000 pages. better-sqlite3 runs on the
 * main thread, so every request in flight waited for those 5–12 ms. Here the
 * main connection's automatic checkpoints are turned off and a worker thread
 * with its own connection checkpoints every `intervalMs` instead. Those
 * (PASSIVE) checkpoints take no lock a write needs. The log file only starts
 * over when a write begins just after a checkpoint copied all of it, which
 * steady writes can put off for ever; so when the log passes `restartBytes`
 * the thread also runs a RESTART checkpoint, which holds writes back while it
 * copies the pages written since its PASSIVE one (a few milliseconds, at most
 * every few seconds even under a sustained burst; SQLite's own checkpoints
 * held them for 5–12 ms every 1,000 pages).
 *
 * Durability does not change: a commit is in the log before the call returns
 * either way, a checkpoint only copies committed pages, and it fsyncs the log
 * before and the database after, as SQLite's own do.
 *
 * The main connection takes the work back (SQLite's automatic checkpoints,
 * with one warning) when the thread cannot start, fails or ends, or when the
 * log grows past `maxWalBytes` all the same.
 */

/** SQLite's own default for `wal_autocheckpoint`, restored when the thread is not there. */
export const SQLITE_AUTOCHECKPOINT_PAGES = 1000;

export interface CheckpointLogger {
  warn(details: Record<string, unknown>, message?: string): void;
}

export interface CheckpointOptions {
  /** How often the thread checkpoints (default 100 ms). */
  intervalMs?: number;
  /**
   * Log size from which the thread makes the log start over (a RESTART
   * checkpoint, which holds writes for a few milliseconds); default 64 MiB.
   */
  restartBytes?: number;
  /** Log file size at which the main connection takes checkpoints back; default 256 MiB. */
  maxWalBytes?: number;
  /** How often the main thread looks at the log file's size (default 1 s). */
  watchMs?: number;
  /** How long `stop` waits for the thread to close its connection (default 1 s). */
  stopWaitMs?: number;
  /** How long the thread waits for the write lock to restart the log (default 100 ms; writes do not wait meanwhile). */
  busyTimeoutMs?: number;
  /** The thread's script; tests pass one that fails. */
  workerUrl?: URL;
}

/**
 * `starting`: the thread is loading and SQLite's automatic checkpoints still run;
 * `background`: the thread checkpoints; `main`: the main connection does (fallback);
 * `stopped`: closed.
 */
export type CheckpointMode = "starting" | "background" | "main" | "stopped";

export interface CheckpointStats {
  /** Checkpoints the thread has made. */
  checkpoints: number;
  /** Of those, the ones that made the log start over. */
  restarts: number;
  /** Pages in the log when the thread last looked. */
  logFrames: number;
}

export interface Checkpointer {
  mode(): CheckpointMode;
  stats(): CheckpointStats;
  /** Stops the thread; waits (at most `stopWaitMs`) for it to close its connection. */
  stop(): void;
  /** Settles when the thread has ended. */
  readonly exited: Promise<void>;
}

// Slots of the counters shared with the thread; keep in step with checkpoint-worker.js.
const STATE = 0;
const CHECKPOINTS = 1;
const RESTARTS = 2;
const LOG_FRAMES = 3;
const READY = 1;

const MB = 1024 * 1024;

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Starts checkpointing `db` (whose main file is `file`) from a worker thread.
 * The thread is unreferenced: it never keeps the process alive.
 */
export function startCheckpointer(
  db: Database.Database,
  file: string,
  logger: CheckpointLogger,
  options: CheckpointOptions = {},
): Checkpointer {
  const maxWalBytes = options.maxWalBytes ?? 256 * MB;
  const stopWaitMs = options.stopWaitMs ?? 1000;
  const walPath = `${file}-wal`;
  const counters = new Int32Array(new SharedArrayBuffer(4 * Int32Array.BYTES_PER_ELEMENT));
  let mode: CheckpointMode = "starting";
  let worker: Worker | null = null;
  let markExited: () => void = () => {};
  const exited = new Promise<void>((resolve) => {
    markExited = resolve;
  });

  const walBytes = (): number => {
    try {
      return statSync(walPath, { throwIfNoEntry: false })?.size ?? 0;
    } catch {
      return 0;
    }
  };

  /** The main connection checkpoints again, as SQLite does by default; said once. */
  const takeBack = (reason: string): void => {
    if (mode === "main" || mode === "stopped") return;
    mode = "main";
    clearInterval(watch);
    if (db.open) db.pragma(`wal_autocheckpoint = ${SQLITE_AUTOCHECKPOINT_PAGES}`);
    worker?.terminate().catch(() => undefined);
    logger.warn(
      { reason, database: file },
      `Checkpointing the database in the background stopped (${reason}). The bot checkpoints on its ` +
        "main thread again, which can delay some requests by a few milliseconds; restarting the bot " +
        "tries the background thread again.",
    );
  };

  const watch = setInterval(() => {
    const size = walBytes();
    if (size > maxWalBytes) {
      takeBack(`the database's write-ahead log grew to ${Math.round(size / MB)} MB`);
    }
  }, options.watchMs ?? 1000);
  watch.unref();

  const handle: Checkpointer = {
    mode: () => mode,
    stats: () => ({
      checkpoints: Atomics.load(counters, CHECKPOINTS),
      restarts: Atomics.load(counters, RESTARTS),
      logFrames: Atomics.load(counters, LOG_FRAMES),
    }),
    stop() {
      if (mode === "stopped") return;
      const running = mode === "background";
      mode = "stopped";
      clearInterval(watch);
      if (!worker) return;
      if (running) {
        // Let the thread finish the checkpoint in hand and close its connection, so that
        // this one closes last and removes the log; the wait is bounded.
        worker.postMessage("stop");
        Atomics.wait(counters, STATE, READY, stopWaitMs);
      }
      worker.terminate().catch(() => undefined);
    },
    exited,
  };

  // A leftover log past the bound (a crash in the middle of a long burst) is
  // copied now, at start-up, rather than being taken for a stalled thread.
  if (walBytes() > maxWalBytes) {
    try {
      db.pragma("wal_checkpoint(TRUNCATE)");
    } catch {
      // Left to the thread; if the log stays past the bound, the watch takes checkpoints back.
    }
  }

  try {
    worker = new Worker(options.workerUrl ?? new URL("./checkpoint-worker.js", import.meta.url), {
      workerData: {
        file,
        intervalMs: options.intervalMs ?? 100,
        restartBytes: options.restartBytes ?? 64 * MB,
        busyTimeoutMs: options.busyTimeoutMs ?? 100,
        shared: counters.buffer,
      },
      // The process's own node flags (a loader, --input-type, profiling) are not for this thread.
      execArgv: [],
    });
  } catch (error) {
    markExited();
    takeBack(`its thread could not start: ${describe(error)}`);
    return handle;
  }
  worker.on("message", (message: unknown) => {
    if (mode !== "starting" || (message as { type?: unknown } | null)?.type !== "ready") return;
    mode = "background";
    if (db.open) db.pragma("wal_autocheckpoint = 0");
  });
  worker.on("error", (error) => takeBack(`its thread failed: ${describe(error)}`));
  worker.on("exit", (code) => {
    markExited();
    takeBack(`its thread ended with code ${code}`);
  });
  // After the listeners: attaching a "message" listener references the thread again.
  worker.unref();
  return handle;
}
