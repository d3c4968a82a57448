/**
 * The post routes (MATTERMOST-API.md §2, §6, §10; src/standins/mattermost/posts.ts,
 * post-writes.ts, attachments.ts, views.ts): membership rules, integration stripping, PUT versus
 * patch, pending_post_id de-duplication, size limits and root rules per version.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { MattermostStandin } from "../../../src/standins/mattermost/index.js";
import {
  actionsOf,
  allLogs,
  assertAppError,
  buttons,
  call,
  ID_RE,
  type Json,
  postButtons,
  setup,
  startIntegration,
  TEST_TIMEOUT_MS,
  testRequestsMatchSpec,
  toReply,
} from "./fixture.js";

test("posting needs team and channel membership; bots get from_bot", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const f = await setup(t);
  const onlyTeam = f.mm.createBot("only-team");
  f.mm.addTeamMember(f.team.id, onlyTeam.user.id);
  const onlyChannel = f.mm.createBot("only-channel");
  f.mm.addChannelMember(f.channel.id, onlyChannel.user.id);
  for (const token of [onlyTeam.token, onlyChannel.token]) {
    assertAppError(
      await f.api("POST", "/api/v4/posts", { token, body: { channel_id: f.channel.id, message: "hi" } }),
      403,
      "api.context.permissions.app_error",
    );
  }
  assertAppError(
    await f.api("POST", "/api/v4/posts", {
      token: f.botToken,
      body: { channel_id: "d".repeat(26), message: "x" },
    }),
    403,
    "api.context.permissions.app_error",
  );
  assertAppError(
    await f.api("POST", "/api/v4/posts", {
      token: f.botToken,
      body: { channel_id: f.channel.id, message: 5 },
      offSpec: true,
    }),
    400,
    "api.context.invalid_body_param.app_error",
  );

  const created = await f.api("POST", "/api/v4/posts", {
    token: f.botToken,
    body: { channel_id: f.channel.id, message: "hello #teleport", props: { from_bot: "false", card: "x" } },
  });
  assert.equal(created.status, 201);
  assert.match(created.json.id, ID_RE);
  assert.equal(created.json.user_id, f.bot.id);
  assert.deepEqual(created.json.props, { from_bot: "true", card: "x" });
  assert.equal(created.json.hashtags, "#teleport");
  assert.equal(created.json.parent_id, undefined, "parent_id is gone since v6");

  const human = await f.api("POST", "/api/v4/posts", {
    token: f.aliceToken,
    body: { channel_id: f.channel.id, message: "hi" },
  });
  assert.deepEqual(human.json.props, {});

  const dm = f.mm.directChannel(f.bot.id, f.alice.id);
  const inDm = await f.api("POST", "/api/v4/posts", {
    token: f.botToken,
    body: { channel_id: dm.id, message: "dm" },
  });
  assert.equal(inDm.status, 201);
  assert.equal(f.mm.channelPosts(f.channel.id).length, 2);
});

test("integration is stripped from every post the API returns, never from the store", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const f = await setup(t);
  const props = buttons("https://plugin.example/cb");
  const first = props.attachments[0];
  assert.ok(first);
  first.actions.push({ name: "No id", type: "button", style: "default" } as never);
  const created = await f.api("POST", "/api/v4/posts", {
    token: f.botToken,
    body: { channel_id: f.channel.id, message: "req", props },
  });
  const id = created.json.id;
  const reply = await f.api("POST", "/api/v4/posts", {
    token: f.botToken,
    body: { channel_id: f.channel.id, message: "reply", root_id: id },
  });
  const views = [
    created.json,
    (await f.api("GET", `/api/v4/posts/${id}`, { token: f.botToken })).json,
    (await f.api("GET", `/api/v4/posts/${id}/thread`, { token: f.botToken })).json.posts[id],
    (await f.api("GET", `/api/v4/channels/${f.channel.id}/posts`, { token: f.botToken })).json.posts[id],
    (await f.api("PUT", `/api/v4/posts/${id}/patch`, { token: f.botToken, body: { is_pinned: true } })).json,
  ];
  for (const view of views) {
    const actions = actionsOf(view);
    assert.equal(actions.length, 3);
    for (const action of actions) assert.equal(action.integration, undefined, JSON.stringify(action));
  }
  const stored = f.mm.post(id);
  assert.ok(stored);
  const storedActions = actionsOf(stored);
  assert.equal(storedActions[0].integration.context.sig, "hmac");
  assert.match(storedActions[2].id, ID_RE, "missing action ids are generated");
  // Normalised like model.SlackAttachment: empty strings filled in, fields kept.
  const attachment = stored.props["attachments"] as Json[];
  assert.equal(attachment[0].id, 0);
  assert.equal(attachment[0].pretext, "");

  const thread = await f.api("GET", `/api/v4/posts/${reply.json.id}/thread`, { token: f.botToken });
  assert.deepEqual(thread.json.order, [reply.json.id, id]);
  assert.equal(thread.json.next_post_id, "");
  assert.equal(thread.json.prev_post_id, "");
  const list = await f.api("GET", `/api/v4/channels/${f.channel.id}/posts?per_page=1`, { token: f.botToken });
  assert.deepEqual(list.json.order, [reply.json.id]);
});

test("PUT replaces the whole post, patch changes only what it is given", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const f = await setup(t);
  const integration = await startIntegration(t);
  const post = await postButtons(f, integration.url);
  const id = post.id;
  const token = f.botToken;

  const patched = await f.api("PUT", `/api/v4/posts/${id}/patch`, { token, body: { message: "patched" } });
  assert.equal(patched.status, 200);
  assert.equal(patched.json.message, "patched");
  assert.ok(patched.json.edit_at > 0);
  assert.equal(actionsOf(f.mm.post(id)).length, 2);
  assert.equal(
    actionsOf(f.mm.post(id))[0].integration.url,
    integration.url,
    "buttons keep working after a patch",
  );
  const click = await f.mm.clickAction(f.aliceToken, id, "approve");
  assert.equal(click.status, 200, click.text);

  // Re-sending what GET returned kills the buttons: their integration was stripped.
  const got = (await f.api("GET", `/api/v4/posts/${id}`, { token })).json;
  const resent = await f.api("PUT", `/api/v4/posts/${id}`, {
    token,
    body: { id, message: got.message, props: got.props },
  });
  assert.equal(resent.status, 200);
  assertAppError(
    await f.mm.clickAction(f.aliceToken, id, "approve").then(toReply),
    404,
    "api.post.do_action.action_id.app_error",
  );

  const replaced = await f.api("PUT", `/api/v4/posts/${id}`, {
    token,
    body: { id, message: "only message" },
  });
  assert.equal(replaced.status, 200);
  assert.deepEqual(replaced.json.props, {}, "no props ⇒ {} (buttons and from_bot gone)");
  assert.equal(replaced.json.message, "only message");

  assertAppError(
    await f.api("PUT", `/api/v4/posts/${id}`, { token, body: { id: "e".repeat(26), message: "x" } }),
    400,
    "api.context.invalid_body_param.app_error",
  );
  assertAppError(
    await f.api("PUT", `/api/v4/posts/${id}/patch`, { token: f.aliceToken, body: { message: "mine now" } }),
    403,
    "api.context.permissions.app_error",
  );
  assertAppError(
    await f.api("PUT", `/api/v4/posts/${"f".repeat(26)}/patch`, { token, body: { message: "x" } }),
    403,
    "api.context.permissions.app_error",
  );
  const updates = f.mm.waitFor((e) => e.type === "post_updated" && e.post.message === "only message", 100);
  assert.equal((await updates).type, "post_updated");
});

test("pending_post_id makes a retried create idempotent for 30 s", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const f = await setup(t);
  const body = { channel_id: f.channel.id, message: "req", pending_post_id: `${f.bot.id}:req-1` };
  const first = await f.api("POST", "/api/v4/posts", { token: f.botToken, body });
  const second = await f.api("POST", "/api/v4/posts", { token: f.botToken, body });
  assert.equal(first.status, 201);
  assert.equal(second.status, 201);
  assert.equal(second.json.id, first.json.id);
  assert.equal(f.mm.channelPosts(f.channel.id).length, 1);
  f.clock.advance(29_000);
  assert.equal((await f.api("POST", "/api/v4/posts", { token: f.botToken, body })).json.id, first.json.id);
  f.clock.advance(2_000);
  const later = await f.api("POST", "/api/v4/posts", { token: f.botToken, body });
  assert.notEqual(later.json.id, first.json.id);
  assert.equal(f.mm.channelPosts(f.channel.id).length, 2);
});

test("limits: message runes, props size per version, root_id and type rules", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const f = await setup(t);
  const post = (body: Record<string, unknown>) =>
    f.api("POST", "/api/v4/posts", { token: f.botToken, body: { channel_id: f.channel.id, ...body } });
  assert.equal((await post({ message: "é".repeat(16383) })).status, 201, "runes, not bytes");
  assertAppError(await post({ message: "x".repeat(16384) }), 400, "model.post.is_valid.msg.app_error");
  assert.equal((await post({ message: "big", props: { card: "x".repeat(9000) } })).status, 201);
  assertAppError(
    await post({ message: "huge", props: { card: "x".repeat(800_001) } }),
    400,
    "model.post.is_valid.props.app_error",
  );
  assertAppError(
    await post({ message: "html-escaped", props: { card: "<".repeat(140_000) } }),
    400,
    "model.post.is_valid.props.app_error",
  );
  assertAppError(await post({ message: "t", type: "bogus" }), 400, "model.post.is_valid.type.app_error");
  assert.equal((await post({ message: "t", type: "custom_access_request" })).status, 201);

  const root = (await post({ message: "root" })).json;
  const reply = await post({ message: "reply", root_id: root.id });
  assert.equal(reply.status, 201);
  assertAppError(
    await post({ message: "r2", root_id: reply.json.id }),
    400,
    "api.post.create_post.root_id.app_error",
  );
  assertAppError(
    await post({ message: "r3", root_id: "g".repeat(26) }),
    400,
    "api.post.create_post.root_id.app_error",
  );
  const other = f.mm.createChannel(f.team.id, "other");
  f.mm.addChannelMember(other.id, f.bot.id);
  const elsewhere = await f.api("POST", "/api/v4/posts", {
    token: f.botToken,
    body: { channel_id: other.id, message: "x", root_id: root.id },
  });
  assertAppError(elsewhere, 400, "api.post.create_post.channel_root_id.app_error");

  const old = await setup(t, { version: "5.36.1" });
  const oldPost = (body: Record<string, unknown>) =>
    old.api("POST", "/api/v4/posts", { token: old.botToken, body: { channel_id: old.channel.id, ...body } });
  assertAppError(
    await oldPost({ message: "big", props: { card: "x".repeat(9000) } }),
    400,
    "model.post.is_valid.props.app_error",
  );
  const oldRoot = await oldPost({ message: "root" });
  assert.equal(oldRoot.json.parent_id, "");
  await oldPost({ message: "reply", root_id: oldRoot.json.id });
  const oldThread = await old.api("GET", `/api/v4/posts/${oldRoot.json.id}/thread`, { token: old.botToken });
  assert.equal(oldThread.json.order.length, 3, "5.36 lists the requested post twice");
  assert.equal(new Set(oldThread.json.order).size, 2);
  const custom = await MattermostStandin.start({ maxPostSize: 10, propsMaxRunes: 50 });
  t.after(() => custom.stop());
  allLogs.push(custom.requests);
  const { token: customToken } = custom.createBot("bot");
  const customTeam = custom.createTeam("t1");
  const customChannel = custom.createChannel(customTeam.id, "c1");
  const customBot = (await call(custom.url, "GET", "/api/v4/users/me", { token: customToken })).json;
  custom.addTeamMember(customTeam.id, customBot.id);
  custom.addChannelMember(customChannel.id, customBot.id);
  assertAppError(
    await call(custom.url, "POST", "/api/v4/posts", {
      token: customToken,
      body: { channel_id: customChannel.id, message: "12345678901" },
    }),
    400,
    "model.post.is_valid.msg.app_error",
  );
});

testRequestsMatchSpec(40);
