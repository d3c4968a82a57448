/**
 * The Mattermost client under Mattermost's rate limit (MATTERMOST-API.md §3): a backlog starts
 * with the whole bucket, then goes at the refill rate, one call per piece of work and no 429;
 * when someone else spends the same token's budget, the 429s are waited out and nothing is lost.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Clock } from "../../src/lib/clock.js";
import { MattermostClient } from "../../src/mattermost/client.js";
import { type Answer, RateLimitGate } from "../../src/mattermost/rate-limit-gate.js";
import { MattermostStandin } from "../../src/standins/mattermost/index.js";

async function site(rateLimit: { perSec: number; maxBurst: number }) {
  const mattermost = await MattermostStandin.start({ rateLimit: { ...rateLimit, varyBy: "token" } });
  const team = mattermost.createTeam("acme");
  const channel = mattermost.createChannel(team.id, "requests");
  const bot = mattermost.createBot("teleport");
  mattermost.addTeamMember(team.id, bot.user.id);
  mattermost.addChannelMember(channel.id, bot.user.id);
  return { mattermost, channel, bot };
}

test("a backlog under the rate limit is posted with one call per post and no 429", async (t) => {
  const { mattermost, channel, bot } = await site({ perSec: 50, maxBurst: 9 });
  t.after(() => mattermost.stop());
  const client = new MattermostClient({ url: mattermost.url, token: bot.token });
  t.after(() => client.close());

  const posts = await Promise.all(
    Array.from({ length: 40 }, (_, i) => client.createPost({ channelId: channel.id, message: `post ${i}` })),
  );
  assert.equal(new Set(posts.map((post) => post.id)).size, 40);
  const statuses = mattermost.requests.map((request) => request.status);
  assert.equal(statuses.filter((status) => status === 429).length, 0, "no call was refused");
  assert.equal(statuses.length, 40, "one call per post");
});

test("a backlog shared with another client of the same token is posted in full", async (t) => {
  const { mattermost, channel, bot } = await site({ perSec: 50, maxBurst: 9 });
  t.after(() => mattermost.stop());
  const ours = new MattermostClient({ url: mattermost.url, token: bot.token });
  const theirs = new MattermostClient({ url: mattermost.url, token: bot.token });
  t.after(() => {
    ours.close();
    theirs.close();
  });
  const post = (client: MattermostClient, i: number) =>
    client.createPost({ channelId: channel.id, message: `post ${i}` });
  const posts = await Promise.all([
    ...Array.from({ length: 20 }, (_, i) => post(ours, i)),
    ...Array.from({ length: 20 }, (_, i) => post(theirs, 20 + i)),
  ]);
  assert.equal(new Set(posts.map((created) => created.id)).size, 40);
});

/** A clock that moves only when told to, firing the sleeps that fall due. */
class ManualClock implements Clock {
  private time = 1_000_000;
  private readonly sleepers: Array<{ at: number; wake: () => void }> = [];
  now(): number {
    return this.time;
  }
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.sleepers.push({ at: this.time + ms, wake: resolve }));
  }
  async advance(ms: number): Promise<void> {
    this.time += ms;
    for (const sleeper of this.sleepers.filter((candidate) => candidate.at <= this.time)) {
      this.sleepers.splice(this.sleepers.indexOf(sleeper), 1);
      sleeper.wake();
    }
    await settle();
  }
}

/** Lets pending promise callbacks run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

function limited(remaining: number, resetS: number, limit = 10): Answer {
  return {
    status: 201,
    headers: {
      "x-ratelimit-limit": String(limit),
      "x-ratelimit-remaining": String(remaining),
      "x-ratelimit-reset": String(resetS),
    },
  };
}

/** Starts `count` calls; returns the list of those admitted so far (it grows as they are). */
function start(gate: RateLimitGate, count: number): Array<(answer: Answer | undefined) => void> {
  const admitted: Array<(answer: Answer | undefined) => void> = [];
  for (let i = 0; i < count; i++) void gate.enter().then((done) => admitted.push(done));
  return admitted;
}

test("the gate spends the whole bucket at once, then waits for a token to come back", async () => {
  const clock = new ManualClock();
  const gate = new RateLimitGate(clock, 16);
  // The first call learns the limit; Mattermost's bucket of 10 has 9 tokens left after it.
  (await gate.enter())(limited(9, 1));
  const admitted = start(gate, 12);
  await settle();
  assert.equal(admitted.length, 9, "the nine tokens left go at once");
  // As a bucket refilled every 200 ms answers them: the last one empties it, the 10 tokens
  // short are back within 2 s (rounded up), so one token takes at most 2000 / 9 ms.
  for (const [index, done] of admitted.entries()) done(limited(8 - index, index < 4 ? 1 : 2));
  await clock.advance(200);
  assert.equal(admitted.length, 9, "no call before a token is back");
  await clock.advance(23);
  assert.equal(admitted.length, 10, "one call once a token is back");
});

test("tryEnter takes a turn only when a call entering now would be sent at once", async () => {
  const clock = new ManualClock();
  const gate = new RateLimitGate(clock, 16);
  const first = gate.tryEnter();
  assert.ok(first, "nothing known, nothing in flight");
  assert.equal(gate.tryEnter(), undefined, "the first call finds out whether there is a limit");
  first(limited(2, 1));
  const turns = [gate.tryEnter(), gate.tryEnter()];
  assert.ok(turns.every(Boolean), "two tokens left");
  assert.equal(gate.tryEnter(), undefined, "the bucket is empty by the count");
  const admitted = start(gate, 1);
  await clock.advance(1_000);
  assert.equal(admitted.length, 1, "a waiting call got the token that came back first");
  for (const done of [...turns, ...admitted]) done!(limited(5, 1));
  const roomy = gate.tryEnter();
  assert.ok(roomy, "an answer shows room");
  roomy(limited(5, 1));
  (await gate.enter())({ status: 429, headers: { "retry-after": "2" } });
  assert.equal(gate.tryEnter(), undefined, "a 429 is being waited out");
  await clock.advance(2_000);
  assert.ok(gate.tryEnter(), "Retry-After has passed");
});

test("an answer that shows tokens left lets waiting calls go at once", async () => {
  const clock = new ManualClock();
  const gate = new RateLimitGate(clock, 16);
  (await gate.enter())(limited(0, 2));
  const admitted = start(gate, 3);
  await settle();
  assert.equal(admitted.length, 0);
  await clock.advance(250);
  assert.equal(admitted.length, 1, "a token back after at most 2000 / 9 ms");
  admitted[0]!(limited(2, 1));
  await settle();
  assert.equal(admitted.length, 3, "the answer says two more are there");
});

test("after a 429 calls wait its Retry-After, then go one at a time until an answer shows room", async () => {
  const clock = new ManualClock();
  const gate = new RateLimitGate(clock, 4);
  (await gate.enter())({ status: 429, headers: { "retry-after": "1" } });
  const admitted = start(gate, 3);
  await clock.advance(999);
  assert.equal(admitted.length, 0, "nothing before Retry-After");
  await clock.advance(1);
  assert.equal(admitted.length, 1, "then one call");
  admitted[0]!(limited(5, 1));
  await settle();
  assert.equal(admitted.length, 3, "room again: the others go together");
});

test("without rate limit headers (limiting off) calls run side by side", async () => {
  const clock = new ManualClock();
  const gate = new RateLimitGate(clock, 4, 2);
  (await gate.enter())({ status: 200, headers: {} });
  const admitted = start(gate, 6);
  await settle();
  assert.equal(admitted.length, 4, "up to the parallelism");
});

test("under a limit fewer calls run side by side, however many tokens the bucket has", async () => {
  const clock = new ManualClock();
  const gate = new RateLimitGate(clock, 8, 3);
  (await gate.enter())(limited(10, 1));
  const admitted = start(gate, 6);
  await settle();
  assert.equal(admitted.length, 3, "up to the limited parallelism");
  admitted[0]!({ status: 200, headers: {} });
  await settle();
  assert.equal(admitted.length, 6, "limiting off again: up to the full parallelism");
});

test("an answer overtaken by a later call's answer does not raise the count", async () => {
  const clock = new ManualClock();
  const gate = new RateLimitGate(clock, 16);
  (await gate.enter())(limited(9, 2));
  const first = start(gate, 3);
  await settle();
  assert.equal(first.length, 3);
  // The third call's answer comes first: nothing left. The first's, older, said 8.
  first[2]!(limited(0, 2));
  first[0]!(limited(8, 2));
  const waiting = start(gate, 2);
  await settle();
  assert.equal(waiting.length, 0, "the bucket is empty as far as the newest answer says");
  first[1]!(limited(0, 2));
  await clock.advance(2_000);
  assert.ok(waiting.length >= 1, "tokens come back with time");
});
