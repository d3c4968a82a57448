/**
 * The Mattermost client against the Mattermost stand-in (a real HTTP server): retries of 429
 * with Retry-After, 5xx and connection resets; no retry of permanent errors; typed errors that
 * carry Mattermost's error id and a fix; replies that are not what the API promises (the
 * stand-in's proxy faults) retried as transient, a create only while its pending_post_id holds. The client's clock is simulated, so backoff waits are
 * recorded instead of slept.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { AppError } from "../../src/errors.js";
import type { Clock } from "../../src/lib/clock.js";
import { CREATE_RETRY_WINDOW_MS, MattermostClient } from "../../src/mattermost/client.js";
import { JsonText } from "../../src/mattermost/types.js";
import { MattermostStandin } from "../../src/standins/mattermost/index.js";
import { recordingClock } from "../support/recording-clock.js";

const LOGIN_PAGE = "<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>SSO</body></html>\n";

describe("Mattermost client", () => {
  let server: MattermostStandin;
  let token: string;
  let channelId: string;

  before(async () => {
    server = await MattermostStandin.start();
    const team = server.createTeam("acme");
    const channel = server.createChannel(team.id, "requests");
    const bot = server.createBot("teleport");
    server.addTeamMember(team.id, bot.user.id);
    server.addChannelMember(channel.id, bot.user.id);
    token = bot.token;
    channelId = channel.id;
  });
  after(() => server.stop());

  const client = (clock = recordingClock(), retries: Array<{ reason: string; waitMs: number }> = []) =>
    new MattermostClient({
      url: `${server.url}/`,
      token,
      clock,
      random: () => 0.5,
      onRetry: (info) => retries.push(info),
    });

  test("a 429 waits as long as Retry-After says, then succeeds", async () => {
    const clock = recordingClock();
    const retries: Array<{ reason: string; waitMs: number }> = [];
    server.faults = { status: 429, retryAfter: 2, times: 2 };
    const me = await client(clock, retries).getMe();
    assert.equal(me.username, "teleport");
    assert.deepEqual(clock.slept, [2000, 2000]);
    assert.deepEqual(
      retries.map((r) => r.reason),
      ["rate limited (429)", "rate limited (429)"],
    );
  });

  test("5xx answers and connection resets are retried with growing backoff", async () => {
    const clock = recordingClock();
    server.faults = [{ status: 503 }, { status: 502 }, { reset: true }];
    const post = await client(clock).createPost({ channelId, message: "hello" });
    assert.equal(server.post(post.id)?.message, "hello");
    assert.equal(clock.slept.length, 3);
    assert.ok(clock.slept[0]! < clock.slept[1]! && clock.slept[1]! < clock.slept[2]!, String(clock.slept));
  });

  test("a retried create with the same pending_post_id yields one post", async () => {
    const before = server.channelPosts(channelId).length;
    const mm = client();
    const a = await mm.createPost({ channelId, message: "once", pendingPostId: "req-1:chan" });
    const b = await mm.createPost({ channelId, message: "once", pendingPostId: "req-1:chan" });
    assert.equal(a.id, b.id);
    assert.equal(server.channelPosts(channelId).length, before + 1);
  });

  test("permanent errors are not retried and carry Mattermost's error id and a fix", async () => {
    const clock = recordingClock();
    const bad = new MattermostClient({ url: server.url, token: "wrong-token-000000000000000", clock });
    await assert.rejects(bad.getMe(), (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.details["status"], 401);
      assert.equal(error.details["id"], "api.context.session_expired.app_error");
      assert.match(error.fix ?? "", /token/);
      return true;
    });
    assert.deepEqual(clock.slept, []);
    await assert.rejects(client(clock).getChannelByName("acme", "nope"), (error: unknown) => {
      assert.ok(error instanceof AppError && error.code === "NOT_FOUND");
      return true;
    });
    assert.deepEqual(clock.slept, []);
  });

  test("a call that outlives its timeout fails with TIMEOUT and is retried", async () => {
    const clock = recordingClock();
    server.faults = { hang: true, times: 1 };
    const quick = new MattermostClient({
      url: server.url,
      token,
      clock,
      requestTimeoutMs: 200,
      random: () => 0.5,
    });
    const me = await quick.getMe();
    assert.equal(me.username, "teleport");
    assert.equal(clock.slept.length, 1);
    quick.close();
  });

  test("retries stop after the limit with the last error", async () => {
    const clock = recordingClock();
    server.faults = { status: 500, times: 10 };
    const limited = new MattermostClient({ url: server.url, token, clock, maxRetries: 2 });
    await assert.rejects(limited.getMe(), (error: unknown) => error instanceof AppError && error.retryable);
    assert.equal(clock.slept.length, 2);
    server.faults = null;
    limited.close();
  });

  // Replies that are not what the API promises, as a proxy in front of Mattermost produces them.
  const creates = (req: { method: string; path: string }) =>
    req.method === "POST" && req.path === "/api/v4/posts";

  const checked = (clock: Clock, retries: Array<{ path: string; reason: string }> = [], maxRetries = 8) =>
    new MattermostClient({
      url: server.url,
      token,
      clock,
      random: () => 0.5,
      maxRetries,
      onRetry: (info) => retries.push(info),
    });

  test('201 {"status":"OK"} to a create that happened: retried, and the same post comes back', async () => {
    const before = server.channelPosts(channelId).length;
    const retries: Array<{ path: string; reason: string }> = [];
    server.faults = {
      proxyAnswer: { status: 201, contentType: "application/json", body: '{"status":"OK"}' },
      forwarded: true,
      times: 2,
      match: creates,
    };
    const post = await checked(recordingClock(), retries).createPost({
      channelId,
      message: "once",
      pendingPostId: "r1:chan",
    });
    assert.match(post.id, /^[a-z0-9]{26}$/);
    assert.equal(server.channelPosts(channelId).length, before + 1, "one post, not three");
    assert.equal(server.post(post.id)?.message, "once");
    assert.equal(retries.length, 2);
    assert.equal(retries[0]!.path, "posts");
    assert.match(retries[0]!.reason, /^malformed reply: id: /);
  });

  test("an HTML page from a proxy is a transient error naming the route and what came back", async () => {
    server.faults = {
      proxyAnswer: { status: 200, contentType: "text/html", body: LOGIN_PAGE },
      times: 5,
    };
    await assert.rejects(checked(recordingClock(), [], 1).getMe(), (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.code, "MATTERMOST");
      assert.equal(error.retryable, true);
      assert.equal(error.details["route"], "GET /users/me");
      assert.match(
        error.message,
        /GET \/api\/v4\/users\/me answered 200 .*not JSON \(text\/html\): <!DOCTYPE html>/,
      );
      assert.match(error.fix ?? "", /proxy/);
      return true;
    });
    server.faults = null;
  });

  test("an answer over 4 MB is refused while it arrives, naming the limit", async () => {
    server.faults = {
      proxyAnswer: {
        status: 200,
        contentType: "application/json",
        body: `{"id":"${"x".repeat(5 * 1024 * 1024)}"}`,
      },
      times: 1,
    };
    await assert.rejects(checked(recordingClock(), [], 0).getMe(), (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.match(error.message, /GET \/api\/v4\/users\/me failed: response larger than 4194304 bytes/);
      return true;
    });
    server.faults = null;
    assert.equal((await checked(recordingClock()).getMe()).username, "teleport");
  });

  test("props given as JSON text are sent as they are, in creates and patches", async () => {
    const props = { attachments: [{ text: "a <b> & \u2028" }], teleport_request_id: "r-json" };
    const created = await checked(recordingClock()).createPost({
      channelId,
      message: "json",
      props: new JsonText(JSON.stringify(props)),
      pendingPostId: "r-json:chan",
    });
    // The stand-in fills in an attachment's other fields, as Mattermost does.
    const stored = () => server.post(created.id)?.props as typeof props | undefined;
    assert.equal(stored()?.attachments[0]?.text, props.attachments[0]!.text);
    assert.equal(stored()?.teleport_request_id, "r-json");
    const patched = { ...props, attachments: [{ text: "patched" }] };
    await checked(recordingClock()).patchPost(created.id, { props: new JsonText(JSON.stringify(patched)) });
    assert.equal(stored()?.attachments[0]?.text, "patched");
    assert.equal(server.post(created.id)?.message, "json");
  });

  test("truncated JSON is retried with backoff, not treated as permanent", async () => {
    const clock = recordingClock();
    server.faults = { truncated: true, times: 2, match: creates };
    const post = await checked(clock).createPost({ channelId, message: "cut", pendingPostId: "r2:chan" });
    assert.equal(server.post(post.id)?.message, "cut");
    assert.equal(clock.slept.length, 2);
    assert.ok(clock.slept[0]! < clock.slept[1]!);
  });

  test("JSON of another shape: ids must be Mattermost ids, arrays arrays, the post the one asked for", async () => {
    const posted = await checked(recordingClock()).createPost({ channelId, message: "x" });
    const cases: Array<[string, () => Promise<unknown>, RegExp]> = [
      [
        JSON.stringify({ id: "nope", username: "teleport" }),
        () => checked(recordingClock(), [], 0).getMe(),
        /id: not a Mattermost id/,
      ],
      [
        JSON.stringify({ order: "abc", posts: {} }),
        () => checked(recordingClock(), [], 0).getChannelPostsSince(channelId, 0),
        /order: /,
      ],
      [
        JSON.stringify({ ...server.post(posted.id), id: "a".repeat(26) }),
        () => checked(recordingClock(), [], 0).getPost(posted.id),
        /id: not the post asked for/,
      ],
    ];
    for (const [body, call, problem] of cases) {
      server.faults = { proxyAnswer: { status: 200, contentType: "application/json", body }, times: 1 };
      await assert.rejects(call(), (error: unknown) => {
        assert.ok(error instanceof AppError && error.retryable, String(error));
        assert.match(error.message, problem);
        return true;
      });
    }
    server.faults = null;
  });

  test("a create is not repeated once pending_post_id may no longer return the first post", async () => {
    const clock = recordingClock();
    const started = clock.now();
    const before = server.channelPosts(channelId).length;
    const attempts: number[] = [];
    server.faults = {
      proxyAnswer: { status: 201, contentType: "application/json", body: '{"status":"OK"}' },
      forwarded: true,
      times: 100,
      match: (req) => {
        if (creates(req)) attempts.push(clock.now() - started);
        return creates(req);
      },
    };
    await assert.rejects(
      checked(clock, [], 20).createPost({ channelId, message: "window", pendingPostId: "r3:chan" }),
      (error: unknown) => error instanceof AppError && error.retryable,
    );
    server.faults = null;
    assert.ok(attempts.length > 1, `retried (${attempts})`);
    assert.ok(
      attempts.every((at) => at <= CREATE_RETRY_WINDOW_MS),
      `within the window: ${attempts}`,
    );
    assert.equal(server.channelPosts(channelId).length, before + 1);
  });
});
