/**
 * Deciding from Mattermost the way a person does: click the button (the webapp's
 * `POST /posts/{id}/actions/{id}`), which makes the daemon open a dialog through the click's
 * trigger id; then submit that dialog (`POST /actions/dialogs/submit`) with a reason.
 */
import assert from "node:assert/strict";
import type { World } from "../../src/demo/world.js";
import type { HttpReply, OpenDialog } from "../../src/standins/mattermost/index.js";

export interface Person {
  user: { id: string };
  session: string;
}

/** Clicks and returns the dialog the daemon opened for `person` (fails if none was opened). */
export async function clickForDialog(
  world: World,
  person: Person,
  postId: string,
  action: "approve" | "deny",
): Promise<{ click: HttpReply; dialog: OpenDialog }> {
  const before = world.mattermost.openDialogs(person.user.id).length;
  const click = await world.mattermost.clickAction(person.session, postId, action);
  assert.equal(click.status, 200, click.text);
  const open = world.mattermost.openDialogs(person.user.id);
  assert.equal(open.length, before + 1, `no dialog opened; ephemeral: ${lastEphemeral(world, person)}`);
  return { click, dialog: open.at(-1) as OpenDialog };
}

/** Submits (or cancels) a dialog as the webapp does; the reply is Mattermost's. */
export function submitDialog(
  world: World,
  person: Person,
  dialog: OpenDialog,
  submission: { reason?: string; cancelled?: boolean; state?: string } = {},
): Promise<HttpReply> {
  return world.mattermost.submitDialog(person.session, {
    url: dialog.url,
    callback_id: dialog.dialog["callback_id"],
    state: submission.state ?? dialog.dialog["state"],
    // The webapp submits from the channel the dialog was opened in.
    channel_id: dialog.origin?.channelId ?? world.channel.id,
    // In a DM the webapp sends the team the user has open.
    team_id: dialog.origin?.teamId || world.team.id,
    submission: submission.cancelled ? {} : { reason: submission.reason ?? "" },
    cancelled: submission.cancelled ?? false,
  });
}

/** Click, then submit with `reason`: the whole decision. Returns the submission's reply. */
export async function decide(
  world: World,
  person: Person,
  postId: string,
  action: "approve" | "deny",
  reason = "",
): Promise<HttpReply> {
  const { dialog } = await clickForDialog(world, person, postId, action);
  return submitDialog(world, person, dialog, { reason });
}

export function lastEphemeral(world: World, person: Person): string {
  return world.mattermost.ephemeralPosts(person.user.id).at(-1)?.message ?? "";
}
