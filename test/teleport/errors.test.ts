import assert from "node:assert/strict";
import { test } from "node:test";
import { status } from "@grpc/grpc-js";
import { teleportError } from "../../src/teleport/errors.js";

function denied(details: string) {
  return Object.assign(new Error(details), { code: status.PERMISSION_DENIED, details, metadata: undefined });
}

test("a refusal names the rule Teleport says is missing", () => {
  const error = teleportError("GetUser", denied('access denied to perform action "read" on "user"'));
  assert.equal(error.message, 'Teleport denied GetUser: access denied to perform action "read" on "user"');
  assert.equal(
    error.fix,
    "Give the plugin's Teleport role the rule `user: [read]`; `teleport-mattermost check` names every rule it lacks",
  );
  const other = teleportError(
    "SubmitAccessReview",
    denied('user "p" cannot submit reviews on behalf of "bob"'),
  );
  assert.match(
    other.fix ?? "",
    /`access_request: \[list, read, update\]`, `access_plugin_data: \[update\]` and `user: \[read\]`/,
  );
});
