// Checkpoints the bot's SQLite database on a thread of its own, so that copying
// the write-ahead log into the database file (and the two fsyncs that go with
// it) never holds up the main thread. Started by `startCheckpointer` in
// checkpoint.ts, which also takes the work back if this thread fails.
//
// Plain JavaScript on purpose: a worker thread loads its script with Node's
// own loader, so the same file runs from src/ under the test runner and from
// dist/ after the build (tsconfig.build.json copies it with allowJs).
import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";

/** Slots of the shared counters; keep in step with checkpoint.ts. */
const STATE = 0;
const CHECKPOINTS = 1;
const RESTARTS = 2;
const LOG_FRAMES = 3;
const READY = 1;
const CLOSED = 2;

const { file, intervalMs, restartBytes, busyTimeoutMs, shared } = workerData;
const counters = new Int32Array(shared);

const db = new Database(file, { fileMustExist: true });
// Waits for the main connection's write lock only when making the log start over,
// and only this long: a write the main thread makes meanwhile waits for this one.
db.pragma(`busy_timeout = ${busyTimeoutMs}`);
// In WAL mode a checkpoint fsyncs with NORMAL too; the main connection uses FULL for its commits.
db.pragma("synchronous = NORMAL");
const restartFrames = Math.max(1, Math.floor(restartBytes / db.pragma("page_size", { simple: true })));

/**
 * A PASSIVE checkpoint copies what the log holds into the database without
 * taking any lock the main connection needs. The log only starts over (and
 * stops growing) when a write begins after a checkpoint has copied all of it;
 * under steady writes that rarely happens by itself, so once the log passes
 * `restartBytes` a RESTART checkpoint follows, which holds writers off for the
 * few pages written since the PASSIVE one. Errors end the thread on purpose:
 * the main thread then checkpoints by itself again.
 */
function checkpoint() {
  const [passive] = db.pragma("wal_checkpoint(PASSIVE)");
  Atomics.add(counters, CHECKPOINTS, 1);
  Atomics.store(counters, LOG_FRAMES, passive.log);
  if (passive.log >= restartFrames) {
    const [restart] = db.pragma("wal_checkpoint(RESTART)");
    if (restart.busy === 0) Atomics.add(counters, RESTARTS, 1);
  }
}

checkpoint();
const timer = setInterval(checkpoint, intervalMs);
Atomics.store(counters, STATE, READY);
parentPort.postMessage({ type: "ready" });

parentPort.on("message", (message) => {
  if (message !== "stop") return;
  clearInterval(timer);
  db.close();
  Atomics.store(counters, STATE, CLOSED);
  Atomics.notify(counters, STATE);
  parentPort.close();
});
