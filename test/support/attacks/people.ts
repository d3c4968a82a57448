/**
 * The wrong person deciding through Mattermost's own click endpoint: someone mapped but not an
 * approver, someone not mapped at all, the requester on their own request, and two approvers
 * submitting at once (Teleport must see one decision). Each must be told why, in an ephemeral
 * message or a dialog error.
 */

import type { MattermostPerson } from "../../../src/demo/world.js";
import { clickForDialog, submitDialog } from "../decide.js";
import { type Attack, type AttackTarget, postedRequest, viaMattermostClick } from "./target.js";

export const concurrentApprovers: Attack = {
  name: "two approvers submitting at once (only one decision)",
  async run(target) {
    const { world } = target;
    const { id, post } = await postedRequest(target, { user: "dave" });
    const bob = await clickForDialog(world, world.approver, post.id, "approve");
    const alice = await clickForDialog(world, world.requester, post.id, "deny");
    const answers = await Promise.all([
      submitDialog(world, world.approver, bob.dialog, { reason: "yes" }),
      submitDialog(world, world.requester, alice.dialog, { reason: "no" }),
    ]);
    // One of them decides; the other is the attempt that must be refused.
    const refused = answers.filter((answer) => JSON.stringify(answer.body) !== "{}");
    const attempts = refused.map((answer) => ({ status: answer.status, text: answer.text }));
    if (attempts.length === 0) attempts.push({ status: 200, text: "both submissions were accepted" });
    return { attempts, ids: [id], legitimate: 1, notes: attempts.map((attempt) => attempt.text) };
  },
};

/** One click through Mattermost, on a fresh request of `requester`, by someone who may not decide it. */
function refusedClick(
  name: string,
  clicker: (target: AttackTarget) => MattermostPerson,
  action: "approve" | "deny",
  requester?: string,
): Attack {
  return {
    name,
    async run(target) {
      const { id, post } = await postedRequest(target, requester ? { user: requester } : {});
      const answer = await viaMattermostClick(target, clicker(target), post.id, action);
      return { attempts: [answer], ids: [id], notes: [answer.text] };
    },
  };
}

export const notAnApprover = refusedClick(
  "clicker not allowed (mapped, not an approver)",
  (target) => target.carol,
  "approve",
);
export const unmappedClicker = refusedClick("unmapped clicker", (target) => target.dave, "approve");
export const requesterSelfApproval = refusedClick(
  "requester approving own request",
  (target) => target.world.requester,
  "approve",
  "alice",
);
export const denyByNonApprover = refusedClick("deny by a non-approver", (target) => target.carol, "deny");
