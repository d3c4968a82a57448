/**
 * Fault injection (src/standins/mattermost/faults.ts, server.ts): injected statuses with their real
 * bodies, resets, hangs, durations, and the server down and up again on the same port.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { setup, TEST_TIMEOUT_MS, testRequestsMatchSpec } from "./fixture.js";

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

  // A window wide enough for two pings on a loaded machine; it must still end by itself.
  f.mm.faults = { status: 502, forMs: 1500 };
  assert.equal((await ping()).status, 502);
  assert.equal((await ping()).status, 502);
  await new Promise((resolve) => setTimeout(resolve, 1600));
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

testRequestsMatchSpec(8);
