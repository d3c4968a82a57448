/**
 * Forged, borrowed and replayed signed data: a click's integration context (HMAC over version,
 * request, action and channel; docs/architecture.md "Trust") and a dialog's signed state must
 * not be usable for anything but the one request, post, action and person they were made for,
 * and not again after the request was decided.
 */
import type { OpenDialog } from "../../../src/standins/mattermost/index.js";
import { RequestState } from "../../../src/teleport/gen/teleport/types_pb.js";
import { clickForDialog, submitDialog } from "../decide.js";
import {
  type Attack,
  type AttackTarget,
  actionUrl,
  buttonOf,
  clickBody,
  dialogUrl,
  postedRequest,
  send,
} from "./target.js";

/** A dialog submission as Mattermost relays it, posted straight to the callback URL instead. */
function submissionBody(
  target: AttackTarget,
  dialog: OpenDialog,
  userId: string,
  state: string,
  reason: string,
): string {
  return JSON.stringify({
    type: "dialog_submission",
    callback_id: dialog.dialog["callback_id"],
    state,
    user_id: userId,
    channel_id: target.world.channel.id,
    team_id: target.world.team.id,
    submission: { reason },
    cancelled: false,
  });
}

export const forgedContext: Attack = {
  name: "forged context (bad signature, unsigned, wrong version)",
  async run(target) {
    const { id, post } = await postedRequest(target);
    const { context } = buttonOf(target, post.id, "approve");
    const bodies = [
      { ...context, sig: "AAAA" },
      { action: "approve", req_id: id, channel_id: target.world.channel.id },
      { ...context, v: 99 },
    ].map((forged) => clickBody(target, target.world.approver, post.id, forged));
    const attempts = [];
    for (const body of bodies) attempts.push(await send(actionUrl(target), JSON.stringify(body)));
    return { attempts, ids: [id] };
  },
};

export const borrowedContext: Attack = {
  name: "context from another request / post / action",
  async run(target) {
    const first = await postedRequest(target);
    const second = await postedRequest(target);
    const approve = buttonOf(target, first.post.id, "approve").context;
    const bodies = [
      clickBody(target, target.world.approver, first.post.id, { ...approve, req_id: second.id }),
      clickBody(target, target.world.approver, second.post.id, approve),
      clickBody(target, target.world.approver, first.post.id, { ...approve, action: "deny" }),
      { ...clickBody(target, target.world.approver, first.post.id, approve), channel_id: "a".repeat(26) },
    ];
    const attempts = [];
    for (const body of bodies) attempts.push(await send(actionUrl(target), JSON.stringify(body)));
    return { attempts, ids: [first.id, second.id] };
  },
};

export const replayAfterResolution: Attack = {
  name: "valid context and dialog replayed after resolution",
  async run(target) {
    const { world } = target;
    const { id, post } = await postedRequest(target);
    const { dialog } = await clickForDialog(world, world.approver, post.id, "approve");
    const clickSent = world.mattermost.outgoingRequests.findLast((entry) => entry.kind === "action");
    const legit = await submitDialog(world, world.approver, dialog, { reason: "ok" });
    if (legit.status !== 200 || world.teleport.getRequest(id)?.spec?.state !== RequestState.APPROVED) {
      throw new Error(`the legitimate approval did not go through: ${legit.text}`);
    }
    const attempts = [
      await send(actionUrl(target), JSON.stringify(clickSent?.body)),
      await submitDialog(world, world.approver, dialog, { reason: "again" }),
      await send(
        dialogUrl(target),
        submissionBody(
          target,
          dialog,
          world.approver.user.id,
          String(dialog.dialog["state"]),
          "direct replay",
        ),
      ),
    ].map((answer) => ({ status: answer.status, text: answer.text }));
    return { attempts, ids: [id], legitimate: 1 };
  },
};

export const forgedDialogState: Attack = {
  name: "dialog state forged or for another user",
  async run(target) {
    const { world } = target;
    const { id, post } = await postedRequest(target);
    const { dialog } = await clickForDialog(world, world.approver, post.id, "approve");
    const state = String(dialog.dialog["state"]);
    const [payload = "", sig = ""] = state.split(".");
    const decoded = JSON.parse(Buffer.from(payload, "base64url").toString()) as Record<string, unknown>;
    const asCarol = `${Buffer.from(JSON.stringify({ ...decoded, user_id: target.carol.user.id })).toString("base64url")}.${sig}`;
    const submission = (userId: string, forgedState: string) =>
      submissionBody(target, dialog, userId, forgedState, "forged");
    const attempts = [
      await send(dialogUrl(target), submission(world.approver.user.id, `${payload}.AAAA`)),
      await send(dialogUrl(target), submission(target.carol.user.id, asCarol)),
      await send(dialogUrl(target), submission(target.carol.user.id, state)),
      // carol, logged in, submits bob's dialog state through Mattermost.
      await submitDialog(world, target.carol, dialog, { reason: "not mine" }),
    ].map((answer) => ({ status: answer.status, text: answer.text }));
    return { attempts, ids: [id] };
  },
};
