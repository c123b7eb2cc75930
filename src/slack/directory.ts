import type { WebClient } from "@slack/web-api";

export interface SlackUser {
  id: string;
  tz: string | null;
  email: string | null;
  isBot: boolean;
  deleted: boolean;
}

/** What the bot needs to know about Slack users and user groups. */
export interface SlackDirectory {
  user(userId: string): Promise<SlackUser | null>;
  userGroupMembers(groupId: string): Promise<string[]>;
}

/**
 * `users.info` and `usergroups.users.list` with a short cache: time zones
 * and emails change rarely, and a click should not wait on Slack twice.
 */
export function createSlackDirectory(
  client: WebClient,
  now: () => number = Date.now,
  ttlMs = 10 * 60_000,
): SlackDirectory {
  const users = new Map<string, { at: number; value: Promise<SlackUser | null> }>();
  const groups = new Map<string, { at: number; value: Promise<string[]> }>();

  function cached<T>(
    map: Map<string, { at: number; value: Promise<T> }>,
    key: string,
    load: () => Promise<T>,
  ) {
    const hit = map.get(key);
    if (hit && now() - hit.at < ttlMs) return hit.value;
    const value = load();
    map.set(key, { at: now(), value });
    value.catch(() => map.delete(key));
    return value;
  }

  return {
    user: (userId) =>
      cached(users, userId, async () => {
        try {
          const res = await client.users.info({ user: userId });
          const u = res.user;
          if (!u?.id) return null;
          return {
            id: u.id,
            tz: u.tz ?? null,
            email: u.profile?.email ?? null,
            isBot: Boolean(u.is_bot),
            deleted: Boolean(u.deleted),
          };
        } catch (error) {
          if ((error as { data?: { error?: string } }).data?.error === "user_not_found") return null;
          throw error;
        }
      }),
    userGroupMembers: (groupId) =>
      cached(groups, groupId, async () => {
        const res = await client.usergroups.users.list({ usergroup: groupId });
        return res.users ?? [];
      }),
  };
}
