/**
 * Where a request's posts go: the configured channel (the seed's `team`/`channel`), every
 * `[mattermost] recipients` entry, the `[role_to_recipients]` entries of the requested roles
 * (`"*"` for roles without one), and the request's suggested reviewers as direct messages.
 * A recipient is `team/channel` (a channel) or a user name or email (a DM with the bot), in any
 * case: Mattermost's names are lower case, and so are the look-ups. Lookups are cached; one that
 * fails is logged once (a configured recipient at warn with the fix, a Teleport name that has no
 * Mattermost account at info with the reason) and the rest still get posts.
 */
import type { Logger } from "pino";
import type { AccessRequest } from "../core/access-request.js";
import { AppError, isAppError } from "../errors.js";
import type { Clock } from "../lib/clock.js";
import type { MattermostClient } from "../mattermost/client.js";
import { emailProblem, normalizeUserHandle, usernameProblem } from "../mattermost/names.js";

/** Suggested reviewers are chosen by the requester: DM at most this many of them. */
export const MAX_SUGGESTED_REVIEWER_DMS = 10;
/**
 * Suggested reviewers looked up per request, to find the DMs above among names that have no
 * Mattermost account; the requester chooses the list, so the look-ups are bounded too.
 */
export const MAX_SUGGESTED_REVIEWER_LOOKUPS = 30;
/** Names whose failed look-up was logged; beyond this many the memory starts over. */
const MAX_REMEMBERED_WARNINGS = 10_000;
/** How long a user lookup (found or not) is trusted before asking Mattermost again. */
export const USER_CACHE_TTL_MS = 10 * 60_000;

export interface Recipient {
  channelId: string;
  /** How the operator wrote it, for logs. */
  label: string;
}

export interface RecipientConfig {
  /** The seed's team/channel, already resolved at start. */
  defaultChannel?: Recipient;
  recipients: string[];
  roleToRecipients: Record<string, string[]>;
  /** DM the request's suggested reviewers who exist in Mattermost. */
  dmSuggestedReviewers: boolean;
}

export class RecipientResolver {
  private readonly cache = new Map<string, { at: number; found: Promise<Recipient | undefined> }>();
  private readonly warned = new Set<string>();

  constructor(
    private readonly mattermost: MattermostClient,
    private readonly botUserId: string,
    private readonly config: RecipientConfig,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** The recipient names configured for a request, before lookup (for tests and logs). */
  configuredFor(request: Pick<AccessRequest, "roles">): string[] {
    const routed = new Set<string>(this.config.recipients);
    const table = this.config.roleToRecipients;
    if (Object.keys(table).length > 0) {
      for (const role of request.roles.length ? request.roles : ["*"]) {
        for (const name of table[role] ?? table["*"] ?? []) routed.add(name);
      }
    }
    return [...routed];
  }

  /** Every channel the request should be posted to, deduplicated, in a stable order. */
  async resolve(request: Pick<AccessRequest, "roles" | "suggestedReviewers">): Promise<Recipient[]> {
    const names = this.configuredFor(request);
    const [configured, reviewers] = await Promise.all([
      Promise.all(names.map((name) => this.lookup(name, "recipient"))),
      this.config.dmSuggestedReviewers ? this.suggestedReviewers(request.suggestedReviewers) : [],
    ]);
    const byChannel = new Map<string, Recipient>();
    for (const recipient of [this.config.defaultChannel, ...configured, ...reviewers]) {
      if (recipient && !byChannel.has(recipient.channelId)) byChannel.set(recipient.channelId, recipient);
    }
    return [...byChannel.values()];
  }

  /**
   * The DMs of the first MAX_SUGGESTED_REVIEWER_DMS suggested reviewers who have a Mattermost
   * account: names are resolved first and capped after, so names without an account early in
   * the list do not use up the DMs.
   */
  private async suggestedReviewers(names: readonly string[]): Promise<Recipient[]> {
    const unique = [...new Map(names.map((name) => [normalizeUserHandle(name), name])).values()];
    const tried = unique.slice(0, MAX_SUGGESTED_REVIEWER_LOOKUPS);
    if (unique.length > tried.length) {
      this.once(`lookups:${unique.length}`, () =>
        this.logger.info(
          { suggested: unique.length, looked_up: tried.length },
          `A request suggests ${unique.length} reviewers; only the first ${tried.length} are looked up in Mattermost`,
        ),
      );
    }
    const found = await Promise.all(tried.map((name) => this.lookup(name, "suggested reviewer")));
    return found
      .filter((recipient): recipient is Recipient => recipient !== undefined)
      .slice(0, MAX_SUGGESTED_REVIEWER_DMS);
  }

  /** The bot's DM channel with a Teleport user, if a Mattermost user of that name or email exists. */
  directMessageTo(teleportUser: string): Promise<Recipient | undefined> {
    return this.lookup(teleportUser, "requester");
  }

  private lookup(name: string, role: string): Promise<Recipient | undefined> {
    const key = name.includes("/") ? name.trim().toLowerCase() : normalizeUserHandle(name);
    const cached = this.cache.get(key);
    if (cached && (key.includes("/") || this.clock.now() - cached.at < USER_CACHE_TTL_MS))
      return cached.found;
    const found = this.find(key, name.trim(), role).catch((error: unknown) => {
      // A transient failure is not remembered: the next request asks again.
      this.cache.delete(key);
      throw error;
    });
    this.cache.set(key, { at: this.clock.now(), found });
    return found;
  }

  /** `key` is the name as Mattermost stores it; `label` as it was written, for logs. */
  private async find(key: string, label: string, role: string): Promise<Recipient | undefined> {
    if (key.includes("/")) {
      const [team = "", channel = ""] = key.split("/", 2);
      try {
        const found = await this.mattermost.getChannelByName(team, channel);
        return { channelId: found.id, label };
      } catch (error) {
        return this.missing(
          error,
          label,
          `${role} channel "${label}" was not found`,
          `Check the team and channel names and add the bot to ~${channel}`,
        );
      }
    }
    // A Teleport name that cannot be a Mattermost username or email needs no call to say so.
    const invalid = key.includes("@") ? emailProblem(key) : usernameProblem(key);
    if (invalid) return this.noAccount(label, role, `${invalid}`);
    try {
      const user = key.includes("@")
        ? await this.mattermost.getUserByEmail(key)
        : await this.mattermost.getUserByUsername(key);
      const channel = await this.mattermost.createDirectChannel(this.botUserId, user.id);
      return { channelId: channel.id, label };
    } catch (error) {
      // Suggested reviewers and requesters are Teleport names; many have no Mattermost twin.
      if (role !== "recipient" && isAppError(error, "NOT_FOUND")) {
        return this.noAccount(
          label,
          role,
          `Mattermost has no user ${key.includes("@") ? "with email" : "named"} ${key}`,
        );
      }
      return this.missing(
        error,
        label,
        `${role} "${label}" is not a Mattermost user`,
        "Use the user's Mattermost username or email",
      );
    }
  }

  /** A Teleport name with no Mattermost account: said once, at info, with the reason. */
  private noAccount(label: string, role: string, reason: string): undefined {
    this.once(`${role}:${label}`, () =>
      this.logger.info(
        { [role === "requester" ? "requester" : "reviewer"]: label, reason },
        role === "requester"
          ? `Requester "${label}" has no Mattermost account; the outcome is posted in the threads only`
          : `Suggested reviewer "${label}" has no Mattermost account; not sent a direct message`,
      ),
    );
    return undefined;
  }

  private missing(error: unknown, name: string, message: string, fix: string): undefined {
    const failure = AppError.from(error);
    if (failure.retryable) throw failure;
    this.once(name, () =>
      this.logger.warn(
        { recipient: name, err: failure.describe(), fix },
        `Mattermost ${message}; posting to the others`,
      ),
    );
    return undefined;
  }

  private once(key: string, log: () => void): void {
    if (this.warned.has(key)) return;
    if (this.warned.size >= MAX_REMEMBERED_WARNINGS) this.warned.clear();
    this.warned.add(key);
    log();
  }
}
