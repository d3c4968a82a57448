/**
 * What a button click does. The callback is unauthenticated (MATTERMOST-API.md §4), so nothing
 * in it is trusted until the signed context checks out and the post id is the one recorded for
 * the request in Teleport. Every refusal leaves Teleport untouched and tells the clicker why in
 * an ephemeral message.
 */
import type { Logger } from "pino";
import { planFor, postModelFor, type RequestView } from "../core/plan.js";
import { encodeRecord, PLUGIN_NAME, type PluginRecord } from "../core/plugin-data.js";
import { type Decision, renderPost } from "../core/render.js";
import { verifyActionContext } from "../core/sign.js";
import { isAppError } from "../errors.js";
import type { MattermostClient } from "../mattermost/client.js";
import type { PostActionCallback, PostActionResponse } from "../mattermost/types.js";
import type { TeleportClient } from "../teleport/client.js";
import type { RequestSync } from "./request-sync.js";

export interface ClickDeps {
  teleport: TeleportClient;
  mattermost: MattermostClient;
  sync: RequestSync;
  secret: string;
  clusterName: string;
  instanceId: string;
  logger: Logger;
  /** Called for each refused click, for metrics. */
  onRefused?: (reason: string) => void;
  /** Called for each decision applied in Teleport, for metrics. */
  onDecided?: (decision: { outcome: "approved" | "denied"; mode: "button" }) => void;
}

const PAST_TENSE: Record<Decision, string> = { approve: "approved", deny: "denied" };

export class ClickHandler {
  constructor(private readonly deps: ClickDeps) {}

  async handle(body: unknown, signal: AbortSignal): Promise<PostActionResponse> {
    const { logger } = this.deps;
    const callback = parseCallback(body);
    if (!callback) return this.refuse("malformed", "This click could not be read.", {});
    const verified = verifyActionContext(this.deps.secret, callback.context);
    const log = logger.child({ mm_user_id: callback.user_id, mm_post_id: callback.post_id });
    if (!verified.ok) {
      return this.refuse(
        verified.reason,
        "This button's signature is not valid, so nothing was changed. If the plugin's secret was changed, the posts made before it can no longer be used.",
        { log },
      );
    }
    const { action, req_id: requestId, channel_id: channelId } = verified.context;
    const requestLog = log.child({ request_id: requestId });
    if (callback.channel_id !== channelId) {
      return this.refuse("wrong_channel", "This button does not belong to this channel.", {
        log: requestLog,
      });
    }
    const record = await this.deps.sync.readRecord(requestId);
    const recorded = record.posts.some(
      (post) => post.postId === callback.post_id && post.channelId === channelId,
    );
    if (!recorded) {
      return this.refuse("wrong_post", "This button does not belong to this post.", { log: requestLog });
    }
    const request = await this.deps.teleport.getRequest(requestId);
    const view: RequestView = request ? { kind: "live", request } : { kind: "gone", id: requestId };
    if (request?.state !== "PENDING") {
      const status = postModelFor(view, record, this.deps.sync.planContext()).status;
      requestLog.info({ status }, "Click on a request that is no longer pending");
      this.deps.onRefused?.("not_pending");
      return {
        update: renderPost(postModelFor(view, record, this.deps.sync.planContext())),
        ephemeral_text: `Request ${requestId} is already ${status.toLowerCase()}; nothing was changed.`,
      };
    }
    const username = await this.username(callback, signal);
    const decided: PluginRecord = { ...record, decidedBy: username, decisionReason: "" };
    // Record who decides before the state change, so the watcher's update already names them.
    await this.recordDecider(requestId, decided, record);
    const state = action === "approve" ? "APPROVED" : "DENIED";
    try {
      await this.deps.teleport.setRequestState(requestId, state, { delegator: `mattermost:${username}` });
    } catch (error) {
      if (isAppError(error, "NOT_FOUND")) {
        return { ephemeral_text: `Request ${requestId} no longer exists in Teleport; nothing was changed.` };
      }
      throw error;
    }
    requestLog.info({ mm_user_name: username, state }, `Mattermost user ${PAST_TENSE[action]} the request`);
    this.deps.onDecided?.({ outcome: action === "approve" ? "approved" : "denied", mode: "button" });
    const resolved: RequestView = { kind: "live", request: { ...request, state } };
    const plan = planFor(resolved, decided, this.deps.sync.planContext());
    return {
      ...(plan.kind === "update"
        ? { update: renderPost(postModelFor(resolved, decided, this.deps.sync.planContext())) }
        : {}),
      ephemeral_text: `You ${PAST_TENSE[action]} request ${requestId}.`,
    };
  }

  private async recordDecider(requestId: string, decided: PluginRecord, record: PluginRecord): Promise<void> {
    try {
      await this.deps.teleport.updatePluginData(
        requestId,
        PLUGIN_NAME,
        encodeRecord(decided),
        encodeRecord(record),
      );
    } catch (error) {
      // Losing this race only loses the "decided by" line; the decision itself still stands.
      if (!isAppError(error, "CONFLICT")) throw error;
      this.deps.logger.debug({ request_id: requestId }, "Plugin data changed while recording the decider");
    }
  }

  private async username(callback: PostActionCallback, signal: AbortSignal): Promise<string> {
    if (callback.user_name) return callback.user_name;
    const user = await this.deps.mattermost.getUser(callback.user_id, signal);
    return user.username;
  }

  private refuse(reason: string, message: string, { log }: { log?: Logger }): PostActionResponse {
    (log ?? this.deps.logger).warn({ reason }, "Refused a button click");
    this.deps.onRefused?.(reason);
    return { ephemeral_text: message };
  }
}

/** Mattermost ids are 26 lowercase base32 characters (MATTERMOST-API.md §1). */
const MATTERMOST_ID = /^[a-z0-9]{26}$/;

function parseCallback(body: unknown): PostActionCallback | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const candidate = body as Record<string, unknown>;
  const { user_id, channel_id, post_id, context } = candidate;
  if (typeof user_id !== "string" || !MATTERMOST_ID.test(user_id)) return undefined;
  if (typeof channel_id !== "string" || !MATTERMOST_ID.test(channel_id)) return undefined;
  if (typeof post_id !== "string" || !MATTERMOST_ID.test(post_id)) return undefined;
  if (typeof context !== "object" || context === null) return undefined;
  const userName = candidate["user_name"];
  return {
    user_id,
    channel_id,
    post_id,
    context: context as Record<string, unknown>,
    ...(typeof userName === "string" && userName ? { user_name: userName } : {}),
  };
}
