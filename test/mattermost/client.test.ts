/**
 * The Mattermost client against the Mattermost stand-in (a real HTTP server): retries of 429
 * with Retry-After, 5xx and connection resets; no retry of permanent errors; typed errors that
 * carry Mattermost's error id and a fix. The client's clock is simulated, so backoff waits are
 * recorded instead of slept.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { AppError } from "../../src/errors.js";
import type { Clock } from "../../src/lib/clock.js";
import { MattermostClient } from "../../src/mattermost/client.js";
import { MattermostStandin } from "../../src/standins/mattermost/index.js";

/** A clock whose sleeps return at once but are recorded, and which advances by them. */
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
});
