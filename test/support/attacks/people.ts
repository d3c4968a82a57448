/**
 * The wrong person deciding through Mattermost's own click endpoint: someone mapped but not an
 * approver, someone not mapped at all, the requester on their own request, and two approvers
 * submitting at once (Teleport must see one decision). Each must be told why, in an ephemeral
 * message or a dialog error.
 */
import { clickForDialog, submitDialog } from "../decide.js";
import { type Attack, postedRequest, viaMattermostClick } from "./target.js";

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

export const notAnApprover: Attack = {
  name: "clicker not allowed (mapped, not an approver)",
  async run(target) {
    const { id, post } = await postedRequest(target);
    const answer = await viaMattermostClick(target, target.carol, post.id, "approve");
    return { attempts: [answer], ids: [id], notes: [answer.text] };
  },
};

export const unmappedClicker: Attack = {
  name: "unmapped clicker",
  async run(target) {
    const { id, post } = await postedRequest(target);
    const answer = await viaMattermostClick(target, target.dave, post.id, "approve");
    return { attempts: [answer], ids: [id], notes: [answer.text] };
  },
};

export const requesterSelfApproval: Attack = {
  name: "requester approving own request",
  async run(target) {
    const { id, post } = await postedRequest(target, { user: "alice" });
    const answer = await viaMattermostClick(target, target.world.requester, post.id, "approve");
    return { attempts: [answer], ids: [id], notes: [answer.text] };
  },
};

export const denyByNonApprover: Attack = {
  name: "deny by a non-approver",
  async run(target) {
    const { id, post } = await postedRequest(target);
    const answer = await viaMattermostClick(target, target.carol, post.id, "deny");
    return { attempts: [answer], ids: [id], notes: [answer.text] };
  },
};
