/**
 * Where a request's posts go: the configured channel (the seed's `team`/`channel`), every
 * `[mattermost] recipients` entry, the `[role_to_recipients]` entries of the requested roles
 * (`"*"` for roles without one), and the request's suggested reviewers as direct messages.
 * A recipient is `team/channel` (a channel) or a user name or email (a DM with the bot).
 * Lookups are cached; one that fails is logged once with the fix and the rest still get posts.
 */
import type { Logger } from "pino";
import type { AccessRequest } from "../core/access-request.js";
import { AppError, isAppError } from "../errors.js";
import type { Clock } from "../lib/clock.js";
import type { MattermostClient } from "../mattermost/client.js";

/** Suggested reviewers are chosen by the requester: DM at most this many of them. */
export const MAX_SUGGESTED_REVIEWER_DMS = 10;
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
    const reviewers = this.config.dmSuggestedReviewers
      ? request.suggestedReviewers.slice(0, MAX_SUGGESTED_REVIEWER_DMS)
      : [];
    const lookups = [
      ...names.map((name) => this.lookup(name, "recipient")),
      ...reviewers.map((name) => this.lookup(name, "suggested reviewer")),
    ];
    const found = [this.config.defaultChannel, ...(await Promise.all(lookups))];
    const byChannel = new Map<string, Recipient>();
    for (const recipient of found) {
      if (recipient && !byChannel.has(recipient.channelId)) byChannel.set(recipient.channelId, recipient);
    }
    return [...byChannel.values()];
  }

  /** The bot's DM channel with a Teleport user, if a Mattermost user of that name or email exists. */
  directMessageTo(teleportUser: string): Promise<Recipient | undefined> {
    return this.lookup(teleportUser, "requester");
  }

  private lookup(name: string, role: string): Promise<Recipient | undefined> {
    const key = name.trim();
    const cached = this.cache.get(key);
    if (cached && (key.includes("/") || this.clock.now() - cached.at < USER_CACHE_TTL_MS))
      return cached.found;
    const found = this.find(key, role).catch((error: unknown) => {
      // A transient failure is not remembered: the next request asks again.
      this.cache.delete(key);
      throw error;
    });
    this.cache.set(key, { at: this.clock.now(), found });
    return found;
  }

  private async find(name: string, role: string): Promise<Recipient | undefined> {
    if (name.includes("/")) {
      const [team = "", channel = ""] = name.split("/", 2);
      try {
        const found = await this.mattermost.getChannelByName(team, channel);
        return { channelId: found.id, label: name };
      } catch (error) {
        return this.missing(
          error,
          name,
          `${role} channel "${name}" was not found`,
          `Check the team and channel names and add the bot to ~${channel}`,
        );
      }
    }
    const handle = name.replace(/^@/, "");
    try {
      const user = handle.includes("@")
        ? await this.mattermost.getUserByEmail(handle)
        : await this.mattermost.getUserByUsername(handle);
      const channel = await this.mattermost.createDirectChannel(this.botUserId, user.id);
      return { channelId: channel.id, label: name };
    } catch (error) {
      // Suggested reviewers and requesters are Teleport names; many have no Mattermost twin.
      if (role !== "recipient" && isAppError(error, "NOT_FOUND")) return undefined;
      return this.missing(
        error,
        name,
        `${role} "${name}" is not a Mattermost user`,
        "Use the user's Mattermost username or email",
      );
    }
  }

  private missing(error: unknown, name: string, message: string, fix: string): undefined {
    const failure = AppError.from(error);
    if (failure.retryable) throw failure;
    if (!this.warned.has(name)) {
      this.warned.add(name);
      this.logger.warn(
        { recipient: name, err: failure.describe(), fix },
        `Mattermost ${message}; posting to the others`,
      );
    }
    return undefined;
  }
}
