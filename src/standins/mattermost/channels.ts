/**
 * Teams, channels and membership (MATTERMOST-API.md §1 and §2; `server/channels/api4/team.go`,
 * `server/channels/api4/channel.go`): lookups by name and id with Mattermost's name patterns, 403
 * for a team the caller cannot see, 404 (not 403) for a private channel they are not in, member
 * lookups, and `POST /channels/direct`, idempotent, named `<id1>__<id2>`.
 */
import { ApiError, invalidBodyParam, invalidUrlParam, permissionError } from "./errors.js";
import { isValidId } from "./model.js";
import { ID, type Reply, type RequestContext, type Route, requireIdParam, route } from "./router.js";
import type { MattermostStore, TeamRecord } from "./store.js";
import { channelJson, teamJson } from "./views.js";

export function channelRoutes(store: MattermostStore): Route[] {
  return [
    route("GET", "/teams/name/{team_name:[A-Za-z0-9_-]+}", (ctx) => getTeamByName(store, ctx)),
    route(
      "GET",
      "/teams/name/{team_name:[A-Za-z0-9_-]+}/channels/name/{channel_name:[A-Za-z0-9_-]+}",
      (ctx) => getChannelByName(store, ctx, "team_name"),
    ),
    route("GET", `/teams/{team_id:${ID}}/channels/name/{channel_name:[A-Za-z0-9_-]+}`, (ctx) =>
      getChannelByName(store, ctx, "team_id"),
    ),
    route("POST", "/channels/direct", (ctx) => createDirect(store, ctx)),
    route("GET", `/channels/{channel_id:${ID}}`, (ctx) => getChannel(store, ctx)),
    route("GET", `/channels/{channel_id:${ID}}/members/{user_id:${ID}}`, (ctx) =>
      getChannelMember(store, ctx),
    ),
    route("GET", `/teams/{team_id:${ID}}/members/{user_id:${ID}}`, (ctx) => getTeamMember(store, ctx)),
  ];
}

function teamByName(store: MattermostStore, name: string): TeamRecord {
  if (!/^[a-z0-9]+([a-z\-0-9]+|(__)?)[a-z0-9]+$/.test(name)) throw invalidUrlParam("team_name");
  const team = [...store.teams.values()].find((t) => t.name === name);
  if (!team) throw new ApiError(404, "app.team.get_by_name.missing.app_error", `name=${name}`);
  return team;
}

function getTeamByName(store: MattermostStore, ctx: RequestContext): Reply {
  const me = store.sessionUser(ctx);
  const team = teamByName(store, ctx.params["team_name"] ?? "");
  if ((!team.allowOpenInvite || team.type !== "O") && !store.isTeamMember(me.id, team.id)) {
    throw permissionError("view_team");
  }
  return { status: 200, body: teamJson(team) };
}

function getChannelByName(store: MattermostStore, ctx: RequestContext, by: "team_name" | "team_id"): Reply {
  const me = store.sessionUser(ctx);
  let teamId: string;
  if (by === "team_name") {
    teamId = teamByName(store, ctx.params["team_name"] ?? "").id;
  } else {
    teamId = requireIdParam(ctx, "team_id");
  }
  const name = ctx.params["channel_name"] ?? "";
  if (!/^[a-z0-9]+([a-z\-_0-9]+|(__)?)[a-z0-9]+$/.test(name)) throw invalidUrlParam("channel_name");
  const channel = [...store.channels.values()].find((c) => c.teamId === teamId && c.name === name);
  const missing = () => new ApiError(404, "app.channel.get_by_name.missing.app_error", `channelName=${name}`);
  if (!channel) throw missing();
  if (channel.type === "O") {
    if (!store.canReadChannel(me.id, channel)) throw permissionError("read_public_channel");
  } else if (!store.isChannelMember(me.id, channel.id)) {
    throw missing();
  }
  return { status: 200, body: channelJson(channel) };
}

function getChannel(store: MattermostStore, ctx: RequestContext): Reply {
  const me = store.sessionUser(ctx);
  const id = requireIdParam(ctx, "channel_id");
  const channel = store.channels.get(id);
  if (!channel) throw new ApiError(404, "app.channel.get.existing.app_error", `id=${id}`);
  if (!store.canReadChannel(me.id, channel)) {
    throw permissionError(channel.type === "O" ? "read_public_channel" : "read_channel");
  }
  return { status: 200, body: channelJson(channel) };
}

/** `GET /teams/{team_id}/members/{user_id}`: the caller must see the team; 404 for non-members. */
function getTeamMember(store: MattermostStore, ctx: RequestContext): Reply {
  const me = store.sessionUser(ctx);
  const teamId = requireIdParam(ctx, "team_id");
  const userId = requireIdParam(ctx, "user_id");
  if (!store.teams.has(teamId) || !store.isTeamMember(me.id, teamId)) throw permissionError("view_team");
  if (!store.isTeamMember(userId, teamId)) {
    throw new ApiError(404, "app.team.get_member.missing.app_error", `teamId=${teamId}, userId=${userId}`);
  }
  return {
    status: 200,
    body: {
      team_id: teamId,
      user_id: userId,
      roles: "team_user",
      delete_at: 0,
      scheme_user: true,
      scheme_admin: false,
    },
  };
}

/** `GET /channels/{channel_id}/members/{user_id}`: 404 when the user is not a member. */
function getChannelMember(store: MattermostStore, ctx: RequestContext): Reply {
  const me = store.sessionUser(ctx);
  const channelId = requireIdParam(ctx, "channel_id");
  const userId = requireIdParam(ctx, "user_id");
  const channel = store.channels.get(channelId);
  if (!channel) throw new ApiError(404, "app.channel.get.existing.app_error", `id=${channelId}`);
  if (!store.canReadChannel(me.id, channel)) {
    throw permissionError(channel.type === "O" ? "read_public_channel" : "read_channel");
  }
  if (!store.isChannelMember(userId, channelId)) {
    throw new ApiError(
      404,
      "app.channel.get_member.missing.app_error",
      `channel_id=${channelId}, user_id=${userId}`,
    );
  }
  const now = store.now();
  return {
    status: 200,
    body: {
      channel_id: channelId,
      user_id: userId,
      roles: "channel_user",
      last_viewed_at: now,
      msg_count: 0,
      mention_count: 0,
      notify_props: { desktop: "default", email: "default", mark_unread: "all", push: "default" },
      last_update_at: now,
      scheme_guest: false,
      scheme_user: true,
      scheme_admin: false,
    },
  };
}

function createDirect(store: MattermostStore, ctx: RequestContext): Reply {
  const me = store.sessionUser(ctx);
  const ids = Array.isArray(ctx.body) ? ctx.body : [];
  if (ids.length !== 2) throw invalidBodyParam("user_ids");
  for (const id of ids) if (typeof id !== "string" || !isValidId(id)) throw invalidBodyParam("user_id");
  const [a, b] = ids as [string, string];
  if (a !== me.id && b !== me.id && !store.isAdmin(me.id)) throw permissionError("manage_system");
  if (!store.users.has(a) || !store.users.has(b)) {
    throw new ApiError(400, "api.channel.create_direct_channel.invalid_user.app_error");
  }
  return { status: 201, body: channelJson(store.getOrCreateDirect(a, b)) };
}
