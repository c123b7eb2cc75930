import type { IncomingMessage, ServerResponse } from "node:http";

export interface HealthReport {
  status: "starting" | "stopping" | "ok" | "degraded" | "failing";
  /** Problems that make the bot unable to work; any of these makes /healthz answer 503. */
  failing: string[];
  /** Problems worth a look that do not stop the bot; reported with 200. */
  warnings: string[];
  details: Record<string, unknown>;
}

/**
 * The bot's health, put together from named checks. Each check is a small
 * function the composition root registers (store, PostHog key, delivery).
 * Output never contains configuration values.
 */
export class Health {
  private ready = false;
  private stopping = false;
  private readonly checks = new Map<
    string,
    () => { failing?: string | null; warning?: string | null; details?: unknown }
  >();

  markReady(): void {
    this.ready = true;
  }

  markStopping(): void {
    this.ready = false;
    this.stopping = true;
  }

  register(
    name: string,
    check: () => { failing?: string | null; warning?: string | null; details?: unknown },
  ): void {
    this.checks.set(name, check);
  }

  report(): HealthReport {
    const failing: string[] = [];
    const warnings: string[] = [];
    const details: Record<string, unknown> = {};
    for (const [name, check] of this.checks) {
      try {
        const result = check();
        if (result.failing) failing.push(result.failing);
        if (result.warning) warnings.push(result.warning);
        if (result.details !== undefined) details[name] = result.details;
      } catch (error) {
        // e.g. the database locked by another process: say which check and why.
        failing.push(
          `${name} check failed: ${error instanceof Error ? error.message : String(error)}`.slice(0, 300),
        );
      }
    }
    const status = this.stopping
      ? "stopping"
      : !this.ready
        ? "starting"
        : failing.length > 0
          ? "failing"
          : warnings.length > 0
            ? "degraded"
            : "ok";
    return { status, failing, warnings, details };
  }

  handle = (_req: IncomingMessage, res: ServerResponse): void => {
    const report = this.report();
    const code = report.status === "ok" || report.status === "degraded" ? 200 : 503;
    res.writeHead(code, { "content-type": "application/json", "cache-control": "no-store" });
    res.end(JSON.stringify(report));
  };
}
