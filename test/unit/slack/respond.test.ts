import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  createResponseUrlSender,
  messageJson,
  type ResponseMessage,
  ResponseUrlError,
  type ResponseUrlSender,
} from "../../../src/slack/respond.js";
import { type FakeSlack, RESPONSE_URL_MAX_USES, startFakeSlack } from "../../support/fake-slack.js";

/** A loopback server whose answer each test sets; it records what it was sent. */
interface Answering {
  url: string;
  received: Array<{ method: string; contentType: string | undefined; body: string }>;
  answer: (req: IncomingMessage, res: ServerResponse) => void;
  close(): Promise<void>;
}

async function answering(): Promise<Answering> {
  const state: Answering = {
    url: "",
    received: [],
    answer: (_req, res) => res.writeHead(200, { "content-type": "text/plain" }).end("ok"),
    close: async () => {},
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      state.received.push({
        method: req.method ?? "",
        contentType: req.headers["content-type"],
        body: Buffer.concat(chunks).toString("utf8"),
      });
      state.answer(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/response/abc`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return state;
}

const MESSAGE: ResponseMessage = {
  response_type: "ephemeral",
  replace_original: false,
  text: "3 alerts: 🔴 Firing: Signups “dropped”",
  blocks: [{ type: "section", text: { type: "mrkdwn", text: "*Signups* · below 100" } }],
};

async function rejection(promise: Promise<unknown>): Promise<ResponseUrlError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ResponseUrlError);
  return error as ResponseUrlError;
}

describe("the response URL sender against a server it controls", () => {
  let server: Answering;
  let sender: ResponseUrlSender;

  beforeAll(async () => {
    server = await answering();
  });
  afterAll(async () => {
    await server.close();
  });
  afterEach(async () => {
    await sender?.close();
    server.received.length = 0;
  });

  it("posts the message as JSON, with replace_original and response_type as given", async () => {
    sender = createResponseUrlSender();
    await sender.send(server.url, { ...MESSAGE, replace_original: true, response_type: "in_channel" });
    expect(server.received).toHaveLength(1);
    const [post] = server.received;
    expect(post?.method).toBe("POST");
    expect(post?.contentType).toMatch(/^application\/json/);
    expect(JSON.parse(post?.body ?? "")).toEqual({
      ...MESSAGE,
      replace_original: true,
      response_type: "in_channel",
    });
  });

  it("keeps connections alive instead of opening one per post", async () => {
    const sockets = new Set<unknown>();
    server.answer = (req, res) => {
      sockets.add(req.socket);
      res.writeHead(200).end("ok");
    };
    sender = createResponseUrlSender();
    for (let i = 0; i < 8; i++) await sender.send(server.url, MESSAGE);
    expect(server.received).toHaveLength(8);
    // undici may take a second connection while the first finishes its answer; never one per post.
    expect(sockets.size).toBeLessThanOrEqual(2);
  });

  it("treats a 200 that says ok:false as refused, with Slack's error", async () => {
    server.answer = (_req, res) =>
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ ok: false, error: "invalid_blocks" }));
    sender = createResponseUrlSender();
    const error = await rejection(sender.send(server.url, MESSAGE));
    expect(error.code).toBe("response_url_refused");
    expect(error.status).toBe(200);
    expect(error.slackError).toBe("invalid_blocks");
  });

  it.each([
    [404, "expired_url"],
    [404, "used_url"],
    [500, undefined],
  ])("rejects an HTTP %i (%s) with the status and Slack's error in the message", async (status, slack) => {
    server.answer = (_req, res) =>
      res
        .writeHead(status, { "content-type": "application/json" })
        .end(slack ? JSON.stringify({ ok: false, error: slack }) : "<html>oops</html>");
    sender = createResponseUrlSender();
    const error = await rejection(sender.send(server.url, MESSAGE));
    expect(error.code).toBe("response_url_refused");
    expect(error.status).toBe(status);
    expect(error.slackError).toBe(slack);
    expect(error.message).toContain(`HTTP ${status}`);
    if (slack) expect(error.message).toContain(slack);
    // The URL is a credential of sorts: it is never part of the error.
    expect(error.message).not.toContain(server.url);
  });

  it("gives up on a server that does not answer, after the timeout", async () => {
    server.answer = () => {}; // never answers
    sender = createResponseUrlSender({ timeoutMs: 150 });
    const started = performance.now();
    const error = await rejection(sender.send(server.url, MESSAGE));
    expect(error.code).toBe("response_url_unreachable");
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

describe("the response URL sender, without a usable URL", () => {
  it("refuses at once when the interaction has no response URL", async () => {
    const sender = createResponseUrlSender();
    for (const url of [undefined, ""]) {
      const error = await rejection(sender.send(url, MESSAGE));
      expect(error.code).toBe("response_url_missing");
    }
    await sender.close();
  });

  it("says the server is unreachable when nothing listens", async () => {
    const gone = await answering();
    const url = gone.url;
    await gone.close();
    const sender = createResponseUrlSender();
    const error = await rejection(sender.send(url, MESSAGE));
    expect(error.code).toBe("response_url_unreachable");
    await sender.close();
  });
});

describe("the response URL sender against the fake Slack", () => {
  let slack: FakeSlack;
  let sender: ResponseUrlSender;

  beforeAll(async () => {
    slack = await startFakeSlack();
    sender = createResponseUrlSender();
  });
  afterAll(async () => {
    await sender.close();
    await slack.close();
  });

  it(`takes ${RESPONSE_URL_MAX_USES} messages on one URL, then reports it used up`, async () => {
    const url = slack.responseUrl();
    for (let i = 0; i < RESPONSE_URL_MAX_USES; i++)
      await sender.send(url, { ...MESSAGE, text: `reply ${i}` });
    expect(
      slack.responses.filter((r) => r.url.endsWith(new URL(url).pathname) && r.status === 200),
    ).toHaveLength(RESPONSE_URL_MAX_USES);
    const error = await rejection(sender.send(url, MESSAGE));
    expect(error.status).toBe(404);
    expect(error.slackError).toBe("used_url");
  });

  it("reports a URL Slack never issued", async () => {
    const error = await rejection(sender.send(`${slack.baseUrl}/response/00000000000000000000dead`, MESSAGE));
    expect(error.status).toBe(404);
    expect(error.slackError).toBe("invalid_url");
  });

  it("passes Slack's refusal of invalid blocks on", async () => {
    const error = await rejection(
      sender.send(slack.responseUrl(), { text: "x", blocks: [{ type: "no_such_block" }] }),
    );
    expect(error.code).toBe("response_url_refused");
    expect(error.slackError).toBe("invalid_blocks");
  });
});

describe("messageJson", () => {
  const json = fc.jsonValue();
  const block = fc.dictionary(fc.string({ maxLength: 8 }), json, { maxKeys: 4 });
  const message = fc.record(
    {
      response_type: fc.constantFrom("ephemeral" as const, "in_channel" as const),
      replace_original: fc.boolean(),
      text: fc.string({ unit: "grapheme", maxLength: 40 }),
      blocks: fc.array(fc.tuple(block, fc.boolean()), { maxLength: 5 }),
    },
    { requiredKeys: ["text"] },
  );

  it("writes exactly what JSON.stringify writes, frozen blocks or not", () => {
    fc.assert(
      fc.property(message, (m) => {
        const built: ResponseMessage = {
          ...m,
          ...(m.blocks ? { blocks: m.blocks.map(([b, frozen]) => (frozen ? Object.freeze(b) : b)) } : {}),
        };
        const expected = JSON.stringify(built);
        expect(messageJson(built)).toBe(expected);
        // A second time, from the cache for the frozen ones.
        expect(messageJson(built)).toBe(expected);
      }),
    );
  });

  it("serializes a frozen block once, however many messages share it", () => {
    let reads = 0;
    const shared = Object.freeze({
      type: "section",
      get text() {
        reads += 1;
        return { type: "mrkdwn", text: "shared row" };
      },
    });
    const first = messageJson({ text: "a", blocks: [shared] });
    const second = messageJson({ text: "b", blocks: [shared, { type: "divider" }] });
    expect(reads).toBe(1);
    expect(JSON.parse(first)).toEqual({
      text: "a",
      blocks: [{ type: "section", text: { type: "mrkdwn", text: "shared row" } }],
    });
    expect(JSON.parse(second).blocks).toHaveLength(2);
  });

  it("leaves out undefined fields as JSON.stringify does", () => {
    const m = { text: "x", blocks: undefined, replace_original: undefined } as unknown as ResponseMessage;
    expect(messageJson(m)).toBe(JSON.stringify(m));
  });
});
