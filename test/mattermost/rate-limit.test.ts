/**
 * The Mattermost client under Mattermost's rate limit (MATTERMOST-API.md §3): a backlog of calls
 * all succeed, in about as few 429s as the limiter forces, and calls go back to running side by
 * side once the answers show room again.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { systemClock } from "../../src/lib/clock.js";
import { MattermostClient } from "../../src/mattermost/client.js";
import { RateLimitGate } from "../../src/mattermost/rate-limit-gate.js";
import { MattermostStandin } from "../../src/standins/mattermost/index.js";

test("a backlog under the rate limit is posted in full, with about one 429 per refill", async (t) => {
  // A bucket of 10 that Retry-After (whole seconds) lets refill completely between rounds.
  const mattermost = await MattermostStandin.start({
    rateLimit: { perSec: 50, maxBurst: 9, varyBy: "token" },
  });
  t.after(() => mattermost.stop());
  const team = mattermost.createTeam("acme");
  const channel = mattermost.createChannel(team.id, "requests");
  const bot = mattermost.createBot("teleport");
  mattermost.addTeamMember(team.id, bot.user.id);
  mattermost.addChannelMember(channel.id, bot.user.id);
  const client = new MattermostClient({ url: mattermost.url, token: bot.token });
  t.after(() => client.close());

  const posts = await Promise.all(
    Array.from({ length: 30 }, (_, i) => client.createPost({ channelId: channel.id, message: `post ${i}` })),
  );
  assert.equal(new Set(posts.map((post) => post.id)).size, 30);
  const limited = mattermost.requests.filter((request) => request.status === 429).length;
  // The first 16 calls go out together (6 refused); after that one 429 per round of 10 at most.
  assert.ok(limited <= 6 + 3, `${limited} calls answered 429`);
});

test("after a 429 calls go one at a time until an answer shows room for all of them again", async () => {
  const gate = new RateLimitGate(systemClock, 4);
  const limited = { status: 429, headers: { "retry-after": "0" } };
  (await gate.enter())(limited);
  const first = await gate.enter();
  let secondEntered = false;
  const second = gate.enter().then((done) => {
    secondEntered = true;
    return done;
  });
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(secondEntered, false, "the second call waits for the first one's answer");
  first({ status: 201, headers: { "x-ratelimit-remaining": "3" } });
  (await second)({ status: 201, headers: { "x-ratelimit-remaining": "4" } });
  // Room for 4 again: calls no longer wait for each other.
  const [a, b] = await Promise.all([gate.enter(), gate.enter()]);
  a(undefined);
  b(undefined);
});
