/**
 * The button click (MATTERMOST-API.md §4; `DoPostActionWithCookie` in
 * `server/channels/app/integration_action.go`, `server/channels/api4/post.go`): `POST
 * /posts/{post_id}/actions/{action_id}` by a channel member makes the server POST
 * `model.PostActionIntegrationRequest` (with a fresh signed trigger id, `context`, and the selected
 * option for menus) to the action's `integration.url`, then applies the reply: `update` replaces the
 * post (props null keeps the original; `from_webhook`/`override_*` retained), `ephemeral_text`
 * becomes an ephemeral post in the thread (Slack links parsed). 5.x refuses an empty reply body.
 */
import { attachmentActions } from "./attachments.js";
import { ApiError, integrationError, permissionError } from "./errors.js";
import { ACTION_ID_PATTERN, RETAINED_PROP_KEYS } from "./limits.js";
import { clone, isObject, newMattermostId, parseSlackLinks } from "./model.js";
import { decodePostBody, storeUpdate } from "./post-writes.js";
import { ID, type Reply, type RequestContext, type Route, requireIdParam, route } from "./router.js";
import type { MattermostStore } from "./store.js";
import type { StandinPost } from "./types.js";

export function actionRoutes(store: MattermostStore): Route[] {
  return [
    route("POST", `/posts/{post_id:${ID}}/actions/{action_id:${ID}}`, (ctx) => doPostAction(store, ctx)),
  ];
}

async function doPostAction(store: MattermostStore, ctx: RequestContext): Promise<Reply> {
  const me = store.sessionUser(ctx);
  const postId = requireIdParam(ctx, "post_id");
  const actionId = ctx.params["action_id"] ?? "";
  if (!ACTION_ID_PATTERN.test(actionId)) throw new ApiError(404, "api.context.404.app_error");
  const request = isObject(ctx.body) ? ctx.body : {};
  const selectedOption = typeof request["selected_option"] === "string" ? request["selected_option"] : "";
  const cookie = typeof request["cookie"] === "string" ? request["cookie"] : "";
  if (cookie !== "") {
    // Cookies carry encrypted integrations of ephemeral posts; the stand-in never issues any.
    throw integrationError("err=unable to decrypt the action cookie");
  }
  const post = store.posts.get(postId);
  if (!post || !store.isChannelMember(me.id, post.channel_id)) throw permissionError("read_channel");
  const channel = store.channels.get(post.channel_id);
  if (!channel) throw new ApiError(500, "app.channel.get_for_post.app_error");

  const action = attachmentActions(post.props).find((a) => a["id"] === actionId);
  const integration = action?.["integration"];
  if (!action || !isObject(integration)) {
    throw new ApiError(404, "api.post.do_action.action_id.app_error", `action=${actionId}`);
  }

  const originalProps = clone(post.props);
  const retain: Record<string, unknown> = {};
  const remove: string[] = [];
  for (const key of RETAINED_PROP_KEYS) {
    if (key in originalProps) retain[key] = originalProps[key];
    else remove.push(key);
  }
  const rootPostId = post.root_id || post.id;
  const team = channel.teamId ? store.teams.get(channel.teamId) : undefined;
  const type = typeof action["type"] === "string" ? action["type"] : "";
  let context = isObject(integration["context"]) ? clone(integration["context"]) : undefined;
  let dataSource = "";
  if (type === "select" && selectedOption !== "") {
    context = context ?? {};
    context["selected_option"] = selectedOption;
    dataSource = typeof action["data_source"] === "string" ? action["data_source"] : "";
  }
  const { clientTriggerId, triggerId } = store.triggers.mint(
    me.id,
    { userId: me.id, postId: post.id, channelId: channel.id, teamId: channel.teamId },
    store.now(),
  );
  // Field order of model.PostActionIntegrationRequest; `context` is omitempty.
  const upstream: Record<string, unknown> = {
    user_id: me.id,
    user_name: me.username,
    channel_id: channel.id,
    channel_name: channel.name,
    team_id: channel.teamId,
    team_domain: team?.name ?? "",
    post_id: post.id,
    trigger_id: triggerId,
    type,
    data_source: dataSource,
  };
  if (context && Object.keys(context).length > 0) upstream["context"] = context;

  const url = typeof integration["url"] === "string" ? integration["url"] : "";
  const result = await store.outgoing.call("action", url, upstream, ctx.session?.token ?? "");
  const text = result.body.toString("utf8");
  let response: Record<string, unknown> = {};
  const empty = store.isV5 ? text.trim() === "" : result.body.length === 0;
  if (empty && store.isV5) throw integrationError("err=EOF");
  if (!empty) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw integrationError(`err=${error instanceof Error ? error.message : String(error)}`);
    }
    if (parsed !== null && !isObject(parsed))
      throw integrationError("err=json: cannot unmarshal into a response");
    response = parsed ?? {};
  }

  const update = response["update"];
  if (update !== undefined && update !== null) {
    if (!isObject(update)) throw integrationError("err=json: cannot unmarshal update");
    let decoded: Record<string, unknown>;
    try {
      decoded = decodePostBody(update);
    } catch {
      throw integrationError("err=json: cannot unmarshal update");
    }
    const current = store.posts.get(post.id);
    if (current) {
      let props: Record<string, unknown>;
      if (decoded["props"] === undefined || decoded["props"] === null) {
        props = originalProps;
      } else {
        props = clone(decoded["props"] as Record<string, unknown>);
        for (const [key, value] of Object.entries(retain)) props[key] = value;
        for (const key of remove) delete props[key];
      }
      storeUpdate(store, current, {
        message: typeof decoded["message"] === "string" ? decoded["message"] : "",
        props,
        is_pinned: current.is_pinned,
        has_reactions: current.has_reactions,
        file_ids: Array.isArray(decoded["file_ids"]) ? (decoded["file_ids"] as string[]) : [],
      });
    }
  }

  const ephemeralText = typeof response["ephemeral_text"] === "string" ? response["ephemeral_text"] : "";
  if (ephemeralText !== "") {
    // 5.x parsed Slack links even with skip_slack_parsing (the flag only worked later).
    const parse = store.isV5 || response["skip_slack_parsing"] !== true;
    const now = store.now();
    const ephemeralPost: StandinPost = {
      id: newMattermostId(),
      create_at: now,
      update_at: now,
      edit_at: 0,
      delete_at: 0,
      is_pinned: false,
      user_id: me.id,
      channel_id: channel.id,
      root_id: rootPostId,
      parent_id: "",
      original_id: "",
      message: parse ? parseSlackLinks(ephemeralText) : ephemeralText,
      type: "system_ephemeral",
      props: { ...retain },
      hashtags: "",
      file_ids: [],
      pending_post_id: "",
      has_reactions: false,
    };
    const list = store.ephemeral.get(me.id) ?? [];
    list.push(ephemeralPost);
    store.ephemeral.set(me.id, list);
    store.emit({ type: "ephemeral_post", userId: me.id, post: clone(ephemeralPost) });
  }
  return { status: 200, body: { status: "OK", trigger_id: clientTriggerId } };
}
