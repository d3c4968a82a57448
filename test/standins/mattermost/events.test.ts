/**
 * Events for tests (src/standins/mattermost/events.ts): `waitFor` sees past and future events and
 * times out; listeners get each event once.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { StandinEvent } from "../../../src/standins/mattermost/index.js";
import { setup, TEST_TIMEOUT_MS, testRequestsMatchSpec } from "./fixture.js";

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

testRequestsMatchSpec(1);
