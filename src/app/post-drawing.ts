/**
 * The Mattermost side of a request's posts: creating a post with signed buttons (idempotently),
 * finding the post an interrupted attempt made, redrawing, replying in the threads, and telling
 * a deleted post from a channel the bot can no longer reach. app/request-sync decides when.
 */
import type { PluginRecord, PostRef } from "../core/plugin-data.js";
import { type ButtonContext, type PostModel, REQUEST_ID_PROP, renderPost } from "../core/render.js";
import { signActionContext } from "../core/sign.js";
import { isAppError } from "../errors.js";
import type { Clock } from "../lib/clock.js";
import type { MattermostClient, Turn } from "../mattermost/client.js";
import { JsonText } from "../mattermost/types.js";

export interface DrawingDeps {
  mattermost: MattermostClient;
  /** The bot's Mattermost user id: only its posts count when looking for an earlier post. */
  botUserId: string;
  /** Absolute URL of the callback route the buttons call. */
  actionUrl: string;
  secret: string;
  clock: Clock;
}

export class PostDrawing {
  constructor(private readonly deps: DrawingDeps) {}

  buttonContext(requestId: string, channelId: string): ButtonContext {
    const sign = (action: "approve" | "deny") =>
      ({ ...signActionContext(this.deps.secret, { action, requestId, channelId }) }) as Record<
        string,
        unknown
      >;
    return { url: this.deps.actionUrl, context: { approve: sign("approve"), deny: sign("deny") } };
  }

  /**
   * Creates the post; `retryUntil` (ms since the epoch) ends retries of an uncertain create
   * sooner, and `beforeSend` runs once its turn under the rate limit has come (a throw: not sent).
   */
  create(
    model: PostModel,
    channelId: string,
    options: {
      retryUntil?: number;
      beforeSend?: () => Promise<void>;
      /** A turn taken from Mattermost's rate limit (MattermostClient.turnNow) for the first attempt. */
      turn?: Turn;
    } = {},
  ): Promise<{ id: string }> {
    let rendered: ReturnType<typeof renderPost>;
    try {
      rendered = renderPost(model, this.buttonContext(model.requestId, channelId));
    } catch (error) {
      options.turn?.(undefined);
      throw error;
    }
    // The same pending_post_id within 30 s returns the same post (MATTERMOST-API.md §10).
    return this.deps.mattermost.createPost({
      channelId,
      message: rendered.message,
      props: new JsonText(rendered.propsJson),
      pendingPostId: `${model.requestId}:${channelId}`,
      ...options,
    });
  }

  async redraw(model: PostModel, post: PostRef): Promise<void> {
    const rendered = renderPost(model, this.buttonContext(model.requestId, post.channelId));
    await this.deps.mattermost.patchPost(post.postId, {
      message: rendered.message,
      props: new JsonText(rendered.propsJson),
    });
  }

  /**
   * The bot's post for this request in a channel, changed after `since` (ms), if any: the post
   * an earlier attempt made before it could record it.
   */
  async findEarlier(
    requestId: string,
    channelId: string,
    since: number,
  ): Promise<{ id: string } | undefined> {
    const list = await this.deps.mattermost.getChannelPostsSince(channelId, since);
    return Object.values(list.posts ?? {}).find(
      (post) =>
        post.user_id === this.deps.botUserId && post.props?.[REQUEST_ID_PROP] === requestId && !post.root_id,
    );
  }

  /**
   * Posts a reply in every thread of the request; `key` makes a retried reply idempotent. Threads
   * in channels the bot lost (lagging posts, or a 403 now) are skipped: their root post is
   * redrawn once access returns, which shows the outcome.
   */
  async replyInThreads(record: PluginRecord, message: string, key: string): Promise<void> {
    for (const post of record.posts) {
      if (record.lagging.includes(post.channelId)) continue;
      try {
        await this.deps.mattermost.createPost({
          channelId: post.channelId,
          rootId: post.postId,
          message,
          pendingPostId: `${key}:${post.channelId}`,
        });
      } catch (error) {
        // A root post deleted in Mattermost has no thread to reply in; the others still get it.
        const status = isAppError(error) ? error.details["status"] : undefined;
        if (!isAppError(error, "NOT_FOUND") && status !== 400 && status !== 403) throw error;
      }
    }
  }

  /** True when Mattermost says the post no longer exists (its patch fails with 403 either way). */
  async isDeleted(postId: string): Promise<boolean> {
    try {
      await this.deps.mattermost.getPost(postId);
      return false;
    } catch (error) {
      return isAppError(error, "NOT_FOUND");
    }
  }
}
