import type { IncomingMessage, ServerResponse } from "node:http";
import type { RespondArguments } from "@slack/bolt";

/**
 * Acks whose body is JSON text the bot serialized once, ahead of the request.
 *
 * Bolt's HTTP receiver writes an object ack with `JSON.stringify` on every
 * request. A cached alert list page is kilobytes of JSON (22 kB when a page had
 * 20 rows), the same for every `/alerts list` until the list changes, and
 * serializing it again for each one
 * (then flattening the result to count its bytes) made most of the garbage the
 * bot produced per command: twice the young-generation collections of a bare
 * Bolt app, each one a pause in front of whatever acks were waiting.
 *
 * Bolt writes a string ack as it is, but without a content type, and Slack shows
 * a body that is not `application/json` as plain text. So the server remembers
 * each Slack request's response, and the receiver puts a way to mark it as JSON
 * into the listener's context. Over Socket Mode there is no HTTP response: the
 * context has no marker and the listener acks with the object, as before.
 */

/** The context key; Bolt copies custom properties into every listener's `context`. */
export const JSON_ACK_CONTEXT_KEY = "markJsonAck";

/** Responses to Slack requests in flight, by their request (Bolt buffers the same object). */
export class PendingResponses {
  private readonly byRequest = new WeakMap<IncomingMessage, ServerResponse>();

  remember(req: IncomingMessage, res: ServerResponse): void {
    this.byRequest.set(req, res);
  }

  /** For HTTPReceiver's `customPropertiesExtractor`. */
  readonly contextFor = (req: IncomingMessage): Record<string, unknown> => {
    const res = this.byRequest.get(req);
    if (!res) return {};
    return {
      // Once the response has gone (Bolt answered a request left unacknowledged for 3 s), the ack
      // fails in Bolt as it would have; the mark must not fail first with another error.
      [JSON_ACK_CONTEXT_KEY]: () => {
        if (!res.headersSent) res.setHeader("content-type", "application/json");
      },
    };
  };
}

/** An ack body, with its JSON text made once and kept for as long as the answer is. */
export class AckAnswer {
  private text: string | null = null;

  constructor(readonly body: RespondArguments) {}

  get json(): string {
    this.text ??= JSON.stringify(this.body);
    return this.text;
  }
}

type Ack = (body?: string | RespondArguments) => Promise<void>;

/** Acks with the answer's JSON text where the response can be marked as JSON, else with the object. */
export function ackWithAnswer(ack: Ack, context: Record<string, unknown>, answer: AckAnswer): Promise<void> {
  const markJson = context[JSON_ACK_CONTEXT_KEY];
  if (typeof markJson !== "function") return ack(answer.body);
  markJson();
  return ack(answer.json);
}
