import { describe, expect, it } from "vitest";
import { WritePolicy } from "../../../src/auth/policy.js";
import type { Member } from "../../../src/posthog/schemas.js";
import type { SlackDirectory, SlackUser } from "../../../src/slack/directory.js";

function directory(
  users: Record<string, Partial<SlackUser>>,
  groups: Record<string, string[]> = {},
): SlackDirectory & { lookups: number } {
  const dir = {
    lookups: 0,
    async user(id: string) {
      dir.lookups += 1;
      const u = users[id];
      return u ? { id, tz: null, email: null, isBot: false, deleted: false, ...u } : null;
    },
    async userGroupMembers(id: string) {
      const members = groups[id];
      if (!members) throw new Error("no_such_subteam");
      return members;
    },
  };
  return dir;
}

const member = (id: number, email: string, active = true): Member => ({
  id: `m-${id}`,
  level: 1,
  user: { id, uuid: null, email, first_name: null, last_name: null, is_active: active },
});

describe("WritePolicy", () => {
  it("lets PostHog members write and finds their PostHog user id, matching email case-insensitively", async () => {
    let calls = 0;
    const policy = new WritePolicy(
      { mode: "posthog-members" },
      directory({ U1: { email: "Ann@Example.com" } }),
      async () => {
        calls += 1;
        return [member(7, "ann@example.com")];
      },
    );
    expect(await policy.check("U1")).toEqual({ ok: true, posthogUserId: 7 });
    expect(await policy.check("U1")).toEqual({ ok: true, posthogUserId: 7 });
    expect(calls).toBe(1);
  });

  it("refuses non-members, inactive members, unknown users and users without a visible email, saying why", async () => {
    const policy = new WritePolicy(
      { mode: "posthog-members" },
      directory({
        U2: { email: "eve@elsewhere.example" },
        U3: { email: null },
        U4: { email: "old@example.com" },
      }),
      async () => [member(9, "old@example.com", false)],
    );
    const eve = await policy.check("U2");
    expect(eve.ok).toBe(false);
    expect(!eve.ok && eve.reason).toMatch(/eve@elsewhere.example is not an active member/);
    expect(((await policy.check("U3")) as { reason: string }).reason).toMatch(/users:read.email/);
    expect((await policy.check("U4")).ok).toBe(false);
    expect(((await policy.check("U404")) as { reason: string }).reason).toMatch(/could not look up/);
  });

  /** A member check for U1 while PostHog's member list fails with this sentence for the user. */
  function checkWhileMembersFail(userMessage: string) {
    const failing = Object.assign(new Error("x"), { userMessage });
    const policy = new WritePolicy(
      { mode: "posthog-members" },
      directory({ U1: { email: "a@b.c" } }),
      async () => {
        throw failing;
      },
    );
    return policy.check("U1");
  }

  it("refuses (never allows) when PostHog cannot list members", async () => {
    const decision = await checkWhileMembersFail(
      "PostHog is not reachable right now; try again in a minute.",
    );
    expect(decision.ok).toBe(false);
    expect(!decision.ok && decision.reason).toMatch(/PostHog is not reachable/);
  });

  it("escapes PostHog's own words in a refusal, as any outside text", async () => {
    const decision = await checkWhileMembersFail("PostHog says: <!channel> *now*");
    expect(!decision.ok && decision.reason).toContain("&lt;!channel&gt;");
    expect(!decision.ok && decision.reason).not.toContain("<!channel>");
  });

  it("re-reads the member list after the cache time", async () => {
    let now = 0;
    let list = [member(1, "a@b.c")];
    const policy = new WritePolicy(
      { mode: "posthog-members" },
      directory({ U1: { email: "a@b.c" } }),
      async () => list,
      () => now,
      1000,
    );
    expect((await policy.check("U1")).ok).toBe(true);
    list = [];
    now = 500;
    expect((await policy.check("U1")).ok).toBe(true);
    now = 1500;
    expect((await policy.check("U1")).ok).toBe(false);
  });

  it("allows listed users and members of listed user groups only", async () => {
    const policy = new WritePolicy(
      { mode: "list", userIds: ["U1"], userGroupIds: ["S1"] },
      directory({}, { S1: ["U2"] }),
      async () => [],
    );
    expect((await policy.check("U1")).ok).toBe(true);
    expect((await policy.check("U2")).ok).toBe(true);
    const refused = await policy.check("U3");
    expect(!refused.ok && refused.reason).toMatch(/<@U1>/);
  });

  it("allows everyone when configured so, without any lookup", async () => {
    const dir = directory({});
    const policy = new WritePolicy({ mode: "everyone" }, dir, async () => {
      throw new Error("not called");
    });
    expect((await policy.check("U9")).ok).toBe(true);
    expect(dir.lookups).toBe(0);
  });
});
