import { test } from "vitest";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { Pool } from "undici";
import { freePort, startBot } from "./lib/processes.js";
import { startWorld } from "./lib/world.js";
test("x", async () => {
  const world = await startWorld();
  const port = await freePort();
  const bot = await startBot(world.botEnv({ port, databasePath: `/tmp/herd-${port}.db`, logLevel: "warn" }), port);
  const pool = new Pool(bot.origin, { connections: 128 });
  const kind = (process.env.TMP_KIND ?? "command") as "command" | "snooze";
  // warm
  for (let i = 0; i < 200; i++) { const r = world.request(kind); await (await pool.request({ method: "POST", path: r.path, headers: r.headers, body: r.body })).body.dump(); }
  world.posthog.setLatency(Number(process.env.TMP_DELAY ?? 2000));
  const reqs = Array.from({ length: 3000 }, () => world.request(kind));
  const t0 = performance.now(); const out: Array<[number, number]> = []; const ps: Promise<void>[] = [];
  for (let i = 0; i < reqs.length; i++) {
    const due = t0 + i * 10; const w = due - performance.now(); if (w > 0) await sleep(w);
    const r = reqs[i]!; const s = performance.now();
    ps.push(pool.request({ method: "POST", path: r.path, headers: r.headers, body: r.body }).then(async (res) => { await res.body.dump(); out.push([s - t0, performance.now() - s]); }));
  }
  await Promise.all(ps);
  const buckets = new Map<number, number>();
  for (const [s, l] of out) { const b = Math.floor(s / 1000); buckets.set(b, Math.max(buckets.get(b) ?? 0, l)); }
  console.log("max latency per second:", [...buckets.entries()].sort((a, b) => a[0] - b[0]).map(([b, l]) => `${b}:${l.toFixed(0)}`).join(" "));
  await pool.destroy(); await bot.child.stop(); await world.close();
}, 120000);
