import { createBot } from "./app.js";
import { ConfigError, loadConfig, secretsOf } from "./config.js";
import { createLogger } from "./log.js";
import { createPostHogThread } from "./posthog/thread.js";

/** Slack Web API errors at start-up, in words that say what to fix. */
function startupProblem(error: unknown): string {
  const code = (error as { data?: { error?: string } }).data?.error;
  if (
    code === "invalid_auth" ||
    code === "not_authed" ||
    code === "account_inactive" ||
    code === "token_revoked"
  ) {
    return `Slack rejected SLACK_BOT_TOKEN (${code}). Copy the Bot User OAuth Token again from your Slack app's OAuth & Permissions page, and reinstall the app if it was removed.`;
  }
  const message = error instanceof Error ? error.message : String(error);
  if (/EADDRINUSE/.test(message))
    return "PORT is already in use by another program. Stop it or set PORT to a free port.";
  if (/EACCES/.test(message)) return "PORT needs privileges the bot does not have. Use a port above 1024.";
  return `The bot could not start: ${message}`;
}

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
  // PostHog calls run on a thread of their own (see posthog/thread.ts).
  const posthogThread = createPostHogThread(config.posthog, logger);
  let bot: Awaited<ReturnType<typeof createBot>> | undefined;
  try {
    bot = await createBot({ config, logger, posthogThread });
    const { port } = await bot.start();
    logger.info({ port }, "bot is ready");
  } catch (error) {
    logger.fatal({ problem: startupProblem(error) }, "start-up failed");
    process.stderr.write(`${startupProblem(error)}\n`);
    await bot?.stop().catch(() => undefined);
    process.exit(1);
  }
  const running = bot;

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    running
      .stop()
      .then(() => process.exit(0))
      .catch(() => process.exit(1));
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
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
