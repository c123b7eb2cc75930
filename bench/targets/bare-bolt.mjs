/**
 * The baseline for ack latency: a Bolt app with the bot's Bolt version and
 * receiver (HTTPReceiver, acknowledging before the listener finishes), whose
 * listeners do nothing but acknowledge. Plain JavaScript so `node` runs it
 * directly, like the built bot.
 *
 * With ACK_BODY_FILE set, its commands ack with that file's text as JSON
 * instead of an empty body: the bot's `/alerts list` page, so a run can show
 * what carrying the answer in the ack costs apart from what the bot does.
 */
import { readFileSync } from "node:fs";
import { ServerResponse } from "node:http";
import { App, HTTPReceiver, LogLevel } from "@slack/bolt";

const port = Number(process.env.PORT);
const commandAck = process.env.ACK_BODY_FILE ? readFileSync(process.env.ACK_BODY_FILE, "utf8") : undefined;

/** Bolt writes a text ack without a content type; Slack reads a body as JSON only with one. */
class JsonAckResponse extends ServerResponse {
  writeHead(status, ...rest) {
    if (status === 200 && rest.length === 0)
      return super.writeHead(200, { "content-type": "application/json" });
    return super.writeHead(status, ...rest);
  }
}

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
  await ack(commandAck);
});
app.action(/.*/, async ({ ack }) => {
  await ack();
});

await app.start(port, commandAck === undefined ? {} : { ServerResponse: JsonAckResponse });
process.stdout.write(`ready ${port}\n`);
process.on("SIGTERM", () => {
  app.stop().finally(() => process.exit(0));
});
