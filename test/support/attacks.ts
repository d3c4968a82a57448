/**
 * The attack suite: every way we know to make the daemon decide without the right person, or to
 * knock it over, run against a freshly started daemon (the CLI as a child process) in front of
 * the stand-ins. Shared by test/e2e/attacks.test.ts (which asserts on it) and scripts/attacks.ts
 * (which prints the table). Each attack reports how many attempts it made, how many were
 * answered with a clear refusal (an ephemeral text, a dialog error or an HTTP error status), how
 * many decisions reached Teleport that nobody entitled made, and whether the daemon still serves.
 */
import type * as http from "node:http";
import * as https from "node:https";
import * as tls from "node:tls";
import { addPerson, createWorld, type MattermostPerson, type World } from "../../src/demo/world.js";
import type { StandinPost } from "../../src/standins/mattermost/index.js";
import { type AccessRequestV3, RequestState } from "../../src/teleport/gen/teleport/types_pb.js";
import { DaemonProcess, reviewToml, writeDaemonConfig } from "./daemon-process.js";
import { clickForDialog, lastEphemeral, submitDialog } from "./decide.js";
import { makeTempDir, type TempDir } from "./temp-dir.js";

export const BASIC_AUTH = { user: "mattermost", password: "callback-password-0123456789" };
/** Long enough for the daemon's 5 s header/request timeouts; the reply ends the wait sooner. */
const SLOW_CLIENT_GIVE_UP_MS = 20_000;
const SLOW_DRIP_INTERVAL_MS = 250;

/** alice requests and is listed as an approver too (so only the self-approval rule stops her). */
const ATTACK_REVIEW_TOML = reviewToml(["alice", "bob", "carol"], ["bob", "alice"]);

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
  const world = await createWorld();
  const dir = await makeTempDir();
  try {
    const carol = addPerson(world, "carol");
    const dave = addPerson(world, "dave");
    world.teleport.addUser("carol", ["reviewer"]);
    world.teleport.addUser("dave", ["reviewer"]);
    const { configPath, callbackUrl } = await writeDaemonConfig(dir, world, {
      review: ATTACK_REVIEW_TOML,
      extra: `[http.basic_auth]\nuser = "${BASIC_AUTH.user}"\npassword = "${BASIC_AUTH.password}"`,
    });
    const daemon = new DaemonProcess(["start", "-c", configPath]);
    await daemon.waitForLog("Watcher connected");
    return {
      world,
      daemon,
      dir,
      callbackUrl,
      carol,
      dave,
      stop: async () => {
        await daemon.stop();
        await world.stop();
        await dir.remove();
      },
    };
  } catch (error) {
    await world.stop();
    await dir.remove();
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP, as an attacker who knows the callback URL would send it

export interface RawAnswer {
  status: number;
  text: string;
}

const AUTH_HEADER = `Basic ${Buffer.from(`${BASIC_AUTH.user}:${BASIC_AUTH.password}`).toString("base64")}`;

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

/**
 * Sends `immediate` at once, then `dripped` byte by byte, one every SLOW_DRIP_INTERVAL_MS, and
 * resolves with what the server answered before it closed the connection, and whether it closed
 * before everything was sent.
 */
function slowDrip(
  url: string,
  immediate: string,
  dripped: string,
): Promise<{ answer: string; cutOff: boolean }> {
  const target = new URL(url);
  const bytes = Buffer.from(dripped);
  return new Promise((resolve) => {
    let answer = "";
    let sent = 0;
    const socket = tls.connect({
      host: target.hostname,
      port: Number(target.port),
      rejectUnauthorized: false,
    });
    if (immediate) socket.write(immediate);
    const drip = setInterval(() => {
      if (sent < bytes.length && !socket.destroyed) socket.write(bytes.subarray(sent, ++sent));
    }, SLOW_DRIP_INTERVAL_MS);
    const giveUp = setTimeout(() => socket.destroy(), SLOW_CLIENT_GIVE_UP_MS);
    socket.on("data", (chunk: Buffer) => {
      answer += chunk.toString();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      clearInterval(drip);
      const cutOff = sent < bytes.length;
      clearTimeout(giveUp);
      resolve({ answer, cutOff });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// What counts

export interface AttackResult {
  attack: string;
  attempts: number;
  /** Attempts answered with a clear refusal. */
  explained: number;
  /** Decisions in Teleport that the attack should not have caused. */
  unauthorizedDecisions: number;
  /** 1 when the daemon exited or stopped answering after the attack. */
  crashes: number;
  notes: string[];
}

/** A refusal Mattermost would show, or an HTTP error. */
function isExplained(answer: RawAnswer): boolean {
  if (answer.status >= 400) return true;
  if (answer.status !== 200) return false;
  try {
    const reply = JSON.parse(answer.text) as Record<string, unknown>;
    return (
      (typeof reply["ephemeral_text"] === "string" && reply["ephemeral_text"] !== "") ||
      (typeof reply["error"] === "string" && reply["error"] !== "") ||
      (typeof reply["errors"] === "object" && reply["errors"] !== null)
    );
  } catch {
    return false;
  }
}

function decisionsOn(target: AttackTarget, ids: readonly string[]): number {
  return target.world.teleport.audit.filter(
    (entry) =>
      ids.includes(entry.id) &&
      (entry.event === "access_request.update" || entry.event === "access_request.review"),
  ).length;
}

async function stillServing(target: AttackTarget): Promise<boolean> {
  if (target.daemon.exitCode !== null) return false;
  try {
    const answer = await send(`${target.callbackUrl}/mattermost_action`, "{}");
    return answer.status === 200;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers to set up a victim request and see what Mattermost relayed

function fieldOf(post: StandinPost | undefined, title: string): string | undefined {
  const attachments = (
    post?.props as { attachments?: Array<{ fields?: Array<{ title: string; value: string }> }> }
  )?.attachments;
  return attachments?.[0]?.fields?.find((field) => field.title === title)?.value;
}

async function postedRequest(
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
function buttonOf(target: AttackTarget, postId: string, action: "approve" | "deny") {
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
function fakeTrigger(userId: string): string {
  return Buffer.from(`${"t".repeat(26)}:${userId}:${Date.now()}:c2lnbmF0dXJl`).toString("base64");
}

function clickBody(
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

const actionUrl = (target: AttackTarget) => `${target.callbackUrl}/mattermost_action`;
const dialogUrl = (target: AttackTarget) => `${target.callbackUrl}/mattermost_dialog`;

/** An ephemeral reply Mattermost delivered to `person` counts as an explained refusal. */
async function viaMattermostClick(
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

// ---------------------------------------------------------------------------------------------
// The attacks

interface AttackRun {
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

export const ATTACKS: Attack[] = [
  {
    name: "forged context (bad signature, unsigned, wrong version)",
    async run(target) {
      const { id, post } = await postedRequest(target);
      const { context } = buttonOf(target, post.id, "approve");
      const bodies = [
        { ...context, sig: "AAAA" },
        { action: "approve", req_id: id, channel_id: target.world.channel.id },
        { ...context, v: 99 },
      ].map((forged) => clickBody(target, target.world.approver, post.id, forged));
      const attempts = [];
      for (const body of bodies) attempts.push(await send(actionUrl(target), JSON.stringify(body)));
      return { attempts, ids: [id] };
    },
  },
  {
    name: "context from another request / post / action",
    async run(target) {
      const first = await postedRequest(target);
      const second = await postedRequest(target);
      const approve = buttonOf(target, first.post.id, "approve").context;
      const bodies = [
        clickBody(target, target.world.approver, first.post.id, { ...approve, req_id: second.id }),
        clickBody(target, target.world.approver, second.post.id, approve),
        clickBody(target, target.world.approver, first.post.id, { ...approve, action: "deny" }),
        { ...clickBody(target, target.world.approver, first.post.id, approve), channel_id: "a".repeat(26) },
      ];
      const attempts = [];
      for (const body of bodies) attempts.push(await send(actionUrl(target), JSON.stringify(body)));
      return { attempts, ids: [first.id, second.id] };
    },
  },
  {
    name: "valid context and dialog replayed after resolution",
    async run(target) {
      const { world } = target;
      const { id, post } = await postedRequest(target);
      const { dialog } = await clickForDialog(world, world.approver, post.id, "approve");
      const clickSent = world.mattermost.outgoingRequests.findLast((entry) => entry.kind === "action");
      const legit = await submitDialog(world, world.approver, dialog, { reason: "ok" });
      if (legit.status !== 200 || world.teleport.getRequest(id)?.spec?.state !== RequestState.APPROVED) {
        throw new Error(`the legitimate approval did not go through: ${legit.text}`);
      }
      const attempts = [
        await send(actionUrl(target), JSON.stringify(clickSent?.body)),
        await submitDialog(world, world.approver, dialog, { reason: "again" }),
        await send(
          dialogUrl(target),
          JSON.stringify({
            type: "dialog_submission",
            callback_id: dialog.dialog["callback_id"],
            state: dialog.dialog["state"],
            user_id: world.approver.user.id,
            channel_id: world.channel.id,
            team_id: world.team.id,
            submission: { reason: "direct replay" },
            cancelled: false,
          }),
        ),
      ].map((answer) => ({ status: answer.status, text: answer.text }));
      return { attempts, ids: [id], legitimate: 1 };
    },
  },
  {
    name: "two approvers submitting at once (only one decision)",
    async run(target) {
      const { world } = target;
      const { id, post } = await postedRequest(target, { user: "dave" });
      const bob = await clickForDialog(world, world.approver, post.id, "approve");
      const alice = await clickForDialog(world, world.requester, post.id, "deny");
      const answers = await Promise.all([
        submitDialog(world, world.approver, bob.dialog, { reason: "yes" }),
        submitDialog(world, world.requester, alice.dialog, { reason: "no" }),
      ]);
      // One of them decides; the other is the attempt that must be refused.
      const refused = answers.filter((answer) => JSON.stringify(answer.body) !== "{}");
      const attempts = refused.map((answer) => ({ status: answer.status, text: answer.text }));
      if (attempts.length === 0) attempts.push({ status: 200, text: "both submissions were accepted" });
      return { attempts, ids: [id], legitimate: 1, notes: attempts.map((attempt) => attempt.text) };
    },
  },
  {
    name: "dialog state forged or for another user",
    async run(target) {
      const { world } = target;
      const { id, post } = await postedRequest(target);
      const { dialog } = await clickForDialog(world, world.approver, post.id, "approve");
      const state = String(dialog.dialog["state"]);
      const [payload = "", sig = ""] = state.split(".");
      const decoded = JSON.parse(Buffer.from(payload, "base64url").toString()) as Record<string, unknown>;
      const asCarol = `${Buffer.from(JSON.stringify({ ...decoded, user_id: target.carol.user.id })).toString("base64url")}.${sig}`;
      const submission = (userId: string, forgedState: string) =>
        JSON.stringify({
          type: "dialog_submission",
          callback_id: dialog.dialog["callback_id"],
          state: forgedState,
          user_id: userId,
          channel_id: world.channel.id,
          team_id: world.team.id,
          submission: { reason: "forged" },
          cancelled: false,
        });
      const attempts = [
        await send(dialogUrl(target), submission(world.approver.user.id, `${payload}.AAAA`)),
        await send(dialogUrl(target), submission(target.carol.user.id, asCarol)),
        await send(dialogUrl(target), submission(target.carol.user.id, state)),
        // carol, logged in, submits bob's dialog state through Mattermost.
        await submitDialog(world, target.carol, dialog, { reason: "not mine" }),
      ].map((answer) => ({ status: answer.status, text: answer.text }));
      return { attempts, ids: [id] };
    },
  },
  {
    name: "clicker not allowed (mapped, not an approver)",
    async run(target) {
      const { id, post } = await postedRequest(target);
      const answer = await viaMattermostClick(target, target.carol, post.id, "approve");
      return { attempts: [answer], ids: [id], notes: [answer.text] };
    },
  },
  {
    name: "unmapped clicker",
    async run(target) {
      const { id, post } = await postedRequest(target);
      const answer = await viaMattermostClick(target, target.dave, post.id, "approve");
      return { attempts: [answer], ids: [id], notes: [answer.text] };
    },
  },
  {
    name: "requester approving own request",
    async run(target) {
      const { id, post } = await postedRequest(target, { user: "alice" });
      const answer = await viaMattermostClick(target, target.world.requester, post.id, "approve");
      return { attempts: [answer], ids: [id], notes: [answer.text] };
    },
  },
  {
    name: "deny by a non-approver",
    async run(target) {
      const { id, post } = await postedRequest(target);
      const answer = await viaMattermostClick(target, target.carol, post.id, "deny");
      return { attempts: [answer], ids: [id], notes: [answer.text] };
    },
  },
  {
    name: "oversized, truncated, non-JSON, wrong content-type, wrong method, unknown route",
    async run(target) {
      const { id, post } = await postedRequest(target);
      const valid = JSON.stringify(
        clickBody(target, target.world.approver, post.id, buttonOf(target, post.id, "approve").context),
      );
      const attempts = [
        await send(actionUrl(target), `{"pad":"${"x".repeat(200_000)}"}`),
        await send(actionUrl(target), valid.slice(0, valid.length / 2)),
        await send(dialogUrl(target), "not json at all"),
        await send(actionUrl(target), valid, { contentType: "text/plain" }),
        await send(actionUrl(target), valid, { method: "PUT" }),
        await send(`${target.callbackUrl}/admin`, valid),
      ];
      return { attempts, ids: [id] };
    },
  },
  {
    name: "slow-drip headers and body",
    async run(target) {
      const { id, post } = await postedRequest(target);
      const body = JSON.stringify(
        clickBody(target, target.world.approver, post.id, buttonOf(target, post.id, "approve").context),
      );
      const host = new URL(target.callbackUrl).host;
      const head = (length: number) =>
        `POST /mattermost_action HTTP/1.1\r\nHost: ${host}\r\nAuthorization: ${AUTH_HEADER}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;
      const results = await Promise.all([
        // Slowloris: the head itself byte by byte.
        slowDrip(actionUrl(target), "", head(body.length) + body),
        // The head at once, then the body byte by byte.
        slowDrip(actionUrl(target), head(body.length), body),
      ]);
      const attempts = results.map(({ answer, cutOff }) => {
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
        // Cut off before the request was complete: the server closed on the slow client.
        return { status: cutOff ? Math.max(status, 408) : status, text: answer.slice(0, 80) };
      });
      return { attempts, ids: [id] };
    },
  },
  {
    name: "wrong or missing basic auth",
    async run(target) {
      const { id, post } = await postedRequest(target);
      const valid = JSON.stringify(
        clickBody(target, target.world.approver, post.id, buttonOf(target, post.id, "approve").context),
      );
      const wrong = `Basic ${Buffer.from(`${BASIC_AUTH.user}:wrong`).toString("base64")}`;
      const attempts = [
        await send(actionUrl(target), valid, { auth: wrong }),
        await send(actionUrl(target), valid, { auth: null }),
        await send(dialogUrl(target), "{}", { auth: "Bearer something" }),
      ];
      return { attempts, ids: [id] };
    },
  },
  {
    name: "@all and link injection in the request reason",
    async run(target) {
      const reason =
        "@all @channel please [click](https://evil.example) ![x](https://evil.example/i.png) www.evil.example <!here>";
      const { id, post } = await postedRequest(target, { reason });
      const shown = fieldOf(post, "Reason") ?? "";
      const inert = !/@[a-z]|https:\/\/|www\.|\]\(/i.test(shown);
      return {
        attempts: [{ status: inert ? 400 : 200, text: shown }],
        ids: [id],
        notes: [shown],
      };
    },
  },
];

export async function runAttack(target: AttackTarget, attack: Attack): Promise<AttackResult> {
  const run = await attack.run(target);
  const explained = run.attempts.filter(isExplained).length;
  const decisions = decisionsOn(target, run.ids) - (run.legitimate ?? 0);
  return {
    attack: attack.name,
    attempts: run.attempts.length,
    explained,
    unauthorizedDecisions: Math.max(0, decisions),
    crashes: (await stillServing(target)) ? 0 : 1,
    notes: run.notes ?? [],
  };
}

export function formatTable(results: readonly AttackResult[]): string {
  const header = ["attack", "attempts", "explained", "unauthorized decisions", "crashes"];
  const rows = results.map((r) => [
    r.attack,
    String(r.attempts),
    String(r.explained),
    String(r.unauthorizedDecisions),
    String(r.crashes),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  return [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}
