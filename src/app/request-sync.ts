/**
 * Keeps the Mattermost posts of one access request in step with Teleport: reads the plugin
 * record, asks core/plan for the next step, carries it out, records the result by
 * compare-and-swap, and repeats until nothing is left. A lost CAS race is not an error: read
 * again and plan again.
 */
import type { Logger } from "pino";
import type { AccessRequest } from "../core/access-request.js";
import { outcomeReply, reminderReply, requesterNotice, reviewReply } from "../core/messages.js";
import { type Plan, type PlanContext, planFor, postModelFor, type RequestView } from "../core/plan.js";
import {
  decodeRecord,
  encodeRecord,
  formatClaim,
  PLUGIN_NAME,
  type PluginRecord,
  type PostRef,
  parseClaim,
} from "../core/plugin-data.js";
import {
  type ButtonContext,
  type PostModel,
  REQUEST_ID_PROP,
  renderFingerprint,
  renderPost,
} from "../core/render.js";
import { signActionContext } from "../core/sign.js";
import { AppError, isAppError } from "../errors.js";
import type { Clock } from "../lib/clock.js";
import type { MattermostClient } from "../mattermost/client.js";
import type { TeleportClient } from "../teleport/client.js";
import type { RecipientResolver } from "./recipients.js";

/**
 * How long a posting claim holds. Shorter than Mattermost's 30 s pending_post_id window
 * (MATTERMOST-API.md §10), so an instance taking over a lapsed claim repeats the create within
 * the window and gets the same post back instead of a second one.
 */
export const CLAIM_LEASE_MS = 20_000;
/** Steps (and CAS retries) on one request in one run; more waits for its next event. */
const MAX_STEPS = 16;
/**
 * When resuming after a claim, posts changed this long before the claim began are searched for
 * one an earlier attempt made. Each retry renews the claim, so the window must outlast the
 * retries between the first attempt and this one (sync retries back off to 2 minutes).
 */
const TAKEOVER_SEARCH_MARGIN_MS = 10 * 60_000;
/** Requests whose record is remembered for rendering after Teleport deleted them. */
const RECORD_CACHE_SIZE = 20_000;
const NOT_POSTED =
  "Request not posted: no channel, recipient or [role_to_recipients] entry applies to it and none of its suggested reviewers is a Mattermost user";

export interface SyncDeps {
  teleport: TeleportClient;
  mattermost: MattermostClient;
  recipients: RecipientResolver;
  /** The bot's Mattermost user id: only its posts count when looking for an earlier post. */
  botUserId: string;
  clusterName: string;
  proxyAddr?: string;
  /** True when requests for these roles are decided in Teleport only (`[review] link_only_roles`). */
  isLinkOnly?: (roles: readonly string[]) => boolean;
  instanceId: string;
  /** Absolute URL of the callback route the buttons call. */
  actionUrl: string;
  secret: string;
  reminders?: PlanContext["reminders"];
  /** DM the requester the outcome (the threads always get it). */
  notifyRequester: boolean;
  clock: Clock;
  logger: Logger;
  /** Called when a lost compare-and-swap makes it read and plan again, for metrics. */
  onConflict?: () => void;
}

export class RequestSync {
  /** Last record seen per request, in insertion order (oldest first) for eviction. */
  private readonly records = new Map<string, PluginRecord>();
  /** Requests found with nowhere to post, so that is logged once each. */
  private readonly unposted = new Set<string>();

  constructor(private readonly deps: SyncDeps) {}

  planContext(): PlanContext {
    const { clock, instanceId, clusterName, proxyAddr, isLinkOnly, reminders } = this.deps;
    return {
      now: clock.now(),
      instanceId,
      clusterName,
      ...(proxyAddr ? { proxyAddr } : {}),
      ...(isLinkOnly ? { isLinkOnly } : {}),
      ...(reminders ? { reminders } : {}),
      announceOutcome: true,
    };
  }

  /**
   * Brings the posts of one request up to date with `view`. Resolves with a time at which to look
   * again: when another instance's posting claim lapses, or when a reminder falls due.
   */
  async sync(view: RequestView): Promise<{ recheckAt?: number }> {
    const id = view.kind === "live" ? view.request.id : view.id;
    let record = this.presumedNew(view) ?? (await this.readRecord(id));
    for (let step = 0; step < MAX_STEPS; step++) {
      const plan = planFor(view, record, this.planContext());
      if (plan.kind === "none") return plan.nextCheckAt !== undefined ? { recheckAt: plan.nextCheckAt } : {};
      if (plan.kind === "wait") {
        this.deps.logger.debug(
          { request_id: id, until: new Date(plan.until).toISOString() },
          "Another instance is posting this request",
        );
        return { recheckAt: plan.until };
      }
      try {
        const next = await this.execute(id, view, record, plan);
        if (next === undefined) return {};
        record = next;
        this.remember(id, record);
      } catch (error) {
        if (!isAppError(error, "CONFLICT")) throw error;
        this.deps.onConflict?.();
        this.deps.logger.debug({ request_id: id, step }, "Plugin data changed meanwhile, planning again");
        record = await this.readRecord(id);
      }
    }
    throw new AppError("CONFLICT", `Gave up on request ${id} after ${MAX_STEPS} steps`, { retryable: true });
  }

  /**
   * The record of a pending request this daemon has never seen, which almost always has none
   * yet: posting then starts with the claim, whose compare-and-swap expects no record, instead
   * of a read first (one Teleport round trip less per new request). If a record exists after
   * all, the claim fails as a conflict and the next step reads it.
   */
  private presumedNew(view: RequestView): PluginRecord | undefined {
    if (view.kind !== "live" || view.request.state !== "PENDING" || this.records.has(view.request.id)) {
      return undefined;
    }
    return decodeRecord(undefined);
  }

  /** The stored record, or the cached one when Teleport no longer has it (request deleted). */
  async readRecord(id: string): Promise<PluginRecord> {
    let data: Record<string, string> | undefined;
    try {
      data = await this.deps.teleport.getPluginData(id, PLUGIN_NAME);
    } catch (error) {
      if (!isAppError(error, "NOT_FOUND")) throw error;
    }
    if (data === undefined) {
      const cached = this.records.get(id);
      if (cached) return cached;
    }
    const record = decodeRecord(data);
    this.remember(id, record);
    return record;
  }

  /** Records listed in bulk (catch-up), so events for them need no read of their own. */
  prime(id: string, record: PluginRecord): void {
    this.remember(id, record);
  }

  private remember(id: string, record: PluginRecord): void {
    this.records.delete(id);
    this.records.set(id, record);
    if (this.records.size > RECORD_CACHE_SIZE) {
      const oldest = this.records.keys().next().value;
      if (oldest !== undefined) this.records.delete(oldest);
    }
  }

  /** CAS-writes `next` over `current`; a request gone from Teleport is only cached. */
  private async write(
    id: string,
    view: RequestView,
    current: PluginRecord,
    next: PluginRecord,
  ): Promise<PluginRecord> {
    try {
      await this.deps.teleport.updatePluginData(id, PLUGIN_NAME, encodeRecord(next), encodeRecord(current));
    } catch (error) {
      // Teleport may keep a deleted request's plugin data for a while or not; the cache keeps
      // the truth locally either way.
      if (view.kind === "live" || !isAppError(error, "NOT_FOUND")) throw error;
    }
    return next;
  }

  private async execute(
    id: string,
    view: RequestView,
    record: PluginRecord,
    plan: Plan,
  ): Promise<PluginRecord | undefined> {
    const log = this.deps.logger.child({ request_id: id });
    switch (plan.kind) {
      case "post":
        return view.kind === "live" ? this.post(view.request, record, log) : record;
      case "relay-reviews":
        return this.relayReviews(id, view, record, plan.reviews.slice(plan.from), log);
      case "update":
        return this.update(id, view, record, plan, log);
      case "announce":
        return this.announce(id, view, record, plan.model, log);
      case "remind":
        return this.remind(id, view, record, plan.due, log);
      default:
        return record;
    }
  }

  buttonContext(requestId: string, channelId: string): ButtonContext {
    const sign = (action: "approve" | "deny") =>
      ({ ...signActionContext(this.deps.secret, { action, requestId, channelId }) }) as Record<
        string,
        unknown
      >;
    return { url: this.deps.actionUrl, context: { approve: sign("approve"), deny: sign("deny") } };
  }

  /** Claims, posts to each recipient not posted to yet, records each post, releases; undefined if none. */
  private async post(request: AccessRequest, record: PluginRecord, log: Logger) {
    const { clock } = this.deps;
    // Any claim found here means an earlier attempt — another instance's, or ours cut short by a
    // failed call — may have posted without recording it; pending_post_id only covers 30 s.
    const resuming = record.claim !== "";
    const recipients = await this.deps.recipients.resolve(request);
    if (recipients.length === 0 && !resuming && record.posts.length === 0) {
      // Normal without a channel (notification only): nothing to claim or retry; said once.
      if (this.unposted.size > RECORD_CACHE_SIZE) this.unposted.clear();
      if (!this.unposted.has(request.id)) log.info(NOT_POSTED);
      this.unposted.add(request.id);
      return undefined;
    }
    if (recipients.length === 0) {
      throw new AppError("MATTERMOST", `No Mattermost recipient could be found for request ${request.id}`, {
        fix: "Check [mattermost] team/channel, recipients and [role_to_recipients]",
      });
    }
    let current = await this.write(request.id, { kind: "live", request }, record, {
      ...record,
      claim: formatClaim(this.deps.instanceId, clock.now() + CLAIM_LEASE_MS),
      user: request.user,
      roles: request.roles,
      reason: request.requestReason,
    });
    const model = postModelFor({ kind: "live", request }, current, this.planContext());
    for (const recipient of recipients) {
      if (current.posts.some((post) => post.channelId === recipient.channelId)) continue;
      const earlier = resuming
        ? await this.findEarlierPost(request.id, recipient.channelId, record.claim)
        : undefined;
      const post = earlier ?? (await this.createPost(model, recipient.channelId));
      if (earlier) log.info({ mm_post_id: earlier.id }, "Found the post an earlier claim made; recording it");
      current = await this.write(request.id, { kind: "live", request }, current, {
        ...current,
        posts: [...current.posts, { channelId: recipient.channelId, postId: post.id }],
        rendered: "PENDING",
      });
      log.info(
        { mm_post_id: post.id, mm_channel_id: recipient.channelId, recipient: recipient.label },
        "Successfully posted to Mattermost",
      );
    }
    // Every post drawn in this run shows `model`; the next step redraws only if that changed.
    return this.write(request.id, { kind: "live", request }, current, {
      ...current,
      claim: "",
      renderHash: renderFingerprint(model),
    });
  }

  private createPost(model: PostModel, channelId: string): Promise<{ id: string }> {
    const rendered = renderPost(model, this.buttonContext(model.requestId, channelId));
    // The same pending_post_id within 30 s returns the same post (MATTERMOST-API.md §10).
    return this.deps.mattermost.createPost({
      channelId,
      message: rendered.message,
      props: rendered.props,
      pendingPostId: `${model.requestId}:${channelId}`,
    });
  }

  /** The bot's post for this request in a channel, made around a lapsed claim, if any. */
  private async findEarlierPost(
    requestId: string,
    channelId: string,
    claim: string,
  ): Promise<{ id: string } | undefined> {
    const leaseEndsAt = parseClaim(claim)?.leaseEndsAt ?? this.deps.clock.now();
    const since = leaseEndsAt - CLAIM_LEASE_MS - TAKEOVER_SEARCH_MARGIN_MS;
    const list = await this.deps.mattermost.getChannelPostsSince(channelId, since);
    return Object.values(list.posts ?? {}).find(
      (post) =>
        post.user_id === this.deps.botUserId && post.props?.[REQUEST_ID_PROP] === requestId && !post.root_id,
    );
  }

  /** Posts a reply in every thread of the request; `key` makes a retried reply idempotent. */
  private async replyEverywhere(posts: PostRef[], message: string, key: string): Promise<void> {
    for (const post of posts) {
      try {
        await this.deps.mattermost.createPost({
          channelId: post.channelId,
          rootId: post.postId,
          message,
          pendingPostId: `${key}:${post.channelId}`,
        });
      } catch (error) {
        // A root post deleted in Mattermost has no thread to reply in; the others still get it.
        if (!isAppError(error, "NOT_FOUND") && !(isAppError(error) && error.details["status"] === 400))
          throw error;
      }
    }
  }

  private async relayReviews(
    id: string,
    view: RequestView,
    record: PluginRecord,
    reviews: AccessRequest["reviews"],
    log: Logger,
  ): Promise<PluginRecord> {
    let current = record;
    for (const review of reviews) {
      await this.replyEverywhere(
        current.posts,
        reviewReply(review),
        `${id}:review:${current.reviewsRelayed}`,
      );
      current = await this.write(id, view, current, {
        ...current,
        reviewsRelayed: current.reviewsRelayed + 1,
      });
      log.info(
        { author: review.author, state: review.proposedState },
        "Posted a review in the request's threads",
      );
    }
    return current;
  }

  private async update(
    id: string,
    view: RequestView,
    record: PluginRecord,
    plan: Extract<Plan, { kind: "update" }>,
    log: Logger,
  ): Promise<PluginRecord> {
    for (const post of record.posts) {
      const rendered = renderPost(plan.model, this.buttonContext(id, post.channelId));
      try {
        await this.deps.mattermost.patchPost(post.postId, {
          message: rendered.message,
          props: rendered.props,
        });
      } catch (error) {
        if (!isAppError(error, "NOT_FOUND") && !(isAppError(error) && error.details["status"] === 403))
          throw error;
        log.warn(
          { mm_post_id: post.postId },
          "Post was deleted in Mattermost (or the bot lost access); not updating it",
        );
      }
    }
    const next = await this.write(id, view, record, {
      ...record,
      claim: "",
      rendered: plan.status,
      renderHash: plan.fingerprint,
    });
    if (record.rendered !== plan.status) {
      log.info({ status: plan.status }, `Successfully marked request as ${plan.status} in all messages`);
    }
    return next;
  }

  /** The final outcome in every thread, and a DM to the requester when they are in Mattermost. */
  private async announce(
    id: string,
    view: RequestView,
    record: PluginRecord,
    model: PostModel,
    log: Logger,
  ): Promise<PluginRecord> {
    await this.replyEverywhere(record.posts, outcomeReply(model), `${id}:outcome:${model.status}`);
    const dm = this.deps.notifyRequester ? await this.deps.recipients.directMessageTo(model.user) : undefined;
    if (dm) {
      await this.deps.mattermost.createPost({
        channelId: dm.channelId,
        message: requesterNotice(model),
        pendingPostId: `${id}:requester:${model.status}`,
      });
      log.info({ status: model.status }, "Told the requester the outcome");
    }
    return this.write(id, view, record, { ...record, notified: model.status });
  }

  private async remind(
    id: string,
    view: RequestView,
    record: PluginRecord,
    due: number,
    log: Logger,
  ): Promise<PluginRecord> {
    const request = view.kind === "live" ? view.request : undefined;
    const pendingFor = request?.created ? this.deps.clock.now() - request.created.getTime() : 0;
    const model = postModelFor(view, record, this.planContext());
    await this.replyEverywhere(record.posts, reminderReply(model, pendingFor), `${id}:reminder:${due}`);
    log.info({ reminder: due }, "Posted a reminder in the request's threads");
    return this.write(id, view, record, { ...record, reminders: due });
  }
}
