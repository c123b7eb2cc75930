import type { Alert } from "../posthog/schemas.js";

/**
 * The narrow views of the outside world the notification pipeline uses. The
 * PostHog client and a pino logger satisfy them; tests pass small fakes.
 */

/** Read access to PostHog alerts. */
export interface AlertSource {
  listAllAlerts(): Promise<Alert[]>;
  getAlert(id: string, options?: { checksLimit?: number }): Promise<Alert>;
}

type LogFn = (details: Record<string, unknown>, message?: string) => void;

/** The pino calls the pipeline makes: structured details first, then a sentence. */
export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

/** Schedules `fn` after `ms` milliseconds; returns a function that cancels it. */
export type SetTimer = (fn: () => void, ms: number) => () => void;

export const realTimer: SetTimer = (fn, ms) => {
  const handle = setTimeout(fn, Math.max(0, ms));
  handle.unref?.();
  return () => clearTimeout(handle);
};

/** A short, log-safe description of a thrown value. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
