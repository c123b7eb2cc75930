import type { WriteAccess } from "../config.js";
import type { Member } from "../posthog/schemas.js";
import type { SlackDirectory } from "../slack/directory.js";
import { safeMrkdwn } from "../slack/mrkdwn.js";

/** `retry` marks a refusal only because a lookup failed: trying again shortly may well work. */
export type WriteDecision =
  | { ok: true; posthogUserId: number | null }
  | { ok: false; reason: string; retry?: true };

export const REFUSALS = {
  noEmail:
    "You can't change alerts from Slack: the bot can't see your Slack email to match it with a PostHog account. Ask a workspace admin to check the app has the users:read.email scope.",
  notMember: (email: string) =>
    `You can't change alerts from Slack: ${email} is not an active member of the PostHog organization. Ask a PostHog admin to invite that address, or ask whoever runs this bot to change WRITE_ACCESS.`,
  notListed: (admins: string[]) =>
    `You can't change alerts from Slack: changes are limited to specific people here.${
      admins.length > 0 ? ` Ask ${admins.map((id) => `<@${id}>`).join(", ")} for help.` : ""
    } Whoever runs this bot can add you to WRITE_ACCESS.`,
  unknownUser:
    "You can't change alerts from Slack: the bot could not look up your Slack account. Try again shortly.",
  lookupFailed: (what: string) =>
    `The bot could not check whether you may change alerts (${what}). Nothing was changed; try again shortly.`,
} as const;

/**
 * One policy for every write (create, edit, delete, snooze, unsnooze,
 * enable, disable) from any surface. Reads are open to everyone.
 */
export class WritePolicy {
  private members: { at: number; value: Promise<Map<string, Member>> } | null = null;

  constructor(
    private readonly access: WriteAccess,
    private readonly directory: SlackDirectory,
    private readonly listMembers: () => Promise<Member[]>,
    private readonly now: () => number = Date.now,
    private readonly ttlMs = 5 * 60_000,
  ) {}

  /** PostHog members by lower-cased email, cached briefly. */
  membersByEmail(): Promise<Map<string, Member>> {
    if (this.members && this.now() - this.members.at < this.ttlMs) return this.members.value;
    const value = this.listMembers().then(
      (list) =>
        new Map(
          list.filter((m) => m.user.is_active !== false).map((m) => [m.user.email.toLowerCase(), m] as const),
        ),
    );
    this.members = { at: this.now(), value };
    value.catch(() => {
      if (this.members?.value === value) this.members = null;
    });
    return value;
  }

  /** The PostHog user id of a Slack user, matched by email, or null. Never throws. */
  async posthogUserIdFor(slackUserId: string): Promise<number | null> {
    try {
      const user = await this.directory.user(slackUserId);
      if (!user?.email) return null;
      const member = (await this.membersByEmail()).get(user.email.toLowerCase());
      return member?.user.id ?? null;
    } catch {
      return null;
    }
  }

  async check(slackUserId: string): Promise<WriteDecision> {
    const access = this.access;
    if (access.mode === "everyone") return { ok: true, posthogUserId: null };
    if (access.mode === "list") {
      if (access.userIds.includes(slackUserId)) return { ok: true, posthogUserId: null };
      for (const group of access.userGroupIds) {
        let members: string[];
        try {
          members = await this.directory.userGroupMembers(group);
        } catch {
          return { ok: false, reason: REFUSALS.lookupFailed("Slack did not list a user group"), retry: true };
        }
        if (members.includes(slackUserId)) return { ok: true, posthogUserId: null };
      }
      return { ok: false, reason: REFUSALS.notListed(access.userIds.slice(0, 3)) };
    }
    let user: Awaited<ReturnType<SlackDirectory["user"]>>;
    try {
      user = await this.directory.user(slackUserId);
    } catch {
      return { ok: false, reason: REFUSALS.lookupFailed("Slack did not answer"), retry: true };
    }
    if (!user || user.deleted) return { ok: false, reason: REFUSALS.unknownUser };
    if (!user.email) return { ok: false, reason: REFUSALS.noEmail };
    let members: Map<string, Member>;
    try {
      members = await this.membersByEmail();
    } catch (error) {
      const message = (error as { userMessage?: string }).userMessage ?? "PostHog did not answer";
      // PostHog's own words are part of it, no more trusted than an alert name.
      return {
        ok: false,
        reason: REFUSALS.lookupFailed(safeMrkdwn(message.replace(/\.$/, ""), 300)),
        retry: true,
      };
    }
    const member = members.get(user.email.toLowerCase());
    if (!member) return { ok: false, reason: REFUSALS.notMember(user.email) };
    return { ok: true, posthogUserId: member.user.id };
  }
}
