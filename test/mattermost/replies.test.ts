/**
 * Replies that are not what the Mattermost API promises, as a proxy in front of it produces them
 * (the stand-in's proxy faults): each is a transient error, retried with backoff and reported
 * with the route and what was wrong; a create is repeated only while its pending_post_id still
 * returns the first post. The client's clock is simulated, so waits are recorded, not slept.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { AppError } from "../../src/errors.js";
import type { Clock } from "../../src/lib/clock.js";
import { CREATE_RETRY_WINDOW_MS, MattermostClient } from "../../src/mattermost/client.js";
import { MattermostStandin } from "../../src/standins/mattermost/index.js";

const LOGIN_PAGE = "<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>SSO</body></html>\n";

function recordingClock(): Clock & { slept: number[] } {
  let now = Date.now();
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
}

describe("Mattermost replies checked at the client boundary", () => {
  let server: MattermostStandin;
  let token: string;
  let channelId: string;
  const creates = (req: { method: string; path: string }) =>
    req.method === "POST" && req.path === "/api/v4/posts";

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

  const client = (clock: Clock, retries: Array<{ path: string; reason: string }> = [], maxRetries = 8) =>
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
    const post = await client(recordingClock(), retries).createPost({
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
    await assert.rejects(client(recordingClock(), [], 1).getMe(), (error: unknown) => {
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

  test("truncated JSON is retried with backoff, not treated as permanent", async () => {
    const clock = recordingClock();
    server.faults = { truncated: true, times: 2, match: creates };
    const post = await client(clock).createPost({ channelId, message: "cut", pendingPostId: "r2:chan" });
    assert.equal(server.post(post.id)?.message, "cut");
    assert.equal(clock.slept.length, 2);
    assert.ok(clock.slept[0]! < clock.slept[1]!);
  });

  test("JSON of another shape: ids must be Mattermost ids, arrays arrays, the post the one asked for", async () => {
    const posted = await client(recordingClock()).createPost({ channelId, message: "x" });
    const cases: Array<[string, () => Promise<unknown>, RegExp]> = [
      [
        JSON.stringify({ id: "nope", username: "teleport" }),
        () => client(recordingClock(), [], 0).getMe(),
        /id: not a Mattermost id/,
      ],
      [
        JSON.stringify({ order: "abc", posts: {} }),
        () => client(recordingClock(), [], 0).getChannelPostsSince(channelId, 0),
        /order: /,
      ],
      [
        JSON.stringify({ ...server.post(posted.id), id: "a".repeat(26) }),
        () => client(recordingClock(), [], 0).getPost(posted.id),
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
      client(clock, [], 20).createPost({ channelId, message: "window", pendingPostId: "r3:chan" }),
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
