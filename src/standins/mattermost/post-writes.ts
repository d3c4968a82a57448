/**
 * Writing a post's content the way Mattermost's app layer does (MATTERMOST-API.md §2 and §6;
 * `Post.IsValid` in `server/public/model/post.go`, `App.UpdatePost` in `server/channels/app/post.go`):
 * the body decodes into `model.Post` or fails whole, the message and props limits count runes
 * (props as Go's JSON), types must be known or `custom_`, and an update re-normalises attachments and
 * moves `edit_at` only when message, attachments or files changed. Shared by the post routes and
 * the integration's reply to a click.
 */
import { normalizeProps } from "./attachments.js";
import { ApiError, invalidBodyParam } from "./errors.js";
import { goJson, isObject, parseHashtags, runeCount } from "./model.js";
import type { MattermostStore, StoredPost } from "./store.js";

/** `Post.IsValid` limits (§6): message runes, props JSON runes, type. */
export function validatePost(
  store: MattermostStore,
  post: { message: string; props: Record<string, unknown>; type: string },
): void {
  if (runeCount(post.message) > store.maxPostSize) {
    throw new ApiError(400, "model.post.is_valid.msg.app_error", `runes=${runeCount(post.message)}`);
  }
  if (runeCount(goJson(post.props)) > store.propsMaxRunes) {
    throw new ApiError(400, "model.post.is_valid.props.app_error");
  }
  const type = post.type;
  const knownType = type === "" || type === "slack_attachment" || type.startsWith("system_");
  if (!knownType && !type.startsWith("custom_"))
    throw new ApiError(400, "model.post.is_valid.type.app_error");
}

/** Go decodes the body into `model.Post`; a wrongly typed field fails the whole decode. */
export function decodePostBody(body: unknown, name = "post"): Record<string, unknown> {
  if (!isObject(body)) throw invalidBodyParam(name);
  const types: Record<string, string> = {
    id: "string",
    channel_id: "string",
    root_id: "string",
    parent_id: "string",
    message: "string",
    type: "string",
    pending_post_id: "string",
    is_pinned: "boolean",
    has_reactions: "boolean",
  };
  for (const [key, type] of Object.entries(types)) {
    const value = body[key];
    if (value !== undefined && value !== null && typeof value !== type) throw invalidBodyParam(name);
  }
  const props = body["props"];
  if (props !== undefined && props !== null && !isObject(props)) throw invalidBodyParam(name);
  const fileIds = body["file_ids"];
  if (fileIds !== undefined && fileIds !== null) {
    if (!Array.isArray(fileIds) || fileIds.some((f) => typeof f !== "string")) throw invalidBodyParam(name);
  }
  return body;
}

/** `App.UpdatePost(post, safeUpdate=false)`: validates, stores, emits. */
export function storeUpdate(
  store: MattermostStore,
  post: StoredPost,
  next: {
    message: string;
    props: Record<string, unknown>;
    is_pinned: boolean;
    has_reactions: boolean;
    file_ids: string[];
  },
): StoredPost {
  const props = normalizeProps(next.props, store.atLeast(10, 5));
  validatePost(store, { message: next.message, props, type: post.type });
  const previous = store.postRecord(post);
  const now = store.now();
  const messageChanged = post.message !== next.message;
  const attachmentsChanged =
    goJson(post.props["attachments"] ?? null) !== goJson(props["attachments"] ?? null);
  const filesChanged = goJson(post.file_ids) !== goJson(next.file_ids);
  post.message = next.message;
  post.hashtags = parseHashtags(next.message);
  post.props = props;
  post.is_pinned = next.is_pinned;
  post.has_reactions = next.has_reactions;
  post.file_ids = next.file_ids;
  post.update_at = now;
  if (messageChanged || attachmentsChanged || filesChanged) post.edit_at = now;
  store.emit({ type: "post_updated", post: store.postRecord(post), previous });
  return post;
}
