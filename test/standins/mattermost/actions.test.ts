/**
 * The button click (MATTERMOST-API.md §4; src/standins/mattermost/actions.ts, outgoing.ts): the
 * exact callback body and headers the integration receives, how its reply updates the post, and
 * every way a click fails.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import type { StandinEvent } from "../../../src/standins/mattermost/index.js";
import {
  actionsOf,
  assertAppError,
  buttons,
  ID_RE,
  type IntegrationReply,
  postButtons,
  setup,
  startIntegration,
  TEST_TIMEOUT_MS,
  testRequestsMatchSpec,
  toReply,
} from "./fixture.js";

test("a click reaches the integration with Mattermost's exact body and headers; the reply updates the post", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const f = await setup(t);
  const integration = await startIntegration(t, () => ({
    body: {
      update: {
        message: "Access request **req-123** APPROVED",
        props: { attachments: [{ text: "approved" }] },
      },
      ephemeral_text: "You approved <https://teleport.example/r/req-123|req-123>",
    },
  }));
  const post = await postButtons(f, integration.url, { override_username: "Teleport" });

  const click = await f.api("POST", `/api/v4/posts/${post.id}/actions/approve`, {
    token: f.aliceToken,
    body: {},
  });
  assert.equal(click.status, 200, click.text);
  assert.deepEqual(Object.keys(click.json), ["status", "trigger_id"]);
  assert.equal(click.json.status, "OK");
  assert.match(click.json.trigger_id, ID_RE);

  assert.equal(integration.received.length, 1);
  const [callback] = integration.received;
  assert.ok(callback);
  assert.equal(callback.path, "/mattermost/action");
  const headerNames = callback.rawHeaders.filter((_, i) => i % 2 === 0);
  assert.deepEqual(headerNames, [
    "Host",
    "User-Agent",
    "Content-Length",
    "Accept",
    "Content-Type",
    "Accept-Encoding",
  ]);
  assert.equal(callback.headers["user-agent"], "Mattermost-Bot/1.1");
  assert.equal(callback.headers["content-type"], "application/json");
  assert.equal(callback.headers.accept, "application/json");
  assert.equal(callback.headers["accept-encoding"], "gzip");
  assert.equal(callback.headers.authorization, undefined);
  assert.deepEqual(Object.keys(callback.body), [
    "user_id",
    "user_name",
    "channel_id",
    "channel_name",
    "team_id",
    "team_domain",
    "post_id",
    "trigger_id",
    "type",
    "data_source",
    "context",
  ]);
  assert.deepEqual(
    { ...callback.body, trigger_id: "…" },
    {
      user_id: f.alice.id,
      user_name: "alice",
      channel_id: f.channel.id,
      channel_name: "access-requests",
      team_id: f.team.id,
      team_domain: "acme",
      post_id: post.id,
      trigger_id: "…",
      type: "button",
      data_source: "",
      context: { action: "approve", req_id: "req-123", sig: "hmac" },
    },
  );
  const trigger = Buffer.from(callback.body.trigger_id, "base64").toString("utf8").split(":");
  assert.equal(trigger.length, 4);
  assert.deepEqual(trigger.slice(0, 3), [click.json.trigger_id, f.alice.id, String(f.clock.now())]);

  const updated = f.mm.post(post.id);
  assert.ok(updated);
  assert.equal(updated.message, "Access request **req-123** APPROVED");
  assert.deepEqual(actionsOf(updated), [], "buttons gone");
  assert.equal(updated.props["override_username"], "Teleport", "retained across the update");
  assert.equal(updated.props["from_bot"], undefined, "from_bot is not retained");
  const ephemeral = f.mm.ephemeralPosts(f.alice.id);
  assert.equal(ephemeral.length, 1);
  assert.equal(ephemeral[0]?.message, "You approved [req-123](https://teleport.example/r/req-123)");
  assert.equal(ephemeral[0]?.root_id, post.id);
  assert.equal(ephemeral[0]?.type, "system_ephemeral");
  assert.deepEqual(f.mm.ephemeralPosts(f.bot.id), []);
  const event = await f.mm.waitFor((e) => e.type === "post_updated" && e.post.id === post.id, 1000);
  assert.equal((event as Extract<StandinEvent, { type: "post_updated" }>).previous.message, post.message);
});

test("click replies: props null keeps the buttons, {} clears them, gzip and empty bodies", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const f = await setup(t);
  let next: IntegrationReply = { body: {} };
  const integration = await startIntegration(t, () => next);
  const post = await postButtons(f, integration.url);
  const click = () => f.mm.clickAction(f.aliceToken, post.id, "deny").then(toReply);

  next = { body: { update: { message: "still pending", props: null } } };
  assert.equal((await click()).status, 200);
  assert.equal(f.mm.post(post.id)?.message, "still pending");
  assert.equal(actionsOf(f.mm.post(post.id)).length, 2, "props null ⇒ original props kept");

  next = {
    raw: gzipSync(JSON.stringify({ ephemeral_text: "zipped" })),
    headers: { "Content-Encoding": "gzip" },
  };
  assert.equal((await click()).status, 200);
  assert.equal(f.mm.ephemeralPosts(f.alice.id).at(-1)?.message, "zipped");

  next = { raw: "" };
  assert.equal((await click()).status, 200, "current servers accept an empty 200 body");

  next = { body: { update: { message: "denied", props: {} } } };
  assert.equal((await click()).status, 200);
  assert.deepEqual(f.mm.post(post.id)?.props, {}, "props {} ⇒ cleared");
  assertAppError(await click(), 404, "api.post.do_action.action_id.app_error");
});

test("click failures: action ids, permissions, upstream status, body, timeout", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const f = await setup(t, { outgoingTimeoutMs: 300, enableDeveloper: true });
  let next: IntegrationReply = { body: {} };
  const integration = await startIntegration(t, () => next);
  const props = buttons(integration.url);
  const first = props.attachments[0];
  assert.ok(first?.actions[0]);
  first.actions[0].id = "bad-id";
  const created = await f.api("POST", "/api/v4/posts", {
    token: f.botToken,
    body: { channel_id: f.channel.id, message: "x", props },
  });
  const id = created.json.id;
  const click = (actionId: string, token = f.aliceToken) =>
    f.api("POST", `/api/v4/posts/${id}/actions/${actionId}`, { token, body: {} });

  const notFound = await click("bad-id");
  assert.equal(notFound.status, 404);
  assert.equal(notFound.json.id, "api.context.404.app_error", "accepted at creation, unclickable");
  assert.equal((await click("nosuchaction")).json.id, "api.post.do_action.action_id.app_error");
  const bob = f.mm.createUser({ username: "bob", email: "bob@example.com" });
  f.mm.addTeamMember(f.team.id, bob.id);
  assertAppError(await click("deny", f.mm.createSession(bob.id)), 403, "api.context.permissions.app_error");
  assertAppError(
    await f.api("POST", `/api/v4/posts/${"h".repeat(26)}/actions/deny`, { token: f.aliceToken, body: {} }),
    403,
    "api.context.permissions.app_error",
  );

  const failures: [IntegrationReply, RegExp][] = [
    [{ status: 201, body: {} }, /status=201/],
    [{ status: 500, body: {} }, /status=500/],
    [{ raw: "not json" }, /err=/],
    [{ body: [1, 2] }, /cannot unmarshal/],
    [{ body: {}, delayMs: 2000 }, /deadline exceeded/],
  ];
  for (const [reply, detail] of failures) {
    next = reply;
    const started = performance.now();
    const res = await click("deny");
    assert.equal(res.status, 400, JSON.stringify(reply));
    assert.equal(res.json.id, "api.post.do_action.action_integration.app_error");
    assert.match(res.json.detailed_error, detail);
    assert.ok(performance.now() - started < 1500, "the outgoing timeout bounds the click");
  }
  assert.equal(f.mm.post(id)?.message, "x", "a failed click changes nothing");
  assert.equal(
    f.mm.outgoingRequests.length,
    failures.length,
    "one callback per click, none for refused clicks",
  );

  const old = await setup(t, { version: "5.36.1" });
  const oldIntegration = await startIntegration(t, () => ({ raw: "" }));
  const oldPost = await postButtons(old, oldIntegration.url);
  assertAppError(
    await old.mm.clickAction(old.aliceToken, oldPost.id, "approve").then(toReply),
    400,
    "api.post.do_action.action_integration.app_error",
  );
});

testRequestsMatchSpec(15);
