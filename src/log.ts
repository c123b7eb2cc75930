import { type Logger as BoltLogger, LogLevel as BoltLogLevel } from "@slack/bolt";
import pino, { type DestinationStream, type Logger } from "pino";
import type { LogLevel } from "./config.js";

export type { Logger } from "pino";

const REDACTED = "[redacted]";

/**
 * A destination that replaces every known secret value before a line leaves
 * the process. Path-based redaction cannot know where a token may turn up
 * (an error message, a URL, a library's debug line), so the values
 * themselves are scrubbed from every line, whatever its level.
 */
export function redactingDestination(
  secrets: string[],
  out: { write(line: string): unknown },
): DestinationStream {
  const needles = secrets.filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  return {
    write(line: string) {
      let clean = line;
      for (const secret of needles) {
        if (clean.includes(secret)) clean = clean.split(secret).join(REDACTED);
      }
      out.write(clean);
    },
  };
}

export function createLogger(options: {
  level: LogLevel;
  secrets: string[];
  out?: { write(line: string): unknown };
}): Logger {
  return pino(
    {
      level: options.level,
      base: { app: "posthog-alerts-slack-bot" },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ["authorization", "headers.authorization", "*.authorization", "token", "*.token"],
        censor: REDACTED,
      },
    },
    redactingDestination(options.secrets, options.out ?? process.stdout),
  );
}

const TO_BOLT: Record<string, BoltLogLevel> = {
  trace: BoltLogLevel.DEBUG,
  debug: BoltLogLevel.DEBUG,
  info: BoltLogLevel.INFO,
  warn: BoltLogLevel.WARN,
  error: BoltLogLevel.ERROR,
  fatal: BoltLogLevel.ERROR,
  silent: BoltLogLevel.ERROR,
};

/** Bolt's logger interface over our pino logger, so library messages go through the same redaction. */
export function boltLogger(logger: Logger): BoltLogger {
  const child = logger.child({ component: "bolt" });
  const text = (parts: unknown[]) =>
    parts
      .map((p) => (typeof p === "string" ? p : p instanceof Error ? p.message : JSON.stringify(p)))
      .join(" ");
  return {
    // Bolt logs a debug line or two per request; build its text only when someone reads it.
    debug: (...msg: unknown[]) => {
      if (child.isLevelEnabled("debug")) child.debug(text(msg));
    },
    info: (...msg: unknown[]) => child.info(text(msg)),
    warn: (...msg: unknown[]) => child.warn(text(msg)),
    error: (...msg: unknown[]) => child.error(text(msg)),
    setLevel: () => {},
    getLevel: () => TO_BOLT[logger.level] ?? BoltLogLevel.INFO,
    setName: () => {},
  };
}
