/**
 * The seed flow end to end, as an operator runs it: the CLI as a child process with a config
 * file and `tctl auth sign`-style identity files, against the Teleport stand-in (gRPC, mTLS)
 * and the Mattermost stand-in (HTTP), clicks going through Mattermost's real click endpoint.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { World } from "../../src/demo/world.js";
import type { StandinPost } from "../../src/standins/mattermost/index.js";
import type { AccessRequestV3 } from "../../src/teleport/gen/teleport/types_pb.js";
import { RequestState } from "../../src/teleport/gen/teleport/types_pb.js";
import { VERSION } from "../../src/version.js";
import { type DaemonProcess, TEST_SECRET } from "../support/daemon-process.js";
import { decide } from "../support/decide.js";
import { postRaw } from "../support/http.js";
import { assertRequestsValid } from "../support/openapi.js";
import { suiteStage } from "../support/stage.js";

function attachment(post: StandinPost | undefined) {
  const attachments = (post?.props as { attachments?: Array<Record<string, unknown>> } | undefined)
    ?.attachments;
  return attachments?.[0] as
    | { fields?: Array<{ title: string; value: string }>; actions?: Array<{ id: string; name: string }> }
    | undefined;
}

function field(post: StandinPost | undefined, title: string): string | undefined {
  return attachment(post)?.fields?.find((f) => f.title === title)?.value;
}

for (const version of ["4.2.8", "6.2.1", "18.0.0"] as const)
  describe(`seed flow against the stand-ins (Teleport ${version})`, () => {
    let world: World;
    let daemon: DaemonProcess;
    // 4.2.8 has no request/resolve reasons and no delegator field (TELEPORT-WIRE.md §2–3).
    const hasReasons = version !== "4.2.8";
    const delegator = version === "4.2.8" ? undefined : "mattermost:bob";

    const postOf = (id: string) =>
      world.mattermost
        .channelPosts(world.channel.id)
        .filter((post) => field(post, "Request ID") === `\`${id}\``);

    async function postFor(request: AccessRequestV3): Promise<StandinPost> {
      const id = request.metadata!.name;
      await world.mattermost.waitFor(
        (event) => event.type === "post_created" && field(event.post, "Request ID") === `\`${id}\``,
        10_000,
      );
      // The post id is recorded in plugin data right after the post is created.
      await world.teleport.waitFor(
        () => world.teleport.pluginData(id, "mattermost")?.["messages"],
        10_000,
        "messages",
      );
      const posts = postOf(id);
      assert.equal(posts.length, 1, "exactly one post per request");
      return posts[0]!;
    }

    async function statusBecomes(postId: string, status: string): Promise<StandinPost> {
      await world.mattermost.waitFor(
        (event) =>
          event.type === "post_updated" &&
          event.post.id === postId &&
          field(event.post, "Status")?.includes(status) === true,
        10_000,
      );
      return world.mattermost.post(postId)!;
    }

    suiteStage({ teleportVersion: version }, async (stage) => {
      world = stage.world;
      ({ daemon } = await stage.startDaemon({ args: ["-d"] }));
    });

    test("logs the startup sequence of the operator's guide, in order, in its words", async () => {
      await daemon.waitForLog("Plugin is ready");
      const wanted = [
        /^DEBUG logging enabled$/,
        new RegExp(`^Starting Teleport Access Mattermost Bot ${VERSION.replaceAll(".", "\\.")}$`),
        /^Teleport server version checked$/,
        /^Starting a request watcher\.\.\.$/,
        /^Starting Mattermost API health check\.\.\.$/,
        /^Mattermost API health check finished ok$/,
        /^Starting secure HTTPS server on 127\.0\.0\.1:\d+$/,
        /^Watcher connected$/,
        /^Plugin is ready$/,
      ];
      const messages = daemon.messages();
      let from = 0;
      for (const pattern of wanted) {
        const index = messages.findIndex((msg, i) => i >= from && pattern.test(msg));
        assert.ok(index >= 0, `expected a log line ${pattern} after line ${from}:\n${messages.join("\n")}`);
        from = index + 1;
      }
    });

    test("a new request is posted with requester, roles, reason, id, PENDING and two buttons", async () => {
      const request = world.teleport.createRequest({
        user: "alice",
        roles: ["dba", "editor"],
        reason: "fix prod",
      });
      const post = await postFor(request);
      assert.equal(post.user_id, world.bot.user.id);
      assert.equal(field(post, "User"), "`alice`");
      assert.equal(field(post, "Roles"), "`dba`, `editor`");
      assert.equal(field(post, "Reason"), hasReasons ? "fix prod" : "_(none given)_");
      assert.equal(field(post, "Status"), "⏳ PENDING");
      assert.deepEqual(
        attachment(post)?.actions?.map((action) => action.name),
        ["Approve", "Deny"],
      );
      const stored = world.teleport.pluginData(request.metadata!.name, "mattermost");
      assert.equal(stored?.["messages"], `${world.channel.id}/${post.id}`);
      assert.equal(stored?.["rendered"], "PENDING");
    });

    test("Approve (click → dialog → submit) applies the decision in Teleport with the clicker as delegator, updates the post and drops the buttons", async () => {
      const request = world.teleport.createRequest({ user: "alice", roles: ["dba"], reason: "approve me" });
      const id = request.metadata!.name;
      const post = await postFor(request);
      const reply = await decide(world, world.approver, post.id, "approve", "on call today");
      assert.equal(reply.status, 200, reply.text);
      assert.deepEqual(reply.body, {});
      assert.equal(world.teleport.getRequest(id)?.spec?.state, RequestState.APPROVED);
      const audit = world.teleport.audit.find((entry) => entry.id === id && entry.state === "APPROVED");
      assert.ok(audit, "the state change reached Teleport");
      assert.equal(audit.delegator, delegator);
      assert.equal(audit.reason, hasReasons ? "on call today" : undefined);
      const updated = await statusBecomes(post.id, "APPROVED");
      assert.equal(field(updated, "Status"), "✅ APPROVED");
      assert.equal(field(updated, "Decided by"), "`bob`");
      assert.equal(field(updated, "Resolution reason"), "on call today");
      assert.equal(attachment(updated)?.actions, undefined);
      await world.teleport.waitFor(
        () => world.teleport.pluginData(id, "mattermost")?.["rendered"] === "APPROVED",
        10_000,
        "rendered APPROVED",
      );
      assert.equal(postOf(id).length, 1);
    });

    test("Deny (click → dialog → submit with the required reason) applies DENIED and updates the post", async () => {
      const request = world.teleport.createRequest({ user: "alice", roles: ["dba"], reason: "deny me" });
      const id = request.metadata!.name;
      const post = await postFor(request);
      const reply = await decide(world, world.approver, post.id, "deny", "not during the freeze");
      assert.equal(reply.status, 200, reply.text);
      assert.equal(world.teleport.getRequest(id)?.spec?.state, RequestState.DENIED);
      const denial = world.teleport.audit.find((e) => e.id === id && e.state === "DENIED");
      assert.ok(denial, "the state change reached Teleport");
      assert.equal(denial.delegator, delegator);
      const updated = await statusBecomes(post.id, "DENIED");
      assert.equal(field(updated, "Resolution reason"), "not during the freeze");
      assert.equal(field(updated, "Status"), "❌ DENIED");
      assert.equal(attachment(updated)?.actions, undefined);
    });

    test("a deleted request shows EXPIRED, buttons gone", async () => {
      const request = world.teleport.createRequest({ user: "alice", roles: ["dba"], reason: "will vanish" });
      const post = await postFor(request);
      world.teleport.deleteRequest(request.metadata!.name);
      const updated = await statusBecomes(post.id, "EXPIRED");
      assert.equal(field(updated, "Status"), "⌛ EXPIRED");
      assert.equal(attachment(updated)?.actions, undefined);
      assert.equal(field(updated, "User"), "`alice`", "content kept from plugin data after deletion");
    });

    test("a request approved elsewhere (tctl) updates the post and removes the buttons", async () => {
      const request = world.teleport.createRequest({
        user: "alice",
        roles: ["dba"],
        reason: "tctl approves",
      });
      const post = await postFor(request);
      world.teleport.approve(request.metadata!.name, { reason: "looks fine" });
      const updated = await statusBecomes(post.id, "APPROVED");
      assert.equal(attachment(updated)?.actions, undefined);
      assert.equal(field(updated, "Resolution reason"), hasReasons ? "looks fine" : undefined);
    });

    test("forged, unsigned and mismatched clicks are refused and leave the request pending", async () => {
      const request = world.teleport.createRequest({
        user: "alice",
        roles: ["dba"],
        reason: "attack target",
      });
      const id = request.metadata!.name;
      const post = await postFor(request);
      const other = world.teleport.createRequest({ user: "alice", roles: ["dba"], reason: "other" });
      const otherPost = await postFor(other);
      const stored = world.mattermost.post(post.id)!;
      const actions = (
        stored.props as {
          attachments: Array<{
            actions: Array<{ integration: { url: string; context: Record<string, unknown> } }>;
          }>;
        }
      ).attachments[0]!.actions;
      const { url, context } = actions[0]!.integration;
      const callback = (overrides: Record<string, unknown>) => ({
        user_id: world.approver.user.id,
        user_name: "bob",
        channel_id: world.channel.id,
        channel_name: world.channel.name,
        team_id: world.team.id,
        team_domain: world.team.name,
        post_id: post.id,
        trigger_id: "",
        type: "button",
        data_source: "",
        context,
        ...overrides,
      });
      const attempts: Array<[string, Record<string, unknown>]> = [
        ["forged signature", callback({ context: { ...context, sig: "AAAA" } })],
        ["unsigned", callback({ context: { action: "approve", req_id: id } })],
        ["context of this request on another post", callback({ post_id: otherPost.id })],
        [
          "another request id under this signature",
          callback({ context: { ...context, req_id: other.metadata!.name } }),
        ],
        ["wrong channel", callback({ channel_id: "a".repeat(26) })],
      ];
      // Straight to the callback URL, as an attacker who knows it would (Mattermost adds no auth).
      for (const [name, body] of attempts) {
        const response = await postRaw(url, JSON.stringify(body));
        assert.equal(response.status, 200, name);
        const reply = JSON.parse(response.text) as { ephemeral_text?: string; update?: unknown };
        assert.ok(reply.ephemeral_text, `${name}: explained to the clicker`);
        assert.equal(reply.update, undefined, `${name}: post not changed`);
      }
      assert.equal((await postRaw(url, "{")).status, 400);
      assert.equal((await postRaw(url, "{}", "text/plain")).status, 415);
      assert.equal(world.teleport.getRequest(id)?.spec?.state, RequestState.PENDING);
      assert.equal(world.teleport.getRequest(other.metadata!.name)?.spec?.state, RequestState.PENDING);
      const decisions = world.teleport.audit.filter(
        (e) =>
          (e.id === id || e.id === other.metadata!.name) && (e.state === "APPROVED" || e.state === "DENIED"),
      );
      assert.deepEqual(decisions, []);
    });

    test("a click on a request that is no longer pending changes nothing and says so", async () => {
      const request = world.teleport.createRequest({ user: "alice", roles: ["dba"], reason: "double click" });
      const id = request.metadata!.name;
      const post = await postFor(request);
      world.teleport.deny(id, { reason: "no" });
      const reply = await world.mattermost.clickAction(world.approver.session, post.id, "approve");
      // The post may already have lost its buttons through the watcher (404 from Mattermost) or
      // the click reaches us and is refused; either way the request stays denied.
      assert.ok(reply.status === 200 || reply.status === 404, reply.text);
      assert.equal(world.teleport.getRequest(id)?.spec?.state, RequestState.DENIED);
    });

    test("every request the daemon sent to Mattermost matches Mattermost's OpenAPI description", () => {
      const fromBot = world.mattermost.requests.filter((entry) =>
        String(entry.headers.authorization ?? "").endsWith(world.bot.token),
      );
      assert.ok(fromBot.length > 5);
      assertRequestsValid(fromBot);
    });

    // Last in this suite: by now the debug log holds the whole flow above.
    test("no token, secret or key reaches the debug log through the whole flow", () => {
      const output = daemon.stderrText;
      assert.ok(
        daemon.lines.some((line) => line.level === "debug"),
        "the daemon logged at debug level",
      );
      assert.ok(output.includes("Successfully posted to Mattermost"));
      const keyBody = world.identity.key.split("\n")[1] ?? "";
      for (const [name, secret] of [
        ["bot token", world.bot.token],
        ["button secret", TEST_SECRET],
        ["identity private key", keyBody],
      ] as const) {
        assert.ok(secret.length >= 16, name);
        assert.ok(!output.includes(secret), `the ${name} appears in the log`);
      }
    });
  });
