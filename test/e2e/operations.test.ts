/**
 * What an operator, systemd or a monitoring system does to a running daemon: reload it with
 * SIGHUP, probe /healthz and /readyz while Teleport and Mattermost come and go, scrape /metrics
 * after a scripted flow.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { describe, test } from "node:test";
import type { World } from "../../src/demo/world.js";
import type { StandinPost } from "../../src/standins/mattermost/index.js";
import type { DaemonProcess } from "../support/daemon-process.js";
import { decide } from "../support/decide.js";
import { getRaw, postRaw } from "../support/http.js";
import { type Stage, suiteStage } from "../support/stage.js";

/** The value of one series in Prometheus text format; undefined when it is absent. */
function metric(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return undefined;
}

/** Polls `probe` until it returns true, failing after `timeoutMs`. */
async function eventually(probe: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function readiness(base: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const reply = await getRaw(`${base}/readyz`);
  return { status: reply.status, body: JSON.parse(reply.text) as Record<string, unknown> };
}

/** Starts a daemon on the stage; resolves with the base URL of its health listener once it listens. */
async function started(stage: Stage): Promise<{ daemon: DaemonProcess; health: string }> {
  const { daemon } = await stage.startDaemon({ waitFor: null });
  return { daemon, health: await daemon.healthUrl() };
}

function requestIdOf(post: StandinPost): string {
  return /Request ID[^`]*`([^`]+)`/.exec(JSON.stringify(post.props))?.[1] ?? "";
}

describe("signals", () => {
  let world: World;
  let daemon: DaemonProcess;

  suiteStage({}, async (stage) => {
    world = stage.world;
    ({ daemon } = await stage.startDaemon());
  });

  test("SIGHUP (systemd reload) reloads and keeps it running, its metrics and health listener included", async () => {
    const before = await daemon.healthUrl();
    const seen = async (base: string) =>
      metric((await getRaw(`${base}/metrics`)).text, "teleport_mattermost_requests_seen_total");
    const first = world.teleport.createRequest({ user: "alice", roles: ["dba"], reason: "before HUP" });
    await world.teleport.waitFor(
      () => world.teleport.pluginData(first.metadata!.name, "mattermost")?.["messages"],
      10_000,
      "posted before SIGHUP",
    );
    assert.equal(await seen(before), 1);

    daemon.kill("SIGHUP");
    await daemon.waitForLog("Reloaded");
    await daemon.waitForLogCount("Watcher connected", 2);
    const request = world.teleport.createRequest({ user: "alice", roles: ["dba"], reason: "after HUP" });
    await world.teleport.waitFor(
      () => world.teleport.pluginData(request.metadata!.name, "mattermost")?.["messages"],
      10_000,
      "posted after SIGHUP",
    );
    // The restarted daemon listens anew (this config asks for any free port), same registry.
    const after = await daemon.healthUrl();
    assert.equal((await readiness(after)).status, 200);
    assert.ok(((await seen(after)) ?? 0) >= 2, "counters survive the reload");
  });
});

describe("health and readiness", () => {
  let stage: Stage;
  let world: World;
  let daemon: DaemonProcess | undefined;

  suiteStage({}, async (opened) => {
    stage = opened;
    world = stage.world;
  });

  test("not ready before the watch connects; ready after; not ready while Teleport is away", async () => {
    // Teleport refuses connections before the daemon starts: it must wait, alive but not ready.
    await world.teleport.refuseConnections(true);
    const run = await started(stage);
    daemon = run.daemon;
    await daemon.waitForLog(/^Teleport auth server is not reachable yet/);
    assert.equal((await getRaw(`${run.health}/healthz`)).status, 200);
    const waiting = await readiness(run.health);
    assert.equal(waiting.status, 503);
    assert.equal(waiting.body["ready"], false);
    assert.match(String(waiting.body["reason"]), /Teleport watch not connected: auth server not reachable/);

    await world.teleport.refuseConnections(false);
    await daemon.waitForLog("Watcher connected");
    const ready = await readiness(run.health);
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body, { ready: true, teleport: "connected", mattermost: "answering" });

    // Teleport goes away: the stream breaks and reconnecting fails until it is back.
    await world.teleport.refuseConnections(true, { dropExisting: true });
    world.teleport.dropWatchStreams("auth server going down");
    await daemon.waitForLog("Failed to watch Teleport access requests. Reconnecting…");
    const away = await readiness(run.health);
    assert.equal(away.status, 503);
    assert.equal(away.body["teleport"], "disconnected");
    assert.match(String(away.body["reason"]), /Teleport watch not connected/);

    await world.teleport.refuseConnections(false);
    await daemon.waitForLogCount("Watcher connected", 2);
    assert.equal((await readiness(run.health)).status, 200);
  });

  test("not ready while Mattermost does not answer; ready again once it does", async () => {
    assert.ok(daemon, "runs after the previous test");
    const health = await daemon.healthUrl();
    await world.mattermost.setDown(true);
    world.teleport.createRequest({ user: "alice", roles: ["dba"], reason: "while Mattermost is down" });
    const retry = await daemon.waitForLog("Mattermost call failed, retrying");
    assert.equal(retry["url"], world.mattermost.url, "the retry names the server that failed");
    const down = await readiness(health);
    assert.equal(down.status, 503);
    assert.equal(down.body["mattermost"], "failing");
    assert.match(String(down.body["reason"]), /Mattermost POST \/posts failed: ECONNREFUSED/);

    await world.mattermost.setDown(false);
    await daemon.waitForLog("Successfully posted to Mattermost", 30_000);
    assert.equal((await readiness(health)).status, 200);
  });

  test("answers only GET on its three routes", async () => {
    assert.ok(daemon, "runs after the previous tests");
    const health = await daemon.healthUrl();
    assert.deepEqual(JSON.parse((await getRaw(`${health}/healthz`)).text), { status: "ok" });
    assert.equal((await getRaw(`${health}/nope`)).status, 404);
    assert.equal((await postRaw(`${health}/metrics`, "{}")).status, 405);
  });

  test("Teleport stopped for good: alive, not ready", async () => {
    assert.ok(daemon, "runs after the previous tests");
    const health = await daemon.healthUrl();
    const failures = daemon.lines.filter((line) => line.msg.startsWith("Failed to watch")).length;
    await world.teleport.stop();
    await daemon.waitForLogCount("Failed to watch Teleport access requests. Reconnecting…", failures + 1);
    assert.equal((await readiness(health)).status, 503);
    assert.equal((await getRaw(`${health}/healthz`)).status, 200);
  });
});

describe("metrics after a scripted flow", () => {
  let world: World;
  let daemon: DaemonProcess;
  let health: string;

  suiteStage({}, async (stage) => {
    world = stage.world;
    ({ daemon, health } = await started(stage));
    await daemon.waitForLog("Watcher connected");
  });

  test("count requests, posts, decisions, refusals, retries, reconnects and call latencies", async () => {
    const posted = async (reason: string) => {
      const request = world.teleport.createRequest({ user: "alice", roles: ["dba"], reason });
      const id = request.metadata!.name;
      await world.teleport.waitFor(() => world.teleport.pluginData(id, "mattermost")?.["messages"], 10_000);
      const post = world.mattermost.channelPosts(world.channel.id).find((p) => requestIdOf(p) === id);
      assert.ok(post, `post of ${id}`);
      return { id, post };
    };
    const rendered = (id: string, status: string) =>
      world.teleport.waitFor(
        () => world.teleport.pluginData(id, "mattermost")?.["rendered"] === status,
        10_000,
        `${id} rendered ${status}`,
      );

    // The first post attempt gets a 503 once: one retry, one error, still one post.
    world.mattermost.faults = {
      status: 503,
      match: (r) => r.method === "POST" && r.path === "/api/v4/posts",
    };
    const approved = await posted("approve me");
    const denied = await posted("deny me with tctl");
    const pending = await posted("stays pending");

    const decided = await decide(world, world.approver, approved.post.id, "approve", "looks right");
    assert.equal(decided.status, 200, decided.text);
    await rendered(approved.id, "APPROVED");
    world.teleport.deny(denied.id, { reason: "no" });
    await rendered(denied.id, "DENIED");
    // A click whose signed context was tampered with: refused.
    const actions = (
      pending.post.props as { attachments: Array<{ actions: Array<{ integration: unknown }> }> }
    ).attachments[0]!.actions;
    const { url, context } = actions[0]!.integration as { url: string; context: Record<string, unknown> };
    const forged = await postRaw(
      url,
      JSON.stringify({
        user_id: world.approver.user.id,
        user_name: "bob",
        channel_id: world.channel.id,
        post_id: pending.post.id,
        trigger_id: "",
        context: { ...context, sig: "AAAA" },
      }),
    );
    assert.equal(forged.status, 200, forged.text);
    world.teleport.dropWatchStreams();
    await daemon.waitForLogCount("Catch-up finished", 2);

    // What Mattermost saw from the bot: request posts, thread replies and DMs, and post patches.
    const fromBot = (method: string, path: RegExp, status: number) =>
      world.mattermost.requests.filter(
        (entry) =>
          String(entry.headers.authorization ?? "").endsWith(world.bot.token) &&
          entry.method === method &&
          path.test(entry.path) &&
          entry.status === status,
      ).length;
    // Outcome replies and DMs may still be on their way: scrape until the daemon's counts and
    // Mattermost's agree (each scrape is compared with what Mattermost logged just before it).
    let text = "";
    let created = 0;
    let patched = 0;
    const value = (name: string, labels?: Record<string, string>) =>
      metric(text, `teleport_mattermost_${name}`, labels);
    await eventually(
      async () => {
        created = fromBot("POST", /^\/api\/v4\/posts$/, 201);
        patched = fromBot("PUT", /^\/api\/v4\/posts\/\w+\/patch$/, 200);
        const reply = await getRaw(`${health}/metrics`);
        assert.equal(reply.status, 200);
        assert.match(String(reply.headers["content-type"]), /^text\/plain; version=0\.0\.4/);
        text = reply.text;
        return value("posts_created_total") === created && value("posts_updated_total") === patched;
      },
      10_000,
      "metrics agree with what Mattermost saw",
    );

    assert.equal(value("build_info", { version: "0.1.0" }), 1);
    assert.equal(value("requests_seen_total"), 3);
    assert.equal(value("pending_requests"), 1);
    assert.ok(created >= 3 && patched >= 2, `${created} posts created, ${patched} patched`);
    // Teleport 6.2.1 takes no reviews on behalf of users: the decision is a state change.
    assert.equal(value("decisions_total", { outcome: "approved", mode: "state" }), 1);
    assert.equal(value("decisions_total", { outcome: "denied" }), undefined, "the denial came from tctl");
    assert.equal(value("refused_clicks_total", { reason: "bad_signature" }), 1);
    assert.equal(value("retries_total", { target: "mattermost", reason: "server_error" }), 1);
    assert.equal(value("watch_reconnects_total"), 1);
    assert.equal(
      value("mattermost_request_errors_total", { route: "POST /posts", code: "503" }),
      1,
      "the injected 503",
    );
    assert.equal(value("mattermost_request_duration_seconds_count", { route: "POST /posts" }), created + 1);
    assert.equal(
      value("mattermost_request_duration_seconds_count", { route: "PUT /posts/{id}/patch" }),
      patched,
    );
    assert.ok((value("mattermost_request_duration_seconds_count", { route: "GET /users/me" }) ?? 0) >= 1);
    assert.ok((value("teleport_request_duration_seconds_count", { method: "Ping" }) ?? 0) >= 1);
    assert.ok((value("teleport_request_duration_seconds_count", { method: "GetPluginData" }) ?? 0) >= 3);
    assert.equal(
      value("teleport_request_errors_total", { method: "SetAccessRequestState", code: "ok" }),
      undefined,
    );
    const notAfter = new Date(new X509Certificate(world.identity.crt).validTo).getTime() / 1000;
    assert.equal(value("identity_expiry_timestamp_seconds"), notAfter);
    assert.ok((value("process_resident_memory_bytes") ?? 0) > 0, "Node's default process metrics");
  });
});
