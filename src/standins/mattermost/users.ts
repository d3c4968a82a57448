/**
 * User lookups (MATTERMOST-API.md §2; `server/channels/api4/user.go`): `GET /users/{id|me}` with its
 * ETag and 304, by username (`model.IsValidUsername`), by email (403 for non-admins when
 * `PrivacySettings.ShowEmailAddress` is off), and `POST /users/ids` (unknown ids left out).
 */
import { ApiError, invalidBodyParam, invalidUrlParam } from "./errors.js";
import { RESTRICTED_USERNAMES } from "./limits.js";
import { isValidId } from "./model.js";
import { ID, type Reply, type RequestContext, type Route, route } from "./router.js";
import type { MattermostStore } from "./store.js";
import { userJson } from "./views.js";

export function userRoutes(store: MattermostStore): Route[] {
  return [
    route("POST", "/users/ids", (ctx) => getUsersByIds(store, ctx)),
    route("GET", "/users/username/{username:[A-Za-z0-9\\_\\-\\.]+}", (ctx) => getUserByUsername(store, ctx)),
    route("GET", "/users/email/{email:.+}", (ctx) => getUserByEmail(store, ctx)),
    route("GET", `/users/{user_id:${ID}}`, (ctx) => getUser(store, ctx)),
  ];
}

function getUser(store: MattermostStore, ctx: RequestContext): Reply {
  const me = store.sessionUser(ctx);
  const requested = ctx.params["user_id"] === "me" ? me.id : (ctx.params["user_id"] ?? "");
  if (!isValidId(requested)) throw invalidUrlParam("user_id");
  const user = store.users.get(requested);
  if (!user) throw new ApiError(404, "app.user.missing_account.const", `user_id=${requested}`);
  const showEmail = store.opts.showEmailAddress ?? true;
  const etag = `${store.version}.${user.id}.${user.updateAt}.true.${showEmail}.0`;
  if (ctx.req.headers["if-none-match"] === etag) return { status: 304, headers: { ETag: etag } };
  return {
    status: 200,
    body: userJson(store, user, user.id === me.id, store.isAdmin(me.id)),
    headers: { ETag: etag },
  };
}

function getUserByUsername(store: MattermostStore, ctx: RequestContext): Reply {
  const me = store.sessionUser(ctx);
  const username = ctx.params["username"] ?? "";
  const valid =
    /^[a-z0-9.\-_]+$/.test(username) &&
    username.length >= 3 &&
    username.length <= 64 &&
    !RESTRICTED_USERNAMES.has(username);
  if (!valid) throw invalidUrlParam("username");
  const user = [...store.users.values()].find((u) => u.username === username);
  if (!user) throw new ApiError(404, "app.user.get_by_username.app_error", `username=${username}`);
  return { status: 200, body: userJson(store, user, user.id === me.id, store.isAdmin(me.id)) };
}

function getUserByEmail(store: MattermostStore, ctx: RequestContext): Reply {
  const me = store.sessionUser(ctx);
  const email = ctx.params["email"] ?? "";
  if (email !== email.toLowerCase() || !/^[^\s@<>()]+@[^\s@<>()]+$/.test(email))
    throw invalidUrlParam("email");
  if (!(store.opts.showEmailAddress ?? true) && !store.isAdmin(me.id)) {
    throw new ApiError(403, "api.user.get_user_by_email.permissions.app_error");
  }
  const user = [...store.users.values()].find((u) => u.email.toLowerCase() === email);
  if (!user) throw new ApiError(404, "app.user.missing_account.const", `email=${email}`);
  return { status: 200, body: userJson(store, user, user.id === me.id, store.isAdmin(me.id)) };
}

function getUsersByIds(store: MattermostStore, ctx: RequestContext): Reply {
  const me = store.sessionUser(ctx);
  const ids = Array.isArray(ctx.body) ? ctx.body : [];
  if (ids.length === 0) throw invalidBodyParam("user_ids");
  for (const id of ids) if (typeof id !== "string" || !isValidId(id)) throw invalidBodyParam("user_id");
  const found = (ids as string[]).flatMap((id) => {
    const user = store.users.get(id);
    return user ? [userJson(store, user, user.id === me.id, store.isAdmin(me.id))] : [];
  });
  return { status: 200, body: found };
}
