/**
 * Mattermost's conventions as the stand-in reproduces them (MATTERMOST-API.md §1 and §2;
 * src/standins/mattermost/errors.ts, router.ts, system.ts, users.ts, channels.ts): error bodies,
 * ids and headers, authentication, lookups of users, teams and channels, direct channels; and the
 * OpenAPI validator the last test of every file relies on.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { assertRequestsValid, createOpenApiValidator } from "../../support/openapi.js";
import {
  assertAppError,
  ID_RE,
  type Json,
  setup,
  TEST_TIMEOUT_MS,
  testRequestsMatchSpec,
} from "./fixture.js";

test("errors carry Mattermost's body, ids and headers", { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const f = await setup(t);
  const noAuth = await f.api("GET", "/api/v4/users/me");
  assertAppError(noAuth, 401, "api.context.session_expired.app_error");
  assert.equal(noAuth.json.detailed_error, "", "empty unless EnableDeveloper");
  assert.match(noAuth.headers.get("x-version-id") ?? "", /^9\.11\.0\.9\.11\.0\.[0-9a-f]{32}\.false$/);
  assert.match(noAuth.headers.get("content-type") ?? "", /^application\/json/);

  const token = f.botToken;
  assertAppError(
    await f.api("GET", "/api/v4/posts/abc", { token }),
    400,
    "api.context.invalid_url_param.app_error",
  );
  const unknownId = "a".repeat(26);
  assertAppError(await f.api("GET", `/api/v4/posts/${unknownId}`, { token }), 404, "app.post.get.app_error");
  assertAppError(
    await f.api("GET", `/api/v4/channels/${unknownId}`, { token }),
    404,
    "app.channel.get.existing.app_error",
  );
  assertAppError(
    await f.api("GET", "/api/v4/teams/name/nope", { token }),
    404,
    "app.team.get_by_name.missing.app_error",
  );
  assertAppError(
    await f.api("GET", "/api/v4/teams/name/acme/channels/name/nope", { token }),
    404,
    "app.channel.get_by_name.missing.app_error",
  );
  assertAppError(
    await f.api("GET", "/api/v4/users/username/nobody", { token }),
    404,
    "app.user.get_by_username.app_error",
  );
  assertAppError(
    await f.api("GET", "/api/v4/users/email/nobody@example.com", { token }),
    404,
    "app.user.missing_account.const",
  );
  assertAppError(
    await f.api("GET", "/api/v4/teams/name/ACME", { token }),
    400,
    "api.context.invalid_url_param.app_error",
  );
  assertAppError(
    await f.api("GET", "/api/v4/no/such/route", { token, offSpec: true }),
    404,
    "api.context.404.app_error",
  );
  for (const id of [f.bot.id, f.alice.id, f.team.id, f.channel.id]) assert.match(id, ID_RE);
});

test("authentication: Bearer in any case, Token, bad tokens, ping without auth, ETag", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const f = await setup(t);
  for (const scheme of ["Bearer", "BEARER", "bearer", "Token", "token"]) {
    const res = await f.api("GET", "/api/v4/users/me", {
      headers: { Authorization: `${scheme} ${f.botToken}` },
    });
    assert.equal(res.status, 200, scheme);
    assert.equal(res.json.id, f.bot.id);
    assert.equal(res.json.is_bot, true);
    assert.equal(res.json.roles, "system_user");
  }
  for (const header of [`Basic ${f.botToken}`, "Bearer wrongtoken", `Bearer${f.botToken}x`]) {
    assertAppError(
      await f.api("GET", "/api/v4/users/me", { headers: { Authorization: header } }),
      401,
      "api.context.session_expired.app_error",
    );
  }
  f.mm.revokeSession(f.aliceToken);
  assertAppError(
    await f.api("GET", "/api/v4/users/me", { token: f.aliceToken }),
    401,
    "api.context.session_expired.app_error",
  );
  assertAppError(
    await f.api("GET", `/api/v4/users/me?access_token=${f.botToken}`, { offSpec: true }),
    401,
    "api.context.token_provided.app_error",
  );

  const ping = await f.api("GET", "/api/v4/system/ping", { headers: { Authorization: "Bearer nonsense" } });
  assert.equal(ping.status, 200);
  assert.equal(ping.json.status, "OK");
  f.mm.healthy = false;
  const sick = await f.api("GET", "/api/v4/system/ping?get_server_status=true");
  assert.equal(sick.status, 500);
  assert.equal(sick.json.database_status, "UNHEALTHY");
  const rest = await f.api("GET", "/api/v4/system/ping?get_server_status=true&use_rest_semantics=true");
  assert.equal(rest.status, 200);

  const me = await f.api("GET", "/api/v4/users/me", { token: f.botToken });
  const etag = me.headers.get("etag");
  assert.ok(etag);
  const cached = await f.api("GET", "/api/v4/users/me", {
    token: f.botToken,
    headers: { "If-None-Match": etag },
  });
  assert.equal(cached.status, 304);
  assert.equal(cached.text, "");

  const config = await f.api("GET", "/api/v4/config/client?format=old", { token: f.botToken });
  assert.equal(config.json.Version, "9.11.0");
  assert.equal(config.json.MaxPostSize, "16383");
});

test("lookups by name, id, username, email, ids; idempotent direct channels", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const f = await setup(t);
  const token = f.botToken;
  const team = await f.api("GET", "/api/v4/teams/name/acme", { token });
  assert.equal(team.json.id, f.team.id);
  assert.equal(team.json.policy_id, null);
  const byName = await f.api("GET", "/api/v4/teams/name/acme/channels/name/access-requests", { token });
  assert.equal(byName.json.id, f.channel.id);
  assert.equal(byName.json.type, "O");
  const byTeamId = await f.api("GET", `/api/v4/teams/${f.team.id}/channels/name/access-requests`, { token });
  assert.equal(byTeamId.json.id, f.channel.id);
  assert.equal(
    (await f.api("GET", `/api/v4/channels/${f.channel.id}`, { token })).json.name,
    "access-requests",
  );
  assert.equal((await f.api("GET", "/api/v4/users/username/alice", { token })).json.id, f.alice.id);
  const byEmail = await f.api("GET", "/api/v4/users/email/alice@example.com", { token });
  assert.equal(byEmail.json.id, f.alice.id);
  assert.equal(byEmail.json.notify_props, undefined, "other users' profiles are sanitized");
  const ids = await f.api("POST", "/api/v4/users/ids", { token, body: [f.alice.id, "b".repeat(26)] });
  assert.deepEqual(
    ids.json.map((u: Json) => u.username),
    ["alice"],
  );

  // A user outside the team cannot see it (team is not open-invite) nor its private channels.
  const bob = f.mm.createUser({ username: "bob", email: "bob@example.com" });
  const bobToken = f.mm.createSession(bob.id);
  assertAppError(
    await f.api("GET", "/api/v4/teams/name/acme", { token: bobToken }),
    403,
    "api.context.permissions.app_error",
  );
  const secret = f.mm.createChannel(f.team.id, "secret", { type: "P" });
  f.mm.addTeamMember(f.team.id, bob.id);
  assertAppError(
    await f.api("GET", "/api/v4/teams/name/acme/channels/name/secret", { token: bobToken }),
    404,
    "app.channel.get_by_name.missing.app_error",
  );
  assertAppError(
    await f.api("GET", `/api/v4/channels/${secret.id}`, { token: bobToken }),
    403,
    "api.context.permissions.app_error",
  );

  const dm = await f.api("POST", "/api/v4/channels/direct", { token, body: [f.bot.id, f.alice.id] });
  assert.equal(dm.status, 201);
  assert.equal(dm.json.type, "D");
  assert.equal(dm.json.team_id, "");
  assert.equal(dm.json.name, [f.bot.id, f.alice.id].sort().join("__"));
  const again = await f.api("POST", "/api/v4/channels/direct", { token, body: [f.alice.id, f.bot.id] });
  assert.equal(again.status, 201);
  assert.equal(again.json.id, dm.json.id);
  assertAppError(
    await f.api("POST", "/api/v4/channels/direct", { token, body: [f.bot.id, "c".repeat(26)] }),
    400,
    "api.channel.create_direct_channel.invalid_user.app_error",
  );
  assertAppError(
    await f.api("POST", "/api/v4/channels/direct", { token, body: [f.alice.id, bob.id] }),
    403,
    "api.context.permissions.app_error",
  );
  assertAppError(
    await f.api("POST", "/api/v4/channels/direct", { token, body: [f.alice.id], offSpec: true }),
    400,
    "api.context.invalid_body_param.app_error",
  );
});

test("the OpenAPI validator applies the errata and catches what the spec does not allow", {
  timeout: TEST_TIMEOUT_MS,
}, () => {
  const v = createOpenApiValidator();
  assert.equal(v.errata.length, 7);
  const id = "a".repeat(26);
  assert.deepEqual(v.validateRequest({ method: "GET", path: "/api/v4/users/me" }), []);
  assert.deepEqual(
    v.validateRequest({ method: "PUT", path: `/api/v4/posts/${id}`, body: { id, props: {} } }),
    [],
  );
  assert.deepEqual(
    v.validateRequest({
      method: "POST",
      path: `/api/v4/posts/${id}/actions/approve`,
      body: { selected_option: "a" },
    }),
    [],
  );
  assert.deepEqual(v.validateRequest({ method: "POST", path: "/api/v4/users/ids", body: [id] }), []);
  const problems = [
    v.validateRequest({ method: "PUT", path: `/api/v4/posts/${id}/patch`, body: { props: "string" } }),
    v.validateRequest({ method: "POST", path: "/api/v4/posts", body: { message: "no channel" } }),
    v.validateRequest({ method: "POST", path: "/api/v4/posts" }),
    v.validateRequest({ method: "GET", path: "/api/v4/no/such/path" }),
    v.validateRequest({ method: "PATCH", path: `/api/v4/posts/${id}` }),
    v.validateRequest({ method: "GET", path: "/api/v4/system/ping", query: { bogus: "1" } }),
    v.validateRequest({ method: "GET", path: "/api/v4/system/ping", query: { get_server_status: "maybe" } }),
    v.validateRequest({ method: "POST", path: "/api/v4/channels/direct", body: [id] }),
    v.validateRequest({ method: "GET", path: "/api/v4/users/me", body: { unexpected: true } }),
  ];
  for (const list of problems) assert.equal(list.length > 0, true, JSON.stringify(problems));
  assert.deepEqual(
    v.validateResponse({
      method: "GET",
      path: "/api/v4/teams/name/acme",
      status: 200,
      body: { policy_id: null },
    }),
    [],
  );
  assert.notDeepEqual(
    v.validateResponse({ method: "GET", path: `/api/v4/posts/${id}`, status: 200, body: { id: 1 } }),
    [],
  );
  assert.throws(
    () => createOpenApiValidator("/nonexistent/mattermost-openapi-v4.json"),
    /OpenAPI spec not found/,
  );
  assert.throws(
    () => assertRequestsValid([{ method: "GET", path: "/api/v4/nope" }], { validator: v }),
    /do not match the Mattermost OpenAPI spec/,
  );
});

testRequestsMatchSpec(30);
