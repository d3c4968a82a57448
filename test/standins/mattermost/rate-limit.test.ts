/**
 * The GCRA rate limiter (MATTERMOST-API.md §3; src/standins/mattermost/rate-limit.ts): headers on
 * every response, the plain-text 429 with Retry-After, a bucket per token.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { setup, TEST_TIMEOUT_MS, testRequestsMatchSpec } from "./fixture.js";

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

testRequestsMatchSpec(5);
