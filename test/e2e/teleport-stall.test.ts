/**
 * The daemon's connection to Teleport goes silent while it works on a request (a NAT or firewall
 * forgot the flow; src/teleport/stall-check.ts): it notices, warns once, counts the drop, connects
 * again and posts the request, instead of waiting for keepalive (up to 100 s). The daemon reaches
 * the Teleport stand-in through a TCP relay that turns its open connections into a black hole.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { getRaw } from "../support/http.js";
import { openStage } from "../support/stage.js";
import { TcpRelay } from "../support/tcp-relay.js";

const TEST_TIMEOUT_MS = 60_000;
/** Each unary answer is held this long, so the freeze lands while calls wait. */
const ANSWER_DELAY_MS = 300;

test("a Teleport connection gone silent mid-request is replaced: posted, one warning, one drop counted", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const stage = await openStage(t);
  const { world } = stage;
  const relay = await TcpRelay.start(world.teleport.port);
  t.after(() => relay.stop());
  const { daemon } = await stage.startDaemon({ replace: { addr: `addr = "${relay.addr}"` } });
  const health = await daemon.healthUrl();
  await daemon.waitForLog("Catch-up finished");

  world.teleport.delayMs = ANSWER_DELAY_MS;
  const callsBefore = world.teleport.calls.length;
  const request = world.teleport.createRequest({
    user: "alice",
    roles: ["dba"],
    reason: "through a black hole",
  });
  const id = request.metadata!.name;
  // The daemon's first call about the request (its claim): freeze while its answer is held back.
  await world.teleport.waitFor(
    () => world.teleport.calls.length > callsBefore,
    10_000,
    "a call about the request",
  );
  relay.freeze();

  const warning = await daemon.waitForLog(
    "Teleport stopped answering on its connection; connecting again",
    30_000,
  );
  assert.equal(warning.level, "warn");
  const postsOf = (requestId: string) =>
    world.mattermost
      .channelPosts(world.channel.id)
      .filter((post) => JSON.stringify(post.props).includes(requestId));
  const recorded = (requestId: string) =>
    world.teleport.waitFor(
      () => {
        const post = postsOf(requestId)[0];
        return (
          post !== undefined &&
          (world.teleport.pluginData(requestId, "mattermost")?.["messages"] ?? "").includes(post.id)
        );
      },
      30_000,
      `${requestId} posted and recorded`,
    );
  // Back in business over a new connection: the watch sees a new request, and it is posted.
  world.teleport.delayMs = 0;
  const next = world.teleport.createRequest({
    user: "alice",
    roles: ["dba"],
    reason: "after the black hole",
  });
  await recorded(next.metadata!.name);
  await recorded(id);
  assert.equal(postsOf(id).length, 1, "the request asked about through the black hole is posted once");
  assert.equal(postsOf(next.metadata!.name).length, 1);
  const metrics = (await getRaw(`${health}/metrics`)).text;
  assert.match(metrics, /^teleport_mattermost_teleport_connection_drops_total 1$/m);
  assert.equal(daemon.lines.filter((line) => line.msg === warning.msg).length, 1, "one warning");
  assert.ok(relay.accepted >= 3, `the first connection, the probe's, and the new one: ${relay.accepted}`);
});
