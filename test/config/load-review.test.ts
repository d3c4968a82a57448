/**
 * [review]: the decision mode, mapping Mattermost users to Teleport users, the reason rules,
 * link-only roles and the approvers per role
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assertError, BASE, lineOf, load, loadError } from "../support/config-load.js";

describe("loadConfig: [review]", () => {
  const REVIEW = `${BASE}
[review]
mode = "state"
mattermost_user_trait = "mattermost_user_id"
allow_email_username_match = true
approve_reason = "optional"
deny_reason = "Required"
link_only_roles = ["prod-admin", "root"]

[review.users]
"bob" = "bob.smith"

[review.approvers."*"]
mattermost_teams = ["security"]

[review.approvers.dba]
mattermost_users = ["bob", "carol"]
teleport_users = ["dave"]
`;

  it("reads the mode, the mapping, the reasons, link-only roles and approvers", async () => {
    const { config, warnings } = await load(REVIEW);
    assert.deepEqual(warnings, []);
    assert.deepEqual(config.review, {
      mode: "state",
      mapping: {
        users: { bob: "bob.smith" },
        mattermostUserTrait: "mattermost_user_id",
        allowEmailUsernameMatch: true,
      },
      rules: {
        approveReason: "optional",
        denyReason: "required",
        linkOnlyRoles: ["prod-admin", "root"],
        approvers: {
          "*": { mattermostUsers: [], mattermostTeams: ["security"], teleportUsers: [] },
          dba: { mattermostUsers: ["bob", "carol"], mattermostTeams: [], teleportUsers: ["dave"] },
        },
      },
    });
  });

  it('takes link_only_roles = "*" (or "*" in the list) as every role', async () => {
    const every = (await load(`${BASE}\n[review]\nlink_only_roles = "*"\n`)).config.review.rules;
    assert.equal(every.linkOnlyRoles, "*");
    const listed = (await load(`${BASE}\n[review]\nlink_only_roles = ["dba", "*"]\n`)).config.review.rules;
    assert.equal(listed.linkOnlyRoles, "*");
  });

  it("refuses an unknown mode or reason rule, naming the line and the values allowed", async () => {
    const mode = REVIEW.replace('mode = "state"', 'mode = "vote"');
    assertError(await loadError(mode), {
      line: lineOf(mode, "mode ="),
      message: 'review.mode "vote" is not one of "auto", "review", "state"',
      fix: 'mode = "auto"',
    });
    const reason = REVIEW.replace('deny_reason = "Required"', 'deny_reason = "yes"');
    assertError(await loadError(reason), {
      line: lineOf(reason, "deny_reason"),
      message: 'review.deny_reason "yes" is not one of "optional", "required"',
      fix: 'deny_reason = "optional"',
    });
  });

  it('refuses a link_only_roles string other than "*", an empty role, an empty map entry, an empty approver', async () => {
    const text = `${BASE}\n[review]\nlink_only_roles = "dba"\n`;
    assertError(await loadError(text), {
      line: lineOf(text, "link_only_roles"),
      message: 'review.link_only_roles "dba" is neither "*" nor a list',
      fix: "a list of role names",
    });
    assertError(await loadError(`${BASE}\n[review]\nlink_only_roles = ["dba", " "]\n`), {
      line: lineOf(`${BASE}\n[review]\nlink_only_roles = ["dba", " "]\n`, "link_only_roles"),
      message: "review.link_only_roles[1] is empty",
      fix: "list of role names",
    });
    const map = `${BASE}\n[review.users]\n"bob" = ""\n`;
    assertError(await loadError(map), {
      line: lineOf(map, '"bob"'),
      message: 'maps "bob" to ""',
      fix: '"mattermost-username" = "teleport-user"',
    });
    const approver = `${BASE}\n[review.approvers.dba]\nmattermost_users = ["bob", ""]\n`;
    assertError(await loadError(approver), {
      line: lineOf(approver, "mattermost_users"),
      message: "review.approvers.dba.mattermost_users[1] is empty",
      fix: "Remove it",
    });
  });

  it("refuses wrong types and unknown keys with the key's line", async () => {
    const typed = `${BASE}\n[review]\nallow_email_username_match = "yes"\n`;
    assertError(await loadError(typed), {
      line: lineOf(typed, "allow_email_username_match"),
      message: "must be true or false",
      fix: "allow_email_username_match = true",
    });
    const typo = `${BASE}\n[review.approvers.dba]\nmattermost_user = ["bob"]\n`;
    assertError(await loadError(typo), {
      line: lineOf(typo, "mattermost_user ="),
      message: "unknown key",
      fix: "mattermost_users",
    });
    const trait = `${BASE}\n[review]\nmattermost_user_trait = "two words"\n`;
    assertError(await loadError(trait), {
      line: lineOf(trait, "mattermost_user_trait"),
      message: "is not a trait name",
      fix: "mattermost_user_id",
    });
  });

  it("warns about an approver entry that names nobody", async () => {
    const text = `${BASE}\n[review.approvers.dba]\nmattermost_users = []\n`;
    const { warnings } = await load(text);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] as string, /line \d+: \[review\.approvers\.dba\] names nobody/);
  });
});
