/**
 * Interactive dialogs (MATTERMOST-API.md §5; src/standins/mattermost/dialogs.ts, trigger-ids.ts):
 * opened from the click handler with the trigger id, the submit round trip, trigger id tampering
 * and expiry per version.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { MattermostStandin } from "../../../src/standins/mattermost/index.js";
import {
  assertAppError,
  call,
  type IntegrationReply,
  postButtons,
  setup,
  startIntegration,
  TEST_TIMEOUT_MS,
  testRequestsMatchSpec,
} from "./fixture.js";

test("dialogs: open from the click handler with the trigger id, submit round trip, expiry", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const f = await setup(t);
  let triggerId = "";
  let openStatus = 0;
  let submitReply: IntegrationReply = { body: { errors: { reason: "too short" } } };
  const integration = await startIntegration(t, async (received) => {
    if (received.body.type === "dialog_submission") return submitReply;
    triggerId = received.body.trigger_id;
    const open = await call(f.mm.url, "POST", "/api/v4/actions/dialogs/open", {
      body: {
        trigger_id: triggerId,
        url: `${integrationOrigin()}/mattermost/dialog`,
        dialog: {
          callback_id: "deny:req-123",
          title: "Deny request",
          elements: [
            { display_name: "Reason", name: "reason", type: "textarea", optional: false, max_length: 500 },
          ],
          submit_label: "Deny",
          notify_on_cancel: true,
          state: "signed-state",
        },
      },
    });
    openStatus = open.status;
    return { body: {} };
  });
  const integrationOrigin = () => integration.origin;
  const post = await postButtons(f, integration.url);
  const click = await f.api("POST", `/api/v4/posts/${post.id}/actions/deny`, {
    token: f.aliceToken,
    body: {},
  });
  assert.equal(click.status, 200);
  assert.equal(openStatus, 200, "the dialog opens from inside the click handler, without auth");
  const [dialog] = f.mm.openDialogs(f.alice.id);
  assert.ok(dialog);
  assert.equal(dialog.triggerId, click.json.trigger_id);
  assert.equal(dialog.dialog["callback_id"], "deny:req-123");
  assert.deepEqual(dialog.warnings, []);
  assert.deepEqual(dialog.origin, { postId: post.id, channelId: f.channel.id, teamId: f.team.id });
  assert.deepEqual(f.mm.openDialogs(f.bot.id), []);

  const submission = {
    url: dialog.url,
    callback_id: "deny:req-123",
    state: "signed-state",
    submission: { reason: "x" },
    cancelled: false,
    channel_id: f.channel.id,
    team_id: f.team.id,
  };
  const rejected = await f.api("POST", "/api/v4/actions/dialogs/submit", {
    token: f.aliceToken,
    body: submission,
  });
  assert.equal(rejected.status, 200);
  assert.deepEqual(rejected.json, { errors: { reason: "too short" } });
  assert.equal(f.mm.openDialogs(f.alice.id).length, 1, "field errors keep the dialog open");
  const sent = integration.received.at(-1);
  assert.ok(sent);
  assert.equal(sent.path, "/mattermost/dialog");
  assert.deepEqual(Object.keys(sent.body), [
    "type",
    "callback_id",
    "state",
    "user_id",
    "channel_id",
    "team_id",
    "submission",
    "cancelled",
  ]);
  assert.deepEqual(sent.body, {
    type: "dialog_submission",
    callback_id: "deny:req-123",
    state: "signed-state",
    user_id: f.alice.id,
    channel_id: f.channel.id,
    team_id: f.team.id,
    submission: { reason: "x" },
    cancelled: false,
  });
  assert.equal(sent.headers["user-agent"], "Mattermost-Bot/1.1");

  submitReply = { body: {} };
  const accepted = await f.mm.submitDialog(f.aliceToken, {
    ...submission,
    submission: { reason: "long enough" },
  });
  assert.equal(accepted.status, 200);
  assert.deepEqual(accepted.body, {});
  assert.deepEqual(f.mm.openDialogs(f.alice.id), []);

  // On cancel the webapp sends no `submission` (the spec marks it required): the integration gets null.
  submitReply = { body: { error: "request already resolved" } };
  const { submission: _omitted, ...cancel } = submission;
  const cancelled = await f.api("POST", "/api/v4/actions/dialogs/submit", {
    token: f.aliceToken,
    body: { ...cancel, cancelled: true },
    offSpec: true,
  });
  assert.deepEqual(cancelled.json, { error: "request already resolved" });
  assert.equal(integration.received.at(-1)?.body.submission, null);

  assertAppError(
    await f.api("POST", "/api/v4/actions/dialogs/submit", {
      token: f.mm.createSession(f.mm.createUser({ username: "carol", email: "carol@example.com" }).id),
      body: submission,
    }),
    403,
    "api.context.permissions.app_error",
  );

  // Trigger ids: tampering and expiry (30 s on 9.11, 3 s on 5.x).
  const openWith = (mm: MattermostStandin, trigger: string) =>
    call(mm.url, "POST", "/api/v4/actions/dialogs/open", {
      body: { trigger_id: trigger, url: dialog.url, dialog: { title: "T", elements: [] } },
    });
  const raw = Buffer.from(triggerId, "base64").toString("utf8").split(":");
  const forged = Buffer.from([raw[0], f.bot.id, raw[2], raw[3]].join(":")).toString("base64");
  assertAppError(
    await openWith(f.mm, forged),
    400,
    "interactive_message.decode_trigger_id.verify_signature_failed",
  );
  assertAppError(
    await openWith(f.mm, "%%%"),
    400,
    "interactive_message.decode_trigger_id.base64_decode_failed",
  );
  f.clock.advance(29_000);
  assert.equal((await openWith(f.mm, triggerId)).status, 200);
  f.clock.advance(2_000);
  assertAppError(await openWith(f.mm, triggerId), 400, "interactive_message.decode_trigger_id.expired");

  const old = await setup(t, { version: "5.36.1" });
  const oldIntegration = await startIntegration(t);
  const oldPost = await postButtons(old, oldIntegration.url);
  await old.mm.clickAction(old.aliceToken, oldPost.id, "deny");
  const oldTrigger = oldIntegration.received[0]?.body.trigger_id;
  old.clock.advance(3_001);
  assertAppError(await openWith(old.mm, oldTrigger), 400, "interactive_message.decode_trigger_id.expired");
});

testRequestsMatchSpec(10);
