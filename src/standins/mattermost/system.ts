/**
 * `GET /system/ping` and `GET /config/client?format=old` (MATTERMOST-API.md §2 "ping" and §1
 * "Version/limits discovery"; `server/channels/api4/system.go`, `server/channels/api4/config.go`):
 * no session needed; health fields with `get_server_status`, 500 when unhealthy unless
 * `use_rest_semantics` (≥ 9.6); the limits the bot reads only for a logged-in caller.
 */
import { ApiError, invalidUrlParam } from "./errors.js";
import { type Reply, type RequestContext, type Route, route } from "./router.js";
import type { MattermostStore } from "./store.js";

export function systemRoutes(store: MattermostStore): Route[] {
  return [
    route("GET", "/system/ping", (ctx) => ping(store, ctx), false),
    route("GET", "/config/client", (ctx) => clientConfig(store, ctx), false),
  ];
}

function ping(store: MattermostStore, ctx: RequestContext): Reply {
  const status: Record<string, string> = {
    ActiveSearchBackend: "database",
    AndroidLatestVersion: "",
    AndroidMinVersion: "",
    IosLatestVersion: "",
    IosMinVersion: "",
    status: "OK",
  };
  if (ctx.query.get("get_server_status") === "true") {
    status["database_status"] = store.healthy ? "OK" : "UNHEALTHY";
    status["filestore_status"] = store.healthy ? "OK" : "UNHEALTHY";
    if (!store.healthy) status["status"] = "UNHEALTHY";
  }
  const rest = store.atLeast(9, 6) && ctx.query.get("use_rest_semantics") === "true";
  return { status: status["status"] === "OK" || rest ? 200 : 500, body: status };
}

function clientConfig(store: MattermostStore, ctx: RequestContext): Reply {
  const format = ctx.query.get("format");
  if (!format) throw new ApiError(501, "api.config.client.old_format.app_error");
  if (format !== "old") throw invalidUrlParam("format");
  const config: Record<string, string> = {
    Version: store.version,
    BuildNumber: store.version,
    SiteName: store.opts.siteName ?? "Mattermost",
    DiagnosticsEnabled: "false",
  };
  if (ctx.session) {
    Object.assign(config, {
      MaxPostSize: String(store.maxPostSize),
      EnablePostUsernameOverride: "false",
      EnablePostIconOverride: "false",
      PostEditTimeLimit: "-1",
      EnableBotAccountCreation: "true",
      EnableUserAccessTokens: "true",
    });
  }
  return { status: 200, body: config };
}
