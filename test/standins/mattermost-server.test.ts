/**
 * The Mattermost stand-in, driven over real HTTP with `fetch` the way the daemon and the webapp
 * drive a real server (MATTERMOST-API.md), plus a small local integration server that receives
 * the click and dialog callbacks. The last test checks every request these tests sent against
 * Mattermost's OpenAPI spec.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync, randomBytes, sign, X509Certificate } from "node:crypto";
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer, request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";
import { type TestContext, test } from "node:test";
import { gzipSync } from "node:zlib";
import {
  MattermostStandin,
  type MattermostStandinOptions,
  type RequestLogEntry,
  type StandinChannel,
  type StandinEvent,
  type StandinTeam,
  type StandinUser,
} from "../../src/standins/mattermost/index.js";
import { assertRequestsValid, createOpenApiValidator } from "../support/openapi.js";

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON response bodies
type Json = any;

const TEST_TIMEOUT_MS = 15_000;
const FETCH_TIMEOUT_MS = 10_000;
const ID_RE = /^[a-z0-9]{26}$/;
/** Header marking a request a test sends on purpose outside the spec (skipped by the last test). */
const OFF_SPEC_HEADER = "x-test-off-spec";

/** Request logs of every stand-in started by this file, checked against the spec at the end. */
const allLogs: (readonly RequestLogEntry[])[] = [];

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: Json;
}

interface CallOptions {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** The request is deliberately not what the spec documents. */
  offSpec?: boolean;
}

async function call(base: string, method: string, path: string, options: CallOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers["Authorization"] = `Bearer ${options.token}`;
  if (options.offSpec) headers[OFF_SPEC_HEADER] = "1";
  let body: string | undefined;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["Content-Type"] = "application/json";
  }
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body,
    signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
  });
  const text = await res.text();
  let json: Json;
  try {
    json = text === "" ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

function fakeClock(start = Date.UTC(2026, 0, 1, 12)) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

interface Fixture {
  mm: MattermostStandin;
  clock: ReturnType<typeof fakeClock>;
  team: StandinTeam;
  channel: StandinChannel;
  bot: StandinUser;
  botToken: string;
  alice: StandinUser;
  aliceToken: string;
  api: (method: string, path: string, options?: CallOptions) => Promise<Reply>;
}

/** A stand-in with team `acme`, channel `access-requests`, a bot and a human (alice), all members. */
async function setup(t: TestContext, options: MattermostStandinOptions = {}): Promise<Fixture> {
  const clock = fakeClock();
  const mm = await MattermostStandin.start({
    now: clock.now,
    allowedUntrustedInternalConnections: ["127.0.0.1"],
    ...options,
  });
  t.after(() => mm.stop());
  allLogs.push(mm.requests);
  const team = mm.createTeam("acme", { displayName: "ACME" });
  const channel = mm.createChannel(team.id, "access-requests");
  const { user: bot, token: botToken } = mm.createBot("teleport");
  const alice = mm.createUser({ username: "alice", email: "alice@example.com", firstName: "Alice" });
  const aliceToken = mm.createSession(alice.id);
  for (const user of [bot, alice]) {
    mm.addTeamMember(team.id, user.id);
    mm.addChannelMember(channel.id, user.id);
  }
  const api = (method: string, path: string, callOptions?: CallOptions) =>
    call(mm.url, method, path, callOptions);
  return { mm, clock, team, channel, bot, botToken, alice, aliceToken, api };
}

interface Received {
  path: string;
  rawHeaders: string[];
  headers: IncomingHttpHeaders;
  text: string;
  body: Json;
}

interface IntegrationReply {
  status?: number;
  body?: unknown;
  raw?: string | Buffer;
  headers?: Record<string, string>;
  delayMs?: number;
}

/** A local integration server (the daemon's callback endpoint) that records what it receives. */
async function startIntegration(
  t: TestContext,
  respond: (received: Received) => IntegrationReply | Promise<IntegrationReply> = () => ({ body: {} }),
  tls?: { cert: string; key: string },
): Promise<{ url: string; origin: string; received: Received[] }> {
  const received: Received[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", async () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const entry: Received = {
        path: req.url ?? "",
        rawHeaders: req.rawHeaders,
        headers: req.headers,
        text,
        body: text === "" ? undefined : JSON.parse(text),
      };
      received.push(entry);
      const reply = await respond(entry);
      const send = () => {
        if (res.destroyed) return;
        const payload = reply.raw ?? (reply.body === undefined ? "" : JSON.stringify(reply.body));
        res
          .writeHead(reply.status ?? 200, { "Content-Type": "application/json", ...reply.headers })
          .end(payload);
      };
      if (reply.delayMs) {
        const timer = setTimeout(send, reply.delayMs);
        timers.add(timer);
      } else {
        send();
      }
    });
  };
  const server: Server = tls ? createHttpsServer(tls, handler) : createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(async () => {
    for (const timer of timers) clearTimeout(timer);
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  const origin = `${tls ? "https" : "http"}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url: `${origin}/mattermost/action`, origin, received };
}

function buttons(url: string, extraProps: Record<string, unknown> = {}) {
  return {
    attachments: [
      {
        fallback: "access request",
        color: "#ffa500",
        text: "Roles: editor",
        fields: [{ title: "Status", value: "PENDING", short: true }],
        actions: [
          {
            id: "approve",
            name: "Approve",
            type: "button",
            style: "good",
            integration: { url, context: { action: "approve", req_id: "req-123", sig: "hmac" } },
          },
          {
            id: "deny",
            name: "Deny",
            type: "button",
            style: "danger",
            integration: { url, context: { action: "deny", req_id: "req-123" } },
          },
        ],
      },
    ],
    ...extraProps,
  };
}

async function postButtons(f: Fixture, url: string, extraProps: Record<string, unknown> = {}): Promise<Json> {
  const res = await f.api("POST", "/api/v4/posts", {
    token: f.botToken,
    body: {
      channel_id: f.channel.id,
      message: "Access request **req-123**",
      props: buttons(url, extraProps),
    },
  });
  assert.equal(res.status, 201, res.text);
  return res.json;
}

function assertAppError(res: Reply, status: number, id: string): void {
  assert.equal(res.status, status, res.text);
  assert.equal(res.json?.id, id, res.text);
  assert.deepEqual(Object.keys(res.json), ["id", "message", "detailed_error", "request_id", "status_code"]);
  assert.equal(res.json.status_code, status);
  assert.equal(typeof res.json.message, "string");
  assert.equal(typeof res.json.detailed_error, "string");
  assert.match(res.json.request_id, ID_RE);
  assert.equal(res.headers.get("x-request-id"), res.json.request_id);
}

function actionsOf(post: Json): Json[] {
  return (post.props.attachments ?? []).flatMap((a: Json) => a.actions ?? []);
}

/** A self-signed ECDSA certificate for 127.0.0.1/localhost, DER-encoded by hand (no openssl, no x509 library). */
function selfSignedCert(): { cert: string; key: string } {
  const der = (tag: number, ...parts: Buffer[]) => {
    const body = Buffer.concat(parts);
    let length: Buffer;
    if (body.length < 128) {
      length = Buffer.from([body.length]);
    } else {
      const bytes: number[] = [];
      for (let n = body.length; n > 0; n >>= 8) bytes.unshift(n & 0xff);
      length = Buffer.from([0x80 | bytes.length, ...bytes]);
    }
    return Buffer.concat([Buffer.from([tag]), length, body]);
  };
  const seq = (...parts: Buffer[]) => der(0x30, ...parts);
  const oid = (dotted: string) => {
    const [a = 0, b = 0, ...rest] = dotted.split(".").map(Number);
    const out = [40 * a + b];
    for (const n of rest) {
      const chunk = [n & 0x7f];
      for (let v = n >> 7; v > 0; v >>= 7) chunk.unshift((v & 0x7f) | 0x80);
      out.push(...chunk);
    }
    return der(0x06, Buffer.from(out));
  };
  const integer = (bytes: Buffer) =>
    der(0x02, (bytes[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
  const time = (d: Date) => der(0x17, Buffer.from(`${d.toISOString().slice(2, 19).replace(/[-:T]/g, "")}Z`));
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const algorithm = seq(oid("1.2.840.10045.4.3.2"));
  const name = seq(der(0x31, seq(oid("2.5.4.3"), der(0x0c, Buffer.from("localhost")))));
  const now = Date.now();
  const extensions = der(
    0xa3,
    seq(
      seq(oid("2.5.29.19"), der(0x01, Buffer.from([0xff])), der(0x04, seq(der(0x01, Buffer.from([0xff]))))),
      seq(
        oid("2.5.29.17"),
        der(0x04, seq(der(0x82, Buffer.from("localhost")), der(0x87, Buffer.from([127, 0, 0, 1])))),
      ),
    ),
  );
  const tbs = seq(
    der(0xa0, integer(Buffer.from([2]))),
    integer(randomBytes(8)),
    algorithm,
    name,
    seq(time(new Date(now - 60_000)), time(new Date(now + 86_400_000))),
    name,
    publicKey.export({ type: "spki", format: "der" }),
    extensions,
  );
  const certificate = seq(
    tbs,
    algorithm,
    der(0x03, Buffer.concat([Buffer.from([0]), sign("sha256", tbs, privateKey)])),
  );
  const pem = `-----BEGIN CERTIFICATE-----\n${certificate
    .toString("base64")
    .replace(/(.{64})/g, "$1\n")
    .trimEnd()}\n-----END CERTIFICATE-----\n`;
  new X509Certificate(pem); // throws if the encoding is wrong
  return { cert: pem, key: privateKey.export({ type: "pkcs8", format: "pem" }).toString() };
}

// ---------------------------------------------------------------------------------------------
// Conventions: errors, ids, headers, authentication
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Posts
// ---------------------------------------------------------------------------------------------

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

/** Adapts the stand-in's own HttpReply to the fetch-shaped Reply of these tests. */
function toReply(r: { status: number; headers: IncomingHttpHeaders; text: string; body: unknown }): Reply {
  const headers = new Headers();
  for (const [k, v] of Object.entries(r.headers)) if (typeof v === "string") headers.set(k, v);
  return { status: r.status, headers, text: r.text, json: r.body };
}

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

test("rate limiting: GCRA headers on every response, 429 text/plain with Retry-After", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const f = await setup(t, { rateLimit: { perSec: 2, maxBurst: 2, varyBy: "token" } });
  const me = () => f.api("GET", "/api/v4/users/me", { token: f.botToken });
  const seen: [number, string | null, string | null, string | null][] = [];
  for (let i = 0; i < 4; i++) {
    const r = await me();
    seen.push([
      r.status,
      r.headers.get("x-ratelimit-limit"),
      r.headers.get("x-ratelimit-remaining"),
      r.headers.get("x-ratelimit-reset"),
    ]);
    if (r.status === 429) {
      assert.equal(r.headers.get("content-type"), "text/plain; charset=utf-8");
      assert.equal(r.headers.get("retry-after"), "1");
      assert.equal(r.text, "limit exceeded\n");
      assert.equal(r.headers.get("x-request-id"), null, "the limiter answers before Mattermost's handler");
    }
  }
  assert.deepEqual(seen, [
    [200, "3", "2", "1"],
    [200, "3", "1", "1"],
    [200, "3", "0", "2"],
    [429, "3", "0", "2"],
  ]);
  // Another token has its own bucket (VaryByUser).
  assert.equal((await f.api("GET", "/api/v4/users/me", { token: f.aliceToken })).status, 200);
  f.clock.advance(500);
  assert.equal((await me()).status, 200, "one emission interval later a request fits again");
  assert.equal((await me()).status, 429);
});

// ---------------------------------------------------------------------------------------------
// The click
// ---------------------------------------------------------------------------------------------

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

test("callback URLs on loopback are refused unless AllowedUntrustedInternalConnections allows them", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const integration = await startIntegration(t);
  const port = new URL(integration.origin).port;
  const cases: [MattermostStandinOptions["allowedUntrustedInternalConnections"], string, number][] = [
    [[], integration.url, 400],
    [["localhost"], integration.url, 400],
    [["127.0.0.1"], integration.url, 200],
    ["localhost 10.0.0.0/8, 127.0.0.0/8", `http://localhost:${port}/mattermost/action`, 200],
    [["localhost"], `http://localhost:${port}/mattermost/action`, 200],
    [["::1"], `http://localhost:${port}/mattermost/action`, 400],
  ];
  for (const [allowed, url, status] of cases) {
    const f = await setup(t, { allowedUntrustedInternalConnections: allowed, enableDeveloper: true });
    const post = await postButtons(f, url);
    const before = integration.received.length;
    const res = await f.mm.clickAction(f.aliceToken, post.id, "approve");
    assert.equal(res.status, status, `${JSON.stringify(allowed)} ${url}: ${res.text}`);
    if (status === 400) {
      assert.match((res.body as Json).detailed_error, /address forbidden/);
      assert.equal(integration.received.length, before, "nothing reached the integration");
    }
  }
});

test("TLS callbacks: verified against the CA list unless insecure outgoing connections are enabled", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const tls = selfSignedCert();
  const integration = await startIntegration(t, () => ({ body: {} }), tls);
  const cases: [MattermostStandinOptions, number][] = [
    [{}, 400],
    [{ outgoingCa: [tls.cert] }, 200],
    [{ insecureOutgoingConnections: true }, 200],
  ];
  for (const [options, status] of cases) {
    const f = await setup(t, { ...options, enableDeveloper: true });
    const post = await postButtons(f, integration.url);
    const res = await f.mm.clickAction(f.aliceToken, post.id, "approve");
    assert.equal(res.status, status, `${JSON.stringify(Object.keys(options))}: ${res.text}`);
    if (status === 400) assert.match((res.body as Json).detailed_error, /certificate/);
  }

  // The stand-in itself over HTTPS.
  const secure = await MattermostStandin.start({ tls });
  t.after(() => secure.stop());
  assert.match(secure.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const ping = await new Promise<string>((resolve, reject) => {
    const req = httpsRequest(`${secure.url}/api/v4/system/ping`, { ca: tls.cert }, (res) => {
      let text = "";
      res.on("data", (chunk: Buffer) => {
        text += chunk.toString();
      });
      res.on("end", () => resolve(text));
    });
    req.on("error", reject);
    req.end();
  });
  assert.equal(JSON.parse(ping).status, "OK");
  assert.equal(
    (await secure.request("GET", "/api/v4/system/ping")).status,
    200,
    "the admin helper speaks HTTPS too",
  );
  allLogs.push(secure.requests);
});

// ---------------------------------------------------------------------------------------------
// Dialogs
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Faults, events
// ---------------------------------------------------------------------------------------------

test("fault injection: statuses, reset, hang, durations, down and up on the same port", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const f = await setup(t);
  const ping = () => f.api("GET", "/api/v4/system/ping");

  f.mm.faults = { status: 503, times: 2 };
  assert.equal((await ping()).status, 503);
  const second = await ping();
  assert.equal(second.status, 503);
  assert.match(second.headers.get("content-type") ?? "", /text\/html/);
  assert.equal((await ping()).status, 200);

  f.mm.faults = { status: 429, retryAfter: 3 };
  const limited = await ping();
  assert.equal(limited.status, 429);
  assert.equal(limited.headers.get("retry-after"), "3");
  assert.equal(limited.text, "limit exceeded\n");

  f.mm.faults = { status: 500, match: (r) => r.path === "/api/v4/posts" };
  assert.equal((await ping()).status, 200, "match filter");
  const failed = await f.api("POST", "/api/v4/posts", {
    token: f.botToken,
    body: { channel_id: f.channel.id, message: "x" },
  });
  assert.equal(failed.status, 500);
  assert.equal(failed.json.status_code, 500);
  assert.equal(f.mm.channelPosts(f.channel.id).length, 0);

  f.mm.faults = { reset: true };
  await assert.rejects(ping());
  f.mm.faults = { hang: true };
  await assert.rejects(
    fetch(`${f.mm.url}/api/v4/system/ping`, { signal: AbortSignal.timeout(200) }),
    (e: Error) => e.name === "TimeoutError",
  );
  assert.equal((await ping()).status, 200);

  f.mm.faults = { status: 502, forMs: 150 };
  assert.equal((await ping()).status, 502);
  assert.equal((await ping()).status, 502);
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal((await ping()).status, 200);
  assert.deepEqual(f.mm.faults, []);

  const url = f.mm.url;
  await f.mm.setDown(true);
  await assert.rejects(ping());
  await f.mm.setDown(false);
  assert.equal(f.mm.url, url);
  assert.equal((await ping()).status, 200);
  assert.ok(
    f.mm.requests.some((r) => r.status === 0),
    "reset/hung requests are logged with status 0",
  );
});

test("events: waitFor sees past and future events and times out", { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const f = await setup(t);
  const future = f.mm.waitFor((e) => e.type === "post_created" && e.post.message === "later", 2000);
  await f.api("POST", "/api/v4/posts", {
    token: f.botToken,
    body: { channel_id: f.channel.id, message: "later" },
  });
  const event = await future;
  assert.equal(event.type, "post_created");
  const past = await f.mm.waitFor((e) => e.type === "post_created", 10);
  assert.equal(past.type, "post_created");
  await assert.rejects(
    f.mm.waitFor(() => false, 30),
    /no matching event/,
  );
  const created: StandinEvent[] = [];
  f.mm.events.on("post_created", (e: StandinEvent) => created.push(e));
  await f.api("POST", "/api/v4/posts", {
    token: f.botToken,
    body: { channel_id: f.channel.id, message: "again" },
  });
  assert.equal(created.length, 1);
});

// ---------------------------------------------------------------------------------------------
// The OpenAPI validator, and every request above checked against the spec
// ---------------------------------------------------------------------------------------------

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

test("every request these tests sent (and every 2xx JSON answer) matches the OpenAPI spec", {
  timeout: TEST_TIMEOUT_MS,
}, () => {
  const entries = allLogs.flat().filter((entry) => entry.headers[OFF_SPEC_HEADER] === undefined);
  assert.ok(entries.length > 150, `only ${entries.length} requests logged`);
  assertRequestsValid(entries, { responses: true });
});
