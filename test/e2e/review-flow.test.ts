/**
 * Deciding from Mattermost as a person does, with the CLI as a child process: reviews submitted
 * on behalf of the mapped Teleport user where Teleport accepts them (thresholds, trait mapping,
 * required reasons, cancel), link-only roles, expired trigger ids, and client certificates on
 * the callback server. The state-change mode's happy paths are in seed-flow.test.ts.
 */
import assert from "node:assert/strict";
import * as https from "node:https";
import { describe, test } from "node:test";
import { addPerson, type MattermostPerson, PLUGIN_USER, type World } from "../../src/demo/world.js";
import type { StandinPost } from "../../src/standins/mattermost/index.js";
import { type AccessRequestV3, RequestState } from "../../src/teleport/gen/teleport/types_pb.js";
import { createTestCa, issueCert } from "../support/certs.js";
import type { DaemonProcess } from "../support/daemon-process.js";
import { clickForDialog, decide, lastEphemeral, submitDialog } from "../support/decide.js";
import { openStage, suiteStage } from "../support/stage.js";

const TRAIT = "mattermost_user_id";

function fields(post: StandinPost | undefined) {
  const attachments = (post?.props as { attachments?: Array<Record<string, unknown>> } | undefined)
    ?.attachments;
  return attachments?.[0] as
    | { fields?: Array<{ title: string; value: string }>; actions?: Array<{ id: string }> }
    | undefined;
}

function field(post: StandinPost | undefined, title: string): string | undefined {
  return fields(post)?.fields?.find((f) => f.title === title)?.value;
}

async function postFor(world: World, request: AccessRequestV3): Promise<StandinPost> {
  const id = request.metadata!.name;
  await world.teleport.waitFor(
    () => world.teleport.pluginData(id, "mattermost")?.["messages"],
    10_000,
    "posted",
  );
  return world.mattermost
    .channelPosts(world.channel.id)
    .find((post) => field(post, "Request ID") === `\`${id}\``)!;
}

async function postShows(world: World, postId: string, title: string, pattern: RegExp): Promise<StandinPost> {
  await world.mattermost.waitFor(
    (event) =>
      event.type === "post_updated" &&
      event.post.id === postId &&
      pattern.test(field(event.post, title) ?? ""),
    10_000,
  );
  return world.mattermost.post(postId)!;
}

describe("reviews on behalf of the Mattermost user (Teleport 18 with submit_for_users)", () => {
  let world: World;
  let daemon: DaemonProcess;
  let carol: MattermostPerson;
  let mallory: MattermostPerson;

  suiteStage({ teleportVersion: "18.0.0", pluginRoles: ["access-plugin-with-review"] }, async (stage) => {
    world = stage.world;
    carol = addPerson(world, "carol");
    mallory = addPerson(world, "mallory");
    // carol maps through the trait on her Teleport user; mallory's Teleport namesake lacks it.
    world.teleport.addUser("carol", ["reviewer"], { [TRAIT]: [carol.user.id] });
    world.teleport.addUser("mallory", ["reviewer"], { [TRAIT]: ["someone-else"] });
    const review = [
      "[review]",
      `mattermost_user_trait = "${TRAIT}"`,
      'deny_reason = "required"',
      'link_only_roles = ["prod-admin"]',
      "[review.users]",
      '"bob" = "bob"',
      '"alice" = "alice"',
    ].join("\n");
    ({ daemon } = await stage.startDaemon({ review }));
  });

  test("the daemon says it decides by review once Teleport accepted one", async () => {
    const request = world.teleport.createRequest({
      user: "alice",
      roles: ["dba"],
      thresholds: { approve: 2, deny: 1 },
    });
    const post = await postFor(world, request);
    const reply = await decide(world, world.approver, post.id, "approve", "checked the ticket");
    assert.deepEqual(reply.body, {});
    await daemon.waitForLog(/Submitted a review for the Mattermost user/);
  });

  test("approve by review: one of two approvals shows on the post, the second approves", async () => {
    const request = world.teleport.createRequest({
      user: "alice",
      roles: ["dba"],
      reason: "replica lag",
      thresholds: { approve: 2, deny: 1 },
    });
    const id = request.metadata!.name;
    const post = await postFor(world, request);
    const first = await decide(world, world.approver, post.id, "approve", "checked the ticket");
    assert.deepEqual(first.body, {});
    const afterFirst = world.teleport.getRequest(id)!;
    assert.equal(afterFirst.spec?.state, RequestState.PENDING);
    const review = afterFirst.spec?.reviews[0];
    assert.deepEqual(
      [review?.author, review?.reason, review?.submittedOnBehalfOfAuthor, review?.submittedBy],
      ["bob", "checked the ticket", true, PLUGIN_USER],
    );
    const counted = await postShows(world, post.id, "Reviews", /^1 of 2 approvals/);
    assert.match(field(counted, "Reviews") ?? "", /✅ `bob`: checked the ticket/);
    assert.deepEqual(
      fields(counted)?.actions?.map((action) => action.id),
      ["approve", "deny"],
      "still pending: buttons stay",
    );

    const again = await decide(world, world.approver, post.id, "approve", "twice");
    assert.match((again.body as { error?: string }).error ?? "", /already reviewed/);

    const second = await decide(world, carol, post.id, "approve", "");
    assert.deepEqual(second.body, {});
    assert.equal(world.teleport.getRequest(id)?.spec?.state, RequestState.APPROVED);
    const approved = await postShows(world, post.id, "Status", /APPROVED/);
    assert.equal(field(approved, "Decided by"), "`carol`");
    assert.equal(fields(approved)?.actions, undefined);
    assert.ok(
      world.teleport.audit.every((entry) => entry.id !== id || entry.event !== "access_request.update"),
    );
  });

  test("deny by review needs a reason: without one the dialog stays open with a field error", async () => {
    const request = world.teleport.createRequest({ user: "alice", roles: ["dba"], reason: "please" });
    const id = request.metadata!.name;
    const post = await postFor(world, request);
    const { dialog } = await clickForDialog(world, world.approver, post.id, "deny");
    const element = (dialog.dialog["elements"] as Array<Record<string, unknown>>)[0];
    assert.equal(element?.["optional"], false);
    const empty = await submitDialog(world, world.approver, dialog, { reason: "  " });
    assert.match((empty.body as { errors?: { reason?: string } }).errors?.reason ?? "", /reason is required/);
    assert.ok(
      world.mattermost
        .openDialogs(world.approver.user.id)
        .some((open) => open.dialog["state"] === dialog.dialog["state"]),
      "dialog still open",
    );
    assert.equal(world.teleport.getRequest(id)?.spec?.state, RequestState.PENDING);
    const denied = await submitDialog(world, world.approver, dialog, { reason: "not in the change window" });
    assert.deepEqual(denied.body, {});
    assert.equal(world.teleport.getRequest(id)?.spec?.state, RequestState.DENIED);
    const updated = await postShows(world, post.id, "Status", /DENIED/);
    assert.equal(field(updated, "Resolution reason"), "not in the change window");
  });

  test("a cancelled dialog changes nothing", async () => {
    const request = world.teleport.createRequest({ user: "alice", roles: ["dba"] });
    const post = await postFor(world, request);
    const { dialog } = await clickForDialog(world, world.approver, post.id, "approve");
    const cancelled = await submitDialog(world, world.approver, dialog, { cancelled: true });
    assert.deepEqual(cancelled.body, {});
    assert.equal(world.teleport.getRequest(request.metadata!.name)?.spec?.reviews.length, 0);
    assert.equal(world.teleport.getRequest(request.metadata!.name)?.spec?.state, RequestState.PENDING);
  });

  test("a Teleport user of the same name without the Mattermost id in its trait is not mapped", async () => {
    const request = world.teleport.createRequest({ user: "alice", roles: ["dba"] });
    const post = await postFor(world, request);
    await world.mattermost.clickAction(mallory.session, post.id, "approve");
    assert.match(
      lastEphemeral(world, mallory),
      new RegExp(`set the trait ${TRAIT} = \\["${mallory.user.id}"\\]`),
    );
    assert.equal(world.mattermost.openDialogs(mallory.user.id).length, 0);
  });

  test("link-only roles: no buttons, a link to Teleport's web UI and the tsh command", async () => {
    const request = world.teleport.createRequest({ user: "alice", roles: ["prod-admin"] });
    const id = request.metadata!.name;
    const post = await postFor(world, request);
    assert.equal(fields(post)?.actions, undefined);
    const decideIn = field(post, "Decide in Teleport") ?? "";
    assert.ok(decideIn.includes(`(https://teleport.example.com:3080/web/requests/${id})`), decideIn);
    assert.ok(decideIn.includes(`\`tsh request review --approve ${id}\``), decideIn);
  });
});

describe("an expired trigger id", () => {
  test("tells the clicker to open the dialog again, and nothing changes", async (t) => {
    // The daemon's Teleport calls take longer than Mattermost keeps the trigger id valid.
    const stage = await openStage(t, { mattermost: { triggerTimeoutMs: 150 } });
    const { world } = stage;
    await stage.startDaemon({
      review: '[review.users]\n"bob" = "bob"\n[review.approvers."*"]\nmattermost_users = ["bob"]',
    });
    const request = world.teleport.createRequest({ user: "alice", roles: ["dba"] });
    const post = await postFor(world, request);
    world.teleport.delayMs = 200;
    const reply = await world.mattermost.clickAction(world.approver.session, post.id, "approve");
    world.teleport.delayMs = 0;
    assert.equal(reply.status, 200, reply.text);
    assert.match(lastEphemeral(world, world.approver), /open the dialog again/);
    assert.equal(world.mattermost.openDialogs(world.approver.user.id).length, 0);
    assert.equal(world.teleport.getRequest(request.metadata!.name)?.spec?.state, RequestState.PENDING);
  });
});

describe("client certificates on the callback server", () => {
  test("with verify_client_cert, only clients with a certificate from client_ca_file get an answer", async (t) => {
    const stage = await openStage(t);
    const ca = await createTestCa("callback-clients");
    const other = await createTestCa("someone-else");
    await stage.dir.write("client-ca.pem", ca.certPem);
    const { callbackUrl } = await stage.startDaemon({
      review: "",
      extra: '[http.tls]\nverify_client_cert = true\nclient_ca_file = "client-ca.pem"',
    });
    const good = await issueCert(ca, { commonName: "mattermost" });
    const stranger = await issueCert(other, { commonName: "mattermost" });
    const post = (cert?: { certPem: string; keyPem: string }) =>
      new Promise<number>((resolve, reject) => {
        const request = https.request(
          `${callbackUrl}/mattermost_action`,
          {
            method: "POST",
            rejectUnauthorized: false,
            agent: false,
            headers: { "Content-Type": "application/json" },
            ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}),
          },
          (response) => {
            response.resume();
            response.on("end", () => resolve(response.statusCode ?? 0));
          },
        );
        request.on("error", reject);
        request.end("{}");
      });
    assert.equal(await post(good), 200);
    await assert.rejects(post());
    await assert.rejects(post(stranger));
    assert.equal(await post(good), 200, "still serving");
  });
});
