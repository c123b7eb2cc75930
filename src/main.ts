import { createBot } from "./app.js";
import { ConfigError, loadConfig, secretsOf } from "./config.js";
import { createLogger } from "./log.js";
import { createPostHogThread } from "./posthog/thread.js";

/** Slack Web API errors at start-up, in words that say what to fix. */
function startupProblem(error: unknown): string {
  const code = (error as { data?: { error?: string } }).data?.error;
  if ((error as { appToken?: boolean }).appToken && code) {
    return `Slack refused SLACK_APP_TOKEN for Socket Mode (${code}). Create an app-level token with the connections:write scope on your Slack app's Basic Information page, and enable Socket Mode there.`;
  }
  if (
    code === "invalid_auth" ||
    code === "not_authed" ||
    code === "account_inactive" ||
    code === "token_revoked"
  ) {
    return `Slack rejected SLACK_BOT_TOKEN (${code}). Copy the Bot User OAuth Token again from your Slack app's OAuth & Permissions page, and reinstall the app if it was removed.`;
  }
  const message = error instanceof Error ? error.message : String(error);
  // Only the server's own listen is about PORT; a file the bot cannot write says so itself.
  const { syscall, code: errno } = error as { syscall?: string; code?: string };
  if (syscall === "listen" && errno === "EADDRINUSE")
    return "PORT is already in use by another program. Stop it or set PORT to a free port.";
  if (syscall === "listen" && errno === "EACCES")
    return "PORT needs privileges the bot does not have. Use a port above 1024.";
  return `The bot could not start: ${message}`;
}

/**
 * How long a stop may take before the process exits anyway: within the 10 s a container
 * runtime usually gives before it kills (the server's grace is 2 s, the work in flight's about 5 s).
 */
const SHUTDOWN_LIMIT_MS = 9_000;

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger({ level: config.logLevel, secrets: secretsOf(config) });
  // Installed first, so that a stop asked for during start-up (a slow Socket Mode connect, say)
  // is logged and honoured rather than killing the process mid-step.
  let bot: Awaited<ReturnType<typeof createBot>> | undefined;
  let ready = false;
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, ready ? "shutting down" : "shutting down before start-up finished");
    const force = setTimeout(() => {
      logger.error({ afterMs: SHUTDOWN_LIMIT_MS }, "shutdown did not finish in time; exiting anyway");
      process.exit(1);
    }, SHUTDOWN_LIMIT_MS);
    force.unref();
    // A stop asked for is a clean stop, even before start-up finished.
    if (!ready)
      return void (bot ? bot.stop().catch(() => undefined) : Promise.resolve()).then(() => process.exit(0));
    bot
      ?.stop()
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        logger.error({ err: error instanceof Error ? error.message : String(error) }, "shutdown failed");
        process.exit(1);
      });
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));

  // PostHog calls run on a thread of their own (see posthog/thread.ts).
  const posthogThread = createPostHogThread(config.posthog, logger);
  try {
    bot = await createBot({ config, logger, posthogThread });
    if (stopping) return;
    const { port } = await bot.start();
    if (stopping) return;
    ready = true;
    logger.info({ port }, "bot is ready");
  } catch (error) {
    if (stopping) return;
    logger.fatal({ problem: startupProblem(error) }, "start-up failed");
    process.stderr.write(`${startupProblem(error)}\n`);
    await bot?.stop().catch(() => undefined);
    process.exit(1);
  }
  process.on("unhandledRejection", (reason) => {
    logger.error(
      { err: reason instanceof Error ? reason.message : String(reason) },
      "unhandled promise rejection",
    );
  });
}

main().catch((error: unknown) => {
  process.stderr.write(
    `The bot could not start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
