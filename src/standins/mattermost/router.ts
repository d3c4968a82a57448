/**
 * Request routing the way Mattermost's `api4` router and handler wrapper do it
 * (`server/channels/api4/api.go`, `server/channels/web/handlers.go`, `server/channels/app/session.go`):
 * gorilla/mux-style path patterns with their own regexes, 405 for a known path with another method,
 * 404 `api.context.404.app_error` otherwise; the token read from `Authorization: Bearer|Token …` or
 * `?access_token=` (OAuth sessions only), and 401 `api.context.session_expired.app_error` for routes
 * that need a session (MATTERMOST-API.md §1).
 */
import type * as http from "node:http";
import { ApiError, invalidUrlParam } from "./errors.js";
import { isValidId } from "./model.js";

export interface Session {
  token: string;
  userId: string;
  isOAuth: boolean;
}

export interface RequestContext {
  req: http.IncomingMessage;
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
  rawBody: string;
  params: Record<string, string>;
  session: Session | undefined;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Handler = (ctx: RequestContext) => Promise<Reply> | Reply;

export interface Route {
  method: string;
  regex: RegExp;
  names: string[];
  session: boolean;
  handler: Handler;
}

/** The id pattern of path parameters (`{post_id:[A-Za-z0-9]+}` in api4). */
export const ID = "[A-Za-z0-9]+";

/** A route under `/api/v4`; `session` false for the few that answer without one. */
export function route(method: string, pattern: string, handler: Handler, session = true): Route {
  return { method, ...compileRoute(`/api/v4${pattern}`), session, handler };
}

function compileRoute(pattern: string): { regex: RegExp; names: string[] } {
  const names: string[] = [];
  let source = "";
  let index = 0;
  const quote = (s: string) => s.replace(/[.*+?^$()|[\]\\]/g, "\\$&");
  while (index < pattern.length) {
    const open = pattern.indexOf("{", index);
    if (open < 0) {
      source += quote(pattern.slice(index));
      break;
    }
    const close = pattern.indexOf("}", open);
    source += quote(pattern.slice(index, open));
    const inner = pattern.slice(open + 1, close);
    const colon = inner.indexOf(":");
    names.push(colon < 0 ? inner : inner.slice(0, colon));
    source += `(${colon < 0 ? "[^/]+" : inner.slice(colon + 1)})`;
    index = close + 1;
  }
  return { regex: new RegExp(`^${source}$`), names };
}

/** `app.ParseAuthTokenFromRequest`: header `BEARER …` (any case) or `TOKEN …`, else `?access_token=`. */
export function parseToken(
  req: http.IncomingMessage,
  query: URLSearchParams,
): { token: string; location: "header" | "query" } | undefined {
  const header = req.headers.authorization ?? "";
  if (header.length > 6 && header.slice(0, 6).toUpperCase() === "BEARER") {
    return { token: header.slice(7), location: "header" };
  }
  if (header.length > 5 && header.slice(0, 5).toLowerCase() === "token") {
    return { token: header.slice(6), location: "header" };
  }
  const fromQuery = query.get("access_token");
  if (fromQuery) return { token: fromQuery, location: "query" };
  return undefined;
}

/** Finds the route, authenticates the request and runs the handler. */
export function dispatch(
  routes: readonly Route[],
  sessions: ReadonlyMap<string, Session>,
  request: Omit<RequestContext, "params" | "session">,
): Promise<Reply> | Reply {
  const { req, method, path, query } = request;
  let pathMatched = false;
  for (const route of routes) {
    const match = route.regex.exec(path);
    if (!match) continue;
    pathMatched = true;
    if (route.method !== method) continue;
    const params: Record<string, string> = {};
    route.names.forEach((name, i) => {
      params[name] = match[i + 1] ?? "";
    });
    let session: Session | undefined;
    const token = parseToken(req, query);
    if (token) {
      const found = sessions.get(token.token);
      if (!found) {
        if (route.session) throw new ApiError(401, "api.context.session_expired.app_error", "token=…");
      } else if (token.location === "query" && !found.isOAuth) {
        throw new ApiError(401, "api.context.token_provided.app_error");
      } else {
        session = found;
      }
    }
    if (route.session && !session)
      throw new ApiError(401, "api.context.session_expired.app_error", "UserRequired");
    return route.handler({ ...request, params, session });
  }
  if (pathMatched) return { status: 405 };
  throw new ApiError(404, "api.context.404.app_error", `path=${path}`);
}

/** A path parameter that must be a well-formed id: 400 before any lookup (§1). */
export function requireIdParam(ctx: RequestContext, name: string): string {
  const value = ctx.params[name] ?? "";
  if (!isValidId(value)) throw invalidUrlParam(name);
  return value;
}
