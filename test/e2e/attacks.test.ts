/**
 * The attack suite (test/support/attacks.ts) against the CLI as a child process: every attack
 * ends with no decision in Teleport, a clear refusal for every attempt and the daemon still
 * serving. `npm run attacks` runs the same attacks and prints the table.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ATTACKS, type AttackTarget, runAttack, startAttackTarget } from "../support/attacks.js";

describe("attacks on the callback routes", () => {
  let target: AttackTarget;

  before(async () => {
    target = await startAttackTarget();
  });

  after(async () => {
    await target?.stop();
  });

  /** What the person is told, for the attacks made through Mattermost's own click endpoint. */
  const EXPLANATIONS: Record<string, RegExp> = {
    "clicker not allowed (mapped, not an approver)": /not an approver for role dba/,
    "unmapped clicker": /@dave is not linked to a Teleport user.*\[review\.users\]/,
    "requester approving own request": /asked for this access, so you cannot approve it/,
    "deny by a non-approver": /not an approver for role dba/,
    "two approvers submitting at once (only one decision)":
      /deciding this request right now|is already (approved|denied)/,
    "@all and link injection in the request reason": /^@\u200b\\?all/,
  };

  for (const attack of ATTACKS) {
    test(attack.name, async () => {
      const result = await runAttack(target, attack);
      const explanation = EXPLANATIONS[attack.name];
      if (explanation) assert.match(result.notes[0] ?? "", explanation);
      assert.ok(result.attempts > 0);
      assert.equal(result.unauthorizedDecisions, 0, "decisions in Teleport");
      assert.equal(result.explained, result.attempts, "every attempt refused with an explanation");
      assert.equal(result.crashes, 0, "daemon still serving");
    });
  }
});
