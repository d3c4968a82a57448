/**
 * Keeps the Mattermost posts of one access request in step with Teleport: reads the plugin
 * record, asks core/plan what to do, carries it out, and records the result by compare-and-swap.
 * A lost CAS race is not an error: read again and plan again.
 */
import type { Logger } from "pino";
import type { AccessRequest } from "../core/access-request.js";
import { type Plan, planFor, postModelFor, type RequestView } from "../core/plan.js";
import {
  decodeRecord,
  encodeRecord,
  formatClaim,
  PLUGIN_NAME,
  type PluginRecord,
} from "../core/plugin-data.js";
import { type ButtonContext, renderPost } from "../core/render.js";
import { signActionContext } from "../core/sign.js";
import { AppError, isAppError } from "../errors.js";
import type { Clock } from "../lib/clock.js";
import type { MattermostClient } from "../mattermost/client.js";
import type { TeleportClient } from "../teleport/client.js";

/**
 * How long a posting claim holds. Shorter than Mattermost's 30 s pending_post_id window
 * (MATTERMOST-API.md §10), so an instance taking over a lapsed claim repeats the create within
 * the window and gets the same post back instead of a second one.
 */
export const CLAIM_LEASE_MS = 20_000;
/** CAS attempts on one request before giving up until its next event. */
const MAX_CAS_ROUNDS = 8;
/** Requests whose record is remembered for rendering after Teleport deleted them. */
const RECORD_CACHE_SIZE = 20_000;

export interface SyncDeps {
  teleport: TeleportClient;
  mattermost: MattermostClient;
  channelId: string;
  clusterName: string;
  instanceId: string;
  /** Absolute URL of the callback route the buttons call. */
  actionUrl: string;
  secret: string;
  clock: Clock;
  logger: Logger;
}

export class RequestSync {
  /** Last record seen per request, in insertion order (oldest first) for eviction. */
  private readonly records = new Map<string, PluginRecord>();

  constructor(private readonly deps: SyncDeps) {}

  /** Brings the posts of one request up to date with `view`. */
  async sync(view: RequestView): Promise<void> {
    const id = view.kind === "live" ? view.request.id : view.id;
    for (let round = 0; round < MAX_CAS_ROUNDS; round++) {
      const record = (round === 0 ? this.presumedNew(view) : undefined) ?? (await this.readRecord(id));
      const plan = planFor(view, record, this.deps.clock.now(), this.deps.instanceId);
      try {
        await this.execute(id, view, record, plan);
        return;
      } catch (error) {
        if (!isAppError(error, "CONFLICT")) throw error;
        this.deps.logger.debug({ request_id: id, round }, "Plugin data changed meanwhile, planning again");
      }
    }
    throw new AppError("CONFLICT", `Gave up on request ${id} after ${MAX_CAS_ROUNDS} conflicting updates`, {
      retryable: true,
    });
  }

  /**
   * The record of a pending request this daemon has never seen, which almost always has none
   * yet: posting then starts with the claim, whose compare-and-swap expects no record, instead
   * of a read first (one Teleport round trip less per new request). If a record exists after
   * all, the claim fails as a conflict and the next round reads it.
   */
  private presumedNew(view: RequestView): PluginRecord | undefined {
    if (view.kind !== "live" || view.request.state !== "PENDING" || this.records.has(view.request.id)) {
      return undefined;
    }
    return decodeRecord(undefined);
  }

  /**
   * Every plugin record this plugin stored, in one call (for catch-up: a read per request is
   * what made a restart with many pending requests slow). Undefined when the listing fails.
   */
  async listRecords(): Promise<Map<string, PluginRecord> | undefined> {
    try {
      const stored = await this.deps.teleport.listPluginData(PLUGIN_NAME);
      return new Map([...stored].map(([id, data]) => [id, decodeRecord(data)]));
    } catch (error) {
      this.deps.logger.warn(
        { err: AppError.from(error).describe() },
        "Listing plugin data failed; reading each request's instead",
      );
      return undefined;
    }
  }

  /**
   * The requests of a catch-up that may need work, judged from `records` (listRecords): after
   * a restart most posts are up to date. What may need work (everything, without records) is
   * left to `sync`, which reads again.
   */
  needingSync(
    requests: readonly AccessRequest[],
    records: Map<string, PluginRecord> | undefined,
  ): AccessRequest[] {
    if (!records) return [...requests];
    const now = this.deps.clock.now();
    return requests.filter((request) => {
      const record = records.get(request.id) ?? decodeRecord(undefined);
      this.remember(request.id, record);
      return planFor({ kind: "live", request }, record, now, this.deps.instanceId).kind !== "none";
    });
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

  private remember(id: string, record: PluginRecord): void {
    this.records.delete(id);
    this.records.set(id, record);
    if (this.records.size > RECORD_CACHE_SIZE) {
      const oldest = this.records.keys().next().value;
      if (oldest !== undefined) this.records.delete(oldest);
    }
  }

  private async execute(id: string, view: RequestView, record: PluginRecord, plan: Plan): Promise<void> {
    const log = this.deps.logger.child({ request_id: id });
    switch (plan.kind) {
      case "none":
        log.debug({ why: plan.why }, "Nothing to do for request");
        return;
      case "wait":
        log.debug({ until: new Date(plan.until).toISOString() }, "Another instance is posting this request");
        return;
      case "post":
        if (view.kind === "live") await this.post(view.request, record, log);
        return;
      case "update":
        await this.update(id, view, record, plan.status, log);
        return;
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

  private async post(request: AccessRequest, record: PluginRecord, log: Logger): Promise<void> {
    const { teleport, mattermost, channelId, clock } = this.deps;
    const claim = formatClaim(this.deps.instanceId, clock.now() + CLAIM_LEASE_MS);
    const claimed: PluginRecord = {
      ...record,
      claim,
      user: request.user,
      roles: request.roles,
      reason: request.requestReason,
    };
    await teleport.updatePluginData(request.id, PLUGIN_NAME, encodeRecord(claimed), encodeRecord(record));
    this.remember(request.id, claimed);
    const view: RequestView = { kind: "live", request };
    const rendered = renderPost(
      postModelFor(view, claimed, this.deps.clusterName),
      this.buttonContext(request.id, channelId),
    );
    const post = await mattermost.createPost({
      channelId,
      message: rendered.message,
      props: rendered.props,
      pendingPostId: `${request.id}:${channelId}`,
    });
    const posted: PluginRecord = {
      ...claimed,
      claim: "",
      posts: [{ channelId, postId: post.id }],
      rendered: "PENDING",
    };
    await teleport.updatePluginData(request.id, PLUGIN_NAME, encodeRecord(posted), encodeRecord(claimed));
    this.remember(request.id, posted);
    log.info({ mm_post_id: post.id, mm_channel_id: channelId }, "Successfully posted to Mattermost");
  }

  private async update(
    id: string,
    view: RequestView,
    record: PluginRecord,
    status: PluginRecord["rendered"] & string,
    log: Logger,
  ): Promise<void> {
    const model = postModelFor(view, record, this.deps.clusterName);
    for (const post of record.posts) {
      const rendered = renderPost(model, this.buttonContext(id, post.channelId));
      try {
        await this.deps.mattermost.patchPost(post.postId, {
          message: rendered.message,
          props: rendered.props,
        });
      } catch (error) {
        if (!isAppError(error, "NOT_FOUND")) throw error;
        log.warn({ mm_post_id: post.postId }, "Post was deleted in Mattermost; not updating it");
      }
    }
    const updated: PluginRecord = { ...record, rendered: status };
    if (view.kind === "live") {
      await this.deps.teleport.updatePluginData(id, PLUGIN_NAME, encodeRecord(updated), encodeRecord(record));
    } else {
      // The request is gone; Teleport may still hold its plugin data (it expires an hour after the
      // request) or not, so the write is best effort and the cache keeps the truth locally.
      await this.deps.teleport
        .updatePluginData(id, PLUGIN_NAME, encodeRecord(updated), encodeRecord(record))
        .catch((error: unknown) => {
          if (isAppError(error, "CONFLICT")) throw error;
        });
    }
    this.remember(id, updated);
    log.info({ status }, `Successfully marked request as ${status} in all messages`);
  }
}
