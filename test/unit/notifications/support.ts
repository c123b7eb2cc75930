import { createHash } from "node:crypto";
import type { AlertSource, Logger, SetTimer } from "../../../src/notifications/ports.js";
import { type Alert, alertSchema } from "../../../src/posthog/schemas.js";
import type {
  FindPostedArgs,
  FindResult,
  PostArgs,
  PostResult,
  SlackPoster,
  UpdateArgs,
} from "../../../src/slack/poster.js";

/** Virtual time: timers fire in due order, one per macrotask, moving the clock forward as they do. */
export class FakeClock {
  private timers: Array<{ id: number; at: number; fn: () => void }> = [];
  private seq = 0;
  private woken = false;
  constructor(public t = Date.UTC(2025, 5, 2, 12, 0, 0)) {}

  now = (): number => this.t;

  setTimer: SetTimer = (fn, ms) => {
    const id = ++this.seq;
    this.timers.push({ id, at: this.t + Math.max(0, ms), fn });
    this.wake();
    return () => {
      this.timers = this.timers.filter((timer) => timer.id !== id);
    };
  };

  get pendingTimers(): number {
    return this.timers.length;
  }

  private wake(): void {
    if (this.woken) return;
    this.woken = true;
    setImmediate(() => {
      this.woken = false;
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.timers.shift();
      if (!next) return;
      this.t = Math.max(this.t, next.at);
      next.fn();
      if (this.timers.length > 0) this.wake();
    });
  }
}

/** Waits (in real macrotasks) until `check` holds. */
export async function waitFor(check: () => boolean, rounds = 5000): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    if (check()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error("condition not met in time");
}

export interface PosterCall {
  method: "post" | "update";
  args: PostArgs | UpdateArgs;
  at: number;
}

/** A scripted answer; `landed: true` on a failure means Slack kept the post but the answer was lost. */
type Scripted = PostResult & { landed?: boolean };
type Responder = (call: PosterCall) => Scripted | Promise<Scripted> | undefined;

/**
 * Records every call; answers ok with a fresh ts unless `respond` says otherwise.
 * Posts that landed (answered ok, or scripted as landed) are kept with their
 * delivery key, and `findPosted` looks among them, like Slack's history.
 */
export class FakePoster implements SlackPoster {
  calls: PosterCall[] = [];
  respond: Responder | undefined;
  /** Scripts the answer to a lookup; by default it searches `landed`. */
  respondFind: ((args: FindPostedArgs) => FindResult | undefined) | undefined;
  lookups: FindPostedArgs[] = [];
  landed: Array<{ channel: string; threadTs: string | undefined; key: string | undefined; ts: string }> = [];
  private seq = 0;
  constructor(private readonly now: () => number) {}

  async findPosted(args: FindPostedArgs): Promise<FindResult> {
    this.lookups.push(args);
    const scripted = this.respondFind?.(args);
    if (scripted) return scripted;
    const hit = this.landed.find(
      (m) => m.channel === args.channel && m.threadTs === args.threadTs && m.key === args.deliveryKey,
    );
    return { ok: true, ts: hit?.ts ?? null };
  }

  async post(args: PostArgs): Promise<PostResult> {
    return this.answer({ method: "post", args, at: this.now() });
  }

  async update(args: UpdateArgs): Promise<PostResult> {
    return this.answer({ method: "update", args, at: this.now() });
  }

  posts(channel?: string): Array<PostArgs & { at: number }> {
    return this.calls
      .filter((c) => c.method === "post" && (!channel || c.args.channel === channel))
      .map((c) => ({ ...(c.args as PostArgs), at: c.at }));
  }

  updates(channel?: string): Array<UpdateArgs & { at: number }> {
    return this.calls
      .filter((c) => c.method === "update" && (!channel || c.args.channel === channel))
      .map((c) => ({ ...(c.args as UpdateArgs), at: c.at }));
  }

  private async answer(call: PosterCall): Promise<PostResult> {
    this.calls.push(call);
    const scripted = await this.respond?.(call);
    if (scripted && !scripted.ok && !scripted.landed) return scripted;
    this.seq += 1;
    const ts = scripted?.ok ? scripted.ts : `1700000000.${String(this.seq).padStart(6, "0")}`;
    if (call.method === "post") {
      const args = call.args as PostArgs;
      this.landed.push({ channel: args.channel, threadTs: args.thread_ts, key: args.deliveryKey, ts });
    }
    return scripted ? withoutLanded(scripted) : { ok: true, ts };
  }
}

function withoutLanded(scripted: Scripted): PostResult {
  const { landed: _landed, ...result } = scripted;
  return result as PostResult;
}

/** A PostHog stand-in holding alerts in memory. */
export class FakeSource implements AlertSource {
  alerts = new Map<string, Alert>();
  listCalls = 0;
  getCalls: Array<{ id: string; checksLimit: number | undefined }> = [];
  listError: Error | null = null;
  getError: Error | null = null;
  /** When set, listAllAlerts waits for this before answering. */
  listGate: Promise<void> | null = null;
  /** When set, getAlert answers with what it read at the call, after this settles. */
  getGate: Promise<void> | null = null;

  set(...alerts: Alert[]): void {
    for (const alert of alerts) this.alerts.set(alert.id, alert);
  }

  async listAllAlerts(): Promise<Alert[]> {
    this.listCalls++;
    if (this.listGate) await this.listGate;
    if (this.listError) throw this.listError;
    return [...this.alerts.values()];
  }

  async getAlert(id: string, options?: { checksLimit?: number }): Promise<Alert> {
    this.getCalls.push({ id, checksLimit: options?.checksLimit });
    if (this.getError) throw this.getError;
    // Read now, answered once the gate opens: an answer that may predate later changes.
    const alert = this.alerts.get(id);
    if (this.getGate) await this.getGate;
    if (!alert) throw Object.assign(new Error("Not found."), { code: "not_found" });
    return alert;
  }
}

export const ALERT_ID = "0192c0de-7a1b-7c3e-9d2f-4b5a6c7d8e9f";

/** A stable alert id (a UUID, as PostHog issues) for a test's own label, e.g. `alertIdFor("slow-0")`. */
export function alertIdFor(label: string): string {
  const hex = createHash("sha256").update(label).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** An alert as PostHog's API returns it, parsed by the real schema. */
export function makeAlert(overrides: Record<string, unknown> = {}): Alert {
  return alertSchema.parse({
    id: ALERT_ID,
    created_at: "2025-05-01T10:11:12.123456Z",
    insight: { id: 4821, short_id: "AaVQ8Ijw", name: "Daily signups" },
    name: "Signups dropped",
    subscribed_users: [7],
    threshold: { configuration: { type: "absolute", bounds: { lower: 100, upper: null } } },
    condition: { type: "absolute_value" },
    state: "Not firing",
    enabled: true,
    last_notified_at: null,
    last_checked_at: "2025-06-02T01:00:12.345678Z",
    next_check_at: null,
    checks: [
      { id: "c3", created_at: "2025-06-02T01:00:12.345678Z", calculated_value: 42, state: "Firing" },
      { id: "c2", created_at: "2025-06-01T01:00:12Z", calculated_value: 120, state: "Not firing" },
      { id: "c1", created_at: "2025-05-31T01:00:12Z", calculated_value: 150, state: "Not firing" },
    ],
    config: { type: "TrendsAlertConfig", series_index: 0, check_ongoing_interval: false },
    calculation_interval: "daily",
    snoozed_until: null,
    skip_weekend: false,
    last_value: 42,
    ...overrides,
  });
}

export interface LogEntry {
  level: "debug" | "info" | "warn" | "error";
  details: Record<string, unknown>;
  message: string | undefined;
}

export function memoryLogger(): Logger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at =
    (level: LogEntry["level"]) =>
    (details: Record<string, unknown>, message?: string): void => {
      entries.push({ level, details, message });
    };
  return { entries, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}
