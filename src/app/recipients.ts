/**
 * Where a request's posts go: the recipients of the access monitoring rules that match it
 * (Teleport 16+, app/monitoring-rules) when any is found; otherwise the configured channel (the seed's `team`/`channel`), every
 * `[mattermost] recipients` entry, the `[role_to_recipients]` entries of the requested roles
 * (`"*"` for roles without one), and the request's suggested reviewers as direct messages.
 * A recipient is `team/channel` (a channel) or a user name or email (a DM with the bot), in any
 * case: Mattermost's names are lower case, and so are the look-ups. Lookups are cached. A
 * configured recipient that cannot be found is returned as missing, with the error and its fix,
 * for the caller to retry and report (app/delivery-failures); a Teleport name that has no
 * Mattermost account is logged once at info with the reason. The rest still get posts.
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
/**
 * How long a configured recipient that could not be found stays so before it is looked up again:
 * short, because the fix (adding the bot to the team) should show within 30 s.
 */
export const MISSING_RECIPIENT_RECHECK_MS = 10_000;

export interface Recipient {
  channelId: string;
  /** How the operator wrote it, for logs. */
  label: string;
}

/** Where a request goes: the recipients found, and the configured ones that could not be. */
export interface Resolved {
  found: Recipient[];
  missing: Array<{ label: string; error: AppError }>;
}

/** One name's look-up: a recipient, nothing (a Teleport name without an account), or a failure. */
interface Lookup {
  recipient?: Recipient;
  missing?: AppError;
}

export interface RecipientConfig {
  /** The seed's team/channel, already resolved at start. */
  defaultChannel?: Recipient;
  recipients: string[];
  roleToRecipients: Record<string, string[]>;
  /** DM the request's suggested reviewers who exist in Mattermost. */
  dmSuggestedReviewers: boolean;
  /** Routing by access monitoring rules, asked first (Teleport 16+). */
  monitoringRules?: { recipientsFor(request: AccessRequest): Promise<string[]> };
}

export class RecipientResolver {
  private readonly cache = new Map<string, { at: number; ttlMs: number; found: Promise<Lookup> }>();
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
  async resolve(request: AccessRequest): Promise<Resolved> {
    const ruled = await this.fromMonitoringRules(request);
    if (ruled.found.length > 0) return ruled;
    const names = this.configuredFor(request);
    const [configured, reviewers] = await Promise.all([
      Promise.all(names.map((name) => this.lookup(name, "recipient"))),
      this.config.dmSuggestedReviewers ? this.suggestedReviewers(request.suggestedReviewers) : [],
    ]);
    const byChannel = new Map<string, Recipient>();
    const found = [this.config.defaultChannel, ...configured.map((one) => one.recipient), ...reviewers];
    for (const recipient of found) {
      if (recipient && !byChannel.has(recipient.channelId)) byChannel.set(recipient.channelId, recipient);
    }
    const missing = configured.flatMap((one, index) =>
      one.missing ? [{ label: names[index] ?? "?", error: one.missing }] : [],
    );
    return { found: [...byChannel.values()], missing };
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
      .flatMap((one) => (one.recipient ? [one.recipient] : []))
      .slice(0, MAX_SUGGESTED_REVIEWER_DMS);
  }

  /**
   * The recipients of the matching access monitoring rules that exist in Mattermost, as
   * Teleport's plugins take them (accessrequest/app.go): when none is found, the config routes.
   */
  private async fromMonitoringRules(request: AccessRequest): Promise<Resolved> {
    const names = (await this.config.monitoringRules?.recipientsFor(request)) ?? [];
    const looked = await Promise.all(names.map((name) => this.lookup(name, "recipient")));
    const found = new Map<string, Recipient>();
    for (const { recipient } of looked) {
      if (recipient && !found.has(recipient.channelId)) found.set(recipient.channelId, recipient);
    }
    const missing = looked.flatMap((one, index) =>
      one.missing ? [{ label: names[index] ?? "?", error: one.missing }] : [],
    );
    if (found.size === 0 && missing.length > 0) {
      this.once(`rules:${missing.map((one) => one.label).join()}`, () =>
        this.logger.warn(
          { recipients: missing.map((one) => one.label), err: missing[0]?.error.describe() },
          "No recipient of the matching access monitoring rules was found in Mattermost; posting by the config",
        ),
      );
    }
    return { found: [...found.values()], missing };
  }

  /** The bot's DM channel with a Teleport user, if a Mattermost user of that name or email exists. */
  async directMessageTo(teleportUser: string): Promise<Recipient | undefined> {
    return (await this.lookup(teleportUser, "requester")).recipient;
  }

  private lookup(name: string, role: string): Promise<Lookup> {
    const key = name.includes("/") ? name.trim().toLowerCase() : normalizeUserHandle(name);
    const cached = this.cache.get(key);
    if (cached && this.clock.now() - cached.at < cached.ttlMs) return cached.found;
    const entry = { at: this.clock.now(), ttlMs: USER_CACHE_TTL_MS, found: Promise.resolve<Lookup>({}) };
    entry.found = this.find(key, name.trim(), role).then(
      (lookup) => {
        // Channel ids never change; a failure is asked again soon, since its fix should show fast.
        if (lookup.missing) entry.ttlMs = MISSING_RECIPIENT_RECHECK_MS;
        else if (key.includes("/")) entry.ttlMs = Number.POSITIVE_INFINITY;
        return lookup;
      },
      (error: unknown) => {
        // A transient failure is not remembered: the next request asks again.
        this.cache.delete(key);
        throw error;
      },
    );
    this.cache.set(key, entry);
    return entry.found;
  }

  /** `key` is the name as Mattermost stores it; `label` as it was written, for logs. */
  private async find(key: string, label: string, role: string): Promise<Lookup> {
    if (key.includes("/")) {
      const [team = "", channel = ""] = key.split("/", 2);
      try {
        const found = await this.mattermost.getChannelByName(team, channel);
        return { recipient: { channelId: found.id, label } };
      } catch (error) {
        return this.missing(
          error,
          `channel "${label}" was not found or the bot cannot see it`,
          `Check the team and channel names (those in the channel's address) and add the bot to team ${team} and ~${channel}`,
        );
      }
    }
    // A Teleport name that cannot be a Mattermost username or email needs no call to say so.
    const invalid = key.includes("@") ? emailProblem(key) : usernameProblem(key);
    if (invalid && role !== "recipient") return this.noAccount(label, role, invalid);
    try {
      const user = key.includes("@")
        ? await this.mattermost.getUserByEmail(key)
        : await this.mattermost.getUserByUsername(key);
      const channel = await this.mattermost.createDirectChannel(this.botUserId, user.id);
      return { recipient: { channelId: channel.id, label } };
    } catch (error) {
      // Suggested reviewers and requesters are Teleport names; many have no Mattermost twin.
      if (role !== "recipient" && isAppError(error, "NOT_FOUND")) {
        return this.noAccount(
          label,
          role,
          `Mattermost has no user ${key.includes("@") ? "with email" : "named"} ${key}`,
        );
      }
      if (role !== "recipient") {
        const failure = AppError.from(error);
        if (failure.retryable) throw failure;
        return this.noAccount(label, role, failure.describe());
      }
      return this.missing(
        error,
        `user "${label}" was not found`,
        "Use the user's Mattermost username or email",
      );
    }
  }

  /** A Teleport name with no Mattermost account: said once, at info, with the reason. */
  private noAccount(label: string, role: string, reason: string): Lookup {
    this.once(`${role}:${label}`, () =>
      this.logger.info(
        { [role === "requester" ? "requester" : "reviewer"]: label, reason },
        role === "requester"
          ? `Requester "${label}" has no Mattermost account; the outcome is posted in the threads only`
          : `Suggested reviewer "${label}" has no Mattermost account; not sent a direct message`,
      ),
    );
    return {};
  }

  /** A configured recipient that cannot be found: the caller reports it and tries again later. */
  private missing(error: unknown, message: string, fix: string): Lookup {
    const failure = AppError.from(error);
    if (failure.retryable) throw failure;
    return {
      missing: new AppError(failure.code, `Mattermost ${message}: ${failure.message}`, {
        cause: failure,
        fix,
        details: failure.details,
      }),
    };
  }

  private once(key: string, log: () => void): void {
    if (this.warned.has(key)) return;
    if (this.warned.size >= MAX_REMEMBERED_WARNINGS) this.warned.clear();
    this.warned.add(key);
    log();
  }
}
