/**
 * Keeps the Mattermost posts of one access request in step with Teleport: reads the plugin
 * record, asks core/plan for the next step, carries it out, records the result by
 * compare-and-swap, and repeats until nothing is left. A lost CAS race is not an error: read
 * again and plan again.
 */
import type { Logger } from "pino";
import type { AccessRequest } from "../core/access-request.js";
import {
  hasButtons,
  type Plan,
  type PlanContext,
  planFor,
  postFingerprint,
  postModelFor,
  type RequestView,
} from "../core/plan.js";
import {
  EMPTY_RECORD,
  encodeRecord,
  expectRecord,
  formatClaim,
  PLUGIN_NAME,
  type PluginRecord,
  type PostRef,
  packStored,
  parseClaim,
  readStored,
  requestFields,
} from "../core/plugin-data.js";
import { AppError, isAppError } from "../errors.js";
import type { Clock } from "../lib/clock.js";
import type { MattermostClient } from "../mattermost/client.js";
import type { TeleportClient } from "../teleport/client.js";
import { type DeferredFailure, DeliveryFailures, deferredError } from "./delivery-failures.js";
import { readCurrentRecord } from "./foreign-records.js";
import { OutcomeNotices } from "./outcome-notices.js";
import { PostDrawing } from "./post-drawing.js";
import type { Recipient, RecipientResolver } from "./recipients.js";
import { RecordCache } from "./record-cache.js";
import { SignerWatch } from "./signer-watch.js";

/**
 * How long a posting claim holds. Shorter than Mattermost's 30 s pending_post_id window
 * (MATTERMOST-API.md §10), so an instance taking over a lapsed claim repeats the create within
 * the window and gets the same post back instead of a second one.
 */
export const CLAIM_LEASE_MS = 20_000;
/**
 * A new request still this young (since its creation in Teleport) is posted first and recorded
 * after, without a claim: whichever instances post it that way do so within this window, and
 * Mattermost folds any two of those creates into one post (same pending_post_id within 30 s,
 * MATTERMOST-API.md §10). One Teleport round trip less on the way to the post.
 */
export const FAST_POST_WINDOW_MS = 5_000;
/**
 * A post made this long after the request's creation may come more than 30 s after one made
 * without a claim (FAST_POST_WINDOW_MS), which Mattermost no longer folds into it: before such a
 * post the record is read again, or the channel searched when nobody recorded anything. 30 s
 * less 10 s for clocks that disagree.
 */
export const UNFOLDED_POST_AGE_MS = 20_000;
/**
 * Unrecorded requests older than this are not searched for a post made without a claim: that
 * needs an instance crashed between a post and its record, and the channel's posts since then
 * would be a long listing.
 */
const UNRECORDED_SEARCH_MAX_AGE_MS = 60 * 60_000;
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

/** What one sync run left undone for recipients that fail, so it plans the other steps. */
interface RunState {
  deferred: DeferredFailure[];
  deferPosting: boolean;
  deferLagging: boolean;
}

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
  /** Id of `secret` (core/sign keyIdOf), computed while the daemon starts. */
  keyId: string;
  reminders?: PlanContext["reminders"];
  /** DM the requester the outcome (the threads always get it). */
  notifyRequester: boolean;
  clock: Clock;
  logger: Logger;
  /**
   * Claim every new request in Teleport before posting it (`[mattermost] ha_cluster`): each
   * Mattermost app server keeps its own pending_post_id guard, so posting first is only safe
   * with one.
   */
  claimFirst?: boolean;
  /** Called when a lost compare-and-swap makes it read and plan again, for metrics. */
  onConflict?: () => void;
  /** Where failures of one recipient are reported (default: one of its own). */
  deliveries?: DeliveryFailures;
}

export class RequestSync {
  private readonly records = new RecordCache(RECORD_CACHE_SIZE);
  /**
   * Requests a listing showed data for that is not in our format: read before anything is done,
   * never presumed new (a post made without a claim would not look at that data first).
   */
  private readonly unread = new Set<string>();
  /**
   * Requests a listing found right after the watch (re)connected: created while this process
   * was not watching (or before it started), so an earlier run of it may have posted one without
   * a claim and not recorded it. Only these are searched for such a post (UNFOLDED_POST_AGE_MS).
   */
  private readonly unseenCreations = new Set<string>();
  /**
   * Posts this process made without a claim that are not recorded yet (Teleport failed the
   * write): the retry records these instead of creating others.
   */
  private readonly unrecordedPosts = new Map<string, PostRef[]>();
  /** Requests found with nowhere to post, so that is logged once each. */
  private readonly nowhere = new Set<string>();
  /** Id of the secret that signs our buttons (never the secret). */
  readonly keyId: string;
  private readonly deliveries: DeliveryFailures;
  private readonly signers: SignerWatch;
  readonly drawing: PostDrawing;
  private readonly threads: OutcomeNotices;

  constructor(private readonly deps: SyncDeps) {
    this.keyId = deps.keyId;
    this.drawing = new PostDrawing(deps);
    this.threads = new OutcomeNotices({ ...deps, drawing: this.drawing });
    this.deliveries = deps.deliveries ?? new DeliveryFailures(deps.logger);
    this.signers = new SignerWatch(this.keyId, deps.logger);
  }

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
      keyId: this.keyId,
      foreignKeyIds: this.signers.foreign,
    };
  }

  /**
   * Brings the posts of one request up to date with `view`. Resolves with a time at which to look
   * again: when another instance's posting claim lapses, or when a reminder falls due.
   */
  async sync(view: RequestView): Promise<{ recheckAt?: number }> {
    const id = view.kind === "live" ? view.request.id : view.id;
    let record = this.presumedNew(view) ?? (await this.readRecord(id));
    const run: RunState = { deferred: [], deferPosting: false, deferLagging: false };
    for (let step = 0; step < MAX_STEPS; step++) {
      const context = {
        ...this.planContext(),
        deferPosting: run.deferPosting,
        deferLagging: run.deferLagging,
      };
      const plan = planFor(view, record, context);
      if (plan.kind === "none") {
        // Done with what could be done; what some recipients could not take is retried later.
        if (run.deferred.length > 0) throw deferredError(run.deferred);
        return plan.nextCheckAt !== undefined ? { recheckAt: plan.nextCheckAt } : {};
      }
      if (plan.kind === "wait") {
        this.deps.logger.debug(
          { request_id: id, until: new Date(plan.until).toISOString() },
          "Another instance is posting this request",
        );
        return { recheckAt: plan.until };
      }
      try {
        const next = await this.execute(id, view, record, plan, run);
        if (next === undefined) return {};
        record = next;
        this.remember(id, record);
        if (plan.kind === "post" && record.unposted.length > 0) run.deferPosting = true;
        if (plan.kind === "update" && record.lagging.length > 0) run.deferLagging = true;
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
   * yet: posting then starts with the post (young) or the claim, whose compare-and-swap expects
   * no record, instead of a read first (one Teleport round trip less per new request). If a
   * record exists after all, that compare-and-swap fails as a conflict and the next step reads
   * it (a post made first was folded into another instance's by pending_post_id). Data a
   * listing showed in another format is read first (`unread`).
   */
  private presumedNew(view: RequestView): PluginRecord | undefined {
    if (
      view.kind !== "live" ||
      view.request.state !== "PENDING" ||
      this.records.has(view.request.id) ||
      this.unread.has(view.request.id)
    ) {
      return undefined;
    }
    return EMPTY_RECORD;
  }

  /** The stored record, in our format (app/foreign-records), or the cached one once deleted. */
  async readRecord(id: string): Promise<PluginRecord> {
    const record = await readCurrentRecord(this.deps, id, () => this.records.get(id), MAX_STEPS);
    this.unread.delete(id);
    this.signers.seen(id, record.keyId);
    this.remember(id, record);
    return record;
  }

  /**
   * Records listed in bulk (catch-up), so events for them need no read of their own; undefined
   * for data not in our format yet, which a sync must read (and rewrite).
   */
  prime(id: string, data: Record<string, string> | undefined): PluginRecord | undefined {
    const stored = readStored(data);
    if (!stored.current) {
      if (data !== undefined) this.unread.add(id);
      return undefined;
    }
    this.signers.seen(id, stored.record.keyId);
    this.records.setPacked(id, packStored(stored));
    return stored.record;
  }

  /**
   * A watch event for `request`: while young enough for a post without a claim, this process is
   * watching since before that post could have been made (an event that came after the listing
   * that marked it).
   */
  sawLive(request: AccessRequest): void {
    const created = request.created?.getTime();
    if (created !== undefined && this.deps.clock.now() - created <= FAST_POST_WINDOW_MS)
      this.unseenCreations.delete(request.id);
  }

  /** See unseenCreations. */
  notSeenCreated(id: string): void {
    if (this.unseenCreations.size >= RECORD_CACHE_SIZE) this.unseenCreations.clear();
    this.unseenCreations.add(id);
  }

  private remember(id: string, record: PluginRecord): void {
    this.records.set(id, record);
  }

  /** CAS-writes `next` over `current`; a request gone from Teleport is only cached. */
  private async write(
    id: string,
    view: RequestView,
    current: PluginRecord,
    next: PluginRecord,
  ): Promise<PluginRecord> {
    try {
      await this.deps.teleport.updatePluginData(id, PLUGIN_NAME, encodeRecord(next), expectRecord(current));
    } catch (error) {
      // Teleport may keep a deleted request's plugin data for a while or not; the cache keeps
      // the truth locally either way.
      if (view.kind === "live" || !isAppError(error, "NOT_FOUND")) throw error;
    }
    if (next.posts.length > 0) {
      this.unseenCreations.delete(id);
      this.unrecordedPosts.delete(id);
    }
    if (next.keyId === this.keyId) this.signers.wrote(id);
    return next;
  }

  private async execute(
    id: string,
    view: RequestView,
    record: PluginRecord,
    plan: Plan,
    run: RunState,
  ): Promise<PluginRecord | undefined> {
    const log = this.deps.logger.child({ request_id: id });
    switch (plan.kind) {
      case "post":
        return view.kind === "live" ? this.post(view.request, record, log, run) : record;
      case "relay-reviews":
        return this.threads.relayReviews(id, record, plan.reviews.slice(plan.from), log, (current, next) =>
          this.write(id, view, current, next),
        );
      case "update":
        return this.update(id, view, record, plan, log, run);
      case "announce":
        await this.threads.announce(id, record, plan.model, log);
        return this.write(id, view, record, { ...record, notified: plan.status });
      case "remind":
        await this.threads.remind(id, view, record, postModelFor(view, record, this.planContext()), plan.due);
        log.info({ reminder: plan.due }, "Posted a reminder in the request's threads");
        return this.write(id, view, record, { ...record, reminders: plan.due });
      default:
        return record;
    }
  }

  /**
   * Posts a young request first and records it after (postFirst); otherwise, or when that could
   * not finish, claims the request, posts to every recipient not posted to yet, records each
   * post, releases; undefined when there is nowhere to post. A recipient that refuses (the bot lost the channel)
   * does not stop the others: it is recorded as unposted and retried on its own; a failure that
   * may pass (5xx, network) stops the run, and the claim it leaves makes the retry look for a
   * post made meanwhile.
   */
  private async post(
    request: AccessRequest,
    record: PluginRecord,
    log: Logger,
    run: RunState,
  ): Promise<PluginRecord | undefined> {
    const { clock } = this.deps;
    // Any claim found here means an earlier attempt — another instance's, or ours cut short by a
    // failed call — may have posted without recording it; pending_post_id only covers 30 s.
    const resuming = record.claim !== "";
    const { found, missing } = await this.deps.recipients.resolve(request);
    if (found.length === 0 && missing.length === 0 && !resuming && record.posts.length === 0) {
      // Normal without a channel (notification only): nothing to claim or retry; said once.
      if (this.nowhere.size > RECORD_CACHE_SIZE) this.nowhere.clear();
      if (!this.nowhere.has(request.id)) log.info(NOT_POSTED);
      this.nowhere.add(request.id);
      return undefined;
    }
    if (found.length === 0 && missing.length === 0) {
      throw new AppError("MATTERMOST", `No Mattermost recipient could be found for request ${request.id}`, {
        fix: "Check [mattermost] team/channel, recipients and [role_to_recipients]",
      });
    }
    const age = request.created ? clock.now() - request.created.getTime() : undefined;
    if (
      !this.deps.claimFirst &&
      !resuming &&
      record.posts.length === 0 &&
      age !== undefined &&
      age <= FAST_POST_WINDOW_MS
    ) {
      const posted = await this.postFirst(request, record, found, missing, log, run);
      if (posted) return posted;
      // Not all posted in time: claim and post the rest; a create repeated within 30 s returns
      // the post already made.
    }
    // Ours from before a restart (app/instance-id) or a failed attempt: resumed without waiting.
    if (parseClaim(record.claim)?.instanceId === this.deps.instanceId)
      log.info({ claim: record.claim }, "Resuming this instance's unfinished posting of the request");
    const view: RequestView = { kind: "live", request };
    let current = await this.write(request.id, view, record, {
      ...record,
      claim: formatClaim(this.deps.instanceId, clock.now() + CLAIM_LEASE_MS),
      ...requestFields(request),
    });
    const unposted: string[] = [];
    for (const { label, error } of missing) {
      unposted.push(label);
      run.deferred.push(this.deliveries.failed({ label }, error, "post to"));
    }
    const model = postModelFor(view, current, this.planContext());
    // The posts drawn in this run show `model`; when earlier posts exist they keep their own
    // fingerprint, and the next step redraws them all if that differs.
    const drawn =
      current.posts.length === 0
        ? { renderHash: postFingerprint(model, this.keyId), keyId: hasButtons(model) ? this.keyId : "" }
        : { renderHash: current.renderHash, keyId: current.keyId };
    const pending = found.filter((recipient) => {
      this.deliveries.label(recipient.channelId, recipient.label);
      this.deliveries.worked({ label: recipient.label });
      return !current.posts.some((post) => post.channelId === recipient.channelId);
    });
    // Where an earlier attempt's post may be that Mattermost would not fold this one into: the
    // claim's own attempt (resuming), or one made without a claim by an instance that stopped
    // before recording it (an unrecorded request older than Mattermost's window).
    const searchSince = resuming
      ? (parseClaim(record.claim)?.leaseEndsAt ?? clock.now()) - CLAIM_LEASE_MS - TAKEOVER_SEARCH_MARGIN_MS
      : request.created &&
          age !== undefined &&
          age >= UNFOLDED_POST_AGE_MS &&
          age <= UNRECORDED_SEARCH_MAX_AGE_MS &&
          record.posts.length === 0 &&
          this.unseenCreations.has(request.id)
        ? request.created.getTime() - TAKEOVER_SEARCH_MARGIN_MS
        : undefined;
    // A create repeated after Mattermost's window (30 s from a post made without a claim) would
    // not be folded into it: while the request is that young, retries end in time, and the retry
    // after that searches (the claim is held). Older, the create was preceded by a search or a read.
    const foldedUntil =
      request.created && !this.deps.claimFirst
        ? request.created.getTime() + UNFOLDED_POST_AGE_MS + FAST_POST_WINDOW_MS
        : undefined;
    let released = false;
    for (const [index, recipient] of pending.entries()) {
      let post: { id: string };
      let recorded: PostRef | undefined;
      // Claimed young but sent late (a backlog under Mattermost's rate limit): an instance that
      // posted without a claim meanwhile has recorded its post since; take it instead of a second.
      const created = request.created;
      const readFirst =
        searchSince === undefined && !this.deps.claimFirst && created
          ? async () => {
              if (clock.now() - created.getTime() < UNFOLDED_POST_AGE_MS) return;
              const stored = await this.readRecord(request.id);
              if (stored.claim !== current.claim)
                throw new AppError("CONFLICT", `The claim on request ${request.id} changed hands`, {
                  retryable: true,
                });
              current = stored;
              recorded = stored.posts.find((post) => post.channelId === recipient.channelId);
              if (recorded) throw new AppError("CONFLICT", "Posted meanwhile by another instance");
            }
          : undefined;
      try {
        const made = this.unrecordedPosts
          .get(request.id)
          ?.find((post) => post.channelId === recipient.channelId);
        const earlier = made
          ? { id: made.postId }
          : searchSince !== undefined
            ? await this.drawing.findEarlier(request.id, recipient.channelId, searchSince)
            : undefined;
        if (earlier)
          log.info({ mm_post_id: earlier.id }, "Found the post an earlier attempt made; recording it");
        post =
          earlier ??
          (await this.drawing.create(model, recipient.channelId, {
            ...(foldedUntil !== undefined && clock.now() < foldedUntil ? { retryUntil: foldedUntil } : {}),
            ...(readFirst ? { beforeSend: readFirst } : {}),
          }));
      } catch (error) {
        if (recorded) {
          log.info(
            { mm_post_id: recorded.postId },
            "Another instance posted the request meanwhile; keeping its post",
          );
          continue;
        }
        const failure = AppError.from(error);
        if (failure.retryable || failure.code === "ABORTED") throw failure;
        unposted.push(recipient.label);
        run.deferred.push(this.deliveries.failed(recipient, failure, "post to"));
        continue;
      }
      this.deliveries.worked(recipient);
      // The last post's record also releases the claim: one compare-and-swap less per request.
      released = index === pending.length - 1;
      current = await this.write(request.id, view, current, {
        ...current,
        posts: [...current.posts, { channelId: recipient.channelId, postId: post.id }],
        rendered: "PENDING",
        ...(released ? { claim: "", ...drawn, unposted } : {}),
      });
      log.info(
        { mm_post_id: post.id, mm_channel_id: recipient.channelId, recipient: recipient.label },
        "Successfully posted to Mattermost",
      );
    }
    const next = released
      ? current
      : await this.write(request.id, view, current, { ...current, claim: "", ...drawn, unposted });
    // Nothing posted at all: nothing else can be done until a recipient takes it.
    if (next.posts.length === 0) throw deferredError(run.deferred);
    return next;
  }

  /**
   * Posts a new request to every recipient first and records the posts after, with no claim
   * (FAST_POST_WINDOW_MS says why that cannot post it twice). Undefined when not every recipient
   * could be posted to within `withinMs`, or one failed in a way that may pass: the claimed path
   * then goes on from here, its creates folded into any made here. A record another instance
   * wrote meanwhile gets these posts added to it.
   */
  private async postFirst(
    request: AccessRequest,
    record: PluginRecord,
    found: Recipient[],
    missing: Array<{ label: string; error: AppError }>,
    log: Logger,
    run: RunState,
  ): Promise<PluginRecord | undefined> {
    const view: RequestView = { kind: "live", request };
    const base: PluginRecord = { ...record, ...requestFields(request) };
    const model = postModelFor(view, base, this.planContext());
    // Uncertain creates are repeated within the window only, like the first attempts.
    const retryUntil = request.created!.getTime() + FAST_POST_WINDOW_MS;
    const posts: PostRef[] = [];
    const unposted: string[] = [];
    const failed: DeferredFailure[] = [];
    for (const recipient of found) {
      // Only a create that goes at once is sure to be sent within the window.
      const turn = this.deps.clock.now() <= retryUntil ? this.deps.mattermost.turnNow() : undefined;
      if (!turn) return this.unfinished(request.id, posts);
      this.deliveries.label(recipient.channelId, recipient.label);
      try {
        const post = await this.drawing.create(model, recipient.channelId, { turn, retryUntil });
        posts.push({ channelId: recipient.channelId, postId: post.id });
      } catch (error) {
        const failure = AppError.from(error);
        if (failure.retryable) return this.unfinished(request.id, posts);
        if (failure.code === "ABORTED") throw failure;
        unposted.push(recipient.label);
        failed.push(this.deliveries.failed(recipient, failure, "post to"));
        continue;
      }
      this.deliveries.worked(recipient);
      log.info(
        { mm_post_id: posts.at(-1)!.postId, mm_channel_id: recipient.channelId, recipient: recipient.label },
        "Successfully posted to Mattermost",
      );
    }
    for (const { label, error } of missing) {
      unposted.push(label);
      failed.push(this.deliveries.failed({ label }, error, "post to"));
    }
    run.deferred.push(...failed);
    const next: PluginRecord = {
      ...base,
      posts,
      rendered: "PENDING",
      claim: "",
      renderHash: postFingerprint(model, this.keyId),
      keyId: hasButtons(model) ? this.keyId : "",
      unposted,
    };
    let written: PluginRecord;
    try {
      written = await this.recordFirstPosts(request, record, next, log);
    } catch (error) {
      this.unfinished(request.id, posts);
      throw error;
    }
    // Nothing posted at all (every recipient refused): recorded as such, retried on its own.
    if (written.posts.length === 0) throw deferredError(run.deferred);
    return written;
  }

  /**
   * Keeps the posts made without a claim that are not recorded, for the claimed path (now or on
   * a retry, maybe after Mattermost's 30 s window) to record instead of creating others.
   */
  private unfinished(id: string, posts: PostRef[]): undefined {
    if (posts.length > 0) {
      if (this.unrecordedPosts.size >= RECORD_CACHE_SIZE) this.unrecordedPosts.clear();
      this.unrecordedPosts.set(id, posts);
    }
    return undefined;
  }

  /**
   * Records posts made without a claim, expecting no record; when another instance recorded
   * first, adds the posts its record does not have.
   */
  private async recordFirstPosts(
    request: AccessRequest,
    record: PluginRecord,
    first: PluginRecord,
    log: Logger,
  ): Promise<PluginRecord> {
    const view: RequestView = { kind: "live", request };
    const posts = first.posts;
    let current = record;
    let next = first;
    for (let step = 0; step < MAX_STEPS; step++) {
      try {
        return await this.write(request.id, view, current, next);
      } catch (error) {
        // Deleted while its posts were made: Teleport keeps no data for it (a first write needs
        // the request), so the cache does (sync remembers this) and the deletion redraws them.
        if (isAppError(error, "NOT_FOUND")) return next;
        if (!isAppError(error, "CONFLICT")) throw error;
        this.deps.onConflict?.();
      }
      // Another instance recorded first: its post is ours too when Mattermost folded the two
      // creates; add the posts it does not have.
      current = await this.readRecord(request.id);
      const stored = current;
      for (const post of posts) {
        const twin = stored.posts.find((other) => other.channelId === post.channelId);
        if (twin && twin.postId !== post.postId)
          log.warn(
            { mm_post_id: post.postId, recorded_post_id: twin.postId, mm_channel_id: post.channelId },
            "Another instance posted this request too and Mattermost kept both posts; delete this one by hand. With a Mattermost High Availability cluster, set ha_cluster = true under [mattermost]",
          );
      }
      const added = posts.filter((post) => !stored.posts.some((other) => other.channelId === post.channelId));
      if (added.length === 0) return stored;
      next = { ...stored, posts: [...stored.posts, ...added] };
    }
    throw new AppError("CONFLICT", `Gave up recording the posts of request ${request.id}`, {
      retryable: true,
    });
  }

  /**
   * Redraws the posts (all of them, or those lagging behind). A post in a channel the bot can no
   * longer reach is recorded as lagging and retried on its own; one deleted in Mattermost is left
   * alone; a failure that may pass stops the run (patches are idempotent).
   */
  private async update(
    id: string,
    view: RequestView,
    record: PluginRecord,
    plan: Extract<Plan, { kind: "update" }>,
    log: Logger,
    run: RunState,
  ): Promise<PluginRecord> {
    const all = plan.targets === "all";
    const targets = all
      ? record.posts
      : record.posts.filter((post) => record.lagging.includes(post.channelId));
    const lagging: string[] = [];
    for (const post of targets) {
      try {
        await this.drawing.redraw(plan.model, post);
        this.deliveries.worked(post);
      } catch (error) {
        const failure = AppError.from(error);
        if (failure.retryable || failure.code === "ABORTED") throw failure;
        if (await this.drawing.isDeleted(post.postId)) {
          log.warn({ mm_post_id: post.postId }, "Post was deleted in Mattermost; not updating it");
          continue;
        }
        lagging.push(post.channelId);
        run.deferred.push(this.deliveries.failed(post, failure, "update a post in"));
      }
    }
    const drawn = all
      ? {
          renderHash: postFingerprint(plan.model, this.keyId),
          keyId: hasButtons(plan.model) ? this.keyId : "",
        }
      : { renderHash: record.renderHash, keyId: record.keyId };
    const next = await this.write(id, view, record, {
      ...record,
      claim: "",
      rendered: plan.status,
      ...drawn,
      lagging,
      // A request no longer pending is not posted anywhere new.
      unposted: plan.status === "PENDING" ? record.unposted : [],
    });
    if (record.rendered !== plan.status) {
      log.info({ status: plan.status }, `Successfully marked request as ${plan.status} in all messages`);
    }
    return next;
  }
}
