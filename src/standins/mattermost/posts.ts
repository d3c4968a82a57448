/**
 * The post routes (MATTERMOST-API.md §2 and §10; `server/channels/api4/post.go`,
 * `server/channels/app/post.go`): create (channel and team membership, `from_bot` for bots, root
 * rules, `pending_post_id` de-duplication for 30 s), get, thread (5.36 lists the requested post
 * twice), channel posts by page or `since`, PUT as a full replace and patch as a partial one
 * (unknown or foreign posts are 403).
 */
import { normalizeProps } from "./attachments.js";
import { ApiError, invalidBodyParam, permissionError } from "./errors.js";
import { DEFAULT_PER_PAGE, MAX_PER_PAGE, PENDING_POST_ID_TTL_MS, POSTS_SINCE_LIMIT } from "./limits.js";
import { clone, isObject, newMattermostId, parseHashtags } from "./model.js";
import { decodePostBody, storeUpdate, validatePost } from "./post-writes.js";
import { ID, type Reply, type RequestContext, type Route, requireIdParam, route } from "./router.js";
import type { MattermostStore, StoredPost, UserRecord } from "./store.js";
import { postJson, postList } from "./views.js";

export function postRoutes(store: MattermostStore): Route[] {
  return [
    route("GET", `/channels/{channel_id:${ID}}/posts`, (ctx) => getChannelPosts(store, ctx)),
    route("POST", "/posts", (ctx) => createPost(store, ctx)),
    route("GET", `/posts/{post_id:${ID}}`, (ctx) => getPost(store, ctx)),
    route("PUT", `/posts/{post_id:${ID}}`, (ctx) => updatePost(store, ctx)),
    route("PUT", `/posts/{post_id:${ID}}/patch`, (ctx) => patchPost(store, ctx)),
    route("GET", `/posts/{post_id:${ID}}/thread`, (ctx) => getThread(store, ctx)),
  ];
}

function createPost(store: MattermostStore, ctx: RequestContext): Reply {
  const me = store.sessionUser(ctx);
  const body = decodePostBody(ctx.body);
  const channelId = typeof body["channel_id"] === "string" ? body["channel_id"] : "";
  const channel = store.channels.get(channelId);
  // §1: posting needs channel membership, and team membership for team channels.
  const allowed =
    channel !== undefined &&
    store.isChannelMember(me.id, channel.id) &&
    (channel.teamId === "" || store.isTeamMember(me.id, channel.teamId));
  if (!channel || !allowed) throw permissionError("create_post");

  const now = store.now();
  const pendingPostId = typeof body["pending_post_id"] === "string" ? body["pending_post_id"] : "";
  if (pendingPostId !== "") {
    const seen = store.pendingPostIds.get(pendingPostId);
    if (seen && seen.expiresAt > now) {
      const existing = store.posts.get(seen.postId);
      if (!existing) throw new ApiError(500, "api.post.deduplicate_create_post.pending");
      return { status: 201, body: postJson(store, existing) };
    }
  }

  const rootId = typeof body["root_id"] === "string" ? body["root_id"] : "";
  if (rootId !== "") {
    const root = store.posts.get(rootId);
    if (!root) throw new ApiError(400, "api.post.create_post.root_id.app_error", `root_id=${rootId}`);
    if (root.channel_id !== channel.id) {
      throw new ApiError(store.isV5 ? 500 : 400, "api.post.create_post.channel_root_id.app_error");
    }
    if (root.root_id !== "")
      throw new ApiError(400, "api.post.create_post.root_id.app_error", "reply to a reply");
  }

  let props = isObject(body["props"]) ? clone(body["props"]) : {};
  if (me.isBot) props["from_bot"] = "true"; // §2 "Posting as a bot"
  props = normalizeProps(props, store.atLeast(10, 5));
  const message = typeof body["message"] === "string" ? body["message"] : "";
  const type = typeof body["type"] === "string" ? body["type"] : "";
  validatePost(store, { message, props, type });

  const post: StoredPost = {
    id: newMattermostId(),
    create_at: now,
    update_at: now,
    edit_at: 0,
    delete_at: 0,
    is_pinned: body["is_pinned"] === true,
    user_id: me.id,
    channel_id: channel.id,
    root_id: rootId,
    parent_id: store.isV5 && typeof body["parent_id"] === "string" ? body["parent_id"] : "",
    original_id: "",
    message,
    type,
    props,
    hashtags: parseHashtags(message),
    file_ids: Array.isArray(body["file_ids"]) ? (body["file_ids"] as string[]) : [],
    pending_post_id: "",
    has_reactions: false,
    seq: ++store.postSeq,
  };
  store.posts.set(post.id, post);
  if (rootId !== "") store.replyCounts.set(rootId, (store.replyCounts.get(rootId) ?? 0) + 1);
  channel.lastPostAt = now;
  channel.totalMsgCount++;
  if (rootId === "") {
    channel.lastRootPostAt = now;
    channel.totalMsgCountRoot++;
  }
  if (pendingPostId !== "") {
    store.pendingPostIds.set(pendingPostId, { postId: post.id, expiresAt: now + PENDING_POST_ID_TTL_MS });
  }
  store.emit({ type: "post_created", post: store.postRecord(post) });
  return { status: 201, body: postJson(store, post, pendingPostId) };
}

function readablePost(store: MattermostStore, ctx: RequestContext): { me: UserRecord; post: StoredPost } {
  const me = store.sessionUser(ctx);
  const id = requireIdParam(ctx, "post_id");
  const post = store.posts.get(id);
  if (!post) throw new ApiError(404, "app.post.get.app_error", `id=${id}`);
  const channel = store.channels.get(post.channel_id);
  if (!channel || !store.canReadChannel(me.id, channel)) {
    throw permissionError(channel?.type === "O" ? "read_public_channel" : "read_channel");
  }
  return { me, post };
}

function getPost(store: MattermostStore, ctx: RequestContext): Reply {
  const { post } = readablePost(store, ctx);
  return { status: 200, body: postJson(store, post) };
}

function getThread(store: MattermostStore, ctx: RequestContext): Reply {
  const { post } = readablePost(store, ctx);
  const rootId = post.root_id || post.id;
  const thread = store.sortedPosts((p) => p.id === rootId || p.root_id === rootId);
  // 5.36 listed the requested post first and then the whole thread again (§2 "thread").
  const order = store.isV5 ? [post.id, ...thread.map((p) => p.id)] : [...thread].reverse().map((p) => p.id);
  return { status: 200, body: postList(store, thread, order) };
}

function getChannelPosts(store: MattermostStore, ctx: RequestContext): Reply {
  const me = store.sessionUser(ctx);
  const id = requireIdParam(ctx, "channel_id");
  const channel = store.channels.get(id);
  if (!channel || !store.canReadChannel(me.id, channel)) throw permissionError("read_channel");
  const since = Number.parseInt(ctx.query.get("since") ?? "", 10);
  if (since > 0) {
    // `since` (ms): every post of the channel changed after that time, newest first; the
    // server caps the answer at 1000 posts (GetPostsSince's limit).
    const changed = store
      .sortedPosts((p) => p.channel_id === id && p.update_at > since)
      .reverse()
      .slice(0, POSTS_SINCE_LIMIT);
    return { status: 200, body: postList(store, changed, ids(changed)) };
  }
  const page = Math.max(0, Number.parseInt(ctx.query.get("page") ?? "0", 10) || 0);
  const perPageRaw = Number.parseInt(ctx.query.get("per_page") ?? "", 10);
  const perPage = Number.isNaN(perPageRaw)
    ? DEFAULT_PER_PAGE
    : Math.min(Math.max(perPageRaw, 0), MAX_PER_PAGE);
  const newestFirst = store.sortedPosts((p) => p.channel_id === id).reverse();
  const slice = newestFirst.slice(page * perPage, page * perPage + perPage);
  return { status: 200, body: postList(store, slice, ids(slice)) };
}

const ids = (posts: StoredPost[]) => posts.map((p) => p.id);

/** The checks `updatePost`/`patchPost` do before touching the post (§2): unknown post is 403. */
function editablePost(store: MattermostStore, ctx: RequestContext): { me: UserRecord; post: StoredPost } {
  const me = store.sessionUser(ctx);
  const id = requireIdParam(ctx, "post_id");
  const post = store.posts.get(id);
  if (!post || !store.isChannelMember(me.id, post.channel_id)) throw permissionError("edit_post");
  if (post.user_id !== me.id && !store.isAdmin(me.id)) throw permissionError("edit_others_posts");
  return { me, post };
}

function updatePost(store: MattermostStore, ctx: RequestContext): Reply {
  const postId = requireIdParam(ctx, "post_id");
  const body = decodePostBody(ctx.body);
  if (body["id"] !== postId) throw invalidBodyParam("id");
  const { post } = editablePost(store, ctx);
  // §2: full replace. Omitted fields become blank; file_ids cannot be changed through the API.
  const updated = storeUpdate(store, post, {
    message: typeof body["message"] === "string" ? body["message"] : "",
    props: isObject(body["props"]) ? clone(body["props"]) : {},
    is_pinned: body["is_pinned"] === true,
    has_reactions: body["has_reactions"] === true,
    file_ids: post.file_ids,
  });
  return { status: 200, body: postJson(store, updated) };
}

function patchPost(store: MattermostStore, ctx: RequestContext): Reply {
  requireIdParam(ctx, "post_id");
  const body = decodePostBody(ctx.body);
  const { post } = editablePost(store, ctx);
  // §2: only given fields change (file_ids in a patch are ignored).
  const updated = storeUpdate(store, post, {
    message: typeof body["message"] === "string" ? body["message"] : post.message,
    props: isObject(body["props"]) ? clone(body["props"]) : clone(post.props),
    is_pinned: typeof body["is_pinned"] === "boolean" ? body["is_pinned"] : post.is_pinned,
    has_reactions: typeof body["has_reactions"] === "boolean" ? body["has_reactions"] : post.has_reactions,
    file_ids: post.file_ids,
  });
  return { status: 200, body: postJson(store, updated) };
}
