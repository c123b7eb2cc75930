/**
 * The baseline for ack latency: a Bolt app with the bot's Bolt version and
 * receiver (HTTPReceiver, acknowledging before the listener finishes), whose
 * listeners do nothing but acknowledge. Plain JavaScript so `node` runs it
 * directly, like the built bot.
 */
import { App, HTTPReceiver, LogLevel } from "@slack/bolt";

const port = Number(process.env.PORT);
const receiver = new HTTPReceiver({
  signingSecret: process.env.SLACK_SIGNING_SECRET ?? "",
  endpoints: "/slack/events",
  processBeforeResponse: false,
  logLevel: LogLevel.WARN,
});
const app = new App({
  token: process.env.SLACK_BOT_TOKEN,
  // Known identity, so Bolt never calls auth.test; and a Web API address on loopback in any case.
  botId: "B0BAREBOLT",
  botUserId: "U0BAREBOLT",
  clientOptions: { slackApiUrl: "http://127.0.0.1:9/api/" },
  receiver,
  tokenVerificationEnabled: false,
  logLevel: LogLevel.WARN,
});
app.command(/.*/, async ({ ack }) => {
  await ack();
});
app.action(/.*/, async ({ ack }) => {
  await ack();
});

await app.start(port);
process.stdout.write(`ready ${port}\n`);
process.on("SIGTERM", () => {
  app.stop().finally(() => process.exit(0));
});
