/**
 * The JSON the API answers for stored records (MATTERMOST-API.md §2 "Post object fields"; `model.User`,
 * `model.Team`, `model.Channel`, `model.Post` and `model.PostList` in `server/public/model/`): field
 * order and `omitempty` as Go marshals them, other users' profiles sanitized (no `notify_props`,
 * email per `PrivacySettings.ShowEmailAddress`), posts with integrations stripped, `parent_id` only
 * on 5.x, and `reply_count` of the thread.
 */
import { stripIntegrations } from "./attachments.js";
import type { ChannelRecord, MattermostStore, StoredPost, TeamRecord, UserRecord } from "./store.js";
import type { StandinChannel, StandinTeam, StandinUser } from "./types.js";

export function userJson(
  store: MattermostStore,
  user: UserRecord,
  self: boolean,
  viewerIsAdmin = false,
): StandinUser {
  const showEmail = self || viewerIsAdmin || (store.opts.showEmailAddress ?? true);
  const json: StandinUser = {
    id: user.id,
    create_at: user.createAt,
    update_at: user.updateAt,
    delete_at: 0,
    username: user.username,
    auth_data: "",
    auth_service: "",
    email: showEmail ? user.email : "",
    email_verified: true,
    nickname: user.nickname,
    first_name: user.firstName,
    last_name: user.lastName,
    position: "",
    roles: user.roles,
    locale: "en",
    timezone: { automaticTimezone: "", manualTimezone: "", useAutomaticTimezone: "true" },
    is_bot: user.isBot,
    disable_welcome_email: false,
  };
  if (self) {
    json["notify_props"] = {
      channel: "true",
      comments: "never",
      desktop: "mention",
      desktop_sound: "true",
      email: "true",
      first_name: "false",
      mention_keys: "",
      push: "mention",
      push_status: "away",
    };
    json["last_password_update"] = user.createAt;
  }
  if (user.isBot) json["bot_description"] = user.botDescription;
  else delete json.is_bot;
  return json as StandinUser;
}

export function teamJson(team: TeamRecord): StandinTeam {
  return {
    id: team.id,
    create_at: team.createAt,
    update_at: team.updateAt,
    delete_at: 0,
    display_name: team.displayName,
    name: team.name,
    description: "",
    email: "",
    type: team.type,
    company_name: "",
    allowed_domains: "",
    invite_id: team.inviteId,
    allow_open_invite: team.allowOpenInvite,
    scheme_id: null,
    group_constrained: null,
    policy_id: null,
  };
}

export function channelJson(channel: ChannelRecord): StandinChannel {
  return {
    id: channel.id,
    create_at: channel.createAt,
    update_at: channel.updateAt,
    delete_at: 0,
    team_id: channel.teamId,
    type: channel.type,
    display_name: channel.displayName,
    name: channel.name,
    header: "",
    purpose: "",
    last_post_at: channel.lastPostAt,
    total_msg_count: channel.totalMsgCount,
    extra_update_at: 0,
    creator_id: channel.creatorId,
    scheme_id: null,
    props: null,
    group_constrained: null,
    shared: null,
    total_msg_count_root: channel.totalMsgCountRoot,
    policy_id: null,
    last_root_post_at: channel.lastRootPostAt,
  };
}

/** The post as the API returns it (`Post.ToJson`: integrations stripped; metadata added). */
export function postJson(
  store: MattermostStore,
  post: StoredPost,
  pendingPostId = "",
): Record<string, unknown> {
  const rootId = post.root_id || post.id;
  const replyCount = store.replyCounts.get(rootId) ?? 0;
  const json: Record<string, unknown> = {
    id: post.id,
    create_at: post.create_at,
    update_at: post.update_at,
    edit_at: post.edit_at,
    delete_at: post.delete_at,
    is_pinned: post.is_pinned,
    user_id: post.user_id,
    channel_id: post.channel_id,
    root_id: post.root_id,
  };
  if (store.isV5) json["parent_id"] = post.parent_id;
  Object.assign(json, {
    original_id: post.original_id,
    message: post.message,
    type: post.type,
    props: stripIntegrations(post.props),
    hashtags: post.hashtags,
  });
  if (post.file_ids.length > 0) json["file_ids"] = [...post.file_ids];
  json["pending_post_id"] = pendingPostId;
  if (post.has_reactions) json["has_reactions"] = true;
  Object.assign(json, { reply_count: replyCount, last_reply_at: 0, participants: null, metadata: {} });
  return json;
}

export function postList(
  store: MattermostStore,
  posts: StoredPost[],
  order: string[],
): Record<string, unknown> {
  const map: Record<string, unknown> = {};
  for (const post of posts) map[post.id] = postJson(store, post);
  return { order, posts: map, next_post_id: "", prev_post_id: "" };
}
