/**
 * Interactive dialogs (MATTERMOST-API.md §5 and §10; `server/channels/api4/integration_action.go`,
 * `OpenInteractiveDialog` and `SubmitInteractiveDialog` in `server/channels/app/integration_action.go`):
 * `POST /actions/dialogs/open` needs no session, only a valid trigger id, and records the dialog for
 * the user it was minted for (with the §5 limits as warnings); `POST /actions/dialogs/submit` is what
 * the webapp sends: the server POSTs `model.SubmitDialogRequest` without `url` to the dialog's URL
 * and answers only `error`/`errors` of the reply (since 11.10 `team_id` comes from the channel).
 */
import { invalidBodyParam, permissionError } from "./errors.js";
import { DIALOG_ELEMENT_TYPES, DIALOG_LIMITS } from "./limits.js";
import { clone, isObject, runeCount } from "./model.js";
import { type Reply, type RequestContext, type Route, route } from "./router.js";
import type { MattermostStore } from "./store.js";
import type { OpenDialog } from "./types.js";

export function dialogRoutes(store: MattermostStore): Route[] {
  return [
    route("POST", "/actions/dialogs/open", (ctx) => openDialog(store, ctx), false),
    route("POST", "/actions/dialogs/submit", (ctx) => submitDialog(store, ctx)),
  ];
}

function openDialog(store: MattermostStore, ctx: RequestContext): Reply {
  const body = ctx.body;
  if (!isObject(body)) throw invalidBodyParam("dialog");
  for (const key of ["trigger_id", "url"]) {
    if (body[key] !== undefined && body[key] !== null && typeof body[key] !== "string")
      throw invalidBodyParam("dialog");
  }
  if (body["dialog"] !== undefined && body["dialog"] !== null && !isObject(body["dialog"])) {
    throw invalidBodyParam("dialog");
  }
  const url = typeof body["url"] === "string" ? body["url"] : "";
  if (url === "") throw invalidBodyParam("url");
  const { clientTriggerId, userId } = store.triggers.decode(
    typeof body["trigger_id"] === "string" ? body["trigger_id"] : "",
    store.now(),
    store.triggerTimeoutMs,
  );
  const dialog = isObject(body["dialog"]) ? clone(body["dialog"]) : {};
  const origin = store.triggers.origin(clientTriggerId);
  const record: OpenDialog = {
    userId,
    triggerId: clientTriggerId,
    url,
    dialog,
    openedAt: store.now(),
    origin: origin
      ? { postId: origin.postId, channelId: origin.channelId, teamId: origin.teamId }
      : undefined,
    warnings: dialogWarnings(dialog),
  };
  const list = store.dialogs.get(userId) ?? [];
  list.push(record);
  store.dialogs.set(userId, list);
  store.emit({ type: "dialog_opened", dialog: clone(record) });
  return { status: 200, body: { status: "OK" } };
}

async function submitDialog(store: MattermostStore, ctx: RequestContext): Promise<Reply> {
  const me = store.sessionUser(ctx);
  const body = ctx.body;
  if (!isObject(body)) throw invalidBodyParam("dialog");
  for (const key of ["url", "callback_id", "state", "channel_id", "team_id"]) {
    if (body[key] !== undefined && body[key] !== null && typeof body[key] !== "string")
      throw invalidBodyParam("dialog");
  }
  const submission = body["submission"];
  if (submission !== undefined && submission !== null && !isObject(submission))
    throw invalidBodyParam("dialog");
  const url = typeof body["url"] === "string" ? body["url"] : "";
  if (url === "") throw invalidBodyParam("url");
  const channelId = typeof body["channel_id"] === "string" ? body["channel_id"] : "";
  const channel = store.channels.get(channelId);
  if (!channel || !store.isChannelMember(me.id, channel.id)) throw permissionError("read_channel");
  let teamId = typeof body["team_id"] === "string" ? body["team_id"] : "";
  if (store.atLeast(11, 10)) {
    teamId = channel.teamId; // §7: 11.10 derives team_id server-side
  } else if (teamId === "" || !store.isTeamMember(me.id, teamId)) {
    throw permissionError("view_team");
  }
  const callbackId = typeof body["callback_id"] === "string" ? body["callback_id"] : "";
  // Field order of model.SubmitDialogRequest with `url` removed (§10).
  const payload: Record<string, unknown> = {
    type: "dialog_submission",
    callback_id: callbackId,
    state: typeof body["state"] === "string" ? body["state"] : "",
    user_id: me.id,
    channel_id: channelId,
    team_id: teamId,
    submission: isObject(submission) ? submission : null,
    cancelled: body["cancelled"] === true,
  };
  const result = await store.outgoing.call("dialog_submission", url, payload, ctx.session?.token ?? "");
  let reply: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(result.body.toString("utf8"));
    if (isObject(parsed)) reply = parsed;
  } catch {
    // Mattermost ignores an undecodable dialog reply and answers {}.
  }
  const answer: Record<string, unknown> = {};
  if (typeof reply["error"] === "string" && reply["error"] !== "") answer["error"] = reply["error"];
  if (isObject(reply["errors"]) && Object.keys(reply["errors"]).length > 0)
    answer["errors"] = reply["errors"];
  if (answer["error"] === undefined && answer["errors"] === undefined) {
    const open = store.dialogs.get(me.id) ?? [];
    const index = open.findIndex((d) => d.url === url && (d.dialog["callback_id"] ?? "") === callbackId);
    if (index >= 0) open.splice(index, 1);
  }
  store.emit({
    type: "dialog_submitted",
    userId: me.id,
    url,
    payload: clone(payload),
    reply: clone(answer),
  });
  return { status: 200, body: answer };
}

/** §5 limits, reported (not enforced) for an opened dialog. */
function dialogWarnings(dialog: Record<string, unknown>): string[] {
  const warnings: string[] = [];
  const title = typeof dialog["title"] === "string" ? dialog["title"] : "";
  if (title === "") warnings.push("dialog title is empty");
  if (runeCount(title) > DIALOG_LIMITS.titleRunes)
    warnings.push(`title longer than ${DIALOG_LIMITS.titleRunes} runes`);
  const elements = Array.isArray(dialog["elements"]) ? dialog["elements"] : [];
  elements.forEach((element, i) => {
    if (!isObject(element)) {
      warnings.push(`elements[${i}] is not an object`);
      return;
    }
    const text = (key: string) => (typeof element[key] === "string" ? (element[key] as string) : "");
    const type = text("type");
    if (!DIALOG_ELEMENT_TYPES.includes(type)) warnings.push(`elements[${i}].type "${type}" is unknown`);
    if (runeCount(text("display_name")) > DIALOG_LIMITS.displayNameRunes) {
      warnings.push(`elements[${i}].display_name longer than ${DIALOG_LIMITS.displayNameRunes} runes`);
    }
    if (text("name") === "" || runeCount(text("name")) > DIALOG_LIMITS.nameRunes) {
      warnings.push(`elements[${i}].name empty or longer than ${DIALOG_LIMITS.nameRunes} runes`);
    }
    if (runeCount(text("help_text")) > DIALOG_LIMITS.helpTextRunes) {
      warnings.push(`elements[${i}].help_text longer than ${DIALOG_LIMITS.helpTextRunes} runes`);
    }
    const valueLimit = type === "textarea" ? DIALOG_LIMITS.textareaValueRunes : DIALOG_LIMITS.textValueRunes;
    if (type === "text" || type === "textarea") {
      for (const key of ["default", "placeholder"]) {
        if (runeCount(text(key)) > valueLimit)
          warnings.push(`elements[${i}].${key} longer than ${valueLimit} runes`);
      }
      const maxLength = element["max_length"];
      if (typeof maxLength === "number" && maxLength > valueLimit) {
        warnings.push(`elements[${i}].max_length above ${valueLimit}`);
      }
    }
  });
  return warnings;
}
