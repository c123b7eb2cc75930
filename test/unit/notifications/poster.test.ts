import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { webApi } from "@slack/bolt";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { classifySlackError, createWebPoster, type SlackPoster } from "../../../src/slack/poster.js";

interface Reply {
  status?: number;
  headers?: Record<string, string>;
  body: Record<string, unknown>;
}

/** A stand-in for Slack's Web API on loopback: records form bodies, answers from a script. */
describe("createWebPoster with a real WebClient", () => {
  let server: Server;
  let poster: SlackPoster;
  let requests: Array<{ method: string; form: URLSearchParams }>;
  let next: (method: string) => Reply;

  beforeEach(async () => {
    requests = [];
    next = () => ({ body: { ok: true, ts: "1700000000.000100" } });
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const method = (req.url ?? "").replace(/^\/api\//, "");
        requests.push({ method, form: new URLSearchParams(Buffer.concat(chunks).toString("utf8")) });
        const reply = next(method);
        res.writeHead(reply.status ?? 200, { "Content-Type": "application/json", ...reply.headers });
        res.end(JSON.stringify(reply.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    const client = new webApi.WebClient("xoxb-test-token", {
      slackApiUrl: `http://127.0.0.1:${port}/api/`,
      rejectRateLimitedCalls: true,
      retryConfig: { retries: 0 },
      logLevel: webApi.LogLevel.ERROR,
    });
    poster = createWebPoster(client);
  });

  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("posts with blocks and no unfurls, and returns the ts", async () => {
    const result = await poster.post({ channel: "C1", text: "hello", blocks: [{ type: "divider" }] });
    expect(result).toEqual({ ok: true, ts: "1700000000.000100" });
    const [call] = requests;
    expect(call?.method).toBe("chat.postMessage");
    expect(call?.form.get("channel")).toBe("C1");
    expect(call?.form.get("text")).toBe("hello");
    expect(JSON.parse(call?.form.get("blocks") ?? "null")).toEqual([{ type: "divider" }]);
    expect(call?.form.get("unfurl_links")).toBe("false");
    expect(call?.form.has("thread_ts")).toBe(false);
  });

  it("sends thread replies without broadcasting", async () => {
    await poster.post({ channel: "C1", text: "again", thread_ts: "1.2", reply_broadcast: false });
    expect(requests[0]?.form.get("thread_ts")).toBe("1.2");
    expect(requests[0]?.form.get("reply_broadcast")).toBe("false");
  });

  it("updates a message", async () => {
    const result = await poster.update({ channel: "C1", ts: "1.2", text: "new", blocks: [] });
    expect(result).toEqual({ ok: true, ts: "1700000000.000100" });
    expect(requests[0]?.method).toBe("chat.update");
    expect(requests[0]?.form.get("ts")).toBe("1.2");
  });

  it("turns a 429 into rate_limited with Retry-After", async () => {
    next = () => ({
      status: 429,
      headers: { "Retry-After": "7" },
      body: { ok: false, error: "ratelimited" },
    });
    expect(await poster.post({ channel: "C1", text: "x" })).toEqual({
      ok: false,
      kind: "rate_limited",
      retryAfterMs: 7000,
    });
  });

  it("treats channel and format errors as permanent", async () => {
    for (const error of [
      "not_in_channel",
      "channel_not_found",
      "is_archived",
      "invalid_auth",
      "invalid_blocks",
      "msg_too_long",
    ]) {
      next = () => ({ body: { ok: false, error } });
      expect(await poster.post({ channel: "C1", text: "x" })).toEqual({
        ok: false,
        kind: "permanent",
        error,
      });
    }
    next = () => ({ body: { ok: false, error: "message_not_found" } });
    expect(await poster.update({ channel: "C1", ts: "1", text: "x", blocks: [] })).toEqual({
      ok: false,
      kind: "permanent",
      error: "message_not_found",
    });
  });

  it("treats Slack's internal errors, 5xx and unreachable servers as transient", async () => {
    next = () => ({ body: { ok: false, error: "internal_error" } });
    expect(await poster.post({ channel: "C1", text: "x" })).toMatchObject({ ok: false, kind: "transient" });
    next = () => ({ status: 503, body: { ok: false } });
    expect(await poster.post({ channel: "C1", text: "x" })).toEqual({
      ok: false,
      kind: "transient",
      error: "http_503",
    });
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    const result = await poster.post({ channel: "C1", text: "x" });
    expect(result).toMatchObject({ ok: false, kind: "transient" });
    server.listen(0, "127.0.0.1"); // so afterEach can close it
  });
});

describe("classifySlackError", () => {
  it("maps the WebClient's error codes", () => {
    expect(classifySlackError({ code: "slack_webapi_rate_limited_error", retryAfter: 3 })).toEqual({
      ok: false,
      kind: "rate_limited",
      retryAfterMs: 3000,
    });
    expect(classifySlackError({ code: "slack_webapi_rate_limited_error" })).toMatchObject({
      kind: "rate_limited",
    });
    expect(
      classifySlackError({ code: "slack_webapi_platform_error", data: { error: "account_inactive" } }),
    ).toEqual({
      ok: false,
      kind: "permanent",
      error: "account_inactive",
    });
    expect(
      classifySlackError({ code: "slack_webapi_platform_error", data: { error: "ratelimited" } }),
    ).toMatchObject({
      kind: "rate_limited",
    });
    expect(classifySlackError({ code: "slack_webapi_http_error", statusCode: 502 })).toEqual({
      ok: false,
      kind: "transient",
      error: "http_502",
    });
    expect(
      classifySlackError({ code: "slack_webapi_request_error", original: { message: "ECONNRESET" } }),
    ).toMatchObject({ kind: "transient", error: "request_error: ECONNRESET" });
    expect(classifySlackError(new Error("boom"))).toMatchObject({ kind: "transient" });
  });
});
