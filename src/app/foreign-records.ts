/**
 * Plugin data this daemon did not write: records of the original plugin (0.1.0 `post_id`,
 * 6.x+ `messages`), of another version running beside it, or damaged by hand. Such a record is
 * rewritten once, in this daemon's format, by a compare-and-swap that expects exactly what was
 * read — so it can never loop — and only after Mattermost confirmed the posts it names: an
 * earlier version's post that exists is adopted (and redrawn by the next plan step), one that
 * does not is forgotten, so the request is posted anew rather than recorded as posted.
 */
import type { Logger } from "pino";
import {
  PLUGIN_NAME,
  type PluginRecord,
  type PostRef,
  readStored,
  rewriteRecord,
  type StoredRecord,
} from "../core/plugin-data.js";
import { isAppError } from "../errors.js";
import type { MattermostClient } from "../mattermost/client.js";
import type { TeleportClient } from "../teleport/client.js";

export interface ForeignRecordDeps {
  teleport: TeleportClient;
  mattermost: MattermostClient;
  /** Only the bot's own root posts can be adopted: it cannot edit anyone else's. */
  botUserId: string;
  logger: Logger;
}

/**
 * Reads a request's record; one not in this daemon's format is rewritten first, so the record
 * returned can be the expectation of a compare-and-swap. `cached` answers when Teleport has no
 * data (a deleted request). A rewrite that loses a race reads again, `rounds` times at most.
 */
export async function readCurrentRecord(
  deps: ForeignRecordDeps & { onConflict?: () => void },
  id: string,
  cached: () => PluginRecord | undefined,
  rounds: number,
): Promise<PluginRecord> {
  for (let round = 1; ; round++) {
    let data: Record<string, string> | undefined;
    try {
      data = await deps.teleport.getPluginData(id, PLUGIN_NAME);
    } catch (error) {
      if (!isAppError(error, "NOT_FOUND")) throw error;
    }
    const fallback = data === undefined ? cached() : undefined;
    if (fallback) return fallback;
    const stored = readStored(data);
    if (stored.current) return stored.record;
    try {
      return await settleForeignRecord(deps, id, stored);
    } catch (error) {
      if (!isAppError(error, "CONFLICT") || round >= rounds) throw error;
      deps.onConflict?.();
    }
  }
}

/** Rewrites `stored` (not `current`) in this daemon's format; CONFLICT when it changed meanwhile. */
async function settleForeignRecord(
  deps: ForeignRecordDeps,
  id: string,
  stored: StoredRecord,
): Promise<PluginRecord> {
  const log = deps.logger.child({ request_id: id });
  if (Object.keys(stored.unreadable).length > 0) {
    log.warn(
      { unreadable: stored.unreadable },
      "Plugin data of this request holds values this version cannot read; replacing them",
    );
  }
  let next = stored.record;
  if (stored.foreignPosts) {
    const kept: PostRef[] = [];
    for (const post of stored.record.posts) {
      if (await isAdoptable(deps, post)) kept.push(post);
      else log.warn({ mm_post_id: post.postId }, "A recorded post is gone or not the bot's; not adopting it");
    }
    if (kept.length > 0) {
      log.info(
        { mm_post_ids: kept.map((post) => post.postId) },
        "Adopting the post(s) of an earlier version of the plugin; redrawing them in this version's format",
      );
      // No fingerprint: the posts show an earlier version's format, so the next step redraws them.
      const channels = new Set(kept.map((post) => post.channelId));
      const lagging = next.lagging.filter((channel) => channels.has(channel));
      next = { ...next, posts: kept, lagging, renderHash: "" };
    } else {
      next = {
        ...next,
        posts: [],
        lagging: [],
        rendered: "",
        renderHash: "",
        reviewsRelayed: 0,
        notified: "",
      };
    }
  }
  const { set, expect } = rewriteRecord(stored, next);
  try {
    await deps.teleport.updatePluginData(id, PLUGIN_NAME, set, expect);
  } catch (error) {
    // A deleted request's data may be gone with it; the caller keeps the record in memory.
    if (!isAppError(error, "NOT_FOUND")) throw error;
  }
  return next;
}

/** True when the post exists, is where the record says, is a root post and is the bot's. */
async function isAdoptable(deps: ForeignRecordDeps, ref: PostRef): Promise<boolean> {
  try {
    const post = await deps.mattermost.getPost(ref.postId);
    return post.channel_id === ref.channelId && !post.root_id && post.user_id === deps.botUserId;
  } catch (error) {
    if (isAppError(error, "NOT_FOUND")) return false;
    throw error;
  }
}
