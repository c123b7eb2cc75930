import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type CheckpointOptions, SQLITE_AUTOCHECKPOINT_PAGES } from "../../../src/store/checkpoint.js";
import { type FiringInput, openStore, type Store } from "../../../src/store/store.js";

const KIB = 1024;

/** A worker script from source text, as the tests' stand-in for a broken or stalled thread. */
function script(source: string): URL {
  return new URL(`data:text/javascript,${encodeURIComponent(source)}`);
}

function memoryLog() {
  const warnings: Array<{ details: Record<string, unknown>; message: string | undefined }> = [];
  return {
    warnings,
    warn: (details: Record<string, unknown>, message?: string) => warnings.push({ details, message }),
  };
}

const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await tick(2);
  }
}

let seq = 0;
function firing(): FiringInput {
  seq += 1;
  return {
    source: "webhook",
    eventUuid: `${seq}-${Math.random().toString(36).slice(2)}`,
    alertId: `alert-${seq % 30}`,
    alertName: "Signups dropped",
    breaches: "The insight value (signed_up) for previous day (42) is less than lower threshold (100)",
    lastCheckedAt: new Date(Date.UTC(2025, 0, 1) + seq * 1000).toISOString(),
  };
}

describe("background checkpoints", () => {
  let dir: string;
  let path: string;
  let log: ReturnType<typeof memoryLog>;
  const open: Store[] = [];

  function store(checkpoint: CheckpointOptions | false = {}): Store {
    const s = openStore(path, { logger: log, checkpoint });
    open.push(s);
    return s;
  }
  const walBytes = () => statSync(`${path}-wal`, { throwIfNoEntry: false })?.size ?? 0;
  const autocheckpoint = (s: Store) => s.db.pragma("wal_autocheckpoint", { simple: true });

  /**
   * Writes `batches` transactions of 20 firings, yielding between them; returns
   * the largest log seen. With `paced`, every 10th batch waits for the thread's
   * next checkpoint, so a busy machine cannot starve the thread of CPU for long.
   */
  async function write(s: Store, batches: number, paced = false): Promise<number> {
    let largest = 0;
    for (let i = 0; i < batches; i++) {
      s.enqueueFirings(Array.from({ length: 20 }, firing));
      largest = Math.max(largest, walBytes());
      await tick();
      if (paced && i % 10 === 9) {
        const before = s.checkpointer?.stats().checkpoints ?? 0;
        await until(() => (s.checkpointer?.stats().checkpoints ?? 0) > before);
      }
    }
    return largest;
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "checkpoint-test-"));
    path = join(dir, "bot.db");
    log = memoryLog();
  });
  afterEach(() => {
    for (const s of open.splice(0)) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("checkpoints from its own thread and keeps the log bounded while the main connection writes", async () => {
    // Without any checkpoint the same writes grow the log well past the bound below.
    const control = store(false);
    control.db.pragma("wal_autocheckpoint = 0");
    const unbounded = await write(control, 150);
    control.close();
    rmSync(path);
    rmSync(`${path}-wal`, { force: true });
    rmSync(`${path}-shm`, { force: true });
    expect(unbounded).toBeGreaterThan(5 * 1024 * KIB);

    const s = store({ intervalMs: 5, restartBytes: 256 * KIB });
    expect(s.checkpointer?.mode()).toBe("starting");
    expect(autocheckpoint(s)).toBe(SQLITE_AUTOCHECKPOINT_PAGES); // SQLite's own until the thread is up
    await until(() => s.checkpointer?.mode() === "background");
    expect(autocheckpoint(s)).toBe(0);

    const largest = await write(s, 150, true);
    expect(largest).toBeLessThan(2 * 1024 * KIB);
    await until(() => (s.checkpointer?.stats().restarts ?? 0) > 0);
    expect(s.checkpointer?.stats().checkpoints).toBeGreaterThan(1);
    expect(s.pendingCount()).toBe(150 * 20);
    expect(log.warnings).toEqual([]);
  });

  it("closes cleanly while the thread is busy: the thread ends, the log is removed, nothing is lost", async () => {
    const s = store({ intervalMs: 1, restartBytes: 64 * KIB });
    await until(() => s.checkpointer?.mode() === "background");
    await write(s, 40);
    const started = performance.now();
    s.close();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(s.checkpointer?.mode()).toBe("stopped");
    // The thread closed its connection first, so the main one, closing last, copied the rest
    // and removed the log before close returned.
    expect(existsSync(`${path}-wal`)).toBe(false);
    await s.checkpointer?.exited;
    expect(log.warnings).toEqual([]);

    const check = new Database(path, { readonly: true });
    expect(check.pragma("integrity_check", { simple: true })).toBe("ok");
    expect(check.prepare("SELECT COUNT(*) AS n FROM notifications").get()).toEqual({ n: 40 * 20 });
    check.close();
  });

  it("closes cleanly before the thread has started", async () => {
    const s = store();
    s.enqueueFirings([firing()]);
    s.close();
    await s.checkpointer?.exited;
    expect(s.checkpointer?.mode()).toBe("stopped");
    expect(log.warnings).toEqual([]);
    expect(openStore(path, { checkpoint: false }).pendingCount()).toBe(1);
  });

  it("leaves checkpoints to SQLite, with one warning, when the thread cannot start", async () => {
    const s = store({ workerUrl: script("throw new Error('no such driver')") });
    await until(() => s.checkpointer?.mode() === "main");
    expect(autocheckpoint(s)).toBe(SQLITE_AUTOCHECKPOINT_PAGES);
    expect(log.warnings).toHaveLength(1);
    expect(log.warnings[0]?.message).toContain("no such driver");
    expect(log.warnings[0]?.message).toContain("checkpoints on its main thread again");
    // SQLite's own checkpoints keep the log near its 1,000 pages.
    expect(await write(s, 150)).toBeLessThan(2 * SQLITE_AUTOCHECKPOINT_PAGES * 4 * KIB);
    await s.checkpointer?.exited;
    expect(log.warnings).toHaveLength(1);
  });

  it("takes checkpoints back, with one warning, when the thread ends after starting", async () => {
    const s = store({
      workerUrl: script(
        `import { parentPort } from "node:worker_threads";
         parentPort.postMessage({ type: "ready" });
         setTimeout(() => process.exit(3), 50);`,
      ),
    });
    await until(() => s.checkpointer?.mode() === "background");
    expect(autocheckpoint(s)).toBe(0);
    await until(() => s.checkpointer?.mode() === "main");
    expect(autocheckpoint(s)).toBe(SQLITE_AUTOCHECKPOINT_PAGES);
    expect(log.warnings).toHaveLength(1);
    expect(log.warnings[0]?.message).toContain("ended with code 3");
  });

  it("takes checkpoints back when the log outgrows its bound although the thread runs", async () => {
    // A thread that says it is ready and then never checkpoints.
    const stalled = script(
      `import { parentPort } from "node:worker_threads";
       parentPort.postMessage({ type: "ready" });
       setInterval(() => {}, 1000);`,
    );
    const s = store({ workerUrl: stalled, maxWalBytes: 512 * KIB, watchMs: 5 });
    await until(() => s.checkpointer?.mode() === "background");
    for (let i = 0; i < 400 && s.checkpointer?.mode() !== "main"; i++) await write(s, 1);
    expect(s.checkpointer?.mode()).toBe("main");
    expect(autocheckpoint(s)).toBe(SQLITE_AUTOCHECKPOINT_PAGES);
    expect(log.warnings).toHaveLength(1);
    expect(log.warnings[0]?.message).toMatch(/write-ahead log grew to \d+ MB/);
    await s.checkpointer?.exited; // the stalled thread was ended
    await write(s, 20);
    await tick(20);
    expect(log.warnings).toHaveLength(1);
  });

  it("copies a log already past the bound at start-up instead of taking it for a stalled thread", async () => {
    // Another connection (as a process that crashed mid-burst would have) left a long log.
    const other = store(false);
    other.db.pragma("wal_autocheckpoint = 0");
    await write(other, 60);
    expect(walBytes()).toBeGreaterThan(600 * KIB);
    const s = store({ maxWalBytes: 512 * KIB, watchMs: 5 });
    expect(walBytes()).toBe(0);
    await until(() => s.checkpointer?.mode() === "background");
    await tick(30);
    expect(s.checkpointer?.mode()).toBe("background");
    expect(log.warnings).toEqual([]);
    expect(s.pendingCount()).toBe(60 * 20);
  });

  // The built store (`npm test` builds first): a process that never closes its store still exits.
  const built = resolve("dist/store/store.js");
  it.skipIf(!existsSync(built))("never keeps the process alive (built code)", async () => {
    const program = `
      import { openStore } from ${JSON.stringify(pathToFileURL(built).href)};
      const store = openStore(${JSON.stringify(path)}, { checkpoint: { intervalMs: 5 } });
      while (store.checkpointer.mode() === "starting") await new Promise((r) => setTimeout(r, 5));
      store.enqueueFiring({ source: "webhook", eventUuid: "u1", alertId: "a1" });
      await new Promise((r) => setTimeout(r, 50));
      console.log(store.checkpointer.mode(), store.checkpointer.stats().checkpoints > 1);
    `;
    const started = Date.now();
    const output = await new Promise<string>((done, fail) => {
      execFile(
        process.execPath,
        ["--input-type=module", "-e", program],
        { timeout: 10_000 },
        (error, stdout, stderr) => (error ? fail(new Error(`${error.message}\n${stderr}`)) : done(stdout)),
      );
    });
    expect(output.trim()).toBe("background true");
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("needs no thread in memory, or when turned off", () => {
    const memory = openStore(":memory:");
    expect(memory.checkpointer).toBeNull();
    memory.close();
    const off = store(false);
    expect(off.checkpointer).toBeNull();
    expect(autocheckpoint(off)).toBe(SQLITE_AUTOCHECKPOINT_PAGES);
  });
});
