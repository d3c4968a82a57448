/**
 * What every attack stands on: a freshly started daemon (the CLI as a child process, behind basic
 * auth) on the e2e stage, with people who may and may not decide; raw HTTP as an attacker who
 * knows the callback URL sends it; and a victim request with its post and buttons. The attacks
 * themselves are grouped by kind next to this file; test/support/attacks.ts lists and scores them.
 */
import type * as http from "node:http";
import * as https from "node:https";
import { addPerson, type MattermostPerson, type World } from "../../../src/demo/world.js";
import type { StandinPost } from "../../../src/standins/mattermost/index.js";
import type { AccessRequestV3 } from "../../../src/teleport/gen/teleport/types_pb.js";
import { type DaemonProcess, reviewToml } from "../daemon-process.js";
import { lastEphemeral } from "../decide.js";
import { Stage } from "../stage.js";
import type { TempDir } from "../temp-dir.js";

export const BASIC_AUTH = { user: "mattermost", password: "callback-password-0123456789" };

/** alice requests and is listed as an approver too (so only the self-approval rule stops her). */
const ATTACK_REVIEW_TOML = reviewToml(["alice", "bob", "carol"], ["bob", "alice"]);

export interface AttackRun {
  attempts: RawAnswer[];
  /** Requests whose decisions are counted. */
  ids: string[];
  /** Decisions on those that were legitimate (made by the entitled approver during setup). */
  legitimate?: number;
  notes?: string[];
}

export interface Attack {
  name: string;
  run(target: AttackTarget): Promise<AttackRun>;
}

export interface AttackTarget {
  world: World;
  daemon: DaemonProcess;
  dir: TempDir;
  /** https://127.0.0.1:<port>, without credentials. */
  callbackUrl: string;
  carol: MattermostPerson;
  dave: MattermostPerson;
  stop(): Promise<void>;
}

export async function startAttackTarget(): Promise<AttackTarget> {
  const stage = await Stage.open();
  const { world } = stage;
  try {
    const carol = addPerson(world, "carol");
    const dave = addPerson(world, "dave");
    world.teleport.addUser("carol", ["reviewer"]);
    world.teleport.addUser("dave", ["reviewer"]);
    const { daemon, callbackUrl } = await stage.startDaemon({
      review: ATTACK_REVIEW_TOML,
      extra: `[http.basic_auth]\nuser = "${BASIC_AUTH.user}"\npassword = "${BASIC_AUTH.password}"`,
    });
    return { world, daemon, dir: stage.dir, callbackUrl, carol, dave, stop: () => stage.close() };
  } catch (error) {
    await stage.close();
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP, as an attacker who knows the callback URL would send it

export interface RawAnswer {
  status: number;
  text: string;
}

export const AUTH_HEADER = `Basic ${Buffer.from(`${BASIC_AUTH.user}:${BASIC_AUTH.password}`).toString("base64")}`;

export function send(
  url: string,
  body: string,
  options: { contentType?: string; auth?: string | null; method?: string } = {},
): Promise<RawAnswer> {
  const target = new URL(url);
  const headers: http.OutgoingHttpHeaders = {
    "Content-Type": options.contentType ?? "application/json",
    "Content-Length": Buffer.byteLength(body),
  };
  const auth = options.auth === undefined ? AUTH_HEADER : options.auth;
  if (auth) headers["Authorization"] = auth;
  return new Promise((resolve, reject) => {
    const request = https.request(
      target,
      { method: options.method ?? "POST", rejectUnauthorized: false, headers, agent: false },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString() }),
        );
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}

// ---------------------------------------------------------------------------------------------
// A victim request, its button, and clicks as Mattermost would relay them

export function fieldOf(post: StandinPost | undefined, title: string): string | undefined {
  const attachments = (
    post?.props as { attachments?: Array<{ fields?: Array<{ title: string; value: string }> }> }
  )?.attachments;
  return attachments?.[0]?.fields?.find((field) => field.title === title)?.value;
}

export async function postedRequest(
  target: AttackTarget,
  input: { user?: string; roles?: string[]; reason?: string } = {},
): Promise<{ request: AccessRequestV3; id: string; post: StandinPost }> {
  const { world } = target;
  const request = world.teleport.createRequest({
    user: input.user ?? "alice",
    roles: input.roles ?? ["dba"],
    reason: input.reason ?? "attack target",
  });
  const id = request.metadata?.name ?? "";
  await world.teleport.waitFor(
    () => world.teleport.pluginData(id, "mattermost")?.["messages"],
    10_000,
    "posted",
  );
  const post = world.mattermost
    .channelPosts(world.channel.id)
    .find((candidate) => fieldOf(candidate, "Request ID") === `\`${id}\``);
  if (!post) throw new Error(`no post for ${id}`);
  return { request, id, post };
}

/** The integration context and URL of a post's button, as stored (what Mattermost would send). */
export function buttonOf(target: AttackTarget, postId: string, action: "approve" | "deny") {
  const stored = target.world.mattermost.post(postId);
  const actions = (
    stored?.props as {
      attachments: Array<{
        actions?: Array<{ id: string; integration: { url: string; context: Record<string, unknown> } }>;
      }>;
    }
  )?.attachments[0]?.actions;
  const button = actions?.find((candidate) => candidate.id === action);
  if (!button) throw new Error(`post ${postId} has no ${action} button`);
  return button.integration;
}

/** A trigger id in Mattermost's shape naming `userId` (its signature cannot be checked by us). */
export function fakeTrigger(userId: string): string {
  return Buffer.from(`${"t".repeat(26)}:${userId}:${Date.now()}:c2lnbmF0dXJl`).toString("base64");
}

export function clickBody(
  target: AttackTarget,
  person: MattermostPerson,
  postId: string,
  context: Record<string, unknown>,
) {
  return {
    user_id: person.user.id,
    user_name: person.user.username,
    channel_id: target.world.channel.id,
    channel_name: target.world.channel.name,
    team_id: target.world.team.id,
    team_domain: target.world.team.name,
    post_id: postId,
    trigger_id: fakeTrigger(person.user.id),
    type: "button",
    data_source: "",
    context,
  };
}

export const actionUrl = (target: AttackTarget) => `${target.callbackUrl}/mattermost_action`;
export const dialogUrl = (target: AttackTarget) => `${target.callbackUrl}/mattermost_dialog`;

/** An ephemeral reply Mattermost delivered to `person` counts as an explained refusal. */
export async function viaMattermostClick(
  target: AttackTarget,
  person: MattermostPerson,
  postId: string,
  action: "approve" | "deny",
): Promise<RawAnswer> {
  const before = target.world.mattermost.openDialogs(person.user.id).length;
  const reply = await target.world.mattermost.clickAction(person.session, postId, action);
  const opened = target.world.mattermost.openDialogs(person.user.id).length > before;
  const ephemeral = lastEphemeral(target.world, person);
  // A click that opened no dialog and showed a reason is a clear refusal.
  return { status: reply.status === 200 && !opened && ephemeral ? 400 : reply.status, text: ephemeral };
}
