import {
  ALERT_ID,
  type Alert,
  type AlertCreate,
  type AlertPatch,
  type Insight,
  type Member,
  type Page,
  type SnoozeResult,
  type UnsnoozeResult,
} from "../posthog/schemas.js";
import { TIMED_OUT, within } from "../time/within.js";
import { withoutEndedSnooze } from "./describe.js";

/** How long a delivery waits for an alert's insight name that is not known yet. */
const NAME_WAIT_MS = 500;

/** The PostHog calls the Slack surfaces need; PostHogClient satisfies it, tests may pass a fake. */
export interface AlertsApi {
  listAllAlerts(): Promise<Alert[]>;
  getAlert(id: string, options?: { checksLimit?: number }): Promise<Alert>;
  createAlert(body: AlertCreate): Promise<Alert>;
  updateAlert(id: string, patch: AlertPatch): Promise<Alert>;
  snoozeAlert(id: string, until: string, options?: { keepLongerByMs?: number }): Promise<SnoozeResult>;
  unsnoozeAlert(id: string): Promise<UnsnoozeResult>;
  deleteAlert(id: string): Promise<void>;
  searchInsights(options: { search?: string; limit?: number; offset?: number }): Promise<Page<Insight>>;
  getInsight(idOrShortId: string | number): Promise<Insight>;
  listMembers(options?: { search?: string }): Promise<Member[]>;
}

export type Resolution =
  | { ok: true; alert: Alert }
  | { ok: false; reason: "not_found"; ref: string }
  | { ok: false; reason: "ambiguous"; ref: string; candidates: Alert[] };

/** Matches a typed reference against alerts: exact name, then case-insensitive name, then a unique part. */
export function matchAlert(ref: string, alerts: Alert[]): Resolution {
  const wanted = ref.trim();
  const lowered = wanted.toLowerCase();
  const exact = alerts.filter((a) => a.name === wanted);
  if (exact.length === 1) return { ok: true, alert: exact[0] as Alert };
  const sameName = exact.length > 1 ? exact : alerts.filter((a) => a.name.toLowerCase() === lowered);
  if (sameName.length === 1) return { ok: true, alert: sameName[0] as Alert };
  if (sameName.length > 1) return { ok: false, reason: "ambiguous", ref: wanted, candidates: sameName };
  const partial = alerts.filter((a) => a.name.toLowerCase().includes(lowered));
  if (partial.length === 1) return { ok: true, alert: partial[0] as Alert };
  if (partial.length > 1) return { ok: false, reason: "ambiguous", ref: wanted, candidates: partial };
  return { ok: false, reason: "not_found", ref: wanted };
}

interface InsightInfo {
  name: string;
  shortId: string;
}

/** One insight lookup; `known` is its answer once it came (null: the lookup failed). */
interface InsightLookup {
  at: number;
  value: Promise<InsightInfo | null>;
  known?: InsightInfo | null;
}

const INSIGHT_TTL_MS = 10 * 60_000;
const FAILED_INSIGHT_TTL_MS = 30_000;

function withInsight(alert: Alert, info: InsightInfo): Alert {
  return { ...alert, insight_name: info.name, insight_short_id: alert.insight_short_id ?? info.shortId };
}

/**
 * How old a list may be and still answer while a newer one is read. Past
 * this, PostHog has failed to answer for minutes: a command waits for it and
 * says so when it fails, instead of showing states that may have long changed.
 */
export const STALE_LIST_LIMIT_MS = 5 * 60_000;

/**
 * Alert reads and writes for the Slack surfaces. Lists are cached for a few
 * seconds so paging through 1,000 alerts does not re-read every page from
 * PostHog on each click. A write that PostHog confirms updates the cached list;
 * any other write drops it.
 */
export class AlertService {
  /** `list` is the resolved value of `alerts`, once it has one. */
  private cache: { at: number; alerts: Promise<Alert[]>; list: Alert[] | null } | null = null;
  /** Insight lookups by insight id. */
  private readonly insights = new Map<number, InsightLookup>();

  constructor(
    readonly api: AlertsApi,
    private readonly now: () => number = Date.now,
    private readonly cacheMs = 15_000,
    private readonly staleLimitMs = STALE_LIST_LIMIT_MS,
  ) {}

  /**
   * When the list `listAll` last answered with was read from PostHog (a write from Slack
   * applied to it keeps that time); null before the first read.
   */
  listedAt(): number | null {
    return this.settled ? this.settledAt : this.cache?.list ? this.cache.at : null;
  }

  /** The last list, while it is young enough to answer during a refresh (see STALE_LIST_LIMIT_MS). */
  private usableSettled(): Alert[] | null {
    return this.settled && this.now() - this.settledAt <= this.staleLimitMs ? this.settled : null;
  }

  /**
   * The list as `listAll` would answer it, when that needs no PostHog call: the
   * cached list, or the last one while it is refreshed in the background. Null
   * when the list must be read first.
   */
  listNow(): Alert[] | null {
    if (!this.cache) return null;
    if (this.now() - this.cache.at < this.cacheMs) return this.cache.list;
    const settled = this.usableSettled();
    if (settled) this.refreshInBackground();
    return settled;
  }

  listAll(options: { fresh?: boolean } = {}): Promise<Alert[]> {
    const t = this.now();
    if (!options.fresh && this.cache) {
      if (t - this.cache.at < this.cacheMs) return this.cache.alerts;
      // Expired but usable: answer from it while one refresh runs in the background, instead
      // of making every command that arrives meanwhile wait for PostHog and finish all at once.
      const settled = this.usableSettled();
      if (settled) {
        this.refreshInBackground();
        return Promise.resolve(settled);
      }
    }
    const alerts = this.readList();
    const generation = this.generation;
    const cache: NonNullable<typeof this.cache> = { at: t, alerts, list: null };
    this.cache = cache;
    alerts.then(
      (list) => {
        cache.list = list;
        if (this.generation === generation) {
          this.settled = list;
          this.settledAt = t;
        }
      },
      () => {
        if (this.cache?.alerts === alerts) this.cache = null;
      },
    );
    return alerts;
  }

  /** PostHog's list as Slack shows it: a snooze that has ended is none. */
  private async readList(): Promise<Alert[]> {
    return this.showable(await this.api.listAllAlerts());
  }

  /** `list` with ended snoozes cleared; the same array when there were none. */
  private showable(list: Alert[]): Alert[] {
    const t = this.now();
    const shown = list.map((alert) => withoutEndedSnooze(alert, t));
    return shown.every((alert, i) => alert === list[i]) ? list : shown;
  }

  /** The last list PostHog returned, and a counter that writes bump so stale refreshes are dropped. */
  private settled: Alert[] | null = null;
  /** When the read that `settled` came from began (a write applied to it keeps the time). */
  private settledAt = 0;
  private generation = 0;
  private refreshing = false;

  private refreshInBackground(): void {
    if (this.refreshing) return;
    this.refreshing = true;
    const started = this.now();
    const generation = this.generation;
    this.readList()
      .then(
        (list) => {
          if (this.generation !== generation) return;
          this.settled = list;
          this.settledAt = started;
          this.cache = { at: started, alerts: Promise.resolve(list), list };
        },
        () => undefined,
      )
      .finally(() => {
        this.refreshing = false;
      });
  }

  /**
   * Fills in insight names and short ids, which older PostHog servers leave
   * out of alert lists (they return the insight's numeric id only). Looked
   * up per insight, a few at a time, cached for ten minutes; a failed lookup
   * leaves the alert as it was, and is tried again after half a minute.
   */
  async withInsightNames(alerts: Alert[]): Promise<Alert[]> {
    const missing = [...new Set(alerts.filter((a) => a.insight_name === null).map((a) => a.insight))];
    const t = this.now();
    const queue = missing.filter((id) => !this.freshInsight(id, t));
    const load = async (id: number) => {
      const entry: InsightLookup = {
        at: t,
        value: this.api.getInsight(id).then(
          (i) =>
            (entry.known = { name: i.name || i.derived_name || "Untitled insight", shortId: i.short_id }),
          () => (entry.known = null),
        ),
      };
      this.insights.set(id, entry);
      await entry.value;
    };
    const workers = Array.from({ length: Math.min(4, queue.length) }, async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) await load(id);
    });
    await Promise.all(workers);
    return Promise.all(
      alerts.map(async (a) => {
        if (a.insight_name !== null) return a;
        const info = await this.insights.get(a.insight)?.value;
        return info ? withInsight(a, info) : a;
      }),
    );
  }

  /**
   * The alerts a notification is drawn from: one alert comes with its insight's name, as
   * every other surface shows it (PostHog's alert holds only the insight's id on some
   * servers); the whole list, which only the poller reads, comes as PostHog gives it.
   */
  notificationSource(nameWaitMs = NAME_WAIT_MS): Pick<AlertsApi, "listAllAlerts" | "getAlert"> {
    return {
      listAllAlerts: () => this.api.listAllAlerts(),
      getAlert: async (id, options) => {
        const alert = await this.api.getAlert(id, options);
        const known = this.withKnownInsightNames([alert]);
        if (known) return known[0] as Alert;
        // A delivery waits for the name only briefly (each channel's pace counts from its Slack
        // call, and an incident can hit the Insights API's own 240/minute); a lookup still under
        // way then names the alert's later redraws.
        const named = await within(this.withInsightNames([alert]), nameWaitMs);
        return named === TIMED_OUT ? alert : (named[0] as Alert);
      },
    };
  }

  /**
   * What `withInsightNames` would answer, when it needs no PostHog call: every
   * insight name missing is one already looked up. Null otherwise. An alert
   * that a write just replaced is named this way without waiting.
   */
  withKnownInsightNames(alerts: Alert[]): Alert[] | null {
    const t = this.now();
    const named: Alert[] = [];
    for (const a of alerts) {
      if (a.insight_name !== null) {
        named.push(a);
        continue;
      }
      const info = this.freshInsight(a.insight, t)?.known;
      if (!info) return null;
      named.push(withInsight(a, info));
    }
    return named;
  }

  /** The insight lookup that still counts at `t`: ten minutes for an answer, half a minute for a failure. */
  private freshInsight(id: number, t: number) {
    const hit = this.insights.get(id);
    if (!hit) return undefined;
    const ttl = hit.known === null ? FAILED_INSIGHT_TTL_MS : INSIGHT_TTL_MS;
    return t - hit.at > ttl ? undefined : hit;
  }

  invalidate(): void {
    this.cache = null;
    this.settled = null;
    this.generation += 1;
  }

  /**
   * What `resolve` would answer from the cached list alone, with no PostHog call;
   * null when it needs one: no list in hand, an id, or a name the list does not
   * know (the alert may have been created since).
   */
  resolveCached(ref: string): Resolution | null {
    const list = this.listNow();
    if (!list || ALERT_ID.test(ref.trim())) return null;
    const found = matchAlert(ref, list);
    return found.ok || found.reason === "ambiguous" ? found : null;
  }

  async resolve(ref: string): Promise<Resolution> {
    const wanted = ref.trim();
    if (ALERT_ID.test(wanted)) {
      try {
        return { ok: true, alert: await this.api.getAlert(wanted.toLowerCase()) };
      } catch (error) {
        if ((error as { code?: string }).code === "not_found")
          return { ok: false, reason: "not_found", ref: wanted };
        throw error;
      }
    }
    // The cached list serves most lookups; a name it does not know may be an alert created
    // since, so only a miss reads the list again.
    const cached = matchAlert(wanted, await this.listAll());
    if (cached.ok || cached.reason === "ambiguous") return cached;
    return matchAlert(wanted, await this.listAll({ fresh: true }));
  }

  /**
   * Runs a write, then applies what PostHog confirmed to the cached list, so the
   * next command does not read every page again (100 requests at 10,000 alerts,
   * against PostHog's 480 a minute). The cache is dropped instead when the write
   * fails (PostHog may have applied it before the failure), when there is no
   * change to apply, or when no list is in hand or a read that began before the
   * write is still in flight.
   */
  private async write<T>(call: () => Promise<T>, change?: (list: Alert[], result: T) => Alert[]): Promise<T> {
    let result: T;
    try {
      result = await call();
    } catch (error) {
      this.invalidate();
      throw error;
    }
    const list = this.cache?.list;
    if (!change || !this.cache || !list || list !== this.settled) {
      this.invalidate();
      return result;
    }
    const next = this.showable(change(list, result));
    this.generation += 1;
    this.settled = next;
    this.cache = { at: this.cache.at, alerts: Promise.resolve(next), list: next };
    return result;
  }

  update(id: string, patch: AlertPatch): Promise<Alert> {
    return this.write(
      () => this.api.updateAlert(id, patch),
      (list, updated) => list.map((alert) => (alert.id === id ? updated : alert)),
    );
  }

  snooze(id: string, until: string, options: { keepLongerByMs?: number } = {}): Promise<SnoozeResult> {
    return this.write(
      () => this.api.snoozeAlert(id, until, options),
      (list, result) => list.map((alert) => (alert.id === id ? result.alert : alert)),
    );
  }

  unsnooze(id: string): Promise<UnsnoozeResult> {
    return this.write(
      () => this.api.unsnoozeAlert(id),
      (list, result) => list.map((alert) => (alert.id === id ? result.alert : alert)),
    );
  }

  /** A new alert's place in PostHog's order is PostHog's to say: the list is read again. */
  create(body: AlertCreate): Promise<Alert> {
    return this.write(() => this.api.createAlert(body));
  }

  delete(id: string): Promise<void> {
    return this.write(
      () => this.api.deleteAlert(id),
      (list) => list.filter((alert) => alert.id !== id),
    );
  }
}
