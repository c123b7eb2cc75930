import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  AckAnswer,
  ackWithAnswer,
  JSON_ACK_CONTEXT_KEY,
  PendingResponses,
} from "../../../src/slack/json-ack.js";

let server: Server | null = null;

afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = null;
});

/** A loopback server whose handler answers through a JSON ack, as Bolt's receiver would write it. */
async function serve(handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const listening = createServer(handle);
  server = listening;
  await new Promise<void>((resolve) => listening.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(listening.address() as AddressInfo).port}/`;
}

/** Writes a string ack the way Bolt's HTTP receiver does: status 200 and the text, nothing else. */
function boltStringAck(res: ServerResponse) {
  return async (body?: unknown) => {
    res.writeHead(200);
    res.end(typeof body === "string" ? body : JSON.stringify(body));
  };
}

describe("JSON acks", () => {
  it("marks the response of a remembered request as JSON, so the serialized answer reads as a message", async () => {
    const pending = new PendingResponses();
    const answer = new AckAnswer({ response_type: "ephemeral", text: "3 alerts" });
    const url = await serve((req, res) => {
      pending.remember(req, res);
      void ackWithAnswer(boltStringAck(res), pending.contextFor(req), answer);
    });
    const res = await fetch(url, { method: "POST", body: "x" });
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.json()).toEqual({ response_type: "ephemeral", text: "3 alerts" });
  });

  it("gives a request it does not know no marker, and the ack then carries the object", async () => {
    const pending = new PendingResponses();
    const acked: unknown[] = [];
    const url = await serve((req, res) => {
      const context = pending.contextFor(req);
      expect(context[JSON_ACK_CONTEXT_KEY]).toBeUndefined();
      void ackWithAnswer(
        async (body) => {
          acked.push(body);
          res.end();
        },
        context,
        new AckAnswer({ text: "help" }),
      );
    });
    await (await fetch(url, { method: "POST", body: "x" })).text();
    expect(acked).toEqual([{ text: "help" }]);
  });

  it("leaves a response that has already gone alone", async () => {
    const pending = new PendingResponses();
    let marked: unknown = "not run";
    const url = await serve((req, res) => {
      pending.remember(req, res);
      res.writeHead(404).end();
      const mark = pending.contextFor(req)[JSON_ACK_CONTEXT_KEY] as () => void;
      try {
        mark();
        marked = null;
      } catch (error) {
        marked = error;
      }
    });
    expect((await fetch(url, { method: "POST", body: "x" })).status).toBe(404);
    expect(marked).toBeNull();
  });

  it("serializes an answer once, however often it is sent", () => {
    const body = { text: "list", blocks: [{ type: "divider" }] };
    const answer = new AckAnswer(body);
    const first = answer.json;
    body.text = "changed after serializing";
    expect(answer.json).toBe(first);
    expect(JSON.parse(first)).toEqual({ text: "list", blocks: [{ type: "divider" }] });
  });
});
