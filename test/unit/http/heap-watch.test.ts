import { describe, expect, it } from "vitest";
import { HeapWatch } from "../../../src/http/heap-watch.js";

const MB = 1024 * 1024;

function recorder() {
  const lines: Array<{ level: string; fields: unknown; message: string }> = [];
  return {
    lines,
    logger: {
      warn: (fields: unknown, message: string) => void lines.push({ level: "warn", fields, message }),
      info: (fields: unknown, message: string) => void lines.push({ level: "info", fields, message }),
    },
  };
}

describe("HeapWatch", () => {
  it("warns once when the heap passes 85% of its limit, and once when it falls under 70%", () => {
    const log = recorder();
    let used = 100 * MB;
    const watch = new HeapWatch({
      logger: log.logger as never,
      read: () => ({ usedBytes: used, limitBytes: 200 * MB }),
      process: () => ({ rss: 150 * MB, external: 12 * MB }),
    });

    expect(watch.check()).toEqual({
      warning: null,
      details: { heapUsedMb: 100, heapLimitMb: 200, rssMb: 150, externalMb: 12 },
    });
    used = 170 * MB;
    const high = watch.check();
    expect(high.warning).toContain("170 of 200 MB (85%)");
    expect(high.warning).toContain("--max-old-space-size");
    used = 160 * MB; // between the two lines: still high, no new log line
    expect(watch.check().warning).toContain("160 of 200 MB");
    watch.sample();
    used = 130 * MB;
    expect(watch.check().warning).toBeNull();

    expect(log.lines.map((line) => line.level)).toEqual(["warn", "info"]);
    expect(log.lines[0]?.fields).toEqual({ heapUsedMb: 170, heapLimitMb: 200 });
  });

  it("reads V8's own figures by default", () => {
    const { details } = new HeapWatch({ logger: recorder().logger as never }).check();
    expect(details.heapUsedMb).toBeGreaterThan(0);
    expect(details.heapLimitMb).toBeGreaterThan(details.heapUsedMb);
  });
});
